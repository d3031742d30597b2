//! The public error type of the helpdesk core.

use std::fmt;
use std::path::PathBuf;

use helpdesk_domain::{Entity, TicketId, ValidationError};
use helpdesk_store::StoreError;

/// Everything that can go wrong in a call to the core. Each failed call leaves nothing behind:
/// no rows, no history, no events.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The record does not exist, or the caller may not see it.
    #[error("{entity} `{key}` does not exist")]
    NotFound {
        /// What was looked for.
        entity: Entity,
        /// Its id or name.
        key: String,
    },
    /// A value that must be unique is taken.
    #[error("{entity} with {field} `{value}` already exists")]
    Duplicate {
        /// What kind of record.
        entity: Entity,
        /// Which field must be unique.
        field: &'static str,
        /// The value given.
        value: String,
    },
    /// The ticket changed since the version the update was based on; reload and retry.
    #[error(
        "ticket {ticket} was changed by someone else: you based your change on version {expected}, it is now at version {actual}"
    )]
    Conflict {
        /// The ticket.
        ticket: TicketId,
        /// The version the caller named.
        expected: u64,
        /// The version found.
        actual: u64,
    },
    /// Input that breaks a rule.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The principal may not do this.
    #[error("denied: {0}")]
    Denied(Denied),
    /// Another handle, in this process or another, owns the database file.
    #[error("database `{}` is in use by another process or handle", path.display())]
    InUse {
        /// The database file.
        path: PathBuf,
    },
    /// The file is not a helpdesk database; it was not modified.
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
        /// The newest this library knows.
        supported: i64,
    },
    /// The first administrator can only be created on an empty database.
    #[error("the database already has agents; the first administrator was created before")]
    AlreadyInitialized,
    /// An outbox consumer was misused (bad name, acknowledging backwards).
    #[error("{0}")]
    Outbox(String),
    /// A file-system or database failure.
    #[error(transparent)]
    Storage(StorageError),
}

/// Why a principal was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    reason: String,
}

impl Denied {
    pub(crate) fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }

    /// The reason, for a person.
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

/// A failure below the domain: the disk, the database engine, a lock file.
#[derive(Debug)]
pub struct StorageError(StoreError);

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for StorageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.0)
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound { entity, key } => Error::NotFound { entity, key },
            StoreError::Duplicate {
                entity,
                field,
                value,
            } => Error::Duplicate {
                entity,
                field,
                value,
            },
            StoreError::Conflict {
                ticket,
                expected,
                actual,
            } => Error::Conflict {
                ticket: TicketId::new(ticket),
                expected,
                actual,
            },
            StoreError::Invalid(v) => Error::Invalid(v),
            StoreError::InUse { path } => Error::InUse { path },
            StoreError::NotOurs { path } => Error::NotOurs { path },
            StoreError::SchemaTooNew { found, supported } => {
                Error::SchemaTooNew { found, supported }
            }
            StoreError::Outbox(m) => Error::Outbox(m),
            other => Error::Storage(StorageError(other)),
        }
    }
}

/// The result type of the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;
