//! `Keys`: the per-key states of a store, as copy-on-write shards.
//!
//! The keys are spread over [`SHARDS`] hash maps, each behind an `Arc`, so
//! cloning a store (the engine's snapshot copy, taken under the ledger lock)
//! copies pointers only. A write to a shard shared with a copy clones that
//! one shard first (`Arc::make_mut`), so the copy keeps the state as of the
//! clone. Nothing iterates the shards in an order that reaches a result
//! (see the crate docs).
//!
//! **Accounting the tables.** The keys keep the accounted bytes of their
//! tables ([`Keys::table_bytes`]): per shard, its table at the size a std
//! `HashMap` has for its length (`alloc::table_bytes`) and its `Arc`
//! header, as the allocator rounds them. For that model to be the real
//! footprint, and a function of the content alone (a restored snapshot
//! must account what the live store did), two things hold:
//! - the shard of a key is a fixed function of the key (a multiplicative
//!   hash of its bits, no per-process seed), so every process puts the same
//!   keys in the same shard. Each shard's map still hashes with a seeded
//!   hasher, so crafted keys can make one shard long (a copy then clones
//!   more) but never slow its lookups;
//! - a shard that loses keys is rebuilt at the size of what it keeps, so a
//!   table never stays at an earlier peak's size, nor grows early because
//!   of the tombstones removals leave (hashbrown doubles a table whose
//!   free slots ran out while it is more than half full, tombstones
//!   included: under churn that left tables at a quarter to a half full,
//!   twice what a length-based model assumed).

use std::collections::hash_map::{self, HashMap};
use std::mem::size_of;
use std::sync::Arc;

use crate::alloc::{alloc_bytes, table_bytes};
use crate::state::KeyState;
use crate::Key;

/// Shards per store. A write after a copy clones 1/SHARDS of the store.
pub(crate) const SHARDS: usize = 1024;

type Hasher = foldhash::fast::RandomState;
type Shard = HashMap<Fp, KeyState, Hasher>;

/// A key as the tables hold it: the same 128 bits as two words. A `u128` is
/// 16-byte aligned, which pads every (key, state) slot from 56 to 64 bytes;
/// two `u64`s are 8-byte aligned. The shard is still picked by the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Fp([u64; 2]);

impl Fp {
    fn of(key: Key) -> Fp {
        Fp([key as u64, (key >> 64) as u64])
    }

    fn key(self) -> Key {
        u128::from(self.0[0]) | (u128::from(self.0[1]) << 64)
    }
}

/// One table slot: what a table holds per bucket.
pub(crate) type Slot = (Fp, KeyState);

/// Accounted bytes of a shard holding `len` keys: its table and the
/// allocation of its `Arc` (counts and the map's header); none when empty
/// (an empty shard is freed).
pub(crate) fn shard_bytes(len: usize) -> u64 {
    if len == 0 {
        return 0;
    }
    table_bytes::<Slot>(len) + alloc_bytes(2 * size_of::<usize>() + size_of::<Shard>())
}

/// The shard of a key: a fixed multiplicative hash of its bits.
fn shard_of(key: &Key) -> usize {
    let folded = (*key as u64) ^ ((*key >> 64) as u64).rotate_left(29);
    (folded.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - SHARDS.trailing_zeros())) as usize
}

/// `table` moved from a shard of `from` keys to one of `to`.
fn retable(table: &mut u64, from: usize, to: usize) {
    *table = table.saturating_sub(shard_bytes(from)) + shard_bytes(to);
}

/// Rebuilds a shard that lost keys at the size of what it keeps (see the
/// module docs); frees it when empty.
fn rebuild(slot: &mut Option<Arc<Shard>>) {
    let Some(shard) = slot else { return };
    if shard.is_empty() {
        *slot = None;
        return;
    }
    let shard = Arc::make_mut(shard);
    let old = std::mem::take(shard);
    let mut fresh = Shard::with_capacity_and_hasher(old.len(), Hasher::default());
    fresh.extend(old);
    *shard = fresh;
}

/// The tracked keys of a store: a map from key to state, cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Keys {
    /// `None` until the shard's first key (an empty store allocates no shard).
    shards: Vec<Option<Arc<Shard>>>,
    len: usize,
    /// Accounted bytes of the shards (see [`shard_bytes`]), kept up to date.
    table: u64,
}

impl Default for Keys {
    fn default() -> Keys {
        Keys {
            shards: vec![None; SHARDS],
            len: 0,
            table: 0,
        }
    }
}

/// A vacant or occupied key of [`Keys::entry`].
pub(crate) struct Entry<'a> {
    inner: hash_map::Entry<'a, Fp, KeyState>,
    len: &'a mut usize,
    table: &'a mut u64,
    /// Keys in the shard before this entry.
    shard_len: usize,
}

impl<'a> Entry<'a> {
    /// The key's state, inserting `f()` if it has none.
    pub fn or_insert_with(self, f: impl FnOnce() -> KeyState) -> &'a mut KeyState {
        match self.inner {
            hash_map::Entry::Occupied(o) => o.into_mut(),
            hash_map::Entry::Vacant(v) => {
                *self.len += 1;
                retable(self.table, self.shard_len, self.shard_len + 1);
                v.insert(f())
            }
        }
    }
}

impl Keys {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Accounted bytes of every shard's table (a function of the shards'
    /// lengths; see the module docs).
    pub fn table_bytes(&self) -> u64 {
        self.table
    }

    /// [`Keys::table_bytes`] recomputed from the shards (tests).
    pub fn recount_table_bytes(&self) -> u64 {
        self.shards
            .iter()
            .flatten()
            .map(|s| shard_bytes(s.len()))
            .sum()
    }

    pub fn get(&self, key: &Key) -> Option<&KeyState> {
        self.shards[shard_of(key)].as_ref()?.get(&Fp::of(*key))
    }

    pub fn contains_key(&self, key: &Key) -> bool {
        self.get(key).is_some()
    }

    pub fn entry(&mut self, key: Key) -> Entry<'_> {
        let shard = Arc::make_mut(self.shards[shard_of(&key)].get_or_insert_with(Default::default));
        let shard_len = shard.len();
        Entry {
            inner: shard.entry(Fp::of(key)),
            len: &mut self.len,
            table: &mut self.table,
            shard_len,
        }
    }

    /// Inserts `state` under `key`, returning the state it replaces.
    pub fn insert(&mut self, key: Key, state: KeyState) -> Option<KeyState> {
        let shard = Arc::make_mut(self.shards[shard_of(&key)].get_or_insert_with(Default::default));
        let before = shard.len();
        let old = shard.insert(Fp::of(key), state);
        if old.is_none() {
            self.len += 1;
            retable(&mut self.table, before, before + 1);
        }
        old
    }

    /// Every (key, state), in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (Key, &KeyState)> {
        self.shards
            .iter()
            .flatten()
            .flat_map(|s| s.iter().map(|(k, v)| (k.key(), v)))
    }

    /// Every state, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = &KeyState> {
        self.iter().map(|(_, v)| v)
    }

    /// Keeps the keys for which `keep` is true (called once per key, in no
    /// particular order; `keep` may change the state, so every shard is
    /// unshared first). A shard that lost keys is rebuilt at its new size.
    pub fn retain(&mut self, mut keep: impl FnMut(&Key, &mut KeyState) -> bool) {
        let mut len = 0;
        for slot in &mut self.shards {
            let Some(shard) = slot else { continue };
            let shard = Arc::make_mut(shard);
            let before = shard.len();
            shard.retain(|k, v| keep(&k.key(), v));
            let after = shard.len();
            len += after;
            if after < before {
                retable(&mut self.table, before, after);
                rebuild(slot);
            }
        }
        self.len = len;
    }

    /// Removes the keys for which `drop` (a pure test of the key and its
    /// state) is true: returns (keys, accounted heap bytes of their states)
    /// removed; [`Keys::table_bytes`] follows. A shard it removes nothing
    /// from stays shared with any copy (a read-only pass first).
    pub fn remove_where(&mut self, drop: impl Fn(&Key, &KeyState) -> bool) -> (u64, u64) {
        let (mut keys, mut bytes) = (0u64, 0u64);
        for slot in &mut self.shards {
            let Some(shard) = slot else { continue };
            if !shard.iter().any(|(k, v)| drop(&k.key(), v)) {
                continue;
            }
            let shard = Arc::make_mut(shard);
            let before = shard.len();
            shard.retain(|k, v| {
                if !drop(&k.key(), v) {
                    return true;
                }
                keys += 1;
                bytes += v.accounted();
                false
            });
            retable(&mut self.table, before, shard.len());
            rebuild(slot);
        }
        self.len -= keys as usize;
        (keys, bytes)
    }

    /// Bytes the shards really hold (their tables at their real capacities
    /// and their headers, as the allocator rounds them): for measurements
    /// beside the accounting, never for it.
    pub fn real_table_bytes(&self) -> u64 {
        let header = alloc_bytes(2 * size_of::<usize>() + size_of::<Shard>());
        let buckets = |c: usize| if c < 8 { c + 1 } else { c / 7 * 8 };
        self.shards
            .iter()
            .flatten()
            .map(|s| {
                let b = buckets(s.capacity());
                header + alloc_bytes((b * size_of::<Slot>()).next_multiple_of(16) + b + 16)
            })
            .sum()
    }

    /// True when every shard's table has the capacity the model gives its
    /// length (tests).
    #[cfg(test)]
    pub fn tables_match_the_model(&self) -> bool {
        use crate::alloc::{table_buckets, table_capacity};
        self.shards
            .iter()
            .flatten()
            .all(|s| s.capacity() == table_capacity(table_buckets(s.len())))
    }

    /// Shards a copy of this store still shares (tests).
    #[cfg(test)]
    pub fn shared_shards(&self) -> usize {
        self.shards
            .iter()
            .flatten()
            .filter(|s| Arc::strong_count(s) > 1)
            .count()
    }
}

/// Equal when they hold the same keys with equal states (shard layout and
/// seeds do not matter).
impl PartialEq for Keys {
    fn eq(&self, other: &Keys) -> bool {
        self.len == other.len && self.iter().all(|(k, v)| other.get(&k) == Some(v))
    }
}

impl Eq for Keys {}

#[cfg(test)]
mod tests {
    use crate::{Aggregate, FeatureConfig, FeatureStore, Obs, ObsValue, Window};

    #[test]
    fn a_write_after_a_clone_unshares_one_shard_only() {
        let mut live = FeatureStore::new(FeatureConfig {
            window: Window::Ever,
            aggregate: Aggregate::Count,
            max_keys: 100_000,
            lateness_ms: 0,
        })
        .expect("valid config");
        let obs = |at_ms| {
            Some(Obs {
                at_ms,
                value: ObsValue::Int(1),
            })
        };
        for i in 0..20_000u128 {
            live.apply(i * 0x1_0000_0001, obs(i as i64), i as i64);
        }
        let copy = live.clone();
        let shards = live.keys.shared_shards();
        assert!(shards > super::SHARDS / 2, "{shards}");
        live.apply(7 * 0x1_0000_0001, obs(30_000), 30_000);
        assert_eq!(live.keys.shared_shards(), shards - 1);
        // A budget eviction that finds nothing copies nothing.
        assert_eq!(live.evict_through(-1), (0, 0));
        assert_eq!(live.keys.shared_shards(), shards - 1);
        drop(copy);
        assert_eq!(live.keys.shared_shards(), 0);
    }

    /// Under churn (new keys, the budget's evictions, sweeps, the key cap)
    /// every shard's table has the size its length gives it, and the
    /// accounting is the model's; a restored copy accounts the same.
    #[test]
    fn tables_stay_at_the_size_the_model_accounts() {
        let config = |window, max_keys| FeatureConfig {
            window,
            aggregate: Aggregate::Count,
            max_keys,
            lateness_ms: 0,
        };
        let hour = Window::Sliding {
            length_ms: 3_600_000,
            resolution_ms: 60_000,
        };
        for (window, max_keys) in [(Window::Ever, 30_000), (hour, 1_000_000), (hour, 9_000)] {
            let mut s = FeatureStore::new(config(window, max_keys)).expect("valid");
            let mut peak = 0;
            for round in 0..6i64 {
                for i in 0..20_000u128 {
                    let at = round * 1_200_000 + i as i64;
                    let key = (i + round as u128 * 7_919) * 0x9E37_79B9_7F4A_7C15;
                    s.apply(
                        key,
                        Some(Obs {
                            at_ms: at,
                            value: ObsValue::None,
                        }),
                        at,
                    );
                }
                peak = peak.max(s.len());
                let now = round * 1_200_000 + 20_000;
                s.evict_through(now - 10_000);
                assert!(s.keys.tables_match_the_model(), "{window:?} round {round}");
                assert_eq!(s.accounted_bytes(), s.recount_bytes());
                let json = serde_json::to_string(&s).expect("serializes");
                let back: FeatureStore = serde_json::from_str(&json).expect("restores");
                assert_eq!(back.accounted_bytes(), s.accounted_bytes());
                assert!(back.keys.tables_match_the_model());
            }
            assert!(peak > s.len(), "{window:?}: the churn removed keys");
        }
    }
}
