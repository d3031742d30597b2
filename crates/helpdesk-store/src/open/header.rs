//! Recognising our files by their first bytes, before SQLite reads them: SQLite's first read can
//! already write (it rolls back a hot journal, opens a WAL and checkpoints it on close), so a
//! foreign file must never reach a connection that may write.

use std::fs::{self, File};
use std::io::{self, Read};
use std::path::Path;

use crate::schema::{APPLICATION_ID, SCHEMA_VERSION};

/// Length of the SQLite file header.
const HEADER_LEN: usize = 100;

/// The first 16 bytes of every SQLite database file.
const MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// What the first bytes of a file say about it.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Verdict {
    /// No file, or an empty one: a new database.
    New,
    /// One of ours, at a schema version this code knows: SQLite may open it.
    Ours,
    /// Ours, but written by a newer version of the code.
    TooNew(i64),
    /// Not ours by the file's own first page, but a WAL lies beside it that may hold a newer
    /// first page: databases made before the first migration was written in the rollback journal
    /// kept their application id only in the WAL until a checkpoint. Only a read-only connection
    /// may look (it cannot write the file, so it never checkpoints the WAL into it).
    FirstPageInWal,
    /// Not a database, another application's, or a damaged copy of one of ours.
    NotOurs,
}

/// The files SQLite keeps beside a database that were found there.
#[derive(Clone, Copy, Debug)]
pub(super) struct Beside {
    /// A WAL: pages newer than the file's own.
    pub(super) wal: bool,
    /// A rollback journal: if hot, SQLite's first read rolls the file back, cutting off pages.
    pub(super) journal: bool,
}

/// Reads the header of `file`, without writing anything, and judges it. The descriptor is closed
/// before SQLite opens the file, and no store of ours has the file open at this point (the lock is
/// held and hard links are refused), so closing it drops no SQLite lock.
pub(super) fn inspect(file: &Path) -> io::Result<Verdict> {
    let opened = match File::open(file) {
        Ok(opened) => opened,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Verdict::New),
        Err(e) => return Err(e),
    };
    let len = opened.metadata()?.len();
    let mut header = Vec::with_capacity(HEADER_LEN);
    opened.take(HEADER_LEN as u64).read_to_end(&mut header)?;
    let exists = |suffix: &str| {
        let mut side = file.as_os_str().to_owned();
        side.push(suffix);
        fs::exists(Path::new(&side))
    };
    let beside = Beside {
        wal: exists("-wal")?,
        journal: exists("-journal")?,
    };
    Ok(judge(&header, len, beside))
}

/// Judges a file by its header (its first bytes, at most [`HEADER_LEN`]), its length and the
/// files beside it.
pub(super) fn judge(header: &[u8], len: u64, beside: Beside) -> Verdict {
    if len == 0 {
        return Verdict::New;
    }
    let Some(header) = header.first_chunk::<HEADER_LEN>() else {
        return Verdict::NotOurs;
    };
    if header[..16] != MAGIC[..] {
        return Verdict::NotOurs;
    }
    let field = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    // `user_version` is a signed 32-bit field; ours count the migrations applied, from 1.
    let version = i64::from(field(60).cast_signed());
    if i64::from(field(68)) != APPLICATION_ID || version < 1 {
        return if beside.wal {
            Verdict::FirstPageInWal
        } else {
            Verdict::NotOurs
        };
    }
    if version > SCHEMA_VERSION {
        return Verdict::TooNew(version);
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65_536,
        n if n >= 512 && n.is_power_of_two() => u64::from(n),
        _ => return Verdict::NotOurs,
    };
    // The page count in the header is valid when the change counter matches the version it was
    // written with; a file shorter than that, with neither WAL nor journal beside it, was cut.
    let pages = u64::from(field(28));
    let whole = !beside.wal && !beside.journal;
    if whole && pages > 0 && field(24) == field(92) && len < pages * page_size {
        return Verdict::NotOurs;
    }
    Verdict::Ours
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTHING: Beside = Beside {
        wal: false,
        journal: false,
    };
    const WAL: Beside = Beside {
        wal: true,
        journal: false,
    };
    const JOURNAL: Beside = Beside {
        wal: false,
        journal: true,
    };

    /// A header of ours: page size 4096, `pages` pages, schema version `version`.
    fn ours(pages: u32, version: i32) -> Vec<u8> {
        let mut h = vec![0u8; HEADER_LEN];
        h[..16].copy_from_slice(MAGIC);
        h[16..18].copy_from_slice(&4096u16.to_be_bytes());
        h[24..28].copy_from_slice(&7u32.to_be_bytes());
        h[28..32].copy_from_slice(&pages.to_be_bytes());
        h[60..64].copy_from_slice(&version.to_be_bytes());
        h[68..72].copy_from_slice(&(APPLICATION_ID as u32).to_be_bytes());
        h[92..96].copy_from_slice(&7u32.to_be_bytes());
        h
    }

    fn with(mut header: Vec<u8>, at: usize, bytes: &[u8]) -> Vec<u8> {
        header[at..at + bytes.len()].copy_from_slice(bytes);
        header
    }

    #[test]
    fn headers_are_judged() {
        let page = 4096;
        let other_app = with(ours(3, 1), 68, &1234u32.to_be_bytes());
        let no_app = with(ours(3, 1), 68, &[0; 4]);
        let odd_page_size = with(ours(3, 1), 16, &1000u16.to_be_bytes());
        let stale_count = with(ours(3, 1), 92, &6u32.to_be_bytes());
        for (header, len, beside, expected) in [
            (&b""[..], 0, NOTHING, Verdict::New),
            (b"", 0, JOURNAL, Verdict::New),
            (&ours(3, 1), 3 * page, NOTHING, Verdict::Ours),
            (&ours(3, 3), 5 * page, NOTHING, Verdict::Ours),
            (&ours(3, 1), page + 10, NOTHING, Verdict::NotOurs),
            (&ours(3, 1), page, JOURNAL, Verdict::Ours),
            (&ours(3, 1), page, WAL, Verdict::Ours),
            (&ours(3, 1)[..50], 50, NOTHING, Verdict::NotOurs),
            (&ours(3, 1)[..50], 50, WAL, Verdict::NotOurs),
            (&ours(3, 0), 3 * page, NOTHING, Verdict::NotOurs),
            (&ours(3, 0), 3 * page, WAL, Verdict::FirstPageInWal),
            (&ours(3, -1), 3 * page, NOTHING, Verdict::NotOurs),
            (&ours(3, 99), 3 * page, NOTHING, Verdict::TooNew(99)),
            (&[b'x'; HEADER_LEN], 200, NOTHING, Verdict::NotOurs),
            (&[b'x'; HEADER_LEN], 200, WAL, Verdict::NotOurs),
            (&other_app, 3 * page, NOTHING, Verdict::NotOurs),
            (&other_app, 3 * page, JOURNAL, Verdict::NotOurs),
            (&other_app, 3 * page, WAL, Verdict::FirstPageInWal),
            (&no_app, 3 * page, NOTHING, Verdict::NotOurs),
            (&odd_page_size, 3 * page, NOTHING, Verdict::NotOurs),
            (&stale_count, page, NOTHING, Verdict::Ours),
        ] {
            assert_eq!(
                judge(header, len, beside),
                expected,
                "len {len}, beside {beside:?}"
            );
        }
    }
}
