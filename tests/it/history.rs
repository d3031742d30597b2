//! The typed audit history: every change, who made it, old and new values.

use helpdesk::{
    AccessLevel, Actor, Change, Error, Helpdesk, HistoryField, HistorySubject, HistoryValue,
    ManualClock, MessageKind, NewKey, NewMessage, NewTicket, NewToken, Options, Priority, Scopes,
    SecretHashing, Status, TicketId, TicketUpdate,
};
use helpdesk_tests::{Fixture, START, assert_reads_like_missing};

#[test]
fn every_ticket_change_is_recorded_with_who_and_when() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let ann = f.as_agent(&f.ann)?;
    let t = f
        .desk
        .create_ticket(&ann, NewTicket::new("Refund", f.billing.id, f.bob.id))?;
    f.clock.advance_millis(60_000);
    let update = TicketUpdate {
        subject: Some("Refund request".into()),
        priority: Some(Priority::Urgent),
        status: Some(Status::Open),
        assignee: Some(Some(f.ann.id)),
        add_tags: vec!["refund".into()],
        ..Default::default()
    };
    let t = f.desk.update_ticket(&ann, t.id, t.version, update)?;
    let note = f
        .desk
        .add_message(&ann, t.id, NewMessage::note("check the ledger"))?;
    let history = f.desk.ticket_history(&ann, t.id)?;
    let changes: Vec<&Change> = history.iter().map(|h| &h.change).collect();
    assert_eq!(
        changes,
        [
            &Change::Created,
            &Change::Set {
                field: HistoryField::Subject,
                old: HistoryValue::Text("Refund".into()),
                new: HistoryValue::Text("Refund request".into())
            },
            &Change::Set {
                field: HistoryField::Status,
                old: HistoryValue::Status(Status::New),
                new: HistoryValue::Status(Status::Open)
            },
            &Change::Set {
                field: HistoryField::Priority,
                old: HistoryValue::Priority(Priority::Normal),
                new: HistoryValue::Priority(Priority::Urgent)
            },
            &Change::Set {
                field: HistoryField::Assignee,
                old: HistoryValue::None,
                new: HistoryValue::Agent(f.ann.id)
            },
            &Change::TagAdded {
                tag: "refund".into()
            },
            &Change::MessageAdded {
                message: note.id,
                kind: MessageKind::Note
            },
        ]
    );
    assert!(history.iter().all(|h| h.by.actor == Actor::Agent(f.ann.id)));
    assert_eq!(history[0].at, helpdesk_tests::START);
    assert_eq!(history[1].at, helpdesk_tests::START.add_millis(60_000));
    assert!(history.windows(2).all(|w| w[0].id < w[1].id));
    Ok(())
}

#[test]
fn people_changes_are_recorded_too() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let history = f
        .desk
        .history(&f.root, HistorySubject::Department(f.billing.id))?;
    assert_eq!(
        history.iter().map(|h| h.change.clone()).collect::<Vec<_>>(),
        [
            Change::Created,
            Change::MemberAdded {
                agent: f.ann.id,
                level: helpdesk::AccessLevel::Change
            }
        ]
    );
    assert!(history.iter().all(|h| h.by.actor == Actor::System));
    let ann = f.as_agent(&f.ann)?;
    assert!(
        f.desk
            .history(&ann, HistorySubject::Role(helpdesk::RoleId::new(2)))
            .is_err(),
        "reading a role's audit trail needs roles.manage"
    );
    assert_eq!(
        f.desk.history(&ann, HistorySubject::Agent(f.hal.id))?.len(),
        1,
        "agents.read covers the agents' history"
    );
    let bob = f.as_requester(&f.bob)?;
    let t = f
        .desk
        .create_ticket(&bob, NewTicket::new("Mine", f.billing.id, f.bob.id))?;
    assert!(
        f.desk.ticket_history(&bob, t.id).is_err(),
        "requesters do not read ticket history"
    );
    Ok(())
}

/// A ticket out of reach and a missing one read the same through `history`, for agents and
/// requesters alike (there was an `agents.manage` fallback that told them apart).
#[test]
fn the_history_of_a_ticket_out_of_reach_reads_like_a_missing_ticket() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let hidden = f.desk.create_ticket(
        &f.root,
        NewTicket::new("Printer jam", f.hardware.id, f.bob.id),
    )?;
    let missing = TicketId::new(hidden.id.get() + 1000);
    let manager = f.agent_with_role(
        "Moe",
        &["tickets.read", "agents.read", "agents.manage"],
        &[f.billing.id],
        AccessLevel::Read,
    )?;
    let principals = [
        f.as_agent(&f.ann)?,
        f.as_agent(&manager)?,
        f.as_requester(&f.cat)?,
    ];
    for p in &principals {
        let subject = |id| HistorySubject::Ticket(id);
        let hidden_error = f.desk.history(p, subject(hidden.id)).unwrap_err();
        let missing_error = f.desk.history(p, subject(missing)).unwrap_err();
        assert_reads_like_missing(&hidden_error, hidden.id, &missing_error, missing);
        let hidden_error = f.desk.ticket_history(p, hidden.id).unwrap_err();
        assert_reads_like_missing(&hidden_error, hidden.id, &missing_error, missing);
    }
    Ok(())
}

/// A deleted ticket's history is read by those who could read the ticket when it was deleted,
/// not by whoever holds `agents.manage`.
#[test]
fn the_history_of_a_deleted_ticket_keeps_the_reach_the_ticket_had() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let billing = f
        .desk
        .create_ticket(&f.root, NewTicket::new("Refund", f.billing.id, f.bob.id))?;
    let hardware = f.desk.create_ticket(
        &f.root,
        NewTicket::new("Printer jam", f.hardware.id, f.bob.id),
    )?;
    f.desk.delete_ticket(&f.root, billing.id)?;
    f.desk.delete_ticket(&f.root, hardware.id)?;
    let missing = TicketId::new(hardware.id.get() + 1000);
    let manager = f.agent_with_role(
        "Moe",
        &["tickets.read", "agents.read", "agents.manage"],
        &[f.billing.id],
        AccessLevel::Read,
    )?;
    let admin = f.as_agent(&f.admin)?;
    for p in [&f.root, &admin] {
        assert!(
            f.desk
                .history(p, HistorySubject::Ticket(hardware.id))?
                .len()
                >= 2
        );
    }
    for agent in [&f.ann, &manager] {
        let p = f.as_agent(agent)?;
        let history = f.desk.history(&p, HistorySubject::Ticket(billing.id))?;
        assert_eq!(history.last().map(|h| &h.change), Some(&Change::Deleted));
        let hidden = f
            .desk
            .history(&p, HistorySubject::Ticket(hardware.id))
            .unwrap_err();
        let absent = f
            .desk
            .history(&p, HistorySubject::Ticket(missing))
            .unwrap_err();
        assert_reads_like_missing(&hidden, hardware.id, &absent, missing);
    }
    let bob = f.as_requester(&f.bob)?;
    let hidden = f
        .desk
        .history(&bob, HistorySubject::Ticket(billing.id))
        .unwrap_err();
    let absent = f
        .desk
        .history(&bob, HistorySubject::Ticket(missing))
        .unwrap_err();
    assert_reads_like_missing(&hidden, billing.id, &absent, missing);
    Ok(())
}

/// Key history is key administration: through a key only a superuser key with admin functions
/// reads it, never a token, exactly like `keys()` and `key_log`.
#[test]
fn key_history_needs_what_key_administration_needs() -> anyhow::Result<()> {
    let clock = ManualClock::new(START);
    let (desk, system) = Helpdesk::open_in_memory(
        Options::default()
            .with_clock(clock.clone())
            .with_secret_hashing(SecretHashing::InsecureForTests),
    )?;
    let f = Fixture::populate(desk, system, clock)?;
    let all = Scopes::ALL;
    let admin_key = f
        .desk
        .create_key(&f.root, NewKey::agent("Ada's key", f.admin.id, all))?;
    let plain_superuser = f
        .desk
        .create_key(&f.root, NewKey::superuser("Portal", Some(f.admin.id), all))?;
    let mut with_functions = NewKey::superuser("Ops", Some(f.admin.id), all);
    with_functions.admin_functions = true;
    let ops = f.desk.create_key(&f.root, with_functions)?;
    let through_ops = f.desk.authenticate(ops.code.authorization(), None, None)?;
    let token = f
        .desk
        .mint_token(&through_ops, NewToken::for_agent(f.admin.id))?;

    let subject = HistorySubject::Key(admin_key.key.id);
    let refused = [
        f.desk
            .authenticate(admin_key.code.authorization(), None, None)?,
        f.desk
            .authenticate(plain_superuser.code.authorization(), None, None)?,
        f.desk
            .authenticate(token.token.authorization(), None, None)?,
    ];
    for p in &refused {
        assert!(f.desk.keys(p).is_err());
        assert!(f.desk.key_log(p, admin_key.key.id).is_err());
        let error = f.desk.history(p, subject).unwrap_err();
        assert!(matches!(error, Error::Denied(_)), "{error:?}");
    }
    for p in [&through_ops, &f.as_agent(&f.admin)?, &f.root] {
        assert!(!f.desk.history(p, subject)?.is_empty());
    }
    Ok(())
}
