//! Integration tests of the helpdesk core, through its public API only.

mod concurrency;
mod crash;
mod gate;
mod history;
mod inputs;
mod keys;
mod matrix;
mod outbox;
mod people;
mod permissions;
mod plugins;
mod search;
mod storage;
mod tickets;
