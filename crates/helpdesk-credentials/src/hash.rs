//! Secrets at rest: argon2id hashes as PHC strings (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).

use std::fmt;

use argon2::password_hash::Error as PhcError;
use argon2::{
    ARGON2ID_IDENT, Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier,
    Version,
};

use crate::error::HashError;

/// The length of a salt, in bytes.
const SALT_LEN: usize = 16;

/// argon2id cost parameters.
///
/// Production uses [`HashParams::OWASP`] (the default) or stronger. The cheap
/// [`HashParams::INSECURE_FOR_TESTS`] exists so test suites stay fast; hashes made with it can be
/// brute-forced, so it must never reach a real key store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HashParams {
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
}

impl HashParams {
    /// The OWASP minimum for argon2id: 19 MiB of memory, 2 iterations, 1 lane.
    pub const OWASP: Self = Self {
        m_cost_kib: 19 * 1024,
        t_cost: 2,
        p_cost: 1,
    };

    /// The cheapest parameters argon2 accepts (8 KiB, 1 iteration, 1 lane). **Tests only**: never
    /// use them for a real key store.
    pub const INSECURE_FOR_TESTS: Self = Self {
        m_cost_kib: 8,
        t_cost: 1,
        p_cost: 1,
    };

    /// Custom parameters: memory in KiB, iterations, lanes. Fails when argon2 would refuse them.
    /// Anything below [`HashParams::OWASP`] is for tests only.
    pub fn new(m_cost_kib: u32, t_cost: u32, p_cost: u32) -> Result<Self, HashError> {
        Params::new(m_cost_kib, t_cost, p_cost, None)
            .map(|_| Self {
                m_cost_kib,
                t_cost,
                p_cost,
            })
            .map_err(|_| HashError::InvalidParams {
                m_cost_kib,
                t_cost,
                p_cost,
            })
    }

    /// Memory, in KiB.
    pub const fn m_cost_kib(self) -> u32 {
        self.m_cost_kib
    }

    /// Iterations.
    pub const fn t_cost(self) -> u32 {
        self.t_cost
    }

    /// Lanes (parallelism).
    pub const fn p_cost(self) -> u32 {
        self.p_cost
    }

    fn to_argon2(self) -> Result<Argon2<'static>, HashError> {
        let Self {
            m_cost_kib,
            t_cost,
            p_cost,
        } = self;
        let params = Params::new(m_cost_kib, t_cost, p_cost, None).map_err(|_| {
            HashError::InvalidParams {
                m_cost_kib,
                t_cost,
                p_cost,
            }
        })?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

impl Default for HashParams {
    fn default() -> Self {
        Self::OWASP
    }
}

/// Hashes secrets with argon2id and verifies them against stored PHC strings.
///
/// Verification uses the parameters recorded in the stored string, so hashes made with older
/// parameters keep working; [`needs_rehash`](Self::needs_rehash) tells when to replace one.
#[derive(Clone)]
pub struct SecretHasher {
    params: HashParams,
    argon2: Argon2<'static>,
    /// A hash of a random secret nobody knows, verified against for unknown ids.
    decoy: String,
}

impl SecretHasher {
    /// A hasher with `params`; costs one hash up front (the decoy for unknown ids).
    pub fn new(params: HashParams) -> Result<Self, HashError> {
        let argon2 = params.to_argon2()?;
        let mut hasher = Self {
            params,
            argon2,
            decoy: String::new(),
        };
        let mut unknowable = [0u8; 32];
        getrandom::fill(&mut unknowable).map_err(|_| HashError::Random)?;
        hasher.decoy = hasher.hash(&unknowable)?;
        Ok(hasher)
    }

    /// The parameters new hashes are made with.
    pub fn params(&self) -> HashParams {
        self.params
    }

    /// Hashes `secret` with a fresh random salt into a PHC string.
    pub fn hash(&self, secret: &[u8]) -> Result<String, HashError> {
        let mut salt = [0u8; SALT_LEN];
        getrandom::fill(&mut salt).map_err(|_| HashError::Random)?;
        let hash = self
            .argon2
            .hash_password_with_salt(secret, &salt)
            .map_err(|_| HashError::Argon2)?;
        Ok(hash.to_string())
    }

    /// Whether `secret` matches the stored PHC string `phc`.
    ///
    /// `Ok(false)` for a wrong secret; an error only when `phc` is not a valid argon2id hash or
    /// argon2 fails.
    pub fn verify(&self, secret: &[u8], phc: &str) -> Result<bool, HashError> {
        let parsed = parse_argon2id(phc)?;
        match self.argon2.verify_password(secret, &parsed) {
            Ok(()) => Ok(true),
            Err(PhcError::PasswordInvalid) => Ok(false),
            Err(PhcError::OutOfMemory | PhcError::Internal | PhcError::Crypto) => {
                Err(HashError::Argon2)
            }
            Err(_) => Err(HashError::MalformedHash),
        }
    }

    /// Spends the work of one [`verify`](Self::verify) against a hash made with the current
    /// parameters, and matches nothing: used for unknown ids so they cost what a wrong secret costs.
    pub fn verify_decoy(&self, secret: &[u8]) -> Result<(), HashError> {
        self.verify(secret, &self.decoy).map(drop)
    }

    /// Whether `phc` was made with parameters other than the current ones, so that it should be
    /// replaced by a fresh [`hash`](Self::hash) after the next successful verification.
    pub fn needs_rehash(&self, phc: &str) -> Result<bool, HashError> {
        let parsed = parse_argon2id(phc)?;
        let stored = Params::try_from(&parsed).map_err(|_| HashError::MalformedHash)?;
        let current = self.params;
        Ok((stored.m_cost(), stored.t_cost(), stored.p_cost())
            != (current.m_cost_kib, current.t_cost, current.p_cost)
            || parsed.version != Some(Version::V0x13.into()))
    }
}

fn parse_argon2id(phc: &str) -> Result<PasswordHash, HashError> {
    let parsed = PasswordHash::new(phc).map_err(|_| HashError::MalformedHash)?;
    if parsed.algorithm != ARGON2ID_IDENT {
        return Err(HashError::MalformedHash);
    }
    Ok(parsed)
}

impl fmt::Debug for SecretHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretHasher")
            .field("params", &self.params)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher() -> SecretHasher {
        SecretHasher::new(HashParams::INSECURE_FOR_TESTS).unwrap()
    }

    #[test]
    fn hashes_and_verifies() {
        let hasher = hasher();
        let phc = hasher.hash(b"hdk_right").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{phc}");
        assert!(hasher.verify(b"hdk_right", &phc).unwrap());
        assert!(!hasher.verify(b"hdk_wrong", &phc).unwrap());
        assert!(!hasher.verify(b"", &phc).unwrap());
        assert_ne!(hasher.hash(b"hdk_right").unwrap(), phc, "salts must differ");
    }

    #[test]
    fn default_is_owasp() {
        let params = HashParams::default();
        assert_eq!(
            (params.m_cost_kib(), params.t_cost(), params.p_cost()),
            (19_456, 2, 1)
        );
    }

    #[test]
    fn owasp_hash_has_owasp_parameters() {
        let hasher = SecretHasher::new(HashParams::OWASP).unwrap();
        let phc = hasher.hash(b"hdk_secret").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(hasher.verify(b"hdk_secret", &phc).unwrap());
    }

    #[test]
    fn verifies_with_the_stored_parameters() {
        let old = SecretHasher::new(HashParams::new(16, 2, 1).unwrap()).unwrap();
        let phc = old.hash(b"secret").unwrap();
        let new = hasher();
        assert!(new.verify(b"secret", &phc).unwrap());
        assert!(new.needs_rehash(&phc).unwrap());
        assert!(!new.needs_rehash(&new.hash(b"secret").unwrap()).unwrap());
    }

    #[test]
    fn refuses_bad_parameters() {
        assert_eq!(
            HashParams::new(4, 1, 1),
            Err(HashError::InvalidParams {
                m_cost_kib: 4,
                t_cost: 1,
                p_cost: 1
            })
        );
        assert!(HashParams::new(8, 0, 1).is_err());
        assert!(HashParams::new(8, 1, 0).is_err());
        assert_eq!(HashParams::new(8, 1, 1), Ok(HashParams::INSECURE_FOR_TESTS));
    }

    #[test]
    fn refuses_malformed_and_foreign_hashes() {
        let hasher = hasher();
        let phc = hasher.hash(b"secret").unwrap();
        let argon2i = phc.replace("$argon2id$", "$argon2i$");
        let argon2d = phc.replace("$argon2id$", "$argon2d$");
        for stored in [
            "",
            "secret",
            "$argon2id$",
            "$pbkdf2$i=1$c2FsdHNhbHQ$aGFzaA",
            &argon2i,
            &argon2d,
        ] {
            assert_eq!(
                hasher.verify(b"secret", stored),
                Err(HashError::MalformedHash),
                "{stored}"
            );
        }
        let truncated = &phc[..phc.len() - 10];
        assert!(
            hasher.verify(b"secret", truncated).is_err()
                || !hasher.verify(b"secret", truncated).unwrap()
        );
    }

    #[test]
    fn decoy_matches_nothing() {
        let hasher = hasher();
        assert_eq!(hasher.verify_decoy(b"hdk_anything"), Ok(()));
        assert!(!hasher.verify(b"", &hasher.decoy).unwrap());
    }

    #[test]
    fn debug_shows_no_decoy() {
        let hasher = hasher();
        let shown = format!("{hasher:?}");
        assert!(!shown.contains("argon2id"), "{shown}");
        assert!(shown.contains("m_cost_kib: 8"), "{shown}");
    }
}
