//! The argon2 gate after a restart, through the facade: a flood from one address never keeps a
//! client at another address out, concurrent first requests with one secret share one
//! verification, and made-up ids from one address refuse nobody else.
//!
//! Each test reopens a file database, so no secret's tag is known and every first use runs
//! argon2. The tests with real cost use `SecretHashing::Owasp` and the system clock; the others
//! the manual clock and the cheap test parameters.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::time::{Duration, Instant};

use helpdesk::{AuthError, Helpdesk, KeyCode, KeyId, ManualClock, NewKey, Options, SecretHashing};
use helpdesk_tests::START;

/// A helpdesk reopened on a file written by an earlier open, with the codes of the keys that
/// open created.
struct Reopened {
    desk: Helpdesk,
    codes: Vec<KeyCode>,
    _dir: tempfile::TempDir,
}

/// Opens a new file database with `options`, creates `keys` agent keys, closes it and opens it
/// again.
fn reopened(options: impl Fn() -> Options, keys: usize) -> anyhow::Result<Reopened> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("desk.db");
    let codes = {
        let (desk, system) = Helpdesk::open(&path, options())?;
        let admin = system.bootstrap_admin("Ada Admin", "ada@example.com")?;
        (0..keys)
            .map(|i| {
                let key = NewKey::agent(format!("sync {i}"), admin.id, "tickets.read".parse()?);
                Ok(desk.create_key(&system.principal(), key)?.code)
            })
            .collect::<anyhow::Result<Vec<_>>>()?
    };
    let (desk, _system) = Helpdesk::open(&path, options())?;
    Ok(Reopened {
        desk,
        codes,
        _dir: dir,
    })
}

fn production() -> Options {
    Options::default().with_secret_hashing(SecretHashing::Owasp)
}

fn manual(clock: &ManualClock) -> impl Fn() -> Options {
    let clock = clock.clone();
    move || {
        Options::default()
            .with_clock(clock.clone())
            .with_secret_hashing(SecretHashing::InsecureForTests)
    }
}

/// The `key` header of `code`'s secret presented for key `id`.
fn secret_for(code: &KeyCode, id: KeyId) -> String {
    let text = code.expose();
    let secret = text.split_once(':').map_or("", |(_, secret)| secret);
    format!("key {id}:{secret}")
}

/// Address A, of the flood.
const A: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 7));
/// Address B, of the key's owner.
const B: IpAddr = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0xb, 0, 0, 0, 0, 1));
/// Address C, of a bystander.
const C: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 3));

/// Made-up key ids, none of which exists.
fn made_up_ids() -> impl Iterator<Item = KeyId> {
    (1_000_000..).map(KeyId::new)
}

#[test]
fn a_flood_from_one_address_keeps_a_client_at_another_out_for_one_verification_at_most()
-> anyhow::Result<()> {
    let r = Arc::new(reopened(production, 3)?);
    let (key, calibration, other) = (&r.codes[0], &r.codes[1], &r.codes[2]);

    // The first verification of the process builds the hasher; the next one is timed.
    let unknown = secret_for(other, KeyId::new(999_999));
    assert!(r.desk.authenticate(&unknown, None, Some(C)).is_err());
    let started = Instant::now();
    r.desk
        .authenticate(calibration.authorization(), None, Some(C))?;
    let one_verification = started.elapsed();

    // Several threads at address A send wrong secrets for the key and secrets for made-up ids
    // (which cost argon2 too), for as long as the test lasts.
    let stop = Arc::new(AtomicBool::new(false));
    let (locked_tx, locked_rx) = mpsc::channel();
    let next_id = Arc::new(AtomicU64::new(0));
    let flood: Vec<_> = (0..4)
        .map(|_| {
            let (r, stop, locked, next_id) =
                (r.clone(), stop.clone(), locked_tx.clone(), next_id.clone());
            std::thread::spawn(move || {
                let wrong = secret_for(&r.codes[2], r.codes[0].id());
                let mut refused = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    if let Err(AuthError::TooManyAttempts { .. }) =
                        r.desk.authenticate(&wrong, None, Some(A))
                    {
                        refused += 1;
                        let _ = locked.send(());
                    }
                    let id = 1_000_000 + next_id.fetch_add(1, Ordering::Relaxed) as i64;
                    let made_up = secret_for(&r.codes[2], KeyId::new(id));
                    let _ = r.desk.authenticate(&made_up, None, Some(A));
                }
                refused
            })
        })
        .collect();
    drop(locked_tx);
    let flooding = locked_rx.recv_timeout(Duration::from_secs(5));

    // The owner of the key, at address B, during the flood.
    let started = Instant::now();
    let owner = r.desk.authenticate(key.authorization(), None, Some(B));
    let waited = started.elapsed();
    stop.store(true, Ordering::Relaxed);
    let refused: u64 = flood.into_iter().map(|t| t.join().unwrap()).sum();

    assert!(flooding.is_ok(), "the flood was never refused");
    assert!(refused > 0);
    assert!(
        owner.is_ok(),
        "the right secret from B was refused during a flood from A: {:?}",
        owner.err()
    );
    // Its own verification, and at most one of those running when it came (two run at once),
    // both slowed down by the flood's on a busy machine: never the flood's length.
    assert!(
        waited < one_verification * 6 + Duration::from_millis(200),
        "waited {waited:?}, one verification takes {one_verification:?}"
    );
    Ok(())
}

#[test]
fn a_flood_from_one_address_uses_only_its_own_buckets() -> anyhow::Result<()> {
    let clock = ManualClock::new(START);
    let r = Arc::new(reopened(manual(&clock), 2)?);
    let wrong = secret_for(&r.codes[1], r.codes[0].id());
    // Four threads at A, fifty wrong secrets each: how many were refused as too many.
    let flood = |r: &Arc<Reopened>| -> usize {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (r, wrong) = (r.clone(), wrong.clone());
                std::thread::spawn(move || {
                    let answers = (0..50).map(|_| r.desk.authenticate(&wrong, None, Some(A)));
                    answers
                        .filter(|answer| match answer {
                            Err(AuthError::TooManyAttempts { .. }) => true,
                            Err(AuthError::InvalidCredentials) => false,
                            other => panic!("{other:?}"),
                        })
                        .count()
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).sum()
    };

    // A sustained flood: three seconds of the helpdesk's time.
    let before = r.desk.auth_stats().argon2_verifications;
    let mut refused = flood(&r);
    for _ in 0..3 {
        clock.advance_millis(1_000);
        refused += flood(&r);
    }
    assert_eq!(
        r.desk.auth_stats().argon2_verifications - before,
        6,
        "five at once, then one per two seconds"
    );
    // Every other answer was a verification's: one of the six, or one of the three other threads
    // waiting for it.
    assert!(refused >= 4 * 4 * 50 - 6 * 4, "{refused} refused");

    let key = &r.codes[0];
    assert!(
        r.desk
            .authenticate(key.authorization(), None, Some(B))
            .is_ok(),
        "the flood from A took nothing from B"
    );
    assert!(matches!(
        r.desk.authenticate(&wrong, None, Some(A)),
        Err(AuthError::TooManyAttempts { .. })
    ));
    assert!(
        r.desk
            .authenticate(key.authorization(), None, Some(A))
            .is_ok(),
        "the right secret's tag is known now, at every address"
    );
    Ok(())
}

#[test]
fn concurrent_first_requests_with_one_secret_share_one_verification() -> anyhow::Result<()> {
    let r = Arc::new(reopened(production, 2)?);
    let unknown = secret_for(&r.codes[1], KeyId::new(999_999));
    assert!(r.desk.authenticate(&unknown, None, None).is_err());
    let before = r.desk.auth_stats().argon2_verifications;

    let requests = 8;
    let barrier = Arc::new(Barrier::new(requests));
    let threads: Vec<_> = (0..requests)
        .map(|i| {
            let (r, barrier) = (r.clone(), barrier.clone());
            std::thread::spawn(move || {
                let source = [None, Some(A), Some(B)][i % 3];
                barrier.wait();
                r.desk
                    .authenticate(r.codes[0].authorization(), None, source)
                    .map(|_| ())
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    for result in &results {
        assert!(result.is_ok(), "{results:?}");
    }
    assert_eq!(
        r.desk.auth_stats().argon2_verifications - before,
        1,
        "the requests waited for the one verification in flight"
    );
    Ok(())
}

#[test]
fn made_up_ids_from_one_address_refuse_no_first_use_at_another() -> anyhow::Result<()> {
    let clock = ManualClock::new(START);
    let r = reopened(manual(&clock), 3)?;
    let b = IpAddr::V6(Ipv4Addr::new(203, 0, 113, 9).to_ipv6_mapped());
    let refused = made_up_ids()
        .take(100)
        .filter(|id| {
            matches!(
                r.desk
                    .authenticate(secret_for(&r.codes[2], *id), None, Some(A)),
                Err(AuthError::TooManyAttempts { .. })
            )
        })
        .count();
    assert!(
        refused >= 60,
        "the burst was limited at A: {refused} refused"
    );
    assert!(
        r.desk
            .authenticate(r.codes[0].authorization(), None, Some(b))
            .is_ok(),
        "a real key's first use from B"
    );

    // Requests without an address share one source: a burst of them does limit the others.
    let refused = made_up_ids()
        .skip(100)
        .take(100)
        .filter(|id| {
            matches!(
                r.desk
                    .authenticate(secret_for(&r.codes[2], *id), None, None),
                Err(AuthError::TooManyAttempts { .. })
            )
        })
        .count();
    assert!(refused >= 60, "{refused} refused");
    assert!(matches!(
        r.desk.authenticate(r.codes[1].authorization(), None, None),
        Err(AuthError::TooManyAttempts { .. })
    ));
    assert!(
        r.desk
            .authenticate(r.codes[1].authorization(), None, Some(A))
            .is_err(),
        "A's own burst still limits A"
    );
    assert!(
        r.desk
            .authenticate(r.codes[1].authorization(), None, Some(b))
            .is_ok()
    );
    Ok(())
}
