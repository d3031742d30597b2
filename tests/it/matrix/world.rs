//! The matrix's world: a template database built once with the model's cast, copies of it
//! opened for the cases with every principal made afresh, and the fingerprint that tells
//! whether a refused call changed anything.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail, ensure};
use helpdesk::{
    AccessLevel, ActAs, AgentId, AgentUpdate, Delivery, DeliveryPolicy, DepartmentId, Durability,
    FieldId, FieldKind, FieldValue, Helpdesk, InstallId, KeyId, KeyUpdate, ManualClock, NewAgent,
    NewFieldDefinition, NewInstall, NewMessage, NewRequester, NewTicket, NewToken, Options,
    OrganizationId, PluginManifest, Principal, RequesterId, RoleId, Scopes, SearchQuery,
    SecretHashing, StartFrom, SystemHandle, TicketAttributes, TicketId, TokenId,
};
use helpdesk_tests::START;

use super::model::{self as m, Caller, Cred, Facts, Held, Person, Revocation};
use super::ops::{Install, Key, Ticket, Token};

/// The id every "missing" target uses: no record of any kind has it.
const MISSING: i64 = 987_654;

const MINUTE: i64 = 60_000;

/// The ids of the cast in the template (and so in every copy of it).
#[derive(Debug)]
pub(super) struct Ids {
    agents: BTreeMap<m::Agent, AgentId>,
    requesters: BTreeMap<m::Requester, RequesterId>,
    depts: BTreeMap<m::Dept, DepartmentId>,
    pub(super) acme: OrganizationId,
    tickets: BTreeMap<Ticket, (TicketId, u64)>,
    keys: BTreeMap<Key, (KeyId, String)>,
    tokens: BTreeMap<Token, (TokenId, String)>,
    installs: BTreeMap<Install, (InstallId, PluginManifest)>,
    roles: BTreeMap<m::Role, RoleId>,
    pub(super) order_field: FieldId,
    /// The outbox's newest event in the template: what acknowledging "everything" names.
    pub(super) head: u64,
}

impl Ids {
    pub(super) fn agent(&self, a: m::Agent) -> AgentId {
        self.agents[&a]
    }

    pub(super) fn agent_or_missing(&self, a: Option<m::Agent>) -> AgentId {
        a.map_or(AgentId::new(MISSING), |a| self.agent(a))
    }

    pub(super) fn requester(&self, r: m::Requester) -> RequesterId {
        self.requesters[&r]
    }

    pub(super) fn requester_or_missing(&self, r: Option<m::Requester>) -> RequesterId {
        r.map_or(RequesterId::new(MISSING), |r| self.requester(r))
    }

    pub(super) fn dept(&self, d: m::Dept) -> DepartmentId {
        self.depts[&d]
    }

    pub(super) fn ticket(&self, t: Ticket) -> TicketId {
        self.tickets[&t].0
    }

    /// The version a ticket is at in the template.
    pub(super) fn version(&self, t: Ticket) -> u64 {
        self.tickets[&t].1
    }

    /// A ticket's name, for comparing search pages with the model's.
    pub(super) fn ticket_name(&self, id: TicketId) -> String {
        let found = self.tickets.iter().find(|(_, (tid, _))| *tid == id);
        found.map_or_else(|| format!("unknown ticket {id}"), |(t, _)| format!("{t:?}"))
    }

    /// A ticket's attributes for `decide`: the live ones, or the deleted ticket's last.
    pub(super) fn attributes(&self, t: Ticket) -> TicketAttributes {
        let facts = m::ticket(t).unwrap_or(m::TicketFacts {
            dept: m::Dept::D1,
            assignee: None,
            requester: m::Requester::Rex,
        });
        let organization = match facts.requester {
            m::Requester::Sam | m::Requester::Sue => Some(self.acme),
            m::Requester::Rex => None,
        };
        TicketAttributes {
            department: self.dept(facts.dept),
            assignee: facts.assignee.map(|a| self.agent(a)),
            requester: self.requester(facts.requester),
            organization,
        }
    }

    pub(super) fn key(&self, k: Key) -> KeyId {
        self.keys[&k].0
    }

    fn key_header(&self, k: Key) -> &str {
        &self.keys[&k].1
    }

    /// A key's name, for comparing listings with the model's.
    pub(super) fn key_name(&self, id: KeyId) -> String {
        let found = self.keys.iter().find(|(_, (kid, _))| *kid == id);
        found.map_or_else(|| format!("unknown key {id}"), |(k, _)| format!("{k:?}"))
    }

    pub(super) fn token(&self, t: Token) -> TokenId {
        self.tokens[&t].0
    }

    fn token_header(&self, t: Token) -> &str {
        &self.tokens[&t].1
    }

    pub(super) fn install(&self, i: Install) -> InstallId {
        self.installs[&i].0
    }

    pub(super) fn manifest(&self, i: Install) -> &PluginManifest {
        &self.installs[&i].1
    }

    pub(super) fn role(&self, r: m::Role) -> RoleId {
        self.roles[&r]
    }

    fn act_as(&self, person: Person) -> Option<ActAs> {
        match person {
            Person::Agent(a) => Some(ActAs::Agent(self.agent(a))),
            Person::Requester(r) => Some(ActAs::Requester(self.requester(r))),
            Person::System => None,
        }
    }
}

fn options(clock: &ManualClock) -> Options {
    Options::default()
        .with_clock(clock.clone())
        .with_secret_hashing(SecretHashing::InsecureForTests)
        .with_durability(Durability::Normal)
        .with_readers(1)
}

fn manifest(
    id: &str,
    name: &str,
    permissions: Scopes,
    events: &str,
) -> anyhow::Result<PluginManifest> {
    let permissions: Vec<String> = permissions
        .iter()
        .map(|a| format!("\"{}\"", a.name()))
        .collect();
    let toml = format!(
        "id = \"{id}\"\nname = \"{name}\"\nversion = \"1.0.0\"\napi-version = \"0.1.0\"\n\
         permissions = [{}]\nevents = [{events}]\n\n\
         [[settings]]\nname = \"title\"\nlabel = \"Title\"\ndefault = \"{name}\"\n",
        permissions.join(", ")
    );
    Ok(PluginManifest::from_toml(&toml)?)
}

/// The template database, closed, and the ids of its cast.
#[derive(Debug)]
pub(super) struct Template {
    dir: tempfile::TempDir,
    path: PathBuf,
    pub(super) ids: Ids,
}

impl Template {
    /// A directory of its own for a worker's copies.
    pub(super) fn workspace(&self, name: &str) -> anyhow::Result<PathBuf> {
        let dir = self.dir.path().join(name);
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }
}

/// Builds the template: the model's cast, its tickets, keys, tokens, installs and consumers.
pub(super) fn template() -> anyhow::Result<Template> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("template.db");
    let clock = ManualClock::new(START);
    let ids = {
        let (desk, system) = Helpdesk::open(&path, options(&clock))?;
        populate(&desk, &system).context("building the template")?
    };
    Ok(Template { dir, path, ids })
}

fn populate(desk: &Helpdesk, system: &SystemHandle) -> anyhow::Result<Ids> {
    use m::Agent as A;
    let root = &system.principal();
    let ada = system.bootstrap_admin("Ada", "ada@example.com")?.id;
    let mut depts = BTreeMap::new();
    depts.insert(m::Dept::D1, desk.create_department(root, "Billing")?.id);
    depts.insert(m::Dept::D2, desk.create_department(root, "Hardware")?.id);
    let acme = desk.create_organization(root, "Acme", true)?.id;
    let mut requesters = BTreeMap::new();
    for (r, organization) in [
        (m::Requester::Rex, None),
        (m::Requester::Sam, Some(acme)),
        (m::Requester::Sue, Some(acme)),
    ] {
        let name = format!("{r:?}");
        let new = NewRequester {
            email: format!("{}@example.org", name.to_lowercase()),
            name,
            organization,
        };
        requesters.insert(r, desk.create_requester(root, new)?.id);
    }
    let mut roles = BTreeMap::new();
    for role in [m::Role::Tickets, m::Role::Manager, m::Role::Lister] {
        let names: Vec<&str> = m::role_scopes(role).iter().map(|a| a.name()).collect();
        roles.insert(
            role,
            desk.create_role(root, &format!("{role:?}"), &names)?.id,
        );
    }
    let administrator = desk
        .roles(root)?
        .into_iter()
        .find(|r| r.name == "administrator");
    let administrator = administrator.context("the built-in administrator role")?;
    roles.insert(m::Role::Administrator, administrator.id);

    let mut agents = BTreeMap::new();
    agents.insert(A::Ada, ada);
    for a in [
        A::Abe,
        A::Rita,
        A::Cara,
        A::Cid,
        A::Fay,
        A::Ben,
        A::Oli,
        A::Dee,
        A::Max,
        A::Pat,
    ] {
        let facts = m::agent(a);
        let name = format!("{a:?}");
        let new = NewAgent {
            email: format!("{}@example.com", name.to_lowercase()),
            name,
            admin: facts.admin,
        };
        let id = desk.create_agent(root, new)?.id;
        let role = match a {
            A::Rita | A::Cara | A::Cid | A::Fay | A::Oli | A::Dee => Some(m::Role::Tickets),
            A::Max => Some(m::Role::Manager),
            _ => None,
        };
        if let Some(role) = role {
            desk.set_agent_roles(root, id, &[roles[&role]])?;
        }
        for &(dept, level) in facts.levels {
            let level = match level {
                m::Level::Read => AccessLevel::Read,
                m::Level::Create => AccessLevel::Create,
                m::Level::Change => AccessLevel::Change,
                m::Level::Full => AccessLevel::Full,
            };
            desk.add_member(root, depts[&dept], id, level)?;
        }
        if facts.only_assigned {
            let update = AgentUpdate {
                only_assigned: Some(true),
                ..AgentUpdate::default()
            };
            desk.update_agent(root, id, update)?;
        }
        agents.insert(a, id);
    }
    let order_field = desk
        .create_field(
            root,
            NewFieldDefinition {
                key: "order".into(),
                label: "Order".into(),
                kind: FieldKind::Text,
                agent_only: false,
            },
        )?
        .id;
    desk.create_field(
        root,
        NewFieldDefinition {
            key: "score".into(),
            label: "Score".into(),
            kind: FieldKind::Text,
            agent_only: true,
        },
    )?;

    let mut keys = BTreeMap::new();
    for k in [
        Key::Change,
        Key::Pat,
        Key::Super,
        Key::AdminFn,
        Key::Max,
        Key::Held,
        Key::Expiring,
    ] {
        let Some((kind, admin_functions, scopes)) = m::key(k) else {
            bail!("{k:?} is not in the model");
        };
        let description = format!("{k:?} key");
        let mut new = match kind {
            m::KeyKind::Agent(a) => helpdesk::NewKey::agent(description, agents[&a], scopes),
            m::KeyKind::Superuser => helpdesk::NewKey::superuser(description, None, scopes),
        };
        new.admin_functions = admin_functions;
        if k == Key::Expiring {
            new.expires_at = Some(START.add_millis(60 * MINUTE));
        }
        let issued = desk.create_key(root, new)?;
        keys.insert(k, (issued.key.id, issued.code.authorization()));
    }

    let mut installs = BTreeMap::new();
    let triage = manifest("triage", "Triage", m::MAIN_GRANT, "\"ticket.created\"")?;
    let new = NewInstall::granting_all(triage.clone(), b"\0asm triage".to_vec())?;
    let main = desk.install_plugin(root, new)?;
    let ledger = manifest("ledger", "Ledger", m::MANAGERS_GRANT, "")?;
    let new = NewInstall::granting_all(ledger.clone(), b"\0asm ledger".to_vec())?;
    let managers = desk.install_plugin(&system.agent(agents[&A::Max])?, new)?;
    for (i, install, declared, app) in [
        (Install::Main, &main, triage, A::App),
        (Install::Managers, &managers, ledger, A::AppMax),
    ] {
        let Some((grant, _, key)) = m::install(i) else {
            bail!("{i:?} is not in the model");
        };
        ensure!(
            install.granted == grant,
            "{i:?} was granted {}",
            install.granted
        );
        let identity = desk.agent(root, install.app_agent)?;
        ensure!(
            identity.admin == m::agent(app).admin,
            "the model has the app identity of {i:?} an administrator: {}, the facade: {}",
            m::agent(app).admin,
            identity.admin
        );
        agents.insert(app, install.app_agent);
        let install_key = install.key.context("an install with a grant has a key")?;
        keys.insert(key, (install_key, String::new()));
        installs.insert(i, (install.id, declared));
    }

    let mut tickets = BTreeMap::new();
    for t in [Ticket::Own, Ticket::Other, Ticket::Foreign, Ticket::Deleted] {
        let Some(facts) = m::ticket(t) else {
            bail!("{t:?} is not in the model");
        };
        let mut new = NewTicket::new(
            format!("{t:?} ticket"),
            depts[&facts.dept],
            requesters[&facts.requester],
        );
        new.assignee = facts.assignee.map(|a| agents[&a]);
        new.fields
            .insert("order".into(), FieldValue::Text("A-1".into()));
        new.fields
            .insert("score".into(), FieldValue::Text("high".into()));
        let ticket = desk.create_ticket(root, new)?;
        tickets.insert(t, (ticket.id, ticket.version));
    }
    desk.delete_ticket(root, tickets[&Ticket::Deleted].0)?;

    let mut tokens = BTreeMap::new();
    for (t, person) in [
        (Token::Admin, ActAs::Agent(ada)),
        (Token::Change, ActAs::Agent(agents[&A::Cid])),
        (
            Token::Portal,
            ActAs::Requester(requesters[&m::Requester::Rex]),
        ),
        (Token::Max, ActAs::Agent(agents[&A::Max])),
    ] {
        let key = m::token_key(t).context("a token of the model")?;
        let token = match person {
            ActAs::Agent(a) => NewToken::for_agent(a),
            ActAs::Requester(r) => NewToken::for_requester(r),
        };
        let minted = system.mint_token(keys[&key].0, token)?;
        tokens.insert(t, (minted.id, minted.token.authorization()));
    }

    // Every live ticket's conversation: a reply through a key, one through a token, and a note.
    let through_key = desk.authenticate(&keys[&Key::AdminFn].1, Some(ActAs::Agent(ada)), None)?;
    let through_token = desk.authenticate(&tokens[&Token::Admin].1, None, None)?;
    for t in m::LIVE_TICKETS {
        let id = tickets[&t].0;
        desk.add_message(&through_key, id, NewMessage::reply("The walrus reply"))?;
        desk.add_message(&through_token, id, NewMessage::reply("A second reply"))?;
        desk.add_message(&through_key, id, NewMessage::note("An internal zebra note"))?;
        tickets.insert(t, (id, desk.ticket(root, id)?.version));
    }
    let app = system.install_principal(main.id)?;
    desk.plugin_kv_set(&app, main.id, "k", b"v")?;
    // One dead letter, so replaying dead letters has something to replay.
    let due = desk.plugin_deliveries(root, main.id, 10)?;
    let first = due.first().context("the install has deliveries")?;
    let give_up = DeliveryPolicy {
        max_attempts: 1,
        auto_disable_after: 0,
        ..DeliveryPolicy::default()
    };
    desk.record_delivery(root, first, Err("refused by the matrix"), &give_up)?;

    for name in ["audit", "sys-feed"] {
        desk.register_consumer(root, name, StartFrom::Oldest)?;
    }
    desk.register_consumer(&system.agent(ada)?, "ada-feed", StartFrom::Oldest)?;
    let events = desk.read_events(root, "audit", 10_000)?.events;
    let head = events.last().map_or(0, |e| e.seq);

    tickets.insert(Ticket::Missing, (TicketId::new(MISSING), 1));
    keys.insert(Key::Missing, (KeyId::new(MISSING), String::new()));
    tokens.insert(Token::Missing, (TokenId::new(MISSING), String::new()));
    let main_manifest = installs[&Install::Main].1.clone();
    installs.insert(Install::Missing, (InstallId::new(MISSING), main_manifest));
    Ok(Ids {
        agents,
        requesters,
        depts,
        acme,
        tickets,
        keys,
        tokens,
        installs,
        roles,
        order_field,
        head,
    })
}

/// What a world is opened for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Setup {
    /// Every plain principal.
    Plain,
    /// The held principals of one revocation, revoked.
    Held(Revocation),
}

/// What a fingerprint is made of: named parts, so a difference names what changed.
pub(super) type Fingerprint = Vec<(&'static str, String)>;

/// An open copy of the template with its principals.
pub(super) struct World<'t> {
    pub(super) desk: Helpdesk,
    pub(super) system: SystemHandle,
    root: Principal,
    /// The system's install's own principal, which alone reads its key-value store.
    install: Principal,
    /// A delivery due to the system's install.
    pub(super) delivery: Delivery,
    principals: BTreeMap<Caller, Principal>,
    pub(super) ids: &'t Ids,
    baseline: Fingerprint,
    path: PathBuf,
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

const SIDE_FILES: [&str; 3] = ["", "-wal", "-shm"];

/// Opens a fresh copy of the template at `path` and makes its principals.
pub(super) fn open<'t>(
    template: &'t Template,
    setup: Setup,
    path: &Path,
) -> anyhow::Result<World<'t>> {
    for suffix in SIDE_FILES {
        let from = with_suffix(&template.path, suffix);
        if from.exists() {
            std::fs::copy(&from, with_suffix(path, suffix))?;
        }
    }
    let clock = ManualClock::new(START);
    let (desk, system) = Helpdesk::open(path, options(&clock))?;
    let ids = &template.ids;
    let root = system.principal();
    let install = system.install_principal(ids.install(Install::Main))?;
    let due = desk.plugin_deliveries(&root, ids.install(Install::Main), 1)?;
    let delivery = due.into_iter().next().context("a delivery is due")?;
    let mut principals = BTreeMap::new();
    match setup {
        Setup::Plain => {
            for caller in Caller::PLAIN {
                let p = principal(&desk, &system, ids, &m::facts(caller))
                    .with_context(|| format!("making the principal {caller:?}"))?;
                principals.insert(caller, p);
            }
            let disable = AgentUpdate {
                active: Some(false),
                ..AgentUpdate::default()
            };
            desk.update_agent(&root, ids.agent(m::Agent::Dee), disable)?;
        }
        Setup::Held(r) => {
            let key = match r {
                Revocation::KeyExpired => Key::Expiring,
                _ => Key::Held,
            };
            let held_key = desk.authenticate(ids.key_header(key), None, None)?;
            let mut token = NewToken::for_agent(ids.agent(m::Agent::Cid));
            if r == Revocation::TokenExpired {
                token = token.with_lifetime_minutes(1);
            }
            let minted = desk.mint_token(&held_key, token)?;
            let held_token = desk.authenticate(minted.token.authorization(), None, None)?;
            // Both work until their credential is revoked below.
            let own = ids.ticket(Ticket::Own);
            for held in [&held_key, &held_token] {
                desk.ticket(held, own)?;
                desk.decide(
                    held,
                    helpdesk::Action::TicketRead,
                    &ids.attributes(Ticket::Own),
                )
                .map_err(|denied| anyhow::anyhow!("a live held principal: {denied}"))?;
            }
            let id = ids.key(key);
            match r {
                Revocation::KeyDeleted => desk.delete_key(&root, id)?,
                Revocation::KeyDisabled => desk.set_key_enabled(&root, id, false).map(drop)?,
                Revocation::KeyRegenerated => desk.regenerate_key(&root, id, None).map(drop)?,
                Revocation::KeyNarrowed => {
                    let update = KeyUpdate {
                        scopes: Some(Scopes::of(&[helpdesk::Action::TicketRead])),
                        ..KeyUpdate::default()
                    };
                    desk.update_key(&root, id, update).map(drop)?;
                }
                Revocation::KeyExpired => clock.set(START.add_millis(120 * MINUTE)),
                Revocation::TokenRevoked => desk.revoke_token(&root, minted.id)?,
                Revocation::TokenExpired => clock.advance_millis(2 * MINUTE),
            }
            for caller in Caller::held_by(r) {
                let held = match caller {
                    Caller::Held(Held::Key(_)) => held_key,
                    _ => held_token,
                };
                principals.insert(caller, held);
            }
        }
    }
    let mut world = World {
        desk,
        system,
        root,
        install,
        delivery,
        principals,
        ids,
        baseline: Vec::new(),
        path: path.to_owned(),
    };
    world.baseline = world.fingerprint();
    Ok(world)
}

/// The principal `f` describes, made the way an application makes it.
fn principal(
    desk: &Helpdesk,
    system: &SystemHandle,
    ids: &Ids,
    f: &Facts,
) -> anyhow::Result<Principal> {
    Ok(match (f.person, f.cred) {
        (Person::System, _) => system.principal(),
        (Person::Agent(a), Cred::Direct) => system.agent(ids.agent(a))?,
        (Person::Requester(r), Cred::Direct) => system.requester(ids.requester(r))?,
        (person, Cred::Key(k)) => {
            let superuser = matches!(m::key(k), Some((m::KeyKind::Superuser, _, _)));
            let act_as = if superuser { ids.act_as(person) } else { None };
            desk.authenticate(ids.key_header(k), act_as, None)?
        }
        (_, Cred::Token(t)) => desk.authenticate(ids.token_header(t), None, None)?,
        (_, Cred::Install(i)) => system.install_principal(ids.install(i))?,
        (Person::Agent(a), Cred::Widget(i)) => {
            let viewer = system.agent(ids.agent(a))?;
            system.widget_principal(ids.install(i), &viewer)?
        }
        (person, cred) => bail!("no principal for {person:?} through {cred:?}"),
    })
}

fn show<T: Debug>(result: helpdesk::Result<T>) -> String {
    match result {
        Ok(value) => format!("{value:?}"),
        Err(e) => format!("error: {e}"),
    }
}

impl World<'_> {
    pub(super) fn principal(&self, caller: Caller) -> Principal {
        self.principals[&caller]
    }

    /// Everything a refused call must leave as it was, read as the system (the key request
    /// logs are left out: they record every request).
    pub(super) fn fingerprint(&self) -> Fingerprint {
        let (desk, root) = (&self.desk, &self.root);
        let all = SearchQuery {
            limit: Some(500),
            ..SearchQuery::default()
        };
        let tickets = desk.search(root, &all).map(|page| {
            let conversation = |id| desk.messages(root, id).map(|m| m.len());
            let tickets = page.tickets.iter();
            tickets
                .map(|t| format!("{t:?} with {:?} messages", conversation(t.id)))
                .collect::<Vec<_>>()
        });
        let requesters: Vec<String> = (1..=6)
            .map(|id| show(desk.requester(root, RequesterId::new(id))))
            .collect();
        let stats = desk.auth_stats();
        let mut installs = Vec::new();
        for i in [Install::Main, Install::Managers] {
            let id = self.ids.install(i);
            installs.push(show(desk.plugin_settings(root, id)));
            installs.push(show(desk.plugin_queue(root, id).map(|q| q.len())));
            installs.push(show(desk.plugin_dead_letters(root, id).map(|d| d.len())));
        }
        let main = self.ids.install(Install::Main);
        vec![
            ("tickets", show(tickets)),
            ("agents", show(desk.agents(root))),
            ("roles", show(desk.roles(root))),
            ("departments", show(desk.departments(root))),
            ("organizations", show(desk.organizations(root))),
            ("requesters", format!("{requesters:?}")),
            ("fields", show(desk.fields(root))),
            ("keys", show(desk.keys(root))),
            (
                "credentials in memory",
                format!("{} keys, {} tokens", stats.keys, stats.tokens),
            ),
            ("installs", show(desk.plugins(root))),
            ("plugin settings and queues", format!("{installs:?}")),
            (
                "plugin data",
                show(desk.plugin_kv_get(&self.install, main, "k")),
            ),
            ("outbox", show(desk.consumers(root))),
        ]
    }

    /// The parts of the fingerprint that changed since the world was opened.
    pub(super) fn changed(&self) -> Vec<&'static str> {
        let now = self.fingerprint();
        let before = self.baseline.iter();
        before
            .zip(&now)
            .filter(|(a, b)| a.1 != b.1)
            .map(|(a, _)| a.0)
            .collect()
    }

    /// Tries to obtain a principal of the system's install's app identity every way an
    /// application could: whether each attempt gave one.
    pub(super) fn app_identity_attempts(&self) -> [(&'static str, bool); 3] {
        let app = self.ids.agent(m::Agent::App);
        let portal = Key::Super;
        let header = self.ids.key_header(portal);
        let minted = self
            .system
            .mint_token(self.ids.key(portal), NewToken::for_agent(app));
        [
            ("SystemHandle::agent", self.system.agent(app).is_ok()),
            (
                "authenticate acting as it",
                self.desk
                    .authenticate(header, Some(ActAs::Agent(app)), None)
                    .is_ok(),
            ),
            ("SystemHandle::mint_token for it", minted.is_ok()),
        ]
    }

    /// Closes the world and removes its files.
    pub(super) fn close(self) -> anyhow::Result<()> {
        let path = self.path.clone();
        drop(self);
        for suffix in SIDE_FILES {
            let file = with_suffix(&path, suffix);
            if file.exists() {
                std::fs::remove_file(file)?;
            }
        }
        Ok(())
    }
}
