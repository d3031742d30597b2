//! `helpdesk:plugin/kv`: the install's own key-value store, bounded per value here and in total
//! by the core (the install's `kv-bytes` limit).

use crate::bindings::v0_1::helpdesk::plugin::kv::Host;
use crate::bindings::v0_1::helpdesk::plugin::types::Error;
use crate::host::types::error;
use crate::sandbox::{HostState, MAX_KV_VALUE, Mode};

impl Host for HostState {
    fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, Error> {
        let (desk, install) = (&self.ctx.desk, self.ctx.install);
        desk.plugin_kv_get(&self.call.principal, install, &key)
            .map_err(error)
    }

    fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), Error> {
        if self.call.mode == Mode::Render {
            return Err(Error::Denied(
                "a widget cannot change anything while rendering; use an action button".to_owned(),
            ));
        }
        if value.len() > MAX_KV_VALUE {
            return Err(Error::LimitExceeded(format!(
                "a value may be at most {MAX_KV_VALUE} bytes; this one is {}",
                value.len()
            )));
        }
        let (desk, install) = (&self.ctx.desk, self.ctx.install);
        desk.plugin_kv_set(&self.call.principal, install, &key, &value)
            .map_err(error)
    }

    fn delete(&mut self, key: String) -> Result<(), Error> {
        if self.call.mode == Mode::Render {
            return Err(Error::Denied(
                "a widget cannot change anything while rendering; use an action button".to_owned(),
            ));
        }
        let (desk, install) = (&self.ctx.desk, self.ctx.install);
        desk.plugin_kv_delete(&self.call.principal, install, &key)
            .map_err(error)
    }
}
