//! Opening a database: the ownership lock, recognising our files, pragmas and migrations.

mod lock;

use std::path::Path;

use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags};

use crate::error::{Result, StoreError};
use crate::schema::{APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION};
use crate::{Durability, Store, StoreOptions};

/// Opens the file `given` names. The lock, the hard-link check and every connection use the
/// resolved path (no symlink left in it), so they all see one file; errors name `given`.
pub(crate) fn open_file(given: &Path, options: &StoreOptions) -> Result<Store> {
    let path = lock::resolve(given).map_err(|source| StoreError::Io {
        path: given.to_owned(),
        source,
    })?;
    let lock = lock::lock(&path, given)?;
    lock::refuse_hard_links(&path, given)?;
    let path = path.as_path();
    let mut writer = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    check_ours(&writer, given)?;
    configure(&writer, options.durability)?;
    migrate(&mut writer)?;
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
    migrate(&mut writer)?;
    Ok(Store {
        writer: Mutex::new(writer),
        readers: Vec::new(),
        limits: options.limits.clone(),
        outbox_retention: options.outbox_retention,
        path: None,
        _lock: None,
    })
}

/// Refuses, without writing anything, a file that is not a database or is someone else's.
fn check_ours(conn: &Connection, path: &Path) -> Result<()> {
    let not_ours = || StoreError::NotOurs {
        path: path.to_owned(),
    };
    let probe = conn.query_row("PRAGMA application_id", [], |r| r.get::<_, i64>(0));
    let app_id = match probe {
        Ok(id) => id,
        Err(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::NotADatabase =>
        {
            return Err(not_ours());
        }
        Err(e) => return Err(e.into()),
    };
    if app_id == APPLICATION_ID {
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version > SCHEMA_VERSION {
            return Err(StoreError::SchemaTooNew {
                found: version,
                supported: SCHEMA_VERSION,
            });
        }
        return Ok(());
    }
    let objects: i64 = conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))?;
    if app_id == 0 && objects == 0 {
        Ok(())
    } else {
        Err(not_ours())
    }
}

fn configure(conn: &Connection, durability: Durability) -> Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let sync = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", sync)?;
    conn.pragma_update(None, "foreign_keys", true)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

fn migrate(conn: &mut Connection) -> Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let start = usize::try_from(version).unwrap_or(0);
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(start) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.pragma_update(None, "user_version", i as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}
