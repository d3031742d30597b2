//! The public error type of the helpdesk core.

use std::fmt;
use std::path::PathBuf;

use std::sync::Arc;

use helpdesk_authz::{Action, DenyReason, Policy, PolicyError, Scopes};
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
    /// The principal came through a key or access token that has since been deleted,
    /// regenerated, disabled, changed or revoked, or has expired: authenticate again. (An HTTP
    /// application answers 401.)
    #[error(
        "the key or access token of this principal was changed, revoked or has expired: authenticate again"
    )]
    Revoked,
    /// Another handle, in this process or another, owns the database file.
    #[error("database `{}` is in use by another process or handle", path.display())]
    InUse {
        /// The database file.
        path: PathBuf,
    },
    /// The database file has several names (hard links). The lock that keeps a second owner out
    /// is taken on the file's name, so with several names one owner cannot be enforced; the
    /// file was not opened. Remove the other links, or copy the file, and open it again.
    #[error(
        "database `{}` has {links} names (hard links): one owner cannot be enforced for a file with several names; remove the other links", path.display()
    )]
    HardLinked {
        /// The database file, as given.
        path: PathBuf,
        /// How many names the file has.
        links: u64,
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
    /// An outbox consumer was misused: acknowledged backwards or past the newest event. (A
    /// consumer name of the wrong form is [`Error::Invalid`].)
    #[error("{0}")]
    Outbox(String),
    /// A file-system or database failure.
    #[error(transparent)]
    Storage(StorageError),
    /// A failure inside the core that is not the caller's doing, such as the operating system's
    /// random source failing while a secret is made, or stored data the permission policy
    /// cannot be compiled from. Nothing was changed.
    #[error("internal failure: {0}")]
    Internal(String),
}

/// Why a principal was refused: the engine's reason (data, formatted only when shown) or a
/// rule of the facade.
#[derive(Clone)]
pub struct Denied {
    kind: DeniedKind,
}

#[derive(Clone)]
enum DeniedKind {
    Engine {
        reason: DenyReason,
        policy: Arc<Policy>,
    },
    Rule(&'static str),
    /// Permissions handed out that the caller does not hold.
    NotHeld(Scopes),
}

impl Denied {
    pub(crate) fn engine(reason: DenyReason, policy: Arc<Policy>) -> Self {
        Self {
            kind: DeniedKind::Engine { reason, policy },
        }
    }

    pub(crate) fn rule(reason: &'static str) -> Self {
        Self {
            kind: DeniedKind::Rule(reason),
        }
    }

    /// Handing out `scopes`, which the caller does not hold.
    pub(crate) fn not_held(scopes: Scopes) -> Self {
        Self {
            kind: DeniedKind::NotHeld(scopes),
        }
    }

    /// The scope that a key, token or plugin grant lacked, if that is why.
    pub fn missing_scope(&self) -> Option<Action> {
        match self.kind {
            DeniedKind::Engine {
                reason:
                    DenyReason::KeyLacksScope { action, .. }
                    | DenyReason::TokenLacksScope { action, .. }
                    | DenyReason::PluginLacksScope { action, .. },
                ..
            } => Some(action),
            _ => None,
        }
    }
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            DeniedKind::Engine { reason, policy } => fmt::Display::fmt(&reason.explain(policy), f),
            DeniedKind::Rule(reason) => f.write_str(reason),
            DeniedKind::NotHeld(scopes) => write!(
                f,
                "`{scopes}` is not held by the caller: only an administrator hands out permissions it does not hold"
            ),
        }
    }
}

impl std::error::Error for Denied {}

impl fmt::Debug for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Denied").field(&self.to_string()).finish()
    }
}

/// A failure below the domain: the disk, the database engine, a lock file. Its message names
/// what failed; the operating system's reason, if any, is its
/// [`source`](std::error::Error::source), so print the chain to see it.
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
            StoreError::HardLinked { path, links } => Error::HardLinked { path, links },
            StoreError::NotOurs { path } => Error::NotOurs { path },
            StoreError::SchemaTooNew { found, supported } => {
                Error::SchemaTooNew { found, supported }
            }
            StoreError::Outbox(m) => Error::Outbox(m),
            other => Error::Storage(StorageError(other)),
        }
    }
}

impl From<PolicyError> for Error {
    /// The policy is compiled from stored data only, so a failure is never the caller's.
    fn from(e: PolicyError) -> Self {
        Error::Internal(format!("the permission policy could not be compiled: {e}"))
    }
}

/// The result type of the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;
