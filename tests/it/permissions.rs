//! The permission engine enforced through the facade: every operation refused without its right,
//! with nothing changed, and out-of-reach tickets invisible everywhere.

use helpdesk::{
    AccessLevel, Action, AgentUpdate, Error, HistorySubject, NewAgent, NewFieldDefinition,
    NewMessage, NewRequester, NewTicket, Principal, RoleId, SearchQuery, StartFrom, TicketId,
    TicketUpdate,
};
use helpdesk_tests::Fixture;

/// The number of events in the outbox so far: a refused call must not add one.
fn outbox_head(f: &Fixture) -> anyhow::Result<u64> {
    let name = format!("probe-{}", f.desk.now().as_millis());
    f.desk.register_consumer(&f.root, &name, StartFrom::Now)?;
    let cursor = f
        .desk
        .consumers(&f.root)?
        .into_iter()
        .find(|c| c.name == name)
        .map(|c| c.cursor)
        .unwrap_or(0);
    f.desk.remove_consumer(&f.root, &name)?;
    Ok(cursor)
}

type Op = Box<dyn Fn(&Fixture, &Principal, TicketId) -> helpdesk::Result<()>>;

fn op(f: impl Fn(&Fixture, &Principal, TicketId) -> helpdesk::Result<()> + 'static) -> Op {
    Box::new(f)
}

/// Every mutating operation, each needing a right the read-only agent and the requester lack.
fn mutations() -> Vec<(&'static str, Op)> {
    vec![
        (
            "create agent",
            op(|f, p, _| {
                f.desk
                    .create_agent(
                        p,
                        NewAgent {
                            name: "X".into(),
                            email: "x@example.com".into(),
                            admin: false,
                        },
                    )
                    .map(drop)
            }),
        ),
        (
            "update agent",
            op(|f, p, _| {
                f.desk
                    .update_agent(
                        p,
                        f.hal.id,
                        AgentUpdate {
                            name: Some("H".into()),
                            ..Default::default()
                        },
                    )
                    .map(drop)
            }),
        ),
        (
            "set roles",
            op(|f, p, _| {
                f.desk
                    .set_agent_roles(p, f.hal.id, &[RoleId::new(1)])
                    .map(drop)
            }),
        ),
        (
            "create role",
            op(|f, p, _| f.desk.create_role(p, "triage", &["tickets.read"]).map(drop)),
        ),
        (
            "create department",
            op(|f, p, _| f.desk.create_department(p, "Sales").map(drop)),
        ),
        (
            "add member",
            op(|f, p, _| {
                f.desk
                    .add_member(p, f.billing.id, f.hal.id, AccessLevel::Full)
            }),
        ),
        (
            "remove member",
            op(|f, p, _| f.desk.remove_member(p, f.billing.id, f.ann.id)),
        ),
        (
            "create organization",
            op(|f, p, _| f.desk.create_organization(p, "Acme", false).map(drop)),
        ),
        (
            "create requester",
            op(|f, p, _| {
                f.desk
                    .create_requester(
                        p,
                        NewRequester {
                            name: "Q".into(),
                            email: "q@example.org".into(),
                            organization: None,
                        },
                    )
                    .map(drop)
            }),
        ),
        (
            "create field",
            op(|f, p, _| {
                f.desk
                    .create_field(
                        p,
                        NewFieldDefinition {
                            key: "k".into(),
                            label: "K".into(),
                            kind: helpdesk::FieldKind::Text,
                            agent_only: false,
                        },
                    )
                    .map(drop)
            }),
        ),
        (
            "update ticket",
            op(|f, p, t| {
                f.desk
                    .update_ticket(
                        p,
                        t,
                        1,
                        TicketUpdate {
                            priority: Some(helpdesk::Priority::Low),
                            ..Default::default()
                        },
                    )
                    .map(drop)
            }),
        ),
        (
            "assign ticket",
            op(|f, p, t| {
                f.desk
                    .update_ticket(
                        p,
                        t,
                        1,
                        TicketUpdate {
                            assignee: Some(Some(f.admin.id)),
                            ..Default::default()
                        },
                    )
                    .map(drop)
            }),
        ),
        (
            "set status",
            op(|f, p, t| {
                f.desk
                    .update_ticket(
                        p,
                        t,
                        1,
                        TicketUpdate {
                            status: Some(helpdesk::Status::Open),
                            ..Default::default()
                        },
                    )
                    .map(drop)
            }),
        ),
        ("delete ticket", op(|f, p, t| f.desk.delete_ticket(p, t))),
        (
            "internal note",
            op(|f, p, t| f.desk.add_message(p, t, NewMessage::note("n")).map(drop)),
        ),
        (
            "register consumer",
            op(|f, p, _| {
                f.desk
                    .register_consumer(p, "sneaky", StartFrom::Now)
                    .map(drop)
            }),
        ),
        (
            "read history of a role",
            op(|f, p, _| {
                f.desk
                    .history(p, HistorySubject::Role(RoleId::new(2)))
                    .map(drop)
            }),
        ),
    ]
}

#[test]
fn every_operation_is_refused_without_its_right_and_changes_nothing() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let reader = f.desk.create_agent(
        &f.root,
        NewAgent {
            name: "Rita".into(),
            email: "rita@example.com".into(),
            admin: false,
        },
    )?;
    f.desk
        .set_agent_roles(&f.root, reader.id, &[RoleId::new(3)])?;
    f.desk
        .add_member(&f.root, f.billing.id, reader.id, AccessLevel::Full)?;
    let ticket = f
        .desk
        .create_ticket(&f.root, NewTicket::new("Subject", f.billing.id, f.bob.id))?;
    let principals = [
        ("read-only agent", f.as_agent(&reader)?),
        ("requester", f.as_requester(&f.bob)?),
    ];
    for (who, p) in &principals {
        for (what, run) in mutations() {
            let before = outbox_head(&f)?;
            let result = run(&f, p, ticket.id);
            assert!(
                matches!(result, Err(Error::Denied(_)) | Err(Error::NotFound { .. })),
                "{who} may not {what}, got {result:?}"
            );
            assert_eq!(
                outbox_head(&f)?,
                before,
                "{who} / {what}: a refused call emitted an event"
            );
        }
    }
    assert_eq!(
        f.desk.ticket(&f.root, ticket.id)?.version,
        1,
        "the ticket never changed"
    );
    // The same operations succeed for an administrator, so the refusals above are about rights.
    let admin = f.as_agent(&f.admin)?;
    for (what, run) in mutations() {
        if what == "delete ticket" {
            continue;
        }
        let t = f
            .desk
            .create_ticket(&f.root, NewTicket::new("Fresh", f.billing.id, f.bob.id))?;
        run(&f, &admin, t.id).map_err(|e| anyhow::anyhow!("admin could not {what}: {e}"))?;
    }
    Ok(())
}

#[test]
fn department_levels_decide_with_a_reason() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let root = &f.root;
    f.desk
        .add_member(root, f.hardware.id, f.ann.id, AccessLevel::Read)?;
    let ann = f.as_agent(&f.ann)?;
    let t = f.desk.create_ticket(
        root,
        NewTicket::new("Monitor flickers", f.hardware.id, f.bob.id),
    )?;
    assert_eq!(f.desk.ticket(&ann, t.id)?.id, t.id, "read level reads");
    let err = f
        .desk
        .update_ticket(
            &ann,
            t.id,
            1,
            TicketUpdate {
                priority: Some(helpdesk::Priority::High),
                ..Default::default()
            },
        )
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "denied: agent `Ann` may read but not change tickets in department `Hardware`"
    );
    let err = f
        .desk
        .create_ticket(&ann, NewTicket::new("New one", f.hardware.id, f.bob.id))
        .unwrap_err();
    assert!(err.to_string().contains("may read but not create"), "{err}");
    f.desk
        .add_member(root, f.hardware.id, f.ann.id, AccessLevel::Create)?;
    f.desk
        .create_ticket(&ann, NewTicket::new("New one", f.hardware.id, f.bob.id))?;
    let err = f.desk.delete_ticket(&ann, t.id).unwrap_err();
    assert_eq!(
        err.to_string(),
        "denied: no role of agent `Ann` grants `tickets.delete`"
    );
    // Outside every level the ticket does not exist for Ann.
    f.desk.remove_member(root, f.hardware.id, f.ann.id)?;
    assert!(matches!(
        f.desk.ticket(&ann, t.id),
        Err(Error::NotFound { .. })
    ));
    let ghost = f
        .desk
        .ticket(&ann, TicketId::new(999_999))
        .unwrap_err()
        .to_string();
    let hidden = f.desk.ticket(&ann, t.id).unwrap_err().to_string();
    assert_eq!(
        ghost.replace("999999", "X"),
        hidden.replace(&t.id.to_string(), "X"),
        "no difference leaks"
    );
    Ok(())
}

#[test]
fn changes_to_rights_take_effect_on_the_very_next_call() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let root = &f.root;
    let ann = f.as_agent(&f.ann)?;
    let t = f.desk.create_ticket(
        root,
        NewTicket::new("Billing question", f.billing.id, f.bob.id),
    )?;
    f.desk.ticket(&ann, t.id)?;
    f.desk.remove_member(root, f.billing.id, f.ann.id)?;
    assert!(f.desk.ticket(&ann, t.id).is_err());
    f.desk
        .add_member(root, f.billing.id, f.ann.id, AccessLevel::Change)?;
    f.desk.ticket(&ann, t.id)?;
    // A custom role taking away replies, then given back by editing the role.
    let quiet = f
        .desk
        .create_role(root, "quiet", &["tickets.read", "tickets.note"])?;
    f.desk.set_agent_roles(root, f.ann.id, &[quiet.id])?;
    assert!(
        f.desk
            .add_message(&ann, t.id, NewMessage::reply("hi"))
            .is_err()
    );
    f.desk
        .add_message(&ann, t.id, NewMessage::note("internal only"))?;
    f.desk.update_role(
        root,
        quiet.id,
        &["tickets.read", "tickets.note", "tickets.reply"],
    )?;
    f.desk.add_message(&ann, t.id, NewMessage::reply("hi"))?;
    f.desk.delete_role(root, quiet.id)?;
    assert!(f.desk.ticket(&ann, t.id).is_err(), "no role, no rights");
    assert!(
        f.desk
            .update_role(root, RoleId::new(2), &["tickets.read"])
            .is_err(),
        "built-in roles are fixed"
    );
    assert!(
        f.desk
            .create_role(root, "typo", &["tickets.raed"])
            .unwrap_err()
            .to_string()
            .contains("tickets.raed")
    );
    // Disabling an agent stops a principal minted before.
    f.desk.set_agent_roles(root, f.ann.id, &[RoleId::new(2)])?;
    f.desk.update_agent(
        root,
        f.ann.id,
        AgentUpdate {
            active: Some(false),
            ..Default::default()
        },
    )?;
    assert!(matches!(
        f.desk.ticket(&ann, t.id),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(f.desk.agents(&ann), Err(Error::Denied(_))));
    Ok(())
}

#[test]
fn only_assigned_agents_see_their_own_tickets() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let root = &f.root;
    f.desk.update_agent(
        root,
        f.ann.id,
        AgentUpdate {
            only_assigned: Some(true),
            ..Default::default()
        },
    )?;
    let ann = f.as_agent(&f.ann)?;
    let mine = f.desk.create_ticket(
        root,
        NewTicket {
            assignee: Some(f.ann.id),
            ..NewTicket::new("Mine", f.billing.id, f.bob.id)
        },
    )?;
    let other = f
        .desk
        .create_ticket(root, NewTicket::new("Unassigned", f.billing.id, f.bob.id))?;
    let seen: Vec<TicketId> = f
        .desk
        .search(&ann, &SearchQuery::default())?
        .tickets
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(seen, [mine.id]);
    assert!(f.desk.ticket(&ann, other.id).is_err());
    f.desk.ticket(&ann, mine.id)?;
    Ok(())
}

#[test]
fn out_of_reach_tickets_never_leak() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let root = &f.root;
    let hal = f.as_agent(&f.hal)?;
    let secret = f.desk.create_ticket(
        root,
        NewTicket::new("Payroll error confidential", f.billing.id, f.bob.id),
    )?;
    f.desk.add_message(
        root,
        secret.id,
        NewMessage::note("confidential note").by(helpdesk::Author::Agent(f.ann.id)),
    )?;
    let visible = f.desk.create_ticket(
        root,
        NewTicket::new("Keyboard confidential", f.hardware.id, f.bob.id),
    )?;
    let q = SearchQuery {
        text: Some("confidential".into()),
        ..Default::default()
    };
    let ids: Vec<TicketId> = f
        .desk
        .search(&hal, &q)?
        .tickets
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(ids, [visible.id], "search");
    assert!(
        matches!(
            f.desk.messages(&hal, secret.id),
            Err(Error::NotFound { .. })
        ),
        "messages"
    );
    assert!(
        matches!(
            f.desk.ticket_history(&hal, secret.id),
            Err(Error::NotFound { .. })
        ),
        "history"
    );
    assert!(
        matches!(
            f.desk.add_message(&hal, secret.id, NewMessage::reply("x")),
            Err(Error::NotFound { .. })
        ),
        "reply"
    );
    // Events: even with `events.read`, Hal may not read a stream that holds events he may not
    // see (its lag and sequence numbers would count them); the system's stream holds both.
    let events_role = f
        .desk
        .create_role(root, "events", &["events.read", "tickets.read"])?;
    f.desk
        .set_agent_roles(root, f.hal.id, &[RoleId::new(2), events_role.id])?;
    assert!(matches!(
        f.desk
            .register_consumer(&hal, "hal-feed", StartFrom::Oldest),
        Err(Error::Denied(_))
    ));
    f.desk.register_consumer(root, "feed", StartFrom::Oldest)?;
    let tickets: Vec<Option<TicketId>> = f
        .desk
        .read_events(root, "feed", 1000)?
        .events
        .iter()
        .filter_map(|e| e.ticket.map(Some))
        .collect();
    assert!(tickets.contains(&Some(visible.id)) && tickets.contains(&Some(secret.id)));
    Ok(())
}

#[test]
fn requesters_see_their_organization_only_when_it_shares() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let root = &f.root;
    let shared = f.desk.create_organization(root, "Shared Co", true)?;
    let private = f.desk.create_organization(root, "Private Co", false)?;
    let person = |name: &str, org| {
        f.desk.create_requester(
            root,
            NewRequester {
                name: name.into(),
                email: format!("{name}@example.org"),
                organization: Some(org),
            },
        )
    };
    let (s1, s2) = (person("s1", shared.id)?, person("s2", shared.id)?);
    let (p1, p2) = (person("p1", private.id)?, person("p2", private.id)?);
    let t_s2 = f
        .desk
        .create_ticket(root, NewTicket::new("s2 ticket", f.billing.id, s2.id))?;
    let t_p2 = f
        .desk
        .create_ticket(root, NewTicket::new("p2 ticket", f.billing.id, p2.id))?;
    let as_s1 = f.system.requester(s1.id)?;
    let as_p1 = f.system.requester(p1.id)?;
    assert_eq!(f.desk.ticket(&as_s1, t_s2.id)?.id, t_s2.id);
    assert_eq!(
        f.desk
            .search(&as_s1, &SearchQuery::default())?
            .tickets
            .len(),
        1
    );
    assert!(f.desk.ticket(&as_p1, t_p2.id).is_err());
    assert!(
        f.desk
            .search(&as_p1, &SearchQuery::default())?
            .tickets
            .is_empty()
    );
    Ok(())
}

#[test]
fn agent_only_fields_are_hidden_from_requesters() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let root = &f.root;
    let def = |key: &str, agent_only| NewFieldDefinition {
        key: key.into(),
        label: key.into(),
        kind: helpdesk::FieldKind::Text,
        agent_only,
    };
    f.desk.create_field(root, def("order_number", false))?;
    f.desk.create_field(root, def("fraud_score", true))?;
    let mut new = NewTicket::new("Order missing", f.billing.id, f.bob.id);
    new.fields.insert(
        "order_number".into(),
        helpdesk::FieldValue::Text("A-17".into()),
    );
    new.fields.insert(
        "fraud_score".into(),
        helpdesk::FieldValue::Text("high".into()),
    );
    let t = f.desk.create_ticket(root, new)?;
    let bob = f.as_requester(&f.bob)?;
    let seen = f.desk.ticket(&bob, t.id)?;
    assert_eq!(seen.fields.keys().collect::<Vec<_>>(), ["order_number"]);
    assert_eq!(
        f.desk.search(&bob, &SearchQuery::default())?.tickets[0]
            .fields
            .len(),
        1
    );
    assert_eq!(f.desk.fields(&bob)?.len(), 1);
    assert_eq!(f.desk.ticket(&f.as_agent(&f.ann)?, t.id)?.fields.len(), 2);
    Ok(())
}

#[test]
fn only_administrators_make_administrators() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let root = &f.root;
    let managers =
        f.desk
            .create_role(root, "people managers", &["agents.read", "agents.manage"])?;
    f.desk.set_agent_roles(root, f.ann.id, &[managers.id])?;
    let ann = f.as_agent(&f.ann)?;
    f.desk.create_agent(
        &ann,
        NewAgent {
            name: "New".into(),
            email: "new@example.com".into(),
            admin: false,
        },
    )?;
    let err = f
        .desk
        .create_agent(
            &ann,
            NewAgent {
                name: "Boss".into(),
                email: "boss@example.com".into(),
                admin: true,
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("only an administrator"), "{err}");
    assert!(
        f.desk
            .update_agent(
                &ann,
                f.ann.id,
                AgentUpdate {
                    admin: Some(true),
                    ..Default::default()
                }
            )
            .is_err()
    );
    let as_admin = f.as_agent(&f.admin)?;
    f.desk.update_agent(
        &as_admin,
        f.ann.id,
        AgentUpdate {
            admin: Some(true),
            ..Default::default()
        },
    )?;
    Ok(())
}

#[test]
fn scope_names_are_stable() {
    let names: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
    for expected in [
        "tickets.read",
        "tickets.create",
        "tickets.update",
        "tickets.assign",
        "tickets.status",
        "tickets.delete",
        "tickets.reply",
        "tickets.note",
        "agents.read",
        "agents.manage",
        "requesters.read",
        "requesters.manage",
        "departments.read",
        "departments.manage",
        "roles.manage",
        "fields.manage",
        "keys.manage",
        "keys.logs",
        "plugins.manage",
        "events.read",
    ] {
        assert!(names.contains(&expected), "{expected} is missing");
    }
}
