//! Options for opening a helpdesk: the clock, durability and limits.

use std::sync::Arc;

use helpdesk_domain::{Clock, Limits, SystemClock};

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

/// How a helpdesk is opened.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where the core reads the time (history, events, expiry). Tests pass a `ManualClock`.
    pub clock: Arc<dyn Clock>,
    /// Commit durability.
    pub durability: Durability,
    /// Input size limits.
    pub limits: Limits,
    /// Read-only connections for concurrent readers (file databases).
    pub readers: usize,
    /// Outbox events kept at most, even when a consumer lags behind.
    pub outbox_retention: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            durability: Durability::Full,
            limits: Limits::default(),
            readers: 4,
            outbox_retention: 1_000_000,
        }
    }
}

impl Options {
    /// These options with another clock.
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// These options with another durability.
    pub fn with_durability(mut self, durability: Durability) -> Self {
        self.durability = durability;
        self
    }

    pub(crate) fn store_options(&self) -> helpdesk_store::StoreOptions {
        helpdesk_store::StoreOptions {
            durability: match self.durability {
                Durability::Full => helpdesk_store::Durability::Full,
                Durability::Normal => helpdesk_store::Durability::Normal,
            },
            readers: self.readers,
            limits: self.limits.clone(),
            outbox_retention: self.outbox_retention,
        }
    }
}
