//! Property tests: the compiled engine against the reference model, `reach` against `decide`,
//! layers never widening, and `Scopes` against a plain set.

use std::collections::BTreeSet;

use helpdesk_domain::{
    AgentId, DepartmentId, InstallId, KeyId, OrganizationId, RequesterId, RoleId, TokenId,
};
use proptest::collection::{btree_map, btree_set, vec};
use proptest::option;
use proptest::prelude::*;

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

fn action() -> impl Strategy<Value = Action> {
    prop::sample::select(Action::ALL)
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
    let departments = btree_set(1..=pools.max_department, if many { 0..=140 } else { 0..=6 });
    let agent = (
        prop::bool::weighted(0.85),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.3),
        btree_set(1..=5_i64, 0..=3),
        vec(
            (1..=pools.max_department, level()),
            if many { 0..=40 } else { 0..=6 },
        ),
    );
    (
        btree_map(1..=4_i64, scopes(), 0..=4),
        departments,
        btree_map(1..=3_i64, any::<bool>(), 0..=3),
        btree_map(1..=6_i64, agent, 0..=6),
    )
        .prop_map(|(roles, departments, organizations, agents)| {
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
                        roles: role_ids
                            .into_iter()
                            .map(RoleId::new)
                            .filter(|r| roles.iter().any(|role| role.id == *r))
                            .collect(),
                        levels: levels
                            .into_iter()
                            .filter(|(d, _)| departments.contains(d))
                            .map(|(d, level)| (DepartmentId::new(d), level))
                            .collect(),
                        only_assigned,
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
        3 => (1..=3_i64, option::of(1..=4_i64)).prop_map(|(id, organization)| Principal::Requester {
            id: RequesterId::new(id),
            organization: organization.map(OrganizationId::new),
        }),
    ]
}

fn subject() -> impl Strategy<Value = Subject> {
    (
        principal(),
        option::weighted(0.3, (1..=3_i64, layer_scopes())),
        option::weighted(0.3, (1..=3_i64, layer_scopes())),
        option::weighted(0.3, (1..=3_i64, layer_scopes())),
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

fn ticket(pools: Pools) -> impl Strategy<Value = TicketAttrs> {
    (
        1..=pools.max_department + 2,
        option::of(1..=7_i64),
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

/// A resource for `action`: usually the kind it applies to, sometimes another kind.
fn resource(pools: Pools, action: Action) -> impl Strategy<Value = Resource> {
    (ticket(pools), prop::bool::weighted(0.1), any::<bool>()).prop_map(
        move |(ticket, wrong, flip)| {
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
                (true, Resource::Global, true) | (true, Resource::NewTicket { .. }, false) => {
                    existing
                }
                (true, _, _) => Resource::Global,
            }
        },
    )
}

/// A policy input, a subject, an action and a resource.
fn request() -> impl Strategy<Value = (PolicyInput, Subject, Action, Resource)> {
    (pools(), action()).prop_flat_map(|(pools, action)| {
        (
            input(pools),
            subject(),
            Just(action),
            resource(pools, action),
        )
    })
}

/// A policy input, a subject and some tickets.
fn tickets() -> impl Strategy<Value = (PolicyInput, Subject, Vec<TicketAttrs>)> {
    pools().prop_flat_map(|pools| (input(pools), subject(), vec(ticket(pools), 1..=24)))
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
