//! `helpdesk:plugin/clock`: the helpdesk's clock, so tests move time instead of sleeping.

use crate::bindings::v0_1::helpdesk::plugin::clock::Host;
use crate::sandbox::HostState;

impl Host for HostState {
    fn now(&mut self) -> i64 {
        self.ctx.desk.now().as_millis()
    }
}
