//! Options for opening a helpdesk: the clock, durability, limits, and how API keys and access
//! tokens are hashed and presented.

use std::sync::Arc;

use helpdesk_domain::{Clock, Durability, Limits, SystemClock};

/// How a helpdesk is opened: start from [`Options::default`] and change what differs with the
/// `with_` methods (fields may be read and set, but new ones may come in later versions).
#[derive(Clone, Debug)]
#[non_exhaustive]
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
    /// The argon2id cost of the hashes of API key secrets and access tokens at rest.
    pub secret_hashing: SecretHashing,
    /// Extra names for the `Authorization` schemes, so clients written for another helpdesk
    /// work unchanged (for example `DdApi` for keys and `DdAccessToken` for tokens). Names
    /// ignore case; see [`Options::with_scheme_alias`].
    pub scheme_aliases: Vec<(String, CredentialScheme)>,
    /// The longest lifetime an access token may be minted with, in minutes (default: one day).
    pub max_token_lifetime_minutes: u32,
}

/// The cost of the argon2id hashes that API key secrets and access tokens are stored as.
///
/// Hashing runs when a key is created or regenerated and a token minted, and verification once per
/// key or token per process (later requests are checked against an in-memory keyed hash), so the
/// cost is paid rarely; it is what protects the secrets if the database file leaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum SecretHashing {
    /// OWASP's recommended minimum for argon2id: 19 MiB of memory, 2 iterations, 1 lane (about
    /// 30 ms per hash on a current server core).
    #[default]
    Owasp,
    /// Stronger parameters. Refused when opening if `memory_kib × iterations` is below OWASP's
    /// (19 MiB × 2) or `memory_kib` is below 7 MiB.
    Custom {
        /// Memory per hash, in KiB.
        memory_kib: u32,
        /// Iterations.
        iterations: u32,
        /// Lanes (parallelism).
        lanes: u32,
    },
    /// The cheapest parameters argon2 accepts (8 KiB, 1 iteration). **Only for test suites**:
    /// hashes made with them can be brute-forced, so they must never protect real keys.
    InsecureForTests,
}

/// What an `Authorization` scheme carries, for [`Options::scheme_aliases`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialScheme {
    /// A key code in clear, `<id>:<secret>`, like the built-in `key` scheme.
    Key,
    /// A key code as HTTP Basic credentials (user name = key id, password = secret), like `Basic`.
    Basic,
    /// An access token, like the built-in `Bearer` and `token` schemes.
    Token,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            clock: Arc::new(SystemClock),
            durability: Durability::Full,
            limits: Limits::default(),
            readers: 4,
            outbox_retention: 1_000_000,
            secret_hashing: SecretHashing::Owasp,
            scheme_aliases: Vec::new(),
            max_token_lifetime_minutes: 24 * 60,
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

    /// These options with other input size limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// These options with `readers` read-only connections for concurrent readers.
    pub fn with_readers(mut self, readers: usize) -> Self {
        self.readers = readers;
        self
    }

    /// These options keeping at most `events` outbox events, even when a consumer lags behind.
    pub fn with_outbox_retention(mut self, events: u64) -> Self {
        self.outbox_retention = events;
        self
    }

    /// These options with access tokens living at most `minutes`.
    pub fn with_max_token_lifetime_minutes(mut self, minutes: u32) -> Self {
        self.max_token_lifetime_minutes = minutes;
        self
    }

    /// These options with another cost for the hashes of key secrets and access tokens.
    pub fn with_secret_hashing(mut self, hashing: SecretHashing) -> Self {
        self.secret_hashing = hashing;
        self
    }

    /// These options with `name` accepted as another `Authorization` scheme for `scheme`. The
    /// name must be an HTTP token of at most 32 characters, not already taken (ignoring case);
    /// opening fails otherwise.
    pub fn with_scheme_alias(mut self, name: impl Into<String>, scheme: CredentialScheme) -> Self {
        self.scheme_aliases.push((name.into(), scheme));
        self
    }

    pub(crate) fn store_options(&self) -> helpdesk_store::StoreOptions {
        helpdesk_store::StoreOptions {
            durability: self.durability,
            readers: self.readers,
            limits: self.limits.clone(),
            outbox_retention: self.outbox_retention,
        }
    }
}
