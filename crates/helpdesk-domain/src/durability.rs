//! How hard a commit works to survive power loss.

/// How hard a commit works to survive power loss.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Durability {
    /// The default. SQLite `synchronous = FULL` in WAL mode: once a write call returns, the change
    /// survives a process crash and a power loss.
    #[default]
    Full,
    /// SQLite `synchronous = NORMAL` in WAL mode: a process crash loses nothing, but a power
    /// loss or OS crash may lose the most recent commits (the database stays consistent).
    /// Commits are cheaper because the log is synced at checkpoints rather than every commit.
    Normal,
}
