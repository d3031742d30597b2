//! A hasher for the integer ids of in-memory tables: the one used by the permission engine's
//! indices, the key and token tables of the hot path and the keyed tags of secrets.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// A multiplicative hash for integer ids, and their reduction to one word (which the keyed tags
/// of key secrets are computed over).
///
/// The ids it is meant for (`KeyId`, `TokenId`) are assigned by the database, never chosen by a
/// client, so a table keyed by them needs no flooding protection, and SipHash would cost more
/// than the rest of a lookup. Tables of ids a client picks use the standard hasher.
#[derive(Clone, Copy, Debug, Default)]
pub struct IdHasher(u64);

impl IdHasher {
    /// `id` as one word: an integer written once is kept as it is; anything else is folded in.
    #[inline]
    pub fn word<I: Hash + ?Sized>(id: &I) -> u64 {
        let mut hasher = Self(0);
        id.hash(&mut hasher);
        hasher.0
    }
}

impl Hasher for IdHasher {
    /// The word, mixed so that consecutive ids spread over a table's buckets.
    #[inline]
    fn finish(&self) -> u64 {
        let mixed = self.0.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        mixed ^ (mixed >> 29)
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(byte)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0 = self.0.rotate_left(29).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ n;
    }

    #[inline]
    fn write_i64(&mut self, n: i64) {
        self.write_u64(n.cast_unsigned());
    }
}

/// A map by id with [`IdHasher`].
pub type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KeyId, TokenId};

    fn key(id: i64) -> KeyId {
        KeyId::new(id)
    }

    #[test]
    fn an_integer_id_is_its_own_word_and_table_hashes_spread() {
        assert_eq!(IdHasher::word(&key(7)), 7);
        assert_eq!(IdHasher::word(&TokenId::new(7)), 7);
        assert_eq!(IdHasher::word(&i64::MAX), i64::MAX.cast_unsigned());
        assert_ne!(IdHasher::word(&(1u8, 2u8)), IdHasher::word(&(2u8, 1u8)));
        // A table looks at the top seven bits first: consecutive ids must not share them.
        let tops: std::collections::HashSet<u64> = (1..=64)
            .map(|id| {
                let mut hasher = IdHasher::default();
                key(id).hash(&mut hasher);
                hasher.finish() >> 57
            })
            .collect();
        assert!(tops.len() > 32, "{} distinct tops", tops.len());
    }
}
