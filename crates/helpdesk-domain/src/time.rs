//! Time: millisecond timestamps and the clock the embedding application may supply.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use serde::{Deserialize, Serialize};

/// A point in time: milliseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Timestamp = Timestamp(0);

    /// A timestamp from milliseconds since the Unix epoch.
    pub const fn from_millis(ms: i64) -> Self {
        Self(ms)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// This timestamp moved by `ms` milliseconds (saturating).
    pub const fn add_millis(self, ms: i64) -> Self {
        Self(self.0.saturating_add(ms))
    }

    /// The calendar date as `(year, month, day)`, UTC.
    pub fn date(self) -> (i64, u32, u32) {
        civil_from_days(self.0.div_euclid(86_400_000))
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// RFC 3339 in UTC with milliseconds, e.g. `2026-11-23T14:28:16.000Z`.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.date();
        let ms_of_day = self.0.rem_euclid(86_400_000);
        let (h, rest) = (ms_of_day / 3_600_000, ms_of_day % 3_600_000);
        let (min, rest) = (rest / 60_000, rest % 60_000);
        let (s, ms) = (rest / 1000, rest % 1000);
        write!(f, "{y:04}-{m:02}-{d:02}T{h:02}:{min:02}:{s:02}.{ms:03}Z")
    }
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Where the core reads the current time. Tests supply a [`ManualClock`] instead of sleeping.
pub trait Clock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> Timestamp;

    /// A reading that may be cheaper than [`now`](Self::now): never ahead of it, and at most
    /// [`Reading::lag_ms`] behind. The authentication hot path uses it for log times and for
    /// the expiry checks it settles; a check within the lag of a boundary reads `now`.
    ///
    /// The default is `now` itself, with no lag.
    fn recent(&self) -> Reading {
        Reading {
            at: self.now(),
            lag_ms: 0,
        }
    }
}

/// A cheap reading of a [`Clock`]: the current time is in `at ..= at + lag_ms`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reading {
    /// The time read.
    pub at: Timestamp,
    /// How far behind the current time `at` may be, in milliseconds.
    pub lag_ms: i64,
}

impl Reading {
    /// Whether the current time is certainly before `t` (`Some(true)`), certainly not
    /// (`Some(false)`), or too close to tell from this reading (`None`).
    pub fn before(&self, t: Timestamp) -> Option<bool> {
        if t <= self.at {
            Some(false)
        } else if self.at.0.saturating_add(self.lag_ms) < t.0 {
            Some(true)
        } else {
            None
        }
    }
}

/// The operating system's wall clock.
///
/// On Linux, [`recent`](Clock::recent) reads the coarse clock, which the kernel advances at
/// every timer tick (every 1 to 10 ms): a few nanoseconds against tens for a precise reading.
/// Its lag is given as one second, far beyond any tick, so that a decision it settles is never
/// wrong even when ticks are late.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

/// The lag claimed for the coarse clock; see [`SystemClock`].
#[cfg(any(target_os = "linux", target_os = "android"))]
const COARSE_LAG_MS: i64 = 1_000;

impl SystemClock {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn read(id: rustix::time::ClockId) -> Timestamp {
        let time = rustix::time::clock_gettime(id);
        Timestamp(time.tv_sec.saturating_mul(1000) + time.tv_nsec / 1_000_000)
    }
}

impl Clock for SystemClock {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn now(&self) -> Timestamp {
        Self::read(rustix::time::ClockId::Realtime)
    }

    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    fn now(&self) -> Timestamp {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Timestamp(ms)
    }

    #[cfg(any(target_os = "linux", target_os = "android"))]
    fn recent(&self) -> Reading {
        Reading {
            at: Self::read(rustix::time::ClockId::RealtimeCoarse),
            lag_ms: COARSE_LAG_MS,
        }
    }
}

/// A clock that only moves when told to; clones share the same time.
#[derive(Clone, Debug, Default)]
pub struct ManualClock {
    ms: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock stopped at `start`.
    pub fn new(start: Timestamp) -> Self {
        Self {
            ms: Arc::new(AtomicI64::new(start.0)),
        }
    }

    /// Sets the time.
    pub fn set(&self, to: Timestamp) {
        self.ms.store(to.0, Ordering::SeqCst);
    }

    /// Moves the time forward by `ms` milliseconds.
    pub fn advance_millis(&self, ms: i64) {
        self.ms.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.ms.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_reads_the_wall_clock_and_its_recent_reading_is_never_ahead() {
        let before = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or_default();
        let recent = SystemClock.recent();
        let now = SystemClock.now();
        assert!(recent.at <= now, "{recent:?} is ahead of {now:?}");
        assert!(now.0 >= i64::try_from(before).unwrap_or(i64::MAX) - 1);
        assert!(now.0 - recent.at.0 <= recent.lag_ms);
        assert_ne!(
            recent.before(now),
            Some(true),
            "the time read by `now` has come"
        );
    }

    #[test]
    fn a_reading_settles_only_what_its_lag_allows() {
        let reading = Reading {
            at: Timestamp(1_000),
            lag_ms: 10,
        };
        assert_eq!(reading.before(Timestamp(999)), Some(false));
        assert_eq!(reading.before(Timestamp(1_000)), Some(false));
        assert_eq!(reading.before(Timestamp(1_001)), None);
        assert_eq!(reading.before(Timestamp(1_010)), None);
        assert_eq!(reading.before(Timestamp(1_011)), Some(true));
        let exact = ManualClock::new(Timestamp(5)).recent();
        assert_eq!(exact.lag_ms, 0);
        assert_eq!(exact.before(Timestamp(5)), Some(false));
        assert_eq!(exact.before(Timestamp(6)), Some(true));
    }

    #[test]
    fn formats_rfc3339() {
        let check = |ms: i64, expected: &str| assert_eq!(Timestamp(ms).to_string(), expected);
        check(0, "1970-01-01T00:00:00.000Z");
        check(951_782_400_000, "2000-02-29T00:00:00.000Z");
        check(1_795_444_096_123, "2026-11-23T14:28:16.123Z");
        check(-1, "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(Timestamp(1000));
        let other = clock.clone();
        assert_eq!(clock.now(), Timestamp(1000));
        other.advance_millis(500);
        assert_eq!(clock.now(), Timestamp(1500));
        clock.set(Timestamp(42));
        assert_eq!(other.now(), Timestamp(42));
    }
}
