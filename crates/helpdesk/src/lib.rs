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
//! desk.add_member(&root, billing.id, ann.id, helpdesk::AccessLevel::Change)?;
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
mod keys;
mod local;
mod options;
mod plugins;
mod policy;
mod principal;

use std::path::Path;
use std::sync::Arc;

use helpdesk_authz::Resource;
use helpdesk_store::Store;

use policy::PolicyCell;

pub use error::{Denied, Error, Result, StorageError};
pub use helpdesk_authz::{Action, Scopes};
pub use helpdesk_domain::{
    AccessLevel, Actor, Agent, AgentId, AgentUpdate, Attribution, Author, Change, Clock,
    Department, DepartmentId, Entity, Event, EventKind, FieldDefinition, FieldId, FieldKind,
    FieldValue, HistoryEntry, HistoryField, HistoryId, HistorySubject, HistoryValue, InstallId,
    KeyId, Limits, ManualClock, Membership, Message, MessageId, MessageKind, NewAgent,
    NewFieldDefinition, NewMessage, NewRequester, NewTicket, Organization, OrganizationId,
    Priority, Reading, Requester, RequesterId, Role, RoleId, Status, SystemClock, Ticket, TicketId,
    TicketUpdate, Timestamp, TokenId, ValidationError,
};
pub use helpdesk_store::{
    ConsumerInfo, Cursor, EventBatch, ImportTicket, SearchPage, SearchQuery, SortBy, SortOrder,
    StartFrom,
};
pub use keys::{
    AccessToken, ActAs, ApiKey, ApiRequest, AuthError, AuthStats, IssuedKey, KeyCode, KeyKind,
    KeyRequest, KeyUpdate, MalformedCredential, MintedToken, Network, NewKey, NewToken,
    RequestOutcome, TicketAttributes,
};
pub use options::{CredentialScheme, Durability, Options, SecretHashing};
pub use plugins::{
    DeadLetter, Delivery, DeliveryOutcome, DeliveryPolicy, Install, InstallState, NewInstall,
    PluginLimits, PluginManifest, SecretKey, SettingSpec, SettingView, Upgrade, WidgetLocation,
    wasm_hash,
};
pub use principal::{Principal, SystemHandle};

/// A helpdesk database, open. Cheap to clone and shareable across threads; every clone is the
/// same helpdesk. The file stays locked against other owners until the last clone is dropped.
#[derive(Clone, Debug)]
pub struct Helpdesk {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Tells this helpdesk's copies in each thread's [`local`] storage from another's.
    instance: u64,
    store: Store,
    clock: Arc<dyn Clock>,
    policy: PolicyCell,
    keys: keys::KeyState,
}

impl Helpdesk {
    /// Opens the helpdesk database at `path`, creating it if the path does not exist or names an
    /// empty file, and returns it with the system handle. Fails if another handle (in this or
    /// another process) owns the file, by this name or through a symlink ([`Error::InUse`]), if
    /// the file has several names ([`Error::HardLinked`]), if the file is not a helpdesk database
    /// ([`Error::NotOurs`]; it is left untouched), or if a newer version wrote it.
    pub fn open(path: impl AsRef<Path>, options: Options) -> Result<(Helpdesk, SystemHandle)> {
        let store = Store::open(path.as_ref(), &options.store_options())?;
        Self::assemble(store, options)
    }

    /// Opens a fresh helpdesk in memory (for tests and trials; nothing is kept).
    pub fn open_in_memory(options: Options) -> Result<(Helpdesk, SystemHandle)> {
        let store = Store::open_in_memory(&options.store_options())?;
        Self::assemble(store, options)
    }

    fn assemble(store: Store, options: Options) -> Result<(Helpdesk, SystemHandle)> {
        let policy = PolicyCell::load(&store)?;
        let keys = keys::KeyState::load(&store, &options)?;
        let helpdesk = Helpdesk {
            inner: Arc::new(Inner {
                instance: local::new_instance(),
                store,
                clock: options.clock,
                policy,
                keys,
            }),
        };
        let system = SystemHandle {
            helpdesk: helpdesk.clone(),
        };
        Ok((helpdesk, system))
    }

    /// The current time by the helpdesk's clock.
    pub fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    fn store(&self) -> &Store {
        &self.inner.store
    }

    /// Rebuilds the permission policy after a change that affects it; the very next decision
    /// uses the new one.
    fn policy_changed<T>(&self, value: T) -> Result<T> {
        self.inner.policy.refresh(self.store())?;
        Ok(value)
    }

    /// Hides agent-only custom fields from principals that may not see them.
    fn redact(&self, p: &Principal, mut tickets: Vec<Ticket>) -> Result<Vec<Ticket>> {
        if p.sees_internal() || tickets.iter().all(|t| t.fields.is_empty()) {
            return Ok(tickets);
        }
        let hidden: Vec<String> = self
            .store()
            .fields()?
            .into_iter()
            .filter(|f| f.agent_only)
            .map(|f| f.key)
            .collect();
        for ticket in &mut tickets {
            ticket.fields.retain(|key, _| !hidden.contains(key));
        }
        Ok(tickets)
    }

    fn redact_one(&self, p: &Principal, ticket: Ticket) -> Result<Ticket> {
        let mut one = self.redact(p, vec![ticket])?;
        one.pop()
            .ok_or_else(|| Error::Invalid(ValidationError::Empty { field: "ticket" }))
    }

    // ---- tickets -------------------------------------------------------------------------

    /// Opens a ticket (with its first message, if given). Needs `tickets.create` in the
    /// department, and `tickets.assign`, `tickets.status`, `tickets.update` or `tickets.note` when
    /// the input sets an assignee, a status, custom fields or starts with a note.
    pub fn create_ticket(&self, p: &Principal, ticket: NewTicket) -> Result<Ticket> {
        self.authorize_new_ticket(p, &ticket)?;
        let created = self.store().create_ticket(self.now(), &p.by, ticket)?;
        self.redact_one(p, created)
    }

    /// One ticket. A ticket the principal may not read is reported as not found.
    pub fn ticket(&self, p: &Principal, id: TicketId) -> Result<Ticket> {
        let ticket = self.readable_ticket(p, id)?;
        self.redact_one(p, ticket)
    }

    /// Changes a ticket if it is still at `expected_version` (see [`Ticket::version`]); otherwise
    /// fails with [`Error::Conflict`] and changes nothing. Needs `tickets.update` for subject,
    /// priority, tags, custom fields and department (and `tickets.create` in the new department),
    /// `tickets.assign` for the assignee and `tickets.status` for the status.
    pub fn update_ticket(
        &self,
        p: &Principal,
        id: TicketId,
        expected_version: u64,
        update: TicketUpdate,
    ) -> Result<Ticket> {
        let ticket = self.readable_ticket(p, id)?;
        if ticket.version != expected_version {
            return Err(Error::Conflict {
                ticket: id,
                expected: expected_version,
                actual: ticket.version,
            });
        }
        let fields_change = update.subject.is_some()
            || update.priority.is_some()
            || update.department.is_some()
            || !update.add_tags.is_empty()
            || !update.remove_tags.is_empty()
            || !update.fields.is_empty();
        if fields_change {
            self.authorize_ticket(p, Action::TicketUpdate, &ticket)?;
        }
        if let Some(department) = update.department.filter(|d| *d != ticket.department) {
            self.authorize(
                p,
                Action::TicketCreate,
                &Resource::NewTicket {
                    department,
                    requester: ticket.requester,
                },
            )?;
        }
        if update.assignee.is_some() {
            self.authorize_ticket(p, Action::TicketAssign, &ticket)?;
        }
        if update.status.is_some() {
            self.authorize_ticket(p, Action::TicketStatus, &ticket)?;
        }
        let updated =
            self.store()
                .update_ticket(self.now(), &p.by, id, expected_version, update)?;
        self.redact_one(p, updated)
    }

    /// Deletes a ticket and its messages; its history stays. Needs `tickets.delete` (the `full`
    /// level in the ticket's department).
    pub fn delete_ticket(&self, p: &Principal, id: TicketId) -> Result<()> {
        let ticket = self.readable_ticket(p, id)?;
        self.authorize_ticket(p, Action::TicketDelete, &ticket)?;
        Ok(self.store().delete_ticket(self.now(), &p.by, id)?)
    }

    /// Posts a public reply (`tickets.reply`) or an internal note (`tickets.note`).
    pub fn add_message(
        &self,
        p: &Principal,
        ticket: TicketId,
        message: NewMessage,
    ) -> Result<Message> {
        let t = self.readable_ticket(p, ticket)?;
        self.authorize_message(
            p,
            message.kind,
            message.author,
            &Resource::Ticket(guard::attrs(&t)),
            t.requester,
        )?;
        Ok(self
            .store()
            .add_message(self.now(), &p.by, ticket, message)?)
    }

    /// The messages of a ticket, oldest first. Internal notes only for agents and the system.
    pub fn messages(&self, p: &Principal, ticket: TicketId) -> Result<Vec<Message>> {
        self.readable_ticket(p, ticket)?;
        Ok(self.store().messages(ticket, p.sees_internal())?)
    }

    /// The audit history of a ticket, oldest first (agents and the system only).
    pub fn ticket_history(&self, p: &Principal, ticket: TicketId) -> Result<Vec<HistoryEntry>> {
        self.readable_ticket(p, ticket)?;
        if !p.sees_internal() {
            return Err(Error::Denied(Denied::rule(
                "requesters cannot read ticket history",
            )));
        }
        Ok(self.store().history(HistorySubject::Ticket(ticket))?)
    }

    /// The audit history of any record, oldest first. Needs the read permission of that kind of
    /// record (`agents.read`, `departments.read`, `requesters.read`), `fields.manage` for fields,
    /// `roles.manage` for roles; for a ticket the right to read it, and for a deleted ticket
    /// `agents.manage`.
    pub fn history(&self, p: &Principal, subject: HistorySubject) -> Result<Vec<HistoryEntry>> {
        let action = match subject {
            HistorySubject::Ticket(id) => match self.ticket_history(p, id) {
                Err(Error::NotFound { .. }) if self.store().ticket(id).is_err() => {
                    Action::AgentManage
                }
                other => return other,
            },
            HistorySubject::Agent(_) => Action::AgentRead,
            HistorySubject::Department(_) => Action::DepartmentRead,
            HistorySubject::Requester(_) | HistorySubject::Organization(_) => Action::RequesterRead,
            HistorySubject::Field(_) => Action::FieldManage,
            HistorySubject::Role(_) => Action::RoleManage,
            HistorySubject::Key(_) => Action::KeyManage,
        };
        self.authorize_global(p, action)?;
        Ok(self.store().history(subject)?)
    }

    /// Searches tickets: full text plus filters, newest first by default, one page at a time.
    /// The principal's reach is part of the query: out-of-reach tickets never appear, and
    /// requesters never match through internal notes.
    pub fn search(&self, p: &Principal, query: &SearchQuery) -> Result<SearchPage> {
        let scope = self.search_scope(p);
        let mut page = self.store().search(query, &scope)?;
        page.tickets = self.redact(p, page.tickets)?;
        Ok(page)
    }

    /// Imports many tickets with their conversations in one transaction: all or nothing. Each
    /// ticket is authorized as if it were created on its own.
    pub fn import_tickets(
        &self,
        p: &Principal,
        tickets: Vec<ImportTicket>,
    ) -> Result<Vec<TicketId>> {
        for t in &tickets {
            self.authorize_new_ticket(p, &t.ticket)?;
            let future = Resource::Ticket(helpdesk_authz::TicketAttrs {
                department: t.ticket.department,
                assignee: t.ticket.assignee,
                requester: t.ticket.requester,
                requester_organization: None,
            });
            for m in &t.messages {
                self.authorize_message(p, m.kind, m.author, &future, t.ticket.requester)?;
            }
        }
        Ok(self.store().import_tickets(self.now(), &p.by, tickets)?)
    }

    // ---- people --------------------------------------------------------------------------

    /// Creates an agent with the built-in `agent` role (`agents.manage`; only administrators may
    /// create administrators).
    pub fn create_agent(&self, p: &Principal, agent: NewAgent) -> Result<Agent> {
        self.authorize_global(p, Action::AgentManage)?;
        if agent.admin {
            self.require_admin(p)?;
        }
        let created = self.store().create_agent(self.now(), &p.by, agent)?;
        self.policy_changed(created)
    }

    /// Changes an agent: name, email, enabled, only-assigned (`agents.manage`; only
    /// administrators may grant or take away administrator rights).
    pub fn update_agent(&self, p: &Principal, id: AgentId, update: AgentUpdate) -> Result<Agent> {
        self.authorize_global(p, Action::AgentManage)?;
        if update.admin.is_some() {
            self.require_admin(p)?;
        }
        let updated = self.store().update_agent(self.now(), &p.by, id, update)?;
        self.policy_changed(updated)
    }

    /// Replaces an agent's roles (`roles.manage`).
    pub fn set_agent_roles(&self, p: &Principal, id: AgentId, roles: &[RoleId]) -> Result<Agent> {
        self.authorize_global(p, Action::RoleManage)?;
        let updated = self.store().set_agent_roles(self.now(), &p.by, id, roles)?;
        self.policy_changed(updated)
    }

    /// One agent (`agents.read`).
    pub fn agent(&self, p: &Principal, id: AgentId) -> Result<Agent> {
        self.authorize_global(p, Action::AgentRead)?;
        Ok(self.store().agent(id)?)
    }

    /// Every agent (`agents.read`).
    pub fn agents(&self, p: &Principal) -> Result<Vec<Agent>> {
        self.authorize_global(p, Action::AgentRead)?;
        Ok(self.store().agents()?)
    }

    /// Creates a role from scope names such as `tickets.read` (`roles.manage`).
    pub fn create_role(&self, p: &Principal, name: &str, permissions: &[&str]) -> Result<Role> {
        self.authorize_global(p, Action::RoleManage)?;
        let permissions = scope_names(permissions)?;
        let role = self
            .store()
            .create_role(self.now(), &p.by, name, &permissions)?;
        self.policy_changed(role)
    }

    /// Replaces a custom role's permissions (`roles.manage`); built-in roles cannot change.
    pub fn update_role(&self, p: &Principal, id: RoleId, permissions: &[&str]) -> Result<Role> {
        self.authorize_global(p, Action::RoleManage)?;
        let permissions = scope_names(permissions)?;
        let role = self
            .store()
            .update_role(self.now(), &p.by, id, &permissions)?;
        self.policy_changed(role)
    }

    /// Deletes a custom role (`roles.manage`); its agents lose it at once.
    pub fn delete_role(&self, p: &Principal, id: RoleId) -> Result<()> {
        self.authorize_global(p, Action::RoleManage)?;
        self.store().delete_role(self.now(), &p.by, id)?;
        self.policy_changed(())
    }

    /// Every role, built-in ones with the permissions this version gives them (`agents.read`).
    pub fn roles(&self, p: &Principal) -> Result<Vec<Role>> {
        self.authorize_global(p, Action::AgentRead)?;
        let builtins = helpdesk_authz::Role::builtins();
        let mut roles = self.store().roles()?;
        for role in roles.iter_mut().filter(|r| r.builtin) {
            if let Some(b) = builtins.iter().find(|b| b.id == role.id) {
                role.permissions = b.permissions.iter().map(|a| a.name().to_owned()).collect();
            }
        }
        Ok(roles)
    }

    /// Creates a department (`departments.manage`).
    pub fn create_department(&self, p: &Principal, name: &str) -> Result<Department> {
        self.authorize_global(p, Action::DepartmentManage)?;
        let created = self.store().create_department(self.now(), &p.by, name)?;
        self.policy_changed(created)
    }

    /// Every department (`departments.read`).
    pub fn departments(&self, p: &Principal) -> Result<Vec<Department>> {
        self.authorize_global(p, Action::DepartmentRead)?;
        Ok(self.store().departments()?)
    }

    /// Makes an agent a member of a department at `level`, or changes its level there
    /// (`departments.manage`). Below `change`, its tickets there are unassigned.
    pub fn add_member(
        &self,
        p: &Principal,
        department: DepartmentId,
        agent: AgentId,
        level: AccessLevel,
    ) -> Result<()> {
        self.authorize_global(p, Action::DepartmentManage)?;
        self.store()
            .add_member(self.now(), &p.by, department, agent, level)?;
        self.policy_changed(())
    }

    /// Removes an agent from a department; its tickets there are unassigned (`departments.manage`).
    pub fn remove_member(
        &self,
        p: &Principal,
        department: DepartmentId,
        agent: AgentId,
    ) -> Result<()> {
        self.authorize_global(p, Action::DepartmentManage)?;
        self.store()
            .remove_member(self.now(), &p.by, department, agent)?;
        self.policy_changed(())
    }

    /// Creates an organisation; with `shared_tickets` its requesters see each other's tickets
    /// (`requesters.manage`).
    pub fn create_organization(
        &self,
        p: &Principal,
        name: &str,
        shared_tickets: bool,
    ) -> Result<Organization> {
        self.authorize_global(p, Action::RequesterManage)?;
        let created = self
            .store()
            .create_organization(self.now(), &p.by, name, shared_tickets)?;
        self.policy_changed(created)
    }

    /// Every organisation (`requesters.read`).
    pub fn organizations(&self, p: &Principal) -> Result<Vec<Organization>> {
        self.authorize_global(p, Action::RequesterRead)?;
        Ok(self.store().organizations()?)
    }

    /// Creates a requester (`requesters.manage`).
    pub fn create_requester(&self, p: &Principal, requester: NewRequester) -> Result<Requester> {
        self.authorize_global(p, Action::RequesterManage)?;
        Ok(self
            .store()
            .create_requester(self.now(), &p.by, requester)?)
    }

    /// One requester (`requesters.read`; a requester may always read themselves).
    pub fn requester(&self, p: &Principal, id: RequesterId) -> Result<Requester> {
        if p.actor() != Actor::Requester(id) {
            self.authorize_global(p, Action::RequesterRead)?;
        }
        Ok(self.store().requester(id)?)
    }

    /// Defines a custom ticket field (`fields.manage`).
    pub fn create_field(
        &self,
        p: &Principal,
        field: NewFieldDefinition,
    ) -> Result<FieldDefinition> {
        self.authorize_global(p, Action::FieldManage)?;
        Ok(self.store().create_field(self.now(), &p.by, field)?)
    }

    /// The custom field definitions the principal may see (requesters: not agent-only ones).
    pub fn fields(&self, p: &Principal) -> Result<Vec<FieldDefinition>> {
        let mut fields = self.store().fields()?;
        if !p.sees_internal() {
            fields.retain(|f| !f.agent_only);
        }
        Ok(fields)
    }

    // ---- outbox --------------------------------------------------------------------------

    /// Registers a named outbox consumer (idempotent) and returns its cursor (`events.read`).
    pub fn register_consumer(&self, p: &Principal, name: &str, start: StartFrom) -> Result<u64> {
        self.authorize_global(p, Action::EventRead)?;
        Ok(self.store().register_consumer(name, self.now(), start)?)
    }

    /// Removes an outbox consumer (`events.read`).
    pub fn remove_consumer(&self, p: &Principal, name: &str) -> Result<()> {
        self.authorize_global(p, Action::EventRead)?;
        Ok(self.store().remove_consumer(name)?)
    }

    /// The next events for a consumer, at most `limit`, without moving its cursor
    /// (`events.read`). Events about tickets the principal may not read are left out; they are
    /// still passed over when the consumer acknowledges.
    pub fn read_events(&self, p: &Principal, consumer: &str, limit: usize) -> Result<EventBatch> {
        self.authorize_global(p, Action::EventRead)?;
        let mut batch = self.store().read_events(consumer, limit)?;
        if p.actor() != Actor::System {
            batch.events.retain(|e| self.event_visible(p, e));
        }
        Ok(batch)
    }

    /// Whether an event's ticket is in the principal's reach (the ticket as it is now, or, once
    /// deleted, its department at the time).
    fn event_visible(&self, p: &Principal, event: &Event) -> bool {
        let Some(id) = event.ticket else { return true };
        match self.store().ticket(id) {
            Ok(ticket) => self.may_read(p, &ticket),
            Err(_) => match (self.search_scope(p), event.department) {
                (helpdesk_store::SearchScope::All, _) => true,
                (
                    helpdesk_store::SearchScope::Departments {
                        departments,
                        assigned_to: None,
                    },
                    Some(d),
                ) => departments.contains(&d),
                _ => false,
            },
        }
    }

    /// Acknowledges every event up to `seq` for a consumer (`events.read`).
    pub fn ack_events(&self, p: &Principal, consumer: &str, seq: u64) -> Result<()> {
        self.authorize_global(p, Action::EventRead)?;
        Ok(self.store().ack_events(consumer, seq)?)
    }

    /// Every consumer with its cursor and lag (`events.read`).
    pub fn consumers(&self, p: &Principal) -> Result<Vec<ConsumerInfo>> {
        self.authorize_global(p, Action::EventRead)?;
        Ok(self.store().consumers()?)
    }

    // ---- operations ----------------------------------------------------------------------

    /// SQLite's integrity check: `["ok"]` when the database is sound. It runs on a connection
    /// opened for it, so it sees the file as it is now.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        Ok(self.store().integrity_check()?)
    }
}

/// Validates scope names and returns them in canonical order.
fn scope_names(names: &[&str]) -> Result<Vec<String>> {
    let scopes = Scopes::parse(names.iter().copied()).map_err(|e| {
        Error::Invalid(ValidationError::Malformed {
            field: "permissions",
            reason: e.to_string(),
        })
    })?;
    Ok(scopes.iter().map(|a| a.name().to_owned()).collect())
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
        let created = store.create_agent(self.helpdesk.now(), &self.principal().by, agent)?;
        self.helpdesk.policy_changed(created)
    }

    /// Writes a consistent copy of the live database to `target` (which must not exist), while
    /// the helpdesk stays in use. An operation of the embedding application.
    pub fn backup_to(&self, target: impl AsRef<Path>) -> Result<()> {
        Ok(self.helpdesk.store().backup_to(target.as_ref())?)
    }
}
