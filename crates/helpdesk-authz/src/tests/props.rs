//! Property tests: the compiled engine against the reference model, `reach` against `decide`,
//! layers never widening, and `Scopes` against a plain set.

use std::collections::BTreeSet;

use helpdesk_domain::{
    AgentId, DepartmentId, InstallId, KeyId, OrganizationId, RequesterId, RoleId, TokenId,
};
use proptest::collection::{btree_map, btree_set, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::Index;

use crate::{
    AccessLevel, Action, AgentGrant, DepartmentInfo, OrganizationInfo, Policy, PolicyInput,
    Principal, Reach, Resource, Restriction, Role, Scopes, Subject, TicketAttrs,
};

fn scopes() -> impl Strategy<Value = Scopes> {
    any::<u32>().prop_map(|bits| {
        Action::ALL
            .iter()
            .enumerate()
            .filter(|&(i, _)| bits >> i & 1 == 1)
            .map(|(_, &action)| action)
            .collect()
    })
}

/// Scopes for a layer: often everything, so that layered requests are also allowed.
fn layer_scopes() -> impl Strategy<Value = Scopes> {
    prop_oneof![1 => Just(Scopes::ALL), 2 => scopes()]
}

fn level() -> impl Strategy<Value = AccessLevel> {
    prop::sample::select(AccessLevel::ALL.to_vec())
}

/// An action, more often a ticket action, since those have the most rules.
fn action() -> impl Strategy<Value = Action> {
    let ticket_actions: Vec<Action> = Action::ALL
        .iter()
        .copied()
        .filter(|a| a.is_ticket_action())
        .collect();
    prop_oneof![2 => prop::sample::select(ticket_actions), 1 => prop::sample::select(Action::ALL)]
}

/// Role permissions: denser than random scopes, so that agents often hold the permission.
fn role_permissions() -> impl Strategy<Value = Scopes> {
    (scopes(), scopes()).prop_map(|(a, b)| a | b)
}

/// Ids are drawn from small pools so that they collide: agents 1..=7 (6 may exist), roles
/// 1..=5 (4 may exist), organizations 1..=4 (3 may exist), requesters 1..=3, and departments
/// 1..=`max_department` + 2 (a few or many may exist, spanning several bit-set words).
#[derive(Clone, Copy, Debug)]
struct Pools {
    max_department: i64,
}

fn pools() -> impl Strategy<Value = Pools> {
    prop_oneof![
        Just(Pools { max_department: 6 }),
        Just(Pools {
            max_department: 150
        })
    ]
}

fn input(pools: Pools) -> impl Strategy<Value = PolicyInput> {
    let many = pools.max_department > 64;
    let agent = (
        prop::bool::weighted(0.85),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.4),
        btree_set(1..=5_i64, 1..=3),
        vec(
            (any::<Index>(), level()),
            if many { 0..=100 } else { 0..=4 },
        ),
    );
    (
        btree_set(1..=pools.max_department, if many { 1..=140 } else { 0..=6 }),
        btree_map(1..=4_i64, role_permissions(), 1..=4),
        btree_map(1..=3_i64, any::<bool>(), 0..=3),
        btree_map(1..=6_i64, agent, 5..=6),
    )
        .prop_map(|(departments, roles, organizations, agents)| {
            let departments: Vec<i64> = departments.into_iter().collect();
            let roles: Vec<Role> = roles
                .into_iter()
                .map(|(id, permissions)| Role {
                    id: RoleId::new(id),
                    name: format!("role {id}"),
                    permissions,
                })
                .collect();
            let agents = agents
                .into_iter()
                .map(
                    |(id, (active, admin, only_assigned, role_ids, levels))| AgentGrant {
                        id: AgentId::new(id),
                        name: format!("a{id}"),
                        active,
                        admin,
                        // Role 5 never exists; holding it would make the input inconsistent.
                        roles: role_ids
                            .into_iter()
                            .map(RoleId::new)
                            .filter(|r| roles.iter().any(|role| role.id == *r))
                            .collect(),
                        levels: levels
                            .into_iter()
                            .filter(|_| !departments.is_empty())
                            .map(|(d, level)| (DepartmentId::new(*d.get(&departments)), level))
                            .collect(),
                        only_assigned,
                        app_identity: false,
                    },
                )
                .collect();
            PolicyInput {
                roles,
                agents,
                departments: departments
                    .into_iter()
                    .map(|id| DepartmentInfo {
                        id: DepartmentId::new(id),
                        name: format!("d{id}"),
                    })
                    .collect(),
                organizations: organizations
                    .into_iter()
                    .map(|(id, shared_tickets)| OrganizationInfo {
                        id: OrganizationId::new(id),
                        shared_tickets,
                    })
                    .collect(),
            }
        })
}

fn principal() -> impl Strategy<Value = Principal> {
    prop_oneof![
        1 => Just(Principal::System),
        4 => (1..=7_i64).prop_map(|id| Principal::Agent(AgentId::new(id))),
        2 => (1..=3_i64, option::of(1..=4_i64)).prop_map(|(id, organization)| Principal::Requester {
            id: RequesterId::new(id),
            organization: organization.map(OrganizationId::new),
        }),
    ]
}

fn subject() -> impl Strategy<Value = Subject> {
    (
        principal(),
        option::weighted(0.2, (1..=3_i64, layer_scopes())),
        option::weighted(0.2, (1..=3_i64, layer_scopes())),
        option::weighted(0.2, (1..=3_i64, layer_scopes())),
    )
        .prop_map(|(principal, key, token, plugin)| Subject {
            principal,
            key: key.map(|(id, scopes)| Restriction {
                id: KeyId::new(id),
                scopes,
            }),
            token: token.map(|(id, scopes)| Restriction {
                id: TokenId::new(id),
                scopes,
            }),
            plugin: plugin.map(|(id, scopes)| Restriction {
                id: InstallId::new(id),
                scopes,
            }),
        })
}

/// A ticket, usually in one of the `input`'s departments.
fn ticket(pools: Pools, input: &PolicyInput) -> impl Strategy<Value = TicketAttrs> + use<> {
    let known: Vec<i64> = input.departments.iter().map(|d| d.id.get()).collect();
    let department = (
        prop::bool::weighted(0.8),
        any::<Index>(),
        1..=pools.max_department + 2,
    )
        .prop_map(move |(pick_known, index, any)| {
            if pick_known && !known.is_empty() {
                *index.get(&known)
            } else {
                any
            }
        });
    (
        department,
        option::of(1..=4_i64),
        1..=3_i64,
        option::of(1..=4_i64),
    )
        .prop_map(
            |(department, assignee, requester, organization)| TicketAttrs {
                department: DepartmentId::new(department),
                assignee: assignee.map(AgentId::new),
                requester: RequesterId::new(requester),
                requester_organization: organization.map(OrganizationId::new),
            },
        )
}

/// The resource `action` applies to for `ticket`, or if `wrong`, another kind.
fn resource(action: Action, ticket: TicketAttrs, wrong: bool, flip: bool) -> Resource {
    let new = Resource::NewTicket {
        department: ticket.department,
        requester: ticket.requester,
    };
    let existing = Resource::Ticket(ticket);
    let fitting = match action {
        Action::TicketCreate => new,
        _ if action.is_ticket_action() => existing,
        _ => Resource::Global,
    };
    match (wrong, fitting, flip) {
        (false, fitting, _) => fitting,
        (true, Resource::Global, false) | (true, Resource::Ticket(_), _) => new,
        (true, Resource::Global, true) | (true, Resource::NewTicket { .. }, false) => existing,
        (true, _, _) => Resource::Global,
    }
}

/// A policy input, a subject, an action and a resource.
fn request() -> impl Strategy<Value = (PolicyInput, Subject, Action, Resource)> {
    pools()
        .prop_flat_map(input_with_pools)
        .prop_flat_map(|(pools, input)| {
            let ticket = ticket(pools, &input);
            (
                Just(input),
                subject(),
                action(),
                ticket,
                prop::bool::weighted(0.05),
                any::<bool>(),
            )
                .prop_map(|(input, subject, action, ticket, wrong, flip)| {
                    (
                        input,
                        subject,
                        action,
                        resource(action, ticket, wrong, flip),
                    )
                })
        })
}

/// A policy input, a subject and some tickets.
fn tickets() -> impl Strategy<Value = (PolicyInput, Subject, Vec<TicketAttrs>)> {
    pools()
        .prop_flat_map(input_with_pools)
        .prop_flat_map(|(pools, input)| {
            let tickets = vec(ticket(pools, &input), 1..=24);
            (Just(input), subject(), tickets)
        })
}

fn input_with_pools(pools: Pools) -> impl Strategy<Value = (Pools, PolicyInput)> {
    (Just(pools), input(pools))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn engine_matches_reference((input, subject, action, resource) in request()) {
        let policy = Policy::build(input.clone()).unwrap();
        let expected = crate::reference::decide(&input, &subject, action, &resource);
        prop_assert_eq!(policy.decide(&subject, action, &resource), expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn reach_agrees_with_decide((input, subject, tickets) in tickets()) {
        let policy = Policy::build(input).unwrap();
        let reach = policy.reach(&subject);
        if let Reach::Departments { departments, .. } = reach {
            prop_assert!(!departments.is_empty());
            prop_assert_eq!(departments.iter().count(), departments.len());
            for department in departments {
                prop_assert!(departments.contains(department));
            }
        }
        for ticket in &tickets {
            let decision = policy.decide(&subject, Action::TicketRead, &Resource::Ticket(*ticket));
            prop_assert_eq!(reach.admits(ticket), decision.is_allowed(), "{:?} {:?} {:?}", reach, ticket, decision);
        }
    }

    #[test]
    fn layers_never_widen((input, subject, action, resource) in request()) {
        let policy = Policy::build(input).unwrap();
        let bare = Subject::new(subject.principal);
        let layered = policy.decide(&subject, action, &resource);
        match policy.decide(&bare, action, &resource).reason() {
            // The principal's own denial stands, with its reason.
            Some(reason) => prop_assert_eq!(layered.reason(), Some(reason)),
            None => prop_assert_eq!(layered.is_allowed(), subject.layer_scopes().contains(action)),
        }
        if let Resource::Ticket(ticket) = resource {
            prop_assert!(!policy.reach(&subject).admits(&ticket) || policy.reach(&bare).admits(&ticket));
        }
    }

    #[test]
    fn scopes_behave_like_sets(a in scopes(), b in scopes()) {
        let set = |s: Scopes| s.iter().collect::<BTreeSet<Action>>();
        prop_assert_eq!(set(a | b), set(a).union(&set(b)).copied().collect());
        prop_assert_eq!(set(a & b), set(a).intersection(&set(b)).copied().collect());
        prop_assert_eq!(set(a - b), set(a).difference(&set(b)).copied().collect());
        prop_assert_eq!(a.is_subset(b), set(a).is_subset(&set(b)));
        prop_assert_eq!(a.len(), set(a).len());
        prop_assert_eq!(a.to_string().parse::<Scopes>(), Ok(a));
        prop_assert_eq!(Scopes::parse(a.iter().map(Action::name)), Ok(a));
        for &action in Action::ALL {
            prop_assert_eq!(a.contains(action), set(a).contains(&action));
        }
    }
}
