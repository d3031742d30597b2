//! Opening files: persistence, one owner whatever the name, foreign files, new files, newer
//! schemas, the integrity check, online backup.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use helpdesk::{Error, Helpdesk, NewMessage, NewTicket, Options, SearchQuery};
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
    assert_eq!(system.integrity_check()?, ["ok"]);
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
#[cfg(unix)]
fn another_name_for_the_file_gives_no_second_owner() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("desk.db");
    let symlink = dir.path().join("alias.db");
    let hard_link = dir.path().join("twin.db");
    std::os::unix::fs::symlink(&path, &symlink)?;
    {
        let (desk, _system) = Helpdesk::open(&symlink, Options::default())?;
        match Helpdesk::open(&path, Options::default()) {
            Err(Error::InUse { path: p }) => assert_eq!(p, path),
            other => panic!("expected in-use through the target, got {other:?}"),
        }
        match Helpdesk::open(&symlink, Options::default()) {
            Err(Error::InUse { path: p }) => assert_eq!(p, symlink),
            other => panic!("expected in-use through the symlink, got {other:?}"),
        }
        std::fs::hard_link(&path, &hard_link)?;
        match Helpdesk::open(&hard_link, Options::default()) {
            Err(Error::HardLinked { path: p, links: 2 }) => assert_eq!(p, hard_link),
            other => panic!("expected hard-linked while open, got {other:?}"),
        }
        drop(desk);
    }
    for name in [&path, &hard_link, &symlink] {
        match Helpdesk::open(name, Options::default()) {
            Err(e @ Error::HardLinked { .. }) => {
                let message = e.to_string();
                assert!(
                    message.contains("one owner cannot be enforced for a file with several names"),
                    "{message}"
                );
            }
            other => panic!("expected hard-linked for {}, got {other:?}", name.display()),
        }
    }
    std::fs::remove_file(&hard_link)?;
    let (_desk, system) = Helpdesk::open(&symlink, Options::default())?;
    assert_eq!(system.integrity_check()?, ["ok"]);
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

/// The files next to a database that SQLite would create for it.
const SIDE_FILES: [&str; 3] = ["-wal", "-shm", "-journal"];

fn side_file(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// A SQLite database made by `sql` on a fresh connection (closed before returning).
fn sqlite_file(path: &Path, sql: &str) -> anyhow::Result<()> {
    rusqlite::Connection::open(path)?.execute_batch(sql)?;
    Ok(())
}

#[test]
fn foreign_files_are_refused_and_left_untouched() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let at = |name: &str| dir.path().join(name);
    std::fs::write(
        at("notes.txt"),
        "this is not a database, just some text that is long enough to look like a header....",
    )?;
    sqlite_file(
        &at("other.sqlite"),
        "CREATE TABLE songs (title TEXT); INSERT INTO songs VALUES ('la');",
    )?;
    sqlite_file(&at("versioned.sqlite"), "PRAGMA user_version = 5;")?;
    sqlite_file(&at("vacuumed.sqlite"), "PRAGMA page_size = 4096; VACUUM;")?;
    sqlite_file(&at("other-app.sqlite"), "PRAGMA application_id = 1234;")?;
    sqlite_file(
        &at("other-wal.sqlite"),
        "PRAGMA journal_mode = WAL; PRAGMA application_id = 1234; CREATE TABLE t (x);",
    )?;
    // A complete copy of one of ours (a backup is one file, with no WAL beside it), then cut.
    let (_desk, system) = Helpdesk::open(at("ours.db"), Options::default())?;
    system.bootstrap_admin("Ada", "ada@example.com")?;
    system.backup_to(at("copy.db"))?;
    let ours = std::fs::read(at("copy.db"))?;
    assert!(ours.len() > 8192, "the copy has several pages");
    std::fs::write(at("half.db"), &ours[..ours.len() / 2])?;
    std::fs::write(at("header-only.db"), &ours[..100])?;
    std::fs::write(at("cut-header.db"), &ours[..50])?;
    for name in [
        "notes.txt",
        "other.sqlite",
        "versioned.sqlite",
        "vacuumed.sqlite",
        "other-app.sqlite",
        "other-wal.sqlite",
        "half.db",
        "header-only.db",
        "cut-header.db",
    ] {
        let path = at(name);
        let before = std::fs::read(&path)?;
        assert!(!before.is_empty(), "{name} is empty");
        for suffix in SIDE_FILES {
            assert!(!side_file(&path, suffix).exists(), "{name}{suffix} exists");
        }
        for attempt in 0..2 {
            match Helpdesk::open(&path, Options::default()) {
                Err(Error::NotOurs { path: p }) => assert_eq!(p, path),
                other => panic!("expected not-ours for {name} (attempt {attempt}), got {other:?}"),
            }
            assert!(std::fs::read(&path)? == before, "{name} was modified");
            for suffix in SIDE_FILES {
                assert!(
                    !side_file(&path, suffix).exists(),
                    "{name}{suffix} was created"
                );
            }
        }
    }
    Ok(())
}

#[test]
fn only_a_new_path_or_an_empty_file_becomes_a_new_database() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"")?;
    for path in [dir.path().join("new.db"), empty] {
        let (desk, system) = Helpdesk::open(&path, Options::default())?;
        system.bootstrap_admin("Ada", "ada@example.com")?;
        assert_eq!(system.integrity_check()?, ["ok"]);
        drop((desk, system));
        let (_desk, system) = Helpdesk::open(&path, Options::default())?;
        assert!(matches!(
            system.bootstrap_admin("Ada", "ada@example.com"),
            Err(Error::AlreadyInitialized)
        ));
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
    assert_eq!(copy_system.integrity_check()?, ["ok"]);
    Ok(())
}

#[test]
fn integrity_check_sees_writes_made_after_a_search() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("desk.db");
    let (desk, system) = Helpdesk::open(&path, Options::default())?;
    let f = Fixture::populate(
        desk,
        system,
        helpdesk::ManualClock::new(helpdesk_tests::START),
    )?;
    let query = SearchQuery {
        text: Some("printer".into()),
        ..Default::default()
    };
    for round in 0..4 {
        for i in 0..5 {
            let mut new = NewTicket::new(format!("Printer {round}.{i}"), f.hardware.id, f.bob.id);
            new.message = Some(NewMessage::reply(format!("the printer smokes, take {i}")));
            f.desk.create_ticket(&f.root, new)?;
        }
        assert_eq!(
            f.desk.search(&f.root, &query)?.tickets.len(),
            5 * (round + 1)
        );
        assert_eq!(
            f.system.integrity_check()?,
            ["ok"],
            "round {round}, after a search"
        );
        f.desk.create_ticket(
            &f.root,
            NewTicket::new(format!("Paper {round}"), f.billing.id, f.cat.id),
        )?;
        assert_eq!(
            f.system.integrity_check()?,
            ["ok"],
            "round {round}, after a write"
        );
    }
    // A fresh connection on the same file agrees.
    let fresh =
        rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let verdict: String = fresh.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    assert_eq!(verdict, "ok");
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
    assert!(
        levels[0].ends_with("no-such-dir`"),
        "the missing directory is named: {levels:?}"
    );
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
