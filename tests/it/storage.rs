//! Opening files: persistence, single ownership, foreign files, newer schemas, online backup.

use std::process::{Command, Stdio};

use helpdesk::{Error, Helpdesk, NewTicket, Options, SearchQuery};
use helpdesk_tests::Fixture;

#[test]
fn data_persists_across_reopen() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("desk.db");
    let id = {
        let (desk, system) = Helpdesk::open(&path, Options::default())?;
        let f = Fixture::populate(
            desk,
            system,
            helpdesk::ManualClock::new(helpdesk_tests::START),
        )?;
        f.desk
            .create_ticket(&f.root, NewTicket::new("Keep me", f.billing.id, f.bob.id))?
            .id
    };
    let (desk, system) = Helpdesk::open(&path, Options::default())?;
    let root = system.principal();
    assert_eq!(desk.ticket(&root, id)?.subject, "Keep me");
    assert!(matches!(
        system.bootstrap_admin("x", "x@example.com"),
        Err(Error::AlreadyInitialized)
    ));
    assert_eq!(desk.integrity_check()?, ["ok"]);
    Ok(())
}

#[test]
fn a_file_has_one_owner_at_a_time() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("desk.db");
    let (desk, _system) = Helpdesk::open(&path, Options::default())?;
    match Helpdesk::open(&path, Options::default()) {
        Err(Error::InUse { path: p }) => assert_eq!(p, path),
        other => panic!("expected in-use, got {other:?}"),
    }
    let clone = desk.clone();
    drop(desk);
    assert!(
        matches!(
            Helpdesk::open(&path, Options::default()),
            Err(Error::InUse { .. })
        ),
        "a clone keeps the lock"
    );
    drop(clone);
    drop(_system);
    Helpdesk::open(&path, Options::default())?;
    Ok(())
}

#[test]
fn another_process_cannot_open_a_file_in_use() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("desk.db");
    let _held = Helpdesk::open(&path, Options::default())?;
    let out = Command::new(env!("CARGO_BIN_EXE_crash-writer"))
        .arg(&path)
        .arg("--open-only")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()?;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is in use by another process or handle"),
        "{stderr}"
    );
    Ok(())
}

#[test]
fn foreign_files_are_refused_and_left_untouched() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let text = dir.path().join("notes.txt");
    std::fs::write(
        &text,
        "this is not a database, just some text that is long enough to look like a header....",
    )?;
    let other_db = dir.path().join("other.sqlite");
    {
        let conn = rusqlite::Connection::open(&other_db)?;
        conn.execute_batch("CREATE TABLE songs (title TEXT); INSERT INTO songs VALUES ('la');")?;
    }
    for path in [&text, &other_db] {
        let before = std::fs::read(path)?;
        match Helpdesk::open(path, Options::default()) {
            Err(Error::NotOurs { path: p }) => assert_eq!(&p, path),
            other => panic!("expected not-ours for {}, got {other:?}", path.display()),
        }
        assert_eq!(
            std::fs::read(path)?,
            before,
            "{} was modified",
            path.display()
        );
        let mut wal = path.as_os_str().to_owned();
        wal.push("-wal");
        assert!(!std::path::Path::new(&wal).exists());
    }
    Ok(())
}

#[test]
fn a_newer_schema_is_refused() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("desk.db");
    drop(Helpdesk::open(&path, Options::default())?);
    {
        let conn = rusqlite::Connection::open(&path)?;
        conn.pragma_update(None, "user_version", 999)?;
    }
    match Helpdesk::open(&path, Options::default()) {
        Err(Error::SchemaTooNew {
            found: 999,
            supported,
        }) => assert!(supported < 999),
        other => panic!("expected schema-too-new, got {other:?}"),
    }
    Ok(())
}

#[test]
fn online_backup_copies_a_database_in_use() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("desk.db");
    let backup = dir.path().join("backup.db");
    let (desk, system) = Helpdesk::open(&path, Options::default())?;
    let f = Fixture::populate(
        desk,
        system,
        helpdesk::ManualClock::new(helpdesk_tests::START),
    )?;
    for i in 0..50 {
        f.desk.create_ticket(
            &f.root,
            NewTicket::new(format!("Ticket {i}"), f.billing.id, f.bob.id),
        )?;
    }
    f.system.backup_to(&backup)?;
    assert!(
        f.system.backup_to(&backup).is_err(),
        "an existing target is not overwritten"
    );
    // The original stays usable, and the copy opens as a helpdesk with the same tickets.
    f.desk.create_ticket(
        &f.root,
        NewTicket::new("after backup", f.billing.id, f.bob.id),
    )?;
    let (copy, copy_system) = Helpdesk::open(&backup, Options::default())?;
    let all = SearchQuery {
        limit: Some(500),
        ..Default::default()
    };
    assert_eq!(
        copy.search(&copy_system.principal(), &all)?.tickets.len(),
        50
    );
    assert_eq!(copy.integrity_check()?, ["ok"]);
    Ok(())
}

/// Each message of an error's `source()` chain, outermost first.
fn chain(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    std::iter::successors(Some(error), |e| e.source())
        .map(ToString::to_string)
        .collect()
}

/// No level of the chain repeats the text of a level below it: printed as one line, each cause
/// appears once.
fn says_each_cause_once(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let levels = chain(error);
    for (i, outer) in levels.iter().enumerate() {
        for inner in &levels[i + 1..] {
            assert!(
                !outer.contains(inner.as_str()),
                "`{outer}` repeats its cause `{inner}` in {levels:?}"
            );
        }
    }
    levels
}

#[test]
fn storage_failures_name_each_cause_once() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let missing = dir.path().join("no-such-dir").join("desk.db");
    let error = Helpdesk::open(&missing, Options::default()).unwrap_err();
    assert!(matches!(error, Error::Storage(_)), "{error:?}");
    let levels = says_each_cause_once(&error);
    assert!(levels[0].contains("desk.db.lock"), "{levels:?}");
    assert!(
        levels.len() >= 2,
        "the operating system's reason is the source: {levels:?}"
    );

    let path = dir.path().join("desk.db");
    let (_desk, system) = Helpdesk::open(&path, Options::default())?;
    let existing = dir.path().join("existing.db");
    std::fs::write(&existing, b"")?;
    for target in [existing, dir.path().join("no-such-dir").join("copy.db")] {
        let error = system.backup_to(&target).unwrap_err();
        assert!(matches!(error, Error::Storage(_)), "{error:?}");
        says_each_cause_once(&error);
    }
    Ok(())
}

#[test]
fn handles_are_send_sync_and_cheap_to_clone() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<Helpdesk>();
    assert_send_sync::<helpdesk::SystemHandle>();
    assert_send_sync::<helpdesk::Principal>();
    assert_eq!(
        std::mem::size_of::<Helpdesk>(),
        std::mem::size_of::<usize>(),
        "one pointer"
    );
}
