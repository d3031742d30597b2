//! API keys, access tokens and the authentication hot path: the public types, and the submodules
//! that keep the in-memory key table (`state`), authenticate requests (`auth`), administer keys
//! and tokens (`admin`) and keep the per-key request log (`log`). See `docs/keys.md`.

mod admin;
mod auth;
pub(crate) mod log;
pub(crate) mod state;

use std::fmt;
use std::net::IpAddr;
use std::time::Duration;

use helpdesk_credentials::ParseError;
use helpdesk_domain::{
    AgentId, DepartmentId, KeyId, OrganizationId, RequesterId, Ticket, Timestamp, TokenId,
};

use helpdesk_authz::Scopes;
pub use helpdesk_domain::{ActAs, KeyKind, Network, RequestOutcome};
pub(crate) use state::KeyState;

/// An API key as administrators see it: everything but the secret, which is shown only once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    /// The key's public number: the part of its code before the colon.
    pub id: KeyId,
    /// What the key is for.
    pub description: String,
    /// Agent key (bound to one agent) or superuser key (acts as the person each request names).
    pub kind: KeyKind,
    /// Whether the key may administer keys and read their logs (superuser keys only).
    pub admin_functions: bool,
    /// What the key allows; the acting person's own rights narrow it further.
    pub scopes: Scopes,
    /// When the key stops working, if ever.
    pub expires_at: Option<Timestamp>,
    /// The networks requests may come from; empty for any address.
    pub networks: Vec<Network>,
    /// Whether the key may be used.
    pub enabled: bool,
    /// After a regeneration with an overlap window: when the replaced secret stops working.
    pub overlap_until: Option<Timestamp>,
    /// When the key was created.
    pub created_at: Timestamp,
    /// When the key last changed.
    pub updated_at: Timestamp,
}

/// Input for a new API key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewKey {
    /// What the key is for (required, one line).
    pub description: String,
    /// Agent key or superuser key.
    pub kind: KeyKind,
    /// What the key allows (at least one scope).
    pub scopes: Scopes,
    /// Whether the key may administer keys and read their logs (superuser keys only).
    pub admin_functions: bool,
    /// When the key stops working (must be in the future), if ever.
    pub expires_at: Option<Timestamp>,
    /// The networks requests may come from (at most 64); empty for any address.
    pub networks: Vec<Network>,
}

impl NewKey {
    /// An agent key: every request made with it acts as `agent`.
    pub fn agent(description: impl Into<String>, agent: AgentId, scopes: Scopes) -> Self {
        Self::new(description, KeyKind::Agent { agent }, scopes)
    }

    /// A superuser key: each request names the person it acts as; `default_agent` is used when
    /// a request names nobody.
    pub fn superuser(
        description: impl Into<String>,
        default_agent: Option<AgentId>,
        scopes: Scopes,
    ) -> Self {
        Self::new(description, KeyKind::Superuser { default_agent }, scopes)
    }

    fn new(description: impl Into<String>, kind: KeyKind, scopes: Scopes) -> Self {
        Self {
            description: description.into(),
            kind,
            scopes,
            admin_functions: false,
            expires_at: None,
            networks: Vec::new(),
        }
    }
}

/// Changes to an API key's settings ([`Helpdesk::update_key`](crate::Helpdesk::update_key));
/// `None` leaves a setting as it is. The secret stays: [`regenerate_key`] replaces it. A key's
/// kind and, for an agent key, its agent never change: issue a new key instead.
///
/// [`regenerate_key`]: crate::Helpdesk::regenerate_key
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyUpdate {
    /// A new description (one line).
    pub description: Option<String>,
    /// New scopes (at least one). Narrowing them narrows the key's access tokens at once.
    pub scopes: Option<Scopes>,
    /// Grant or take away admin functions (superuser keys only).
    pub admin_functions: Option<bool>,
    /// A new expiry (in the future), or `Some(None)` for none. An earlier expiry ends the key's
    /// access tokens with it.
    pub expires_at: Option<Option<Timestamp>>,
    /// New networks requests may come from (at most 64); empty for any address.
    pub networks: Option<Vec<Network>>,
    /// A superuser key's new default agent, or `Some(None)` for none.
    pub default_agent: Option<Option<AgentId>>,
}

/// A full key code, `<id>:<secret>`, returned once when a key is created or regenerated and
/// never again. `Debug` shows only the id.
pub struct KeyCode(helpdesk_credentials::KeyCode);

impl KeyCode {
    /// The key's id.
    pub fn id(&self) -> KeyId {
        self.0.id()
    }

    /// The code as text, `<id>:<secret>`, to hand to the client once.
    pub fn expose(&self) -> String {
        self.0.expose()
    }

    /// The `Authorization` header value of the `key` scheme: `key <id>:<secret>`.
    pub fn authorization(&self) -> String {
        format!("key {}", self.0.expose())
    }

    /// The `Authorization` header value of HTTP Basic: user name = key id, password = secret.
    pub fn basic_authorization(&self) -> String {
        helpdesk_credentials::basic_authorization(&self.0)
    }
}

impl fmt::Debug for KeyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyCode")
            .field("id", &self.0.id())
            .field("secret", &format_args!("[redacted]"))
            .finish()
    }
}

/// A key with its code: what creating or regenerating a key returns.
#[derive(Debug)]
pub struct IssuedKey {
    /// The key.
    pub key: ApiKey,
    /// Its code, shown this once.
    pub code: KeyCode,
}

/// An access token, `hdt_…`, returned once when minted. `Debug` shows only the id.
pub struct AccessToken(helpdesk_credentials::AccessToken);

impl AccessToken {
    /// The token's id.
    pub fn id(&self) -> TokenId {
        self.0.id()
    }

    /// The token as text, to hand to the client once.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// The `Authorization` header value: `Bearer <token>`.
    pub fn authorization(&self) -> String {
        format!("Bearer {}", self.0.expose())
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("id", &self.0.id())
            .field("token", &format_args!("[redacted]"))
            .finish()
    }
}

/// Input for minting an access token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NewToken {
    /// The person the token acts as.
    pub person: ActAs,
    /// What the token allows: the key's scopes when `None`; never more than the key's.
    pub scopes: Option<Scopes>,
    /// How long the token lives, in minutes: 60 when `None`, at most
    /// [`Options::max_token_lifetime_minutes`](crate::Options::max_token_lifetime_minutes).
    pub lifetime_minutes: Option<u32>,
}

impl NewToken {
    /// A token acting as `agent`, with the key's scopes, for one hour.
    pub fn for_agent(agent: AgentId) -> Self {
        Self::for_person(ActAs::Agent(agent))
    }

    /// A token acting as `requester` (a portal session), with the key's scopes, for one hour.
    pub fn for_requester(requester: RequesterId) -> Self {
        Self::for_person(ActAs::Requester(requester))
    }

    fn for_person(person: ActAs) -> Self {
        Self {
            person,
            scopes: None,
            lifetime_minutes: None,
        }
    }

    /// The same token limited to `scopes`.
    #[must_use]
    pub fn with_scopes(mut self, scopes: Scopes) -> Self {
        self.scopes = Some(scopes);
        self
    }

    /// The same token living `minutes` minutes.
    #[must_use]
    pub fn with_lifetime_minutes(mut self, minutes: u32) -> Self {
        self.lifetime_minutes = Some(minutes);
        self
    }
}

/// A freshly minted access token: what DeskDirector's `userkey` call returns.
#[derive(Debug)]
pub struct MintedToken {
    /// The token, shown this once.
    pub token: AccessToken,
    /// The token's id.
    pub id: TokenId,
    /// The key it was minted from.
    pub key: KeyId,
    /// The person it acts as.
    pub person: ActAs,
    /// What it allows.
    pub scopes: Scopes,
    /// Seconds until it expires.
    pub expires_in: u64,
    /// When it expires (never after its key does).
    pub expires_on: Timestamp,
}

/// One request of a key, from [`Helpdesk::key_log`](crate::Helpdesk::key_log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRequest {
    /// When it was made.
    pub at: Timestamp,
    /// What it was for, as the application named it (`request` by default).
    pub operation: String,
    /// The person it acted as, if it got that far.
    pub actor: Option<ActAs>,
    /// The access token used, if any.
    pub token: Option<TokenId>,
    /// How authentication ended.
    pub outcome: RequestOutcome,
    /// The source address the application reported.
    pub source_ip: Option<IpAddr>,
}

/// The attributes of a ticket that permission decisions depend on, for
/// [`Helpdesk::decide`](crate::Helpdesk::decide): an application may keep them with its own
/// copy of a ticket and decide without a storage read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TicketAttributes {
    /// The ticket's department.
    pub department: DepartmentId,
    /// The agent it is assigned to.
    pub assignee: Option<AgentId>,
    /// The requester it belongs to.
    pub requester: RequesterId,
    /// The requester's organisation.
    pub organization: Option<OrganizationId>,
}

impl From<&Ticket> for TicketAttributes {
    fn from(ticket: &Ticket) -> Self {
        Self {
            department: ticket.department,
            assignee: ticket.assignee,
            requester: ticket.requester,
            organization: ticket.organization,
        }
    }
}

/// One API request to authenticate, for
/// [`Helpdesk::authenticate_request`](crate::Helpdesk::authenticate_request): the
/// `Authorization` header, the person to act as, the source address and the operation name the
/// request log shows. `Debug` never shows the header.
#[derive(Clone, Copy)]
pub struct ApiRequest<'a> {
    pub(crate) header: &'a [u8],
    pub(crate) act_as: Option<ActAs>,
    pub(crate) source_ip: Option<IpAddr>,
    /// `None` for the default name, `request`.
    pub(crate) operation: Option<&'a str>,
}

impl<'a> ApiRequest<'a> {
    /// A request with this `Authorization` header value, acting as nobody in particular, from
    /// an unknown address, logged as `request`.
    pub fn new<H: AsRef<[u8]> + ?Sized>(header: &'a H) -> Self {
        Self {
            header: header.as_ref(),
            act_as: None,
            source_ip: None,
            operation: None,
        }
    }

    /// The same request acting as `person` (superuser keys only).
    #[must_use]
    pub fn act_as(mut self, person: ActAs) -> Self {
        self.act_as = Some(person);
        self
    }

    /// The same request from `ip`, checked against the key's networks and logged.
    #[must_use]
    pub fn source_ip(mut self, ip: IpAddr) -> Self {
        self.source_ip = Some(ip);
        self
    }

    /// The same request logged under `operation` (for example `POST /tickets`; the log keeps
    /// its first 63 bytes).
    #[must_use]
    pub fn operation(mut self, operation: &'a str) -> Self {
        self.operation = Some(operation);
        self
    }
}

impl fmt::Debug for ApiRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiRequest")
            .field("header", &format_args!("[redacted]"))
            .field("act_as", &self.act_as)
            .field("source_ip", &self.source_ip)
            .field("operation", &self.operation.unwrap_or("request"))
            .finish()
    }
}

/// Why an `Authorization` header was refused before any lookup: which part is malformed.
/// Never carries any of the input.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct MalformedCredential(ParseError);

impl fmt::Display for MalformedCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for MalformedCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("MalformedCredential")
            .field(&self.to_string())
            .finish()
    }
}

impl std::error::Error for MalformedCredential {}

/// Why a request could not be authenticated (an HTTP application answers 401, 429 for
/// [`TooManyAttempts`](Self::TooManyAttempts) and 503 for [`Busy`](Self::Busy)). No message ever
/// contains a secret, and a refusal before the secret is proven says nothing about whether the
/// key or token exists.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The header is empty, too long, of an unknown scheme, or its credential is malformed
    /// (the message says which part).
    #[error(transparent)]
    Malformed(MalformedCredential),
    /// The key or token does not exist, or the secret is wrong: deliberately the same error.
    #[error("credentials are not valid")]
    InvalidCredentials,
    /// Too many secret verifications were attempted for this credential from the request's
    /// source network, or from that network for any credential, or too many of that network's
    /// requests are waiting for one. Requests without a source address count as one network.
    #[error("too many attempts with these credentials, retry in {} ms", .retry_after.as_millis())]
    TooManyAttempts {
        /// When the next attempt would be allowed.
        retry_after: Duration,
    },
    /// The secret verifications ahead of this one did not leave it a turn within the longest
    /// wait (one second): the helpdesk is saturated with them. Retry shortly.
    #[error("secret verifications are saturated, retry shortly")]
    Busy,
    /// The key is disabled.
    #[error("key {key} is disabled")]
    KeyDisabled {
        /// The key.
        key: KeyId,
    },
    /// The key expired.
    #[error("key {key} expired at {at}")]
    KeyExpired {
        /// The key.
        key: KeyId,
        /// When it expired.
        at: Timestamp,
    },
    /// The access token expired.
    #[error("access token {token} expired at {at}")]
    TokenExpired {
        /// The token.
        token: TokenId,
        /// When it expired.
        at: Timestamp,
    },
    /// The source address is not in the key's networks, or the request has none.
    #[error("{}", address_message(*.key, *.address))]
    AddressNotAllowed {
        /// The key.
        key: KeyId,
        /// The address the request came from, if known.
        address: Option<IpAddr>,
    },
    /// An agent key (or a token) acts as its own person only, and the request named another.
    #[error("key {key} acts as its own agent only and cannot act as {person}")]
    ActAsNotAllowed {
        /// The key.
        key: KeyId,
        /// The person the request named.
        person: ActAs,
    },
    /// An access token acts as the person it was minted for only.
    #[error("access token {token} acts as the person it was minted for only, not as {person}")]
    TokenCannotActAs {
        /// The token.
        token: TokenId,
        /// The person the request named.
        person: ActAs,
    },
    /// A superuser key without a default agent was used without naming the person to act as.
    #[error("superuser key {key} has no default agent: name the agent to act as")]
    NoAgentToActAs {
        /// The key.
        key: KeyId,
    },
    /// The person to act as does not exist.
    #[error("{person} does not exist")]
    UnknownPerson {
        /// The person.
        person: ActAs,
    },
    /// The agent to act as is disabled.
    #[error("agent {agent} is disabled")]
    AgentDisabled {
        /// The agent.
        agent: AgentId,
    },
    /// The agent to act as is a plugin's app identity, which acts only through its install.
    #[error("agent {agent} is a plugin's app identity and acts only through its install")]
    AppIdentity {
        /// The agent.
        agent: AgentId,
    },
    /// The credential could not be checked: a damaged stored hash, a failing random source or
    /// database. Not the client's fault.
    #[error("credentials could not be checked: {reason}")]
    Internal {
        /// What failed.
        reason: String,
    },
}

fn address_message(key: KeyId, address: Option<IpAddr>) -> String {
    match address {
        Some(ip) => format!("key {key} does not accept requests from `{ip}`"),
        None => format!(
            "key {key} accepts requests only from its networks, and the request has no source address"
        ),
    }
}

impl AuthError {
    /// What the request log records for this refusal.
    pub(crate) fn outcome(&self) -> RequestOutcome {
        match self {
            Self::Malformed(_) | Self::InvalidCredentials => RequestOutcome::InvalidCredentials,
            Self::TooManyAttempts { .. } | Self::Busy => RequestOutcome::TooManyAttempts,
            Self::KeyDisabled { .. } => RequestOutcome::KeyDisabled,
            Self::KeyExpired { .. } => RequestOutcome::KeyExpired,
            Self::TokenExpired { .. } => RequestOutcome::TokenExpired,
            Self::AddressNotAllowed { .. } => RequestOutcome::AddressNotAllowed,
            Self::ActAsNotAllowed { .. }
            | Self::TokenCannotActAs { .. }
            | Self::NoAgentToActAs { .. }
            | Self::AppIdentity { .. } => RequestOutcome::ActAsRefused,
            Self::UnknownPerson { .. } | Self::AgentDisabled { .. } => {
                RequestOutcome::PersonUnavailable
            }
            Self::Internal { .. } => RequestOutcome::Failed,
        }
    }

    pub(crate) fn internal(reason: impl fmt::Display) -> Self {
        Self::Internal {
            reason: reason.to_string(),
        }
    }
}

impl From<ParseError> for AuthError {
    fn from(e: ParseError) -> Self {
        Self::Malformed(MalformedCredential(e))
    }
}

/// Counters of the authentication machinery, for monitoring and tests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthStats {
    /// argon2id verifications run since the helpdesk was opened (first uses of a key or token
    /// in this process, wrong or unknown secrets, decoys), keys and tokens together.
    pub argon2_verifications: u64,
    /// Keys in the in-memory table.
    pub keys: usize,
    /// Live access tokens in the in-memory table.
    pub tokens: usize,
    /// Request-log rings in memory, over all keys: for each key one shared ring and one per
    /// thread holding one (rings let go are reused, and forgotten once flushed).
    pub log_rings: usize,
    /// Key secrets whose stored hash was replaced by one with the configured parameters after
    /// a successful verification, since the helpdesk was opened.
    pub secrets_rehashed: u64,
}
