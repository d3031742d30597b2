//! Id-to-index maps built once per policy, by id with the domain's id hasher.

use std::collections::hash_map::Entry;

use helpdesk_domain::IdMap;

/// Maps raw ids to dense indices `0..len`, in input order.
#[derive(Clone, Debug, Default)]
pub(crate) struct IdIndex {
    map: IdMap<i64, usize>,
}

impl IdIndex {
    /// Indexes `ids` in order; on a repeated id, returns that id.
    pub(crate) fn build(ids: impl ExactSizeIterator<Item = i64>) -> Result<Self, i64> {
        let mut map = IdMap::with_capacity_and_hasher(ids.len(), Default::default());
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
