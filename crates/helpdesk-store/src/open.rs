//! Opening a database: the ownership lock, recognising our files, pragmas and migrations.

mod header;
mod lock;

use std::path::Path;

use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags};

use crate::error::{Failure, Result};
use crate::schema::{APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION};
use helpdesk_domain::Durability;
use helpdesk_domain::Error;

use crate::{Store, StoreOptions};
use header::Verdict;

/// Opens the file `given` names. The lock, the hard-link check, the header check and every
/// connection use the resolved path (no symlink left in it), so they all see one file; errors
/// name `given`.
pub(crate) fn open_file(given: &Path, options: &StoreOptions) -> Result<Store> {
    let io = |source| crate::error::io(given, source);
    let path = lock::resolve(given)?;
    let lock = lock::lock(&path, given)?;
    lock::refuse_hard_links(&path, given)?;
    let path = path.as_path();
    match header::inspect(path).map_err(io)? {
        Verdict::New | Verdict::Ours => {}
        Verdict::FirstPageInWal => recognise(&open_reader(path)?, given)?,
        Verdict::TooNew(found) => return Err(too_new(found)),
        Verdict::NotOurs => return Err(not_ours(given)),
    }
    let mut writer = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    recognise(&writer, given)?;
    configure(&writer, options.durability)?;
    migrate(&mut writer, true)?;
    let mut readers = Vec::with_capacity(options.readers);
    for _ in 0..options.readers {
        readers.push(Mutex::new(open_reader(path)?));
    }
    Ok(Store {
        writer: Mutex::new(writer),
        readers,
        limits: options.limits.clone(),
        outbox_retention: options.outbox_retention,
        path: Some(path.to_owned()),
        _lock: Some(lock),
    })
}

/// A read-only connection on the file of an open store (a pooled reader, or one for a single use).
pub(crate) fn open_reader(path: &Path) -> Result<Connection> {
    let reader = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    reader.pragma_update(None, "foreign_keys", true)?;
    Ok(reader)
}

pub(crate) fn open_memory(options: &StoreOptions) -> Result<Store> {
    let mut writer = Connection::open_in_memory()?;
    configure(&writer, options.durability)?;
    migrate(&mut writer, false)?;
    Ok(Store {
        writer: Mutex::new(writer),
        readers: Vec::new(),
        limits: options.limits.clone(),
        outbox_retention: options.outbox_retention,
        path: None,
        _lock: None,
    })
}

fn not_ours(given: &Path) -> Failure {
    Error::NotOurs {
        path: given.to_owned(),
    }
    .into()
}

fn too_new(found: i64) -> Failure {
    Error::SchemaTooNew {
        found,
        supported: SCHEMA_VERSION,
    }
    .into()
}

/// Checks, as SQLite reads the file, what its header promised: a file without pages (new, or left
/// so by a creation killed mid-commit once SQLite has rolled its journal back on this first read)
/// becomes a new database; any other must carry our application id and a schema version we know.
/// Runs before any pragma that writes.
fn recognise(conn: &Connection, given: &Path) -> Result<()> {
    let probe = conn.query_row("PRAGMA page_count", [], |r| r.get::<_, i64>(0));
    let pages = match probe {
        Ok(pages) => pages,
        Err(rusqlite::Error::SqliteFailure(e, _))
            if matches!(
                e.code,
                rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt
            ) =>
        {
            return Err(not_ours(given));
        }
        Err(e) => return Err(e.into()),
    };
    if pages == 0 {
        return Ok(());
    }
    let (app_id, version): (i64, i64) = conn.query_row(
        "SELECT (SELECT application_id FROM pragma_application_id), \
                (SELECT user_version FROM pragma_user_version)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if app_id != APPLICATION_ID || version < 1 {
        return Err(not_ours(given));
    }
    if version > SCHEMA_VERSION {
        return Err(too_new(version));
    }
    Ok(())
}

/// Per-connection settings; none of them writes to the file.
fn configure(conn: &Connection, durability: Durability) -> Result<()> {
    let sync = match durability {
        Durability::Normal => "NORMAL",
        // `Full`, and the safe choice for any level this code does not know.
        _ => "FULL",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// Applies the migrations the database lacks. A new database gets its first migration, and with
/// it the application id, in one transaction in the rollback journal: a process killed while
/// creating leaves one of ours, or a file that has no pages once SQLite has rolled its journal
/// back (and so is new again). Only then does a file database switch to WAL (`wal`), for the
/// remaining migrations and for good.
fn migrate(conn: &mut Connection, wal: bool) -> Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let mut applied = usize::try_from(version).unwrap_or(0);
    if applied == 0 {
        conn.pragma_update(None, "journal_mode", "DELETE")?;
        apply(conn, 0)?;
        applied = 1;
    }
    if wal {
        conn.pragma_update(None, "journal_mode", "WAL")?;
    }
    for i in applied..MIGRATIONS.len() {
        apply(conn, i)?;
    }
    Ok(())
}

/// Applies migration `i` (counting from 0) and records it, in one transaction.
fn apply(conn: &mut Connection, i: usize) -> Result<()> {
    let Some(sql) = MIGRATIONS.get(i) else {
        return Ok(());
    };
    let tx = conn.transaction()?;
    tx.execute_batch(sql)?;
    tx.pragma_update(None, "application_id", APPLICATION_ID)?;
    tx.pragma_update(None, "user_version", i as i64 + 1)?;
    tx.commit()?;
    Ok(())
}
