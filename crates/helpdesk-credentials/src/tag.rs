//! Tags of verified secrets, for the hot path: once a secret has passed argon2, checking it again
//! costs one SipHash-2-4 (a 128-bit tag) under a per-process random key and one constant-time
//! comparison with the tag the caller remembered for it.
//!
//! The key exists only in memory and is new in every process, so the tags are worthless outside
//! it. SipHash-2-4 is a PRF built for short inputs. It is written out here for the one shape
//! hashed (an id word, then the secret's bytes), with no streaming state: on the 40 bytes of a
//! key (8-byte id, 32-byte secret) that is about half the time of a general streaming
//! implementation; a test checks it against one.
//!
//! [`IdHasher`] reduces an id to that word, and hashes the integer ids of in-memory tables.

use std::fmt;
use std::hash::Hash;

use helpdesk_domain::IdHasher;

use crate::error::GenerateError;

/// Whether `a` and `b` are equal, in time that depends only on their lengths (which are not secret).
///
/// No early exit: every byte pair is compared and the differences are folded together.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(difference) == 0
}

/// A 128-bit keyed hash of a verified secret. Compared in constant time; never printed.
#[derive(Clone, Copy)]
pub struct Tag([u64; 2]);

impl PartialEq for Tag {
    fn eq(&self, other: &Self) -> bool {
        let [a, b] = self.0;
        let [c, d] = other.0;
        // Both halves always compared, with no early exit.
        std::hint::black_box((a ^ c) | (b ^ d)) == 0
    }
}

impl Eq for Tag {}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tag([redacted])")
    }
}

/// SipHash-2-4 with 128-bit output under a random key drawn once per instance.
pub struct FastHasher {
    key: [u64; 2],
}

impl FastHasher {
    /// A hasher with a fresh key from the operating system's random source.
    pub fn new() -> Result<Self, GenerateError> {
        let mut key = [0u8; 16];
        getrandom::fill(&mut key).map_err(|_| GenerateError::Random)?;
        let (k0, k1) = key.split_at(8);
        let word = |half: &[u8]| u64::from_le_bytes(half.try_into().unwrap_or_default());
        let hasher = Self {
            key: [word(k0), word(k1)],
        };
        key.fill(0);
        std::hint::black_box(&mut key);
        Ok(hasher)
    }

    /// The tag of `secret` presented for `id`; binding the id means a tag is only good for its id.
    ///
    /// The id is reduced to one word first: for the integer ids used here (`KeyId`, `TokenId`)
    /// that word is the id itself.
    pub fn tag<I: Hash>(&self, id: &I, secret: &[u8]) -> Tag {
        Tag(siphash_2_4_128(self.key, IdHasher::word(id), secret))
    }
}

/// SipHash-2-4 with a 128-bit result (Aumasson and Bernstein, "SipHash: a fast short-input
/// PRF", and its 128-bit variant) of the message `first` (eight bytes, little-endian) followed
/// by `rest`.
fn siphash_2_4_128(key: [u64; 2], first: u64, rest: &[u8]) -> [u64; 2] {
    let [k0, k1] = key;
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d ^ 0xee,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    let compress = |v: &mut [u64; 4], m: u64| {
        v[3] ^= m;
        sip_round(v);
        sip_round(v);
        v[0] ^= m;
    };
    compress(&mut v, first);
    let (words, tail) = rest.as_chunks::<8>();
    for word in words {
        compress(&mut v, u64::from_le_bytes(*word));
    }
    let length = (rest.len() as u64).wrapping_add(8);
    compress(&mut v, little_endian(tail) | length << 56);
    v[2] ^= 0xee;
    for _ in 0..4 {
        sip_round(&mut v);
    }
    let low = v[0] ^ v[1] ^ v[2] ^ v[3];
    v[1] ^= 0xdd;
    for _ in 0..4 {
        sip_round(&mut v);
    }
    [low, v[0] ^ v[1] ^ v[2] ^ v[3]]
}

/// Up to eight bytes as a little-endian word, assembled in registers (a copy into a buffer read
/// back as one word would stall on store forwarding).
pub(crate) fn little_endian(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .take(8)
        .enumerate()
        .fold(0, |word, (i, &byte)| word | u64::from(byte) << (8 * i))
}

#[inline(always)]
fn sip_round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13) ^ v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16) ^ v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21) ^ v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17) ^ v[2];
    v[2] = v[2].rotate_left(32);
}

impl fmt::Debug for FastHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("FastHasher { key: [redacted] }")
    }
}

impl Drop for FastHasher {
    fn drop(&mut self) {
        self.key.fill(0);
        std::hint::black_box(&mut self.key);
    }
}

#[cfg(test)]
mod tests {
    use std::hash::Hasher;

    use helpdesk_domain::KeyId;

    use super::*;

    fn key(id: i64) -> KeyId {
        KeyId::new(id)
    }

    #[test]
    fn siphash_matches_a_general_implementation() {
        use siphasher::sip128::{Hasher128, SipHasher24};
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for len in 0..80 {
            let key = [next(), next()];
            let first = next();
            let rest: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            let mut reference = SipHasher24::new_with_keys(key[0], key[1]);
            reference.write(&first.to_le_bytes());
            reference.write(&rest);
            let expected = reference.finish128();
            assert_eq!(
                siphash_2_4_128(key, first, &rest),
                [expected.h1, expected.h2],
                "length {len}"
            );
        }
    }

    #[test]
    fn constant_time_eq_is_equality() {
        let cases: [(&[u8], &[u8], bool); 8] = [
            (b"", b"", true),
            (b"a", b"a", true),
            (b"a", b"b", false),
            (b"abc", b"abc", true),
            (b"abc", b"abd", false),
            (b"abc", b"xbc", false),
            (b"abc", b"ab", false),
            (&[0xFF; 16], &[0xFF; 16], true),
        ];
        for (a, b, expected) in cases {
            assert_eq!(constant_time_eq(a, b), expected, "{a:?} vs {b:?}");
            assert_eq!(constant_time_eq(b, a), expected, "{b:?} vs {a:?}");
        }
        for bit in 0..128 {
            let mut other = [0u8; 16];
            other[bit / 8] = 1 << (bit % 8);
            assert!(!constant_time_eq(&[0; 16], &other), "bit {bit}");
        }
    }

    proptest::proptest! {
        #[test]
        fn constant_time_eq_matches_slice_equality(
            a in proptest::collection::vec(0u8..4, 0..6),
            b in proptest::collection::vec(0u8..4, 0..6),
        ) {
            proptest::prop_assert_eq!(constant_time_eq(&a, &b), a == b);
        }
    }

    #[test]
    fn tags_depend_on_key_id_and_secret() {
        let hasher = FastHasher::new().unwrap();
        let tag = hasher.tag(&key(1), b"secret");
        assert_eq!(hasher.tag(&key(1), b"secret"), tag);
        assert_ne!(hasher.tag(&key(2), b"secret"), tag);
        assert_ne!(hasher.tag(&key(1), b"secreT"), tag);
        assert_ne!(FastHasher::new().unwrap().tag(&key(1), b"secret"), tag);
        assert_eq!(
            format!("{tag:?} {hasher:?}"),
            "Tag([redacted]) FastHasher { key: [redacted] }"
        );
    }
}
