//! Tests of the full verification: cache hits, generations, overlap windows, unknown ids, floods.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use helpdesk_domain::KeyId;

use super::*;
use crate::error::Refused;
use crate::gate::RateLimit;
use crate::hash::HashParams;
use crate::secret::KeySecret;

const NOW: Timestamp = Timestamp::from_millis(1_700_000_000_000);
const MONO: Duration = Duration::from_secs(1);
const ID: KeyId = KeyId::new(7);

fn limits(burst: u32) -> GateConfig {
    GateConfig {
        per_id: RateLimit::new(burst, Duration::from_secs(2)),
        overall: RateLimit::new(1_000_000, Duration::from_nanos(1)),
    }
}

fn verifier() -> Verifier<KeyId> {
    Verifier::new(
        SecretHasher::new(HashParams::INSECURE_FOR_TESTS).unwrap(),
        limits(100),
    )
    .unwrap()
}

fn secret() -> String {
    KeySecret::generate().unwrap().expose().to_owned()
}

#[test]
fn right_secret_passes_then_costs_no_argon2() {
    let verifier = verifier();
    let secret = secret();
    let phc = verifier.hasher().hash(secret.as_bytes()).unwrap();
    let stored = StoredSecret {
        generation: 1,
        current: &phc,
        previous: None,
    };
    assert_eq!(
        verifier.verify(ID, secret.as_bytes(), Some(&stored), NOW, MONO),
        Ok(())
    );
    assert_eq!(verifier.gate().verifications(), 1);
    for _ in 0..10 {
        assert_eq!(
            verifier.verify(ID, secret.as_bytes(), Some(&stored), NOW, MONO),
            Ok(())
        );
    }
    assert_eq!(
        verifier.gate().verifications(),
        1,
        "later requests hit the cache"
    );
}

#[test]
fn wrong_secret_and_unknown_id_look_the_same() {
    let verifier = verifier();
    let phc = verifier.hasher().hash(secret().as_bytes()).unwrap();
    let stored = StoredSecret {
        generation: 1,
        current: &phc,
        previous: None,
    };
    let wrong = verifier.verify(ID, secret().as_bytes(), Some(&stored), NOW, MONO);
    let unknown = verifier.verify(KeyId::new(8), secret().as_bytes(), None, NOW, MONO);
    assert_eq!(wrong, Err(VerifyError::Invalid));
    assert_eq!(unknown, wrong);
    assert_eq!(
        verifier.gate().verifications(),
        2,
        "an unknown id costs an argon2 run too"
    );
}

#[test]
fn unknown_ids_are_rate_limited_like_known_ones() {
    let verifier = Verifier::new(
        SecretHasher::new(HashParams::INSECURE_FOR_TESTS).unwrap(),
        limits(2),
    )
    .unwrap();
    let phc = verifier.hasher().hash(b"x").unwrap();
    let stored = StoredSecret {
        generation: 1,
        current: &phc,
        previous: None,
    };
    let outcomes = |stored: Option<&StoredSecret<'_>>, id: i64| {
        (0..3)
            .map(|_| verifier.verify(KeyId::new(id), b"wrong", stored, NOW, MONO))
            .collect::<Vec<_>>()
    };
    let known = outcomes(Some(&stored), 1);
    let unknown = outcomes(None, 2);
    assert_eq!(known, unknown);
    let limited = Err(VerifyError::Refused(Refused::RateLimited {
        retry_after: Duration::from_secs(2),
    }));
    assert_eq!(
        known,
        [
            Err(VerifyError::Invalid),
            Err(VerifyError::Invalid),
            limited
        ]
    );
}

#[test]
fn a_new_generation_needs_argon2_again() {
    let verifier = verifier();
    let old = secret();
    let new = secret();
    let old_phc = verifier.hasher().hash(old.as_bytes()).unwrap();
    let new_phc = verifier.hasher().hash(new.as_bytes()).unwrap();
    let before = StoredSecret {
        generation: 1,
        current: &old_phc,
        previous: None,
    };
    assert_eq!(
        verifier.verify(ID, old.as_bytes(), Some(&before), NOW, MONO),
        Ok(())
    );
    let after = StoredSecret {
        generation: 2,
        current: &new_phc,
        previous: None,
    };
    assert_eq!(
        verifier.verify(ID, old.as_bytes(), Some(&after), NOW, MONO),
        Err(VerifyError::Invalid)
    );
    assert_eq!(
        verifier.verify(ID, new.as_bytes(), Some(&after), NOW, MONO),
        Ok(())
    );
    let disabled = StoredSecret {
        generation: 3,
        current: &new_phc,
        previous: None,
    };
    assert!(
        !verifier
            .cache()
            .check(ID, disabled.generation, new.as_bytes(), NOW)
    );
    assert_eq!(
        verifier.verify(ID, new.as_bytes(), None, NOW, MONO),
        Err(VerifyError::Invalid)
    );
}

#[test]
fn old_secret_works_until_the_overlap_ends() {
    let verifier = verifier();
    let old = secret();
    let new = secret();
    let old_phc = verifier.hasher().hash(old.as_bytes()).unwrap();
    let new_phc = verifier.hasher().hash(new.as_bytes()).unwrap();
    let until = NOW.add_millis(60_000);
    let stored = StoredSecret {
        generation: 2,
        current: &new_phc,
        previous: Some(PreviousSecret {
            phc: &old_phc,
            valid_until: until,
        }),
    };
    let verify =
        |secret: &str, now| verifier.verify(ID, secret.as_bytes(), Some(&stored), now, MONO);
    assert_eq!(verify(&old, NOW), Ok(()));
    assert_eq!(verify(&new, NOW), Ok(()));
    let runs = verifier.gate().verifications();
    assert_eq!(verify(&old, until.add_millis(-1)), Ok(()));
    assert_eq!(verify(&new, until.add_millis(-1)), Ok(()));
    assert_eq!(verifier.gate().verifications(), runs, "both are cached");
    assert_eq!(verify(&old, until), Err(VerifyError::Invalid));
    assert_eq!(verify(&new, until), Ok(()));
}

#[test]
fn a_damaged_stored_hash_is_an_error_not_a_wrong_secret() {
    let verifier = verifier();
    let stored = StoredSecret {
        generation: 1,
        current: "$argon2id$garbage",
        previous: None,
    };
    assert_eq!(
        verifier.verify(ID, b"hdk_x", Some(&stored), NOW, MONO),
        Err(VerifyError::Stored(HashError::MalformedHash))
    );
}

/// 1,000 wrong secrets for one id from 4 threads: argon2 runs at most `burst` times, plus one per
/// refill interval that passes.
fn flood(
    stored: Option<&StoredSecret<'_>>,
    advance_time: bool,
) -> (Verifier<KeyId>, Vec<Result<(), VerifyError>>) {
    const BURST: u32 = 5;
    let verifier = Verifier::new(
        SecretHasher::new(HashParams::INSECURE_FOR_TESTS).unwrap(),
        limits(BURST),
    )
    .unwrap();
    let clock_ms = AtomicU64::new(0);
    let outcomes = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                scope.spawn(|| {
                    (0..250)
                        .map(|_| {
                            let ms = if advance_time {
                                clock_ms.fetch_add(1, Ordering::Relaxed)
                            } else {
                                0
                            };
                            let wrong = secret();
                            verifier.verify(
                                ID,
                                wrong.as_bytes(),
                                stored,
                                NOW,
                                Duration::from_millis(ms),
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|worker| worker.join().unwrap())
            .collect::<Vec<_>>()
    });
    let runs = verifier.gate().verifications();
    // 1,000 ms of simulated time at one refill per 2 s adds at most one run.
    let bound = u64::from(BURST) + u64::from(advance_time);
    assert!(
        (1..=bound).contains(&runs),
        "{runs} argon2 runs for 1,000 wrong secrets"
    );
    (verifier, outcomes)
}

#[test]
fn a_flood_of_wrong_secrets_runs_argon2_a_bounded_number_of_times() {
    let hasher = SecretHasher::new(HashParams::INSECURE_FOR_TESTS).unwrap();
    let right = secret();
    let phc = hasher.hash(right.as_bytes()).unwrap();
    let stored = StoredSecret {
        generation: 1,
        current: &phc,
        previous: None,
    };
    for advance_time in [false, true] {
        let (_, outcomes) = flood(Some(&stored), advance_time);
        assert_eq!(outcomes.len(), 1_000);
        assert!(outcomes.iter().all(|outcome| matches!(
            outcome,
            Err(VerifyError::Invalid
                | VerifyError::Refused(Refused::Busy | Refused::RateLimited { .. }))
        )));
        assert!(
            outcomes
                .iter()
                .any(|outcome| matches!(outcome, Err(VerifyError::Refused(_))))
        );
        let (_, unknown) = flood(None, advance_time);
        assert!(unknown.iter().all(|outcome| outcome.is_err()));
    }
}

#[test]
fn a_flood_does_not_lock_out_a_cached_client() {
    let verifier = Verifier::new(
        SecretHasher::new(HashParams::INSECURE_FOR_TESTS).unwrap(),
        limits(1),
    )
    .unwrap();
    let right = secret();
    let phc = verifier.hasher().hash(right.as_bytes()).unwrap();
    let stored = StoredSecret {
        generation: 1,
        current: &phc,
        previous: None,
    };
    assert_eq!(
        verifier.verify(ID, right.as_bytes(), Some(&stored), NOW, MONO),
        Ok(())
    );
    for _ in 0..100 {
        assert!(
            verifier
                .verify(ID, secret().as_bytes(), Some(&stored), NOW, MONO)
                .is_err()
        );
    }
    assert_eq!(
        verifier.verify(ID, right.as_bytes(), Some(&stored), NOW, MONO),
        Ok(())
    );
}

#[test]
fn errors_never_show_the_secret() {
    let verifier = verifier();
    let secret = secret();
    let phc = verifier.hasher().hash(b"other").unwrap();
    let stored = StoredSecret {
        generation: 1,
        current: &phc,
        previous: None,
    };
    let damaged = StoredSecret {
        generation: 1,
        current: &secret,
        previous: None,
    };
    for error in [
        verifier
            .verify(ID, secret.as_bytes(), Some(&stored), NOW, MONO)
            .unwrap_err(),
        verifier
            .verify(ID, secret.as_bytes(), Some(&damaged), NOW, MONO)
            .unwrap_err(),
        VerifyError::Refused(Refused::Busy),
        VerifyError::Refused(Refused::Overloaded { retry_after: MONO }),
    ] {
        for shown in [error.to_string(), format!("{error:?}")] {
            assert!(!shown.contains(&secret[4..]), "{shown}");
            assert!(!shown.contains("hdk_"), "{shown}");
        }
    }
    assert_eq!(
        VerifyError::Refused(Refused::RateLimited {
            retry_after: Duration::from_millis(1500)
        })
        .to_string(),
        "too many attempts for this credential, retry in 1500 ms"
    );
}
