//! Bounded argon2 work for unknown or wrong secrets: at most one verification in flight per id,
//! and token-bucket rate limits per id and overall.
//!
//! A second attempt for an id whose verification is still running is **refused as busy**, not
//! queued: waiting would hold a request thread for the length of an argon2 run, and the running
//! result is about another presented secret anyway. Clients retry; an attacker flooding one id
//! gets at most one argon2 run at a time for it, and at most the rate limit over time.
//!
//! The gate treats every id alike whether or not it exists (the caller runs the same gate for an
//! unknown id, against a decoy hash), so its refusals reveal nothing about which ids exist.
//!
//! Time is passed in as a monotonic [`Duration`] since an origin the caller picks (for example
//! `Instant::elapsed` of one start instant); the gate never reads a clock and never sleeps. A time
//! that goes backwards refills nothing.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

use crate::error::Refused;

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
    /// Attempts per id.
    pub per_id: RateLimit,
    /// Attempts over all ids together: caps the CPU spent on argon2.
    pub overall: RateLimit,
}

impl Default for GateConfig {
    /// Per id: 5 at once, then one every 2 s. Overall: 32 at once, then 50 a second, about one
    /// core's worth of argon2 at OWASP parameters.
    fn default() -> Self {
        Self {
            per_id: RateLimit::new(5, Duration::from_secs(2)),
            overall: RateLimit::new(32, Duration::from_millis(20)),
        }
    }
}

/// The gate's record of one id.
#[derive(Clone, Copy)]
struct IdState {
    /// When this id's bucket is full again.
    tat: Duration,
    in_flight: bool,
}

struct State<I> {
    ids: HashMap<I, IdState>,
    /// When the overall bucket is full again.
    overall_tat: Duration,
    /// Size of `ids` above which full buckets are dropped.
    prune_above: usize,
}

/// The smallest `prune_above`.
const PRUNE_FLOOR: usize = 1024;

/// Admits argon2 verifications: one in flight per id, within the per-id and overall rate limits.
///
/// Only the slow path goes through the gate: secrets whose tag is known are accepted without it,
/// so flooding an id with wrong secrets does not lock out a client whose tag is known.
pub struct VerifyGate<I> {
    config: GateConfig,
    state: Mutex<State<I>>,
    runs: AtomicU64,
}

impl<I: Copy + Eq + Hash> VerifyGate<I> {
    /// A gate with `config` and no history.
    pub fn new(config: GateConfig) -> Self {
        Self {
            config,
            state: Mutex::new(State {
                ids: HashMap::new(),
                overall_tat: Duration::ZERO,
                prune_above: PRUNE_FLOOR,
            }),
            runs: AtomicU64::new(0),
        }
    }

    /// Runs `work` (one argon2 verification) for `id` if the gate admits it at `now`.
    ///
    /// Refused with [`Refused::Busy`] while another call for `id` is running, else with
    /// [`Refused::RateLimited`] or [`Refused::Overloaded`] when a bucket is empty. A refused
    /// attempt takes nothing from the buckets; an admitted one takes one from each.
    pub fn run<T>(&self, id: I, now: Duration, work: impl FnOnce() -> T) -> Result<T, Refused> {
        {
            let mut state = self.state.lock();
            let known = state.ids.get(&id).copied();
            if known.is_some_and(|known| known.in_flight) {
                return Err(Refused::Busy);
            }
            let id_tat = known.map_or(Duration::ZERO, |known| known.tat);
            let id_tat = self
                .config
                .per_id
                .admit(id_tat, now)
                .map_err(|retry_after| Refused::RateLimited { retry_after })?;
            let overall_tat = self
                .config
                .overall
                .admit(state.overall_tat, now)
                .map_err(|retry_after| Refused::Overloaded { retry_after })?;
            state.overall_tat = overall_tat;
            state.ids.insert(
                id,
                IdState {
                    tat: id_tat,
                    in_flight: true,
                },
            );
            if state.ids.len() > state.prune_above {
                // A bucket that is full again is the same as no record at all.
                state
                    .ids
                    .retain(|_, known| known.in_flight || known.tat > now);
                state.prune_above = (state.ids.len() * 2).max(PRUNE_FLOOR);
            }
        }
        let _in_flight = InFlight { gate: self, id };
        self.runs.fetch_add(1, Ordering::Relaxed);
        Ok(work())
    }

    /// How many times `work` has run: the number of argon2 verifications admitted.
    pub fn verifications(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    /// The gate's limits.
    pub fn config(&self) -> GateConfig {
        self.config
    }
}

impl<I> fmt::Debug for VerifyGate<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyGate")
            .field("config", &self.config)
            .field("verifications", &self.runs.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// Clears an id's in-flight mark when its verification ends, even by unwinding.
struct InFlight<'a, I: Copy + Eq + Hash> {
    gate: &'a VerifyGate<I>,
    id: I,
}

impl<I: Copy + Eq + Hash> Drop for InFlight<'_, I> {
    fn drop(&mut self) {
        if let Some(known) = self.gate.state.lock().ids.get_mut(&self.id) {
            known.in_flight = false;
        }
    }
}

#[cfg(test)]
mod tests {
    use helpdesk_domain::KeyId;

    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    fn gate(per_id: RateLimit, overall: RateLimit) -> VerifyGate<KeyId> {
        VerifyGate::new(GateConfig { per_id, overall })
    }

    fn generous() -> RateLimit {
        RateLimit::new(1_000_000, Duration::from_nanos(1))
    }

    /// Attempts for `id` at `now`: `Ok(())` when admitted.
    fn attempt(gate: &VerifyGate<KeyId>, id: i64, now: Duration) -> Result<(), Refused> {
        gate.run(KeyId::new(id), now, || ())
    }

    #[test]
    fn per_id_bucket_allows_a_burst_then_refills() {
        let gate = gate(RateLimit::new(3, SECOND), generous());
        let t0 = Duration::from_secs(100);
        for _ in 0..3 {
            assert_eq!(attempt(&gate, 1, t0), Ok(()));
        }
        assert_eq!(
            attempt(&gate, 1, t0),
            Err(Refused::RateLimited {
                retry_after: SECOND
            })
        );
        assert_eq!(
            attempt(&gate, 1, t0 + SECOND / 4),
            Err(Refused::RateLimited {
                retry_after: SECOND * 3 / 4
            })
        );
        assert_eq!(
            attempt(&gate, 2, t0),
            Ok(()),
            "other ids have their own bucket"
        );
        assert_eq!(attempt(&gate, 1, t0 + SECOND), Ok(()));
        assert!(attempt(&gate, 1, t0 + SECOND).is_err());
        assert_eq!(attempt(&gate, 1, t0 + SECOND * 10), Ok(()));
        assert_eq!(gate.verifications(), 6);
    }

    #[test]
    fn overall_bucket_caps_all_ids_together() {
        let gate = gate(generous(), RateLimit::new(2, SECOND));
        assert_eq!(attempt(&gate, 1, SECOND), Ok(()));
        assert_eq!(attempt(&gate, 2, SECOND), Ok(()));
        assert_eq!(
            attempt(&gate, 3, SECOND),
            Err(Refused::Overloaded {
                retry_after: SECOND
            })
        );
        assert_eq!(attempt(&gate, 3, SECOND * 2), Ok(()));
    }

    #[test]
    fn refusals_take_nothing_from_the_buckets() {
        let gate = gate(RateLimit::new(1, SECOND), RateLimit::new(1, SECOND));
        assert_eq!(attempt(&gate, 1, SECOND), Ok(()));
        for _ in 0..10 {
            assert!(attempt(&gate, 2, SECOND).is_err());
            assert!(attempt(&gate, 1, SECOND).is_err());
        }
        assert_eq!(attempt(&gate, 2, SECOND * 2), Ok(()));
    }

    #[test]
    fn time_going_backwards_refills_nothing() {
        let gate = gate(RateLimit::new(1, SECOND), generous());
        assert_eq!(attempt(&gate, 1, SECOND * 10), Ok(()));
        assert!(matches!(
            attempt(&gate, 1, SECOND),
            Err(Refused::RateLimited { .. })
        ));
    }

    #[test]
    fn one_verification_in_flight_per_id() {
        let gate = gate(generous(), generous());
        let inner = gate.run(KeyId::new(1), SECOND, || {
            (attempt(&gate, 1, SECOND), attempt(&gate, 2, SECOND))
        });
        assert_eq!(inner, Ok((Err(Refused::Busy), Ok(()))));
        assert_eq!(attempt(&gate, 1, SECOND), Ok(()), "free again once done");
    }

    #[test]
    fn in_flight_mark_is_cleared_after_a_panic() {
        let gate = gate(generous(), generous());
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            gate.run(KeyId::new(1), SECOND, || panic!("argon2 blew up"))
        }));
        assert!(unwound.is_err());
        assert_eq!(attempt(&gate, 1, SECOND), Ok(()));
    }

    #[test]
    fn memory_stays_bounded_under_unknown_ids() {
        let gate = gate(RateLimit::new(1, SECOND), generous());
        for i in 0..100_000 {
            let now = Duration::from_millis(i);
            assert_eq!(attempt(&gate, i as i64 + 1, now), Ok(()));
        }
        let len = gate.state.lock().ids.len();
        assert!(len <= 2 * PRUNE_FLOOR + 1_000, "{len} ids kept");
    }

    #[test]
    fn zero_burst_means_one() {
        assert_eq!(RateLimit::new(0, SECOND).burst(), 1);
        let gate = gate(RateLimit::new(0, SECOND), generous());
        assert_eq!(attempt(&gate, 1, SECOND), Ok(()));
        assert!(attempt(&gate, 1, SECOND).is_err());
    }
}
