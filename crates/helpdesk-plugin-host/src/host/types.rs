//! `helpdesk:plugin/types`: conversions between the facade's types and the WIT types, and the
//! mapping of facade errors to the typed WIT error.

use helpdesk::{Actor, Attribution, Author, MessageKind, Priority, Status, ValidationError};

use crate::bindings::v0_1::helpdesk::plugin::types as wit;
use crate::sandbox::HostState;

impl wit::Host for HostState {}

/// A facade error as the typed error a plugin sees. Messages are the facade's own (lower case,
/// no secrets); a denial carries the engine's reason.
pub(crate) fn error(e: helpdesk::Error) -> wit::Error {
    let message = e.to_string();
    match e {
        helpdesk::Error::NotFound { .. } => wit::Error::NotFound(message),
        // The reason alone: the variant already says it is a denial.
        helpdesk::Error::Denied(d) => wit::Error::Denied(d.to_string()),
        helpdesk::Error::Conflict { .. } => wit::Error::Conflict(message),
        helpdesk::Error::Invalid(ValidationError::TooLong {
            field: "key-value store",
            ..
        }) => wit::Error::LimitExceeded(message),
        helpdesk::Error::Invalid(_) | helpdesk::Error::Duplicate { .. } => {
            wit::Error::Invalid(message)
        }
        _ => wit::Error::Unavailable(message),
    }
}

pub(crate) fn status(s: Status) -> wit::Status {
    match s {
        Status::New => wit::Status::New,
        Status::Open => wit::Status::Open,
        Status::Pending => wit::Status::Pending,
        Status::Resolved => wit::Status::Resolved,
        Status::Closed => wit::Status::Closed,
    }
}

pub(crate) fn status_in(s: wit::Status) -> Status {
    match s {
        wit::Status::New => Status::New,
        wit::Status::Open => Status::Open,
        wit::Status::Pending => Status::Pending,
        wit::Status::Resolved => Status::Resolved,
        wit::Status::Closed => Status::Closed,
    }
}

pub(crate) fn priority(p: Priority) -> wit::Priority {
    match p {
        Priority::Low => wit::Priority::Low,
        Priority::Normal => wit::Priority::Normal,
        Priority::High => wit::Priority::High,
        Priority::Urgent => wit::Priority::Urgent,
    }
}

pub(crate) fn priority_in(p: wit::Priority) -> Priority {
    match p {
        wit::Priority::Low => Priority::Low,
        wit::Priority::Normal => Priority::Normal,
        wit::Priority::High => Priority::High,
        wit::Priority::Urgent => Priority::Urgent,
    }
}

pub(crate) fn kind(k: MessageKind) -> wit::MessageKind {
    match k {
        MessageKind::Reply => wit::MessageKind::Reply,
        MessageKind::Note => wit::MessageKind::Note,
    }
}

pub(crate) fn kind_in(k: wit::MessageKind) -> MessageKind {
    match k {
        wit::MessageKind::Reply => MessageKind::Reply,
        wit::MessageKind::Note => MessageKind::Note,
    }
}

pub(crate) fn field_json(v: &helpdesk::FieldValue) -> String {
    let plain = match v {
        helpdesk::FieldValue::Text(s)
        | helpdesk::FieldValue::Date(s)
        | helpdesk::FieldValue::Choice(s) => serde_json::Value::String(s.clone()),
        helpdesk::FieldValue::Number(n) => serde_json::json!(n),
        helpdesk::FieldValue::Boolean(b) => serde_json::Value::Bool(*b),
    };
    plain.to_string()
}

pub(crate) fn ticket(t: helpdesk::Ticket) -> wit::Ticket {
    wit::Ticket {
        id: t.id.get(),
        subject: t.subject,
        status: status(t.status),
        priority: priority(t.priority),
        department: t.department.get(),
        assignee: t.assignee.map(helpdesk::AgentId::get),
        requester: t.requester.get(),
        tags: t.tags,
        fields: t
            .fields
            .iter()
            .map(|(k, v)| (k.clone(), field_json(v)))
            .collect(),
        created_at: t.created_at.as_millis(),
        updated_at: t.updated_at.as_millis(),
        version: t.version,
    }
}

pub(crate) fn message(m: helpdesk::Message) -> wit::Message {
    wit::Message {
        id: m.id.get(),
        ticket: m.ticket.get(),
        kind: kind(m.kind),
        body: m.body,
        author: match m.author {
            Author::Agent(a) => wit::Author::Agent(a.get()),
            Author::Requester(r) => wit::Author::Requester(r.get()),
        },
        created_at: m.created_at.as_millis(),
    }
}

pub(crate) fn attribution(by: Attribution) -> wit::Attribution {
    wit::Attribution {
        actor: match by.actor {
            Actor::System => wit::Actor::System,
            Actor::Agent(a) => wit::Actor::Agent(a.get()),
            Actor::Requester(r) => wit::Actor::Requester(r.get()),
        },
        key: by.key.map(helpdesk::KeyId::get),
        token: by.token.map(helpdesk::TokenId::get),
        install: by.install.map(helpdesk::InstallId::get),
    }
}
