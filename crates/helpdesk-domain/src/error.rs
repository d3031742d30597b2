//! The one error type of the core ([`Error`], what every call of the facade and of storage
//! returns), the errors of input that breaks a domain rule ([`ValidationError`]), and the kinds
//! of record errors name.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use crate::ids::TicketId;
use crate::scopes::{Action, Scopes};

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

/// Why a principal was refused: the permission engine's reason (data, formatted only when
/// shown) or a rule of the facade.
#[derive(Clone)]
pub struct Denied {
    kind: DeniedKind,
}

#[derive(Clone)]
enum DeniedKind {
    /// A reason explained when shown (the engine's, with names from its policy).
    Explained(Arc<dyn DenialReason>),
    /// A rule of the facade.
    Rule(&'static str),
    /// Permissions handed out that the caller does not hold.
    NotHeld(Scopes),
}

/// A reason for a denial that is explained only when shown (the permission engine's: agent and
/// department names are looked up then).
pub trait DenialReason: fmt::Display + Send + Sync {
    /// The scope that a key, token or plugin grant lacked, if that is why.
    fn missing_scope(&self) -> Option<Action>;
}

impl Denied {
    /// A denial for `reason`, explained when shown.
    #[doc(hidden)]
    pub fn explained(reason: Arc<dyn DenialReason>) -> Self {
        Self {
            kind: DeniedKind::Explained(reason),
        }
    }

    /// A denial by a rule, said in `reason`.
    #[doc(hidden)]
    pub const fn rule(reason: &'static str) -> Self {
        Self {
            kind: DeniedKind::Rule(reason),
        }
    }

    /// Handing out `scopes`, which the caller does not hold.
    #[doc(hidden)]
    pub const fn not_held(scopes: Scopes) -> Self {
        Self {
            kind: DeniedKind::NotHeld(scopes),
        }
    }

    /// The scope that a key, token or plugin grant lacked, if that is why.
    pub fn missing_scope(&self) -> Option<Action> {
        match &self.kind {
            DeniedKind::Explained(reason) => reason.missing_scope(),
            _ => None,
        }
    }
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            DeniedKind::Explained(reason) => fmt::Display::fmt(reason, f),
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
pub struct StorageError {
    message: String,
    source: Option<std::io::Error>,
}

impl StorageError {
    /// A file-system failure on `path`, caused by `source`.
    #[doc(hidden)]
    pub fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Self {
            message: format!("i/o error on `{}`", path.display()),
            source: Some(source),
        }
    }

    /// A failure of the database engine, as the engine says it (its errors repeat their cause
    /// in their message, so they are not given as a source).
    #[doc(hidden)]
    pub fn database(message: impl fmt::Display) -> Self {
        Self {
            message: format!("database error: {message}"),
            source: None,
        }
    }
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for StorageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// The result type of the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Input that breaks a domain rule. Messages name the offending field and never echo secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// A required text field is empty or only white space.
    #[error("`{field}` must not be empty")]
    Empty {
        /// The field's name.
        field: &'static str,
    },
    /// A text field is longer than allowed.
    #[error("`{field}` is {len} characters long; at most {max} are allowed")]
    TooLong {
        /// The field's name.
        field: &'static str,
        /// Its length in characters.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Too many items in a list (tags, tickets in one import, choices).
    #[error("too many {what}: {count}, at most {max} are allowed")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// How many were given.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A value is not of the accepted form.
    #[error("`{field}` is not valid: {reason}")]
    Malformed {
        /// The field's name.
        field: &'static str,
        /// What is wrong, for a person.
        reason: String,
    },
    /// A custom field value does not fit the field's definition.
    #[error("custom field `{key}`: {reason}")]
    FieldValue {
        /// The custom field's key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// A custom field key that no definition has.
    #[error("custom field `{key}` is not defined")]
    UnknownField {
        /// The key given.
        key: String,
    },
    /// A status or priority name that does not exist.
    #[error("`{value}` is not a valid {what}")]
    UnknownName {
        /// What kind of name (status, priority, field kind).
        what: &'static str,
        /// The value given.
        value: String,
    },
}

/// What kind of record an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Entity {
    /// An agent.
    Agent,
    /// A department.
    Department,
    /// A requester.
    Requester,
    /// An organisation.
    Organization,
    /// A ticket.
    Ticket,
    /// A message.
    Message,
    /// A custom field.
    Field,
    /// An outbox consumer.
    Consumer,
    /// A role.
    Role,
    /// An API key.
    Key,
    /// An access token.
    Token,
    /// A plugin install.
    Install,
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Entity::Agent => "agent",
            Entity::Department => "department",
            Entity::Requester => "requester",
            Entity::Organization => "organization",
            Entity::Ticket => "ticket",
            Entity::Message => "message",
            Entity::Field => "custom field",
            Entity::Consumer => "outbox consumer",
            Entity::Role => "role",
            Entity::Install => "plugin install",
            Entity::Key => "api key",
            Entity::Token => "access token",
        })
    }
}
