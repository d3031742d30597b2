//! Unit tests of the store: opening, migrations, and invariants that the facade cannot see.

use helpdesk_domain::{
    Actor, AgentId, Attribution, DepartmentId, InstallId, NewAgent, NewRequester, NewTicket,
    StartFrom, TicketId, Timestamp,
};

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
    store
        .register_consumer(ConsumerOwner::System, "c", AT, StartFrom::Now)
        .unwrap();
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
    let batch = store.read_events(ConsumerOwner::System, "c", 10).unwrap();
    let last = batch.events.last().unwrap().seq;
    store.ack_events(ConsumerOwner::System, "c", last).unwrap();
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
    assert_eq!(
        store
            .read_events(ConsumerOwner::System, "c", 10)
            .unwrap()
            .events[0]
            .seq,
        last + 1
    );
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
        Err(Error::InUse { path }) => {
            assert_eq!(path, second, "the error names the path given");
            Second::InUse
        }
        Err(Error::HardLinked { path, links }) => {
            assert_eq!((path.as_path(), links), (second, 2));
            Second::HardLinked
        }
        other => panic!("{} opened twice: {other:?}", second.display()),
    }
}

#[test]
#[cfg(unix)]
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
#[cfg(unix)]
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
#[cfg(unix)]
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
            Err(Error::HardLinked { links: 2, .. })
        ));
        assert!(matches!(
            Store::open(&a, &StoreOptions::default()),
            Err(Error::InUse { .. })
        ));
    }
    for name in [&a, &b] {
        match Store::open(name, &StoreOptions::default()) {
            Err(e @ Error::HardLinked { .. }) => {
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

/// Opens a file left by a creation killed after its first migration's pages were written, with
/// the journal still hot (`hot`, killed mid-commit) or already deleted (killed after the commit,
/// before the switch to WAL), and returns whether the pages written before the kill survived.
fn reopen_after_killed_creation(hot: bool) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // The journal of a creating transaction as a kill mid-commit leaves it: the commit writes the
    // journal's magic number once the journal is synced, then the database pages, and deletes the
    // journal last. Before the commit the magic is still zero (the journal is not hot yet).
    let journal = {
        let conn = Connection::open(d.join("scratch.db")).unwrap();
        conn.execute_batch("BEGIN; CREATE TABLE t (x);").unwrap();
        let mut journal = std::fs::read(d.join("scratch.db-journal")).unwrap();
        conn.execute_batch("ROLLBACK").unwrap();
        journal[..8].copy_from_slice(&[0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7]);
        journal
    };
    // The file as that commit wrote it: our first migration and application id, and a marker.
    let path = d.join("s.db");
    {
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(schema::MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "application_id", schema::APPLICATION_ID)
            .unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch("CREATE TABLE marker (x)").unwrap();
    }
    if hot {
        std::fs::write(d.join("s.db-journal"), journal).unwrap();
    }

    let store = Store::open(&path, &StoreOptions::default()).unwrap();
    assert!(!d.join("s.db-journal").exists());
    let (markers, version, mode): (i64, i64, String) = store
        .read(|tx| Ok(tx.query_row("SELECT (SELECT count(*) FROM sqlite_schema WHERE name = 'marker'), (SELECT user_version FROM pragma_user_version), (SELECT journal_mode FROM pragma_journal_mode)", [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?))
        .unwrap();
    assert_eq!((version, mode.as_str()), (schema::SCHEMA_VERSION, "wal"));
    assert_eq!(store.integrity_check().unwrap(), ["ok"]);
    markers == 1
}

#[test]
fn a_creation_killed_mid_commit_starts_over() {
    assert!(
        !reopen_after_killed_creation(true),
        "rolled back, created anew"
    );
}

#[test]
fn a_creation_killed_after_its_first_commit_goes_on() {
    assert!(reopen_after_killed_creation(false), "kept, migrated on");
}

/// Makes at `path` a database whose pages since its creation lie in the WAL only, by `sql` on a
/// connection in WAL mode that closes before a reader does (a reader cannot checkpoint).
fn wal_only_database(path: &Path, sql: &str) {
    let writer = Connection::open(path).unwrap();
    writer.pragma_update(None, "journal_mode", "WAL").unwrap();
    writer.execute_batch(sql).unwrap();
    let reader =
        Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    reader
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
            r.get::<_, i64>(0)
        })
        .unwrap();
    drop(writer);
    drop(reader);
    let header = std::fs::read(path).unwrap();
    assert_eq!(
        header[68..72],
        [0; 4],
        "the file's own first page has no application id"
    );
    assert!(wal_of(path).exists());
}

fn wal_of(path: &Path) -> PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}

#[test]
fn a_database_whose_application_id_is_still_in_the_wal_opens() {
    // As databases were created before the first migration was written in the rollback journal.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let mut sql = String::new();
    for (i, migration) in schema::MIGRATIONS.iter().enumerate() {
        sql.push_str(&format!(
            "BEGIN; {migration}; PRAGMA application_id = {}; PRAGMA user_version = {}; COMMIT;",
            schema::APPLICATION_ID,
            i + 1
        ));
    }
    wal_only_database(&path, &sql);
    let store = Store::open(&path, &StoreOptions::default()).unwrap();
    store.create_department(AT, &SYSTEM, "D").unwrap();
    assert_eq!(store.integrity_check().unwrap(), ["ok"]);
}

#[test]
fn a_foreign_database_with_its_wal_is_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    wal_only_database(
        &path,
        "PRAGMA application_id = 1234; CREATE TABLE songs (title TEXT); INSERT INTO songs VALUES ('la');",
    );
    let before = (
        std::fs::read(&path).unwrap(),
        std::fs::read(wal_of(&path)).unwrap(),
    );
    assert!(matches!(
        Store::open(&path, &StoreOptions::default()),
        Err(Error::NotOurs { .. })
    ));
    let after = (
        std::fs::read(&path).unwrap(),
        std::fs::read(wal_of(&path)).unwrap(),
    );
    assert!(before == after, "the file or its WAL changed");
}

/// A database of the version before the rules' (3) upgrades with what the rules need
/// remembered: the app identity of a live install and of an uninstalled one, the install's
/// queue in the core's namespace, other consumers as the system's, and a deleted ticket's
/// department from its event.
#[test]
fn version_3_databases_are_upgraded_with_what_the_rules_remember() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v3.db");
    {
        let conn = Connection::open(&path).unwrap();
        for migration in &schema::MIGRATIONS[..3] {
            conn.execute_batch(migration).unwrap();
        }
        conn.execute_batch(&format!(
            "PRAGMA application_id = {}; PRAGMA user_version = 3;
             INSERT INTO agents (id, name, email, email_norm, active, admin, created_at, updated_at)
                 VALUES (1, 'Ada', 'ada@x', 'ada@x', 1, 1, 0, 0),
                        (2, 'Live (app)', 'app-1@plugins.invalid', 'app-1@plugins.invalid', 1, 1, 0, 0),
                        (3, 'Gone (app)', 'app-2@plugins.invalid', 'app-2@plugins.invalid', 0, 1, 0, 0);
             INSERT INTO plugin_wasm (hash, bytes, created_at) VALUES ('h', x'00', 0);
             INSERT INTO plugin_installs (id, plugin_id, version, manifest, wasm_hash, granted,
                     app_agent_id, state, installed_by_kind, installed_at, updated_at)
                 VALUES (1, 'live', '1', '{{}}', 'h', '', 2, 0, 0, 0, 0);
             INSERT INTO outbox (seq, kind, at, by_kind, ticket_id, department_id, data)
                 VALUES (1, 'plugin.installed', 0, 0, NULL, NULL, '{{\"install\": 2, \"agent\": 3}}'),
                        (2, 'ticket.deleted', 5, 0, 77, 4, '{{\"ticket\": 77}}');
             INSERT INTO outbox_consumers (name, cursor, created_at)
                 VALUES ('plugin-1', 0, 0), ('crm', 1, 0);",
            schema::APPLICATION_ID
        ))
        .unwrap();
    }
    let store = Store::open(&path, &StoreOptions::default()).unwrap();
    let app = |id| store.agent(AgentId::new(id)).unwrap().app_install;
    assert_eq!(app(1), None);
    assert_eq!(app(2), Some(InstallId::new(1)), "a live install's identity");
    assert_eq!(
        app(3),
        Some(InstallId::new(2)),
        "an uninstalled one's, from its event"
    );
    let deleted = store.deleted_ticket(TicketId::new(77)).unwrap().unwrap();
    assert_eq!(deleted.department, DepartmentId::new(4));
    assert_eq!(deleted.requester, None);
    assert!(
        store
            .read_events(ConsumerOwner::Core, "plugin-1", 10)
            .is_ok(),
        "the install's queue is the core's"
    );
    assert!(
        store
            .read_events(ConsumerOwner::System, "plugin-1", 10)
            .is_err()
    );
    let crm = store.consumers(ConsumerOwner::System).unwrap();
    assert_eq!(crm.len(), 1);
    assert_eq!((crm[0].name.as_str(), crm[0].cursor), ("crm", 1));
    assert_eq!(store.delivery_key().unwrap().len(), 16);
}
