//! The host side of each WIT interface of `helpdesk:plugin@0.1`, one module per interface, all
//! implemented on the store's `HostState` by calling the `helpdesk` facade with the call's
//! principal. Nothing here reaches storage any other way.

mod clock;
mod directory;
mod kv;
mod log;
mod settings;
mod tickets;
pub(crate) mod types;

impl crate::sandbox::HostState {
    /// Records a host call in the request log of the install's key, so the key's log shows what
    /// the plugin did with it.
    pub(crate) fn log_use(&self, operation: &str) {
        self.ctx.desk.log_key_use(&self.call.principal, operation);
    }
}
