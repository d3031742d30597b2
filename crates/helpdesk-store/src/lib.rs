//! Internal crate: SQLite storage of the helpdesk core. Not a public API; use the `helpdesk` crate.
//!
//! One writer connection behind a mutex and a small pool of read-only connections, on a database
//! in WAL mode. Every write is one `BEGIN IMMEDIATE` transaction that also appends its history
//! entries and outbox events, so a failed call leaves nothing behind. No rusqlite type leaves
//! this crate.

mod error;
mod history;
mod keys;
mod open;
mod outbox;
mod people;
mod plugins;
mod row;
mod schema;
mod search;
mod tickets;

use std::fs::File;
use std::path::{Path, PathBuf};

use parking_lot::{Mutex, MutexGuard};
use rusqlite::{Connection, Transaction, TransactionBehavior};

use helpdesk_domain::{Durability, Error, Limits};

pub use error::Entity;
pub use keys::{
    KeyLogRecord, KeyRecord, KeyRecordUpdate, NewKeyRecord, NewTokenRecord, TokenRecord,
};
pub use outbox::ConsumerOwner;
pub use people::PolicyData;
pub use plugins::{
    AppAgentSpec, DeadLetterRecord, InstallKey, InstallKeyChange, InstallRecord,
    InstallStateRecord, NewInstallRecord, PendingDelivery, SettingValue, UpgradeRecord,
    consumer_name,
};
pub use search::SearchScope;

use error::Result;

/// Settings for opening a store.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Commit durability.
    pub durability: Durability,
    /// Read-only connections kept for concurrent readers (file databases only).
    pub readers: usize,
    /// Input size limits.
    pub limits: Limits,
    /// Outbox events kept at most, even if a consumer has not read them.
    pub outbox_retention: u64,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            durability: Durability::Full,
            readers: 4,
            limits: Limits::default(),
            outbox_retention: 1_000_000,
        }
    }
}

/// The storage of one helpdesk database.
#[derive(Debug)]
pub struct Store {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    limits: Limits,
    outbox_retention: u64,
    path: Option<PathBuf>,
    /// Held for the store's lifetime: the advisory lock that makes this store the file's only owner.
    _lock: Option<File>,
}

impl Store {
    /// Opens the database at `path`, applying migrations; a path that does not exist or names an
    /// empty file becomes a new database.
    ///
    /// Fails with [`Error::InUse`] if another store holds it (by this name or another that
    /// resolves to the same file through symlinks), [`Error::HardLinked`] if the file has
    /// several names, [`Error::NotOurs`] if the file is some other database or not a
    /// database, and [`Error::SchemaTooNew`] if a newer version of this library wrote it.
    pub fn open(path: &Path, options: &StoreOptions) -> helpdesk_domain::Result<Store> {
        Ok(open::open_file(path, options)?)
    }

    /// Opens a fresh in-memory database (reads share the writer connection).
    pub fn open_in_memory(options: &StoreOptions) -> helpdesk_domain::Result<Store> {
        Ok(open::open_memory(options)?)
    }

    /// The size limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The database file, if any, with symlinks resolved.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Runs `f` in one immediate write transaction, committing only if it succeeds.
    fn write<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> Result<T>,
    ) -> helpdesk_domain::Result<T> {
        let mut conn = self.writer.lock();
        let run = || -> Result<T> {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        };
        Ok(run()?)
    }

    /// Runs `f` in one read transaction (a consistent snapshot) on a reader connection.
    fn read<T>(&self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> helpdesk_domain::Result<T> {
        let conn = self.reader();
        let run = || -> Result<T> {
            let tx = conn.unchecked_transaction()?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        };
        Ok(run()?)
    }

    fn reader(&self) -> MutexGuard<'_, Connection> {
        for reader in &self.readers {
            if let Some(guard) = reader.try_lock() {
                return guard;
            }
        }
        match self.readers.first() {
            // All busy: wait for the first. Readers are short, so this is rare and brief.
            Some(first) => first.lock(),
            None => self.writer.lock(),
        }
    }

    /// Whether no agent exists yet (a fresh database awaiting its first administrator).
    pub fn is_empty(&self) -> helpdesk_domain::Result<bool> {
        self.read(|tx| {
            let n: i64 = tx.query_row("SELECT count(*) FROM agents", [], |r| r.get(0))?;
            Ok(n == 0)
        })
    }

    /// Copies the whole database to `target` while it stays in use (SQLite's online backup).
    /// The target must not exist yet.
    pub fn backup_to(&self, target: &Path) -> helpdesk_domain::Result<()> {
        if target.exists() {
            return Err(crate::error::io(
                target,
                std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "the backup target already exists",
                ),
            )
            .into());
        }
        let conn = self.reader();
        let copy = || -> Result<()> {
            let mut dst = Connection::open(target)?;
            {
                let backup = rusqlite::backup::Backup::new(&conn, &mut dst)?;
                backup.run_to_completion(256, std::time::Duration::ZERO, None)?;
            }
            // The copy is a rollback-journal database; make it WAL like its source.
            dst.pragma_update(None, "journal_mode", "WAL")?;
            Ok(())
        };
        Ok(copy()?)
    }

    /// The key of the keyed hash behind plugin delivery numbers (random, made with the
    /// database).
    pub fn delivery_key(&self) -> helpdesk_domain::Result<[u8; 16]> {
        self.read(|tx| {
            let value: Vec<u8> = tx.query_row(
                "SELECT value FROM meta WHERE name = 'delivery_key'",
                [],
                |r| r.get(0),
            )?;
            value.try_into().map_err(|_| {
                Error::Internal("the stored delivery key is not 16 bytes".to_owned()).into()
            })
        })
    }

    /// Runs SQLite's `PRAGMA integrity_check` and returns its findings (`["ok"]` when sound).
    ///
    /// A file database is checked on a connection of its own, opened read-only for the check and
    /// closed after it; an in-memory one on the writer. Never on a pooled reader: FTS5 keeps state
    /// of the search index per connection from its earlier reads, and its check on a reader that
    /// searched before a write reports a checksum mismatch that is not in the file.
    pub fn integrity_check(&self) -> helpdesk_domain::Result<Vec<String>> {
        fn check(conn: &Connection) -> Result<Vec<String>> {
            let mut stmt = conn.prepare("PRAGMA integrity_check")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            Ok(rows.collect::<std::result::Result<Vec<_>, _>>()?)
        }
        Ok(match &self.path {
            Some(path) => check(&open::open_reader(path)?)?,
            None => check(&self.writer.lock())?,
        })
    }
}

#[cfg(test)]
mod tests;
