//! Unit tests of the store: opening, migrations, and invariants that the facade cannot see.

use helpdesk_domain::{Actor, Attribution, NewAgent, NewRequester, NewTicket, Timestamp};

use super::*;

const AT: Timestamp = Timestamp::from_millis(1_000);
const SYSTEM: Attribution = Attribution::direct(Actor::System);

fn store() -> Store {
    Store::open_in_memory(&StoreOptions::default()).unwrap()
}

#[test]
fn migrations_are_recorded_and_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    drop(Store::open(&path, &StoreOptions::default()).unwrap());
    let store = Store::open(&path, &StoreOptions::default()).unwrap();
    let (app, version): (i64, i64) = store
        .read(|tx| Ok(tx.query_row("SELECT (SELECT application_id FROM pragma_application_id), (SELECT user_version FROM pragma_user_version)", [], |r| Ok((r.get(0)?, r.get(1)?)))?))
        .unwrap();
    assert_eq!(
        (app, version),
        (schema::APPLICATION_ID, schema::SCHEMA_VERSION)
    );
    let mode: String = store
        .read(|tx| Ok(tx.query_row("PRAGMA journal_mode", [], |r| r.get(0))?))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn readers_are_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.db"), &StoreOptions::default()).unwrap();
    let err = store
        .read(|tx| Ok(tx.execute("DELETE FROM agents", [])?))
        .unwrap_err();
    assert!(err.to_string().contains("readonly"), "{err}");
}

#[test]
fn a_failed_write_rolls_back_everything() {
    let store = store();
    let dept = store.create_department(AT, &SYSTEM, "D").unwrap();
    let req = store
        .create_requester(
            AT,
            &SYSTEM,
            NewRequester {
                name: "R".into(),
                email: "r@x.test".into(),
                organization: None,
            },
        )
        .unwrap();
    let count = |sql: &str| -> i64 {
        store
            .read(|tx| Ok(tx.query_row(sql, [], |r| r.get(0))?))
            .unwrap()
    };
    let before = (
        count("SELECT count(*) FROM history"),
        count("SELECT count(*) FROM outbox"),
    );
    // The message's author does not exist: the ticket, its index row, history and event must go too.
    let mut new = NewTicket::new("subject", dept.id, req.id);
    new.message = Some(
        helpdesk_domain::NewMessage::reply("x").by(helpdesk_domain::Author::Agent(
            helpdesk_domain::AgentId::new(99),
        )),
    );
    assert!(store.create_ticket(AT, &SYSTEM, new).is_err());
    assert_eq!(count("SELECT count(*) FROM tickets"), 0);
    assert_eq!(count("SELECT count(*) FROM search_index"), 0);
    assert_eq!(
        (
            count("SELECT count(*) FROM history"),
            count("SELECT count(*) FROM outbox")
        ),
        before
    );
}

#[test]
fn sequence_numbers_are_not_reused_after_pruning() {
    let store = store();
    store.register_consumer("c", AT, StartFrom::Now).unwrap();
    for i in 0..3 {
        store
            .create_agent(
                AT,
                &SYSTEM,
                NewAgent {
                    name: format!("A{i}"),
                    email: format!("a{i}@x.test"),
                    admin: false,
                },
            )
            .unwrap();
    }
    let batch = store.read_events("c", 10).unwrap();
    let last = batch.events.last().unwrap().seq;
    store.ack_events("c", last).unwrap();
    assert_eq!(
        store.events_after(0, 10).unwrap().len(),
        0,
        "all acknowledged: pruned"
    );
    store
        .create_agent(
            AT,
            &SYSTEM,
            NewAgent {
                name: "B".into(),
                email: "b@x.test".into(),
                admin: false,
            },
        )
        .unwrap();
    assert_eq!(store.read_events("c", 10).unwrap().events[0].seq, last + 1);
}

#[test]
fn unknown_stored_codes_are_errors_not_panics() {
    let store = store();
    let dept = store.create_department(AT, &SYSTEM, "D").unwrap();
    let req = store
        .create_requester(
            AT,
            &SYSTEM,
            NewRequester {
                name: "R".into(),
                email: "r@x.test".into(),
                organization: None,
            },
        )
        .unwrap();
    let t = store
        .create_ticket(AT, &SYSTEM, NewTicket::new("s", dept.id, req.id))
        .unwrap();
    store
        .write(|tx| Ok(tx.execute("UPDATE tickets SET status = 42", [])?))
        .unwrap();
    let err = store.ticket(t.id).unwrap_err();
    assert!(err.to_string().contains("unknown status code 42"), "{err}");
}

#[test]
fn an_in_memory_store_is_checked_on_its_writer() {
    let store = store();
    store.create_department(AT, &SYSTEM, "D").unwrap();
    assert_eq!(store.integrity_check().unwrap(), ["ok"]);
}

/// How a second open of the same file, by another name, ends while the first store is open.
#[derive(Debug, PartialEq)]
enum Second {
    InUse,
    HardLinked,
}

/// Opens `first`, then `second` while the first is open, and reports how the second ended.
fn second_open(first: &Path, second: &Path) -> Second {
    let _first = Store::open(first, &StoreOptions::default()).unwrap();
    match Store::open(second, &StoreOptions::default()) {
        Err(StoreError::InUse { path }) => {
            assert_eq!(path, second, "the error names the path given");
            Second::InUse
        }
        Err(StoreError::HardLinked { path, links }) => {
            assert_eq!((path.as_path(), links), (second, 2));
            Second::HardLinked
        }
        other => panic!("{} opened twice: {other:?}", second.display()),
    }
}

#[test]
fn a_symlink_is_the_file_it_points_to() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let db = d.join("s.db");
    drop(Store::open(&db, &StoreOptions::default()).unwrap());
    std::fs::create_dir(d.join("sub")).unwrap();
    symlink(&db, d.join("absolute")).unwrap();
    symlink("../s.db", d.join("sub/relative")).unwrap();
    symlink(d.join("absolute"), d.join("chained")).unwrap();
    symlink(d, d.join("dir")).unwrap();
    for (first, second) in [
        ("s.db", "absolute"),
        ("absolute", "s.db"),
        ("s.db", "sub/relative"),
        ("sub/relative", "chained"),
        ("s.db", "dir/s.db"),
        ("dir/absolute", "sub/../s.db"),
    ] {
        assert_eq!(
            second_open(&d.join(first), &d.join(second)),
            Second::InUse,
            "{first}, then {second}"
        );
    }
}

#[test]
fn a_dangling_symlink_is_the_file_it_will_create() {
    use std::os::unix::fs::symlink;
    for (first, second) in [("link", "new.db"), ("new.db", "link"), ("chain", "link")] {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        symlink("new.db", d.join("link")).unwrap();
        symlink(d.join("link"), d.join("chain")).unwrap();
        assert_eq!(
            second_open(&d.join(first), &d.join(second)),
            Second::InUse,
            "{first}, then {second}"
        );
        assert!(d.join("new.db").is_file(), "created through the link");
        assert!(!d.join("link.lock").exists(), "the lock is the target's");
    }
}

#[test]
fn a_hard_linked_file_is_refused_by_every_name() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.db");
    let b = dir.path().join("b.db");
    {
        // Linked while open: the first owner keeps it, the other name is refused.
        let _first = Store::open(&a, &StoreOptions::default()).unwrap();
        std::fs::hard_link(&a, &b).unwrap();
        assert!(matches!(
            Store::open(&b, &StoreOptions::default()),
            Err(StoreError::HardLinked { links: 2, .. })
        ));
        assert!(matches!(
            Store::open(&a, &StoreOptions::default()),
            Err(StoreError::InUse { .. })
        ));
    }
    for name in [&a, &b] {
        match Store::open(name, &StoreOptions::default()) {
            Err(e @ StoreError::HardLinked { .. }) => {
                let message = e.to_string();
                assert!(
                    message.contains(&format!("`{}`", name.display())),
                    "{message}"
                );
                assert!(message.contains("2 names (hard links)"), "{message}");
            }
            other => panic!("{} opened: {other:?}", name.display()),
        }
    }
    std::fs::remove_file(&b).unwrap();
    Store::open(&a, &StoreOptions::default()).unwrap();
}
