//! The matrix's own model of the facade's rules, written from the documented contract and
//! nothing else: the cast of the test world as plain data, and for every operation the outcome
//! the contract promises, as match arms. It never calls the facade.

use std::collections::BTreeSet;

use helpdesk::{Action, Entity, Scopes};

use super::ops::{
    AgentChange, Consumer, Create, Field, Install, Issue, Key, Message, Op, RoleSet, Search,
    Subject, Ticket, Token, TokenFor,
};

/// The agents of the test world.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Agent {
    /// The first administrator.
    Ada,
    /// A second administrator, member of D2 at `read`: a target.
    Abe,
    /// Every ticket scope and `agents.read`; D1 at `read`.
    Rita,
    /// The same role; D1 at `create`.
    Cara,
    /// The same role; D1 at `change`. The agent the keys and the widget act for.
    Cid,
    /// The same role; D1 at `full`.
    Fay,
    /// The built-in `agent` role; D1 at `change`.
    Ben,
    /// The ticket role, only assigned; D1 and D2 at `change`.
    Oli,
    /// The ticket role, D1 at `full`, disabled once its principal is held.
    Dee,
    /// Every scope but the ticket ones, plus `tickets.read`; D1 at `read`. Not an administrator.
    Max,
    /// The built-in `agent` role; D2 at `change`. The plain agent among the targets.
    Pat,
    /// The app identity of the install the system made.
    App,
    /// The app identity of the install Max made.
    AppMax,
}

/// The requesters of the test world.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Requester {
    /// Without an organisation.
    Rex,
    /// In Acme, which shares tickets.
    Sam,
    /// In Acme too: Sam's colleague.
    Sue,
}

/// The departments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Dept {
    D1,
    D2,
}

/// A department access level; each includes the ones before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Level {
    Read,
    Create,
    Change,
    Full,
}

/// The custom and built-in roles the world uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Role {
    /// Every ticket scope and `agents.read`.
    Tickets,
    /// Max's role.
    Manager,
    /// `agents.read` only.
    Lister,
    /// The built-in `administrator` role (every scope).
    Administrator,
}

/// Every kind of principal the matrix calls with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Caller {
    System,
    Admin,
    ReadAgent,
    CreateAgent,
    ChangeAgent,
    FullAgent,
    BuiltinAgent,
    OnlyAssigned,
    DisabledAgent,
    Manager,
    Requester,
    OrgRequester,
    /// Cid's agent key.
    AgentKey,
    /// The superuser key (no admin functions) acting as Cid.
    SuperAsAgent,
    /// The superuser key acting as Rex.
    SuperAsRequester,
    /// The superuser key with admin functions acting as Ada.
    AdminKey,
    /// The superuser key without admin functions acting as Ada.
    SuperAsAdmin,
    /// A token minted from the admin-functions key for Ada.
    AdminToken,
    /// The principal of the install the system made.
    Install,
    /// That install's widget rendering for Cid.
    Widget,
    /// A principal held while its credential was revoked.
    Held(Held),
}

/// A principal of Cid's kept while its credential was revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Held {
    /// Authenticated with the key itself.
    Key(Revocation),
    /// Authenticated with a token minted from the key.
    Token(Revocation),
}

/// What happened to a held principal's credential.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Revocation {
    KeyDeleted,
    KeyDisabled,
    KeyRegenerated,
    /// Its scopes narrowed. (A change of what the key grants revokes; a new description alone,
    /// which grants nothing, does not: see `keys::a_held_principal_is_refused_once_its_credential_changes`.)
    KeyNarrowed,
    KeyExpired,
    TokenRevoked,
    TokenExpired,
}

impl Caller {
    /// Every principal that acts in a world of its own setup (not held ones).
    pub(super) const PLAIN: [Caller; 20] = [
        Caller::System,
        Caller::Admin,
        Caller::ReadAgent,
        Caller::CreateAgent,
        Caller::ChangeAgent,
        Caller::FullAgent,
        Caller::BuiltinAgent,
        Caller::OnlyAssigned,
        Caller::DisabledAgent,
        Caller::Manager,
        Caller::Requester,
        Caller::OrgRequester,
        Caller::AgentKey,
        Caller::SuperAsAgent,
        Caller::SuperAsRequester,
        Caller::AdminKey,
        Caller::SuperAsAdmin,
        Caller::AdminToken,
        Caller::Install,
        Caller::Widget,
    ];

    /// Every held principal.
    pub(super) fn held() -> Vec<Caller> {
        Revocation::ALL
            .into_iter()
            .flat_map(Caller::held_by)
            .collect()
    }

    /// The held principals one revocation hits: a token always, and the key itself unless
    /// only the token was revoked or expired.
    pub(super) fn held_by(r: Revocation) -> Vec<Caller> {
        let token = Caller::Held(Held::Token(r));
        match r {
            Revocation::TokenRevoked | Revocation::TokenExpired => vec![token],
            _ => vec![Caller::Held(Held::Key(r)), token],
        }
    }
}

impl Revocation {
    pub(super) const ALL: [Revocation; 7] = [
        Revocation::KeyDeleted,
        Revocation::KeyDisabled,
        Revocation::KeyRegenerated,
        Revocation::KeyNarrowed,
        Revocation::KeyExpired,
        Revocation::TokenRevoked,
        Revocation::TokenExpired,
    ];
}

/// Who a principal is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Person {
    System,
    Agent(Agent),
    Requester(Requester),
}

/// What a principal came through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cred {
    Direct,
    Key(Key),
    Token(Token),
    /// An install's own principal.
    Install(Install),
    /// A widget of an install, rendering for the person.
    Widget(Install),
}

/// A principal as the model sees it.
#[derive(Clone, Copy, Debug)]
pub(super) struct Facts {
    pub(super) person: Person,
    pub(super) cred: Cred,
    /// Held while its credential was revoked.
    pub(super) revoked: bool,
}

pub(super) fn facts(caller: Caller) -> Facts {
    let f = |person, cred| Facts {
        person,
        cred,
        revoked: false,
    };
    use Person::Agent as A;
    match caller {
        Caller::System => f(Person::System, Cred::Direct),
        Caller::Admin => f(A(Agent::Ada), Cred::Direct),
        Caller::ReadAgent => f(A(Agent::Rita), Cred::Direct),
        Caller::CreateAgent => f(A(Agent::Cara), Cred::Direct),
        Caller::ChangeAgent => f(A(Agent::Cid), Cred::Direct),
        Caller::FullAgent => f(A(Agent::Fay), Cred::Direct),
        Caller::BuiltinAgent => f(A(Agent::Ben), Cred::Direct),
        Caller::OnlyAssigned => f(A(Agent::Oli), Cred::Direct),
        Caller::DisabledAgent => f(A(Agent::Dee), Cred::Direct),
        Caller::Manager => f(A(Agent::Max), Cred::Direct),
        Caller::Requester => f(Person::Requester(Requester::Rex), Cred::Direct),
        Caller::OrgRequester => f(Person::Requester(Requester::Sue), Cred::Direct),
        Caller::AgentKey => f(A(Agent::Cid), Cred::Key(Key::Change)),
        Caller::SuperAsAgent => f(A(Agent::Cid), Cred::Key(Key::Super)),
        Caller::SuperAsRequester => f(Person::Requester(Requester::Rex), Cred::Key(Key::Super)),
        Caller::AdminKey => f(A(Agent::Ada), Cred::Key(Key::AdminFn)),
        Caller::SuperAsAdmin => f(A(Agent::Ada), Cred::Key(Key::Super)),
        Caller::AdminToken => f(A(Agent::Ada), Cred::Token(Token::Admin)),
        Caller::Install => f(A(Agent::App), Cred::Install(Install::Main)),
        Caller::Widget => f(A(Agent::Cid), Cred::Widget(Install::Main)),
        // Cid through the held key or a token of it; the model refuses it before looking
        // further, so only its person matters (for the targets that are a principal's own).
        Caller::Held(_) => Facts {
            person: A(Agent::Cid),
            cred: Cred::Key(Key::Held),
            revoked: true,
        },
    }
}

// The scope sets of the world, from `docs/permissions.md`.

const TICKET_SCOPES: Scopes = Scopes::of(&[
    Action::TicketRead,
    Action::TicketCreate,
    Action::TicketUpdate,
    Action::TicketAssign,
    Action::TicketStatus,
    Action::TicketDelete,
    Action::TicketReply,
    Action::TicketNote,
]);

const TICKETS_ROLE: Scopes = TICKET_SCOPES.union(Scopes::of(&[Action::AgentRead]));

/// The built-in `agent` role: every ticket scope but delete, and four directory scopes.
const BUILTIN_AGENT_ROLE: Scopes = TICKET_SCOPES
    .difference(Scopes::of(&[Action::TicketDelete]))
    .union(Scopes::of(&[
        Action::AgentRead,
        Action::RequesterRead,
        Action::RequesterManage,
        Action::DepartmentRead,
    ]));

const MANAGER_ROLE: Scopes = Scopes::ALL
    .difference(TICKET_SCOPES)
    .union(Scopes::of(&[Action::TicketRead]));

const LISTER_ROLE: Scopes = Scopes::of(&[Action::AgentRead]);

/// What a principal must carry to read the outbox: every read scope, key and plugin management.
const READ_EVERYTHING: Scopes = Scopes::of(&[
    Action::EventRead,
    Action::TicketRead,
    Action::AgentRead,
    Action::RequesterRead,
    Action::DepartmentRead,
    Action::KeyManage,
    Action::PluginManage,
]);

/// The scopes of Cid's agent key: a few ticket scopes.
pub(super) const CHANGE_KEY_SCOPES: Scopes = Scopes::of(&[
    Action::TicketRead,
    Action::TicketCreate,
    Action::TicketReply,
    Action::TicketNote,
]);

/// The grant of the install the system made.
pub(super) const MAIN_GRANT: Scopes =
    Scopes::of(&[Action::TicketRead, Action::TicketNote, Action::EventRead]);

/// The grant of the install Max made.
pub(super) const MANAGERS_GRANT: Scopes = Scopes::of(&[Action::TicketRead]);

/// A plugin grant Max holds, and one he does not.
pub(super) const HELD_GRANT: Scopes = Scopes::of(&[Action::TicketRead]);
pub(super) const UNHELD_GRANT: Scopes = Scopes::of(&[Action::TicketDelete]);

pub(super) fn role_scopes(role: Role) -> Scopes {
    match role {
        Role::Tickets => TICKETS_ROLE,
        Role::Manager => MANAGER_ROLE,
        Role::Lister => LISTER_ROLE,
        Role::Administrator => Scopes::ALL,
    }
}

/// An agent as the model sees it.
pub(super) struct AgentFacts {
    pub(super) admin: bool,
    pub(super) active: bool,
    pub(super) only_assigned: bool,
    pub(super) roles: Scopes,
    pub(super) levels: &'static [(Dept, Level)],
}

pub(super) fn agent(a: Agent) -> AgentFacts {
    let plain = |roles, levels| AgentFacts {
        admin: false,
        active: true,
        only_assigned: false,
        roles,
        levels,
    };
    let admin = |levels| AgentFacts {
        admin: true,
        ..plain(BUILTIN_AGENT_ROLE, levels)
    };
    match a {
        Agent::Ada | Agent::App => admin(&[]),
        Agent::Abe => admin(&[(Dept::D2, Level::Read)]),
        Agent::Rita => plain(TICKETS_ROLE, &[(Dept::D1, Level::Read)]),
        Agent::Cara => plain(TICKETS_ROLE, &[(Dept::D1, Level::Create)]),
        Agent::Cid => plain(TICKETS_ROLE, &[(Dept::D1, Level::Change)]),
        Agent::Fay => plain(TICKETS_ROLE, &[(Dept::D1, Level::Full)]),
        Agent::Ben => plain(BUILTIN_AGENT_ROLE, &[(Dept::D1, Level::Change)]),
        Agent::Oli => AgentFacts {
            only_assigned: true,
            ..plain(
                TICKETS_ROLE,
                &[(Dept::D1, Level::Change), (Dept::D2, Level::Change)],
            )
        },
        Agent::Dee => AgentFacts {
            active: false,
            ..plain(TICKETS_ROLE, &[(Dept::D1, Level::Full)])
        },
        Agent::Max | Agent::AppMax => plain(MANAGER_ROLE, &[(Dept::D1, Level::Read)]),
        Agent::Pat => plain(BUILTIN_AGENT_ROLE, &[(Dept::D2, Level::Change)]),
    }
}

/// A requester's organisation, and whether it shares tickets (Acme does).
pub(super) fn shares_with(a: Requester, b: Requester) -> bool {
    let acme = |r| matches!(r, Requester::Sam | Requester::Sue);
    acme(a) && acme(b)
}

/// A ticket as permission decisions see it.
#[derive(Clone, Copy, Debug)]
pub(super) struct TicketFacts {
    pub(super) dept: Dept,
    pub(super) assignee: Option<Agent>,
    pub(super) requester: Requester,
}

/// The live (or, for the deleted one, last) attributes of a ticket; `None` for a missing id.
pub(super) fn ticket(t: Ticket) -> Option<TicketFacts> {
    let f = |dept, assignee, requester| {
        Some(TicketFacts {
            dept,
            assignee,
            requester,
        })
    };
    match t {
        Ticket::Own => f(Dept::D1, Some(Agent::Oli), Requester::Rex),
        Ticket::Other => f(Dept::D1, None, Requester::Sam),
        Ticket::Foreign => f(Dept::D2, None, Requester::Rex),
        Ticket::Deleted => f(Dept::D1, Some(Agent::Oli), Requester::Sam),
        Ticket::Missing => None,
    }
}

/// The tickets a search can find.
pub(super) const LIVE_TICKETS: [Ticket; 3] = [Ticket::Own, Ticket::Other, Ticket::Foreign];

/// The assignee an update or a new ticket names in a department: an agent with `change` there.
pub(super) fn assignee_in(dept: Dept) -> Agent {
    match dept {
        Dept::D1 => Agent::Cid,
        Dept::D2 => Agent::Pat,
    }
}

/// The department a ticket moves to.
pub(super) fn other_dept(dept: Dept) -> Dept {
    match dept {
        Dept::D1 => Dept::D2,
        Dept::D2 => Dept::D1,
    }
}

/// A key's kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum KeyKind {
    Agent(Agent),
    Superuser,
}

/// A key as the model sees it: kind, admin functions and scopes; `None` for a missing id.
pub(super) fn key(k: Key) -> Option<(KeyKind, bool, Scopes)> {
    use KeyKind::{Agent as Bound, Superuser};
    Some(match k {
        Key::Change => (Bound(Agent::Cid), false, CHANGE_KEY_SCOPES),
        Key::Pat => (Bound(Agent::Pat), false, Scopes::ALL),
        Key::Super => (Superuser, false, Scopes::ALL),
        Key::AdminFn => (Superuser, true, Scopes::ALL),
        Key::Max => (Bound(Agent::Max), false, Scopes::ALL),
        Key::Held | Key::Expiring => (Bound(Agent::Cid), false, Scopes::ALL),
        Key::Install => (Bound(Agent::App), false, MAIN_GRANT),
        Key::InstallMax => (Bound(Agent::AppMax), false, MANAGERS_GRANT),
        Key::Missing => return None,
    })
}

/// Every key of the world.
pub(super) const ALL_KEYS: [Key; 9] = [
    Key::Change,
    Key::Pat,
    Key::Super,
    Key::AdminFn,
    Key::Max,
    Key::Held,
    Key::Expiring,
    Key::Install,
    Key::InstallMax,
];

/// The key a token was minted from; `None` for a missing id.
pub(super) fn token_key(t: Token) -> Option<Key> {
    match t {
        Token::Admin => Some(Key::AdminFn),
        Token::Change => Some(Key::Change),
        Token::Portal => Some(Key::Super),
        Token::Max => Some(Key::Max),
        Token::Missing => None,
    }
}

/// An install: its grant, its app identity and its key; `None` for a missing id.
pub(super) fn install(i: Install) -> Option<(Scopes, Agent, Key)> {
    match i {
        Install::Main => Some((MAIN_GRANT, Agent::App, Key::Install)),
        Install::Managers => Some((MANAGERS_GRANT, Agent::AppMax, Key::InstallMax)),
        Install::Missing => None,
    }
}

/// What a refused or accepted call shows, as far as the matrix compares it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    Ok(Seen),
    NotFound(Entity),
    Denied,
    Revoked,
    /// Input the call refuses whoever makes it.
    Invalid,
    /// Any other error, with its message: never what the model expects.
    Failed(String),
}

/// What an accepted call returned, where it matters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Seen {
    Done,
    /// A ticket: whether its agent-only field is shown.
    Ticket {
        agent_only_fields: bool,
    },
    /// A search page, by ticket name.
    Tickets(BTreeSet<String>),
    /// A key listing, by key name.
    Keys(BTreeSet<String>),
    /// A consumer listing, by name.
    Consumers(BTreeSet<String>),
    /// A conversation: whether notes are in it, and whether any message names its credential.
    Messages {
        notes: bool,
        credentials: bool,
    },
    /// The field definitions: whether the agent-only one is among them.
    Fields {
        agent_only: bool,
    },
}

use Outcome::{Denied, Revoked};

const OK: Outcome = Outcome::Ok(Seen::Done);

fn ok_if(allowed: bool) -> Outcome {
    if allowed { OK } else { Denied }
}

/// The requester a principal opens tickets for and reads as "itself": its own, else Rex.
pub(super) fn self_requester(f: &Facts) -> Requester {
    match f.person {
        Person::Requester(r) => r,
        _ => Requester::Rex,
    }
}

/// The agent a principal issues "its own" key for: its own, else Cid.
pub(super) fn self_agent(f: &Facts) -> Agent {
    match f.person {
        Person::Agent(a) => a,
        _ => Agent::Cid,
    }
}

/// A principal's own outbox consumer, and another owner's.
pub(super) fn own_consumer(f: &Facts) -> &'static str {
    match f.person {
        Person::System => "sys-feed",
        _ => "ada-feed",
    }
}

pub(super) fn other_consumer(f: &Facts) -> &'static str {
    match f.person {
        Person::System => "ada-feed",
        _ => "sys-feed",
    }
}

/// Every consumer a principal owns in the world.
fn own_consumers(f: &Facts) -> BTreeSet<String> {
    let names: &[&str] = match f.person {
        Person::System => &["audit", "sys-feed"],
        _ => &["ada-feed"],
    };
    names.iter().map(|n| n.to_string()).collect()
}

/// The scopes every credential layer of a principal allows (all for a direct principal).
fn layers(f: &Facts) -> Scopes {
    let key_scopes = |k| key(k).map_or(Scopes::EMPTY, |(_, _, s)| s);
    match f.cred {
        Cred::Direct => Scopes::ALL,
        Cred::Key(k) => key_scopes(k),
        Cred::Token(t) => token_key(t).map_or(Scopes::EMPTY, key_scopes),
        Cred::Install(i) | Cred::Widget(i) => install(i).map_or(Scopes::EMPTY, |(grant, _, k)| {
            grant.intersection(key_scopes(k))
        }),
    }
}

/// What a ticket action is about: a ticket, or one to open.
#[derive(Clone, Copy)]
enum On {
    Ticket(TicketFacts),
    New { dept: Dept, requester: Requester },
}

fn needed_level(action: Action) -> Level {
    match action {
        Action::TicketRead => Level::Read,
        Action::TicketCreate => Level::Create,
        Action::TicketDelete => Level::Full,
        _ => Level::Change,
    }
}

/// The engine on tickets: the person's rights (roles, levels, reach) and every layer.
fn ticket_allows(f: &Facts, action: Action, on: On) -> bool {
    if !layers(f).contains(action) {
        return false;
    }
    match f.person {
        Person::System => true,
        Person::Agent(a) => {
            let me = agent(a);
            if !me.active {
                return false;
            }
            if me.admin {
                return true;
            }
            if !me.roles.contains(action) {
                return false;
            }
            let (dept, reach) = match on {
                On::New { dept, .. } => (dept, true),
                On::Ticket(t) => (t.dept, !me.only_assigned || t.assignee == Some(a)),
            };
            let level = needed_level(action);
            reach && me.levels.iter().any(|&(d, l)| d == dept && l >= level)
        }
        Person::Requester(r) => match (action, on) {
            (Action::TicketCreate, On::New { requester, .. }) => requester == r,
            (Action::TicketRead | Action::TicketReply, On::Ticket(t)) => {
                t.requester == r || shares_with(t.requester, r)
            }
            _ => false,
        },
    }
}

/// The engine on everything that is not a ticket.
fn global(f: &Facts, action: Action) -> bool {
    if !layers(f).contains(action) {
        return false;
    }
    match f.person {
        Person::System => true,
        Person::Agent(a) => {
            let me = agent(a);
            me.active && (me.admin || me.roles.contains(action))
        }
        Person::Requester(_) => false,
    }
}

fn see(f: &Facts, read: Action, manage: Action) -> bool {
    global(f, read) || global(f, manage)
}

/// The system, or an active administrator (whatever it came through).
fn is_admin(f: &Facts) -> bool {
    match f.person {
        Person::System => true,
        Person::Agent(a) => {
            let me = agent(a);
            me.active && me.admin
        }
        Person::Requester(_) => false,
    }
}

/// What a principal may hand out: everything for an administrator, else what it holds.
fn holds(f: &Facts) -> Scopes {
    if is_admin(f) {
        return Scopes::ALL;
    }
    match f.person {
        Person::Agent(a) if agent(a).active => agent(a).roles.intersection(layers(f)),
        _ => Scopes::EMPTY,
    }
}

fn hands_out(f: &Facts, scopes: Scopes) -> bool {
    scopes.is_subset(holds(f))
}

fn is_requester(f: &Facts) -> bool {
    matches!(f.person, Person::Requester(_))
}

/// A ticket the principal may read, or not found.
fn readable(f: &Facts, t: Ticket) -> Result<TicketFacts, Outcome> {
    let hidden = Outcome::NotFound(Entity::Ticket);
    match ticket(t) {
        Some(facts) if t != Ticket::Deleted => {
            if ticket_allows(f, Action::TicketRead, On::Ticket(facts)) {
                Ok(facts)
            } else {
                Err(hidden)
            }
        }
        _ => Err(hidden),
    }
}

fn ticket_history(f: &Facts, t: Ticket) -> Outcome {
    if t == Ticket::Deleted {
        let hidden = Outcome::NotFound(Entity::Ticket);
        return match ticket(t) {
            Some(last)
                if !is_requester(f) && ticket_allows(f, Action::TicketRead, On::Ticket(last)) =>
            {
                OK
            }
            _ => hidden,
        };
    }
    match readable(f, t) {
        Err(hidden) => hidden,
        Ok(_) => ok_if(!is_requester(f)),
    }
}

/// Key administration through the engine and the credential: never a token, through a key only
/// a superuser key with admin functions.
fn key_admin(f: &Facts, action: Action) -> bool {
    let credential = match f.cred {
        Cred::Direct => true,
        Cred::Key(k) => matches!(key(k), Some((KeyKind::Superuser, true, _))),
        Cred::Token(_) | Cred::Install(_) | Cred::Widget(_) => false,
    };
    credential && global(f, action)
}

/// Whether a key is within the principal's reach: any key for an administrator, else its own
/// agent keys.
fn reaches_key(f: &Facts, k: Key) -> bool {
    let Some((kind, _, _)) = key(k) else {
        return false;
    };
    is_admin(f) || matches!(f.person, Person::Agent(a) if kind == KeyKind::Agent(a))
}

/// The checks every key call shares: administration, then reach (out of reach reads like a
/// missing key).
fn administered_key(f: &Facts, action: Action, k: Key) -> Result<KeyKind, Outcome> {
    if !key_admin(f, action) {
        return Err(Denied);
    }
    if !reaches_key(f, k) {
        return Err(Outcome::NotFound(Entity::Key));
    }
    key(k)
        .map(|(kind, _, _)| kind)
        .ok_or(Outcome::NotFound(Entity::Key))
}

/// The same, for a change: a plugin install's key changes only with its install.
fn changed_key(f: &Facts, k: Key) -> Result<KeyKind, Outcome> {
    let kind = administered_key(f, Action::KeyManage, k)?;
    if matches!(k, Key::Install | Key::InstallMax) {
        return Err(Denied);
    }
    Ok(kind)
}

/// Whether a principal may issue a secret of this kind: no app identity, and a superuser key or
/// another agent's key only for an administrator.
fn issues(f: &Facts, kind: KeyKind, default_agent: Option<Agent>) -> bool {
    let app = |a: Agent| matches!(a, Agent::App | Agent::AppMax);
    match kind {
        KeyKind::Agent(a) if app(a) => false,
        KeyKind::Agent(a) => is_admin(f) || f.person == Person::Agent(a),
        KeyKind::Superuser => !default_agent.is_some_and(app) && is_admin(f),
    }
}

/// Whether a principal may read every event: the system, or an administrator whose
/// credentials carry every read scope and, through a key, admin functions.
fn reads_outbox(f: &Facts) -> bool {
    if !global(f, Action::EventRead) || !is_admin(f) {
        return false;
    }
    // Reading every event takes what administering keys takes (key events are among them),
    // and that is never through a token.
    let carries = READ_EVERYTHING.is_subset(layers(f));
    match f.cred {
        Cred::Direct => true,
        Cred::Key(k) => carries && matches!(key(k), Some((KeyKind::Superuser, true, _))),
        Cred::Token(_) | Cred::Install(_) | Cred::Widget(_) => false,
    }
}

/// Whether the principal is an install itself (its own principal or a widget of it).
fn is_install(f: &Facts, i: Install) -> bool {
    i != Install::Missing && matches!(f.cred, Cred::Install(own) | Cred::Widget(own) if own == i)
}

/// Plugin management of an existing install (`plugins.manage`), then whether the principal could
/// have made it: an administrator, or an install whose app identity is no administrator and
/// whose grant it holds.
fn manages_install(f: &Facts, i: Install, change: bool) -> Outcome {
    if !global(f, Action::PluginManage) {
        return Denied;
    }
    let Some((grant, app, _)) = install(i) else {
        return Outcome::NotFound(Entity::Install);
    };
    if change && !is_admin(f) && (agent(app).admin || !hands_out(f, grant)) {
        return Denied;
    }
    OK
}

/// The install itself, or a manager of it.
fn install_or_manager(f: &Facts, i: Install) -> Outcome {
    if is_install(f, i) {
        OK
    } else {
        manages_install(f, i, false)
    }
}

/// A target agent's rule: missing is not found, an app identity changes only with its install,
/// an administrator only by an administrator.
fn person_rule(f: &Facts, target: Option<Agent>, sets_admin: bool) -> Outcome {
    match target {
        None => Outcome::NotFound(Entity::Agent),
        Some(Agent::App | Agent::AppMax) => Denied,
        Some(a) => ok_if(is_admin(f) || !(agent(a).admin || sets_admin)),
    }
}

/// The outcome the contract promises for `op` called by `caller`.
pub(super) fn expect(caller: Caller, op: &Op) -> Outcome {
    let f = facts(caller);
    if f.revoked {
        return match op {
            Op::Decide(..) | Op::DecideGlobal(_) => Denied,
            _ => Revoked,
        };
    }
    let f = &f;
    match *op {
        Op::Ticket(t) => match readable(f, t) {
            Ok(_) => Outcome::Ok(Seen::Ticket {
                agent_only_fields: !is_requester(f),
            }),
            Err(hidden) => hidden,
        },
        Op::UpdateTicket(t, field) => match readable(f, t) {
            Err(hidden) => hidden,
            Ok(facts) => {
                let on = On::Ticket(facts);
                ok_if(match field {
                    Field::Subject | Field::Priority | Field::Tags | Field::Fields => {
                        ticket_allows(f, Action::TicketUpdate, on)
                    }
                    Field::Department => {
                        let to = On::New {
                            dept: other_dept(facts.dept),
                            requester: facts.requester,
                        };
                        ticket_allows(f, Action::TicketUpdate, on)
                            && ticket_allows(f, Action::TicketCreate, to)
                    }
                    Field::Assignee => ticket_allows(f, Action::TicketAssign, on),
                    Field::Status => ticket_allows(f, Action::TicketStatus, on),
                })
            }
        },
        Op::DeleteTicket(t) => match readable(f, t) {
            Err(hidden) => hidden,
            Ok(facts) => ok_if(ticket_allows(f, Action::TicketDelete, On::Ticket(facts))),
        },
        Op::AddMessage(t, message) => match readable(f, t) {
            Err(hidden) => hidden,
            Ok(facts) => {
                let on = On::Ticket(facts);
                // The system is no agent: a note it posts must name the agent who wrote it.
                if message == Message::Note && f.person == Person::System {
                    return Outcome::Invalid;
                }
                ok_if(match message {
                    Message::Reply => ticket_allows(f, Action::TicketReply, on),
                    Message::Note => ticket_allows(f, Action::TicketNote, on),
                    Message::ForRequester => {
                        for_requester(f, facts.requester, Action::TicketReply, on)
                    }
                    Message::ForAgent => f.person == Person::System,
                })
            }
        },
        Op::Messages(t) => match readable(f, t) {
            Err(hidden) => hidden,
            Ok(_) => Outcome::Ok(Seen::Messages {
                notes: !is_requester(f),
                credentials: !is_requester(f),
            }),
        },
        Op::TicketHistory(t) | Op::History(Subject::Ticket(t)) => ticket_history(f, t),
        Op::Search(search) => {
            let found = LIVE_TICKETS
                .into_iter()
                .filter(|&t| readable(f, t).is_ok())
                .filter(|_| !(search == Search::Notes && is_requester(f)))
                .map(|t| format!("{t:?}"))
                .collect();
            Outcome::Ok(Seen::Tickets(found))
        }
        Op::CreateTicket(create, dept) => create_ticket(f, create, dept),
        Op::ImportTickets { with_reply } => {
            let requester = self_requester(f);
            let new = On::New {
                dept: Dept::D1,
                requester,
            };
            let future = On::Ticket(TicketFacts {
                dept: Dept::D1,
                assignee: None,
                requester,
            });
            ok_if(
                ticket_allows(f, Action::TicketCreate, new)
                    && (!with_reply || ticket_allows(f, Action::TicketReply, future)),
            )
        }
        Op::Decide(action, t) => match ticket(t) {
            None => Denied,
            Some(facts) => {
                let on = if action == Action::TicketCreate {
                    On::New {
                        dept: facts.dept,
                        requester: facts.requester,
                    }
                } else {
                    On::Ticket(facts)
                };
                ok_if(ticket_allows(f, action, on))
            }
        },
        Op::DecideGlobal(action) => ok_if(global(f, action)),

        Op::Agents => ok_if(see(f, Action::AgentRead, Action::AgentManage)),
        Op::Agent(target) => match (see(f, Action::AgentRead, Action::AgentManage), target) {
            (false, _) => Denied,
            (true, None) => Outcome::NotFound(Entity::Agent),
            (true, Some(_)) => OK,
        },
        Op::CreateAgent { admin } => {
            ok_if(global(f, Action::AgentManage) && (!admin || is_admin(f)))
        }
        Op::UpdateAgent(target, change) => {
            if !global(f, Action::AgentManage) {
                return Denied;
            }
            person_rule(f, target, change == AgentChange::Promote)
        }
        Op::SetAgentRoles(target, roles) => {
            if !global(f, Action::RoleManage) {
                return Denied;
            }
            match person_rule(f, target, false) {
                outcome if outcome != OK => outcome,
                _ => ok_if(hands_out(f, role_set(roles))),
            }
        }
        Op::Roles => ok_if(see(f, Action::AgentRead, Action::RoleManage)),
        Op::CreateRole { held } => {
            let scopes = if held { LISTER_ROLE } else { UNHELD_GRANT };
            ok_if(global(f, Action::RoleManage) && hands_out(f, scopes))
        }
        Op::UpdateRole(role) => {
            let new = Scopes::of(&[Action::AgentRead, Action::DepartmentRead]);
            ok_if(global(f, Action::RoleManage) && hands_out(f, role_scopes(role).union(new)))
        }
        Op::DeleteRole(role) => {
            ok_if(global(f, Action::RoleManage) && hands_out(f, role_scopes(role)))
        }
        Op::Departments => ok_if(see(f, Action::DepartmentRead, Action::DepartmentManage)),
        Op::CreateDepartment => ok_if(global(f, Action::DepartmentManage)),
        Op::AddMember(target) | Op::RemoveMember(target) => {
            if !global(f, Action::DepartmentManage) {
                return Denied;
            }
            person_rule(f, target, false)
        }
        Op::Organizations => ok_if(see(f, Action::RequesterRead, Action::RequesterManage)),
        Op::CreateOrganization | Op::CreateRequester => ok_if(global(f, Action::RequesterManage)),
        Op::Requester(target) => {
            let own = matches!((f.person, target), (Person::Requester(me), Some(r)) if me == r);
            match (
                own,
                see(f, Action::RequesterRead, Action::RequesterManage),
                target,
            ) {
                (true, _, _) => OK,
                (false, false, _) => Denied,
                (false, true, None) => Outcome::NotFound(Entity::Requester),
                (false, true, Some(_)) => OK,
            }
        }
        Op::Fields => Outcome::Ok(Seen::Fields {
            agent_only: !is_requester(f),
        }),
        Op::CreateField => ok_if(global(f, Action::FieldManage)),
        Op::History(subject) => ok_if(match subject {
            Subject::Ticket(t) => return ticket_history(f, t),
            Subject::Agent => see(f, Action::AgentRead, Action::AgentManage),
            Subject::Department => see(f, Action::DepartmentRead, Action::DepartmentManage),
            Subject::Requester | Subject::Organization => {
                see(f, Action::RequesterRead, Action::RequesterManage)
            }
            Subject::Field => global(f, Action::FieldManage),
            Subject::Role => global(f, Action::RoleManage),
            Subject::Key(k) => {
                // An administrator reads the history of every key id, deleted keys' included,
                // so an id that never was a key has an empty history rather than none.
                if key_admin(f, Action::KeyManage) && is_admin(f) {
                    return OK;
                }
                return match administered_key(f, Action::KeyManage, k) {
                    Ok(_) => OK,
                    Err(refused) => refused,
                };
            }
        }),

        Op::Keys => {
            if !key_admin(f, Action::KeyManage) {
                return Denied;
            }
            let reached = ALL_KEYS
                .into_iter()
                .filter(|&k| reaches_key(f, k))
                .map(|k| format!("{k:?}"))
                .collect();
            Outcome::Ok(Seen::Keys(reached))
        }
        Op::Key(k) | Op::KeyLog(k) => {
            let action = if matches!(op, Op::KeyLog(_)) {
                Action::KeyLogs
            } else {
                Action::KeyManage
            };
            match administered_key(f, action, k) {
                Ok(_) => OK,
                Err(refused) => refused,
            }
        }
        Op::CreateKey(issue) => {
            if !key_admin(f, Action::KeyManage) {
                return Denied;
            }
            ok_if(match issue {
                Issue::OwnAgent => issues(f, KeyKind::Agent(self_agent(f)), None),
                Issue::OtherAgent => issues(f, KeyKind::Agent(Agent::Pat), None),
                Issue::AppAgent => issues(f, KeyKind::Agent(Agent::App), None),
                Issue::Superuser => issues(f, KeyKind::Superuser, None),
                Issue::SuperuserForApp => issues(f, KeyKind::Superuser, Some(Agent::App)),
            })
        }
        Op::UpdateKey(k) | Op::SetKeyEnabled(k) | Op::DeleteKey(k) => match changed_key(f, k) {
            Ok(_) => OK,
            Err(refused) => refused,
        },
        Op::UpdateKeyDefaultApp => match changed_key(f, Key::Super) {
            Ok(_) => Denied,
            Err(refused) => refused,
        },
        Op::RegenerateKey(k) => match changed_key(f, k) {
            Ok(kind) => ok_if(issues(f, kind, None)),
            Err(refused) => refused,
        },
        Op::MintToken(person) => ok_if(match (f.cred, person) {
            (_, TokenFor::App) => false,
            (Cred::Key(k), person) => match key(k) {
                Some((KeyKind::Superuser, _, _)) => true,
                Some((KeyKind::Agent(a), _, _)) => person == TokenFor::Agent(a),
                None => false,
            },
            _ => false,
        }),
        Op::RevokeToken(t) => {
            let Some(from) = token_key(t) else {
                return Outcome::NotFound(Entity::Token);
            };
            let own = match f.cred {
                Cred::Token(mine) => mine == t,
                Cred::Key(k) => k == from,
                _ => false,
            };
            let administers = key_admin(f, Action::KeyManage) && reaches_key(f, from);
            if own || administers {
                OK
            } else {
                Outcome::NotFound(Entity::Token)
            }
        }

        Op::RegisterConsumer(_)
        | Op::ReadEvents(_)
        | Op::AckEvents(_)
        | Op::RemoveConsumer(_)
        | Op::Consumers
            if !reads_outbox(f) =>
        {
            Denied
        }
        Op::RegisterConsumer(_) => OK,
        Op::ReadEvents(c) | Op::AckEvents(c) | Op::RemoveConsumer(c) => match c {
            Consumer::Own => OK,
            Consumer::Other | Consumer::Queue | Consumer::Missing => {
                Outcome::NotFound(Entity::Consumer)
            }
        },
        Op::Consumers => Outcome::Ok(Seen::Consumers(own_consumers(f))),

        Op::Plugins => ok_if(global(f, Action::PluginManage)),
        Op::Plugin(i) | Op::PluginSettings(i) | Op::Deliveries(i) => install_or_manager(f, i),
        Op::RecordDelivery => install_or_manager(f, Install::Main),
        Op::Wasm(i) | Op::Queue(i) | Op::DeadLetters(i) => manages_install(f, i, false),
        Op::InstallPlugin { held } => {
            let grant = if held { HELD_GRANT } else { UNHELD_GRANT };
            ok_if(global(f, Action::PluginManage) && hands_out(f, grant))
        }
        Op::EnablePlugin(i)
        | Op::DisablePlugin(i)
        | Op::UpgradePlugin(i)
        | Op::UninstallPlugin(i)
        | Op::SetPluginSetting(i)
        | Op::ReplayDeadLetters(i)
        | Op::ReplayEvents(i) => manages_install(f, i, true),
        Op::OwnPluginSetting(i) | Op::KvGet(i) | Op::KvSet(i) | Op::KvDelete(i) => {
            ok_if(is_install(f, i))
        }
    }
}

/// The permissions a set of roles grants together.
pub(super) fn role_set(roles: RoleSet) -> Scopes {
    match roles {
        RoleSet::Lister => role_scopes(Role::Lister),
        RoleSet::Tickets => role_scopes(Role::Tickets),
        RoleSet::Administrator => role_scopes(Role::Administrator),
    }
}

/// Writing in the requester's name: one's own name is no one else's; the system may; an agent
/// only if it may also update the ticket (recording the requester's words).
fn for_requester(f: &Facts, requester: Requester, action: Action, on: On) -> bool {
    match f.person {
        Person::System => true,
        Person::Requester(me) => me == requester && ticket_allows(f, action, on),
        Person::Agent(_) => {
            ticket_allows(f, action, on) && ticket_allows(f, Action::TicketUpdate, on)
        }
    }
}

fn create_ticket(f: &Facts, create: Create, dept: Dept) -> Outcome {
    let requester = if create == Create::ForOther {
        Requester::Sam
    } else {
        self_requester(f)
    };
    if !ticket_allows(f, Action::TicketCreate, On::New { dept, requester }) {
        return Denied;
    }
    let future = |assignee| {
        On::Ticket(TicketFacts {
            dept,
            assignee,
            requester,
        })
    };
    let plain = future(None);
    // As for a note on an existing ticket: the system's must name its agent.
    if create == Create::Note && f.person == Person::System {
        return Outcome::Invalid;
    }
    ok_if(match create {
        Create::Plain | Create::ForOther => true,
        Create::Priority | Create::Tags | Create::Fields => {
            ticket_allows(f, Action::TicketUpdate, plain)
        }
        Create::Assignee => ticket_allows(f, Action::TicketAssign, future(Some(assignee_in(dept)))),
        Create::Status => ticket_allows(f, Action::TicketStatus, plain),
        Create::Note => ticket_allows(f, Action::TicketNote, plain),
        Create::ForRequester => for_requester(f, requester, Action::TicketReply, plain),
    })
}
