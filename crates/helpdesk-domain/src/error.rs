//! The error returned when input breaks a domain rule, and the kinds of record errors name.

use std::fmt;

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
