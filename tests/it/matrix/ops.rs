//! Every public operation of the facade as data (`Op`, with its target), the list of them a
//! principal is tried with, and how each is called on a world.

use std::collections::BTreeSet;

use helpdesk::{
    AccessLevel, Action, AgentUpdate, Author, DeliveryPolicy, Error, FieldKind, FieldValue,
    HistorySubject, ImportTicket, KeyUpdate, MessageKind, NewAgent, NewFieldDefinition, NewInstall,
    NewMessage, NewRequester, NewTicket, NewToken, PluginManifest, Priority, Scopes, SearchQuery,
    StartFrom, Status, TicketUpdate, Upgrade,
};

use super::model::{self as m, Facts, Seen};
use super::world::World;

/// A ticket target: the requester's own (in D1, assigned to the only-assigned agent), another
/// requester's in D1, one in D2, a deleted one and a missing id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Ticket {
    Own,
    Other,
    Foreign,
    Deleted,
    Missing,
}

/// The kinds of ticket change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Field {
    Subject,
    Priority,
    Tags,
    Fields,
    Department,
    Assignee,
    Status,
}

/// The kinds of message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Message {
    Reply,
    Note,
    /// A reply in the name of the ticket's requester.
    ForRequester,
    /// A note in the name of another agent (Pat).
    ForAgent,
}

/// The searches: everything, a word only a note holds, a word only a reply holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Search {
    All,
    Notes,
    Replies,
}

/// The kinds of new ticket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Create {
    Plain,
    Priority,
    Tags,
    Fields,
    Assignee,
    Status,
    /// Starting with an internal note.
    Note,
    /// Starting with a reply in the requester's name.
    ForRequester,
    /// For another requester (Sam) than the principal's own.
    ForOther,
}

/// The records whose history is read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Subject {
    Ticket(Ticket),
    /// Pat.
    Agent,
    /// D1.
    Department,
    /// Sam.
    Requester,
    /// Acme.
    Organization,
    /// The `order` field.
    Field,
    /// The `lister` role.
    Role,
    Key(Key),
}

/// The kinds of agent change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum AgentChange {
    Rename,
    /// Sets the admin flag.
    Promote,
    Disable,
}

/// The role sets given with `set_agent_roles`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum RoleSet {
    Lister,
    Tickets,
    Administrator,
}

/// The keys of the world, and a missing id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Key {
    /// Cid's agent key, with a few ticket scopes.
    Change,
    /// Pat's agent key.
    Pat,
    /// A superuser key with every scope and no admin functions.
    Super,
    /// A superuser key with every scope and admin functions.
    AdminFn,
    /// Max's agent key.
    Max,
    /// Cid's key that held principals come through.
    Held,
    /// Cid's key that expires an hour after the start.
    Expiring,
    /// The system's install's key.
    Install,
    /// Max's install's key.
    InstallMax,
    Missing,
}

/// The kinds of key issued with `create_key`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Issue {
    /// An agent key for the principal's own agent (Cid for principals without one).
    OwnAgent,
    /// An agent key for Pat.
    OtherAgent,
    /// An agent key for the app identity.
    AppAgent,
    Superuser,
    /// A superuser key whose default agent is the app identity.
    SuperuserForApp,
}

/// The access tokens of the world, and a missing id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Token {
    /// From the admin-functions key, for Ada: the token principal's own.
    Admin,
    /// From Cid's agent key, for Cid.
    Change,
    /// From the superuser key, for Rex.
    Portal,
    /// From Max's key, for Max.
    Max,
    Missing,
}

/// Who a token is minted for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TokenFor {
    Agent(m::Agent),
    Requester(m::Requester),
    App,
}

/// An outbox consumer target: the principal's own, another owner's, the install's queue, and
/// a name nobody registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Consumer {
    Own,
    Other,
    Queue,
    Missing,
}

/// The installs: the system's (its app identity an administrator), Max's, and a missing id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) enum Install {
    Main,
    Managers,
    Missing,
}

/// One call of a public facade operation, with its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Op {
    Ticket(Ticket),
    UpdateTicket(Ticket, Field),
    DeleteTicket(Ticket),
    AddMessage(Ticket, Message),
    Messages(Ticket),
    TicketHistory(Ticket),
    History(Subject),
    Search(Search),
    CreateTicket(Create, m::Dept),
    ImportTickets {
        with_reply: bool,
    },
    Decide(Action, Ticket),
    /// `decide_global`, for an action that is not about one ticket.
    DecideGlobal(Action),

    Agents,
    /// `None`: a missing id.
    Agent(Option<m::Agent>),
    CreateAgent {
        admin: bool,
    },
    UpdateAgent(Option<m::Agent>, AgentChange),
    SetAgentRoles(Option<m::Agent>, RoleSet),
    Roles,
    /// `held`: with a permission Max holds (`agents.read`), else one he does not.
    CreateRole {
        held: bool,
    },
    UpdateRole(m::Role),
    DeleteRole(m::Role),
    Departments,
    CreateDepartment,
    /// Into D1 at `read`.
    AddMember(Option<m::Agent>),
    /// From D2.
    RemoveMember(Option<m::Agent>),
    Organizations,
    CreateOrganization,
    CreateRequester,
    Requester(Option<m::Requester>),
    Fields,
    CreateField,

    Keys,
    Key(Key),
    CreateKey(Issue),
    UpdateKey(Key),
    /// The superuser key's default agent set to the app identity.
    UpdateKeyDefaultApp,
    RegenerateKey(Key),
    SetKeyEnabled(Key),
    DeleteKey(Key),
    KeyLog(Key),
    MintToken(TokenFor),
    RevokeToken(Token),

    RegisterConsumer(Consumer),
    ReadEvents(Consumer),
    AckEvents(Consumer),
    RemoveConsumer(Consumer),
    Consumers,

    Plugins,
    Plugin(Install),
    /// `held`: a grant Max holds, else one he does not.
    InstallPlugin {
        held: bool,
    },
    EnablePlugin(Install),
    DisablePlugin(Install),
    UpgradePlugin(Install),
    UninstallPlugin(Install),
    PluginSettings(Install),
    SetPluginSetting(Install),
    OwnPluginSetting(Install),
    KvGet(Install),
    KvSet(Install),
    KvDelete(Install),
    Deliveries(Install),
    /// A delivery of the system's install recorded as delivered.
    RecordDelivery,
    Queue(Install),
    DeadLetters(Install),
    ReplayDeadLetters(Install),
    ReplayEvents(Install),
    Wasm(Install),
}

const TICKETS: [Ticket; 5] = [
    Ticket::Own,
    Ticket::Other,
    Ticket::Foreign,
    Ticket::Deleted,
    Ticket::Missing,
];

const TICKET_ACTIONS: [Action; 8] = [
    Action::TicketRead,
    Action::TicketCreate,
    Action::TicketUpdate,
    Action::TicketAssign,
    Action::TicketStatus,
    Action::TicketDelete,
    Action::TicketReply,
    Action::TicketNote,
];

const KEY_TARGETS: [Key; 6] = [
    Key::Change,
    Key::Pat,
    Key::Super,
    Key::Max,
    Key::Install,
    Key::Missing,
];

const INSTALLS: [Install; 3] = [Install::Main, Install::Managers, Install::Missing];

/// Every operation with every target, for the principal `f` (whose own requester, agent and
/// consumer some targets are).
pub(super) fn all(f: &Facts) -> Vec<Op> {
    use Op::*;
    let mut ops = Vec::new();
    for t in TICKETS {
        ops.extend([Ticket(t), DeleteTicket(t), Messages(t), TicketHistory(t)]);
        ops.push(History(Subject::Ticket(t)));
        for field in [
            Field::Subject,
            Field::Priority,
            Field::Tags,
            Field::Fields,
            Field::Department,
            Field::Assignee,
            Field::Status,
        ] {
            ops.push(UpdateTicket(t, field));
        }
        for message in [
            Message::Reply,
            Message::Note,
            Message::ForRequester,
            Message::ForAgent,
        ] {
            ops.push(AddMessage(t, message));
        }
        if t != self::Ticket::Missing {
            ops.extend(TICKET_ACTIONS.map(|action| Decide(action, t)));
        }
    }
    let global = Action::ALL.iter().filter(|a| !TICKET_ACTIONS.contains(a));
    ops.extend(global.map(|&action| DecideGlobal(action)));
    ops.extend([Search(self::Search::All), Search(self::Search::Notes)]);
    ops.push(Search(self::Search::Replies));
    for create in [
        Create::Plain,
        Create::Priority,
        Create::Tags,
        Create::Fields,
        Create::Assignee,
        Create::Status,
        Create::Note,
        Create::ForRequester,
        Create::ForOther,
    ] {
        ops.extend([m::Dept::D1, m::Dept::D2].map(|dept| CreateTicket(create, dept)));
    }
    ops.extend([
        ImportTickets { with_reply: false },
        ImportTickets { with_reply: true },
    ]);

    let people = [
        Some(m::Agent::Abe),
        Some(m::Agent::Pat),
        Some(m::Agent::App),
        None,
    ];
    ops.extend([Agents, Roles, Departments, Organizations, Fields]);
    ops.extend([
        CreateDepartment,
        CreateOrganization,
        CreateRequester,
        CreateField,
    ]);
    ops.extend([CreateAgent { admin: false }, CreateAgent { admin: true }]);
    for target in people {
        ops.extend([Agent(target), AddMember(target), RemoveMember(target)]);
        for change in [
            AgentChange::Rename,
            AgentChange::Promote,
            AgentChange::Disable,
        ] {
            ops.push(UpdateAgent(target, change));
        }
        for roles in [RoleSet::Lister, RoleSet::Tickets, RoleSet::Administrator] {
            ops.push(SetAgentRoles(target, roles));
        }
    }
    ops.extend([CreateRole { held: true }, CreateRole { held: false }]);
    for role in [m::Role::Lister, m::Role::Tickets] {
        ops.extend([UpdateRole(role), DeleteRole(role)]);
    }
    let own = m::self_requester(f);
    ops.extend([Some(own), Some(m::Requester::Sam), None].map(Requester));
    for subject in [
        Subject::Agent,
        Subject::Department,
        Subject::Requester,
        Subject::Organization,
        Subject::Field,
        Subject::Role,
    ] {
        ops.push(History(subject));
    }

    ops.extend([Keys, UpdateKeyDefaultApp]);
    for k in KEY_TARGETS {
        ops.extend([Key(k), UpdateKey(k), RegenerateKey(k), SetKeyEnabled(k)]);
        ops.extend([DeleteKey(k), KeyLog(k), History(Subject::Key(k))]);
    }
    for issue in [
        Issue::OwnAgent,
        Issue::OtherAgent,
        Issue::AppAgent,
        Issue::Superuser,
        Issue::SuperuserForApp,
    ] {
        ops.push(CreateKey(issue));
    }
    ops.extend([
        MintToken(TokenFor::Agent(m::Agent::Cid)),
        MintToken(TokenFor::Requester(m::Requester::Rex)),
        MintToken(TokenFor::App),
    ]);
    for t in [
        self::Token::Admin,
        self::Token::Change,
        self::Token::Portal,
        self::Token::Max,
        self::Token::Missing,
    ] {
        ops.push(RevokeToken(t));
    }

    ops.push(Consumers);
    for c in [
        Consumer::Own,
        Consumer::Other,
        Consumer::Queue,
        Consumer::Missing,
    ] {
        ops.extend([
            RegisterConsumer(c),
            ReadEvents(c),
            AckEvents(c),
            RemoveConsumer(c),
        ]);
    }

    ops.extend([
        Plugins,
        RecordDelivery,
        InstallPlugin { held: true },
        InstallPlugin { held: false },
    ]);
    for i in INSTALLS {
        ops.extend([
            Plugin(i),
            EnablePlugin(i),
            DisablePlugin(i),
            UpgradePlugin(i),
        ]);
        ops.extend([UninstallPlugin(i), PluginSettings(i), SetPluginSetting(i)]);
        ops.extend([OwnPluginSetting(i), KvGet(i), KvSet(i), KvDelete(i)]);
        ops.extend([
            Deliveries(i),
            Queue(i),
            DeadLetters(i),
            ReplayDeadLetters(i),
        ]);
        ops.extend([ReplayEvents(i), Wasm(i)]);
    }
    ops
}

impl Op {
    /// The same call on a missing id, for calls that name a ticket, key, token, consumer or
    /// install.
    pub(super) fn on_missing(&self) -> Option<Op> {
        use Op::*;
        let t = self::Ticket::Missing;
        let k = self::Key::Missing;
        let i = self::Install::Missing;
        let missing = match *self {
            Ticket(_) => Ticket(t),
            UpdateTicket(_, field) => UpdateTicket(t, field),
            DeleteTicket(_) => DeleteTicket(t),
            AddMessage(_, message) => AddMessage(t, message),
            Messages(_) => Messages(t),
            TicketHistory(_) => TicketHistory(t),
            History(Subject::Ticket(_)) => History(Subject::Ticket(t)),
            History(Subject::Key(_)) => History(Subject::Key(k)),
            Key(_) => Key(k),
            UpdateKey(_) => UpdateKey(k),
            RegenerateKey(_) => RegenerateKey(k),
            SetKeyEnabled(_) => SetKeyEnabled(k),
            DeleteKey(_) => DeleteKey(k),
            KeyLog(_) => KeyLog(k),
            RevokeToken(_) => RevokeToken(self::Token::Missing),
            ReadEvents(_) => ReadEvents(Consumer::Missing),
            AckEvents(_) => AckEvents(Consumer::Missing),
            RemoveConsumer(_) => RemoveConsumer(Consumer::Missing),
            Plugin(_) => Plugin(i),
            EnablePlugin(_) => EnablePlugin(i),
            DisablePlugin(_) => DisablePlugin(i),
            UpgradePlugin(_) => UpgradePlugin(i),
            UninstallPlugin(_) => UninstallPlugin(i),
            PluginSettings(_) => PluginSettings(i),
            SetPluginSetting(_) => SetPluginSetting(i),
            Deliveries(_) => Deliveries(i),
            Queue(_) => Queue(i),
            DeadLetters(_) => DeadLetters(i),
            ReplayDeadLetters(_) => ReplayDeadLetters(i),
            ReplayEvents(_) => ReplayEvents(i),
            Wasm(_) => Wasm(i),
            _ => return None,
        };
        (missing != *self).then_some(missing)
    }

    /// The text that names the call's target in a not-found message: its id, or the consumer's
    /// name.
    pub(super) fn target_text(&self, w: &World<'_>, f: &Facts) -> Option<String> {
        use Op::*;
        let ids = w.ids;
        Some(match *self {
            Ticket(t)
            | UpdateTicket(t, _)
            | DeleteTicket(t)
            | AddMessage(t, _)
            | Messages(t)
            | TicketHistory(t)
            | History(Subject::Ticket(t)) => ids.ticket(t).to_string(),
            History(Subject::Key(k))
            | Key(k)
            | UpdateKey(k)
            | RegenerateKey(k)
            | SetKeyEnabled(k)
            | DeleteKey(k)
            | KeyLog(k) => ids.key(k).to_string(),
            RevokeToken(t) => ids.token(t).to_string(),
            ReadEvents(c) | AckEvents(c) | RemoveConsumer(c) => consumer_name(w, f, c),
            Plugin(i) | EnablePlugin(i) | DisablePlugin(i) | UpgradePlugin(i)
            | UninstallPlugin(i) | PluginSettings(i) | SetPluginSetting(i) | Deliveries(i)
            | Queue(i) | DeadLetters(i) | ReplayDeadLetters(i) | ReplayEvents(i) | Wasm(i) => {
                ids.install(i).to_string()
            }
            _ => return None,
        })
    }

    /// Whether a successful call may change the world (so the next case needs a fresh copy).
    pub(super) fn mutates(&self) -> bool {
        use Op::*;
        !matches!(
            self,
            Ticket(_)
                | Messages(_)
                | TicketHistory(_)
                | History(_)
                | Search(_)
                | Decide(..)
                | DecideGlobal(_)
                | Agents
                | Agent(_)
                | Roles
                | Departments
                | Organizations
                | Requester(_)
                | Fields
                | Keys
                | Key(_)
                | KeyLog(_)
                | ReadEvents(_)
                | Consumers
                | Plugins
                | Plugin(_)
                | PluginSettings(_)
                | OwnPluginSetting(_)
                | KvGet(_)
                | Queue(_)
                | DeadLetters(_)
                | Wasm(_)
        )
    }
}

fn consumer_name(w: &World<'_>, f: &Facts, c: Consumer) -> String {
    match c {
        Consumer::Own => m::own_consumer(f).to_owned(),
        Consumer::Other => m::other_consumer(f).to_owned(),
        Consumer::Queue => format!("plugin-{}", w.ids.install(Install::Main)),
        Consumer::Missing => "nobody-here".to_owned(),
    }
}

fn done<T>(_: T) -> Seen {
    Seen::Done
}

/// Calls `op` on world `w` as `caller`.
pub(super) fn run(w: &World<'_>, caller: m::Caller, op: &Op) -> helpdesk::Result<Seen> {
    let f = m::facts(caller);
    let p = &w.principal(caller);
    let desk = &w.desk;
    let ids = w.ids;
    let facts_of = |t: Ticket| {
        m::ticket(t).unwrap_or(m::TicketFacts {
            dept: m::Dept::D1,
            assignee: None,
            requester: m::Requester::Rex,
        })
    };
    match *op {
        Op::Ticket(t) => desk.ticket(p, ids.ticket(t)).map(|t| Seen::Ticket {
            agent_only_fields: t.fields.contains_key("score"),
        }),
        Op::UpdateTicket(t, field) => {
            let facts = facts_of(t);
            let mut update = TicketUpdate::default();
            match field {
                Field::Subject => update.subject = Some("Renamed by the matrix".into()),
                Field::Priority => update.priority = Some(Priority::High),
                Field::Tags => update.add_tags = vec!["vip".into()],
                Field::Fields => {
                    let value = Some(FieldValue::Text("B-2".into()));
                    update.fields.insert("order".into(), value);
                }
                Field::Department => {
                    update.department = Some(ids.dept(m::other_dept(facts.dept)));
                }
                Field::Assignee => {
                    update.assignee = Some(Some(ids.agent(m::assignee_in(facts.dept))));
                }
                Field::Status => update.status = Some(Status::Pending),
            }
            desk.update_ticket(p, ids.ticket(t), ids.version(t), update)
                .map(done)
        }
        Op::DeleteTicket(t) => desk.delete_ticket(p, ids.ticket(t)).map(done),
        Op::AddMessage(t, message) => {
            let requester = ids.requester(facts_of(t).requester);
            let new =
                match message {
                    Message::Reply => NewMessage::reply("A reply from the matrix"),
                    Message::Note => NewMessage::note("A note from the matrix"),
                    Message::ForRequester => NewMessage::reply("In the requester's words")
                        .by(Author::Requester(requester)),
                    Message::ForAgent => NewMessage::note("In Pat's words")
                        .by(Author::Agent(ids.agent(m::Agent::Pat))),
                };
            desk.add_message(p, ids.ticket(t), new).map(done)
        }
        Op::Messages(t) => desk.messages(p, ids.ticket(t)).map(|messages| {
            let by = |m: &helpdesk::Message| {
                m.posted_by.key.is_some()
                    || m.posted_by.token.is_some()
                    || m.posted_by.install.is_some()
            };
            Seen::Messages {
                notes: messages.iter().any(|m| m.kind == MessageKind::Note),
                credentials: messages.iter().any(by),
            }
        }),
        Op::TicketHistory(t) => desk.ticket_history(p, ids.ticket(t)).map(done),
        Op::History(subject) => desk.history(p, history_subject(w, subject)).map(done),
        Op::Search(search) => {
            let query = SearchQuery {
                text: match search {
                    Search::All => None,
                    Search::Notes => Some("zebra".into()),
                    Search::Replies => Some("walrus".into()),
                },
                limit: Some(100),
                ..SearchQuery::default()
            };
            desk.search(p, &query).map(|page| {
                let names = page.tickets.iter().map(|t| ids.ticket_name(t.id)).collect();
                Seen::Tickets(names)
            })
        }
        Op::CreateTicket(create, dept) => {
            let requester = match create {
                Create::ForOther => m::Requester::Sam,
                _ => m::self_requester(&f),
            };
            let requester = ids.requester(requester);
            let mut new = NewTicket::new("Opened by the matrix", ids.dept(dept), requester);
            match create {
                Create::Plain | Create::ForOther => {}
                Create::Priority => new.priority = Some(Priority::High),
                Create::Tags => new.tags = vec!["vip".into()],
                Create::Fields => {
                    new.fields
                        .insert("order".into(), FieldValue::Text("A-2".into()));
                }
                Create::Assignee => new.assignee = Some(ids.agent(m::assignee_in(dept))),
                Create::Status => new.status = Some(Status::Pending),
                Create::Note => new.message = Some(NewMessage::note("A first note")),
                Create::ForRequester => {
                    let words = NewMessage::reply("In the requester's words");
                    new.message = Some(words.by(Author::Requester(requester)));
                }
            }
            desk.create_ticket(p, new).map(done)
        }
        Op::ImportTickets { with_reply } => {
            let requester = ids.requester(m::self_requester(&f));
            let ticket = NewTicket::new("Imported by the matrix", ids.dept(m::Dept::D1), requester);
            let mut messages = Vec::new();
            if with_reply {
                messages.push(NewMessage::reply("An imported reply"));
            }
            let import = ImportTicket {
                ticket,
                messages,
                created_at: None,
            };
            desk.import_tickets(p, vec![import]).map(done)
        }
        Op::Decide(action, t) => match desk.decide(p, action, &ids.attributes(t)) {
            Ok(()) => Ok(Seen::Done),
            Err(denied) => Err(Error::Denied(denied)),
        },
        Op::DecideGlobal(action) => match desk.decide_global(p, action) {
            Ok(()) => Ok(Seen::Done),
            Err(denied) => Err(Error::Denied(denied)),
        },

        Op::Agents => desk.agents(p).map(done),
        Op::Agent(target) => desk.agent(p, ids.agent_or_missing(target)).map(done),
        Op::CreateAgent { admin } => {
            let new = NewAgent {
                name: "Newt".into(),
                email: "newt@example.com".into(),
                admin,
            };
            desk.create_agent(p, new).map(done)
        }
        Op::UpdateAgent(target, change) => {
            let mut update = AgentUpdate::default();
            match change {
                AgentChange::Rename => update.name = Some("Renamed".into()),
                AgentChange::Promote => update.admin = Some(true),
                AgentChange::Disable => update.active = Some(false),
            }
            desk.update_agent(p, ids.agent_or_missing(target), update)
                .map(done)
        }
        Op::SetAgentRoles(target, roles) => {
            let roles = match roles {
                RoleSet::Lister => ids.role(m::Role::Lister),
                RoleSet::Tickets => ids.role(m::Role::Tickets),
                RoleSet::Administrator => ids.role(m::Role::Administrator),
            };
            desk.set_agent_roles(p, ids.agent_or_missing(target), &[roles])
                .map(done)
        }
        Op::Roles => desk.roles(p).map(done),
        Op::CreateRole { held } => {
            let names: &[&str] = if held {
                &["agents.read"]
            } else {
                &["tickets.delete"]
            };
            desk.create_role(p, "Matrix role", names).map(done)
        }
        Op::UpdateRole(role) => desk
            .update_role(p, ids.role(role), &["agents.read", "departments.read"])
            .map(done),
        Op::DeleteRole(role) => desk.delete_role(p, ids.role(role)).map(done),
        Op::Departments => desk.departments(p).map(done),
        Op::CreateDepartment => desk.create_department(p, "Sales").map(done),
        Op::AddMember(target) => desk
            .add_member(
                p,
                ids.dept(m::Dept::D1),
                ids.agent_or_missing(target),
                AccessLevel::Read,
            )
            .map(done),
        Op::RemoveMember(target) => desk
            .remove_member(p, ids.dept(m::Dept::D2), ids.agent_or_missing(target))
            .map(done),
        Op::Organizations => desk.organizations(p).map(done),
        Op::CreateOrganization => desk.create_organization(p, "Initech", false).map(done),
        Op::CreateRequester => {
            let new = NewRequester {
                name: "Newman".into(),
                email: "newman@example.org".into(),
                organization: None,
            };
            desk.create_requester(p, new).map(done)
        }
        Op::Requester(target) => desk
            .requester(p, ids.requester_or_missing(target))
            .map(done),
        Op::Fields => desk.fields(p).map(|fields| Seen::Fields {
            agent_only: fields.iter().any(|d| d.key == "score"),
        }),
        Op::CreateField => {
            let new = NewFieldDefinition {
                key: "region".into(),
                label: "Region".into(),
                kind: FieldKind::Text,
                agent_only: false,
            };
            desk.create_field(p, new).map(done)
        }

        Op::Keys => desk
            .keys(p)
            .map(|keys| Seen::Keys(keys.iter().map(|k| ids.key_name(k.id)).collect())),
        Op::Key(k) => desk.key(p, ids.key(k)).map(done),
        Op::CreateKey(issue) => {
            let scopes = Scopes::of(&[Action::TicketRead]);
            let app = ids.agent(m::Agent::App);
            let new = match issue {
                Issue::OwnAgent => {
                    helpdesk::NewKey::agent("Matrix key", ids.agent(m::self_agent(&f)), scopes)
                }
                Issue::OtherAgent => {
                    helpdesk::NewKey::agent("Matrix key", ids.agent(m::Agent::Pat), scopes)
                }
                Issue::AppAgent => helpdesk::NewKey::agent("Matrix key", app, scopes),
                Issue::Superuser => helpdesk::NewKey::superuser("Matrix key", None, scopes),
                Issue::SuperuserForApp => {
                    helpdesk::NewKey::superuser("Matrix key", Some(app), scopes)
                }
            };
            desk.create_key(p, new).map(done)
        }
        Op::UpdateKey(k) => {
            let update = KeyUpdate {
                description: Some("Renamed by the matrix".into()),
                ..KeyUpdate::default()
            };
            desk.update_key(p, ids.key(k), update).map(done)
        }
        Op::UpdateKeyDefaultApp => {
            let update = KeyUpdate {
                default_agent: Some(Some(ids.agent(m::Agent::App))),
                ..KeyUpdate::default()
            };
            desk.update_key(p, ids.key(Key::Super), update).map(done)
        }
        Op::RegenerateKey(k) => desk.regenerate_key(p, ids.key(k), None).map(done),
        Op::SetKeyEnabled(k) => desk.set_key_enabled(p, ids.key(k), false).map(done),
        Op::DeleteKey(k) => desk.delete_key(p, ids.key(k)).map(done),
        Op::KeyLog(k) => desk.key_log(p, ids.key(k)).map(done),
        Op::MintToken(person) => {
            let token = match person {
                TokenFor::Agent(a) => NewToken::for_agent(ids.agent(a)),
                TokenFor::Requester(r) => NewToken::for_requester(ids.requester(r)),
                TokenFor::App => NewToken::for_agent(ids.agent(m::Agent::App)),
            };
            desk.mint_token(p, token).map(done)
        }
        Op::RevokeToken(t) => desk.revoke_token(p, ids.token(t)).map(done),

        Op::RegisterConsumer(c) => desk
            .register_consumer(p, &consumer_name(w, &f, c), StartFrom::Now)
            .map(done),
        Op::ReadEvents(c) => desk.read_events(p, &consumer_name(w, &f, c), 10).map(done),
        Op::AckEvents(c) => desk
            .ack_events(p, &consumer_name(w, &f, c), ids.head)
            .map(done),
        Op::RemoveConsumer(c) => desk.remove_consumer(p, &consumer_name(w, &f, c)).map(done),
        Op::Consumers => desk.consumers(p).map(|consumers| {
            Seen::Consumers(
                consumers
                    .into_iter()
                    .map(|c| c.name)
                    .collect::<BTreeSet<_>>(),
            )
        }),

        Op::Plugins => desk.plugins(p).map(done),
        Op::Plugin(i) => desk.plugin(p, ids.install(i)).map(done),
        Op::InstallPlugin { held } => {
            let permission = if held {
                "tickets.read"
            } else {
                "tickets.delete"
            };
            let manifest = PluginManifest::from_toml(&format!(
                "id = \"newcomer\"\nname = \"Newcomer\"\nversion = \"1.0.0\"\n\
                 api-version = \"0.1.0\"\npermissions = [\"{permission}\"]\n"
            ))?;
            let new = NewInstall::granting_all(manifest, b"\0asm newcomer".to_vec())?;
            desk.install_plugin(p, new).map(done)
        }
        Op::EnablePlugin(i) => desk.enable_plugin(p, ids.install(i)).map(done),
        Op::DisablePlugin(i) => desk.disable_plugin(p, ids.install(i)).map(done),
        Op::UpgradePlugin(i) => {
            let mut manifest = ids.manifest(i).clone();
            manifest.version = "1.0.1".into();
            let upgrade = Upgrade {
                manifest,
                wasm: b"\0asm upgraded".to_vec(),
                grant: None,
            };
            desk.upgrade_plugin(p, ids.install(i), upgrade).map(done)
        }
        Op::UninstallPlugin(i) => desk.uninstall_plugin(p, ids.install(i)).map(done),
        Op::PluginSettings(i) => desk.plugin_settings(p, ids.install(i)).map(done),
        Op::SetPluginSetting(i) => desk
            .set_plugin_setting(p, ids.install(i), "title", Some("Renamed"), None)
            .map(done),
        Op::OwnPluginSetting(i) => desk
            .own_plugin_setting(p, ids.install(i), "title", None)
            .map(done),
        Op::KvGet(i) => desk.plugin_kv_get(p, ids.install(i), "k").map(done),
        Op::KvSet(i) => desk.plugin_kv_set(p, ids.install(i), "k", b"w").map(done),
        Op::KvDelete(i) => desk.plugin_kv_delete(p, ids.install(i), "k").map(done),
        Op::Deliveries(i) => desk.plugin_deliveries(p, ids.install(i), 10).map(done),
        Op::RecordDelivery => desk
            .record_delivery(p, &w.delivery, Ok(()), &DeliveryPolicy::default())
            .map(done),
        Op::Queue(i) => desk.plugin_queue(p, ids.install(i)).map(done),
        Op::DeadLetters(i) => desk.plugin_dead_letters(p, ids.install(i)).map(done),
        Op::ReplayDeadLetters(i) => desk.replay_dead_letters(p, ids.install(i), None).map(done),
        Op::ReplayEvents(i) => desk.replay_plugin_events(p, ids.install(i), 0).map(done),
        Op::Wasm(i) => desk.plugin_wasm(p, ids.install(i)).map(done),
    }
}

fn history_subject(w: &World<'_>, subject: Subject) -> HistorySubject {
    let ids = w.ids;
    match subject {
        Subject::Ticket(t) => HistorySubject::Ticket(ids.ticket(t)),
        Subject::Agent => HistorySubject::Agent(ids.agent(m::Agent::Pat)),
        Subject::Department => HistorySubject::Department(ids.dept(m::Dept::D1)),
        Subject::Requester => HistorySubject::Requester(ids.requester(m::Requester::Sam)),
        Subject::Organization => HistorySubject::Organization(ids.acme),
        Subject::Field => HistorySubject::Field(ids.order_field),
        Subject::Role => HistorySubject::Role(ids.role(m::Role::Lister)),
        Subject::Key(k) => HistorySubject::Key(ids.key(k)),
    }
}
