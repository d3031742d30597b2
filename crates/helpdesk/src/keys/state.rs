//! The in-memory key and token tables of the hot path, and the machinery around them: the
//! header parser, the keyed hasher, argon2 and its gates.
//!
//! Layout, chosen so that a request writes no memory that another thread reads or writes, and
//! executes no atomic read-modify-write:
//! - `keys` is an `ArcSwap` of an id map of [`KeyEntry`]s: an immutable [`KeySnap`] (settings,
//!   stored hashes, and the keyed-hash tags of secrets that passed argon2) and the key's request
//!   [`KeyLog`]. Requests read the map through their thread's copy (see
//!   [`local`](crate::local)), checked against `version` with one plain load.
//! - Every change to a key (under the admin lock) installs a new map and bumps `version` before
//!   the call returns: revocation takes effect on the very next request, with no time-to-live
//!   anywhere. Tags are only carried into a new snapshot while its stored hash is the one they
//!   were verified against; learning a tag after an argon2 run also installs a new map (rare:
//!   once per secret and process).
//! - Tokens work the same way in `tokens`; a token stays valid only while its key's generation
//!   equals the one it was minted under (regenerate and disable bump it).

use std::fmt;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use helpdesk_authz::Scopes;
use helpdesk_credentials::{
    FastHasher, GateConfig, HashError, HashParams, Scheme, SchemeRegistry, SecretHasher, Tag,
    VerifyGate,
};
use helpdesk_domain::{ActAs, IdMap, KeyId, KeyKind, Network, Timestamp, TokenId, ValidationError};
use helpdesk_store::{KeyRecord, Store, TokenRecord};
use parking_lot::Mutex;

use super::log::{KeyLog, LOG_LEN};
use crate::error::{Error, Result};
use crate::options::{CredentialScheme, Options, SecretHashing};

/// Expired tokens stay in memory this long, so clients are told "expired" rather than "not
/// valid" while they may still be refreshing.
pub(crate) const EXPIRED_TOKEN_GRACE_MS: i64 = 24 * 3_600_000;

/// The key table.
pub(crate) type KeyMap = IdMap<KeyId, KeyEntry>;

/// The token table.
pub(crate) type TokenMap = IdMap<TokenId, Arc<TokenSnap>>;

/// One key's settings as the hot path needs them, immutable; replaced as a whole on change.
#[derive(Clone)]
pub(crate) struct KeySnap {
    pub(crate) kind: KeyKind,
    pub(crate) admin_functions: bool,
    pub(crate) scopes: Scopes,
    pub(crate) expires_at: Option<Timestamp>,
    pub(crate) networks: Box<[Network]>,
    pub(crate) enabled: bool,
    pub(crate) generation: u64,
    /// Moves on whenever anything a principal of this key relies on changes (settings, the
    /// secret's generation), and only then: a principal made under another revision is refused
    /// (see `guard/credential.rs`). Unique in the process.
    pub(crate) revision: u64,
    /// The PHC string of the current secret; its `Arc` identity tells whether a tag still
    /// belongs to it.
    pub(crate) current: Arc<str>,
    /// The replaced secret during an overlap window.
    pub(crate) previous: Option<(Arc<str>, Timestamp)>,
    /// The keyed-hash tag of the current secret, once it has passed argon2 (or was generated
    /// here).
    pub(crate) current_tag: Option<Tag>,
    /// The tag of the replaced secret and the end of the overlap window.
    pub(crate) previous_tag: Option<(Tag, Timestamp)>,
}

impl KeySnap {
    /// The snapshot of `record`, keeping the tags of `old` for the hashes that did not change.
    /// `new_tag` is the tag of a secret generated for `record.secret_hash` just now.
    fn of(record: &KeyRecord, old: Option<&KeySnap>, new_tag: Option<Tag>) -> Self {
        // The old current secret, if `record` still holds it (as current or as previous).
        let old_current = old.filter(|o| *o.current == *record.secret_hash);
        let current = old_current.map_or_else(
            || Arc::from(record.secret_hash.as_str()),
            |o| o.current.clone(),
        );
        let current_tag = new_tag.or(old_current.and_then(|o| o.current_tag));
        let (previous, previous_tag) = match &record.previous {
            None => (None, None),
            Some((phc, until)) => {
                let until = *until;
                match old {
                    // Regenerated just now: the old current secret is now the previous one.
                    Some(o) if *o.current == **phc => (
                        Some((o.current.clone(), until)),
                        o.current_tag.map(|tag| (tag, until)),
                    ),
                    Some(o) if o.previous.as_ref().is_some_and(|(p, _)| **p == **phc) => (
                        o.previous.as_ref().map(|(p, _)| (p.clone(), until)),
                        o.previous_tag.map(|(tag, _)| (tag, until)),
                    ),
                    _ => (Some((Arc::from(phc.as_str()), until)), None),
                }
            }
        };
        let mut snap = Self {
            kind: record.kind,
            admin_functions: record.admin_functions,
            scopes: record.scopes,
            expires_at: record.expires_at,
            networks: record.networks.iter().copied().collect(),
            enabled: record.enabled,
            generation: record.generation,
            revision: 0,
            current,
            previous,
            current_tag,
            previous_tag,
        };
        snap.revision = match old {
            Some(old) if old.same_settings(&snap) => old.revision,
            _ => next_revision(),
        };
        snap
    }

    /// Whether `other` grants exactly what `self` grants (a new hash of the same secret, or a
    /// tag learnt, changes nothing a principal relies on).
    fn same_settings(&self, other: &KeySnap) -> bool {
        self.kind == other.kind
            && self.admin_functions == other.admin_functions
            && self.scopes == other.scopes
            && self.expires_at == other.expires_at
            && self.networks == other.networks
            && self.enabled == other.enabled
            && self.generation == other.generation
    }

    /// Whether the key has expired at `now`.
    pub(crate) fn expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }
}

/// A key revision never handed out before in this process.
fn next_revision() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// One key in the map: its current snapshot and its log.
#[derive(Clone)]
pub(crate) struct KeyEntry {
    pub(crate) snap: Arc<KeySnap>,
    pub(crate) log: Arc<KeyLog>,
}

/// One access token, immutable; replaced as a whole when its tag is learnt.
#[derive(Clone)]
pub(crate) struct TokenSnap {
    pub(crate) id: TokenId,
    pub(crate) key: KeyId,
    pub(crate) key_generation: u64,
    pub(crate) person: ActAs,
    pub(crate) scopes: Scopes,
    pub(crate) expires_at: Timestamp,
    pub(crate) phc: Arc<str>,
    pub(crate) tag: Option<Tag>,
}

impl TokenSnap {
    fn of(record: &TokenRecord, tag: Option<Tag>) -> Arc<Self> {
        Arc::new(Self {
            id: record.id,
            key: record.key,
            key_generation: record.key_generation,
            person: record.person,
            scopes: record.scopes,
            expires_at: record.expires_at,
            phc: Arc::from(record.secret_hash.as_str()),
            tag,
        })
    }
}

/// What the argon2 gate limits: each key and each token separately.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum GateId {
    Key(KeyId),
    Token(TokenId),
}

/// Which stored secret of a key a tag was verified against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Which {
    Current,
    Previous,
}

/// What an argon2 run behind the gate found, handed to every request that waited for it: the
/// stored secret that matched, if any (a token's one secret is its current one; a decoy never
/// matches).
pub(crate) type Verdict = Result<Option<Which>, HashError>;

/// Everything the helpdesk keeps in memory about keys and tokens.
pub(crate) struct KeyState {
    pub(crate) schemes: SchemeRegistry,
    pub(crate) fast: FastHasher,
    params: HashParams,
    /// Built on first use: it hashes a decoy up front, which costs one argon2 run.
    hasher: OnceLock<SecretHasher>,
    hasher_init: Mutex<()>,
    /// One gate for keys and tokens, so that its bound on concurrent runs covers all argon2
    /// work.
    pub(crate) gate: VerifyGate<GateId, Verdict>,
    pub(crate) keys: ArcSwap<KeyMap>,
    pub(crate) tokens: ArcSwap<TokenMap>,
    /// Bumped after every change of `keys` or `tokens`, so that threads know to reload their
    /// copies.
    version: AtomicU64,
    /// Serialises every change of the tables with its database write, so that they are
    /// installed in the order they were committed.
    pub(crate) admin: Mutex<()>,
    /// Serialises request-log flushes.
    pub(crate) flush: Mutex<()>,
    next_token: AtomicI64,
    pub(crate) max_token_minutes: u32,
    /// Key secrets rehashed with the configured parameters (see `AuthStats`).
    pub(crate) rehashed: AtomicU64,
}

impl KeyState {
    /// Reads keys, live tokens and request-log positions from `store`. Costs no argon2.
    pub(crate) fn load(store: &Store, options: &Options) -> Result<Self> {
        let params = hash_params(options.secret_hashing)?;
        let mut schemes = SchemeRegistry::new();
        for (name, scheme) in &options.scheme_aliases {
            let scheme = match scheme {
                CredentialScheme::Key => Scheme::Key,
                CredentialScheme::Basic => Scheme::Basic,
                CredentialScheme::Token => Scheme::Token,
            };
            schemes = schemes.with_alias(name, scheme).map_err(|e| {
                Error::Invalid(ValidationError::Malformed {
                    field: "scheme_aliases",
                    reason: e.to_string(),
                })
            })?;
        }
        let now = options.clock.now();
        let heads: IdMap<KeyId, u64> = store.key_request_heads()?.into_iter().collect();
        let keys: KeyMap = store
            .keys()?
            .into_iter()
            .map(|record| {
                let stored = heads.get(&record.id).copied().unwrap_or(0);
                let entry = KeyEntry {
                    snap: Arc::new(KeySnap::of(&record, None, None)),
                    log: KeyLog::new(record.id, stored),
                };
                (record.id, entry)
            })
            .collect();
        let tokens: TokenMap = store
            .live_tokens(now.add_millis(-EXPIRED_TOKEN_GRACE_MS))?
            .into_iter()
            .filter(|token| {
                keys.get(&token.key).is_some_and(|key| {
                    key.snap.enabled && key.snap.generation == token.key_generation
                })
            })
            .map(|token| (token.id, TokenSnap::of(&token, None)))
            .collect();
        Ok(Self {
            schemes,
            fast: FastHasher::new().map_err(secret_error)?,
            params,
            hasher: OnceLock::new(),
            hasher_init: Mutex::new(()),
            gate: VerifyGate::new(GateConfig::default()),
            keys: ArcSwap::from_pointee(keys),
            tokens: ArcSwap::from_pointee(tokens),
            version: AtomicU64::new(0),
            admin: Mutex::new(()),
            flush: Mutex::new(()),
            next_token: AtomicI64::new(store.next_token_id()?.get()),
            max_token_minutes: options.max_token_lifetime_minutes,
            rehashed: AtomicU64::new(0),
        })
    }

    /// Moves on after every change of the tables.
    pub(crate) fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// Tells every thread to reload its copy; called after each change of the tables, before
    /// the call that made it returns.
    fn published(&self) {
        self.version.fetch_add(1, Ordering::Release);
    }

    /// The argon2id hasher, built on first use.
    pub(crate) fn hasher(&self) -> Result<&SecretHasher, HashError> {
        if let Some(hasher) = self.hasher.get() {
            return Ok(hasher);
        }
        let _one = self.hasher_init.lock();
        if let Some(hasher) = self.hasher.get() {
            return Ok(hasher);
        }
        let hasher = SecretHasher::new(self.params)?;
        Ok(self.hasher.get_or_init(|| hasher))
    }

    /// A fresh access-token id (never handed out twice in this process; the database refuses a
    /// duplicate anyway).
    pub(crate) fn allocate_token_id(&self) -> TokenId {
        TokenId::new(self.next_token.fetch_add(1, Ordering::Relaxed))
    }

    /// The current snapshot of key `id`.
    pub(crate) fn key(&self, id: KeyId) -> Option<Arc<KeySnap>> {
        self.keys.load().get(&id).map(|entry| entry.snap.clone())
    }

    /// Installs `record` as the key's new snapshot (with a new log for a new key), keeping the
    /// tags that are still valid; `new_tag` is the tag of a secret generated just now. Callers
    /// hold the admin lock.
    pub(crate) fn install_key(&self, record: &KeyRecord, new_tag: Option<Tag>) {
        self.keys.rcu(|map| {
            let mut map = IdMap::clone(map);
            let entry = match map.get(&record.id) {
                Some(old) => KeyEntry {
                    snap: Arc::new(KeySnap::of(record, Some(&old.snap), new_tag)),
                    log: old.log.clone(),
                },
                None => KeyEntry {
                    snap: Arc::new(KeySnap::of(record, None, new_tag)),
                    log: KeyLog::new(record.id, 0),
                },
            };
            map.insert(record.id, entry);
            map
        });
        self.published();
    }

    /// Remembers that `tag` passed argon2 against the `which` secret of `verified`, if the key
    /// still holds that secret.
    pub(crate) fn remember_key_tag(&self, id: KeyId, verified: &KeySnap, which: Which, tag: Tag) {
        self.keys.rcu(|map| {
            let Some(entry) = map.get(&id) else {
                return Arc::clone(map);
            };
            let latest = &entry.snap;
            let mut next = KeySnap::clone(latest);
            match (which, &latest.previous, &verified.previous) {
                (Which::Current, _, _) if Arc::ptr_eq(&latest.current, &verified.current) => {
                    next.current_tag = Some(tag);
                }
                (Which::Previous, Some((now_phc, until)), Some((then_phc, _)))
                    if Arc::ptr_eq(now_phc, then_phc) =>
                {
                    next.previous_tag = Some((tag, *until));
                }
                _ => return Arc::clone(map),
            }
            let mut map = IdMap::clone(map);
            map.insert(
                id,
                KeyEntry {
                    snap: Arc::new(next),
                    log: entry.log.clone(),
                },
            );
            Arc::new(map)
        });
        self.published();
    }

    /// Forgets key `id` and its tokens. Callers hold the admin lock.
    pub(crate) fn remove_key(&self, id: KeyId) {
        self.keys.rcu(|map| {
            let mut map = IdMap::clone(map);
            map.remove(&id);
            map
        });
        self.published();
        self.drop_tokens(|token| token.key == id);
    }

    /// Forgets every token for which `dead` holds, and says whether there was any. Callers
    /// hold the admin lock.
    pub(crate) fn drop_tokens(&self, dead: impl Fn(&TokenSnap) -> bool) -> bool {
        let any = self.tokens.load().values().any(|token| dead(token));
        if any {
            self.tokens.rcu(|map| {
                let mut map = IdMap::clone(map);
                map.retain(|_, token| !dead(token));
                map
            });
            self.published();
        }
        any
    }

    /// Adds a minted token, with the tag of its text. Callers hold the admin lock.
    pub(crate) fn install_token(&self, record: &TokenRecord, tag: Tag) {
        let token = TokenSnap::of(record, Some(tag));
        self.tokens.rcu(|map| {
            let mut map = IdMap::clone(map);
            map.insert(record.id, token.clone());
            map
        });
        self.published();
    }

    /// Remembers that `tag` passed argon2 for `verified`, if that token is still in the table.
    pub(crate) fn remember_token_tag(&self, verified: &Arc<TokenSnap>, tag: Tag) {
        self.tokens.rcu(|map| match map.get(&verified.id) {
            Some(latest) if Arc::ptr_eq(latest, verified) => {
                let mut map = IdMap::clone(map);
                let mut next = TokenSnap::clone(latest);
                next.tag = Some(tag);
                map.insert(verified.id, Arc::new(next));
                Arc::new(map)
            }
            _ => Arc::clone(map),
        });
        self.published();
    }

    /// Writes the unflushed request-log entries of every key in one transaction.
    pub(crate) fn flush(&self, store: &Store) -> Result<()> {
        let _one = self.flush.lock();
        let keys = self.keys.load_full();
        let mut records = Vec::new();
        let mut batches = Vec::new();
        for entry in keys.values() {
            let mut batch = entry.log.unflushed();
            records.append(&mut batch.records);
            batches.push((&entry.log, batch));
        }
        store.append_key_requests(&records, LOG_LEN as u64)?;
        for (log, batch) in batches {
            log.mark_flushed(batch);
        }
        Ok(())
    }

    /// The gate's clock: the helpdesk clock as a duration since the epoch (time going backwards
    /// refills nothing).
    pub(crate) fn monotonic(now: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(now.as_millis()).unwrap_or(0))
    }
}

impl fmt::Debug for KeyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyState")
            .field("keys", &self.keys.load().len())
            .field("tokens", &self.tokens.load().len())
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

/// The argon2 parameters of `hashing`, refusing custom ones weaker than OWASP's.
fn hash_params(hashing: SecretHashing) -> Result<HashParams> {
    let weak = |reason: String| {
        Error::Invalid(ValidationError::Malformed {
            field: "secret_hashing",
            reason,
        })
    };
    match hashing {
        SecretHashing::Owasp => Ok(HashParams::OWASP),
        SecretHashing::InsecureForTests => Ok(HashParams::INSECURE_FOR_TESTS),
        SecretHashing::Custom {
            memory_kib,
            iterations,
            lanes,
        } => {
            let owasp = HashParams::OWASP;
            let work = u64::from(memory_kib) * u64::from(iterations);
            let minimum = u64::from(owasp.m_cost_kib()) * u64::from(owasp.t_cost());
            if work < minimum || memory_kib < 7 * 1024 {
                return Err(weak(format!(
                    "m={memory_kib} KiB, t={iterations} is weaker than OWASP's argon2id minimum (19 MiB, t=2)"
                )));
            }
            HashParams::new(memory_kib, iterations, lanes).map_err(|e| weak(e.to_string()))
        }
    }
}

/// A failure to make or hash a secret, as the facade's error: never the caller's fault.
pub(crate) fn secret_error(e: impl fmt::Display) -> Error {
    Error::Internal(format!("a secret could not be made: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failing_to_make_a_secret_is_an_internal_error_not_bad_input() {
        let error = secret_error("the random source failed");
        assert!(matches!(error, Error::Internal(_)), "{error:?}");
        assert_eq!(
            error.to_string(),
            "internal failure: a secret could not be made: the random source failed"
        );
    }
}
