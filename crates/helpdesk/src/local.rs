//! Each thread's copy of what every request reads: the key and token tables and the compiled
//! policy, with the thread's own request-log rings.
//!
//! The tables are published in `ArcSwap`s, whose loads cost read-modify-write instructions on
//! shared memory (tens of nanoseconds here, more than the rest of a request's checks). Instead,
//! a thread keeps `Arc`s of the tables it last loaded, with the version counters they were
//! loaded under; a request reads the counters (plain loads) and uses its copy while they have
//! not moved. Every change stores the new table and then bumps its counter before the call that
//! made it returns, so the very next request on any thread sees it: revocation stays immediate.
//!
//! A thread keeps copies for the last [`LOCAL_HELPDESKS`] helpdesks it served (an application
//! may open one per tenant); an older copy is dropped when another helpdesk needs the place, and
//! the copies of a thread go when it exits. Until then a copy keeps the tables of a closed
//! helpdesk in memory (no secrets: tags are worthless without the hasher's key, which is not in
//! them).

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use helpdesk_authz::Policy;
use helpdesk_domain::KeyId;

use crate::Helpdesk;
use crate::keys::log::{KeyLog, LogEntry, OwnedRing};
use helpdesk_domain::IdMap;

use crate::keys::state::{KeyMap, TokenMap};

/// How many helpdesks a thread keeps copies for.
const LOCAL_HELPDESKS: usize = 8;

thread_local! {
    static LOCALS: RefCell<Vec<Local>> = const { RefCell::new(Vec::new()) };
}

/// A number for a new helpdesk, unique in the process.
pub(crate) fn new_instance() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// One thread's copy of one helpdesk's tables.
pub(crate) struct Local {
    instance: u64,
    /// The version of the key and token tables this copy holds.
    pub(crate) keys_version: u64,
    policy_version: u64,
    pub(crate) keys: Arc<KeyMap>,
    pub(crate) tokens: Arc<TokenMap>,
    pub(crate) policy: Arc<Policy>,
    pub(crate) rings: Rings,
}

/// A thread's request-log rings, one for each key it has used.
pub(crate) struct Rings {
    by_key: IdMap<KeyId, OwnedRing>,
    /// Made for one call where thread-local storage is unavailable (while the thread exits, or
    /// within a call that already uses it): logs go to the keys' shared rings.
    temporary: bool,
}

impl Rings {
    /// Appends a request to `log`, in this thread's ring for it.
    pub(crate) fn push(&mut self, log: &KeyLog, entry: &LogEntry) {
        if self.temporary {
            log.push_shared(entry);
            return;
        }
        match self.by_key.get(&log.id) {
            Some(ring) if ring.belongs_to(log) => ring.push(entry),
            _ => {
                let ring = log.take_ring();
                ring.push(entry);
                self.by_key.insert(log.id, ring);
            }
        }
    }
}

impl Helpdesk {
    /// Runs `f` with this thread's copy of the tables, refreshed first if anything changed.
    pub(crate) fn with_local<R>(&self, mut f: impl FnMut(&mut Local) -> R) -> R {
        let done = LOCALS.try_with(|cell| match cell.try_borrow_mut() {
            Ok(mut locals) => f(self.local_in(&mut locals)),
            // Called from within `f` of an outer call: a copy for this call alone.
            Err(_) => f(&mut self.fresh_local(true)),
        });
        // `f` ran exactly once unless the thread is exiting and its storage is gone.
        done.unwrap_or_else(|_| f(&mut self.fresh_local(true)))
    }

    /// The copy for this helpdesk in `locals`, made or refreshed as needed, moved to the front.
    fn local_in<'a>(&self, locals: &'a mut Vec<Local>) -> &'a mut Local {
        let instance = self.inner.instance;
        let at = match locals.iter().position(|local| local.instance == instance) {
            Some(at) => at,
            None => {
                if locals.len() >= LOCAL_HELPDESKS {
                    locals.pop();
                }
                locals.push(self.fresh_local(false));
                locals.len() - 1
            }
        };
        if at != 0 {
            locals.swap(0, at);
        }
        // `locals` holds at least the copy found or pushed above.
        let local = &mut locals[0];
        self.refresh(local);
        local
    }

    /// Reloads what changed since `local` was loaded. Each version is read before its tables,
    /// so a copy is never older than the version it is filed under.
    fn refresh(&self, local: &mut Local) {
        let keys_version = self.inner.keys.version();
        if local.keys_version != keys_version {
            local.keys_version = keys_version;
            local.keys = self.inner.keys.keys.load_full();
            local.tokens = self.inner.keys.tokens.load_full();
            // Forget the rings of keys that are gone.
            let keys = &local.keys;
            local.rings.by_key.retain(|id, ring| {
                keys.get(id)
                    .is_some_and(|entry| ring.belongs_to(&entry.log))
            });
        }
        let policy_version = self.inner.policy.version();
        if local.policy_version != policy_version {
            local.policy_version = policy_version;
            local.policy = self.inner.policy.load_full();
        }
    }

    fn fresh_local(&self, temporary: bool) -> Local {
        let keys_version = self.inner.keys.version();
        let policy_version = self.inner.policy.version();
        Local {
            instance: self.inner.instance,
            keys_version,
            policy_version,
            keys: self.inner.keys.keys.load_full(),
            tokens: self.inner.keys.tokens.load_full(),
            policy: self.inner.policy.load_full(),
            rings: Rings {
                by_key: IdMap::default(),
                temporary,
            },
        }
    }
}
