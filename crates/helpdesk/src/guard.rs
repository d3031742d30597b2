//! The one place where every operation asks whether its principal may proceed, before anything
//! touches storage: every decision of the form "may this principal do or see this" is made here,
//! by asking the permission engine (`helpdesk-authz`) or by a rule written out below. Facade
//! methods start with [`Helpdesk::guard`] and ask the [`Guard`]; none reads the policy another
//! way, edits a principal's `Subject`, or falls back to another right when a read fails.
//!
//! The rules, besides the engine's (docs/permissions.md says the same for people):
//! - **Not found means not found.** What a principal may not read is reported exactly like what
//!   does not exist: a ticket out of reach (existing, deleted or never there), a key its holder
//!   could not have issued, someone else's token, someone else's outbox consumer.
//! - **A held principal stays as good as its credential.** A principal that came through a key
//!   is refused once that key was deleted, regenerated, disabled, changed or expired, or its
//!   token revoked or expired ([`Error::Revoked`]).
//! - **Nobody reaches above themselves.** Only administrators make, change or assign roles to
//!   administrators; a non-administrator hands out only the permissions it holds (roles, plugin
//!   grants); key administration reaches only the keys its holder could have issued; an outbox
//!   consumer belongs to whoever registered it, and the core's own queues to nobody else.
//! - **App identities act only through their install.** A plugin's app identity is never signed
//!   in as (no act-as, default agent, token or key bound to it) and changes only with its install.
//! - **Requesters see their side only**: no notes, history, agent-only fields, or credentials
//!   behind a message, and they set no priority, tags, status, assignee or fields.

use std::sync::Arc;

use helpdesk_authz::{
    Action, Decision, DenyReason, Policy, Reach, Resource, Restriction, Scopes, Subject,
    TicketAttrs,
};
use helpdesk_domain::{
    ActAs, Actor, AgentId, AgentUpdate, Author, DeletedTicket, Entity, Event, EventKind,
    FieldDefinition, HistorySubject, InstallId, KeyId, KeyKind, Message, MessageKind, NewTicket,
    RequesterId, Ticket, TicketId, TicketUpdate, Timestamp, TokenId,
};
use helpdesk_store::{ConsumerOwner, InstallRecord, KeyRecord, SearchScope, TokenRecord};

use crate::Helpdesk;
use crate::error::{Denied, Error, Result};
use crate::keys::AuthError;
use crate::keys::state::KeySnap;
use crate::local::Local;
use crate::principal::{Held, Principal};

/// The attributes of a ticket that decisions depend on.
pub(crate) fn attrs(ticket: &Ticket) -> TicketAttrs {
    TicketAttrs {
        department: ticket.department,
        assignee: ticket.assignee,
        requester: ticket.requester,
        requester_organization: ticket.organization,
    }
}

/// The attributes a deleted ticket had. A requester that is no longer known matches no
/// requester's reach (id 0 is never assigned).
fn deleted_attrs(ticket: &DeletedTicket) -> TicketAttrs {
    TicketAttrs {
        department: ticket.department,
        assignee: ticket.assignee,
        requester: ticket.requester.unwrap_or(RequesterId::new(0)),
        requester_organization: ticket.organization,
    }
}

fn rule(reason: &'static str) -> Error {
    Error::Denied(Denied::rule(reason))
}

fn not_found(entity: Entity, key: impl ToString) -> Error {
    Error::NotFound {
        entity,
        key: key.to_string(),
    }
}

/// What reading every event of the outbox takes, besides being the system or an administrator.
const READS_EVERY_EVENT: Scopes = Scopes::of(&[
    Action::EventRead,
    Action::TicketRead,
    Action::AgentRead,
    Action::RequesterRead,
    Action::DepartmentRead,
    Action::KeyManage,
    Action::PluginManage,
]);

impl Helpdesk {
    /// Where every facade call starts: checks that `p`'s credential still holds and takes the
    /// policy in force for the whole call.
    pub(crate) fn guard<'h>(&'h self, p: &'h Principal) -> Result<Guard<'h>> {
        let policy = self.with_local(|local| {
            credential_holds(local, p, &*self.inner.clock).then(|| local.policy.clone())
        });
        let policy = policy.ok_or(Error::Revoked)?;
        Ok(Guard {
            helpdesk: self,
            p,
            policy,
        })
    }

    /// Whether a request may act as agent `id` at all: it exists, is active and is not a
    /// plugin's app identity.
    pub(crate) fn may_sign_in(&self, id: AgentId) -> Result<()> {
        self.with_local(|local| match local.policy.may_sign_in(id) {
            Ok(()) => Ok(()),
            Err(helpdesk_authz::DenyReason::UnknownAgent { .. }) => {
                Err(not_found(Entity::Agent, id))
            }
            Err(reason) => Err(Error::Denied(crate::error::engine_denied(
                reason,
                local.policy.clone(),
            ))),
        })
    }
}

/// [`Helpdesk::decide`]'s answer from this thread's copy of the tables, in nanoseconds: the
/// engine's decision for a principal whose credential still holds.
#[inline]
pub(crate) fn decide(
    local: &Local,
    p: &Principal,
    action: Action,
    resource: &Resource,
    clock: &dyn helpdesk_domain::Clock,
) -> std::result::Result<(), Denied> {
    if !credential_holds(local, p, clock) {
        return Err(Denied::rule(
            "the key or access token of this principal was changed, revoked or has expired",
        ));
    }
    match local.policy.decide(&p.subject, action, resource) {
        Decision::Allow => Ok(()),
        Decision::Deny(reason) => Err(crate::error::engine_denied(reason, local.policy.clone())),
    }
}

/// Who a request through key `key` of `kind` acts as, given the person it names: an agent key
/// its own agent only; a superuser key the person named, else its default agent.
#[inline]
pub(crate) fn key_person(
    key: KeyId,
    kind: KeyKind,
    act_as: Option<ActAs>,
) -> std::result::Result<ActAs, AuthError> {
    match (kind, act_as) {
        (KeyKind::Agent { agent }, None) => Ok(ActAs::Agent(agent)),
        (KeyKind::Agent { agent }, Some(ActAs::Agent(named))) if named == agent => {
            Ok(ActAs::Agent(agent))
        }
        (KeyKind::Agent { .. }, Some(person)) => Err(AuthError::ActAsNotAllowed { key, person }),
        (KeyKind::Superuser { .. }, Some(person)) => Ok(person),
        (
            KeyKind::Superuser {
                default_agent: Some(agent),
            },
            None,
        ) => Ok(ActAs::Agent(agent)),
        (
            KeyKind::Superuser {
                default_agent: None,
            },
            None,
        ) => Err(AuthError::NoAgentToActAs { key }),
    }
}

/// A request with access token `token` acts as the person it was minted for, and no other.
#[inline]
pub(crate) fn token_person(
    token: TokenId,
    own: ActAs,
    act_as: Option<ActAs>,
) -> std::result::Result<(), AuthError> {
    match act_as {
        Some(person) if person != own => Err(AuthError::TokenCannotActAs { token, person }),
        _ => Ok(()),
    }
}

/// Whether a request may act as `agent` by `policy`: it exists, is active (so disabling an
/// agent takes effect at once) and is not a plugin's app identity.
#[inline]
pub(crate) fn request_may_act_as(
    policy: &Policy,
    agent: AgentId,
) -> std::result::Result<(), AuthError> {
    match policy.may_sign_in(agent) {
        Ok(()) => Ok(()),
        Err(DenyReason::AgentDisabled { .. }) => Err(AuthError::AgentDisabled { agent }),
        Err(DenyReason::AppIdentity { .. }) => Err(AuthError::AppIdentity { agent }),
        Err(_) => Err(AuthError::UnknownPerson {
            person: ActAs::Agent(agent),
        }),
    }
}

/// Whether key `kind` may mint an access token for `person`: an agent key for its own agent
/// only, a superuser key for anyone (whom the token may then act as).
pub(crate) fn key_mints_for(kind: KeyKind, person: ActAs) -> Result<()> {
    match kind {
        KeyKind::Agent { agent } if person != ActAs::Agent(agent) => Err(rule(
            "an agent key mints access tokens for its own agent only",
        )),
        _ => Ok(()),
    }
}

/// Whether the key (and token) `p` came through still grant what they granted when `p` was
/// made: while the tables have not moved since, they do (only expiry is left to check);
/// otherwise the key must be in the table under the same revision and enabled, and the token
/// live. Principals without a key always hold.
#[inline]
pub(crate) fn credential_holds(
    local: &Local,
    p: &Principal,
    clock: &dyn helpdesk_domain::Clock,
) -> bool {
    // The common case in one comparison each: the tables have not moved, nothing expires.
    (local.keys_version == p.held.tables && p.held.until == i64::MAX)
        || credential_checked(local, p, clock)
}

/// [`credential_holds`] once the tables moved or the credential expires: the key in the
/// tables, and the clock.
#[inline(never)]
fn credential_checked(local: &Local, p: &Principal, clock: &dyn helpdesk_domain::Clock) -> bool {
    let Some(key) = p.subject.key else {
        return true;
    };
    if local.keys_version != p.held.tables && !credential_in_tables(local, p, key.id) {
        return false;
    }
    p.held.until == i64::MAX || {
        let at = Timestamp::from_millis(p.held.until);
        clock
            .recent()
            .before(at)
            .unwrap_or_else(|| clock.now() < at)
    }
}

/// Whether the key (and token) of `p` are in the tables as they were when `p` was made.
fn credential_in_tables(local: &Local, p: &Principal, key: KeyId) -> bool {
    let Some(snap) = local.keys.get(&key).map(|entry| &*entry.snap) else {
        return false;
    };
    let token_live = p.subject.token.is_none_or(|token| {
        local
            .tokens
            .get(&token.id)
            .is_some_and(|t| t.key == key && t.key_generation == snap.generation)
    });
    snap.revision == p.held.revision && snap.enabled && token_live
}

/// One call's view of its principal: the policy in force, and every rule.
pub(crate) struct Guard<'h> {
    helpdesk: &'h Helpdesk,
    p: &'h Principal,
    policy: Arc<Policy>,
}

impl Guard<'_> {
    fn decide(&self, action: Action, resource: &Resource) -> Decision {
        self.policy.decide(&self.p.subject, action, resource)
    }

    fn allowed(&self, action: Action) -> bool {
        self.decide(action, &Resource::Global).is_allowed()
    }

    /// Asks the engine; a denial carries the engine's reason.
    pub(crate) fn allow(&self, action: Action, resource: &Resource) -> Result<()> {
        match self.decide(action, resource) {
            Decision::Allow => Ok(()),
            Decision::Deny(reason) => Err(Error::Denied(crate::error::engine_denied(
                reason,
                self.policy.clone(),
            ))),
        }
    }

    /// An action that needs no particular resource (administration, directories).
    pub(crate) fn allow_global(&self, action: Action) -> Result<()> {
        self.allow(action, &Resource::Global)
    }

    /// Whether the principal is an administrator: the system, or an agent with the admin flag
    /// (whatever its credentials narrow it to).
    pub(crate) fn is_admin(&self) -> bool {
        match self.p.actor() {
            Actor::System => true,
            Actor::Agent(id) => self.policy.is_admin(id),
            Actor::Requester(_) => false,
        }
    }

    /// Every permission the principal holds before department levels: what it could hand out.
    pub(crate) fn holds(&self) -> Scopes {
        let own = match self.p.actor() {
            Actor::System => Scopes::ALL,
            Actor::Agent(id) => self.policy.permissions(id),
            Actor::Requester(_) => Scopes::EMPTY,
        };
        own & self.p.subject.layer_scopes()
    }

    /// The principal is an administrator, else `reason`.
    fn admin_or(&self, reason: &'static str) -> Result<()> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(rule(reason))
        }
    }

    // ---- tickets -------------------------------------------------------------------------

    /// Whether the principal may read `ticket`.
    pub(crate) fn may_read(&self, ticket: &Ticket) -> bool {
        self.decide(Action::TicketRead, &Resource::Ticket(attrs(ticket)))
            .is_allowed()
    }

    /// Loads a ticket the principal may read. One out of reach is reported exactly like one that
    /// does not exist, so its existence does not leak.
    pub(crate) fn readable_ticket(&self, id: TicketId) -> Result<Ticket> {
        let ticket = self.helpdesk.store().ticket(id)?;
        if self.may_read(&ticket) {
            Ok(ticket)
        } else {
            Err(not_found(Entity::Ticket, id))
        }
    }

    /// `action` on a ticket the caller has already read.
    pub(crate) fn on_ticket(&self, action: Action, ticket: &Ticket) -> Result<()> {
        self.allow(action, &Resource::Ticket(attrs(ticket)))
    }

    /// Everything opening `ticket` asks for: create in the department, and assign, set the
    /// status, set the priority, tags or custom fields, or write a note when the input does.
    pub(crate) fn new_ticket(&self, ticket: &NewTicket) -> Result<()> {
        self.allow(
            Action::TicketCreate,
            &Resource::NewTicket {
                department: ticket.department,
                requester: ticket.requester,
            },
        )?;
        let future = Resource::Ticket(TicketAttrs {
            department: ticket.department,
            assignee: ticket.assignee,
            requester: ticket.requester,
            requester_organization: None,
        });
        if ticket.assignee.is_some() {
            self.allow(Action::TicketAssign, &future)?;
        }
        if ticket.status.is_some() {
            self.allow(Action::TicketStatus, &future)?;
        }
        if ticket.priority.is_some() || !ticket.tags.is_empty() || !ticket.fields.is_empty() {
            self.allow(Action::TicketUpdate, &future)?;
        }
        if let Some(message) = &ticket.message {
            self.message(message.kind, message.author, &future, ticket.requester)?;
        }
        Ok(())
    }

    /// What changing `ticket` by `update` asks for: `tickets.update` for subject, priority,
    /// tags, custom fields and department (and `tickets.create` in a new department),
    /// `tickets.assign` for the assignee and `tickets.status` for the status.
    pub(crate) fn ticket_update(&self, ticket: &Ticket, update: &TicketUpdate) -> Result<()> {
        let fields_change = update.subject.is_some()
            || update.priority.is_some()
            || update.department.is_some()
            || !update.add_tags.is_empty()
            || !update.remove_tags.is_empty()
            || !update.fields.is_empty();
        if fields_change {
            self.on_ticket(Action::TicketUpdate, ticket)?;
        }
        if let Some(department) = update.department.filter(|d| *d != ticket.department) {
            self.allow(
                Action::TicketCreate,
                &Resource::NewTicket {
                    department,
                    requester: ticket.requester,
                },
            )?;
        }
        if update.assignee.is_some() {
            self.on_ticket(Action::TicketAssign, ticket)?;
        }
        if update.status.is_some() {
            self.on_ticket(Action::TicketStatus, ticket)?;
        }
        Ok(())
    }

    /// A reply needs `tickets.reply`, a note `tickets.note`. Writing in someone else's name is
    /// for the system, or for an agent who may update the ticket recording the requester's words.
    pub(crate) fn message(
        &self,
        kind: MessageKind,
        author: Option<Author>,
        resource: &Resource,
        requester: RequesterId,
    ) -> Result<()> {
        let action = match kind {
            MessageKind::Reply => Action::TicketReply,
            MessageKind::Note => Action::TicketNote,
        };
        self.allow(action, resource)?;
        let actor = self.p.actor();
        let own = match (actor, author) {
            (_, None) => true,
            (Actor::Agent(a), Some(Author::Agent(b))) => a == b,
            (Actor::Requester(a), Some(Author::Requester(b))) => a == b,
            _ => false,
        };
        match (own, actor, author) {
            (true, _, _) | (_, Actor::System, _) => Ok(()),
            (false, Actor::Agent(_), Some(Author::Requester(r))) if r == requester => {
                self.allow(Action::TicketUpdate, resource)
            }
            _ => Err(rule("only the system may write in another person's name")),
        }
    }

    /// The principal's reach as a search scope, so out-of-reach tickets never enter a page.
    pub(crate) fn search_scope(&self) -> SearchScope {
        match self.policy.reach(&self.p.subject) {
            Reach::All => SearchScope::All,
            Reach::Departments {
                departments,
                only_assigned_to,
            } => SearchScope::Departments {
                departments: departments.iter().collect(),
                assigned_to: only_assigned_to,
            },
            Reach::Requester { id, organization } => SearchScope::Requester {
                requester: id,
                organization,
            },
            Reach::Nothing(_) => SearchScope::Nothing,
        }
    }

    /// Whether the principal sees internal notes, history and agent-only fields.
    pub(crate) fn sees_internal(&self) -> bool {
        self.p.sees_internal()
    }

    /// Hides what requesters may not see of tickets: agent-only custom fields.
    pub(crate) fn redact_tickets(&self, mut tickets: Vec<Ticket>) -> Result<Vec<Ticket>> {
        if self.sees_internal() || tickets.iter().all(|t| t.fields.is_empty()) {
            return Ok(tickets);
        }
        let hidden: Vec<String> = self
            .helpdesk
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

    /// [`redact_tickets`](Self::redact_tickets) for one ticket.
    pub(crate) fn redact_ticket(&self, ticket: Ticket) -> Result<Ticket> {
        let id = ticket.id;
        self.redact_tickets(vec![ticket])?
            .pop()
            .ok_or_else(|| not_found(Entity::Ticket, id))
    }

    /// Hides what requesters may not see of messages: the key, token and install a message was
    /// posted through (internal notes are never read for them).
    pub(crate) fn redact_messages(&self, mut messages: Vec<Message>) -> Vec<Message> {
        if !self.sees_internal() {
            for message in &mut messages {
                message.posted_by.key = None;
                message.posted_by.token = None;
                message.posted_by.install = None;
            }
        }
        messages
    }

    /// Custom field definitions the principal may see (requesters: not agent-only ones).
    pub(crate) fn visible_fields(&self, mut fields: Vec<FieldDefinition>) -> Vec<FieldDefinition> {
        if !self.sees_internal() {
            fields.retain(|f| !f.agent_only);
        }
        fields
    }

    // ---- history -------------------------------------------------------------------------

    /// Whether the principal may read the history of `subject`: for a ticket, that it may read
    /// it (as it is, or as it was when deleted) and is not a requester; for people and
    /// directories, the read (or manage) right of that kind; for a key, key administration of
    /// that key.
    pub(crate) fn history(&self, subject: HistorySubject) -> Result<()> {
        match subject {
            HistorySubject::Ticket(id) => self.ticket_history(id),
            HistorySubject::Agent(_) => self.see(Action::AgentRead, Action::AgentManage),
            HistorySubject::Department(_) => {
                self.see(Action::DepartmentRead, Action::DepartmentManage)
            }
            HistorySubject::Requester(_) | HistorySubject::Organization(_) => {
                self.see(Action::RequesterRead, Action::RequesterManage)
            }
            HistorySubject::Field(_) => self.allow_global(Action::FieldManage),
            HistorySubject::Role(_) => self.allow_global(Action::RoleManage),
            HistorySubject::Key(id) => self.key_history(id),
        }
    }

    fn ticket_history(&self, id: TicketId) -> Result<()> {
        let store = self.helpdesk.store();
        let (resource, deleted) = match store.ticket(id) {
            Ok(ticket) => (Resource::Ticket(attrs(&ticket)), false),
            Err(Error::NotFound { .. }) => match store.deleted_ticket(id)? {
                Some(deleted) => (Resource::Ticket(deleted_attrs(&deleted)), true),
                None => return Err(not_found(Entity::Ticket, id)),
            },
            Err(e) => return Err(e),
        };
        // Requesters never read history: a deleted ticket is gone for them, a ticket they may
        // read says why.
        let readable = self.decide(Action::TicketRead, &resource).is_allowed();
        match (readable, self.sees_internal()) {
            (true, true) => Ok(()),
            (true, false) if !deleted => Err(rule("requesters cannot read ticket history")),
            _ => Err(not_found(Entity::Ticket, id)),
        }
    }

    /// The read right of a kind of record, which its manage right implies: whoever may change
    /// records of a kind may also see them.
    pub(crate) fn see(&self, read: Action, manage: Action) -> Result<()> {
        if self.allowed(manage) {
            Ok(())
        } else {
            self.allow_global(read)
        }
    }

    // ---- people --------------------------------------------------------------------------

    /// Changing `agent` by `update` (`agents.manage` checked by the caller): only an
    /// administrator changes an administrator or makes one, and an app identity changes only
    /// with its install.
    pub(crate) fn change_agent(
        &self,
        agent: &helpdesk_domain::Agent,
        update: &AgentUpdate,
    ) -> Result<()> {
        self.person(agent)?;
        if update.admin.is_some() {
            self.admin_or("only an administrator may grant or take away administrator rights")?;
        }
        Ok(())
    }

    /// Changing anything about `agent` (its fields, roles or memberships): nobody changes a
    /// person they could not have created.
    pub(crate) fn person(&self, agent: &helpdesk_domain::Agent) -> Result<()> {
        if agent.app_install.is_some() {
            return Err(rule(
                "this agent is a plugin's app identity: it changes only with its install",
            ));
        }
        if agent.admin {
            self.admin_or("only an administrator may change an administrator")?;
        }
        Ok(())
    }

    /// Creating an agent, an administrator only by an administrator.
    pub(crate) fn new_agent(&self, admin: bool) -> Result<()> {
        self.allow_global(Action::AgentManage)?;
        if admin {
            self.admin_or("only an administrator may grant administrator rights")?;
        }
        Ok(())
    }

    /// Handing out `permissions` (a role's, a role given to someone, a plugin grant): a
    /// non-administrator hands out only what it holds itself.
    pub(crate) fn hand_out(&self, permissions: Scopes) -> Result<()> {
        let lacking = permissions - self.holds();
        if self.is_admin() || lacking.is_empty() {
            Ok(())
        } else {
            Err(Error::Denied(Denied::not_held(lacking)))
        }
    }

    /// Reading requester `id`: a requester may always read themselves.
    pub(crate) fn requester(&self, id: RequesterId) -> Result<()> {
        if self.p.actor() == Actor::Requester(id) {
            Ok(())
        } else {
            self.see(Action::RequesterRead, Action::RequesterManage)
        }
    }

    // ---- keys and tokens -----------------------------------------------------------------

    /// `action` (`keys.manage` or `keys.logs`) through the engine, so a key's scopes apply, and
    /// through a key only with a superuser key that has admin functions; never through a token.
    pub(crate) fn key_admin(&self, action: Action) -> Result<()> {
        self.allow_global(action)?;
        if self.p.subject.token.is_some() {
            return Err(rule("access tokens cannot administer keys"));
        }
        if let Some(key) = self.p.key() {
            let admin = self
                .helpdesk
                .inner
                .keys
                .key(key)
                .is_some_and(|snap| snap.kind.is_superuser() && snap.admin_functions);
            if !admin {
                return Err(rule(
                    "only superuser keys with admin functions may administer keys or read their logs",
                ));
            }
        }
        Ok(())
    }

    /// Whether the principal could have issued a key of `kind`, and so may see and change it:
    /// administrators any key, other agents their own agent keys.
    pub(crate) fn could_issue(&self, kind: KeyKind) -> bool {
        match self.p.actor() {
            Actor::Agent(agent) if kind == KeyKind::Agent { agent } => true,
            _ => self.is_admin(),
        }
    }

    /// A key the principal may administer (after [`key_admin`](Self::key_admin)); any other
    /// reads exactly like a missing one.
    pub(crate) fn key(&self, key: &KeyRecord) -> Result<()> {
        if self.could_issue(key.kind) {
            Ok(())
        } else {
            Err(not_found(Entity::Key, key.id))
        }
    }

    /// Looks up key `id` for administration: missing and out-of-reach keys read alike.
    pub(crate) fn administered_key(&self, id: KeyId) -> Result<KeyRecord> {
        let key = self.helpdesk.store().key(id)?;
        self.key(&key)?;
        Ok(key)
    }

    /// Changing (updating, regenerating, enabling, deleting) `key`: a plugin install's key
    /// changes only with its install (its secret is held by nobody, and must stay so).
    pub(crate) fn change_key(&self, key: &KeyRecord) -> Result<()> {
        if let KeyKind::Agent { agent } = key.kind
            && self.is_app_identity(agent)
        {
            return Err(rule(
                "this key belongs to a plugin install: it changes only with its install",
            ));
        }
        Ok(())
    }

    /// Issuing a key of `kind` (after [`key_admin`](Self::key_admin)): receiving a secret that
    /// acts as someone needs an administrator, unless it is the issuer's own agent key; and no
    /// secret ever acts as a plugin's app identity.
    pub(crate) fn issue(&self, kind: KeyKind) -> Result<()> {
        if !self.could_issue(kind) {
            return Err(rule(
                "only an administrator may issue the secret of a superuser key or of another agent's key",
            ));
        }
        match kind {
            KeyKind::Agent { agent } => self.bind(agent),
            KeyKind::Superuser { default_agent } => default_agent.map_or(Ok(()), |a| self.bind(a)),
        }
    }

    /// A key may act as `agent` (bound to it, or as its default agent): it exists and is not an
    /// app identity.
    pub(crate) fn bind(&self, agent: AgentId) -> Result<()> {
        match self.policy.may_sign_in(agent) {
            Err(helpdesk_authz::DenyReason::UnknownAgent { .. }) => {
                Err(not_found(Entity::Agent, agent))
            }
            Err(reason @ helpdesk_authz::DenyReason::AppIdentity { .. }) => Err(Error::Denied(
                crate::error::engine_denied(reason, self.policy.clone()),
            )),
            // A disabled agent may be bound; requests refuse it while it stays disabled.
            _ => Ok(()),
        }
    }

    fn is_app_identity(&self, agent: AgentId) -> bool {
        matches!(
            self.policy.may_sign_in(agent),
            Err(helpdesk_authz::DenyReason::AppIdentity { .. })
        )
    }

    /// Revoking `token`: a token may revoke itself (a portal sign-out) and a key its own
    /// tokens; otherwise key administration of its key. A token out of reach reads exactly like
    /// a missing one.
    pub(crate) fn revoke_token(&self, token: &TokenRecord) -> Result<()> {
        let (own_token, own_key) = (self.p.token(), self.p.key());
        let own =
            own_token == Some(token.id) || (own_token.is_none() && own_key == Some(token.key));
        if own {
            return Ok(());
        }
        let hidden = || not_found(Entity::Token, token.id);
        self.key_admin(Action::KeyManage).map_err(|_| hidden())?;
        let key = self.helpdesk.store().key(token.key).map_err(|_| hidden())?;
        self.key(&key).map_err(|_| hidden())
    }

    /// Minting a token with the principal's own key (never with a token): returns that key.
    pub(crate) fn minting_key(&self) -> Result<KeyId> {
        if self.p.subject.token.is_some() {
            return Err(rule("an access token cannot mint access tokens"));
        }
        self.p.key().ok_or_else(|| {
            rule("access tokens are minted with an api key, or by the application's system handle")
        })
    }

    // ---- history of keys -----------------------------------------------------------------

    fn key_history(&self, id: KeyId) -> Result<()> {
        self.key_admin(Action::KeyManage)?;
        if self.is_admin() {
            // Administrators read the history of every key, deleted ones included.
            return Ok(());
        }
        self.administered_key(id).map(drop)
    }

    // ---- the outbox ----------------------------------------------------------------------

    /// The owner of the principal's outbox consumers. Reading the outbox takes `events.read`
    /// and the right to read every event in it: being the system or an administrator, with
    /// every read right through its credentials (a reader who may not read some events would
    /// learn from lag and sequence numbers how much happens out of its sight).
    pub(crate) fn consumer_owner(&self) -> Result<ConsumerOwner> {
        self.allow_global(Action::EventRead)?;
        let owner = match self.p.actor() {
            Actor::System => ConsumerOwner::System,
            Actor::Agent(id) if self.policy.is_admin(id) => ConsumerOwner::Agent(id),
            _ => {
                return Err(rule(
                    "the outbox is read by principals that may read every event: the system and administrators",
                ));
            }
        };
        let lacking = READS_EVERY_EVENT - self.p.subject.layer_scopes();
        if !lacking.is_empty() {
            return Err(rule(
                "reading the outbox through a credential takes every read scope (`events.read tickets.read agents.read requesters.read departments.read keys.manage plugins.manage`)",
            ));
        }
        if self.p.subject.key.is_some() {
            self.key_admin(Action::KeyManage)?;
        }
        Ok(owner)
    }

    /// Whether `event` is about something the principal may read: its ticket (as it is now, or
    /// as it was when deleted), or otherwise the kind of record it is about, with the right that
    /// reading such records takes.
    pub(crate) fn event_visible(&self, event: &Event) -> Result<bool> {
        if let Some(id) = event.ticket {
            let store = self.helpdesk.store();
            let resource = match store.ticket(id) {
                Ok(ticket) => Resource::Ticket(attrs(&ticket)),
                Err(Error::NotFound { .. }) => match store.deleted_ticket(id)? {
                    Some(deleted) => Resource::Ticket(deleted_attrs(&deleted)),
                    None => return Ok(false),
                },
                Err(e) => return Err(e),
            };
            return Ok(self.decide(Action::TicketRead, &resource).is_allowed());
        }
        let seen = match event.kind {
            EventKind::AgentCreated
            | EventKind::AgentUpdated
            | EventKind::RoleCreated
            | EventKind::RoleUpdated
            | EventKind::RoleDeleted => self.see(Action::AgentRead, Action::AgentManage),
            EventKind::DepartmentCreated | EventKind::DepartmentUpdated => {
                self.see(Action::DepartmentRead, Action::DepartmentManage)
            }
            EventKind::RequesterCreated | EventKind::OrganizationCreated => {
                self.see(Action::RequesterRead, Action::RequesterManage)
            }
            EventKind::FieldCreated => Ok(()),
            EventKind::KeyCreated
            | EventKind::KeyUpdated
            | EventKind::KeyRegenerated
            | EventKind::KeyDeleted
            | EventKind::TokenMinted
            | EventKind::TokenRevoked => self.key_admin(Action::KeyManage),
            EventKind::PluginInstalled
            | EventKind::PluginUpdated
            | EventKind::PluginUninstalled => self.allow_global(Action::PluginManage),
            // Ticket kinds always carry their ticket.
            _ => Err(rule("an event about a ticket names it")),
        };
        Ok(seen.is_ok())
    }

    // ---- plugins -------------------------------------------------------------------------

    /// Whether the principal acts for install `id` (its own principal, or a widget principal of
    /// it).
    pub(crate) fn acts_for(&self, id: InstallId) -> bool {
        self.p.install() == Some(id)
    }

    /// The install itself, or someone with `plugins.manage`.
    pub(crate) fn install_or_manager(&self, id: InstallId) -> Result<()> {
        if self.acts_for(id) {
            Ok(())
        } else {
            self.allow_global(Action::PluginManage)
        }
    }

    /// The install itself, and nobody else (its settings' values, its key-value store).
    pub(crate) fn install_itself(&self, id: InstallId, reason: &'static str) -> Result<()> {
        if self.acts_for(id) {
            Ok(())
        } else {
            Err(rule(reason))
        }
    }

    /// Changing install `install` (`plugins.manage` checked by the caller): nobody changes an
    /// install they could not have made: a non-administrator only one whose app identity is no
    /// administrator and whose grant it holds.
    pub(crate) fn change_install(&self, install: &InstallRecord, granted: Scopes) -> Result<()> {
        if self.is_admin() {
            return Ok(());
        }
        // The identity's flag as stored: a disabled install's identity is inactive, which the
        // policy's `is_admin` does not count.
        let identity_is_admin = self.helpdesk.store().agent(install.app_agent)?.admin;
        if identity_is_admin || !granted.is_subset(self.holds()) {
            return Err(rule(
                "only an administrator may change an install made with rights beyond the caller's",
            ));
        }
        Ok(())
    }

    /// The rights a new install's app identity gets: the installer's own (an administrator's, or
    /// a non-administrator's roles and department levels); its grant narrows them further.
    pub(crate) fn app_identity_rights(&self) -> Result<AppIdentityRights> {
        match self.p.actor() {
            Actor::System => Ok(AppIdentityRights::admin()),
            Actor::Agent(id) if self.policy.is_admin(id) => Ok(AppIdentityRights::admin()),
            Actor::Agent(id) => {
                let agent = self.helpdesk.store().agent(id)?;
                Ok(AppIdentityRights {
                    admin: false,
                    roles: agent.roles,
                    memberships: agent
                        .departments
                        .iter()
                        .map(|m| (m.department, m.level))
                        .collect(),
                })
            }
            Actor::Requester(_) => Err(rule("requesters cannot install plugins")),
        }
    }

    /// The principal of a widget rendering for this (viewer) principal: the viewer's rights
    /// narrowed by the install's grant and key, so the widget reads only what both may read.
    /// Changes made with it are recorded as the viewer's, through the install.
    pub(crate) fn widget_principal(&self, install: &Principal) -> Result<Principal> {
        let viewer = self.p;
        let Some(plugin) = install.subject.plugin else {
            return Err(rule("the plugin install is not enabled"));
        };
        let mut subject = viewer.subject;
        let scopes = subject
            .plugin
            .map_or(plugin.scopes, |r| r.scopes & plugin.scopes);
        subject.plugin = None;
        subject = subject.with_plugin(plugin.id, scopes);
        let mut held = viewer.held;
        if let Some(key) = install.subject.key {
            subject.key = Some(match subject.key {
                Some(own) => Restriction {
                    id: own.id,
                    scopes: own.scopes & key.scopes,
                },
                None => {
                    held = install.held;
                    key
                }
            });
        }
        Ok(Principal { subject, held })
    }
}

/// The principal an install acts as: its app identity, narrowed by its grant and by its own
/// key (whose `snap` is given; a disabled, expired or deleted key stops the install), attributed
/// to the identity, the key and the install.
pub(crate) fn install_principal(
    install: &InstallRecord,
    granted: Scopes,
    key: Option<(KeyId, &KeySnap)>,
    tables: u64,
    now: Timestamp,
) -> Result<Principal> {
    let mut subject = Subject::agent(install.app_agent).with_plugin(install.id, granted);
    let mut held = Held::default();
    match key {
        None if !granted.is_empty() => {
            return Err(rule(
                "the plugin install has no key: upgrade or reinstall it",
            ));
        }
        None => {}
        Some((_, snap)) if !snap.enabled => {
            return Err(rule("the plugin install's key is disabled"));
        }
        Some((_, snap)) if snap.expired(now) => {
            return Err(rule("the plugin install's key has expired"));
        }
        Some((id, snap)) => {
            subject = subject.with_key(id, snap.scopes);
            held = Held {
                revision: snap.revision,
                tables,
                until: Held::until(snap.expires_at, None),
            };
        }
    }
    Ok(Principal { subject, held })
}

/// The rights of a new app identity (see [`Guard::app_identity_rights`]).
#[derive(Debug)]
pub(crate) struct AppIdentityRights {
    pub(crate) admin: bool,
    pub(crate) roles: Vec<helpdesk_domain::RoleId>,
    pub(crate) memberships: Vec<(helpdesk_domain::DepartmentId, helpdesk_domain::AccessLevel)>,
}

impl AppIdentityRights {
    fn admin() -> Self {
        Self {
            admin: true,
            roles: Vec::new(),
            memberships: Vec::new(),
        }
    }
}
