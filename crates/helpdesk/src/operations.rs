//! Operations of the embedding application, on the system handle: the first administrator,
//! backups, integrity checks and writing out the key request logs.

use std::path::Path;

use helpdesk_domain::{Agent, NewAgent};

use crate::SystemHandle;
use crate::error::{Error, Result};

impl SystemHandle {
    /// Creates the first administrator of an empty database; refused once any agent exists.
    pub fn bootstrap_admin(&self, name: &str, email: &str) -> Result<Agent> {
        let store = self.helpdesk.store();
        if !store.is_empty()? {
            return Err(Error::AlreadyInitialized);
        }
        let agent = NewAgent {
            name: name.into(),
            email: email.into(),
            admin: true,
        };
        let created =
            store.create_agent(self.helpdesk.now(), &self.principal().attribution(), agent)?;
        self.helpdesk.policy_changed(created)
    }

    /// Writes a consistent copy of the live database to `target` (which must not exist), while
    /// the helpdesk stays in use.
    pub fn backup_to(&self, target: impl AsRef<Path>) -> Result<()> {
        self.helpdesk.store().backup_to(target.as_ref())
    }

    /// SQLite's integrity check of the database as it is now: `["ok"]` when it is sound. It runs
    /// on a connection opened for it, never a pooled one, so it sees the file as it is.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        self.helpdesk.store().integrity_check()
    }

    /// Writes the request logs kept in memory to the database. Logs are also written when a key
    /// is administered or a log is read, and when the helpdesk closes; an application that wants
    /// them to survive a crash calls this from a timer.
    pub fn flush_key_logs(&self) -> Result<()> {
        self.helpdesk.flush_key_logs()
    }
}
