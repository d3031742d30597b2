//! Bounded, fair argon2 work for the secrets that have no known tag: unknown ids, wrong secrets,
//! and first uses after a restart.
//!
//! An argon2id verification costs tens of milliseconds of one core. The gate bounds how many
//! run, and shares them out so that whoever floods it only lengthens their own wait:
//!
//! - **At most [`GateConfig::concurrency`] verifications run at once.** This bounds the CPU spent
//!   on argon2, however many sources there are.
//! - **Sources take turns.** A request that finds every slot taken waits in one queue, ordered by
//!   start-time fair queuing over sources: a request's place is the later of the place of the
//!   verification that started last and the place after its source's previous request. Within a
//!   source that is first come, first served; across sources it is round robin, and a request
//!   from a source with nothing queued goes ahead of everything a busy source queued before it,
//!   so it waits only for a slot to free: for one of the verifications running when it came.
//! - **Each source is bounded.** A source (an IPv4 address, an IPv6 /64, or the one source
//!   shared by requests without an address: see [`Source`]) has a token bucket over all ids, and
//!   at most [`GateConfig::waiting_per_source`] requests waiting; beyond either it is refused at
//!   once, without waiting and without argon2.
//! - **Each id has a bucket per source.** Attempts for one id from one source take from their
//!   own bucket, so wrong secrets sent from one address never use up the attempts of the key's
//!   owner at another.
//! - **One verification per secret.** Attempts with the same id, the same secret (by its tag)
//!   and the same generation of what is stored share one verification: the later ones wait for
//!   the result of the one queued or running, so a client's concurrent first requests after a
//!   restart cost one argon2 run and none is refused. Sharing takes nothing from the buckets.
//!   The result is only shared where it holds: a presented secret either matches a stored hash
//!   or not, and the caller bumps the generation whenever the stored secret changes. Attempts
//!   with other secrets for the same id are not held up by it: each is its own verification.
//! - **Waits are bounded** by [`GateConfig::max_wait`] of real time: a request that has not had
//!   its turn (or its result) by then is refused as [`Refused::TimedOut`]. Waiting is on a
//!   condition variable with that deadline; the gate never sleeps and never spins.
//!
//! This replaces an overall token bucket and a refusal of a second attempt for an id while one
//! runs. An overall bucket caps the work too, but anyone can empty it, and then every other
//! client's first use is refused; a refusal per id lets anyone who knows an id keep its owner
//! out. A bound on concurrency with fair turns caps the same CPU while a flood only fills the
//! flooder's own share. A flood from many networks at once still shares the slots with every
//! other source, so the wait of everyone grows with the number of networks flooding.
//!
//! The gate treats every id alike whether or not it exists (the caller runs the same gate for an
//! unknown id, against a decoy hash), so its refusals reveal nothing about which ids exist.
//!
//! The buckets' time is passed in as a monotonic [`Duration`] since an origin the caller picks
//! (the helpdesk's clock, which tests set); a time that goes backwards refills nothing. Only the
//! bound on waiting reads the real monotonic clock ([`Instant`]): a wait must end even while the
//! caller's clock stands still.
//!
//! Memory stays bounded. A bucket that is full again is the same as no record at all, and is
//! dropped when the tables grow; past 65,536 records (a flood from that many networks), every
//! per-id bucket starts full again and idle sources are forgotten, while the concurrency bound
//! and the turns still hold. Queued requests and verifications in flight are bounded by the
//! requests waiting for them. The tables are keyed by what clients choose (ids and addresses),
//! so they use the standard library's randomly keyed hasher.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::Hash;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};

use crate::error::Refused;
use crate::source::Source;
use crate::tag::Tag;

/// A token bucket: `burst` attempts at once, then one more every `interval`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    burst: u32,
    interval: Duration,
}

impl RateLimit {
    /// Up to `burst` attempts at once (at least one), refilled at one per `interval`.
    pub const fn new(burst: u32, interval: Duration) -> Self {
        Self {
            burst: if burst == 0 { 1 } else { burst },
            interval,
        }
    }

    /// The bucket's size.
    pub const fn burst(self) -> u32 {
        self.burst
    }

    /// The time to refill one attempt.
    pub const fn interval(self) -> Duration {
        self.interval
    }

    /// GCRA form of the bucket: `tat` is the time at which the bucket would be full again.
    /// Returns the new `tat` when an attempt is allowed at `now`, or how long to wait.
    fn admit(self, tat: Duration, now: Duration) -> Result<Duration, Duration> {
        let tolerance = self.interval.saturating_mul(self.burst - 1);
        let earliest = tat.saturating_sub(tolerance);
        if earliest > now {
            return Err(earliest - now);
        }
        Ok(tat.max(now).saturating_add(self.interval))
    }
}

/// The limits of a [`VerifyGate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GateConfig {
    /// Verifications running at once, over all ids and sources (at least one).
    pub concurrency: u32,
    /// Attempts for one id from one source.
    pub per_id: RateLimit,
    /// Attempts from one source, over all ids.
    pub per_source: RateLimit,
    /// Requests of one source waiting at once, for their turn or for a verification of the same
    /// secret; more are refused at once.
    pub waiting_per_source: u32,
    /// The longest a request waits, in real time.
    pub max_wait: Duration,
}

impl Default for GateConfig {
    /// Two verifications at once: at most two cores on argon2, and no client held up behind a
    /// single slow run. Per id and source: 5 at once, then one every 2 s.
    /// Per source: 32 at once, then 50 a second (about one core's worth of argon2 at OWASP
    /// parameters), and 32 waiting. A wait of one second at most.
    fn default() -> Self {
        Self {
            concurrency: 2,
            per_id: RateLimit::new(5, Duration::from_secs(2)),
            per_source: RateLimit::new(32, Duration::from_millis(20)),
            waiting_per_source: 32,
            max_wait: Duration::from_secs(1),
        }
    }
}

/// One attempt to verify a presented secret, as the gate sees it.
#[derive(Clone, Copy, Debug)]
pub struct Attempt<I> {
    /// The key or token id the secret was presented for.
    pub id: I,
    /// Where the request came from.
    pub source: Source,
    /// The tag of the presented secret.
    pub secret: Tag,
    /// The generation of what is stored for the id, which the secret is checked against.
    /// Attempts that agree on the id, the secret and the generation share one verification.
    pub generation: u64,
}

/// What [`VerifyGate::run`] got: the result of a verification, run by this call or by another
/// one with the same attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verification<R> {
    /// This call ran the verification.
    Ran(R),
    /// Another call with the same id, secret and generation ran it; this one waited for it.
    Shared(R),
}

impl<R> Verification<R> {
    /// Whether another call ran the verification.
    pub fn is_shared(&self) -> bool {
        matches!(self, Self::Shared(_))
    }

    /// The result, whoever ran it.
    pub fn into_inner(self) -> R {
        match self {
            Self::Ran(result) | Self::Shared(result) => result,
        }
    }
}

/// Records kept (per-id buckets, and sources) beyond which buckets start over; see the module
/// docs.
const TRACKED_LIMIT: usize = 1 << 16;

/// The table size below which nothing is pruned.
const PRUNE_FLOOR: usize = 1024;

/// The gate's record of one source.
#[derive(Clone, Copy, Default)]
struct SourceState {
    /// When the source's bucket is full again.
    tat: Duration,
    /// Its requests waiting for their turn.
    queued: u32,
    /// Its requests waiting for another request's verification.
    following: u32,
    /// Its verifications running.
    running: u32,
    /// The queue place after its last request.
    finish: u64,
}

impl SourceState {
    fn waiting(&self) -> u32 {
        self.queued + self.following
    }

    /// Nothing of the source is queued or running: its next request starts a new turn.
    fn between_turns(&self) -> bool {
        self.queued == 0 && self.running == 0
    }

    fn idle(&self) -> bool {
        self.between_turns() && self.following == 0
    }
}

/// One verification, queued or running, that attempts with the same secret wait for.
struct Flight<I, R> {
    /// Its leader's ticket.
    ticket: u64,
    id: I,
    secret: Tag,
    generation: u64,
    /// Set when the verification ended.
    result: Option<R>,
    /// Its leader gave up (its wait ran out) or unwound: there will be no result.
    abandoned: bool,
    /// Calls waiting for the result.
    followers: u32,
    landed: Arc<Condvar>,
}

/// A request waiting for its turn.
struct Queued {
    source: Source,
    turn: Arc<Condvar>,
}

struct State<I, R> {
    /// When each (id, source) bucket is full again; absent means full.
    buckets: HashMap<(I, Source), Duration>,
    sources: HashMap<Source, SourceState>,
    /// Verifications queued or running, and ended ones whose followers have not all left.
    flights: Vec<Flight<I, R>>,
    /// Requests waiting for their turn, by (place, ticket).
    queue: BTreeMap<(u64, u64), Queued>,
    /// Tickets given their turn whose caller has not yet woken.
    granted: Vec<u64>,
    running: u32,
    /// The place of the verification that started last.
    round: u64,
    next_ticket: u64,
    /// Size of the tables above which full buckets and idle sources are dropped.
    prune_above: usize,
}

/// Admits argon2 verifications: at most a few at once, sources in turn, within per-source and
/// per-(id, source) limits, one verification per presented secret; see the module docs.
///
/// `R` is the result of a verification, handed to every call that waited for it. Only the slow
/// path goes through the gate: secrets whose tag is known are accepted without it, so flooding
/// an id with wrong secrets does not lock out a client whose tag is known.
pub struct VerifyGate<I, R> {
    config: GateConfig,
    state: Mutex<State<I, R>>,
    runs: AtomicU64,
}

impl<I: Copy + Eq + Hash, R: Clone> VerifyGate<I, R> {
    /// A gate with `config` and no history.
    pub fn new(config: GateConfig) -> Self {
        Self {
            config,
            state: Mutex::new(State {
                buckets: HashMap::new(),
                sources: HashMap::new(),
                flights: Vec::new(),
                queue: BTreeMap::new(),
                granted: Vec::new(),
                running: 0,
                round: 0,
                next_ticket: 0,
                prune_above: PRUNE_FLOOR,
            }),
            runs: AtomicU64::new(0),
        }
    }

    /// Runs `work` (one argon2 verification) for `attempt` when the gate admits it at `now` and
    /// its turn comes, or waits for the result of a verification of the same attempt queued or
    /// running.
    ///
    /// Refused with [`Refused::RateLimited`] when the attempt's (id, source) bucket is empty,
    /// with [`Refused::Overloaded`] when its source's bucket is empty or the source has its
    /// most requests waiting, and with [`Refused::TimedOut`] when the wait ran out. A refused
    /// attempt takes nothing from the buckets (one whose wait ran out has taken its share); an
    /// admitted one takes one from each.
    pub fn run(
        &self,
        attempt: Attempt<I>,
        now: Duration,
        work: impl FnOnce() -> R,
    ) -> Result<Verification<R>, Refused> {
        let mut state = self.state.lock();
        if let Some(ticket) = state.flight_of(&attempt) {
            return self
                .follow(state, ticket, attempt.source)
                .map(Verification::Shared);
        }
        let place = state.admit(&self.config, &attempt, now)?;
        let ticket = state.take_off(&attempt);
        if state.running < self.config.concurrency.max(1) {
            state.start(attempt.source, place);
        } else {
            self.wait_turn(&mut state, attempt.source, place, ticket)?;
        }
        drop(state);
        let mut running = Running {
            gate: self,
            source: attempt.source,
            ticket,
            result: None,
        };
        self.runs.fetch_add(1, Ordering::Relaxed);
        let result = work();
        running.result = Some(result.clone());
        drop(running);
        Ok(Verification::Ran(result))
    }

    /// How many times `work` has run: the number of argon2 verifications admitted.
    pub fn verifications(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// The gate's limits.
    pub fn config(&self) -> GateConfig {
        self.config
    }

    /// Waits for the result of the flight of `ticket`.
    fn follow(
        &self,
        mut state: MutexGuard<'_, State<I, R>>,
        ticket: u64,
        source: Source,
    ) -> Result<R, Refused> {
        let known = state.sources.get(&source).copied().unwrap_or_default();
        if known.waiting() >= self.config.waiting_per_source {
            return Err(source_full(&self.config));
        }
        let Some(flight) = state.flight(ticket) else {
            return Err(Refused::TimedOut);
        };
        flight.followers += 1;
        let landed = flight.landed.clone();
        state.sources.entry(source).or_default().following += 1;
        let since = Instant::now();
        let mut timed_out = false;
        let outcome = loop {
            match state.flight(ticket) {
                Some(Flight {
                    result: Some(result),
                    ..
                }) => break Ok(result.clone()),
                Some(flight) if !flight.abandoned && !timed_out => {}
                _ => break Err(Refused::TimedOut),
            }
            timed_out = wait_within(&landed, &mut state, since, self.config.max_wait);
        };
        if let Some(known) = state.sources.get_mut(&source) {
            known.following -= 1;
        }
        state.leave_flight(ticket);
        outcome
    }

    /// Queues `ticket` and waits until it is given a slot.
    fn wait_turn(
        &self,
        state: &mut MutexGuard<'_, State<I, R>>,
        source: Source,
        place: u64,
        ticket: u64,
    ) -> Result<(), Refused> {
        let turn = Arc::new(Condvar::new());
        let queued = Queued {
            source,
            turn: turn.clone(),
        };
        state.queue.insert((place, ticket), queued);
        state.sources.entry(source).or_default().queued += 1;
        let since = Instant::now();
        let mut timed_out = false;
        loop {
            if let Some(at) = state.granted.iter().position(|t| *t == ticket) {
                state.granted.swap_remove(at);
                return Ok(());
            }
            if timed_out {
                state.queue.remove(&(place, ticket));
                if let Some(known) = state.sources.get_mut(&source) {
                    known.queued -= 1;
                }
                state.land(ticket, None);
                return Err(Refused::TimedOut);
            }
            timed_out = wait_within(&turn, state, since, self.config.max_wait);
        }
    }
}

/// The refusal of a source with its most requests waiting.
fn source_full(config: &GateConfig) -> Refused {
    Refused::Overloaded {
        retry_after: config.per_source.interval(),
    }
}

/// Waits on `condvar` for what is left of `max_wait` since `since`; says whether it ran out.
fn wait_within<T>(
    condvar: &Condvar,
    guard: &mut MutexGuard<'_, T>,
    since: Instant,
    max_wait: Duration,
) -> bool {
    let left = max_wait.saturating_sub(since.elapsed());
    left.is_zero() || condvar.wait_for(guard, left).timed_out()
}

impl<I: Copy + Eq + Hash, R: Clone> State<I, R> {
    /// The ticket of a flight that `attempt` can wait for.
    fn flight_of(&self, attempt: &Attempt<I>) -> Option<u64> {
        self.flights
            .iter()
            .find(|flight| {
                flight.result.is_none()
                    && !flight.abandoned
                    && flight.id == attempt.id
                    && flight.generation == attempt.generation
                    && flight.secret == attempt.secret
            })
            .map(|flight| flight.ticket)
    }

    fn flight(&mut self, ticket: u64) -> Option<&mut Flight<I, R>> {
        self.flights
            .iter_mut()
            .find(|flight| flight.ticket == ticket)
    }

    /// Checks the buckets and the source's waiting requests for `attempt`, and takes one from
    /// each bucket. Returns the attempt's place in the queue.
    fn admit(
        &mut self,
        config: &GateConfig,
        attempt: &Attempt<I>,
        now: Duration,
    ) -> Result<u64, Refused> {
        let key = (attempt.id, attempt.source);
        let known = self
            .sources
            .get(&attempt.source)
            .copied()
            .unwrap_or_default();
        if known.waiting() >= config.waiting_per_source {
            return Err(source_full(config));
        }
        let id_tat = self.buckets.get(&key).copied().unwrap_or_default();
        let id_tat = config
            .per_id
            .admit(id_tat, now)
            .map_err(|retry_after| Refused::RateLimited { retry_after })?;
        let source_tat = config
            .per_source
            .admit(known.tat, now)
            .map_err(|retry_after| Refused::Overloaded { retry_after })?;
        self.buckets.insert(key, id_tat);
        let source = self.sources.entry(attempt.source).or_default();
        source.tat = source_tat;
        let place = if source.between_turns() {
            self.round
        } else {
            self.round.max(source.finish)
        };
        source.finish = place + 1;
        self.prune(now);
        Ok(place)
    }

    /// Opens the flight of `attempt`, for later attempts with the same secret to wait for, and
    /// returns its ticket.
    fn take_off(&mut self, attempt: &Attempt<I>) -> u64 {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.flights.push(Flight {
            ticket,
            id: attempt.id,
            secret: attempt.secret,
            generation: attempt.generation,
            result: None,
            abandoned: false,
            followers: 0,
            landed: Arc::new(Condvar::new()),
        });
        ticket
    }

    /// Counts a verification at `place` from `source` as running.
    fn start(&mut self, source: Source, place: u64) {
        self.round = self.round.max(place);
        self.running += 1;
        self.sources.entry(source).or_default().running += 1;
    }

    /// Gives free slots to the first requests in the queue.
    fn give_turns(&mut self, concurrency: u32) {
        while self.running < concurrency.max(1) {
            let Some(((place, ticket), queued)) = self.queue.pop_first() else {
                break;
            };
            if let Some(known) = self.sources.get_mut(&queued.source) {
                known.queued -= 1;
            }
            self.start(queued.source, place);
            self.granted.push(ticket);
            queued.turn.notify_one();
        }
    }

    /// Ends the flight of `ticket` with `result` (`None`: abandoned) and wakes its followers.
    fn land(&mut self, ticket: u64, result: Option<R>) {
        let Some(at) = self.flights.iter().position(|f| f.ticket == ticket) else {
            return;
        };
        let flight = &mut self.flights[at];
        if flight.followers == 0 {
            self.flights.swap_remove(at);
            return;
        }
        flight.abandoned = result.is_none();
        flight.result = result;
        flight.landed.notify_all();
    }

    /// A follower of the flight of `ticket` leaves; the last one out of an ended flight
    /// removes it.
    fn leave_flight(&mut self, ticket: u64) {
        let Some(at) = self.flights.iter().position(|f| f.ticket == ticket) else {
            return;
        };
        let flight = &mut self.flights[at];
        flight.followers -= 1;
        let ended = flight.result.is_some() || flight.abandoned;
        if ended && flight.followers == 0 {
            self.flights.swap_remove(at);
        }
    }

    /// Drops the buckets that are full again and idle sources whose bucket is, when the tables
    /// have grown; past [`TRACKED_LIMIT`], all per-id buckets and every idle source.
    fn prune(&mut self, now: Duration) {
        if self.buckets.len() + self.sources.len() <= self.prune_above {
            return;
        }
        self.buckets.retain(|_, tat| *tat > now);
        self.sources
            .retain(|_, source| !source.idle() || source.tat > now);
        if self.buckets.len() > TRACKED_LIMIT {
            self.buckets.clear();
        }
        if self.sources.len() > TRACKED_LIMIT {
            self.sources.retain(|_, source| !source.idle());
        }
        self.prune_above = ((self.buckets.len() + self.sources.len()) * 2).max(PRUNE_FLOOR);
    }
}

impl<I, R> fmt::Debug for VerifyGate<I, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyGate")
            .field("config", &self.config)
            .field("verifications", &self.runs.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// A verification holding its slot: when it ends, even by unwinding, it frees the slot, hands
/// its result (or none) to its followers and gives the slot to the next in the queue.
struct Running<'a, I: Copy + Eq + Hash, R: Clone> {
    gate: &'a VerifyGate<I, R>,
    source: Source,
    ticket: u64,
    result: Option<R>,
}

impl<I: Copy + Eq + Hash, R: Clone> Drop for Running<'_, I, R> {
    fn drop(&mut self) {
        let mut state = self.gate.state.lock();
        state.running -= 1;
        if let Some(known) = state.sources.get_mut(&self.source) {
            known.running -= 1;
        }
        state.land(self.ticket, self.result.take());
        state.give_turns(self.gate.config.concurrency);
    }
}

#[cfg(test)]
mod tests;
