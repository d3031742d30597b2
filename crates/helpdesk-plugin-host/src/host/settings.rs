//! `helpdesk:plugin/settings`: the install's settings, secret ones decrypted with the key the
//! embedding application gave the host (nobody else can read them).

use crate::bindings::v0_1::helpdesk::plugin::settings::Host;
use crate::bindings::v0_1::helpdesk::plugin::types::Error;
use crate::host::types::error;
use crate::sandbox::HostState;

impl Host for HostState {
    fn get(&mut self, name: String) -> Result<Option<String>, Error> {
        let ctx = &self.ctx;
        ctx.desk
            .own_plugin_setting(
                &self.call.principal,
                ctx.install,
                &name,
                ctx.secrets.as_ref(),
            )
            .map_err(error)
    }
}
