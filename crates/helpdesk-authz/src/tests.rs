//! Tests of the engine: the decision matrix, explanations, reach, and policy building; the
//! property tests against the reference model are in `tests/props.rs`.

mod props;

use helpdesk_domain::{
    AgentId, DepartmentId, InstallId, KeyId, OrganizationId, RequesterId, RoleId, TokenId,
};

use crate::{
    AccessLevel, Action, AgentGrant, Decision, DenyReason, DepartmentInfo, OrganizationInfo,
    Policy, PolicyInput, Reach, Resource, Role, Scopes, Subject, TicketAttrs,
};

const BILLING: DepartmentId = DepartmentId::new(1);
const SALES: DepartmentId = DepartmentId::new(2);
const SHARING_ORG: OrganizationId = OrganizationId::new(50);
const PRIVATE_ORG: OrganizationId = OrganizationId::new(51);
const SUPERVISOR: RoleId = RoleId::new(10);

const ADA: AgentId = AgentId::new(1);
const REX: AgentId = AgentId::new(2);
const CY: AgentId = AgentId::new(3);
const CAM: AgentId = AgentId::new(4);
const FLO: AgentId = AgentId::new(5);
const ODA: AgentId = AgentId::new(6);
const ROB: AgentId = AgentId::new(7);
const DEE: AgentId = AgentId::new(8);
const MAX: AgentId = AgentId::new(9);
const ZED: AgentId = AgentId::new(10);
const NOBODY: AgentId = AgentId::new(99);

const fn requester(id: i64, organization: Option<OrganizationId>) -> Subject {
    Subject::requester(RequesterId::new(id), organization)
}

fn agent(
    id: AgentId,
    name: &str,
    roles: &[RoleId],
    levels: &[(DepartmentId, AccessLevel)],
) -> AgentGrant {
    AgentGrant {
        id,
        name: name.to_owned(),
        active: true,
        admin: false,
        roles: roles.to_vec(),
        levels: levels.to_vec(),
        only_assigned: false,
        app_identity: false,
    }
}

/// Billing and Sales; agents with every kind of grant, all in Billing only; organization 50
/// shares tickets, 51 does not.
fn fixture() -> PolicyInput {
    let mut input = PolicyInput::with_builtin_roles();
    input.roles.push(Role {
        id: SUPERVISOR,
        name: "supervisor".to_owned(),
        permissions: Role::AGENT_PERMISSIONS | Scopes::from(Action::TicketDelete),
    });
    input.departments = vec![
        DepartmentInfo {
            id: BILLING,
            name: "Billing".to_owned(),
        },
        DepartmentInfo {
            id: SALES,
            name: "Sales".to_owned(),
        },
    ];
    input.organizations = vec![
        OrganizationInfo {
            id: SHARING_ORG,
            shared_tickets: true,
        },
        OrganizationInfo {
            id: PRIVATE_ORG,
            shared_tickets: false,
        },
    ];
    let billing = |level| [(BILLING, level)];
    input.agents = vec![
        AgentGrant {
            admin: true,
            ..agent(ADA, "Ada", &[], &[])
        },
        agent(REX, "Rex", &[Role::AGENT], &billing(AccessLevel::Read)),
        agent(CY, "Cy", &[Role::AGENT], &billing(AccessLevel::Create)),
        agent(CAM, "Cam", &[Role::AGENT], &billing(AccessLevel::Change)),
        agent(FLO, "Flo", &[SUPERVISOR], &billing(AccessLevel::Full)),
        AgentGrant {
            only_assigned: true,
            ..agent(ODA, "Oda", &[Role::AGENT], &billing(AccessLevel::Change))
        },
        agent(ROB, "Rob", &[Role::READ_ONLY], &billing(AccessLevel::Full)),
        AgentGrant {
            active: false,
            ..agent(DEE, "Dee", &[SUPERVISOR], &billing(AccessLevel::Full))
        },
        agent(
            MAX,
            "Max",
            &[Role::ADMINISTRATOR],
            &billing(AccessLevel::Change),
        ),
        agent(ZED, "Zed", &[Role::AGENT], &[]),
    ];
    input
}

fn policy() -> Policy {
    Policy::build(fixture()).unwrap()
}

/// Where the ticket of a check is.
#[derive(Clone, Copy, Debug)]
enum Place {
    /// In Billing, assigned to Oda, of requester 100 (organization 50).
    Inside,
    /// In Billing, assigned to Cam, of requester 101 (organization 50).
    Unassigned,
    /// In Sales, assigned to Rex, of requester 103 (organization 51).
    Outside,
}

impl Place {
    fn ticket(self) -> TicketAttrs {
        let (department, assignee, requester, organization) = match self {
            Self::Inside => (BILLING, ODA, 100, SHARING_ORG),
            Self::Unassigned => (BILLING, CAM, 101, SHARING_ORG),
            Self::Outside => (SALES, REX, 103, PRIVATE_ORG),
        };
        TicketAttrs {
            department,
            assignee: Some(assignee),
            requester: RequesterId::new(requester),
            requester_organization: Some(organization),
        }
    }

    /// The resource `action` applies to here: the ticket, a new ticket like it, or nothing.
    fn resource(self, action: Action) -> Resource {
        let ticket = self.ticket();
        match action {
            Action::TicketCreate => Resource::NewTicket {
                department: ticket.department,
                requester: ticket.requester,
            },
            _ if action.is_ticket_action() => Resource::Ticket(ticket),
            _ => Resource::Global,
        }
    }
}

const AGENT_GLOBALS: &str = "agents.read requesters.read requesters.manage departments.read";
const READ_ONLY_GLOBALS: &str = "agents.read requesters.read departments.read";
const ALL_GLOBALS: &str = "agents.read agents.manage requesters.read requesters.manage departments.read \
    departments.manage roles.manage fields.manage keys.manage keys.logs plugins.manage events.read";
const CHANGE: &str = "tickets.read tickets.create tickets.update tickets.assign tickets.status tickets.reply tickets.note";

/// Checks that at `place`, `subject` may do exactly the actions in `allowed` (scope names,
/// several strings joined), and that the engine agrees with the reference model.
fn check(policy: &Policy, subject: Subject, place: Place, allowed: &[&str]) {
    let expected: Scopes = allowed.join(" ").parse().unwrap();
    let input = fixture();
    let mut actual = Scopes::EMPTY;
    for &action in Action::ALL {
        let resource = place.resource(action);
        let decision = policy.decide(&subject, action, &resource);
        assert_eq!(
            decision,
            crate::reference::decide(&input, &subject, action, &resource),
            "{subject:?} {action}"
        );
        if decision.is_allowed() {
            actual.insert(action);
        }
    }
    assert_eq!(
        actual,
        expected,
        "{subject:?} at {place:?}\n  unexpectedly allowed: {}\n  unexpectedly denied: {}",
        actual - expected,
        expected - actual
    );
}

#[test]
fn decision_matrix() {
    let p = &policy();
    let all_names = Scopes::ALL.to_string();
    let all: &[&str] = &[&all_names];
    let place_rows: &[(Subject, [&[&str]; 3])] = &[
        // [Inside, Unassigned, Outside]
        (Subject::system(), [all, all, all]),
        (Subject::agent(ADA), [all, all, all]),
        (
            Subject::agent(REX),
            [
                &["tickets.read", AGENT_GLOBALS],
                &["tickets.read", AGENT_GLOBALS],
                &[AGENT_GLOBALS],
            ],
        ),
        (
            Subject::agent(CY),
            [
                &["tickets.read tickets.create", AGENT_GLOBALS],
                &["tickets.read tickets.create", AGENT_GLOBALS],
                &[AGENT_GLOBALS],
            ],
        ),
        (
            Subject::agent(CAM),
            [
                &[CHANGE, AGENT_GLOBALS],
                &[CHANGE, AGENT_GLOBALS],
                &[AGENT_GLOBALS],
            ],
        ),
        (
            Subject::agent(FLO),
            [
                &[CHANGE, "tickets.delete", AGENT_GLOBALS],
                &[CHANGE, "tickets.delete", AGENT_GLOBALS],
                &[AGENT_GLOBALS],
            ],
        ),
        // Only assigned: works on its own ticket, may still open tickets.
        (
            Subject::agent(ODA),
            [
                &[CHANGE, AGENT_GLOBALS],
                &["tickets.create", AGENT_GLOBALS],
                &[AGENT_GLOBALS],
            ],
        ),
        // Full level, but the read-only role.
        (
            Subject::agent(ROB),
            [
                &["tickets.read", READ_ONLY_GLOBALS],
                &["tickets.read", READ_ONLY_GLOBALS],
                &[READ_ONLY_GLOBALS],
            ],
        ),
        (Subject::agent(DEE), [&[], &[], &[]]),
        // The administrator role grants every permission, but no department level.
        (
            Subject::agent(MAX),
            [
                &[CHANGE, ALL_GLOBALS],
                &[CHANGE, ALL_GLOBALS],
                &[ALL_GLOBALS],
            ],
        ),
        (
            Subject::agent(ZED),
            [&[AGENT_GLOBALS], &[AGENT_GLOBALS], &[AGENT_GLOBALS]],
        ),
        (Subject::agent(NOBODY), [&[], &[], &[]]),
        // Requesters: own tickets, shared tickets of organization 50, never anything else.
        (
            requester(100, Some(SHARING_ORG)),
            [
                &["tickets.read tickets.create tickets.reply"],
                &["tickets.read tickets.reply"],
                &[],
            ],
        ),
        (
            requester(101, Some(SHARING_ORG)),
            [
                &["tickets.read tickets.reply"],
                &["tickets.read tickets.create tickets.reply"],
                &[],
            ],
        ),
        (
            requester(100, None),
            [&["tickets.read tickets.create tickets.reply"], &[], &[]],
        ),
        (requester(102, Some(PRIVATE_ORG)), [&[], &[], &[]]),
        (
            requester(103, Some(PRIVATE_ORG)),
            [&[], &[], &["tickets.read tickets.create tickets.reply"]],
        ),
        // Layers narrow.
        (
            Subject::agent(FLO).with_key(
                KeyId::new(12),
                "tickets.read tickets.reply agents.read agents.manage"
                    .parse()
                    .unwrap(),
            ),
            [
                &["tickets.read tickets.reply agents.read"],
                &["tickets.read tickets.reply agents.read"],
                &["agents.read"],
            ],
        ),
        (
            Subject::agent(FLO)
                .with_key(KeyId::new(12), Scopes::ALL)
                .with_token(
                    TokenId::new(3),
                    "tickets.read tickets.note".parse().unwrap(),
                ),
            [
                &["tickets.read tickets.note"],
                &["tickets.read tickets.note"],
                &[],
            ],
        ),
        (
            Subject::system().with_plugin(
                InstallId::new(4),
                "tickets.read tickets.note events.read".parse().unwrap(),
            ),
            [
                &["tickets.read tickets.note events.read"],
                &["tickets.read tickets.note events.read"],
                &["tickets.read tickets.note events.read"],
            ],
        ),
        (
            Subject::agent(CAM).with_plugin(
                InstallId::new(4),
                "tickets.read tickets.delete events.read".parse().unwrap(),
            ),
            [&["tickets.read"], &["tickets.read"], &[]],
        ),
        (
            Subject::agent(ADA)
                .with_key(KeyId::new(12), Scopes::ALL)
                .with_plugin(InstallId::new(4), Scopes::EMPTY),
            [&[], &[], &[]],
        ),
        (
            requester(100, Some(SHARING_ORG)).with_token(
                TokenId::new(3),
                "tickets.read tickets.note".parse().unwrap(),
            ),
            [&["tickets.read"], &["tickets.read"], &[]],
        ),
    ];
    for (subject, [inside, unassigned, outside]) in place_rows {
        check(p, *subject, Place::Inside, inside);
        check(p, *subject, Place::Unassigned, unassigned);
        check(p, *subject, Place::Outside, outside);
    }
}

/// Checks the explanation of the decision on `action` at `place` (or on `resource`).
fn check_explanation(subject: Subject, action: Action, resource: Resource, expected: &str) {
    let policy = policy();
    let reason = policy.decide(&subject, action, &resource).reason();
    let actual = reason.map(|r| r.explain(&policy).to_string());
    assert_eq!(
        actual.as_deref(),
        Some(expected),
        "{subject:?} {action} {resource:?}"
    );
}

#[test]
fn explanations_name_what_is_missing() {
    use Action::*;
    let inside = |action| Place::Inside.resource(action);
    let outside = |action| Place::Outside.resource(action);
    let check = check_explanation;
    check(
        Subject::agent(REX),
        TicketUpdate,
        inside(TicketUpdate),
        "agent `Rex` may read but not change tickets in department `Billing`",
    );
    check(
        Subject::agent(CY),
        TicketNote,
        inside(TicketNote),
        "agent `Cy` may create but not change tickets in department `Billing`",
    );
    check(
        Subject::agent(REX),
        TicketCreate,
        inside(TicketCreate),
        "agent `Rex` may read but not create tickets in department `Billing`",
    );
    check(
        Subject::agent(MAX),
        TicketDelete,
        inside(TicketDelete),
        "agent `Max` may change but not delete tickets in department `Billing`",
    );
    check(
        Subject::agent(REX),
        TicketRead,
        outside(TicketRead),
        "agent `Rex` has no access to department `Sales`",
    );
    check(
        Subject::agent(ROB),
        TicketUpdate,
        inside(TicketUpdate),
        "no role of agent `Rob` grants `tickets.update`",
    );
    check(
        Subject::agent(CAM),
        RoleManage,
        Resource::Global,
        "no role of agent `Cam` grants `roles.manage`",
    );
    check(
        Subject::agent(DEE),
        TicketRead,
        inside(TicketRead),
        "agent `Dee` is disabled",
    );
    check(
        Subject::agent(NOBODY),
        AgentRead,
        Resource::Global,
        "agent 99 does not exist",
    );
    check(
        Subject::agent(ODA),
        TicketReply,
        Place::Unassigned.resource(TicketReply),
        "agent `Oda` may only work on tickets assigned to them",
    );
    let lost = TicketAttrs {
        department: DepartmentId::new(77),
        ..Place::Inside.ticket()
    };
    check(
        Subject::agent(ADA),
        TicketRead,
        Resource::Ticket(lost),
        "department 77 does not exist",
    );
    check(
        Subject::agent(FLO).with_key(KeyId::new(12), Scopes::from(TicketRead)),
        TicketDelete,
        inside(TicketDelete),
        "key 12 lacks `tickets.delete`",
    );
    check(
        Subject::agent(FLO).with_token(TokenId::new(3), Scopes::EMPTY),
        TicketUpdate,
        inside(TicketUpdate),
        "token 3 lacks `tickets.update`",
    );
    check(
        Subject::system().with_plugin(InstallId::new(4), Scopes::EMPTY),
        AgentManage,
        Resource::Global,
        "plugin install 4 was not granted `agents.manage`",
    );
    check(
        requester(100, Some(SHARING_ORG)),
        TicketNote,
        inside(TicketNote),
        "requesters may never use `tickets.note`",
    );
    check(
        requester(100, Some(SHARING_ORG)),
        KeyManage,
        Resource::Global,
        "requesters may never use `keys.manage`",
    );
    check(
        requester(102, Some(PRIVATE_ORG)),
        TicketRead,
        inside(TicketRead),
        "requester 102 may only access their own tickets and those their organization shares",
    );
    check(
        Subject::system(),
        TicketRead,
        Resource::Global,
        "`tickets.read` applies only to an existing ticket",
    );
    check(
        Subject::system(),
        TicketCreate,
        inside(TicketRead),
        "`tickets.create` applies only to a new ticket",
    );
}

#[test]
fn explanations_fall_back_to_ids() {
    let reason = DenyReason::DepartmentLevel {
        agent: REX,
        department: BILLING,
        has: Some(AccessLevel::Read),
        needs: AccessLevel::Change,
    };
    assert_eq!(
        reason.to_string(),
        "agent 2 may read but not change tickets in department 1"
    );
    assert_eq!(
        reason.explain(&Policy::default()).to_string(),
        "agent 2 may read but not change tickets in department 1"
    );
    assert_eq!(
        reason.explain(&policy()).to_string(),
        "agent `Rex` may read but not change tickets in department `Billing`"
    );
}

/// Checks the reach of `subject`, shown as its debug form.
fn check_reach(subject: Subject, expected: &str) {
    let policy = policy();
    assert_eq!(
        format!("{:?}", policy.reach(&subject)),
        expected,
        "{subject:?}"
    );
}

#[test]
fn reach_describes_readable_tickets() {
    check_reach(Subject::system(), "All");
    check_reach(
        Subject::agent(ADA),
        "Departments { departments: {department#1, department#2}, only_assigned_to: None }",
    );
    check_reach(
        Subject::agent(REX),
        "Departments { departments: {department#1}, only_assigned_to: None }",
    );
    check_reach(
        Subject::agent(ODA),
        "Departments { departments: {department#1}, only_assigned_to: Some(agent#6) }",
    );
    check_reach(
        Subject::agent(ZED),
        "Nothing(NoDepartments { agent: agent#10 })",
    );
    check_reach(
        Subject::agent(DEE),
        "Nothing(AgentDisabled { agent: agent#8 })",
    );
    check_reach(
        Subject::agent(NOBODY),
        "Nothing(UnknownAgent { agent: agent#99 })",
    );
    check_reach(
        Subject::agent(FLO).with_key(KeyId::new(12), Scopes::from(Action::TicketReply)),
        "Nothing(KeyLacksScope { key: key#12, action: TicketRead })",
    );
    check_reach(
        requester(100, Some(SHARING_ORG)),
        "Requester { id: requester#100, organization: Some(organization#50) }",
    );
    check_reach(
        requester(102, Some(PRIVATE_ORG)),
        "Requester { id: requester#102, organization: None }",
    );
    check_reach(
        requester(104, Some(OrganizationId::new(60))),
        "Requester { id: requester#104, organization: None }",
    );
    let policy = policy();
    let Reach::Nothing(reason) = policy.reach(&Subject::agent(ZED)) else {
        panic!("Zed reaches tickets")
    };
    assert_eq!(
        reason.explain(&policy).to_string(),
        "agent `Zed` has no access to any department"
    );
}

#[test]
fn agent_availability_agrees_with_decisions() {
    let policy = policy();
    for (id, expected) in [
        (ADA, Ok(())),
        (ZED, Ok(())),
        (DEE, Err(DenyReason::AgentDisabled { agent: DEE })),
        (NOBODY, Err(DenyReason::UnknownAgent { agent: NOBODY })),
    ] {
        assert_eq!(policy.agent_available(id), expected, "{id:?}");
        let decided = policy.decide(&Subject::agent(id), Action::AgentRead, &Resource::Global);
        if let Err(reason) = expected {
            assert_eq!(decided.reason(), Some(reason));
        }
    }
}

#[test]
fn department_sets_span_several_words() {
    let mut input = PolicyInput::with_builtin_roles();
    input.departments = (0..200)
        .map(|i| DepartmentInfo {
            id: DepartmentId::new(1000 + i),
            name: format!("d{i}"),
        })
        .collect();
    let levels = [
        (3, AccessLevel::Read),
        (64, AccessLevel::Full),
        (127, AccessLevel::Change),
        (199, AccessLevel::Create),
    ];
    input.agents = vec![agent(
        REX,
        "Rex",
        &[Role::ADMINISTRATOR],
        &levels.map(|(i, level)| (DepartmentId::new(1000 + i), level)),
    )];
    let policy = Policy::build(input).unwrap();
    let Reach::Departments {
        departments,
        only_assigned_to: None,
    } = policy.reach(&Subject::agent(REX))
    else {
        panic!("Rex reaches nothing");
    };
    let ids: Vec<i64> = departments.iter().map(DepartmentId::get).collect();
    assert_eq!(ids, [1003, 1064, 1127, 1199]);
    assert_eq!(departments.len(), 4);
    assert!(departments.contains(DepartmentId::new(1127)));
    assert!(!departments.contains(DepartmentId::new(1128)));
    assert!(!departments.contains(DepartmentId::new(7)));
    for i in 0..200 {
        let department = DepartmentId::new(1000 + i);
        let expected = levels
            .iter()
            .find(|(d, _)| *d == i)
            .map(|&(_, level)| level);
        for &needs in AccessLevel::ALL {
            let action = match needs {
                AccessLevel::Read => Action::TicketRead,
                AccessLevel::Create => Action::TicketCreate,
                AccessLevel::Change => Action::TicketStatus,
                AccessLevel::Full => Action::TicketDelete,
            };
            let ticket = TicketAttrs {
                department,
                ..Place::Inside.ticket()
            };
            let resource = if action == Action::TicketCreate {
                Resource::NewTicket {
                    department,
                    requester: ticket.requester,
                }
            } else {
                Resource::Ticket(ticket)
            };
            let decision = policy.decide(&Subject::agent(REX), action, &resource);
            let allowed = expected.is_some_and(|has| has >= needs);
            assert_eq!(
                decision.is_allowed(),
                allowed,
                "department {i}, {action}: {decision:?}"
            );
            if let Decision::Deny(DenyReason::DepartmentLevel { has, .. }) = decision {
                assert_eq!(has, expected, "department {i}");
            }
        }
    }
}

#[test]
fn building_rejects_inconsistent_input() {
    let check = |edit: fn(&mut PolicyInput), expected: &str| {
        let mut input = fixture();
        edit(&mut input);
        assert_eq!(Policy::build(input).unwrap_err().to_string(), expected);
    };
    check(
        |i| i.roles.push(Role::builtins()[1].clone()),
        "role 2 is listed twice",
    );
    check(
        |i| i.agents.push(agent(REX, "Rex again", &[], &[])),
        "agent 2 is listed twice",
    );
    check(
        |i| {
            i.departments.push(DepartmentInfo {
                id: SALES,
                name: "Sales".to_owned(),
            })
        },
        "department 2 is listed twice",
    );
    check(
        |i| {
            i.organizations.push(OrganizationInfo {
                id: SHARING_ORG,
                shared_tickets: false,
            })
        },
        "organization 50 is listed twice",
    );
    check(
        |i| {
            i.agents
                .push(agent(AgentId::new(20), "Ivy", &[RoleId::new(77)], &[]))
        },
        "agent 20 holds unknown role 77",
    );
    check(
        |i| {
            i.agents.push(agent(
                AgentId::new(20),
                "Ivy",
                &[],
                &[(DepartmentId::new(9), AccessLevel::Read)],
            ))
        },
        "agent 20 has a level in unknown department 9",
    );
    let empty = Policy::build(PolicyInput::default()).unwrap();
    assert!(
        empty
            .decide(&Subject::system(), Action::KeyManage, &Resource::Global)
            .is_allowed()
    );
    assert_eq!(
        empty.decide(
            &Subject::agent(ADA),
            Action::TicketRead,
            &Place::Inside.resource(Action::TicketRead)
        ),
        Decision::Deny(DenyReason::UnknownAgent { agent: ADA })
    );
}

#[test]
fn builtin_roles_are_as_documented() {
    let roles = Role::builtins();
    let shown: Vec<String> = roles
        .iter()
        .map(|r| format!("{} {}: {}", r.id.get(), r.name, r.permissions))
        .collect();
    assert_eq!(
        shown,
        [
            format!("1 administrator: {}", Scopes::ALL),
            format!("2 agent: {CHANGE} {AGENT_GLOBALS}"),
            format!("3 read-only: tickets.read {READ_ONLY_GLOBALS}"),
        ]
    );
}

#[test]
fn only_agents_and_the_system_see_internal_notes() {
    assert!(Subject::system().sees_internal());
    assert!(
        Subject::agent(REX)
            .with_key(KeyId::new(1), Scopes::EMPTY)
            .sees_internal()
    );
    assert!(!requester(100, Some(SHARING_ORG)).sees_internal());
}

#[test]
fn layer_scopes_intersect() {
    let subject = Subject::agent(REX)
        .with_key(
            KeyId::new(1),
            "tickets.read tickets.reply agents.read".parse().unwrap(),
        )
        .with_token(
            TokenId::new(2),
            "tickets.read agents.read events.read".parse().unwrap(),
        )
        .with_plugin(
            InstallId::new(3),
            "tickets.read agents.read".parse().unwrap(),
        );
    assert_eq!(
        subject.layer_scopes().to_string(),
        "tickets.read agents.read"
    );
    assert_eq!(Subject::agent(REX).layer_scopes(), Scopes::ALL);
}

#[test]
fn policy_is_shareable() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Policy>();
    assert_eq!(
        format!("{:?}", policy()),
        "Policy { agents: 10, departments: 2, organizations: 2, .. }"
    );
}
