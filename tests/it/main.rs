//! Integration tests of the helpdesk core, through its public API only.

mod concurrency;
mod crash;
mod history;
mod inputs;
mod keys;
mod outbox;
mod people;
mod permissions;
mod search;
mod storage;
mod tickets;
