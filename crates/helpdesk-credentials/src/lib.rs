//! Internal crate: API key codes, access tokens, `Authorization` header parsing and secret verification. Not a public API; use the `helpdesk` crate.
//!
//! Everything here is pure and storage-free: the key store (in `helpdesk-store`) keeps the hashes
//! and generations, and hands them to this crate.
//!
//! - [`KeyCode`], [`KeySecret`] and [`AccessToken`]: the text formats. A key code is
//!   `<id>:<secret>` (the Deskpro style); a secret is `hdk_` + 22 random base62 characters + a
//!   6-character CRC-32 checksum, and an access token is `hdt_` + its id + random + checksum. The
//!   prefixes let secret scanners find leaked codes; the checksum refuses typos before any lookup.
//! - [`SchemeRegistry`]: parses an `Authorization` header (`key`, `Basic`, `Bearer`, `token` and
//!   application aliases such as `DdApi`) into a [`Credential`] without allocating, or checks it
//!   in place into a [`CheckedCredential`] that borrows the secret (the hot path's form).
//! - [`SecretHasher`]: argon2id hashes at rest, as PHC strings.
//! - [`FastHasher`] and [`Tag`]: after one successful argon2 verification, a request costs one
//!   keyed SipHash-2-4 under a per-process key and one constant-time comparison with the tag the
//!   caller remembered.
//! - [`VerifyGate`]: bounds argon2 work for secrets without a known tag (a few verifications at
//!   once, sources of requests in turn, token buckets per source and per id and source, one
//!   verification shared by the attempts with the same secret); [`Source`] is the network a
//!   request came from.
//!
//! No function here reads the time or sleeps: callers pass the time in. The gate only bounds its
//! waits with the real monotonic clock.

mod base62;
mod base64;
mod crc32;
mod error;
mod gate;
mod hash;
mod header;
mod secret;
mod source;
mod tag;

pub use error::{GenerateError, HashError, ParseError, Refused, SchemeError, SecretKind};
pub use gate::{Attempt, GateConfig, RateLimit, Verification, VerifyGate};
pub use hash::{HashParams, SecretHasher};
pub use header::{
    CheckedCredential, Credential, MAX_HEADER_LEN, Scheme, SchemeRegistry, Scratch,
    basic_authorization,
};
pub use secret::{AccessToken, CheckedSecret, KeyCode, KeySecret};
pub use source::Source;
pub use tag::{FastHasher, Tag, constant_time_eq};
