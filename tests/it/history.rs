//! The typed audit history: every change, who made it, old and new values.

use helpdesk::{
    Actor, Change, HistoryField, HistorySubject, HistoryValue, MessageKind, NewMessage, NewTicket,
    Priority, Status, TicketUpdate,
};
use helpdesk_tests::Fixture;

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
