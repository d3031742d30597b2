//! Key secrets, key codes and access tokens: generation from the OS random source, the text format
//! with its prefix and checksum, and parsing with typed errors.
//!
//! Formats (every part after the prefix is base62, `0-9A-Za-z`):
//!
//! | what | layout | length |
//! | --- | --- | --- |
//! | key secret | `hdk_` + 22 random + 6 checksum | 32 |
//! | key code | `<id>:` + key secret, the id in decimal | 34 to 52 |
//! | access token | `hdt_` + 11 token id + 22 random + 6 checksum | 43 |
//!
//! The 22 random digits encode 128 bits from `getrandom`. The checksum is the CRC-32 of everything
//! before it (prefix included), so a key secret is never accepted as a token or the other way round,
//! a typo is refused without a lookup, and a scanner can confirm a leaked code offline.

use std::fmt;

use helpdesk_domain::{KeyId, TokenId};

use crate::error::{GenerateError, ParseError, SecretKind};
use crate::tag::constant_time_eq;
use crate::{base62, crc32};

/// The prefix of a key secret.
pub(crate) const KEY_PREFIX: &str = "hdk_";
/// The prefix of an access token.
pub(crate) const TOKEN_PREFIX: &str = "hdt_";

const PREFIX_LEN: usize = 4;
/// 62^22 > 2^128.
const RANDOM_LEN: usize = 22;
/// 62^6 > 2^32.
const CHECKSUM_LEN: usize = 6;
/// 62^11 > 2^64.
const TOKEN_ID_LEN: usize = 11;
/// `i64::MAX` has 19 decimal digits.
const MAX_ID_DIGITS: usize = 19;

const _: () = assert!(KEY_PREFIX.len() == PREFIX_LEN && TOKEN_PREFIX.len() == PREFIX_LEN);

/// The length of a key secret.
pub(crate) const KEY_SECRET_LEN: usize = PREFIX_LEN + RANDOM_LEN + CHECKSUM_LEN;
/// The length of an access token.
pub(crate) const TOKEN_LEN: usize = PREFIX_LEN + TOKEN_ID_LEN + RANDOM_LEN + CHECKSUM_LEN;
/// The length of the longest key code.
pub(crate) const KEY_CODE_MAX_LEN: usize = MAX_ID_DIGITS + 1 + KEY_SECRET_LEN;

/// The CRC-32 of a secret's text before its checksum. The register after each prefix is a
/// constant, so only the rest is run through the tables.
fn checksum_of(signed: &[u8]) -> u32 {
    const AFTER_KEY_PREFIX: u32 = crc32::prefix_register(KEY_PREFIX.as_bytes());
    const AFTER_TOKEN_PREFIX: u32 = crc32::prefix_register(TOKEN_PREFIX.as_bytes());
    match signed.split_at_checked(PREFIX_LEN) {
        Some((prefix, rest)) if prefix == KEY_PREFIX.as_bytes() => {
            crc32::update(AFTER_KEY_PREFIX, rest)
        }
        Some((prefix, rest)) if prefix == TOKEN_PREFIX.as_bytes() => {
            crc32::update(AFTER_TOKEN_PREFIX, rest)
        }
        _ => crc32::crc32(signed),
    }
}

/// ASCII secret text of a fixed length: compared in constant time, never printed, zeroed on drop.
#[derive(Clone)]
struct SecretText<const N: usize>([u8; N]);

impl<const N: usize> SecretText<N> {
    /// A new secret: `prefix`, then `middle` (the token id, if any), 128 random bits, the checksum.
    fn generate(prefix: &str, middle: Option<u64>) -> Result<Self, GenerateError> {
        let mut random = [0u8; 16];
        getrandom::fill(&mut random).map_err(|_| GenerateError::Random)?;
        let mut text = [0u8; N];
        {
            let (head, rest) = text.split_at_mut(PREFIX_LEN);
            head.copy_from_slice(prefix.as_bytes());
            let (body, _) = rest.split_at_mut(rest.len() - CHECKSUM_LEN);
            let (id_digits, random_digits) = body.split_at_mut(body.len() - RANDOM_LEN);
            if let Some(id) = middle {
                base62::encode(u128::from(id), id_digits);
            }
            base62::encode(u128::from_le_bytes(random), random_digits);
        }
        let (signed, checksum) = text.split_at_mut(N - CHECKSUM_LEN);
        base62::encode(u128::from(checksum_of(signed)), checksum);
        Ok(Self(text))
    }

    /// Checks prefix, length, alphabet and checksum, in that order, and copies.
    fn parse(input: &[u8], kind: SecretKind) -> Result<Self, ParseError> {
        Self::copy_of(Self::check(input, kind)?, kind)
    }

    /// A copy of a text already checked as `kind`.
    fn copy_of(checked: CheckedSecret<'_>, kind: SecretKind) -> Result<Self, ParseError> {
        checked
            .text
            .try_into()
            .map(Self)
            .map_err(|_| ParseError::WrongLength { kind })
    }

    /// Checks prefix, length, alphabet and checksum, in that order, in place (a copy read back
    /// in words would stall on store forwarding).
    fn check(input: &[u8], kind: SecretKind) -> Result<CheckedSecret<'_>, ParseError> {
        if !input.starts_with(kind.prefix().as_bytes()) {
            return Err(ParseError::WrongPrefix { kind });
        }
        if input.len() != N {
            return Err(ParseError::WrongLength { kind });
        }
        let (_, digits) = input.split_at(PREFIX_LEN);
        if !base62::is_base62(digits) {
            return Err(ParseError::InvalidCharacter { kind });
        }
        let (signed, checksum) = input.split_at(N - CHECKSUM_LEN);
        if base62::decode_u64(checksum) != Some(u64::from(checksum_of(signed))) {
            return Err(ParseError::BadChecksum { kind });
        }
        Ok(CheckedSecret { text: input })
    }

    fn as_str(&self) -> &str {
        // Both constructors only ever store ASCII, so the fallback is never taken.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The random digits: all that tells one secret from another of the same kind (and id).
    fn random_part(&self) -> &[u8] {
        random_digits(&self.0)
    }
}

/// The random digits of a secret's text: just before the checksum.
fn random_digits(text: &[u8]) -> &[u8] {
    let end = text.len().saturating_sub(CHECKSUM_LEN);
    text.get(end.saturating_sub(RANDOM_LEN)..end)
        .unwrap_or_default()
}

/// A key secret or access token checked for format (prefix, length, alphabet, checksum) and
/// borrowed from the input, so that the hot path never copies a secret. Never printed.
#[derive(Clone, Copy)]
pub struct CheckedSecret<'a> {
    text: &'a [u8],
}

impl<'a> CheckedSecret<'a> {
    /// The whole text, to verify against a stored hash.
    pub fn expose(&self) -> &'a [u8] {
        self.text
    }

    /// The 22 random digits: all that tells one secret from another of the same kind and id
    /// (the prefix is fixed and the checksum follows from the rest).
    pub fn random_part(&self) -> &'a [u8] {
        random_digits(self.text)
    }
}

impl fmt::Debug for CheckedSecret<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CheckedSecret([redacted])")
    }
}

impl<const N: usize> PartialEq for SecretText<N> {
    fn eq(&self, other: &Self) -> bool {
        constant_time_eq(&self.0, &other.0)
    }
}

impl<const N: usize> Eq for SecretText<N> {}

impl<const N: usize> fmt::Debug for SecretText<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<const N: usize> Drop for SecretText<N> {
    fn drop(&mut self) {
        // Best effort without `unsafe` volatile writes: `black_box` keeps the store from being
        // optimised away. Copies made by moves are not covered.
        self.0.fill(0);
        std::hint::black_box(&mut self.0);
    }
}

/// The secret half of an API key code: `hdk_`, 128 random bits in base62, a CRC-32 checksum.
///
/// Never printed: `Debug` shows `[redacted]` and there is no `Display`; [`expose`](Self::expose)
/// is the one way to the text. Equality is constant-time. Zeroed on drop (best effort).
#[derive(Clone, PartialEq, Eq)]
pub struct KeySecret(SecretText<KEY_SECRET_LEN>);

impl KeySecret {
    /// The prefix every key secret starts with.
    pub const PREFIX: &'static str = KEY_PREFIX;
    /// The length of every key secret.
    pub const LEN: usize = KEY_SECRET_LEN;

    /// A new secret from the operating system's random source.
    pub fn generate() -> Result<Self, GenerateError> {
        SecretText::generate(KEY_PREFIX, None).map(Self)
    }

    /// Checks prefix, length, alphabet and checksum.
    pub fn parse(input: &[u8]) -> Result<Self, ParseError> {
        SecretText::parse(input, SecretKind::KeySecret).map(Self)
    }

    /// The secret text, to hash or to show once to the person who created the key.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }

    /// The secret text as bytes, without the UTF-8 check of [`expose`](Self::expose).
    pub fn expose_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// A copy of a secret checked by [`KeyCode::check`].
    pub fn copy_of(checked: CheckedSecret<'_>) -> Result<Self, ParseError> {
        SecretText::copy_of(checked, SecretKind::KeySecret).map(Self)
    }

    /// The 22 random digits: all that tells one key secret from another (the prefix is fixed
    /// and the checksum follows from the rest), so a keyed hash of them identifies the secret.
    pub fn random_part(&self) -> &[u8] {
        self.0.random_part()
    }
}

impl fmt::Debug for KeySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("KeySecret").field(&self.0).finish()
    }
}

/// A full API key code, `<id>:<secret>`: the key's public decimal id and its [`KeySecret`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyCode {
    id: KeyId,
    secret: KeySecret,
}

impl KeyCode {
    /// The length of the longest key code (a 19-digit id).
    pub const MAX_LEN: usize = KEY_CODE_MAX_LEN;

    /// Joins an id and a secret; the id must be positive.
    pub fn new(id: KeyId, secret: KeySecret) -> Result<Self, GenerateError> {
        if id.get() <= 0 {
            return Err(GenerateError::NonPositiveId(id.get()));
        }
        Ok(Self { id, secret })
    }

    /// A new key code for `id` with a fresh secret.
    pub fn generate(id: KeyId) -> Result<Self, GenerateError> {
        Self::new(id, KeySecret::generate()?)
    }

    /// Parses `<id>:<secret>`: the id is a positive decimal without sign or leading zeros.
    pub fn parse(input: &[u8]) -> Result<Self, ParseError> {
        let (id, secret) = Self::check(input)?;
        let text = SecretText::copy_of(secret, SecretKind::KeySecret)?;
        Ok(Self {
            id,
            secret: KeySecret(text),
        })
    }

    /// Checks `<id>:<secret>` as [`parse`](Self::parse) does, without copying the secret.
    pub fn check(input: &[u8]) -> Result<(KeyId, CheckedSecret<'_>), ParseError> {
        if input.len() > KEY_CODE_MAX_LEN {
            return Err(ParseError::KeyCodeTooLong {
                max: KEY_CODE_MAX_LEN,
            });
        }
        let colon = input
            .iter()
            .position(|&byte| byte == b':')
            .ok_or(ParseError::MissingColon)?;
        let (id, secret) = input.split_at(colon);
        let secret = secret.get(1..).unwrap_or_default();
        let id = parse_key_id(id).ok_or(ParseError::InvalidKeyId)?;
        let secret = SecretText::<KEY_SECRET_LEN>::check(secret, SecretKind::KeySecret)?;
        Ok((id, secret))
    }

    /// The key's id.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The key's secret.
    pub fn secret(&self) -> &KeySecret {
        &self.secret
    }

    /// The id and the secret.
    pub fn into_parts(self) -> (KeyId, KeySecret) {
        (self.id, self.secret)
    }

    /// The code as text, `<id>:<secret>`, to show once to the person who created the key.
    pub fn expose(&self) -> String {
        format!("{}:{}", self.id, self.secret.expose())
    }
}

/// A positive decimal `i64` with no sign and no leading zeros.
fn parse_key_id(digits: &[u8]) -> Option<KeyId> {
    if digits.first() == Some(&b'0') || digits.len() > MAX_ID_DIGITS {
        return None;
    }
    let value = digits.iter().try_fold(0i64, |acc, &byte| {
        let digit = byte.checked_sub(b'0').filter(|digit| *digit < 10)?;
        acc.checked_mul(10)?.checked_add(i64::from(digit))
    })?;
    (value > 0).then_some(KeyId::new(value))
}

/// An access token: `hdt_`, the token id, 128 random bits and a CRC-32 checksum, all in base62.
///
/// The id inside makes lookup a map lookup. The whole text is the secret: never printed
/// (`Debug` shows the id and `[redacted]`), compared in constant time, zeroed on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken {
    id: TokenId,
    text: SecretText<TOKEN_LEN>,
}

impl AccessToken {
    /// The prefix every access token starts with.
    pub const PREFIX: &'static str = TOKEN_PREFIX;
    /// The length of every access token.
    pub const LEN: usize = TOKEN_LEN;

    /// A new token for `id` (which must be positive) from the operating system's random source.
    pub fn generate(id: TokenId) -> Result<Self, GenerateError> {
        let raw = u64::try_from(id.get())
            .ok()
            .filter(|raw| *raw > 0)
            .ok_or(GenerateError::NonPositiveId(id.get()))?;
        Ok(Self {
            id,
            text: SecretText::generate(TOKEN_PREFIX, Some(raw))?,
        })
    }

    /// Checks prefix, length, alphabet and checksum, then reads the id.
    pub fn parse(input: &[u8]) -> Result<Self, ParseError> {
        let (id, checked) = Self::check(input)?;
        let text = SecretText::copy_of(checked, SecretKind::AccessToken)?;
        Ok(Self { id, text })
    }

    /// Checks a token as [`parse`](Self::parse) does, without copying it.
    pub fn check(input: &[u8]) -> Result<(TokenId, CheckedSecret<'_>), ParseError> {
        let checked = SecretText::<TOKEN_LEN>::check(input, SecretKind::AccessToken)?;
        let id_digits = input
            .get(PREFIX_LEN..PREFIX_LEN + TOKEN_ID_LEN)
            .unwrap_or_default();
        let id = base62::decode_u64(id_digits)
            .and_then(|raw| i64::try_from(raw).ok())
            .filter(|raw| *raw > 0)
            .ok_or(ParseError::InvalidTokenId)?;
        Ok((TokenId::new(id), checked))
    }

    /// The token's id.
    pub fn id(&self) -> TokenId {
        self.id
    }

    /// The token text, to hash or to hand once to the client it was minted for.
    pub fn expose(&self) -> &str {
        self.text.as_str()
    }

    /// The token text as bytes, without the UTF-8 check of [`expose`](Self::expose).
    pub fn expose_bytes(&self) -> &[u8] {
        self.text.as_bytes()
    }

    /// A copy of the token `id` checked by [`AccessToken::check`].
    pub fn copy_of(id: TokenId, checked: CheckedSecret<'_>) -> Result<Self, ParseError> {
        let text = SecretText::copy_of(checked, SecretKind::AccessToken)?;
        Ok(Self { id, text })
    }

    /// The 22 random digits: all that tells this token from another with the same id (the
    /// prefix is fixed and the checksum follows from the rest).
    pub fn random_part(&self) -> &[u8] {
        self.text.random_part()
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("id", &self.id)
            .field("text", &self.text)
            .finish()
    }
}

#[cfg(test)]
mod tests;
