//! The ownership lock: one store per database file, whatever name the file is opened by.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::path::{Path, PathBuf};

use helpdesk_domain::Error;

use crate::error::Result;

/// Dangling symlinks followed one after another at most, as the kernel's own limit on Linux.
const MAX_LINKS: usize = 40;

/// The file that `path` names, with every symlink resolved: the canonical path of a file that
/// exists; for one that does not exist yet, the canonical path of its directory joined with its
/// name, after following a dangling final symlink to its target (which is where SQLite creates
/// the file). Two names of the same file, other than hard links, resolve to the same path. A
/// failure names the path it is about (the directory, when that is what is missing).
pub(super) fn resolve(given: &Path) -> Result<PathBuf> {
    let failed = |path: &Path| {
        let path = path.to_owned();
        move |source| crate::error::io(&path, source)
    };
    let mut path = given.to_owned();
    for _ in 0..=MAX_LINKS {
        match fs::canonicalize(&path) {
            Ok(real) => return Ok(real),
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(failed(&path)(e)),
            Err(_) => {}
        }
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
            _ => PathBuf::from("."),
        };
        match fs::read_link(&path) {
            // A dangling symlink: its target, relative to the link's directory unless absolute.
            Ok(target) => path = dir.join(target),
            Err(_) => {
                let name = path.file_name().ok_or_else(|| {
                    failed(&path)(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "the path names no file",
                    ))
                })?;
                return Ok(fs::canonicalize(&dir).map_err(failed(&dir))?.join(name));
            }
        }
    }
    Err(failed(given)(io::Error::other(
        "too many levels of symbolic links",
    )))
}

/// Takes the exclusive advisory lock on `<file>.lock`, next to the resolved database file `file`
/// (so every symlink to the file takes the same lock). A separate file, never the database itself:
/// closing a second descriptor on the database would drop SQLite's own POSIX locks on it. The lock
/// file is never deleted: deleting lock files races with a concurrent open. Errors name `given`.
pub(super) fn lock(file: &Path, given: &Path) -> Result<File> {
    let mut lock_path = file.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock_path = PathBuf::from(lock_path);
    let io = |source| crate::error::io(&lock_path, source);
    let lock = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(io)?;
    match lock.try_lock() {
        Ok(()) => Ok(lock),
        Err(TryLockError::WouldBlock) => Err(Error::InUse {
            path: given.to_owned(),
        }
        .into()),
        Err(TryLockError::Error(e)) => Err(io(e)),
    }
}

/// Refuses a database file with several names (hard links): the lock is taken on a name, so
/// another name would take another lock and give the file a second owner. A file that does not
/// exist yet has no other name.
pub(super) fn refuse_hard_links(file: &Path, given: &Path) -> Result<()> {
    let meta = match fs::metadata(file) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(crate::error::io(given, source));
        }
    };
    let links = names(&meta);
    if links > 1 {
        return Err(Error::HardLinked {
            path: given.to_owned(),
            links,
        }
        .into());
    }
    Ok(())
}

#[cfg(unix)]
fn names(meta: &fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::nlink(meta)
}

/// Without a stable link count in the standard library, every file counts as having one name.
#[cfg(not(unix))]
fn names(_meta: &fs::Metadata) -> u64 {
    1
}
