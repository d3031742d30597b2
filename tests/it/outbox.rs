//! The durable outbox: events in the same transaction, named consumers, acknowledgement, retention.

use helpdesk::{
    Actor, Error, EventKind, Helpdesk, NewMessage, NewTicket, Options, StartFrom, Status,
    TicketUpdate,
};
use helpdesk_tests::Fixture;

#[test]
fn changes_emit_events_in_order() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let root = &f.root;
    let start = f.desk.register_consumer(root, "audit", StartFrom::Now)?;
    let ann = f.as_agent(&f.ann)?;
    let t = f
        .desk
        .create_ticket(&ann, NewTicket::new("Refund", f.billing.id, f.bob.id))?;
    let t = f.desk.update_ticket(
        &ann,
        t.id,
        t.version,
        TicketUpdate {
            status: Some(Status::Open),
            assignee: Some(Some(f.ann.id)),
            ..Default::default()
        },
    )?;
    f.desk.add_message(&ann, t.id, NewMessage::reply("on it"))?;
    let batch = f.desk.read_events(root, "audit", 100)?;
    let kinds: Vec<EventKind> = batch.events.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [
            EventKind::TicketCreated,
            EventKind::TicketUpdated,
            EventKind::TicketStatusChanged,
            EventKind::TicketAssigned,
            EventKind::MessageAdded
        ]
    );
    let seqs: Vec<u64> = batch.events.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (start + 1..=start + 5).collect::<Vec<_>>(),
        "strictly increasing, gap-free"
    );
    assert!(
        batch
            .events
            .iter()
            .all(|e| e.by.actor == Actor::Agent(f.ann.id) && e.ticket == Some(t.id))
    );
    assert_eq!(batch.events[0].department, Some(f.billing.id));
    assert_eq!(batch.events[2].data["to"], "open");
    assert_eq!(batch.missed, None);
    Ok(())
}

#[test]
fn consumers_have_their_own_cursors_and_pruning_waits_for_the_slowest() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let root = &f.root;
    let a = f.desk.register_consumer(root, "fast", StartFrom::Now)?;
    f.desk.register_consumer(root, "slow", StartFrom::Now)?;
    for i in 0..5 {
        f.desk.create_ticket(
            root,
            NewTicket::new(format!("t{i}"), f.billing.id, f.bob.id),
        )?;
    }
    let fast = f.desk.read_events(root, "fast", 3)?;
    assert_eq!(fast.events.len(), 3);
    f.desk.ack_events(root, "fast", fast.events[2].seq)?;
    // Reading again without acknowledging redelivers (at least once).
    assert_eq!(f.desk.read_events(root, "slow", 10)?.events.len(), 5);
    assert_eq!(f.desk.read_events(root, "slow", 10)?.events.len(), 5);
    let next = f.desk.read_events(root, "fast", 10)?;
    assert_eq!(next.events.first().map(|e| e.seq), Some(a + 4));
    assert!(
        f.desk.ack_events(root, "fast", a + 1).is_err(),
        "acknowledging backwards is refused"
    );
    assert!(
        f.desk.ack_events(root, "fast", a + 99).is_err(),
        "acknowledging the future is refused"
    );
    let lags: Vec<(String, u64)> = f
        .desk
        .consumers(root)?
        .into_iter()
        .map(|c| (c.name, c.lag))
        .collect();
    assert_eq!(lags, [("fast".to_string(), 2), ("slow".to_string(), 5)]);
    // A consumer registered now, from the oldest event, still sees what "slow" holds back.
    f.desk.register_consumer(root, "late", StartFrom::Oldest)?;
    assert_eq!(f.desk.read_events(root, "late", 100)?.events.len(), 5);
    f.desk.remove_consumer(root, "late")?;
    f.desk.ack_events(root, "slow", a + 5)?;
    f.desk.ack_events(root, "fast", a + 5)?;
    f.desk
        .register_consumer(root, "after-prune", StartFrom::Oldest)?;
    assert!(
        f.desk
            .read_events(root, "after-prune", 100)?
            .events
            .is_empty(),
        "acknowledged by all: pruned"
    );
    assert!(
        f.desk
            .register_consumer(root, "bad name!", StartFrom::Now)
            .is_err()
    );
    assert!(f.desk.read_events(root, "nobody", 1).is_err());
    let ann = f.as_agent(&f.ann)?;
    assert!(
        f.desk.read_events(&ann, "fast", 1).is_err(),
        "only administrators read the outbox"
    );
    Ok(())
}

#[test]
fn retention_limit_reports_missed_events() -> anyhow::Result<()> {
    let clock = helpdesk::ManualClock::new(helpdesk_tests::START);
    let options = Options::default()
        .with_clock(clock.clone())
        .with_outbox_retention(100);
    let (desk, system) = Helpdesk::open_in_memory(options)?;
    let f = Fixture::populate(desk, system, clock)?;
    let root = &f.root;
    let start = f.desk.register_consumer(root, "sleepy", StartFrom::Now)?;
    for i in 0..600 {
        f.desk.create_ticket(
            root,
            NewTicket::new(format!("t{i}"), f.billing.id, f.bob.id),
        )?;
    }
    let batch = f.desk.read_events(root, "sleepy", 10)?;
    let (from, to) = batch
        .missed
        .expect("events beyond retention are reported as missed");
    assert_eq!(from, start + 1);
    assert_eq!(batch.events[0].seq, to + 1);
    assert!(
        to - from + 1 >= 400,
        "at most 100 + one pruning interval are kept"
    );
    f.desk.ack_events(root, "sleepy", batch.events[9].seq)?;
    assert_eq!(f.desk.read_events(root, "sleepy", 10)?.missed, None);
    Ok(())
}

#[test]
fn outbox_survives_reopen() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("desk.db");
    let seq = {
        let (desk, system) = Helpdesk::open(&path, Options::default())?;
        let f = Fixture::populate(
            desk,
            system,
            helpdesk::ManualClock::new(helpdesk_tests::START),
        )?;
        f.desk
            .register_consumer(&f.root, "mailer", StartFrom::Now)?;
        f.desk.create_ticket(
            &f.root,
            NewTicket::new("persist me", f.billing.id, f.bob.id),
        )?;
        f.desk.read_events(&f.root, "mailer", 10)?.events[0].seq
    };
    let (desk, system) = Helpdesk::open(&path, Options::default())?;
    let batch = desk.read_events(&system.principal(), "mailer", 10)?;
    assert_eq!(batch.events.len(), 1);
    assert_eq!(batch.events[0].seq, seq);
    assert_eq!(batch.events[0].data["subject"], "persist me");
    Ok(())
}

/// The outbox stream is for principals that may read every event: whoever may not would learn,
/// from its lag and the gaps between sequence numbers, how much happens out of its sight.
#[test]
fn only_principals_that_read_every_event_read_the_outbox() -> anyhow::Result<()> {
    let f =
        Fixture::new_with(|o| o.with_secret_hashing(helpdesk::SecretHashing::InsecureForTests))?;
    let watcher = f.agent_with_role(
        "Wes",
        &[
            "events.read",
            "tickets.read",
            "agents.read",
            "requesters.read",
            "departments.read",
        ],
        &[f.billing.id],
        helpdesk::AccessLevel::Read,
    )?;
    let narrow_admin_key = f
        .desk
        .create_key(
            &f.root,
            helpdesk::NewKey::agent("Ada's events", f.admin.id, "events.read".parse()?),
        )?
        .code;
    let narrow = f
        .desk
        .authenticate(narrow_admin_key.authorization(), None, None)?;
    for p in [f.as_agent(&watcher)?, narrow] {
        let refused = f.desk.register_consumer(&p, "watch", StartFrom::Now);
        assert!(
            matches!(refused, Err(helpdesk::Error::Denied(_))),
            "{refused:?}"
        );
        assert!(f.desk.consumers(&p).is_err());
    }
    let admin = f.as_agent(&f.admin)?;
    f.desk.register_consumer(&admin, "watch", StartFrom::Now)?;
    f.desk
        .create_ticket(&f.root, NewTicket::new("Printer", f.hardware.id, f.bob.id))?;
    assert_eq!(f.desk.read_events(&admin, "watch", 10)?.events.len(), 1);
    Ok(())
}

/// A consumer belongs to whoever registered it: another principal, even an administrator or
/// the system, can neither see, move nor remove it.
#[test]
fn consumers_belong_to_whoever_registered_them() -> anyhow::Result<()> {
    let f = Fixture::new()?;
    let ada = f.as_agent(&f.admin)?;
    let other = f.as_agent(&f.another_admin("Abe")?)?;
    f.desk.register_consumer(&ada, "crm", StartFrom::Oldest)?;
    let head = f
        .desk
        .read_events(&ada, "crm", 10_000)?
        .events
        .last()
        .map_or(0, |e| e.seq);
    for p in [&other, &f.root] {
        assert!(matches!(
            f.desk.ack_events(p, "crm", head),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            f.desk.read_events(p, "crm", 1),
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            f.desk.remove_consumer(p, "crm"),
            Err(Error::NotFound { .. })
        ));
        assert!(f.desk.consumers(p)?.iter().all(|c| c.name != "crm"));
    }
    f.desk.register_consumer(&other, "crm", StartFrom::Now)?;
    assert!(f.desk.read_events(&other, "crm", 10)?.events.is_empty());
    assert!(
        !f.desk.read_events(&ada, "crm", 10)?.events.is_empty(),
        "untouched"
    );
    Ok(())
}
