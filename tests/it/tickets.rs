//! Tickets and messages: creation, validation, optimistic concurrency, messages, deletion, import.

use std::collections::BTreeMap;

use helpdesk::{
    Author, Error, FieldKind, FieldValue, ImportTicket, MessageKind, NewFieldDefinition,
    NewMessage, NewTicket, Priority, Status, TicketUpdate, ValidationError,
};
use helpdesk_tests::Fixture;

#[test]
fn create_ticket_defaults_and_first_message() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let ann = f.as_agent(&f.ann)?;
    let mut new = NewTicket::new("  Card declined  ", f.billing.id, f.bob.id);
    new.tags = vec!["VIP".into(), "card".into(), "vip".into()];
    new.message = Some(NewMessage::reply("My card was declined").by(Author::Requester(f.bob.id)));
    let t = f.desk.create_ticket(&ann, new)?;
    assert_eq!(t.subject, "Card declined");
    assert_eq!(t.status, Status::New);
    assert_eq!(t.priority, Priority::Normal);
    assert_eq!(t.tags, ["card", "vip"]);
    assert_eq!(t.version, 1);
    assert_eq!(t.created_at, helpdesk_tests::START);
    assert_eq!(f.desk.ticket(&ann, t.id)?, t);
    let messages = f.desk.messages(&ann, t.id)?;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].author, Author::Requester(f.bob.id));
    assert_eq!(
        messages[0].posted_by.actor,
        helpdesk::Actor::Agent(f.ann.id),
        "who posted for the requester is kept"
    );
    Ok(())
}

#[test]
fn invalid_new_tickets_are_refused_and_leave_nothing() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let root = &f.root;
    let before = f.desk.search(root, &Default::default())?.tickets.len();
    let events_before = f
        .desk
        .register_consumer(root, "probe", helpdesk::StartFrom::Now)?;
    let check = |new: NewTicket, expect: &str| {
        let err = f.desk.create_ticket(root, new).unwrap_err();
        assert!(
            err.to_string().contains(expect),
            "expected `{expect}` in `{err}`"
        );
    };
    check(
        NewTicket::new("", f.billing.id, f.bob.id),
        "`subject` must not be empty",
    );
    check(
        NewTicket::new("x".repeat(501).as_str(), f.billing.id, f.bob.id),
        "at most 500",
    );
    check(
        NewTicket::new("a", helpdesk::DepartmentId::new(999), f.bob.id),
        "department `999` does not exist",
    );
    check(
        NewTicket::new("a", f.billing.id, helpdesk::RequesterId::new(999)),
        "requester `999` does not exist",
    );
    let mut wrong_assignee = NewTicket::new("a", f.billing.id, f.bob.id);
    wrong_assignee.assignee = Some(f.hal.id);
    check(
        wrong_assignee,
        "agent `Hal` is not a member of department `Billing`",
    );
    let mut bad_tag = NewTicket::new("a", f.billing.id, f.bob.id);
    bad_tag.tags = vec!["two words".into()];
    check(bad_tag, "white space");
    let mut unknown_field = NewTicket::new("a", f.billing.id, f.bob.id);
    unknown_field
        .fields
        .insert("plan".into(), FieldValue::Text("gold".into()));
    check(unknown_field, "custom field `plan` is not defined");
    let mut closed = NewTicket::new("a", f.billing.id, f.bob.id);
    closed.status = Some(Status::Closed);
    check(closed, "cannot be created closed");
    let mut empty_body = NewTicket::new("a", f.billing.id, f.bob.id);
    empty_body.message = Some(NewMessage::reply("   "));
    check(empty_body, "`body` must not be empty");
    let mut note_no_author = NewTicket::new("a", f.billing.id, f.bob.id);
    note_no_author.message = Some(NewMessage::note("internal"));
    check(note_no_author, "a note needs an agent as its author");

    assert_eq!(
        f.desk.search(root, &Default::default())?.tickets.len(),
        before
    );
    let batch = f.desk.read_events(root, "probe", 100)?;
    assert!(batch.events.is_empty(), "a failed call emits no event");
    assert_eq!(events_before, f.desk.consumers(root)?[0].cursor);
    Ok(())
}

#[test]
fn custom_fields_are_validated_against_definitions() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let root = &f.root;
    let define = |key: &str, kind: FieldKind| {
        f.desk.create_field(
            root,
            NewFieldDefinition {
                key: key.into(),
                label: key.into(),
                kind,
                agent_only: false,
            },
        )
    };
    define(
        "plan",
        FieldKind::Choice(vec!["Gold".into(), "Silver".into()]),
    )?;
    define("seats", FieldKind::Number)?;
    define("renewal", FieldKind::Date)?;
    define("trial", FieldKind::Boolean)?;
    define("note", FieldKind::Text)?;
    assert!(matches!(
        define("plan", FieldKind::Text),
        Err(Error::Duplicate { .. })
    ));

    let mut new = NewTicket::new("Upgrade", f.billing.id, f.bob.id);
    new.fields = BTreeMap::from([
        ("plan".to_string(), FieldValue::Choice("gold".into())),
        ("seats".to_string(), FieldValue::Number(12.0)),
        ("renewal".to_string(), FieldValue::Date("2026-03-31".into())),
        ("trial".to_string(), FieldValue::Boolean(false)),
    ]);
    let t = f.desk.create_ticket(root, new)?;
    assert_eq!(t.fields["plan"], FieldValue::Choice("Gold".into()));
    assert_eq!(f.desk.ticket(root, t.id)?.fields, t.fields);

    let bad = |key: &str, value: FieldValue| {
        let update = TicketUpdate {
            fields: BTreeMap::from([(key.to_string(), Some(value))]),
            ..Default::default()
        };
        f.desk.update_ticket(root, t.id, 1, update).unwrap_err()
    };
    assert!(
        bad("plan", FieldValue::Choice("Bronze".into()))
            .to_string()
            .contains("not one of its options")
    );
    assert!(
        bad("seats", FieldValue::Text("ten".into()))
            .to_string()
            .contains("expects a number value")
    );
    assert!(
        bad("renewal", FieldValue::Date("2026-02-30".into()))
            .to_string()
            .contains("YYYY-MM-DD")
    );
    assert!(
        bad("seats", FieldValue::Number(f64::INFINITY))
            .to_string()
            .contains("finite")
    );

    let clear = TicketUpdate {
        fields: BTreeMap::from([("trial".to_string(), None)]),
        ..Default::default()
    };
    let t2 = f.desk.update_ticket(root, t.id, 1, clear)?;
    assert!(!t2.fields.contains_key("trial"));
    assert_eq!(t2.version, 2);
    Ok(())
}

#[test]
fn stale_updates_conflict_instead_of_overwriting() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let ann = f.as_agent(&f.ann)?;
    let t = f
        .desk
        .create_ticket(&ann, NewTicket::new("Refund", f.billing.id, f.bob.id))?;
    let first = TicketUpdate {
        priority: Some(Priority::High),
        ..Default::default()
    };
    let t2 = f.desk.update_ticket(&ann, t.id, t.version, first)?;
    assert_eq!(t2.version, 2);
    let stale = TicketUpdate {
        priority: Some(Priority::Low),
        ..Default::default()
    };
    match f.desk.update_ticket(&ann, t.id, t.version, stale) {
        Err(Error::Conflict {
            ticket,
            expected,
            actual,
        }) => {
            assert_eq!((ticket, expected, actual), (t.id, 1, 2));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(f.desk.ticket(&ann, t.id)?.priority, Priority::High);
    // An update that changes nothing does not bump the version.
    let same = TicketUpdate {
        priority: Some(Priority::High),
        ..Default::default()
    };
    assert_eq!(f.desk.update_ticket(&ann, t.id, 2, same)?.version, 2);
    Ok(())
}

#[test]
fn assignment_rules() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let root = &f.root;
    let t = f
        .desk
        .create_ticket(root, NewTicket::new("Laptop", f.hardware.id, f.bob.id))?;
    let assign = |agent| TicketUpdate {
        assignee: Some(agent),
        ..Default::default()
    };
    let err = f
        .desk
        .update_ticket(root, t.id, 1, assign(Some(f.ann.id)))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("not a member of department `Hardware`"),
        "{err}"
    );
    let t = f
        .desk
        .update_ticket(root, t.id, 1, assign(Some(f.hal.id)))?;
    assert_eq!(t.assignee, Some(f.hal.id));
    // Moving the ticket to a department its assignee is not in is refused unless reassigned.
    let move_only = TicketUpdate {
        department: Some(f.billing.id),
        ..Default::default()
    };
    assert!(
        f.desk
            .update_ticket(root, t.id, t.version, move_only)
            .is_err()
    );
    let move_and_reassign = TicketUpdate {
        department: Some(f.billing.id),
        assignee: Some(Some(f.ann.id)),
        ..Default::default()
    };
    let t = f
        .desk
        .update_ticket(root, t.id, t.version, move_and_reassign)?;
    assert_eq!((t.department, t.assignee), (f.billing.id, Some(f.ann.id)));
    // A disabled agent cannot be assigned.
    f.desk.update_agent(
        root,
        f.hal.id,
        helpdesk::AgentUpdate {
            active: Some(false),
            ..Default::default()
        },
    )?;
    let back = TicketUpdate {
        department: Some(f.hardware.id),
        assignee: Some(Some(f.hal.id)),
        ..Default::default()
    };
    assert!(
        f.desk
            .update_ticket(root, t.id, t.version, back)
            .unwrap_err()
            .to_string()
            .contains("disabled")
    );
    // Leaving a department unassigns its tickets.
    f.desk.remove_member(root, f.billing.id, f.ann.id)?;
    assert_eq!(f.desk.ticket(root, t.id)?.assignee, None);
    Ok(())
}

#[test]
fn status_rules_and_automatic_transitions() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let ann = f.as_agent(&f.ann)?;
    let bob = f.as_requester(&f.bob)?;
    let t = f.desk.create_ticket(
        &bob,
        NewTicket::new("Charged twice", f.billing.id, f.bob.id),
    )?;
    assert_eq!(t.status, Status::New);
    f.desk
        .add_message(&ann, t.id, NewMessage::reply("Looking into it"))?;
    let t = f.desk.ticket(&ann, t.id)?;
    assert_eq!(
        t.status,
        Status::Open,
        "an agent's reply opens a new ticket"
    );
    let t = f.desk.update_ticket(
        &ann,
        t.id,
        t.version,
        TicketUpdate {
            status: Some(Status::Resolved),
            ..Default::default()
        },
    )?;
    f.desk
        .add_message(&bob, t.id, NewMessage::reply("Still charged twice"))?;
    let t = f.desk.ticket(&ann, t.id)?;
    assert_eq!(
        t.status,
        Status::Open,
        "a requester's reply reopens a resolved ticket"
    );
    let err = f.desk.update_ticket(
        &ann,
        t.id,
        t.version,
        TicketUpdate {
            status: Some(Status::New),
            ..Default::default()
        },
    );
    assert!(
        err.unwrap_err()
            .to_string()
            .contains("cannot go back to `new`")
    );
    let t = f.desk.update_ticket(
        &ann,
        t.id,
        t.version,
        TicketUpdate {
            status: Some(Status::Closed),
            ..Default::default()
        },
    )?;
    let err = f.desk.update_ticket(
        &ann,
        t.id,
        t.version,
        TicketUpdate {
            priority: Some(Priority::Low),
            ..Default::default()
        },
    );
    assert!(err.unwrap_err().to_string().contains("closed"));
    assert!(
        f.desk
            .add_message(&ann, t.id, NewMessage::note("late"))
            .unwrap_err()
            .to_string()
            .contains("closed")
    );
    Ok(())
}

#[test]
fn notes_are_hidden_from_requesters() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let ann = f.as_agent(&f.ann)?;
    let bob = f.as_requester(&f.bob)?;
    let t = f.desk.create_ticket(
        &bob,
        NewTicket::new("Where is my order", f.billing.id, f.bob.id),
    )?;
    f.desk.add_message(
        &ann,
        t.id,
        NewMessage::note("customer is on the fraud list"),
    )?;
    f.desk
        .add_message(&ann, t.id, NewMessage::reply("It ships tomorrow"))?;
    let agent_view = f.desk.messages(&ann, t.id)?;
    assert_eq!(
        agent_view.iter().map(|m| m.kind).collect::<Vec<_>>(),
        [MessageKind::Note, MessageKind::Reply]
    );
    let bob_view = f.desk.messages(&bob, t.id)?;
    assert_eq!(bob_view.len(), 1);
    assert_eq!(bob_view[0].body, "It ships tomorrow");
    assert!(
        f.desk
            .add_message(&bob, t.id, NewMessage::note("sneaky"))
            .is_err()
    );
    Ok(())
}

#[test]
fn requesters_only_reach_their_own_tickets() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let bob = f.as_requester(&f.bob)?;
    let cat = f.as_requester(&f.cat)?;
    let t = f
        .desk
        .create_ticket(&bob, NewTicket::new("Mine", f.billing.id, f.bob.id))?;
    assert!(matches!(
        f.desk.ticket(&cat, t.id),
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(
        f.desk.messages(&cat, t.id),
        Err(Error::NotFound { .. })
    ));
    assert!(
        f.desk
            .create_ticket(&cat, NewTicket::new("Not mine", f.billing.id, f.bob.id))
            .is_err()
    );
    assert!(f.desk.search(&cat, &Default::default())?.tickets.is_empty());
    assert_eq!(f.desk.search(&bob, &Default::default())?.tickets.len(), 1);
    Ok(())
}

#[test]
fn delete_keeps_history_and_emits_event() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let root = &f.root;
    let t = f
        .desk
        .create_ticket(root, NewTicket::new("Spam", f.billing.id, f.bob.id))?;
    f.desk
        .add_message(root, t.id, NewMessage::reply("buy now"))?;
    let ann = f.as_agent(&f.ann)?;
    assert!(matches!(
        f.desk.delete_ticket(&ann, t.id),
        Err(Error::Denied(_))
    ));
    f.desk.delete_ticket(root, t.id)?;
    assert!(matches!(
        f.desk.ticket(root, t.id),
        Err(Error::NotFound { .. })
    ));
    let history = f
        .desk
        .history(root, helpdesk::HistorySubject::Ticket(t.id))?;
    assert_eq!(
        history.last().map(|h| &h.change),
        Some(&helpdesk::Change::Deleted)
    );
    let search = helpdesk::SearchQuery {
        text: Some("buy".into()),
        ..Default::default()
    };
    assert!(
        f.desk.search(root, &search)?.tickets.is_empty(),
        "the search index forgets deleted tickets"
    );
    Ok(())
}

#[test]
fn import_is_all_or_nothing() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let root = &f.root;
    let good = |i: usize| ImportTicket {
        ticket: NewTicket::new(format!("Imported {i}"), f.billing.id, f.bob.id),
        messages: vec![
            NewMessage::reply("from the old system"),
            NewMessage::note("old note").by(Author::Agent(f.ann.id)),
        ],
        created_at: Some(helpdesk::Timestamp::from_millis(
            1_600_000_000_000 + i as i64,
        )),
    };
    let mut batch: Vec<_> = (0..20).map(good).collect();
    batch[13].ticket.subject = String::new();
    let err = f.desk.import_tickets(root, batch).unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Invalid(ValidationError::Malformed {
                field: "import",
                ..
            })
        ),
        "{err}"
    );
    assert!(err.to_string().contains("ticket #13"), "{err}");
    assert!(f.desk.search(root, &Default::default())?.tickets.is_empty());

    let ids = f.desk.import_tickets(root, (0..20).map(good).collect())?;
    assert_eq!(ids.len(), 20);
    let t = f.desk.ticket(root, ids[3])?;
    assert_eq!(
        t.created_at,
        helpdesk::Timestamp::from_millis(1_600_000_000_003)
    );
    assert_eq!(f.desk.messages(root, ids[3])?.len(), 2);
    let history = f.desk.ticket_history(root, ids[3])?;
    assert_eq!(history[0].change, helpdesk::Change::Imported);
    let ann = f.as_agent(&f.ann)?;
    let mut elsewhere = good(99);
    elsewhere.ticket.department = f.hardware.id;
    assert!(
        matches!(
            f.desk.import_tickets(&ann, vec![good(98), elsewhere]),
            Err(Error::Denied(_))
        ),
        "each imported ticket is authorized like a new one"
    );
    assert_eq!(f.desk.import_tickets(&ann, vec![good(97)])?.len(), 1);
    Ok(())
}

/// Priority and tags are `tickets.update` at creation too: a requester opens a ticket with
/// neither.
#[test]
fn requesters_cannot_set_priority_or_tags_when_opening_a_ticket() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let bob = f.as_requester(&f.bob)?;
    let mut urgent = NewTicket::new("Everything is down", f.billing.id, f.bob.id);
    urgent.priority = Some(Priority::Urgent);
    let mut tagged = NewTicket::new("Everything is down", f.billing.id, f.bob.id);
    tagged.tags = vec!["vip".into()];
    for new in [urgent, tagged] {
        let refused = f.desk.create_ticket(&bob, new);
        assert!(matches!(refused, Err(Error::Denied(_))), "{refused:?}");
    }
    let t = f.desk.create_ticket(
        &bob,
        NewTicket::new("Everything is down", f.billing.id, f.bob.id),
    )?;
    assert_eq!(t.priority, Priority::Normal);
    let ann = f.as_agent(&f.ann)?;
    let mut tagged = NewTicket::new("Down", f.billing.id, f.bob.id);
    tagged.tags = vec!["vip".into()];
    tagged.priority = Some(Priority::High);
    f.desk.create_ticket(&ann, tagged)?;
    Ok(())
}

/// Requesters see who wrote to them, never through which key, token or install.
#[test]
fn requesters_never_see_the_credentials_behind_a_message() -> anyhow::Result<()> {
    let f =
        Fixture::new_with(|o| o.with_secret_hashing(helpdesk::SecretHashing::InsecureForTests))?;
    let code = f
        .desk
        .create_key(
            &f.root,
            helpdesk::NewKey::agent("Ann's sync", f.ann.id, helpdesk::Scopes::ALL),
        )?
        .code;
    let through_key = f.desk.authenticate(code.authorization(), None, None)?;
    let t = f
        .desk
        .create_ticket(&f.root, NewTicket::new("Refund", f.billing.id, f.bob.id))?;
    f.desk
        .add_message(&through_key, t.id, NewMessage::reply("Refunded."))?;
    let bob = f.as_requester(&f.bob)?;
    let seen = f.desk.messages(&bob, t.id)?;
    assert_eq!(seen.len(), 1);
    let by = seen[0].posted_by;
    assert_eq!(by.actor, helpdesk::Actor::Agent(f.ann.id));
    assert_eq!((by.key, by.token, by.install), (None, None, None));
    let ann = f.as_agent(&f.ann)?;
    assert_eq!(
        f.desk.messages(&ann, t.id)?[0].posted_by.key,
        Some(code.id())
    );
    Ok(())
}
