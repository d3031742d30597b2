//! The hot path: an `Authorization` header to a [`Principal`], and a principal, an action and a
//! ticket's attributes to a decision.
//!
//! A request with a key whose secret has passed argon2 in this process costs: parsing the header
//! (no allocation), a clock read, two plain loads of version counters to confirm that the
//! thread's copy of the tables is current (see [`local`](crate::local)), an id-map lookup, one
//! SipHash-2-4 tag and a constant-time comparison, a few field checks, the policy's check that
//! the agent is active, and one append to the thread's own log ring for the key. No storage is
//! read (except to find the organisation of a requester acted as), nothing is written to
//! storage, nothing is written to memory another thread uses, and no atomic read-modify-write
//! or lock is executed.
//!
//! Everything else (unknown ids, wrong secrets, first uses after a restart, the old secret during
//! an overlap window) runs argon2 behind the gate: a few verifications at once, the request's
//! source network in turn with the others, token buckets per source and per id and source timed
//! by the helpdesk's clock, and one verification for concurrent requests with the same secret.

use std::cell::Cell;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use helpdesk_authz::{Action, Policy, Resource, Scopes, TicketAttrs};
use helpdesk_credentials::{
    Attempt, CheckedCredential, CheckedSecret, HashError, Refused, Scratch, SecretHasher, Source,
    Tag, Verification,
};
use helpdesk_domain::{ActAs, Actor, Clock, KeyId, Network, Reading, Timestamp, TokenId};

use super::log::{KeyLog, Label, LogEntry};
use super::state::{GateId, KeySnap, KeyState, TokenSnap, Verdict, Which};
use super::{ApiRequest, AuthError, AuthStats, RequestOutcome, TicketAttributes};
use crate::error::Denied;
use crate::local::{Local, Rings};
use crate::principal::{Held, Principal};
use crate::{Helpdesk, guard};

impl From<Refused> for AuthError {
    fn from(refused: Refused) -> Self {
        match refused {
            Refused::RateLimited { retry_after } | Refused::Overloaded { retry_after } => {
                Self::TooManyAttempts { retry_after }
            }
            _ => Self::Busy,
        }
    }
}

impl Helpdesk {
    /// Authenticates a request from its `Authorization` header value: `key <id>:<secret>`,
    /// `Basic base64(<id>:<secret>)`, `Bearer <token>`, `token <token>`, or a scheme alias from
    /// [`Options::scheme_aliases`](crate::Options::scheme_aliases).
    ///
    /// `act_as` names the person a superuser key acts as (without it, the key's default agent);
    /// an agent key or a token may only name its own person. `source_ip` is checked against the
    /// key's networks. The request is logged in the key's request log as `request`; see
    /// [`authenticate_request`](Self::authenticate_request) to name the operation.
    ///
    /// The principal records the person, the key and the token in history and events, and the
    /// permission engine gives it the intersection of the person's rights and the scopes of the
    /// key and token.
    pub fn authenticate(
        &self,
        header: impl AsRef<[u8]>,
        act_as: Option<ActAs>,
        source_ip: Option<IpAddr>,
    ) -> Result<Principal, AuthError> {
        self.authenticate_request(&ApiRequest {
            header: header.as_ref(),
            act_as,
            source_ip,
            operation: None,
        })
    }

    /// Authenticates `request`; see [`authenticate`](Self::authenticate).
    pub fn authenticate_request(&self, request: &ApiRequest<'_>) -> Result<Principal, AuthError> {
        let state = &self.inner.keys;
        let mut scratch = Scratch::new();
        let credential = state.schemes.check(request.header, &mut scratch)?;
        let now = RequestTime::new(&*self.inner.clock);
        let now = &now;
        let grant = self.with_local(|local| match credential {
            CheckedCredential::Key { id, secret } => {
                self.key_request(local, id, secret, request, now)
            }
            CheckedCredential::Token { id, secret } => {
                self.token_request(local, id, secret, request, now)
            }
        })?;
        Ok(Principal::through_key(
            grant.person,
            grant.organization,
            grant.key,
            grant.token,
            grant.held,
        ))
    }

    /// Records a call made with `p` in the request log of the key it came through, as accepted;
    /// a principal without a key leaves no entry. For code that acts with a key's principal for
    /// someone else, such as the plugin host: each of a plugin's host calls shows in its install
    /// key's log under `operation`. Appends to the key's ring in memory; never writes storage.
    pub fn log_key_use(&self, p: &Principal, operation: &str) {
        let Some(key) = p.key() else { return };
        let entry = LogEntry {
            at: self.now(),
            operation: Label::new(operation),
            actor: person(p),
            token: p.token(),
            outcome: RequestOutcome::Accepted,
            source_ip: None,
        };
        self.with_local(|local| {
            if let Some(key) = local.keys.get(&key) {
                local.rings.push(&key.log, &entry);
            }
        });
    }

    /// Whether `p` may perform `action` on a ticket with these attributes (`tickets.create`:
    /// open such a ticket). Decides from memory alone, in nanoseconds; the denial explains why.
    pub fn decide(
        &self,
        p: &Principal,
        action: Action,
        ticket: &TicketAttributes,
    ) -> Result<(), Denied> {
        let resource = if action == Action::TicketCreate {
            Resource::NewTicket {
                department: ticket.department,
                requester: ticket.requester,
            }
        } else {
            Resource::Ticket(TicketAttrs {
                department: ticket.department,
                assignee: ticket.assignee,
                requester: ticket.requester,
                requester_organization: ticket.organization,
            })
        };
        self.decide_on(p, action, &resource)
    }

    /// Whether `p` may perform an action that is not about one ticket (`agents.read`,
    /// `keys.manage`, ...). Ticket actions are denied here: use [`decide`](Self::decide).
    pub fn decide_global(&self, p: &Principal, action: Action) -> Result<(), Denied> {
        self.decide_on(p, action, &Resource::Global)
    }

    fn decide_on(&self, p: &Principal, action: Action, resource: &Resource) -> Result<(), Denied> {
        self.with_local(|local| guard::decide(local, p, action, resource, &*self.inner.clock))
    }

    /// Counters of the authentication machinery.
    pub fn auth_stats(&self) -> AuthStats {
        let state = &self.inner.keys;
        let keys = state.keys.load();
        AuthStats {
            argon2_verifications: state.gate.verifications(),
            keys: keys.len(),
            tokens: state.tokens.load().len(),
            log_rings: keys.values().map(|entry| entry.log.ring_count()).sum(),
            secrets_rehashed: state.rehashed.load(Ordering::Relaxed),
        }
    }

    fn key_request(
        &self,
        local: &mut Local,
        id: KeyId,
        secret: CheckedSecret<'_>,
        request: &ApiRequest<'_>,
        now: &RequestTime<'_>,
    ) -> Result<Grant, AuthError> {
        let state = &self.inner.keys;
        let Some(entry) = local.keys.get(&id) else {
            return Err(refuse_unknown(state, GateId::Key(id), secret, request, now));
        };
        let verified = verify_key(state, &entry.snap, id, secret, request, now);
        let result = verified.and_then(|verified| {
            let tables = local.keys_version;
            let grant = self.key_grant(&local.policy, tables, id, &entry.snap, request, now)?;
            if let Verified::Argon2(Which::Current, tag) = verified {
                self.rehash_if_outdated(id, &entry.snap, secret, tag);
            }
            Ok(grant)
        });
        log(&mut local.rings, &entry.log, request, now, None, &result);
        result
    }

    /// After the current secret of key `id` passed argon2 against the hash in `verified`:
    /// replaces that hash by one made with the configured parameters, if it was made with
    /// others (stronger parameters chosen since, or an older argon2 version). Costs one more
    /// argon2 hash, once per key and parameter change; best effort, since the old hash still
    /// verifies. A regeneration in between wins.
    fn rehash_if_outdated(
        &self,
        id: KeyId,
        verified: &KeySnap,
        secret: CheckedSecret<'_>,
        tag: Tag,
    ) {
        let state = &self.inner.keys;
        let Ok(hasher) = state.hasher() else { return };
        if !hasher.needs_rehash(&verified.current).unwrap_or(false) {
            return;
        }
        let Ok(phc) = hasher.hash(secret.expose()) else {
            return;
        };
        let _admin = state.admin.lock();
        let replaced = self
            .store()
            .rehash_key_secret(id, &verified.current, &phc)
            .unwrap_or(false);
        if let (true, Ok(record)) = (replaced, self.store().key(id)) {
            state.install_key(&record, Some(tag));
            state.rehashed.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The checks after the secret is proven, so that their refusals may say what is wrong.
    fn key_grant(
        &self,
        policy: &Policy,
        local_tables: u64,
        id: KeyId,
        snap: &KeySnap,
        request: &ApiRequest<'_>,
        now: &RequestTime<'_>,
    ) -> Result<Grant, AuthError> {
        if !snap.enabled {
            return Err(AuthError::KeyDisabled { key: id });
        }
        if let Some(at) = snap.expires_at.filter(|at| !now.before(*at)) {
            return Err(AuthError::KeyExpired { key: id, at });
        }
        check_address(id, &snap.networks, request.source_ip)?;
        let person = guard::key_person(id, snap.kind, request.act_as)?;
        let held = Held {
            revision: snap.revision,
            tables: local_tables,
            until: Held::until(snap.expires_at, None),
        };
        self.grant(policy, person, (id, snap.scopes), None, held)
    }

    fn token_request(
        &self,
        local: &mut Local,
        id: TokenId,
        secret: CheckedSecret<'_>,
        request: &ApiRequest<'_>,
        now: &RequestTime<'_>,
    ) -> Result<Grant, AuthError> {
        let state = &self.inner.keys;
        let Some(token) = local.tokens.get(&id) else {
            let id = GateId::Token(id);
            return Err(refuse_unknown(state, id, secret, request, now));
        };
        let Some(key) = local.keys.get(&token.key) else {
            // The key was deleted; its tokens are being forgotten.
            return Err(AuthError::InvalidCredentials);
        };
        let tables = local.keys_version;
        let result = verify_token(state, token, secret, request, now).and_then(|()| {
            self.token_grant(&local.policy, tables, id, token, &key.snap, request, now)
        });
        log(&mut local.rings, &key.log, request, now, Some(id), &result);
        result
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the hot path passes what it read, once"
    )]
    fn token_grant(
        &self,
        policy: &Policy,
        local_tables: u64,
        id: TokenId,
        token: &TokenSnap,
        key: &KeySnap,
        request: &ApiRequest<'_>,
        now: &RequestTime<'_>,
    ) -> Result<Grant, AuthError> {
        if !key.enabled || key.generation != token.key_generation {
            // Revoked by its key's regeneration or disabling; being forgotten.
            return Err(AuthError::InvalidCredentials);
        }
        if !now.before(token.expires_at) {
            return Err(AuthError::TokenExpired {
                token: id,
                at: token.expires_at,
            });
        }
        if let Some(at) = key.expires_at.filter(|at| !now.before(*at)) {
            return Err(AuthError::KeyExpired { key: token.key, at });
        }
        check_address(token.key, &key.networks, request.source_ip)?;
        guard::token_person(id, token.person, request.act_as)?;
        let held = Held {
            revision: key.revision,
            tables: local_tables,
            until: Held::until(key.expires_at, Some(token.expires_at)),
        };
        self.grant(
            policy,
            token.person,
            (token.key, key.scopes),
            Some((id, token.scopes)),
            held,
        )
    }

    /// What `person` is granted through a key (and token), once the person is known to be
    /// available: an agent must exist, be active and not be a plugin's app identity (asked of
    /// the policy, so disabling an agent takes effect at once), a requester must exist.
    fn grant(
        &self,
        policy: &Policy,
        person: ActAs,
        key: (KeyId, Scopes),
        token: Option<(TokenId, Scopes)>,
        held: Held,
    ) -> Result<Grant, AuthError> {
        let organization = match person {
            ActAs::Agent(agent) => {
                guard::request_may_act_as(policy, agent)?;
                None
            }
            ActAs::Requester(id) => match self.store().requester(id) {
                Ok(requester) => requester.organization,
                Err(crate::error::Error::NotFound { .. }) => {
                    return Err(AuthError::UnknownPerson { person });
                }
                Err(e) => return Err(AuthError::internal(e)),
            },
        };
        Ok(Grant {
            person,
            organization,
            key,
            token,
            held,
        })
    }
}

/// The person `p` acts as, if any.
fn person(p: &Principal) -> Option<ActAs> {
    match p.actor() {
        Actor::Agent(id) => Some(ActAs::Agent(id)),
        Actor::Requester(id) => Some(ActAs::Requester(id)),
        Actor::System => None,
    }
}

/// Appends the request to its key's log, in this thread's ring.
fn log(
    rings: &mut Rings,
    log: &KeyLog,
    request: &ApiRequest<'_>,
    now: &RequestTime<'_>,
    token: Option<TokenId>,
    result: &Result<Grant, AuthError>,
) {
    let (actor, outcome) = match result {
        Ok(grant) => (Some(grant.person), RequestOutcome::Accepted),
        Err(e) => (None, e.outcome()),
    };
    let entry = LogEntry {
        at: now.logged(),
        operation: match request.operation {
            None => Label::Default,
            Some(name) => Label::new(name),
        },
        actor,
        token,
        outcome,
        source_ip: request.source_ip,
    };
    rings.push(log, &entry);
}

fn check_address(key: KeyId, networks: &[Network], ip: Option<IpAddr>) -> Result<(), AuthError> {
    if networks.is_empty() || ip.is_some_and(|ip| networks.iter().any(|n| n.contains(ip))) {
        Ok(())
    } else {
        Err(AuthError::AddressNotAllowed { key, address: ip })
    }
}

/// An unknown id costs one argon2 run against a decoy behind the same gate as a known one, and
/// gets the same refusal as a wrong secret.
fn refuse_unknown(
    state: &KeyState,
    id: GateId,
    secret: CheckedSecret<'_>,
    request: &ApiRequest<'_>,
    now: &RequestTime<'_>,
) -> AuthError {
    let hasher = match state.hasher() {
        Ok(hasher) => hasher,
        Err(e) => return AuthError::internal(e),
    };
    let tag = state.fast.tag(&id, secret.random_part());
    let verification = verify(state, attempt(id, request, tag, 0), now, || {
        hasher.verify_decoy(secret.expose()).map(|()| None)
    });
    match verification.map(Verification::into_inner) {
        Err(refused) => refused.into(),
        Ok(Err(e)) => AuthError::internal(e),
        Ok(Ok(_)) => AuthError::InvalidCredentials,
    }
}

/// The gate's view of a request presenting the secret of `tag` for `id`, checked against the
/// stored `generation`.
fn attempt(id: GateId, request: &ApiRequest<'_>, tag: Tag, generation: u64) -> Attempt<GateId> {
    Attempt {
        id,
        source: Source::of(request.source_ip),
        secret: tag,
        generation,
    }
}

/// Runs `work` (argon2) for `attempt` behind the gate, or waits for the run of the same attempt.
fn verify(
    state: &KeyState,
    attempt: Attempt<GateId>,
    now: &RequestTime<'_>,
    work: impl FnOnce() -> Verdict,
) -> Result<Verification<Verdict>, Refused> {
    state
        .gate
        .run(attempt, KeyState::monotonic(now.precise()), work)
}

/// How a key secret was proven.
enum Verified {
    /// By its tag, remembered from an earlier argon2 run or from its generation, or by the run
    /// of a concurrent request with the same secret (which remembers the tag).
    Tag,
    /// By argon2 against the `Which` stored hash; the tag is remembered now.
    Argon2(Which, Tag),
}

/// Checks a key secret: its tag against the remembered ones, else argon2 behind the gate, and
/// remembers the tag of a secret that passed.
fn verify_key(
    state: &KeyState,
    snap: &KeySnap,
    id: KeyId,
    secret: CheckedSecret<'_>,
    request: &ApiRequest<'_>,
    now: &RequestTime<'_>,
) -> Result<Verified, AuthError> {
    let tag = state.fast.tag(&id, secret.random_part());
    let current = snap.current_tag.is_some_and(|known| known == tag);
    let previous = snap
        .previous_tag
        .is_some_and(|(known, until)| known == tag && now.before(until));
    if current | previous {
        return Ok(Verified::Tag);
    }
    let hasher = state.hasher().map_err(AuthError::internal)?;
    let attempt = attempt(GateId::Key(id), request, tag, snap.generation);
    let verification = verify(state, attempt, now, || {
        slow_key_match(hasher, secret, snap, now)
    })?;
    let shared = verification.is_shared();
    let which = verification
        .into_inner()
        .map_err(AuthError::internal)?
        .ok_or(AuthError::InvalidCredentials)?;
    if shared {
        // The request that ran it remembers the tag, and rehashes if need be.
        return Ok(Verified::Tag);
    }
    state.remember_key_tag(id, snap, which, tag);
    Ok(Verified::Argon2(which, tag))
}

/// argon2 against the current secret, then the previous one while its window is open.
fn slow_key_match(
    hasher: &SecretHasher,
    secret: CheckedSecret<'_>,
    snap: &KeySnap,
    now: &RequestTime<'_>,
) -> Result<Option<Which>, HashError> {
    if hasher.verify(secret.expose(), &snap.current)? {
        return Ok(Some(Which::Current));
    }
    match &snap.previous {
        Some((phc, until)) if now.before(*until) && hasher.verify(secret.expose(), phc)? => {
            Ok(Some(Which::Previous))
        }
        _ => Ok(None),
    }
}

/// Checks an access token: its tag, else argon2 behind the gate.
fn verify_token(
    state: &KeyState,
    token: &Arc<TokenSnap>,
    secret: CheckedSecret<'_>,
    request: &ApiRequest<'_>,
    now: &RequestTime<'_>,
) -> Result<(), AuthError> {
    let tag = state.fast.tag(&token.id, secret.random_part());
    if token.tag.is_some_and(|known| known == tag) {
        return Ok(());
    }
    let hasher = state.hasher().map_err(AuthError::internal)?;
    let attempt = attempt(GateId::Token(token.id), request, tag, token.key_generation);
    let verification = verify(state, attempt, now, || {
        let matched = hasher.verify(secret.expose(), &token.phc)?;
        Ok(matched.then_some(Which::Current))
    })?;
    let shared = verification.is_shared();
    if verification
        .into_inner()
        .map_err(AuthError::internal)?
        .is_none()
    {
        return Err(AuthError::InvalidCredentials);
    }
    if !shared {
        state.remember_token_tag(token, tag);
    }
    Ok(())
}

/// What an authenticated request is granted; the principal is made of it. Kept small, as it is
/// passed by value through the layers of the hot path.
struct Grant {
    person: ActAs,
    organization: Option<helpdesk_domain::OrganizationId>,
    key: (KeyId, Scopes),
    token: Option<(TokenId, Scopes)>,
    held: Held,
}

/// The time of one request: the clock's cheap reading, and its precise one only when a
/// decision is too close to a boundary for the cheap one to settle (or argon2 needs it).
struct RequestTime<'a> {
    clock: &'a dyn Clock,
    recent: Reading,
    precise: Cell<Option<Timestamp>>,
}

impl<'a> RequestTime<'a> {
    fn new(clock: &'a dyn Clock) -> Self {
        Self {
            clock,
            recent: clock.recent(),
            precise: Cell::new(None),
        }
    }

    /// Whether the request is made before `t`.
    fn before(&self, t: Timestamp) -> bool {
        if let Some(now) = self.precise.get() {
            return now < t;
        }
        match self.recent.before(t) {
            Some(settled) => settled,
            None => self.precise() < t,
        }
    }

    /// The precise time, read once.
    fn precise(&self) -> Timestamp {
        match self.precise.get() {
            Some(now) => now,
            None => {
                let now = self.clock.now();
                self.precise.set(Some(now));
                now
            }
        }
    }

    /// The time the request log records: the precise time if it was read, else the cheap one.
    fn logged(&self) -> Timestamp {
        self.precise.get().unwrap_or(self.recent.at)
    }
}
