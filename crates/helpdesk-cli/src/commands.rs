//! What each subcommand does, through the public API of the core only.

use std::io::{BufRead, Read};

use anyhow::{Context as _, anyhow, bail};
use helpdesk::{
    AccessLevel, Action, Agent, AgentId, AgentUpdate, Author, DepartmentId, FieldKind, Helpdesk,
    ImportTicket, NewAgent, NewFieldDefinition, NewMessage, NewRequester, NewTicket, Options,
    Principal, RequesterId, RoleId, SearchQuery, SystemHandle, Ticket, TicketId, TicketUpdate,
};

use crate::cli::{
    AgentCmd, Cli, Command, DepartmentCmd, FieldCmd, Kind, Level, OrgCmd, RequesterCmd, RoleCmd,
    SearchArgs, TicketCmd,
};
use crate::output::{Output, Table, progress};

/// An open database, the principal the command acts as, and where output goes.
pub(crate) struct Ctx {
    pub(crate) desk: Helpdesk,
    pub(crate) system: SystemHandle,
    pub(crate) me: Principal,
    pub(crate) out: Output,
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

/// Opens the database (creating it and its first administrator on first use) and runs the command.
pub(crate) fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::Demo = cli.command {
        let path = cli.db.unwrap_or_else(|| "target/helpdesk-demo.db".into());
        return crate::demo::run(&path);
    }
    let out = Output { json: cli.json };
    let db = cli.db.unwrap_or_else(|| "helpdesk.db".into());
    let (desk, system) = Helpdesk::open(&db, Options::default())
        .with_context(|| format!("cannot open `{}`", db.display()))?;
    let root = system.principal();
    if desk.agents(&root)?.is_empty() {
        let admin = system.bootstrap_admin(&cli.admin_name, &cli.admin_email)?;
        eprintln!(
            "new database `{}`: created the first administrator {} <{}> (agent {})",
            db.display(),
            admin.name,
            admin.email,
            admin.id
        );
    }
    let agents = desk.agents(&root)?;
    let acting: &Agent = match &cli.acting {
        Some(email) => agents
            .iter()
            .find(|a| a.email.eq_ignore_ascii_case(email))
            .ok_or_else(|| anyhow!("no agent has the email `{email}`"))?,
        None => agents
            .iter()
            .find(|a| a.admin && a.active)
            .ok_or_else(|| anyhow!("no active administrator"))?,
    };
    let me = system.agent(acting.id)?;
    let ctx = Ctx {
        desk,
        system,
        me,
        out,
    };
    match cli.command {
        Command::Agent(cmd) => agent(&ctx, cmd),
        Command::Department(cmd) => department(&ctx, cmd),
        Command::Role(cmd) => role(&ctx, cmd),
        Command::Field(cmd) => field(&ctx, cmd),
        Command::Requester(cmd) => requester(&ctx, cmd),
        Command::Org(cmd) => org(&ctx, cmd),
        Command::Ticket(cmd) => ticket(&ctx, cmd),
        Command::Key(cmd) => crate::keys::key(&ctx, cmd),
        Command::Plugin(cmd) => crate::plugins::plugin(&ctx, cmd),
        Command::Token(cmd) => crate::keys::token(&ctx, cmd),
        Command::Import(args) => import(&ctx, &args.file),
        Command::Seed(args) => seed(&ctx, args.departments, args.tickets),
        Command::Demo => Ok(()),
        Command::Backup { target } => {
            ctx.system.backup_to(&target)?;
            ctx.out
                .emit("backup", &serde_json::json!({ "path": target }), || {
                    let mut t = Table::new(&["backup"]);
                    t.row(vec![target.display().to_string()]);
                    t
                })
        }
    }
}

fn level(level: Level) -> AccessLevel {
    match level {
        Level::Read => AccessLevel::Read,
        Level::Create => AccessLevel::Create,
        Level::Change => AccessLevel::Change,
        Level::Full => AccessLevel::Full,
    }
}

fn agents_table(agents: &[Agent]) -> Table {
    let mut t = Table::new(&[
        "id",
        "name",
        "email",
        "active",
        "admin",
        "roles",
        "departments",
    ]);
    for a in agents {
        let roles = a
            .roles
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(",");
        let depts = a
            .departments
            .iter()
            .map(|m| format!("{}:{}", m.department, m.level))
            .collect::<Vec<_>>()
            .join(",");
        t.row(vec![
            a.id.to_string(),
            a.name.clone(),
            a.email.clone(),
            a.active.to_string(),
            a.admin.to_string(),
            roles,
            depts,
        ]);
    }
    t
}

fn agent(ctx: &Ctx, cmd: AgentCmd) -> anyhow::Result<()> {
    let (desk, me) = (&ctx.desk, &ctx.me);
    let agent = match cmd {
        AgentCmd::List => {
            let agents = desk.agents(me)?;
            return ctx.out.emit("agents", &agents, || agents_table(&agents));
        }
        AgentCmd::Create { name, email, admin } => {
            desk.create_agent(me, NewAgent { name, email, admin })?
        }
        AgentCmd::Update {
            id,
            name,
            email,
            disable,
            enable,
            only_assigned,
            admin,
        } => {
            let active = if disable {
                Some(false)
            } else if enable {
                Some(true)
            } else {
                None
            };
            let update = AgentUpdate {
                name,
                email,
                active,
                admin,
                only_assigned,
            };
            desk.update_agent(me, AgentId::new(id), update)?
        }
        AgentCmd::Roles { id, roles } => {
            let roles: Vec<RoleId> = roles.into_iter().map(RoleId::new).collect();
            desk.set_agent_roles(me, AgentId::new(id), &roles)?
        }
    };
    ctx.out.emit("agent", &agent, || {
        agents_table(std::slice::from_ref(&agent))
    })
}

fn department(ctx: &Ctx, cmd: DepartmentCmd) -> anyhow::Result<()> {
    let (desk, me) = (&ctx.desk, &ctx.me);
    match cmd {
        DepartmentCmd::List => {
            let depts = desk.departments(me)?;
            ctx.out.emit("departments", &depts, || {
                let mut t = Table::new(&["id", "name"]);
                for d in &depts {
                    t.row(vec![d.id.to_string(), d.name.clone()]);
                }
                t
            })
        }
        DepartmentCmd::Create { name } => {
            let d = desk.create_department(me, &name)?;
            ctx.out.emit("department", &d, || {
                let mut t = Table::new(&["id", "name"]);
                t.row(vec![d.id.to_string(), d.name.clone()]);
                t
            })
        }
        DepartmentCmd::AddMember {
            department,
            agent,
            level: l,
        } => {
            desk.add_member(
                me,
                DepartmentId::new(department),
                AgentId::new(agent),
                level(l),
            )?;
            let a = desk.agent(me, AgentId::new(agent))?;
            ctx.out
                .emit("agent", &a, || agents_table(std::slice::from_ref(&a)))
        }
        DepartmentCmd::RemoveMember { department, agent } => {
            desk.remove_member(me, DepartmentId::new(department), AgentId::new(agent))?;
            let a = desk.agent(me, AgentId::new(agent))?;
            ctx.out
                .emit("agent", &a, || agents_table(std::slice::from_ref(&a)))
        }
    }
}

fn role(ctx: &Ctx, cmd: RoleCmd) -> anyhow::Result<()> {
    let (desk, me) = (&ctx.desk, &ctx.me);
    fn scopes(s: &[Action]) -> Vec<&'static str> {
        s.iter().map(|a| a.name()).collect()
    }
    match cmd {
        RoleCmd::List => {}
        RoleCmd::Create { name, scopes: s } => {
            desk.create_role(me, &name, &scopes(&s))?;
        }
        RoleCmd::Update { id, scopes: s } => {
            desk.update_role(me, RoleId::new(id), &scopes(&s))?;
        }
        RoleCmd::Delete { id } => desk.delete_role(me, RoleId::new(id))?,
    }
    let roles = desk.roles(me)?;
    ctx.out.emit("roles", &roles, || {
        let mut t = Table::new(&["id", "name", "builtin", "scopes"]);
        for r in &roles {
            t.row(vec![
                r.id.to_string(),
                r.name.clone(),
                r.builtin.to_string(),
                r.permissions.to_string(),
            ]);
        }
        t
    })
}

fn field(ctx: &Ctx, cmd: FieldCmd) -> anyhow::Result<()> {
    let (desk, me) = (&ctx.desk, &ctx.me);
    if let FieldCmd::Create {
        key,
        label,
        kind,
        options,
        agent_only,
    } = cmd
    {
        let kind = match kind {
            Kind::Text => FieldKind::Text,
            Kind::Number => FieldKind::Number,
            Kind::Boolean => FieldKind::Boolean,
            Kind::Date => FieldKind::Date,
            Kind::Choice => FieldKind::Choice(options),
        };
        desk.create_field(
            me,
            NewFieldDefinition {
                key,
                label,
                kind,
                agent_only,
            },
        )?;
    }
    let fields = desk.fields(me)?;
    ctx.out.emit("fields", &fields, || {
        let mut t = Table::new(&["id", "key", "label", "type", "agent_only"]);
        for f in &fields {
            t.row(vec![
                f.id.to_string(),
                f.key.clone(),
                f.label.clone(),
                f.kind.name().into(),
                f.agent_only.to_string(),
            ]);
        }
        t
    })
}

fn requester(ctx: &Ctx, cmd: RequesterCmd) -> anyhow::Result<()> {
    let (desk, me) = (&ctx.desk, &ctx.me);
    let r = match cmd {
        RequesterCmd::Create { name, email, org } => desk.create_requester(
            me,
            NewRequester {
                name,
                email,
                organization: org.map(helpdesk::OrganizationId::new),
            },
        )?,
        RequesterCmd::Show { id } => desk.requester(me, RequesterId::new(id))?,
    };
    ctx.out.emit("requester", &r, || {
        let mut t = Table::new(&["id", "name", "email", "organization"]);
        t.row(vec![
            r.id.to_string(),
            r.name.clone(),
            r.email.clone(),
            r.organization.map(|o| o.to_string()).unwrap_or_default(),
        ]);
        t
    })
}

fn org(ctx: &Ctx, cmd: OrgCmd) -> anyhow::Result<()> {
    let (desk, me) = (&ctx.desk, &ctx.me);
    if let OrgCmd::Create { name, shared } = cmd {
        desk.create_organization(me, &name, shared)?;
    }
    let orgs = desk.organizations(me)?;
    ctx.out.emit("organizations", &orgs, || {
        let mut t = Table::new(&["id", "name", "shared_tickets"]);
        for o in &orgs {
            t.row(vec![
                o.id.to_string(),
                o.name.clone(),
                o.shared_tickets.to_string(),
            ]);
        }
        t
    })
}

fn tickets_table(tickets: &[Ticket]) -> Table {
    let mut t = Table::new(&[
        "id",
        "status",
        "priority",
        "dept",
        "assignee",
        "requester",
        "version",
        "updated",
        "subject",
    ]);
    for x in tickets {
        t.row(vec![
            x.id.to_string(),
            x.status.to_string(),
            x.priority.to_string(),
            x.department.to_string(),
            x.assignee
                .map(|a| a.to_string())
                .unwrap_or_else(|| "-".into()),
            x.requester.to_string(),
            x.version.to_string(),
            x.updated_at.to_string(),
            x.subject.clone(),
        ]);
    }
    t
}

fn read_body(body: String) -> anyhow::Result<String> {
    if body != "-" {
        return Ok(body);
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("reading the text from standard input")?;
    Ok(text)
}

fn query(text: Option<String>, args: SearchArgs) -> SearchQuery {
    SearchQuery {
        text,
        statuses: args.statuses,
        departments: args
            .departments
            .into_iter()
            .map(DepartmentId::new)
            .collect(),
        tags: args.tags,
        limit: Some(args.limit),
        cursor: args.cursor,
        ..SearchQuery::default()
    }
}

fn ticket(ctx: &Ctx, cmd: TicketCmd) -> anyhow::Result<()> {
    let (desk, me) = (&ctx.desk, &ctx.me);
    let t = match cmd {
        TicketCmd::Create {
            subject,
            department,
            requester,
            priority,
            message,
            tags,
        } => {
            let requester = RequesterId::new(requester);
            let mut new = NewTicket::new(subject, DepartmentId::new(department), requester);
            new.priority = priority;
            new.tags = tags;
            new.message = message.map(|m| NewMessage::reply(m).by(Author::Requester(requester)));
            desk.create_ticket(me, new)?
        }
        TicketCmd::List(args) => return search(ctx, query(None, args)),
        TicketCmd::Search { text, filters } => return search(ctx, query(Some(text), filters)),
        TicketCmd::Show { id } => return show(ctx, TicketId::new(id)),
        TicketCmd::Update {
            id,
            version,
            subject,
            status,
            priority,
            assignee,
            unassign,
            department,
            add_tags,
            remove_tags,
        } => {
            let update = TicketUpdate {
                subject,
                status,
                priority,
                department: department.map(DepartmentId::new),
                assignee: if unassign {
                    Some(None)
                } else {
                    assignee.map(|a| Some(AgentId::new(a)))
                },
                add_tags,
                remove_tags,
                fields: Default::default(),
            };
            desk.update_ticket(me, TicketId::new(id), version, update)?
        }
        TicketCmd::Reply { id, body } => {
            desk.add_message(me, TicketId::new(id), NewMessage::reply(read_body(body)?))?;
            desk.ticket(me, TicketId::new(id))?
        }
        TicketCmd::Note { id, body } => {
            desk.add_message(me, TicketId::new(id), NewMessage::note(read_body(body)?))?;
            desk.ticket(me, TicketId::new(id))?
        }
    };
    ctx.out
        .emit("ticket", &t, || tickets_table(std::slice::from_ref(&t)))
}

fn search(ctx: &Ctx, query: SearchQuery) -> anyhow::Result<()> {
    let page = ctx.desk.search(&ctx.me, &query)?;
    let next = page.next.as_ref().map(ToString::to_string);
    let data = serde_json::json!({ "tickets": page.tickets, "next_cursor": next });
    ctx.out
        .emit("tickets", &data, || tickets_table(&page.tickets))?;
    if let (false, Some(next)) = (ctx.out.json, next) {
        println!("more: --cursor {next}");
    }
    Ok(())
}

fn show(ctx: &Ctx, id: TicketId) -> anyhow::Result<()> {
    let (desk, me) = (&ctx.desk, &ctx.me);
    let ticket = desk.ticket(me, id)?;
    let messages = desk.messages(me, id)?;
    let history = desk.ticket_history(me, id)?;
    let data = serde_json::json!({ "ticket": ticket, "messages": messages, "history": history });
    ctx.out.emit_sections("ticket_detail", &data, || {
        let mut m = Table::new(&["id", "kind", "author", "at", "text"]);
        for x in &messages {
            let author = match x.author {
                Author::Agent(a) => format!("agent {a}"),
                Author::Requester(r) => format!("requester {r}"),
            };
            m.row(vec![
                x.id.to_string(),
                x.kind.to_string(),
                author,
                x.created_at.to_string(),
                x.body.replace('\n', " "),
            ]);
        }
        let mut h = Table::new(&["at", "by", "change"]);
        for x in &history {
            h.row(vec![x.at.to_string(), actor(&x.by), change(&x.change)]);
        }
        vec![
            ("", tickets_table(std::slice::from_ref(&ticket))),
            ("messages", m),
            ("history", h),
        ]
    })
}

/// Who made a change, for people: the person and the credential used.
pub(crate) fn actor(by: &helpdesk::Attribution) -> String {
    let mut text = match by.actor {
        helpdesk::Actor::System => "system".to_string(),
        helpdesk::Actor::Agent(a) => format!("agent {a}"),
        helpdesk::Actor::Requester(r) => format!("requester {r}"),
    };
    if let Some(key) = by.key {
        text.push_str(&format!(" via key {key}"));
    }
    if let Some(token) = by.token {
        text.push_str(&format!(" via token {token}"));
    }
    if let Some(install) = by.install {
        text.push_str(&format!(" (plugin install {install})"));
    }
    text
}

/// A history change, for people.
fn change(change: &helpdesk::Change) -> String {
    use helpdesk::{Change, HistoryValue};
    let value = |v: &HistoryValue| match v {
        HistoryValue::None => "-".to_string(),
        HistoryValue::Text(t) => format!("{t:?}"),
        HistoryValue::Bool(b) => b.to_string(),
        HistoryValue::Status(s) => s.to_string(),
        HistoryValue::Priority(p) => p.to_string(),
        HistoryValue::Agent(a) => format!("agent {a}"),
        HistoryValue::Department(d) => format!("department {d}"),
        other => serde_json::to_string(other).unwrap_or_default(),
    };
    match change {
        Change::Set { field, old, new } => {
            let field = serde_json::to_value(field).ok().and_then(|v| {
                let name = v.get("field")?.as_str()?.to_string();
                Some(match v.get("key").and_then(|k| k.as_str()) {
                    Some(key) => format!("{name} {key}"),
                    None => name,
                })
            });
            format!(
                "{}: {} -> {}",
                field.unwrap_or_default(),
                value(old),
                value(new)
            )
        }
        Change::TagAdded { tag } => format!("tag +{tag}"),
        Change::TagRemoved { tag } => format!("tag -{tag}"),
        Change::MessageAdded { message, kind } => format!("{kind} {message} added"),
        other => serde_json::to_value(other)
            .ok()
            .and_then(|v| v.get("change").and_then(|c| c.as_str()).map(str::to_owned))
            .unwrap_or_default(),
    }
}

fn import(ctx: &Ctx, file: &std::path::Path) -> anyhow::Result<()> {
    let reader = std::io::BufReader::new(
        std::fs::File::open(file).with_context(|| format!("cannot read `{}`", file.display()))?,
    );
    let mut tickets = Vec::new();
    for (n, line) in reader.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let t: ImportTicket =
            serde_json::from_str(&line).with_context(|| format!("line {}", n + 1))?;
        tickets.push(t);
    }
    let total = tickets.len();
    if total == 0 {
        bail!("`{}` holds no tickets", file.display());
    }
    progress("importing", 0, total);
    let ids = ctx.desk.import_tickets(&ctx.me, tickets)?;
    progress("importing", ids.len(), total);
    ctx.out.emit(
        "import",
        &serde_json::json!({ "imported": ids.len(), "first": ids.first(), "last": ids.last() }),
        || {
            let mut t = Table::new(&["imported", "first id", "last id"]);
            let id = |i: Option<&TicketId>| i.map(|i| i.to_string()).unwrap_or_default();
            t.row(vec![ids.len().to_string(), id(ids.first()), id(ids.last())]);
            t
        },
    )
}

const SAMPLE_SUBJECTS: &[&str] = &[
    "Cannot log in after password reset",
    "Invoice shows the wrong amount",
    "Printer on the third floor jams",
    "Refund for a duplicate charge",
    "Laptop battery drains overnight",
    "VPN disconnects every hour",
    "Order arrived damaged",
    "Export to CSV is empty",
    "Urgent: checkout page down",
    "Change the billing address",
];

/// Seeds departments with agents, requesters and tickets with messages, showing progress.
pub(crate) fn seed(ctx: &Ctx, departments: usize, tickets: usize) -> anyhow::Result<()> {
    let (desk, root) = (&ctx.desk, ctx.system.principal());
    let stamp = desk.now().as_millis();
    let mut depts = Vec::new();
    for d in 0..departments.max(1) {
        let name = [
            "Billing", "Hardware", "Accounts", "Shipping", "Network", "Sales",
        ]
        .get(d)
        .map_or_else(|| format!("Department {d}"), |n| (*n).to_string());
        let name = if desk.departments(&root)?.iter().any(|x| x.name == name) {
            format!("{name} {stamp}")
        } else {
            name
        };
        let dept = desk.create_department(&root, &name)?;
        for a in 0..2 {
            let agent = desk.create_agent(
                &root,
                NewAgent {
                    name: format!("{name} agent {}", a + 1),
                    email: format!("agent{}.{d}.{stamp}@example.com", a + 1),
                    admin: false,
                },
            )?;
            desk.add_member(&root, dept.id, agent.id, AccessLevel::Change)?;
        }
        depts.push(dept.id);
    }
    let mut requesters = Vec::new();
    for r in 0..20 {
        requesters.push(
            desk.create_requester(
                &root,
                NewRequester {
                    name: format!("Customer {}", r + 1),
                    email: format!("customer{r}.{stamp}@example.org"),
                    organization: None,
                },
            )?
            .id,
        );
    }
    let mut batch = Vec::with_capacity(tickets);
    for i in 0..tickets {
        let requester = requesters[i % requesters.len()];
        let subject = SAMPLE_SUBJECTS[i % SAMPLE_SUBJECTS.len()];
        let mut new = NewTicket::new(
            format!("{subject} (#{i})"),
            depts[i % depts.len()],
            requester,
        );
        new.message = Some(NewMessage::reply(format!(
            "Hello, {}. This started yesterday.",
            subject.to_lowercase()
        )));
        batch.push(ImportTicket {
            ticket: new,
            messages: vec![NewMessage::reply("Any news on this?")],
            created_at: None,
        });
    }
    let total = batch.len();
    let mut done = 0;
    progress("seeding tickets", 0, total);
    while !batch.is_empty() {
        let rest = batch.split_off(batch.len().min(100));
        let chunk = std::mem::replace(&mut batch, rest);
        done += desk.import_tickets(&root, chunk)?.len();
        progress("seeding tickets", done, total);
    }
    ctx.out.emit("seed", &serde_json::json!({ "departments": depts, "requesters": requesters.len(), "tickets": done }), || {
        let mut t = Table::new(&["departments", "agents", "requesters", "tickets"]);
        t.row(vec![depts.len().to_string(), (depts.len() * 2).to_string(), requesters.len().to_string(), done.to_string()]);
        t
    })
}
