//! Each install's own key-value store, within its size limit.

use super::*;

impl Store {
    /// A value from an install's key-value store.
    pub fn plugin_kv_get(
        &self,
        id: InstallId,
        key: &str,
    ) -> helpdesk_domain::Result<Option<Vec<u8>>> {
        self.read(|tx| {
            Ok(tx
                .prepare_cached("SELECT value FROM plugin_kv WHERE install_id = ?1 AND key = ?2")?
                .query_row(params![id.get(), key], |r| r.get(0))
                .optional()?)
        })
    }

    /// Stores a value, refusing with [`ValidationError::TooLong`] (field `key-value store`) if
    /// the install's keys and values would then take more than `max_bytes`.
    pub fn plugin_kv_set(
        &self,
        id: InstallId,
        key: &str,
        value: &[u8],
        max_bytes: u64,
    ) -> helpdesk_domain::Result<()> {
        self.write(|tx| {
            let used: i64 = tx
                .prepare_cached(
                    "SELECT coalesce(sum(length(CAST(key AS BLOB)) + length(value)), 0)
                     FROM plugin_kv WHERE install_id = ?1 AND key <> ?2",
                )?
                .query_row(params![id.get(), key], |r| r.get(0))?;
            let total = u64::try_from(used).unwrap_or(0) + (key.len() + value.len()) as u64;
            if total > max_bytes {
                return Err(ValidationError::TooLong {
                    field: "key-value store",
                    len: usize::try_from(total).unwrap_or(usize::MAX),
                    max: usize::try_from(max_bytes).unwrap_or(usize::MAX),
                }
                .into());
            }
            tx.prepare_cached(
                "INSERT INTO plugin_kv (install_id, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (install_id, key) DO UPDATE SET value = excluded.value",
            )?
            .execute(params![id.get(), key, value])?;
            Ok(())
        })
    }

    /// Removes a key; removing a missing key is not an error.
    pub fn plugin_kv_delete(&self, id: InstallId, key: &str) -> helpdesk_domain::Result<()> {
        self.write(|tx| {
            tx.prepare_cached("DELETE FROM plugin_kv WHERE install_id = ?1 AND key = ?2")?
                .execute(params![id.get(), key])?;
            Ok(())
        })
    }
}
