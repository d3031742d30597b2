//! The error types, one per area. None of them ever holds or prints a secret.

use std::fmt;
use std::time::Duration;

/// Which kind of secret a [`ParseError`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecretKind {
    /// The secret half of an API key code (`hdk_…`).
    KeySecret,
    /// An access token (`hdt_…`).
    AccessToken,
}

impl SecretKind {
    /// The prefix every secret of this kind starts with.
    pub const fn prefix(self) -> &'static str {
        match self {
            Self::KeySecret => crate::secret::KEY_PREFIX,
            Self::AccessToken => crate::secret::TOKEN_PREFIX,
        }
    }

    /// The exact length in bytes of a secret of this kind.
    pub const fn expected_len(self) -> usize {
        match self {
            Self::KeySecret => crate::secret::KEY_SECRET_LEN,
            Self::AccessToken => crate::secret::TOKEN_LEN,
        }
    }
}

impl fmt::Display for SecretKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::KeySecret => "key secret",
            Self::AccessToken => "access token",
        })
    }
}

/// Why an `Authorization` header, a key code or an access token was refused before any lookup.
///
/// Each variant names the part that is wrong; none carries any of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The header is empty or only whitespace.
    #[error("authorization header is empty")]
    EmptyHeader,
    /// The header is longer than [`MAX_HEADER_LEN`](crate::MAX_HEADER_LEN).
    #[error("authorization header is longer than {max} bytes")]
    HeaderTooLong {
        /// The limit.
        max: usize,
    },
    /// The scheme is neither built in nor a registered alias.
    #[error("authorization scheme is not supported")]
    UnknownScheme,
    /// The scheme is not followed by credentials.
    #[error("authorization header has no credentials after the scheme")]
    MissingCredentials,
    /// `Basic` credentials are not valid standard base64.
    #[error("basic credentials are not valid base64")]
    InvalidBase64,
    /// A key code is longer than any valid one.
    #[error("key code is longer than {max} bytes")]
    KeyCodeTooLong {
        /// The length of the longest valid key code.
        max: usize,
    },
    /// A key code has no `:` between the key id and the secret.
    #[error("key code has no `:` between the key id and the secret")]
    MissingColon,
    /// The key id is not a positive decimal `i64` in canonical form.
    #[error("key id is not a positive decimal number without leading zeros")]
    InvalidKeyId,
    /// The secret does not start with the prefix of its kind.
    #[error("{kind} does not start with `{}`", .kind.prefix())]
    WrongPrefix {
        /// The kind of secret expected.
        kind: SecretKind,
    },
    /// The secret has the wrong length.
    #[error("{kind} is not {} characters long", .kind.expected_len())]
    WrongLength {
        /// The kind of secret expected.
        kind: SecretKind,
    },
    /// The secret has a character other than an ASCII letter or digit after its prefix.
    #[error("{kind} has a character other than a letter or a digit after its prefix")]
    InvalidCharacter {
        /// The kind of secret expected.
        kind: SecretKind,
    },
    /// The checksum does not match: the secret was mistyped or damaged.
    #[error("{kind} checksum does not match, the code is mistyped or damaged")]
    BadChecksum {
        /// The kind of secret expected.
        kind: SecretKind,
    },
    /// The id inside an access token is zero or too large.
    #[error("access token id is out of range")]
    InvalidTokenId,
}

/// Why a secret could not be generated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GenerateError {
    /// The operating system's random source failed.
    #[error("the operating system random source failed")]
    Random,
    /// Key and token ids must be positive to be written into a code.
    #[error("id `{0}` is not positive")]
    NonPositiveId(i64),
}

/// Why hashing or verifying a secret with argon2 failed (a wrong secret is not an error).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashError {
    /// The argon2 parameters are outside what argon2 accepts.
    #[error("argon2 parameters m={m_cost_kib} KiB, t={t_cost}, p={p_cost} are out of range")]
    InvalidParams {
        /// Memory in KiB.
        m_cost_kib: u32,
        /// Iterations.
        t_cost: u32,
        /// Parallelism.
        p_cost: u32,
    },
    /// The operating system's random source failed while making a salt.
    #[error("the operating system random source failed")]
    Random,
    /// A stored hash is not a well-formed argon2id PHC string.
    #[error("stored secret hash is not a valid argon2id hash")]
    MalformedHash,
    /// argon2 itself failed (for example, out of memory).
    #[error("argon2 failed to hash the secret")]
    Argon2,
}

/// Why the [`VerifyGate`](crate::VerifyGate) refused to run a verification.
///
/// The gate treats unknown ids like known ones, so a refusal says nothing about whether an id exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refused {
    /// The attempts for this id from this source are used up.
    #[error("too many attempts for this credential, retry in {} ms", .retry_after.as_millis())]
    RateLimited {
        /// When the next attempt for this id from this source would be allowed.
        retry_after: Duration,
    },
    /// The attempts from this source are used up, or it has its most requests waiting.
    #[error("too many verification attempts from this source, retry in {} ms", .retry_after.as_millis())]
    Overloaded {
        /// When the next attempt from this source would be allowed.
        retry_after: Duration,
    },
    /// The wait for a turn, or for the verification of the same secret, ran out.
    #[error("no verification could run in time, retry shortly")]
    TimedOut,
}

/// Why a scheme alias could not be registered.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemeError {
    /// The name is empty, too long, or has characters an HTTP token may not have.
    #[error("scheme name `{name}` is not an http token of 1 to {max} characters")]
    InvalidName {
        /// The refused name.
        name: String,
        /// The longest name accepted.
        max: usize,
    },
    /// The name is already a built-in scheme or a registered alias (ignoring case).
    #[error("scheme `{name}` is already registered")]
    Duplicate {
        /// The refused name.
        name: String,
    },
}
