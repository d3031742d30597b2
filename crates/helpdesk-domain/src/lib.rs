//! Internal crate: the ids, types and rules of the helpdesk domain. Not a public API; use the `helpdesk` crate.
//!
//! Everything here is plain data and pure validation. Storage lives in `helpdesk-store`, permission
//! decisions in `helpdesk-authz`, and the public API that ties them together in `helpdesk`.

mod actor;
mod durability;
mod error;
mod event;
mod fields;
mod history;
mod id_hasher;
mod ids;
mod keys;
mod outbox;
mod people;
mod scopes;
mod search;
mod ticket;
mod time;
mod validate;

pub use actor::{Actor, Attribution};
pub use durability::Durability;
pub use error::{DenialReason, Denied, Entity, Error, Result, StorageError, ValidationError};
pub use event::{Event, EventKind};
pub use fields::{FieldDefinition, FieldKind, FieldValue, NewFieldDefinition};
pub use history::{Change, HistoryEntry, HistoryField, HistorySubject, HistoryValue};
pub use id_hasher::{IdHasher, IdMap};
pub use ids::{
    AgentId, DepartmentId, FieldId, HistoryId, InstallId, KeyId, MessageId, OrganizationId,
    RequesterId, RoleId, TicketId, TokenId,
};
pub use keys::{ActAs, KeyKind, Network, RequestOutcome};
pub use outbox::{ConsumerInfo, EventBatch, StartFrom};
pub use people::{
    Agent, AgentUpdate, Department, Membership, NewAgent, NewRequester, Organization, Requester,
    Role,
};
pub use scopes::{Action, ParseScopeError, Scopes, ScopesIter};
pub use search::{Cursor, SearchPage, SearchQuery, SortBy, SortOrder};
pub use ticket::{
    AccessLevel, Author, DeletedTicket, ImportTicket, Message, MessageKind, NewMessage, NewTicket,
    Priority, Status, Ticket, TicketUpdate,
};
pub use time::{Clock, ManualClock, Reading, SystemClock, Timestamp};
pub use validate::{
    Limits, check_free_text, check_search_text, normalize_email, normalize_line, normalize_name,
    validate_tag,
};
