//! How storage fails: the core's one [`Error`], and inside this crate a working error that also
//! carries the database engine's (so that `?` works on its calls), turned into a storage error
//! at the crate's edge. No rusqlite type leaves this crate.

use std::fmt;

pub use helpdesk_domain::Entity;
use helpdesk_domain::{Error, StorageError, ValidationError};

/// The working error of this crate's functions.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A failure the core's error names.
    Core(Error),
    /// The database engine failed.
    Engine(rusqlite::Error),
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Self::Engine(e)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self::Core(e)
    }
}

impl From<ValidationError> for Failure {
    fn from(e: ValidationError) -> Self {
        Self::Core(Error::Invalid(e))
    }
}

impl From<Failure> for Error {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Core(e) => e,
            Failure::Engine(e) => Error::Storage(StorageError::database(e)),
        }
    }
}

pub(crate) type Result<T, E = Failure> = std::result::Result<T, E>;

/// Shorthand for a not-found error.
pub(crate) fn not_found(entity: Entity, key: impl fmt::Display) -> Failure {
    Failure::Core(Error::NotFound {
        entity,
        key: key.to_string(),
    })
}

/// Shorthand for a broken rule about stored state.
pub(crate) fn rule(field: &'static str, reason: impl Into<String>) -> Failure {
    Failure::Core(Error::Invalid(ValidationError::Malformed {
        field,
        reason: reason.into(),
    }))
}

/// A file-system failure on `path`.
pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Failure {
    Failure::Core(Error::Storage(StorageError::io(path, source)))
}
