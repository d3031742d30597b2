//! The storage layer's error type. No rusqlite type appears in it.

use std::fmt;
use std::path::PathBuf;

pub use helpdesk_domain::Entity;
use helpdesk_domain::ValidationError;

/// A failure of the storage layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No record with that id or name.
    #[error("{entity} `{key}` does not exist")]
    NotFound {
        /// What was looked for.
        entity: Entity,
        /// Its id or name.
        key: String,
    },
    /// A unique value is already taken.
    #[error("{entity} with {field} `{value}` already exists")]
    Duplicate {
        /// What kind of record.
        entity: Entity,
        /// Which field must be unique.
        field: &'static str,
        /// The value given.
        value: String,
    },
    /// An update was based on a stale version.
    #[error(
        "ticket {ticket} was changed by someone else: you based your change on version {expected}, it is now at version {actual}"
    )]
    Conflict {
        /// The ticket.
        ticket: i64,
        /// The version the caller named.
        expected: u64,
        /// The version found.
        actual: u64,
    },
    /// Input that breaks a rule.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Another `Helpdesk` (in this process or another) has the database open.
    #[error("database `{}` is in use by another process or handle", path.display())]
    InUse {
        /// The database file.
        path: PathBuf,
    },
    /// The database file has several names (hard links), so the lock taken on one name cannot
    /// keep out an owner that opens it by another; it was not opened.
    #[error(
        "database `{}` has {links} names (hard links): one owner cannot be enforced for a file with several names; remove the other links", path.display()
    )]
    HardLinked {
        /// The database file, as given.
        path: PathBuf,
        /// How many names the file has.
        links: u64,
    },
    /// The file exists but is not a helpdesk database; it was left untouched.
    #[error("`{}` is not a helpdesk database; it was left untouched", path.display())]
    NotOurs {
        /// The file.
        path: PathBuf,
    },
    /// The database was written by a newer version of this library.
    #[error(
        "the database schema is version {found}, but this library supports up to {supported}; upgrade the library"
    )]
    SchemaTooNew {
        /// The version in the file.
        found: i64,
        /// The newest this code knows.
        supported: i64,
    },
    /// A file-system failure (lock file, backup target). The message names the file; the
    /// operating system's reason is the [`source`](std::error::Error::source).
    #[error("i/o error on `{}`", path.display())]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// An outbox consumer was acknowledged backwards or past the newest event.
    #[error("{0}")]
    Outbox(String),
    /// The database engine failed.
    #[error(transparent)]
    Database(#[from] DatabaseError),
}

/// A failure inside the database engine (disk full, corruption, ...).
///
/// The engine's message is part of this error's own message and it has no
/// [`source`](std::error::Error::source): the engine's errors repeat their cause in their
/// message, and its types stay inside this crate.
#[derive(Debug)]
pub struct DatabaseError(rusqlite::Error);

impl fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "database error: {}", self.0)
    }
}

impl std::error::Error for DatabaseError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Database(DatabaseError(e))
    }
}

pub(crate) type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Shorthand for a not-found error.
pub(crate) fn not_found(entity: Entity, key: impl fmt::Display) -> StoreError {
    StoreError::NotFound {
        entity,
        key: key.to_string(),
    }
}

/// Shorthand for a broken rule about stored state.
pub(crate) fn rule(field: &'static str, reason: impl Into<String>) -> StoreError {
    StoreError::Invalid(ValidationError::Malformed {
        field,
        reason: reason.into(),
    })
}
