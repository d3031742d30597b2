//! The authentication hot path through the facade: an `Authorization` header to a permission
//! decision for a warmed agent key, a superuser key acting as an agent and an access token, and a
//! wrong secret for a warmed key id, against one argon2id verification at the production
//! parameters in the same group (what every request would cost without the in-memory tags).
//! Then throughput with one and two threads, each on its own key and both on one key.
#![expect(
    clippy::expect_used,
    reason = "benchmark set-up has no caller to report to; failing loudly is right"
)]

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group};
use helpdesk::{
    AccessLevel, ActAs, Action, Helpdesk, NewAgent, NewKey, NewRequester, NewTicket, NewToken,
    Options, Scopes, SystemHandle, TicketAttributes,
};
use helpdesk_benches::test_mode;
use helpdesk_credentials::{HashParams, KeySecret, SecretHasher};

/// A helpdesk at production settings (OWASP argon2id, the system clock) with warmed keys.
struct Setup {
    desk: Helpdesk,
    _system: SystemHandle,
    ann: helpdesk::AgentId,
    /// `key <id>:<secret>` headers of agent keys of Ann, one per throughput thread.
    agent_keys: Vec<String>,
    superuser_key: String,
    token: String,
    /// Ann's first key id with the secret of her second key.
    wrong_secret: String,
    ticket: TicketAttributes,
}

fn setup() -> Setup {
    let (desk, system) = Helpdesk::open_in_memory(Options::default()).expect("open");
    let root = system.principal();
    system
        .bootstrap_admin("Admin", "admin@bench.test")
        .expect("admin");
    let billing = desk
        .create_department(&root, "Billing")
        .expect("department");
    let ann = desk
        .create_agent(
            &root,
            NewAgent {
                name: "Ann".into(),
                email: "ann@bench.test".into(),
                admin: false,
            },
        )
        .expect("agent");
    desk.add_member(&root, billing.id, ann.id, AccessLevel::Change)
        .expect("member");
    let bob = desk
        .create_requester(
            &root,
            NewRequester {
                name: "Bob".into(),
                email: "bob@bench.test".into(),
                organization: None,
            },
        )
        .expect("requester");
    let ticket = desk
        .create_ticket(&root, NewTicket::new("Charged twice", billing.id, bob.id))
        .expect("ticket");
    let scopes: Scopes = "tickets.read tickets.update tickets.reply"
        .parse()
        .expect("scopes");
    let agent_keys: Vec<_> = (0..2)
        .map(|i| {
            desk.create_key(&root, NewKey::agent(format!("Sync {i}"), ann.id, scopes))
                .expect("agent key")
                .code
        })
        .collect();
    let superuser = desk
        .create_key(&root, NewKey::superuser("Integration", None, scopes))
        .expect("superuser key")
        .code;
    let key = desk
        .authenticate(agent_keys[0].authorization(), None, None)
        .expect("agent key works");
    let token = desk
        .mint_token(&key, NewToken::for_agent(ann.id))
        .expect("token")
        .token
        .authorization();
    let second = agent_keys[1].expose();
    let (_, second_secret) = second.split_once(':').expect("key code");
    let setup = Setup {
        wrong_secret: format!("key {}:{second_secret}", agent_keys[0].id()),
        agent_keys: agent_keys.iter().map(|code| code.authorization()).collect(),
        superuser_key: superuser.authorization(),
        token,
        ticket: TicketAttributes::from(&ticket),
        ann: ann.id,
        desk,
        _system: system,
    };
    // Warm every credential once (their tags are known from creation anyway).
    for header in setup.agent_keys.iter().chain([&setup.token]) {
        setup.desk.authenticate(header, None, None).expect("warm");
    }
    setup
        .desk
        .authenticate(&setup.superuser_key, Some(ActAs::Agent(ann.id)), None)
        .expect("warm");
    setup
}

/// One request: authenticate the header, then decide `tickets.update` on the ticket.
fn request(setup: &Setup, header: &str, act_as: Option<ActAs>) {
    let principal = setup
        .desk
        .authenticate(black_box(header), act_as, None)
        .expect("authenticated");
    setup
        .desk
        .decide(&principal, Action::TicketUpdate, black_box(&setup.ticket))
        .expect("allowed");
}

fn hot_path(c: &mut Criterion) {
    let setup = setup();
    let mut group = c.benchmark_group("auth_hot_path");
    group.bench_function("key_header_to_decision", |b| {
        b.iter(|| request(&setup, &setup.agent_keys[0], None));
    });
    group.bench_function("superuser_act_as_to_decision", |b| {
        let ann = Some(ActAs::Agent(setup.ann));
        b.iter(|| request(&setup, &setup.superuser_key, ann));
    });
    group.bench_function("access_token_to_decision", |b| {
        b.iter(|| request(&setup, &setup.token, None));
    });
    // After the per-id burst of argon2 runs, wrong secrets are refused by the rate limit without
    // argon2 (one more run every 2 s): this is what a flood costs.
    group.bench_function("wrong_secret_rejected", |b| {
        b.iter(|| {
            let refused = setup
                .desk
                .authenticate(black_box(&setup.wrong_secret), None, None);
            black_box(refused.expect_err("a wrong secret is refused"));
        });
    });
    // The baseline: one argon2id verification at the production parameters.
    let hasher = SecretHasher::new(HashParams::OWASP).expect("hasher");
    let secret = KeySecret::generate().expect("secret");
    let phc = hasher.hash(secret.expose().as_bytes()).expect("hash");
    group.sample_size(10);
    group.bench_function("argon2_verify_baseline", |b| {
        b.iter(|| {
            let matched = hasher
                .verify(black_box(secret.expose().as_bytes()), &phc)
                .expect("verify");
            assert!(matched);
        });
    });
    group.finish();
}

/// The time this thread has spent on a CPU, from Linux's `schedstat` (nanoseconds); `None`
/// where that is not available.
fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

/// One throughput round: requests per second of wall time, and CPU time per request (summed
/// over the threads) when the platform reports it.
struct Round {
    per_second: f64,
    cpu_per_request: Option<Duration>,
}

/// A round with one thread per header in `headers`, for `duration`.
fn round(setup: &Setup, headers: &[&str], duration: Duration) -> Round {
    let stop = AtomicBool::new(false);
    let start = Instant::now();
    let results: Vec<(u64, Option<Duration>)> = std::thread::scope(|scope| {
        let workers: Vec<_> = headers
            .iter()
            .map(|header| {
                let stop = &stop;
                scope.spawn(move || {
                    let cpu_start = thread_cpu_time();
                    let mut done = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..256 {
                            request(setup, header, None);
                        }
                        done += 256;
                    }
                    let cpu = thread_cpu_time()
                        .zip(cpu_start)
                        .map(|(end, start)| end.saturating_sub(start));
                    (done, cpu)
                })
            })
            .collect();
        std::thread::sleep(duration);
        stop.store(true, Ordering::Relaxed);
        workers
            .into_iter()
            .map(|worker| worker.join().expect("worker"))
            .collect()
    });
    let elapsed = start.elapsed().as_secs_f64();
    let requests: u64 = results.iter().map(|(done, _)| done).sum();
    let cpu: Option<Duration> = results.iter().map(|(_, cpu)| *cpu).sum();
    Round {
        per_second: requests as f64 / elapsed,
        cpu_per_request: cpu.map(|cpu| cpu / u32::try_from(requests.max(1)).unwrap_or(u32::MAX)),
    }
}

/// Throughput of `key_header_to_decision` with 1 and 2 threads; the best of three rounds each,
/// printed as requests per second with the ratio to one thread.
///
/// On a shared machine the second thread may not get a core of its own, which caps the
/// wall-clock ratio; the CPU time per request (Linux only) does not depend on that, so the
/// ratio one thread would reach on two free cores is also printed: 2 × (CPU per request with
/// one thread) / (CPU per request with two).
fn throughput() {
    let setup = setup();
    let duration = if test_mode() {
        Duration::from_millis(20)
    } else {
        Duration::from_secs(2)
    };
    let (a, b) = (setup.agent_keys[0].as_str(), setup.agent_keys[1].as_str());
    let best = |headers: &[&str]| {
        (0..3)
            .map(|_| round(&setup, headers, duration))
            .max_by(|x, y| x.per_second.total_cmp(&y.per_second))
            .expect("three rounds")
    };
    let one = best(&[a]);
    println!(
        "auth_hot_path/throughput (key_header_to_decision, best of 3 rounds of {duration:?}):"
    );
    let show = |name: &str, round: &Round| {
        let cpu = match (round.cpu_per_request, one.cpu_per_request) {
            (Some(cpu), Some(single)) if !cpu.is_zero() => format!(
                ", {} ns CPU per request (x{:.2} on two free cores)",
                cpu.as_nanos(),
                2.0 * single.as_secs_f64() / cpu.as_secs_f64()
            ),
            _ => String::new(),
        };
        println!(
            "  {name:<20} {:>10.0} requests/s ({:.2}x one thread){cpu}",
            round.per_second,
            round.per_second / one.per_second,
        );
    };
    let single_cpu = one
        .cpu_per_request
        .map(|cpu| format!(", {} ns CPU per request", cpu.as_nanos()))
        .unwrap_or_default();
    println!(
        "  {:<20} {:>10.0} requests/s{single_cpu}",
        "1 thread:", one.per_second
    );
    show("2 threads, 2 keys:", &best(&[a, b]));
    show("2 threads, one key:", &best(&[a, a]));
}

criterion_group!(benches, hot_path);

fn main() {
    benches();
    throughput();
    Criterion::default().configure_from_args().final_summary();
}
