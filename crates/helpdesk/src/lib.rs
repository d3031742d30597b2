//! An embedded, in-process helpdesk core on SQLite.
//!
//! Link it as a library: [`Helpdesk::open`] gives a cheap-to-clone, thread-safe [`Helpdesk`] and
//! the [`SystemHandle`] through which the embedding application maps its own signed-in users to
//! [`Principal`]s. Every operation is performed as a principal, checked before it touches
//! storage, recorded in the ticket's typed history and emitted as an event on a durable outbox,
//! all in one transaction.
//!
//! ```
//! use helpdesk::{Helpdesk, NewAgent, NewRequester, NewTicket, NewMessage, Options, SearchQuery};
//!
//! # fn main() -> Result<(), helpdesk::Error> {
//! let (desk, system) = Helpdesk::open_in_memory(Options::default())?;
//! let root = system.principal();
//! let ann = desk.create_agent(&root, NewAgent { name: "Ann".into(), email: "ann@example.com".into(), admin: false })?;
//! let billing = desk.create_department(&root, "Billing")?;
//! desk.add_member(&root, billing.id, ann.id)?;
//! let bob = desk.create_requester(&root, NewRequester { name: "Bob".into(), email: "bob@example.org".into(), organization: None })?;
//!
//! let as_ann = system.agent(ann.id)?;
//! let mut new = NewTicket::new("Invoice shows the wrong amount", billing.id, bob.id);
//! new.message = Some(NewMessage::reply("I was charged twice in March.").by(helpdesk::Author::Requester(bob.id)));
//! let ticket = desk.create_ticket(&as_ann, new)?;
//!
//! let page = desk.search(&as_ann, &SearchQuery { text: Some("charged".into()), ..SearchQuery::default() })?;
//! assert_eq!(page.tickets[0].id, ticket.id);
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

#[doc = include_str!("../../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

mod error;
mod guard;
mod options;
mod principal;

use std::path::Path;
use std::sync::Arc;

use helpdesk_store::Store;

use guard::Need;

pub use error::{Denied, Error, Result, StorageError};
pub use helpdesk_domain::{
    Actor, Agent, AgentId, AgentUpdate, Attribution, Author, Change, Clock, Department,
    DepartmentId, Entity, Event, EventKind, FieldDefinition, FieldId, FieldKind, FieldValue,
    HistoryEntry, HistoryField, HistoryId, HistorySubject, HistoryValue, InstallId, KeyId, Limits,
    ManualClock, Message, MessageId, MessageKind, NewAgent, NewFieldDefinition, NewMessage,
    NewRequester, NewTicket, Organization, OrganizationId, Priority, Requester, RequesterId,
    Status, SystemClock, Ticket, TicketId, TicketUpdate, Timestamp, TokenId, ValidationError,
};
pub use helpdesk_store::{
    ConsumerInfo, Cursor, EventBatch, ImportTicket, SearchPage, SearchQuery, SortBy, SortOrder,
    StartFrom,
};
pub use options::{Durability, Options};
pub use principal::{Principal, SystemHandle};

/// A helpdesk database, open. Cheap to clone and shareable across threads; every clone is the
/// same helpdesk. The file stays locked against other owners until the last clone is dropped.
#[derive(Clone, Debug)]
pub struct Helpdesk {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl Helpdesk {
    /// Opens the helpdesk database at `path`, creating it if needed, and returns it with the
    /// system handle. Fails if another handle (in this or another process) owns the file, if the
    /// file is not a helpdesk database (it is left untouched), or if a newer version wrote it.
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<(Helpdesk, SystemHandle)> {
        let store = Store::open(path.as_ref(), &options.store_options())?;
        Ok(Self::assemble(store, options))
    }

    /// Opens a fresh helpdesk in memory (for tests and trials; nothing is kept).
    pub fn open_in_memory(options: Options) -> Result<(Helpdesk, SystemHandle)> {
        let store = Store::open_in_memory(&options.store_options())?;
        Ok(Self::assemble(store, options))
    }

    fn assemble(store: Store, options: Options) -> (Helpdesk, SystemHandle) {
        let helpdesk = Helpdesk {
            inner: Arc::new(Inner {
                store,
                clock: options.clock,
            }),
        };
        let system = SystemHandle {
            helpdesk: helpdesk.clone(),
        };
        (helpdesk, system)
    }

    /// The current time by the helpdesk's clock.
    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    fn store(&self) -> &Store {
        &self.inner.store
    }

    // ---- tickets -------------------------------------------------------------------------

    /// Opens a ticket (with its first message, if given).
    pub fn create_ticket(&self, p: &Principal, ticket: NewTicket) -> Result<Ticket> {
        self.authorize(
            p,
            Need::CreateTicket {
                requester: ticket.requester,
            },
        )?;
        let requester_overreach =
            ticket.assignee.is_some() || !ticket.fields.is_empty() || ticket.status.is_some();
        if matches!(p.actor(), Actor::Requester(_)) && requester_overreach {
            return Err(Error::Denied(Denied::new(
                "a requester cannot set the assignee, status or custom fields",
            )));
        }
        Ok(self.store().create_ticket(self.now(), &p.by, ticket)?)
    }

    /// One ticket. A ticket the principal may not read is reported as not found.
    pub fn ticket(&self, p: &Principal, id: TicketId) -> Result<Ticket> {
        let ticket = self.store().ticket(id)?;
        self.authorize(p, Need::ReadTicket(&ticket))?;
        Ok(ticket)
    }

    /// Changes a ticket if it is still at `expected_version` (see [`Ticket::version`]); otherwise
    /// fails with [`Error::Conflict`] and changes nothing.
    pub fn update_ticket(
        &self,
        p: &Principal,
        id: TicketId,
        expected_version: u64,
        update: TicketUpdate,
    ) -> Result<Ticket> {
        let ticket = self.store().ticket(id)?;
        self.authorize(
            p,
            Need::ChangeTicket {
                ticket: &ticket,
                internal: true,
            },
        )?;
        Ok(self
            .store()
            .update_ticket(self.now(), &p.by, id, expected_version, update)?)
    }

    /// Deletes a ticket and its messages; its history stays.
    pub fn delete_ticket(&self, p: &Principal, id: TicketId) -> Result<()> {
        let ticket = self.store().ticket(id)?;
        self.authorize(
            p,
            Need::ChangeTicket {
                ticket: &ticket,
                internal: true,
            },
        )?;
        self.authorize(p, Need::Admin)?;
        Ok(self.store().delete_ticket(self.now(), &p.by, id)?)
    }

    /// Posts a public reply or an internal note.
    pub fn add_message(
        &self,
        p: &Principal,
        ticket: TicketId,
        message: NewMessage,
    ) -> Result<Message> {
        let t = self.store().ticket(ticket)?;
        let internal = message.kind == MessageKind::Note || message.author.is_some();
        self.authorize(
            p,
            Need::ChangeTicket {
                ticket: &t,
                internal,
            },
        )?;
        Ok(self
            .store()
            .add_message(self.now(), &p.by, ticket, message)?)
    }

    /// The messages of a ticket, oldest first. Requesters see public replies only.
    pub fn messages(&self, p: &Principal, ticket: TicketId) -> Result<Vec<Message>> {
        let t = self.store().ticket(ticket)?;
        self.authorize(p, Need::ReadTicket(&t))?;
        let include_notes = !matches!(p.actor(), Actor::Requester(_));
        Ok(self.store().messages(ticket, include_notes)?)
    }

    /// The audit history of a ticket, oldest first.
    pub fn ticket_history(&self, p: &Principal, ticket: TicketId) -> Result<Vec<HistoryEntry>> {
        let t = self.store().ticket(ticket)?;
        self.authorize(p, Need::ReadTicket(&t))?;
        if let Actor::Requester(_) = p.actor() {
            return Err(Error::Denied(Denied::new(
                "requesters cannot read ticket history",
            )));
        }
        Ok(self.store().history(HistorySubject::Ticket(ticket))?)
    }

    /// The audit history of any subject (agents, departments, deleted tickets...). Administrators only.
    pub fn history(&self, p: &Principal, subject: HistorySubject) -> Result<Vec<HistoryEntry>> {
        self.authorize(p, Need::Admin)?;
        Ok(self.store().history(subject)?)
    }

    /// Searches tickets: full text plus filters, newest first by default, one page at a time.
    /// Only tickets the principal may read are ever returned.
    pub fn search(&self, p: &Principal, query: &SearchQuery) -> Result<SearchPage> {
        let scope = match p.actor() {
            Actor::System => helpdesk_store::SearchScope::All,
            Actor::Agent(_) => {
                self.authorize(p, Need::Agent)?;
                helpdesk_store::SearchScope::All
            }
            Actor::Requester(id) => helpdesk_store::SearchScope::Requester {
                requester: id,
                organization: None,
            },
        };
        Ok(self.store().search(query, &scope)?)
    }

    /// Imports many tickets with their conversations in one transaction: all or nothing.
    /// Administrators only.
    pub fn import_tickets(
        &self,
        p: &Principal,
        tickets: Vec<ImportTicket>,
    ) -> Result<Vec<TicketId>> {
        self.authorize(p, Need::Admin)?;
        Ok(self.store().import_tickets(self.now(), &p.by, tickets)?)
    }

    // ---- people --------------------------------------------------------------------------

    /// Creates an agent. Administrators only.
    pub fn create_agent(&self, p: &Principal, agent: NewAgent) -> Result<Agent> {
        self.authorize(p, Need::Admin)?;
        Ok(self.store().create_agent(self.now(), &p.by, agent)?)
    }

    /// Changes an agent (disable, rename, grant admin). Administrators only.
    pub fn update_agent(&self, p: &Principal, id: AgentId, update: AgentUpdate) -> Result<Agent> {
        self.authorize(p, Need::Admin)?;
        Ok(self.store().update_agent(self.now(), &p.by, id, update)?)
    }

    /// One agent.
    pub fn agent(&self, p: &Principal, id: AgentId) -> Result<Agent> {
        self.authorize(p, Need::Agent)?;
        Ok(self.store().agent(id)?)
    }

    /// Every agent.
    pub fn agents(&self, p: &Principal) -> Result<Vec<Agent>> {
        self.authorize(p, Need::Agent)?;
        Ok(self.store().agents()?)
    }

    /// Creates a department. Administrators only.
    pub fn create_department(&self, p: &Principal, name: &str) -> Result<Department> {
        self.authorize(p, Need::Admin)?;
        Ok(self.store().create_department(self.now(), &p.by, name)?)
    }

    /// Every department.
    pub fn departments(&self, p: &Principal) -> Result<Vec<Department>> {
        self.authorize(p, Need::Agent)?;
        Ok(self.store().departments()?)
    }

    /// Adds an agent to a department. Administrators only.
    pub fn add_member(
        &self,
        p: &Principal,
        department: DepartmentId,
        agent: AgentId,
    ) -> Result<()> {
        self.authorize(p, Need::Admin)?;
        Ok(self
            .store()
            .add_member(self.now(), &p.by, department, agent)?)
    }

    /// Removes an agent from a department; its tickets there are unassigned. Administrators only.
    pub fn remove_member(
        &self,
        p: &Principal,
        department: DepartmentId,
        agent: AgentId,
    ) -> Result<()> {
        self.authorize(p, Need::Admin)?;
        Ok(self
            .store()
            .remove_member(self.now(), &p.by, department, agent)?)
    }

    /// Creates an organisation. Administrators only.
    pub fn create_organization(
        &self,
        p: &Principal,
        name: &str,
        shared_tickets: bool,
    ) -> Result<Organization> {
        self.authorize(p, Need::Admin)?;
        Ok(self
            .store()
            .create_organization(self.now(), &p.by, name, shared_tickets)?)
    }

    /// Every organisation.
    pub fn organizations(&self, p: &Principal) -> Result<Vec<Organization>> {
        self.authorize(p, Need::Agent)?;
        Ok(self.store().organizations()?)
    }

    /// Creates a requester. Administrators only.
    pub fn create_requester(&self, p: &Principal, requester: NewRequester) -> Result<Requester> {
        self.authorize(p, Need::Admin)?;
        Ok(self
            .store()
            .create_requester(self.now(), &p.by, requester)?)
    }

    /// One requester (a requester may read only themselves).
    pub fn requester(&self, p: &Principal, id: RequesterId) -> Result<Requester> {
        if p.actor() != Actor::Requester(id) {
            self.authorize(p, Need::Agent)?;
        }
        Ok(self.store().requester(id)?)
    }

    /// Defines a custom ticket field. Administrators only.
    pub fn create_field(
        &self,
        p: &Principal,
        field: NewFieldDefinition,
    ) -> Result<FieldDefinition> {
        self.authorize(p, Need::Admin)?;
        Ok(self.store().create_field(self.now(), &p.by, field)?)
    }

    /// Every custom field definition.
    pub fn fields(&self, p: &Principal) -> Result<Vec<FieldDefinition>> {
        self.authorize(p, Need::Agent)?;
        Ok(self.store().fields()?)
    }

    // ---- outbox --------------------------------------------------------------------------

    /// Registers a named outbox consumer (idempotent) and returns its cursor. Administrators only.
    pub fn register_consumer(&self, p: &Principal, name: &str, start: StartFrom) -> Result<u64> {
        self.authorize(p, Need::Admin)?;
        Ok(self.store().register_consumer(name, self.now(), start)?)
    }

    /// Removes an outbox consumer. Administrators only.
    pub fn remove_consumer(&self, p: &Principal, name: &str) -> Result<()> {
        self.authorize(p, Need::Admin)?;
        Ok(self.store().remove_consumer(name)?)
    }

    /// The next events for a consumer, at most `limit`, without moving its cursor.
    pub fn read_events(&self, p: &Principal, consumer: &str, limit: usize) -> Result<EventBatch> {
        self.authorize(p, Need::Admin)?;
        Ok(self.store().read_events(consumer, limit)?)
    }

    /// Acknowledges every event up to `seq` for a consumer.
    pub fn ack_events(&self, p: &Principal, consumer: &str, seq: u64) -> Result<()> {
        self.authorize(p, Need::Admin)?;
        Ok(self.store().ack_events(consumer, seq)?)
    }

    /// Every consumer with its cursor and lag.
    pub fn consumers(&self, p: &Principal) -> Result<Vec<ConsumerInfo>> {
        self.authorize(p, Need::Admin)?;
        Ok(self.store().consumers()?)
    }

    // ---- operations ----------------------------------------------------------------------

    /// Writes a consistent copy of the live database to `target` (which must not exist).
    /// Administrators only.
    pub fn backup_to(&self, p: &Principal, target: impl AsRef<Path>) -> Result<()> {
        self.authorize(p, Need::Admin)?;
        Ok(self.store().backup_to(target.as_ref())?)
    }

    /// SQLite's integrity check: `["ok"]` when the database is sound.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        Ok(self.store().integrity_check()?)
    }
}

impl SystemHandle {
    /// Creates the first administrator of an empty database; refused once any agent exists.
    pub fn bootstrap_admin(&self, name: &str, email: &str) -> Result<Agent> {
        let store = self.helpdesk.store();
        if !store.is_empty()? {
            return Err(Error::AlreadyInitialized);
        }
        let agent = NewAgent {
            name: name.into(),
            email: email.into(),
            admin: true,
        };
        Ok(store.create_agent(self.helpdesk.now(), &self.principal().by, agent)?)
    }
}
