//! Id-to-index maps built once per policy, with a multiplicative hash suited to integer ids.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasherDefault, Hasher};

/// Maps raw ids to dense indices `0..len`, in input order.
#[derive(Clone, Debug, Default)]
pub(crate) struct IdIndex {
    map: HashMap<i64, usize, BuildHasherDefault<IdHasher>>,
}

impl IdIndex {
    /// Indexes `ids` in order; on a repeated id, returns that id.
    pub(crate) fn build(ids: impl ExactSizeIterator<Item = i64>) -> Result<Self, i64> {
        let mut map = HashMap::with_capacity_and_hasher(ids.len(), BuildHasherDefault::default());
        for (index, id) in ids.enumerate() {
            match map.entry(id) {
                Entry::Occupied(_) => return Err(id),
                Entry::Vacant(slot) => {
                    slot.insert(index);
                }
            }
        }
        Ok(Self { map })
    }

    /// The index of `id`, if indexed.
    #[inline]
    pub(crate) fn get(&self, id: i64) -> Option<usize> {
        self.map.get(&id).copied()
    }

    /// The number of ids.
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
}

/// A hasher for integer keys: one multiplication per word (the `FxHash` scheme). Ids are not
/// attacker-chosen in bulk, so flooding resistance is not needed here.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct IdHasher(u64);

impl IdHasher {
    const SEED: u64 = 0xf135_7aea_2e62_a9c5;

    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl Hasher for IdHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.add(u64::from(byte));
        }
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.add(n);
    }

    #[inline]
    fn write_i64(&mut self, n: i64) {
        self.add(n.cast_unsigned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_in_order_and_rejects_duplicates() {
        let index = IdIndex::build([7, -3, 1 << 40].into_iter()).unwrap();
        assert_eq!(index.len(), 3);
        assert_eq!(index.get(7), Some(0));
        assert_eq!(index.get(-3), Some(1));
        assert_eq!(index.get(1 << 40), Some(2));
        assert_eq!(index.get(8), None);
        assert_eq!(IdIndex::build([1, 2, 1].into_iter()).unwrap_err(), 1);
    }
}
