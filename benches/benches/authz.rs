//! Permission checks: the compiled `helpdesk-authz` engine against the same rules written as
//! Cedar policies, on a helpdesk of 20 roles, 50 departments and 1,000 agents; and the cost of
//! pushing a principal's reach into a search over 100,000 tickets.

use std::collections::{HashMap, HashSet};
use std::hint::black_box;
use std::str::FromStr;

use anyhow::{Context as _, Result, ensure};
use cedar_policy::{
    Authorizer, Context, Entities, Entity, EntityId, EntityTypeName, EntityUid, PolicySet, Request,
    RestrictedExpression,
};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};
use helpdesk_authz::{
    AccessLevel, Action, AgentGrant, AgentId, DepartmentId, DepartmentInfo, Policy, PolicyInput,
    Principal, RequesterId, Resource, Role, RoleId, Scopes, Subject, TicketAttrs,
};

const ROLES: i64 = 20;
const DEPARTMENTS: i64 = 50;
const AGENTS: i64 = 1_000;

/// The action every benchmark decides: it needs a role permission and the change level.
const ACTION: Action = Action::TicketUpdate;

/// A small deterministic generator (SplitMix64), so every run sees the same helpdesk.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// The helpdesk both engines decide on, and the request of the benchmarks.
struct Fixture {
    input: PolicyInput,
    policy: Policy,
    subject: Subject,
    ticket: TicketAttrs,
}

impl Fixture {
    fn new() -> Result<Self> {
        let input = helpdesk(&mut Rng(0x00c0_ffee));
        let policy = Policy::build(input.clone())?;
        // An ordinary agent (active, not admin, not limited to its own tickets) that may change
        // tickets in some department, and a ticket there assigned to someone else.
        let (agent, department) = input
            .agents
            .iter()
            .skip(AGENTS as usize / 2)
            .filter(|a| a.active && !a.admin && !a.only_assigned)
            .find_map(|a| {
                let changes = a
                    .levels
                    .iter()
                    .find(|(_, level)| *level >= AccessLevel::Change)?;
                let permitted = a.roles.iter().any(|r| {
                    input
                        .roles
                        .iter()
                        .any(|role| role.id == *r && role.permissions.contains(ACTION))
                });
                permitted.then_some((a.id, changes.0))
            })
            .context("no agent may change tickets")?;
        let ticket = TicketAttrs {
            department,
            assignee: Some(AgentId::new(agent.get() % AGENTS + 1)),
            requester: RequesterId::new(4242),
            requester_organization: None,
        };
        Ok(Self {
            input,
            policy,
            subject: Subject::agent(agent),
            ticket,
        })
    }
}

/// 20 roles (the built-ins and 17 random ones), 50 departments, 1,000 agents with 1 to 3
/// roles and levels in 1 to 8 departments; a few admins, disabled and only-assigned agents.
fn helpdesk(rng: &mut Rng) -> PolicyInput {
    let mut input = PolicyInput::with_builtin_roles();
    for id in 4..=ROLES {
        let permissions = Action::ALL
            .iter()
            .copied()
            .filter(|_| rng.chance(60))
            .collect::<Scopes>();
        input.roles.push(Role {
            id: RoleId::new(id),
            name: format!("role {id}"),
            permissions,
        });
    }
    input.departments = (1..=DEPARTMENTS)
        .map(|id| DepartmentInfo {
            id: DepartmentId::new(id),
            name: format!("department {id}"),
        })
        .collect();
    for id in 1..=AGENTS {
        let roles = (0..1 + rng.below(3)).map(|_| RoleId::new(1 + rng.below(ROLES as u64) as i64));
        let mut roles: Vec<RoleId> = roles.collect();
        roles.sort();
        roles.dedup();
        let levels = (0..1 + rng.below(8))
            .map(|_| {
                let department = DepartmentId::new(1 + rng.below(DEPARTMENTS as u64) as i64);
                (department, AccessLevel::ALL[rng.below(4) as usize])
            })
            .collect();
        input.agents.push(AgentGrant {
            id: AgentId::new(id),
            name: format!("agent {id}"),
            active: !rng.chance(5),
            admin: rng.chance(2),
            roles,
            levels,
            only_assigned: rng.chance(10),
            app_identity: false,
        });
    }
    input
}

/// The same rules as Cedar policies and entities.
///
/// Agents are members of their roles and of one group per department and level they hold
/// (`Group::"12-change"`); each department names its four groups; roles become one `permit` per
/// level of the ticket actions they grant, plus one for the other actions.
struct Cedar {
    policies: PolicySet,
    entities: Entities,
    authorizer: Authorizer,
}

/// The ticket of the benchmarks.
const TICKET: &str = "ticket";
/// The resource of actions that are not about tickets.
const HELPDESK: &str = "main";

impl Cedar {
    fn new(input: &PolicyInput, ticket: &TicketAttrs) -> Result<Self> {
        Ok(Self {
            policies: policies(input)?,
            entities: entities(input, ticket)?,
            authorizer: Authorizer::new(),
        })
    }

    /// The request for `action` by `agent` on the ticket (or, for `tickets.create`, on its
    /// department; for other actions, on the helpdesk).
    fn request(&self, agent: AgentId, action: Action, ticket: &TicketAttrs) -> Result<Request> {
        let resource = match action {
            Action::TicketCreate => uid("Department", &ticket.department.to_string())?,
            _ if action.is_ticket_action() => uid("Ticket", TICKET)?,
            _ => uid("Helpdesk", HELPDESK)?,
        };
        Ok(Request::new(
            uid("Agent", &agent.to_string())?,
            uid("Action", action.name())?,
            resource,
            Context::empty(),
            None,
        )?)
    }

    fn allows(&self, request: &Request) -> bool {
        self.authorizer
            .is_authorized(request, &self.policies, &self.entities)
            .decision()
            == cedar_policy::Decision::Allow
    }
}

fn uid(kind: &str, id: &str) -> Result<EntityUid> {
    Ok(EntityUid::from_type_name_and_id(
        EntityTypeName::from_str(kind)?,
        EntityId::new(id),
    ))
}

fn group(department: DepartmentId, level: AccessLevel) -> Result<EntityUid> {
    uid("Group", &format!("{department}-{level}"))
}

fn action_list(actions: impl Iterator<Item = Action>) -> String {
    let quoted: Vec<String> = actions.map(|a| format!("Action::\"{a}\"")).collect();
    quoted.join(", ")
}

fn policies(input: &PolicyInput) -> Result<PolicySet> {
    let not_create = action_list(
        Action::ALL
            .iter()
            .copied()
            .filter(|a| a.is_ticket_action() && *a != Action::TicketCreate),
    );
    let mut text = format!(
        r#"
        permit(principal is Agent, action, resource) when {{ principal.admin }};
        forbid(principal is Agent, action, resource) unless {{ principal.active }};
        forbid(principal is Agent, action in [{not_create}], resource is Ticket)
            when {{ principal.only_assigned && !principal.admin }}
            unless {{ resource has assignee && resource.assignee == principal }};
        "#
    );
    for role in &input.roles {
        let r = role.id;
        let at = |level| {
            role.permissions
                .iter()
                .filter(move |a| a.required_level() == Some(level))
        };
        for &level in AccessLevel::ALL {
            let actions = action_list(at(level));
            if actions.is_empty() {
                continue;
            }
            let kind = if level == AccessLevel::Create {
                "Department"
            } else {
                "Ticket"
            };
            let department = if level == AccessLevel::Create {
                "resource"
            } else {
                "resource.department"
            };
            text += &format!(
                "permit(principal in Role::\"{r}\", action in [{actions}], resource is {kind}) \
                 when {{ principal in {department}.{level} }};\n"
            );
        }
        let others = action_list(role.permissions.iter().filter(|a| !a.is_ticket_action()));
        if !others.is_empty() {
            text += &format!(
                "permit(principal in Role::\"{r}\", action in [{others}], resource == Helpdesk::\"{HELPDESK}\");\n"
            );
        }
    }
    Ok(text.parse()?)
}

fn entities(input: &PolicyInput, ticket: &TicketAttrs) -> Result<Entities> {
    let mut all = Vec::new();
    for role in &input.roles {
        all.push(Entity::new_no_attrs(
            uid("Role", &role.id.to_string())?,
            HashSet::new(),
        ));
    }
    for department in &input.departments {
        let mut attrs = HashMap::new();
        for &level in AccessLevel::ALL {
            attrs.insert(
                level.to_string(),
                RestrictedExpression::new_entity_uid(group(department.id, level)?),
            );
            all.push(Entity::new_no_attrs(
                group(department.id, level)?,
                HashSet::new(),
            ));
        }
        all.push(Entity::new(
            uid("Department", &department.id.to_string())?,
            attrs,
            HashSet::new(),
        )?);
    }
    for agent in &input.agents {
        let mut parents = HashSet::new();
        for role in &agent.roles {
            parents.insert(uid("Role", &role.to_string())?);
        }
        for &(department, has) in &agent.levels {
            for level in AccessLevel::ALL
                .iter()
                .copied()
                .filter(|level| *level <= has)
            {
                parents.insert(group(department, level)?);
            }
        }
        let attrs = HashMap::from([
            (
                "active".to_owned(),
                RestrictedExpression::new_bool(agent.active),
            ),
            (
                "admin".to_owned(),
                RestrictedExpression::new_bool(agent.admin),
            ),
            (
                "only_assigned".to_owned(),
                RestrictedExpression::new_bool(agent.only_assigned),
            ),
        ]);
        all.push(Entity::new(
            uid("Agent", &agent.id.to_string())?,
            attrs,
            parents,
        )?);
    }
    let mut attrs = HashMap::from([(
        "department".to_owned(),
        RestrictedExpression::new_entity_uid(uid("Department", &ticket.department.to_string())?),
    )]);
    if let Some(assignee) = ticket.assignee {
        attrs.insert(
            "assignee".to_owned(),
            RestrictedExpression::new_entity_uid(uid("Agent", &assignee.to_string())?),
        );
    }
    all.push(Entity::new(uid("Ticket", TICKET)?, attrs, HashSet::new())?);
    all.push(Entity::new_no_attrs(
        uid("Helpdesk", HELPDESK)?,
        HashSet::new(),
    ));
    Ok(Entities::from_entities(all, None)?)
}

/// The resource of `action` in the engine's terms, matching [`Cedar::request`].
fn resource(action: Action, ticket: &TicketAttrs) -> Resource {
    match action {
        Action::TicketCreate => Resource::NewTicket {
            department: ticket.department,
            requester: ticket.requester,
        },
        _ if action.is_ticket_action() => Resource::Ticket(*ticket),
        _ => Resource::Global,
    }
}

/// Checks that Cedar and the engine agree on every action of every agent on the ticket, and
/// that the benchmarked request is allowed by both.
fn check_agreement(fixture: &Fixture, cedar: &Cedar) -> Result<()> {
    let mut allowed = 0;
    for agent in &fixture.input.agents {
        for &action in Action::ALL {
            let engine = fixture.policy.decide(
                &Subject::agent(agent.id),
                action,
                &resource(action, &fixture.ticket),
            );
            let cedar = cedar.allows(&cedar.request(agent.id, action, &fixture.ticket)?);
            ensure!(
                engine.is_allowed() == cedar,
                "agent {} {action}: engine {engine:?}, cedar allows: {cedar}",
                agent.id
            );
            allowed += usize::from(cedar);
        }
    }
    ensure!(allowed > 0, "no request is allowed");
    ensure!(
        fixture
            .policy
            .decide(&fixture.subject, ACTION, &Resource::Ticket(fixture.ticket))
            .is_allowed()
    );
    Ok(())
}

fn bench_decide(group: &mut BenchmarkGroup<'_, WallTime>, fixture: &Fixture) {
    let resource = Resource::Ticket(fixture.ticket);
    group.bench_function("decide", |b| {
        b.iter(|| {
            fixture.policy.decide(
                black_box(&fixture.subject),
                black_box(ACTION),
                black_box(&resource),
            )
        });
    });
}

fn bench_cedar(group: &mut BenchmarkGroup<'_, WallTime>, cedar: &Cedar, request: &Request) {
    group.bench_function("cedar_equivalent", |b| {
        b.iter(|| cedar.allows(black_box(request)))
    });
}

fn setup() -> Result<(Fixture, Cedar, Request)> {
    let fixture = Fixture::new()?;
    let cedar = Cedar::new(&fixture.input, &fixture.ticket)?;
    check_agreement(&fixture, &cedar)?;
    let Principal::Agent(agent) = fixture.subject.principal else {
        anyhow::bail!("the benchmark subject is not an agent");
    };
    let request = cedar.request(agent, ACTION, &fixture.ticket)?;
    ensure!(cedar.allows(&request), "cedar denies the benchmark request");
    Ok((fixture, cedar, request))
}

/// The `authz` group; search benchmarks join it here.
fn authz(c: &mut Criterion) {
    let (fixture, cedar, request) = match setup() {
        Ok(setup) => setup,
        #[expect(clippy::panic, reason = "a benchmark cannot run without its fixture")]
        Err(error) => panic!("authz benchmark set-up failed: {error:#}"),
    };
    let mut group = c.benchmark_group("authz");
    bench_decide(&mut group, &fixture);
    bench_cedar(&mut group, &cedar, &request);
    if let Err(error) = bench_search(&mut group) {
        #[expect(clippy::panic, reason = "a benchmark cannot run without its fixture")]
        {
            panic!("search benchmark set-up failed: {error:#}");
        }
    }
    group.finish();
}

/// The query of `storage/search_fts`, run by an administrator who reads every ticket and by an
/// agent who reads a quarter of the departments: the reach is part of the SQL query.
fn bench_search(group: &mut BenchmarkGroup<'_, WallTime>) -> Result<()> {
    use helpdesk::{AccessLevel, Helpdesk, NewAgent, Options, SearchQuery, Status};
    let tickets = if helpdesk_benches::test_mode() {
        2_000
    } else {
        100_000
    };
    let dir = tempfile::tempdir()?;
    let (desk, system) = Helpdesk::open(dir.path().join("search.db"), Options::default())?;
    let seeded = helpdesk_benches::seed(&desk, &system, 20, tickets)?;
    let root = system.principal();
    let admin = desk
        .agents(&root)?
        .into_iter()
        .find(|a| a.admin)
        .context("the seed has an administrator")?;
    let quarter = desk.create_agent(
        &root,
        NewAgent {
            name: "Quarter".into(),
            email: "quarter@bench.test".into(),
            admin: false,
        },
    )?;
    for department in seeded.departments.iter().step_by(4) {
        desk.add_member(&root, *department, quarter.id, AccessLevel::Read)?;
    }
    let as_admin = system.agent(admin.id)?;
    let as_quarter = system.agent(quarter.id)?;
    let query = SearchQuery {
        text: Some(helpdesk_benches::RARE_WORD.into()),
        statuses: vec![Status::Open],
        limit: Some(50),
        ..SearchQuery::default()
    };
    let all = desk.search(&as_admin, &query)?;
    let some = desk.search(&as_quarter, &query)?;
    ensure!(
        !some.tickets.is_empty() && some.tickets.len() <= all.tickets.len(),
        "the reach must narrow the results"
    );
    ensure!(
        some.tickets.iter().all(|t| seeded
            .departments
            .iter()
            .step_by(4)
            .any(|d| *d == t.department)),
        "a ticket outside the agent's reach was returned"
    );
    group.bench_function("search_unfiltered", |b| {
        b.iter(|| {
            desk.search(&as_admin, black_box(&query))
                .map(|p| p.tickets.len())
        })
    });
    group.bench_function("search_filtered", |b| {
        b.iter(|| {
            desk.search(&as_quarter, black_box(&query))
                .map(|p| p.tickets.len())
        })
    });
    Ok(())
}

criterion_group!(benches, authz);
criterion_main!(benches);
