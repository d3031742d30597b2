//! The typed audit history: who changed what, from which value to which, and when.

use serde::{Deserialize, Serialize};

use crate::actor::Attribution;
use crate::fields::FieldValue;
use crate::ids::{
    AgentId, DepartmentId, FieldId, HistoryId, KeyId, MessageId, OrganizationId, RequesterId,
    RoleId, TicketId, TokenId,
};
use crate::keys::ActAs;
use crate::ticket::{AccessLevel, MessageKind, Priority, Status};
use crate::time::Timestamp;

/// What a history entry is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum HistorySubject {
    /// A ticket.
    Ticket(TicketId),
    /// An agent.
    Agent(AgentId),
    /// A department.
    Department(DepartmentId),
    /// A requester.
    Requester(RequesterId),
    /// An organisation.
    Organization(OrganizationId),
    /// A custom field definition.
    Field(FieldId),
    /// A role.
    Role(RoleId),
    /// An API key (and the access tokens minted from it).
    Key(KeyId),
}

/// A field that a change touched.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "field", content = "key", rename_all = "snake_case")]
pub enum HistoryField {
    /// Ticket subject.
    Subject,
    /// Ticket status.
    Status,
    /// Ticket priority.
    Priority,
    /// Ticket department.
    Department,
    /// Ticket assignee.
    Assignee,
    /// A ticket's custom field, by key.
    Custom(String),
    /// A name.
    Name,
    /// An email address.
    Email,
    /// An agent's active flag.
    Active,
    /// An agent's administrator flag.
    Admin,
    /// An agent's only-assigned restriction.
    OnlyAssigned,
    /// An agent's roles.
    Roles,
    /// A role's permissions.
    Permissions,
    /// An API key's enabled flag.
    Enabled,
    /// An API key's description.
    Description,
    /// An API key's scopes.
    Scopes,
    /// A superuser key's admin-functions flag.
    AdminFunctions,
    /// An API key's expiry.
    ExpiresAt,
    /// An API key's allowed source networks.
    Networks,
    /// A superuser key's default agent.
    DefaultAgent,
}

/// A value in a history entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum HistoryValue {
    /// No value (unset).
    None,
    /// Text.
    Text(String),
    /// A flag.
    Bool(bool),
    /// A status.
    Status(Status),
    /// A priority.
    Priority(Priority),
    /// An agent.
    Agent(AgentId),
    /// A department.
    Department(DepartmentId),
    /// A custom field value.
    Field(FieldValue),
    /// A list of roles.
    Roles(Vec<RoleId>),
    /// A list of names (scopes, networks).
    Names(Vec<String>),
    /// An instant.
    Time(Timestamp),
}

/// One typed change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// The subject was created.
    Created,
    /// The subject was created by a bulk import.
    Imported,
    /// The subject was deleted.
    Deleted,
    /// A field went from one value to another.
    Set {
        /// The field.
        field: HistoryField,
        /// The value before.
        old: HistoryValue,
        /// The value after.
        new: HistoryValue,
    },
    /// A tag was added to a ticket.
    TagAdded {
        /// The tag.
        tag: String,
    },
    /// A tag was removed from a ticket.
    TagRemoved {
        /// The tag.
        tag: String,
    },
    /// A message was posted on a ticket.
    MessageAdded {
        /// The message.
        message: MessageId,
        /// Reply or note.
        kind: MessageKind,
    },
    /// An agent joined a department.
    MemberAdded {
        /// The agent.
        agent: AgentId,
        /// Its access level there.
        level: AccessLevel,
    },
    /// A member's access level changed.
    MemberLevel {
        /// The agent.
        agent: AgentId,
        /// The level before.
        old: AccessLevel,
        /// The level after.
        new: AccessLevel,
    },
    /// An agent left a department.
    MemberRemoved {
        /// The agent.
        agent: AgentId,
    },
    /// An API key's secret was replaced by a new one; the old one is refused from then on, or
    /// from `overlap_until` when an overlap window was asked for.
    SecretRegenerated {
        /// The end of the window in which the old secret still works, if any.
        overlap_until: Option<Timestamp>,
    },
    /// An access token was minted from the key.
    TokenMinted {
        /// The token.
        token: TokenId,
        /// The person it acts as.
        person: ActAs,
        /// When it expires.
        expires_at: Timestamp,
    },
    /// An access token of the key was revoked before it expired.
    TokenRevoked {
        /// The token.
        token: TokenId,
    },
}

/// One entry of the audit history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Its id; entries are ordered by id.
    pub id: HistoryId,
    /// When the change was committed.
    pub at: Timestamp,
    /// Who made it, and with which credential.
    pub by: Attribution,
    /// What it is about.
    pub subject: HistorySubject,
    /// What changed.
    pub change: Change,
}
