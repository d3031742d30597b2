//! Each install's settings: plain values, or secret ones as ciphertext only.

use super::*;

impl Store {
    /// Sets (or with `None` removes) one setting.
    pub fn set_plugin_setting(
        &self,
        at: Timestamp,
        id: InstallId,
        name: &str,
        value: Option<SettingValue>,
    ) -> helpdesk_domain::Result<()> {
        self.write(|tx| {
            load_install(tx, id)?;
            put_setting(tx, at, id, name, value.as_ref())
        })
    }

    /// Every stored setting of an install, by name.
    pub fn plugin_settings(
        &self,
        id: InstallId,
    ) -> helpdesk_domain::Result<Vec<(String, SettingValue)>> {
        self.read(|tx| {
            let mut stmt = tx.prepare_cached(
                "SELECT name, value, secret FROM plugin_settings WHERE install_id = ?1 ORDER BY name",
            )?;
            let rows = stmt.query_map([id.get()], |r| {
                let name: String = r.get(0)?;
                let value: Option<String> = r.get(1)?;
                let secret: Option<Vec<u8>> = r.get(2)?;
                Ok((name, value, secret))
            })?;
            let mut out = Vec::new();
            for row in rows {
                let (name, value, secret) = row?;
                match (value, secret) {
                    (Some(v), _) => out.push((name, SettingValue::Plain(v))),
                    (None, Some(s)) => out.push((name, SettingValue::Secret(s))),
                    (None, None) => {}
                }
            }
            Ok(out)
        })
    }

    /// One stored setting.
    pub fn plugin_setting(
        &self,
        id: InstallId,
        name: &str,
    ) -> helpdesk_domain::Result<Option<SettingValue>> {
        self.read(|tx| {
            let row = tx
                .prepare_cached(
                    "SELECT value, secret FROM plugin_settings WHERE install_id = ?1 AND name = ?2",
                )?
                .query_row(params![id.get(), name], |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, Option<Vec<u8>>>(1)?,
                    ))
                })
                .optional()?;
            Ok(match row {
                Some((Some(v), _)) => Some(SettingValue::Plain(v)),
                Some((None, Some(s))) => Some(SettingValue::Secret(s)),
                _ => None,
            })
        })
    }
}
