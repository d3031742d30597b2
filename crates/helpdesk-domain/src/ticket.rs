//! Tickets and their messages: statuses, priorities, and the inputs that create or change them.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::actor::Attribution;
use crate::error::ValidationError;
use crate::fields::FieldValue;
use crate::ids::{AgentId, DepartmentId, MessageId, OrganizationId, RequesterId, TicketId};
use crate::time::Timestamp;
use crate::validate::{Limits, normalize_tags, required_line, required_text};

macro_rules! named_enum {
    ($(#[$doc:meta])* $name:ident, $what:literal { $($(#[$vdoc:meta])* $variant:ident = $code:literal, $text:literal;)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// Every value, in order.
            pub const ALL: &[$name] = &[$($name::$variant),*];

            /// The stable name, as used in the API and in storage-independent formats.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text,)* }
            }

            /// The stable small integer stored in the database.
            pub const fn code(self) -> i64 {
                match self { $($name::$variant => $code,)* }
            }

            /// The value for a stored code.
            pub const fn from_code(code: i64) -> Option<Self> {
                match code { $($code => Some($name::$variant),)* _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim().to_ascii_lowercase().as_str() {
                    $($text => Ok($name::$variant),)*
                    _ => Err(ValidationError::UnknownName { what: $what, value: s.to_owned() }),
                }
            }
        }
    };
}

named_enum!(
    /// Where a ticket is in its life.
    Status, "status" {
        /// Just opened, nobody has worked on it yet.
        New = 0, "new";
        /// Being worked on.
        Open = 1, "open";
        /// Waiting for the requester.
        Pending = 2, "pending";
        /// Solved; the requester may still reopen it by replying.
        Resolved = 3, "resolved";
        /// Closed for good: no further changes.
        Closed = 4, "closed";
    }
);

named_enum!(
    /// How urgent a ticket is.
    Priority, "priority" {
        /// Can wait.
        Low = 0, "low";
        /// The default.
        Normal = 1, "normal";
        /// Soon.
        High = 2, "high";
        /// Now.
        Urgent = 3, "urgent";
    }
);

named_enum!(
    /// Whether a message is visible to the requester.
    MessageKind, "message kind" {
        /// A public reply, seen by the requester.
        Reply = 0, "reply";
        /// An internal note, seen by agents only.
        Note = 1, "note";
    }
);

named_enum!(
    /// An agent's access level in a department (as in Zammad). Each level includes the ones below.
    AccessLevel, "access level" {
        /// See the department's tickets.
        Read = 0, "read";
        /// Also open tickets in the department.
        Create = 1, "create";
        /// Also update, assign, set the status of, reply to and add notes to its tickets.
        Change = 2, "change";
        /// Also delete its tickets.
        Full = 3, "full";
    }
);

impl AccessLevel {
    /// The level's name: `read`, `create`, `change` or `full`.
    pub const fn name(self) -> &'static str {
        self.as_str()
    }
}

impl Status {
    /// Checks a status change. Closed tickets stay closed, and no ticket goes back to `new`.
    pub fn check_transition(self, to: Status) -> Result<(), ValidationError> {
        let reason = match (self, to) {
            (from, to) if from == to => return Ok(()),
            (Status::Closed, _) => "a closed ticket cannot be reopened; open a follow-up ticket",
            (_, Status::New) => "a ticket cannot go back to `new`",
            _ => return Ok(()),
        };
        Err(ValidationError::Malformed {
            field: "status",
            reason: reason.into(),
        })
    }
}

/// What a deleted ticket was when it was deleted, as far as permissions care: the reach its
/// history and events stay in. Tickets deleted by versions that did not keep this know only
/// their department.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeletedTicket {
    /// Its id.
    pub id: TicketId,
    /// Its department.
    pub department: DepartmentId,
    /// Its assignee.
    pub assignee: Option<AgentId>,
    /// Its requester, when known.
    pub requester: Option<RequesterId>,
    /// Its requester's organisation.
    pub organization: Option<OrganizationId>,
    /// When it was deleted.
    pub deleted_at: Timestamp,
}

/// A ticket as stored, with its tags and custom field values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    /// Its id.
    pub id: TicketId,
    /// One-line summary.
    pub subject: String,
    /// Where it is in its life.
    pub status: Status,
    /// How urgent it is.
    pub priority: Priority,
    /// The department it is routed to.
    pub department: DepartmentId,
    /// The agent working on it, an active member of its department.
    pub assignee: Option<AgentId>,
    /// Who asked.
    pub requester: RequesterId,
    /// The requester's organisation when the ticket was last written (used for sharing rules).
    pub organization: Option<OrganizationId>,
    /// Tags, normalized and sorted.
    pub tags: Vec<String>,
    /// Custom field values by field key.
    pub fields: BTreeMap<String, FieldValue>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed (a new message counts).
    pub updated_at: Timestamp,
    /// Bumped on every change; an update must name the version it was based on.
    pub version: u64,
}

/// Input for a new ticket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewTicket {
    /// One-line summary.
    pub subject: String,
    /// The department it is routed to.
    pub department: DepartmentId,
    /// Who asked.
    pub requester: RequesterId,
    /// Defaults to `normal`.
    #[serde(default)]
    pub priority: Option<Priority>,
    /// Defaults to `new`, or `open` when an assignee is given.
    #[serde(default)]
    pub status: Option<Status>,
    /// An active member of the department.
    #[serde(default)]
    pub assignee: Option<AgentId>,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Custom field values by key.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldValue>,
    /// The first message, if any.
    #[serde(default)]
    pub message: Option<NewMessage>,
}

impl NewTicket {
    /// A ticket with the given subject, department and requester, everything else defaulted.
    pub fn new(
        subject: impl Into<String>,
        department: DepartmentId,
        requester: RequesterId,
    ) -> Self {
        Self {
            subject: subject.into(),
            department,
            requester,
            priority: None,
            status: None,
            assignee: None,
            tags: Vec::new(),
            fields: BTreeMap::new(),
            message: None,
        }
    }

    /// Validates and normalizes everything that needs no stored data (custom fields are checked
    /// against their definitions by the store).
    pub fn normalize(mut self, limits: &Limits) -> Result<Self, ValidationError> {
        self.subject = normalize_subject(&self.subject, limits)?;
        self.tags = normalize_tags(&self.tags, limits)?;
        if self.status == Some(Status::Closed) {
            return Err(ValidationError::Malformed {
                field: "status",
                reason: "a ticket cannot be created closed".into(),
            });
        }
        if let Some(message) = self.message.take() {
            self.message = Some(message.normalize(limits)?);
        }
        Ok(self)
    }
}

pub(crate) fn normalize_subject(subject: &str, limits: &Limits) -> Result<String, ValidationError> {
    Ok(required_line("subject", subject, limits.max_subject_chars)?.to_owned())
}

/// A change to a ticket. Fields left `None` are not touched.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TicketUpdate {
    /// New subject.
    #[serde(default)]
    pub subject: Option<String>,
    /// New status.
    #[serde(default)]
    pub status: Option<Status>,
    /// New priority.
    #[serde(default)]
    pub priority: Option<Priority>,
    /// New department (the assignee must be a member of it, or be changed too).
    #[serde(default)]
    pub department: Option<DepartmentId>,
    /// `Some(None)` unassigns.
    #[serde(default)]
    pub assignee: Option<Option<AgentId>>,
    /// Tags to add.
    #[serde(default)]
    pub add_tags: Vec<String>,
    /// Tags to remove.
    #[serde(default)]
    pub remove_tags: Vec<String>,
    /// Custom field values to set (`None` clears one).
    #[serde(default)]
    pub fields: BTreeMap<String, Option<FieldValue>>,
}

impl TicketUpdate {
    /// Whether the update changes nothing.
    pub fn is_empty(&self) -> bool {
        self.subject.is_none()
            && self.status.is_none()
            && self.priority.is_none()
            && self.department.is_none()
            && self.assignee.is_none()
            && self.add_tags.is_empty()
            && self.remove_tags.is_empty()
            && self.fields.is_empty()
    }

    /// Validates and normalizes what needs no stored data.
    pub fn normalize(mut self, limits: &Limits) -> Result<Self, ValidationError> {
        if let Some(subject) = &self.subject {
            self.subject = Some(normalize_subject(subject, limits)?);
        }
        self.add_tags = normalize_tags(&self.add_tags, limits)?;
        self.remove_tags = normalize_tags(&self.remove_tags, limits)?;
        Ok(self)
    }
}

/// Who wrote a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Author {
    /// An agent.
    Agent(AgentId),
    /// A requester.
    Requester(RequesterId),
}

/// A message on a ticket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Its id.
    pub id: MessageId,
    /// The ticket it belongs to.
    pub ticket: TicketId,
    /// Public reply or internal note.
    pub kind: MessageKind,
    /// The text.
    pub body: String,
    /// Who the message is from.
    pub author: Author,
    /// Who actually posted it, when someone posted for the author (and with which credential).
    pub posted_by: Attribution,
    /// When it was posted.
    pub created_at: Timestamp,
}

/// Input for a new message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewMessage {
    /// Public reply or internal note.
    pub kind: MessageKind,
    /// The text.
    pub body: String,
    /// The author when it is not the acting person (posting for someone else).
    #[serde(default)]
    pub author: Option<Author>,
}

impl NewMessage {
    /// A public reply by the acting person.
    pub fn reply(body: impl Into<String>) -> Self {
        Self {
            kind: MessageKind::Reply,
            body: body.into(),
            author: None,
        }
    }

    /// An internal note by the acting person.
    pub fn note(body: impl Into<String>) -> Self {
        Self {
            kind: MessageKind::Note,
            body: body.into(),
            author: None,
        }
    }

    /// The same message, written for `author`.
    pub fn by(mut self, author: Author) -> Self {
        self.author = Some(author);
        self
    }

    /// Validates the body.
    pub fn normalize(mut self, limits: &Limits) -> Result<Self, ValidationError> {
        self.body = required_text("body", &self.body, limits.max_body_chars)?.to_owned();
        Ok(self)
    }
}

/// One ticket of a bulk import, with its conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ImportTicket {
    /// The ticket. Its `message`, if any, becomes the first message.
    pub ticket: NewTicket,
    /// Further messages, oldest first. A reply without an author is the requester's; a note
    /// must name its agent.
    #[serde(default)]
    pub messages: Vec<NewMessage>,
    /// When the ticket was created in the system it comes from (defaults to now).
    #[serde(default)]
    pub created_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Status::ALL {
            assert_eq!(s.as_str().parse::<Status>().unwrap(), *s);
            assert_eq!(Status::from_code(s.code()), Some(*s));
        }
        for p in Priority::ALL {
            assert_eq!(p.as_str().parse::<Priority>().unwrap(), *p);
            assert_eq!(Priority::from_code(p.code()), Some(*p));
        }
        assert_eq!(" URGENT ".parse::<Priority>().unwrap(), Priority::Urgent);
        assert!(
            "soon"
                .parse::<Priority>()
                .unwrap_err()
                .to_string()
                .contains("`soon`")
        );
        assert_eq!(Status::from_code(9), None);
    }

    #[test]
    fn transitions() {
        use Status::*;
        let check = |from: Status, to: Status, ok: bool| {
            assert_eq!(from.check_transition(to).is_ok(), ok, "{from} -> {to}");
        };
        check(New, Open, true);
        check(Open, Resolved, true);
        check(Resolved, Open, true);
        check(Open, New, false);
        check(Closed, Open, false);
        check(Closed, Closed, true);
        check(Pending, Closed, true);
    }

    #[test]
    fn new_ticket_normalizes() {
        let limits = Limits::default();
        let mut t = NewTicket::new(
            "  Printer on fire ",
            DepartmentId::new(1),
            RequesterId::new(2),
        );
        t.tags = vec!["Hardware".into(), "hardware".into()];
        let t = t.normalize(&limits).unwrap();
        assert_eq!(t.subject, "Printer on fire");
        assert_eq!(t.tags, ["hardware"]);
        let blank = NewTicket::new("   ", DepartmentId::new(1), RequesterId::new(2));
        assert_eq!(
            blank.normalize(&limits).unwrap_err(),
            ValidationError::Empty { field: "subject" }
        );
        let two_lines = NewTicket::new("a\nb", DepartmentId::new(1), RequesterId::new(2));
        assert!(two_lines.normalize(&limits).is_err());
    }
}
