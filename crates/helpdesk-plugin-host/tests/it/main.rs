//! Integration tests of the plugin host, through the public API of `helpdesk` and
//! `helpdesk-plugin-host` only, with the real example and test plugins built for `wasm32-wasip2`.

#![expect(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail the test with the error, like the assertions around them"
)]

#[path = "../../../../plugins/guests.rs"]
mod guests;
mod support;

mod apps;
mod delivery;
mod installs;
mod sandbox;
mod scopes;
mod widgets;
