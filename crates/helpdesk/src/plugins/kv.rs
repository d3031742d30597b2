//! Each install's own key-value store, reached by the install alone, within its size limit.

use helpdesk_domain::{InstallId, ValidationError};

use super::Install;
use crate::Helpdesk;
use crate::error::{Error, Result};
use crate::principal::Principal;

impl Helpdesk {
    fn own_install(&self, p: &Principal, id: InstallId) -> Result<Install> {
        self.guard(p)?.install_itself(
            id,
            "an install's key-value store belongs to the install alone",
        )?;
        Install::from_record(self.install_record(id)?)
    }

    /// A value from the install's own key-value store.
    pub fn plugin_kv_get(
        &self,
        p: &Principal,
        id: InstallId,
        key: &str,
    ) -> Result<Option<Vec<u8>>> {
        self.own_install(p, id)?;
        check_kv_key(key)?;
        self.store().plugin_kv_get(id, key)
    }

    /// Stores a value in the install's own key-value store, within its `kv-bytes` limit.
    pub fn plugin_kv_set(
        &self,
        p: &Principal,
        id: InstallId,
        key: &str,
        value: &[u8],
    ) -> Result<()> {
        let install = self.own_install(p, id)?;
        check_kv_key(key)?;
        self.store()
            .plugin_kv_set(id, key, value, install.manifest.limits.kv_bytes)
    }

    /// Removes a key from the install's own key-value store.
    pub fn plugin_kv_delete(&self, p: &Principal, id: InstallId, key: &str) -> Result<()> {
        self.own_install(p, id)?;
        check_kv_key(key)?;
        self.store().plugin_kv_delete(id, key)
    }
}

fn check_kv_key(key: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::Invalid(ValidationError::Empty { field: "key" }));
    }
    if key.len() > 256 {
        return Err(Error::Invalid(ValidationError::TooLong {
            field: "key",
            len: key.len(),
            max: 256,
        }));
    }
    Ok(())
}
