//! The whole verification of a presented secret: the cache first, then argon2 behind the gate,
//! then remembering the result, in the order that keeps revocation immediate.
//!
//! Unknown ids and wrong secrets give the same [`VerifyError::Invalid`], and an unknown id is
//! verified against a decoy hash so it costs one argon2 run like a wrong secret. Timing caveat:
//! this evens out the dominant cost only. The caller's own lookup of the id, a stored hash made
//! with other parameters than the decoy, and an overlap window (which costs a second argon2 run)
//! still differ slightly, and the rate limits keep an attacker from averaging many samples.

use std::fmt;
use std::hash::Hash;
use std::time::Duration;

use helpdesk_domain::Timestamp;

use crate::error::{GenerateError, HashError, VerifyError};
use crate::fast::VerifiedCache;
use crate::gate::{GateConfig, VerifyGate};
use crate::hash::SecretHasher;

/// What the key store holds for one id, borrowed for one verification.
#[derive(Clone, Copy, Debug)]
pub struct StoredSecret<'a> {
    /// Bumped by the store on every regenerate, disable or delete.
    pub generation: u64,
    /// The PHC string of the current secret.
    pub current: &'a str,
    /// The secret being replaced, during a regeneration's overlap window.
    pub previous: Option<PreviousSecret<'a>>,
}

/// A replaced secret that stays valid for a while after a regeneration.
#[derive(Clone, Copy, Debug)]
pub struct PreviousSecret<'a> {
    /// The PHC string of the old secret.
    pub phc: &'a str,
    /// The first instant at which the old secret is refused.
    pub valid_until: Timestamp,
}

/// Verifies presented secrets for one kind of id (`KeyId` or `TokenId`).
///
/// A secret that passed argon2 is remembered in a [`VerifiedCache`]; every later request with it
/// costs one map lookup, one keyed hash and one constant-time comparison. Everything else goes
/// through the [`VerifyGate`].
pub struct Verifier<I> {
    hasher: SecretHasher,
    cache: VerifiedCache<I>,
    gate: VerifyGate<I>,
}

impl<I: Copy + Eq + Hash> Verifier<I> {
    /// A verifier hashing with `hasher` and admitting argon2 runs within `limits`.
    pub fn new(hasher: SecretHasher, limits: GateConfig) -> Result<Self, GenerateError> {
        Ok(Self {
            hasher,
            cache: VerifiedCache::new()?,
            gate: VerifyGate::new(limits),
        })
    }

    /// Checks `secret` presented for `id`.
    ///
    /// `stored` is what the store holds for `id`, or `None` when there is no such id (or it is
    /// disabled). `now` is wall-clock time for the overlap window; `monotonic` is the gate's time.
    pub fn verify(
        &self,
        id: I,
        secret: &[u8],
        stored: Option<&StoredSecret<'_>>,
        now: Timestamp,
        monotonic: Duration,
    ) -> Result<(), VerifyError> {
        let Some(stored) = stored else {
            self.gate
                .run(id, monotonic, || self.hasher.verify_decoy(secret))?
                .map_err(VerifyError::Stored)?;
            return Err(VerifyError::Invalid);
        };
        if self.cache.check(id, stored.generation, secret, now) {
            return Ok(());
        }
        let matched = self
            .gate
            .run(id, monotonic, || self.slow_match(secret, stored, now))?
            .map_err(VerifyError::Stored)?;
        let Some(valid_until) = matched else {
            return Err(VerifyError::Invalid);
        };
        self.cache
            .remember(id, stored.generation, secret, valid_until);
        Ok(())
    }

    /// argon2 against the current secret, then the previous one if still valid.
    /// `Some(None)`: the current secret; `Some(Some(until))`: the previous one.
    fn slow_match(
        &self,
        secret: &[u8],
        stored: &StoredSecret<'_>,
        now: Timestamp,
    ) -> Result<Option<Option<Timestamp>>, HashError> {
        if self.hasher.verify(secret, stored.current)? {
            return Ok(Some(None));
        }
        match stored.previous {
            Some(previous) if now < previous.valid_until => Ok(self
                .hasher
                .verify(secret, previous.phc)?
                .then_some(Some(previous.valid_until))),
            _ => Ok(None),
        }
    }

    /// The cache, to [`forget`](VerifiedCache::forget) deleted ids.
    pub fn cache(&self) -> &VerifiedCache<I> {
        &self.cache
    }

    /// The gate, to read how many argon2 verifications ran.
    pub fn gate(&self) -> &VerifyGate<I> {
        &self.gate
    }

    /// The hasher, to hash new secrets with the same parameters.
    pub fn hasher(&self) -> &SecretHasher {
        &self.hasher
    }
}

impl<I> fmt::Debug for Verifier<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("hasher", &self.hasher)
            .field("cache", &self.cache)
            .field("gate", &self.gate)
            .finish()
    }
}

#[cfg(test)]
mod tests;
