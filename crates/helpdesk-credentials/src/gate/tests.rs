//! Tests of the gate: buckets per source and per id and source, turns between sources, sharing
//! a verification, bounded waits, refusals, unwinding and memory.
//!
//! Tests with threads hold a verification open with a channel and look at the gate's state to
//! know who is waiting; the bucket tests pass the time in.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::{Arc, LazyLock, mpsc};
use std::thread::{self, JoinHandle};

use helpdesk_domain::KeyId;

use super::*;
use crate::tag::FastHasher;

type Gate = VerifyGate<KeyId, u32>;

const SECOND: Duration = Duration::from_secs(1);
const T0: Duration = Duration::from_secs(100);

static HASHER: LazyLock<FastHasher> = LazyLock::new(|| FastHasher::new().unwrap());

fn generous() -> RateLimit {
    RateLimit::new(1_000_000, Duration::from_nanos(1))
}

/// One verification at once, no rate limits, long waits.
fn config() -> GateConfig {
    GateConfig {
        concurrency: 1,
        per_id: generous(),
        per_source: generous(),
        waiting_per_source: 32,
        max_wait: Duration::from_secs(30),
    }
}

fn gate(config: GateConfig) -> Arc<Gate> {
    Arc::new(VerifyGate::new(config))
}

/// Sources A, B, C, ... by number.
fn source(n: u8) -> Source {
    Source::of(Some(IpAddr::V4(Ipv4Addr::new(198, 51, 100, n))))
}

const A: u8 = 1;
const B: u8 = 2;
const C: u8 = 3;

fn attempt(id: i64, from: u8, secret: &str) -> Attempt<KeyId> {
    Attempt {
        id: KeyId::new(id),
        source: source(from),
        secret: HASHER.tag(&KeyId::new(id), secret.as_bytes()),
        generation: 0,
    }
}

/// One attempt for `id` from `from` at `now`, run at once: `Ok(())` when admitted.
fn once(gate: &Gate, id: i64, from: u8, now: Duration) -> Result<(), Refused> {
    gate.run(attempt(id, from, "wrong"), now, || 0).map(|_| ())
}

/// Waits until `done` holds (other threads are getting there).
fn eventually(done: impl Fn() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never got there"
        );
        thread::yield_now();
    }
}

/// Waits until the gate's state satisfies `done`.
fn until(gate: &Gate, done: impl Fn(&State<KeyId, u32>) -> bool) {
    eventually(|| done(&gate.state.lock()));
}

/// The labels of the verifications run, in the order they started.
type Order = Arc<Mutex<Vec<&'static str>>>;

/// A request in a thread: its verification notes `label` in `order`, then waits for `hold`
/// (if any) to be sent something or dropped, and returns `result`.
fn request(
    gate: &Arc<Gate>,
    order: &Order,
    attempt: Attempt<KeyId>,
    label: &'static str,
    hold: Option<mpsc::Receiver<()>>,
    result: u32,
) -> JoinHandle<Result<Verification<u32>, Refused>> {
    let (gate, order) = (gate.clone(), order.clone());
    thread::spawn(move || {
        gate.run(attempt, T0, || {
            order.lock().push(label);
            if let Some(hold) = hold {
                let _ = hold.recv();
            }
            result
        })
    })
}

/// A request that holds its slot until the returned sender is used or dropped.
fn holder(
    gate: &Arc<Gate>,
    order: &Order,
    attempt: Attempt<KeyId>,
    label: &'static str,
) -> (
    mpsc::Sender<()>,
    JoinHandle<Result<Verification<u32>, Refused>>,
) {
    let (release, hold) = mpsc::channel();
    let running = gate.state.lock().running;
    let thread = request(gate, order, attempt, label, Some(hold), 0);
    until(gate, |state| state.running > running);
    (release, thread)
}

/// Queues one request per `(id, source, label)`, in this order.
fn queue(
    gate: &Arc<Gate>,
    order: &Order,
    requests: &[(i64, u8, &'static str)],
) -> Vec<JoinHandle<Result<Verification<u32>, Refused>>> {
    requests
        .iter()
        .map(|&(id, from, label)| {
            let queued = gate.state.lock().queue.len();
            let thread = request(gate, order, attempt(id, from, label), label, None, 0);
            until(gate, |state| state.queue.len() > queued);
            thread
        })
        .collect()
}

fn join_all(threads: Vec<JoinHandle<Result<Verification<u32>, Refused>>>) {
    for thread in threads {
        assert!(matches!(thread.join().unwrap(), Ok(Verification::Ran(_))));
    }
}

#[test]
fn per_id_buckets_are_per_source_too() {
    let gate = gate(GateConfig {
        per_id: RateLimit::new(3, SECOND),
        ..config()
    });
    for _ in 0..3 {
        assert_eq!(once(&gate, 1, A, T0), Ok(()));
    }
    assert_eq!(
        once(&gate, 1, A, T0),
        Err(Refused::RateLimited {
            retry_after: SECOND
        })
    );
    assert_eq!(
        once(&gate, 1, A, T0 + SECOND / 4),
        Err(Refused::RateLimited {
            retry_after: SECOND * 3 / 4
        })
    );
    for _ in 0..3 {
        assert_eq!(
            once(&gate, 1, B, T0),
            Ok(()),
            "another source, its own bucket"
        );
    }
    assert_eq!(once(&gate, 2, A, T0), Ok(()), "another id, its own bucket");
    assert_eq!(once(&gate, 1, A, T0 + SECOND), Ok(()));
    assert!(once(&gate, 1, A, T0 + SECOND).is_err());
    assert_eq!(once(&gate, 1, A, T0 + SECOND * 10), Ok(()));
    assert_eq!(gate.verifications(), 9);
}

#[test]
fn per_source_bucket_caps_all_ids_of_one_source() {
    let gate = gate(GateConfig {
        per_source: RateLimit::new(2, SECOND),
        ..config()
    });
    assert_eq!(once(&gate, 1, A, SECOND), Ok(()));
    assert_eq!(once(&gate, 2, A, SECOND), Ok(()));
    assert_eq!(
        once(&gate, 3, A, SECOND),
        Err(Refused::Overloaded {
            retry_after: SECOND
        })
    );
    assert_eq!(
        once(&gate, 3, B, SECOND),
        Ok(()),
        "other sources are not limited"
    );
    assert_eq!(once(&gate, 3, A, SECOND * 2), Ok(()));
}

#[test]
fn requests_without_an_address_share_one_source() {
    let gate = gate(GateConfig {
        per_source: RateLimit::new(2, SECOND),
        ..config()
    });
    let unknown = |id| Attempt {
        source: Source::UNKNOWN,
        ..attempt(id, A, "wrong")
    };
    assert!(gate.run(unknown(1), SECOND, || 0).is_ok());
    assert!(gate.run(unknown(2), SECOND, || 0).is_ok());
    assert!(matches!(
        gate.run(unknown(3), SECOND, || 0),
        Err(Refused::Overloaded { .. })
    ));
    let mapped = |id| Attempt {
        source: Source::of(Some(IpAddr::V6(
            Ipv4Addr::new(198, 51, 100, A).to_ipv6_mapped(),
        ))),
        ..attempt(id, A, "wrong")
    };
    assert!(gate.run(mapped(3), SECOND, || 0).is_ok());
    assert!(gate.run(mapped(4), SECOND, || 0).is_ok());
    assert_eq!(
        once(&gate, 5, A, SECOND),
        Err(Refused::Overloaded {
            retry_after: SECOND
        }),
        "an IPv4-mapped address is its IPv4 source"
    );
}

#[test]
fn refusals_take_nothing_from_the_buckets() {
    let gate = gate(GateConfig {
        per_id: RateLimit::new(1, SECOND),
        per_source: RateLimit::new(1, SECOND),
        ..config()
    });
    assert_eq!(once(&gate, 1, A, SECOND), Ok(()));
    for _ in 0..10 {
        assert!(once(&gate, 2, A, SECOND).is_err());
        assert!(once(&gate, 1, A, SECOND).is_err());
    }
    assert_eq!(once(&gate, 2, A, SECOND * 2), Ok(()));
}

#[test]
fn time_going_backwards_refills_nothing() {
    let gate = gate(GateConfig {
        per_id: RateLimit::new(1, SECOND),
        ..config()
    });
    assert_eq!(once(&gate, 1, A, SECOND * 10), Ok(()));
    assert!(matches!(
        once(&gate, 1, A, SECOND),
        Err(Refused::RateLimited { .. })
    ));
}

#[test]
fn a_request_from_another_source_goes_ahead_of_a_floods_queue() {
    let gate = gate(config());
    let order = Order::default();
    let (release, first) = holder(&gate, &order, attempt(1, A, "a0"), "a0");
    let mut threads = queue(&gate, &order, &[(2, A, "a1"), (3, A, "a2"), (4, A, "a3")]);
    threads.extend(queue(&gate, &order, &[(1, B, "b")]));
    drop(release);
    join_all(threads);
    join_all(vec![first]);
    assert_eq!(*order.lock(), ["a0", "b", "a1", "a2", "a3"]);
}

#[test]
fn busy_sources_take_turns() {
    let gate = gate(config());
    let order = Order::default();
    let (release, first) = holder(&gate, &order, attempt(1, A, "a0"), "a0");
    let threads = queue(
        &gate,
        &order,
        &[
            (2, A, "a1"),
            (3, A, "a2"),
            (4, A, "a3"),
            (5, C, "c1"),
            (6, C, "c2"),
            (7, C, "c3"),
        ],
    );
    drop(release);
    join_all(threads);
    join_all(vec![first]);
    assert_eq!(
        *order.lock(),
        ["a0", "c1", "a1", "c2", "a2", "c3", "a3"],
        "first come, first served within a source; round robin across sources"
    );
}

#[test]
fn a_new_source_waits_only_for_the_first_of_the_runs_in_flight() {
    let gate = gate(GateConfig {
        concurrency: 2,
        ..config()
    });
    let order = Order::default();
    let (release, first) = holder(&gate, &order, attempt(1, A, "a0"), "a0");
    let (keep, second) = holder(&gate, &order, attempt(2, A, "a1"), "a1");
    let mut threads = queue(&gate, &order, &[(3, A, "a2"), (4, A, "a3")]);
    threads.extend(queue(&gate, &order, &[(1, B, "b")]));
    drop(release);
    eventually(|| order.lock().len() >= 3);
    assert_eq!(order.lock()[..3], ["a0", "a1", "b"], "while a1 still runs");
    drop(keep);
    join_all(threads);
    join_all(vec![first, second]);
    assert_eq!(gate.verifications(), 5);
}

#[test]
fn attempts_with_the_same_secret_share_the_verification_in_flight() {
    let gate = gate(GateConfig {
        per_id: RateLimit::new(1, SECOND),
        ..config()
    });
    let order = Order::default();
    let (release, hold) = mpsc::channel();
    let leader = request(
        &gate,
        &order,
        attempt(1, A, "right"),
        "leader",
        Some(hold),
        7,
    );
    until(&gate, |state| state.running == 1);
    let followers: Vec<_> = [A, B, C]
        .into_iter()
        .map(|from| {
            request(
                &gate,
                &order,
                attempt(1, from, "right"),
                "follower",
                None,
                0,
            )
        })
        .collect();
    until(&gate, |state| state.flights[0].followers == 3);
    // Not the same attempt: another secret, or another generation of what is stored.
    let others = vec![
        request(&gate, &order, attempt(1, B, "other"), "other", None, 1),
        request(
            &gate,
            &order,
            Attempt {
                generation: 1,
                ..attempt(1, C, "right")
            },
            "regenerated",
            None,
            2,
        ),
    ];
    until(&gate, |state| state.queue.len() == 2);
    drop(release);
    assert_eq!(leader.join().unwrap(), Ok(Verification::Ran(7)));
    for follower in followers {
        assert_eq!(follower.join().unwrap(), Ok(Verification::Shared(7)));
    }
    let others: Vec<_> = others.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(others, [Ok(Verification::Ran(1)), Ok(Verification::Ran(2))]);
    assert_eq!(gate.verifications(), 3);
    assert_eq!(order.lock().len(), 3);
    assert!(gate.state.lock().flights.is_empty());

    // The leader took A's one attempt for the id. The followers took nothing: the other
    // attempts from B and C were admitted after them with buckets of one.
    assert!(matches!(
        once(&gate, 1, A, T0),
        Err(Refused::RateLimited { .. })
    ));
}

#[test]
fn waits_are_bounded() {
    let wait = Duration::from_millis(50);
    let gate = gate(GateConfig {
        max_wait: wait,
        ..config()
    });
    let order = Order::default();
    let (release, first) = holder(&gate, &order, attempt(1, A, "a0"), "a0");
    for (label, attempt) in [
        ("for a turn", attempt(2, B, "b")),
        ("for a verification in flight", attempt(1, B, "a0")),
    ] {
        let started = Instant::now();
        let answer = gate.run(attempt, T0, || 9);
        let waited = started.elapsed();
        assert_eq!(answer, Err(Refused::TimedOut), "{label}");
        assert!(
            waited >= wait && waited < Duration::from_secs(5),
            "{label}: {waited:?}"
        );
    }
    {
        let state = gate.state.lock();
        assert!(state.queue.is_empty());
        assert_eq!(state.flights.len(), 1);
        assert_eq!(state.flights[0].followers, 0);
        assert!(state.sources[&source(B)].idle());
    }
    drop(release);
    join_all(vec![first]);
    assert_eq!(once(&gate, 2, B, T0), Ok(()), "at once, the slot is free");
    assert_eq!(gate.verifications(), 2);
}

#[test]
fn followers_of_a_request_whose_wait_ran_out_are_refused_with_it() {
    let gate = gate(GateConfig {
        max_wait: Duration::from_millis(200),
        ..config()
    });
    let order = Order::default();
    let (release, first) = holder(&gate, &order, attempt(1, A, "a0"), "a0");
    let queued = request(&gate, &order, attempt(2, B, "b"), "b", None, 0);
    until(&gate, |state| state.queue.len() == 1);
    let follower = request(&gate, &order, attempt(2, C, "b"), "c", None, 0);
    until(&gate, |state| {
        state.flights.iter().any(|f| f.followers == 1)
    });
    assert_eq!(queued.join().unwrap(), Err(Refused::TimedOut));
    assert_eq!(follower.join().unwrap(), Err(Refused::TimedOut));
    drop(release);
    join_all(vec![first]);
    assert_eq!(*order.lock(), ["a0"]);
    assert!(gate.state.lock().flights.is_empty());
}

#[test]
fn a_source_with_its_most_requests_waiting_is_refused_at_once() {
    let gate = gate(GateConfig {
        waiting_per_source: 2,
        per_source: RateLimit::new(100, Duration::from_millis(20)),
        ..config()
    });
    let order = Order::default();
    let (release, first) = holder(&gate, &order, attempt(1, A, "a0"), "a0");
    let mut threads = queue(&gate, &order, &[(2, A, "a1"), (3, A, "a2")]);
    let full = Err(Refused::Overloaded {
        retry_after: Duration::from_millis(20),
    });
    assert_eq!(gate.run(attempt(4, A, "a3"), T0, || 0), full);
    assert_eq!(
        gate.run(attempt(1, A, "a0"), T0, || 0),
        full,
        "waiting for a verification in flight counts too"
    );
    threads.extend(queue(&gate, &order, &[(4, B, "b")]));
    drop(release);
    join_all(threads);
    join_all(vec![first]);
    assert_eq!(*order.lock(), ["a0", "b", "a1", "a2"]);
}

#[test]
fn an_unwinding_verification_frees_its_slot() {
    let gate = gate(config());
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        gate.run(attempt(1, A, "a"), T0, || panic!("argon2 blew up"))
    }));
    assert!(unwound.is_err());
    assert_eq!(once(&gate, 1, A, T0), Ok(()));
    let state = gate.state.lock();
    assert_eq!(state.running, 0);
    assert!(state.flights.is_empty());
}

#[test]
fn memory_stays_bounded_under_many_ids_and_sources() {
    let gate = gate(GateConfig {
        per_id: RateLimit::new(1, SECOND),
        per_source: RateLimit::new(1, SECOND),
        ..config()
    });
    let from = |i: u64| Attempt {
        source: Source::of(Some(IpAddr::V6(Ipv6Addr::from(u128::from(i) << 64)))),
        ..attempt(i as i64, A, "wrong")
    };
    // Buckets refill: those full again are dropped.
    for i in 0..100_000 {
        let now = Duration::from_millis(i);
        assert!(gate.run(from(i), now, || 0).is_ok());
    }
    let tracked = |gate: &Gate| {
        let state = gate.state.lock();
        state.buckets.len() + state.sources.len()
    };
    assert!(
        tracked(&gate) <= 4 * PRUNE_FLOOR + 4_000,
        "{} kept",
        tracked(&gate)
    );

    // None refills: past the limit, buckets start over.
    for i in 100_000..400_000 {
        assert!(gate.run(from(i), T0, || 0).is_ok());
    }
    assert!(
        tracked(&gate) <= 4 * TRACKED_LIMIT,
        "{} kept",
        tracked(&gate)
    );
    assert_eq!(gate.verifications(), 400_000);
}

#[test]
fn zero_burst_means_one() {
    assert_eq!(RateLimit::new(0, SECOND).burst(), 1);
    let gate = gate(GateConfig {
        per_id: RateLimit::new(0, SECOND),
        ..config()
    });
    assert_eq!(once(&gate, 1, A, SECOND), Ok(()));
    assert!(once(&gate, 1, A, SECOND).is_err());
}
