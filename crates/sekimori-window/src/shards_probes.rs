//! What the tests read of [`Keys`]' layout: hints, table sizes, the
//! longest shard, the shards a copy shares.

use std::sync::Arc;

use super::{Held, Keys, SHARDS};

impl<V: Held> Keys<V> {
    /// Number of shards whose hint has any of `bits` (tests).
    pub fn hints_with(&self, bits: u32) -> usize {
        (0..SHARDS)
            .filter(|&at| self.hints.of(at) & bits != 0)
            .count()
    }

    /// True when every shard's hint covers its values' masks (tests).
    pub fn hints_cover(&self) -> bool {
        self.shards.iter().enumerate().all(|(at, slot)| {
            let h = self.hints.of(at);
            slot.iter()
                .flat_map(|s| s.values())
                .all(|v| v.mask() & !h == 0)
        })
    }

    /// True when every shard's table has the capacity the model gives its
    /// length (tests).
    pub fn tables_match_the_model(&self) -> bool {
        use crate::alloc::{table_buckets, table_capacity};
        self.shards
            .iter()
            .flatten()
            .all(|s| s.capacity() == table_capacity(table_buckets(s.len())))
    }

    /// The longest shard's length (tests).
    pub fn longest_shard(&self) -> usize {
        self.shards
            .iter()
            .flatten()
            .map(|s| s.len())
            .max()
            .unwrap_or(0)
    }

    /// Shards a copy of this store still shares (tests).
    pub fn shared_shards(&self) -> usize {
        self.shards
            .iter()
            .flatten()
            .filter(|s| Arc::strong_count(s) > 1)
            .count()
    }
}
