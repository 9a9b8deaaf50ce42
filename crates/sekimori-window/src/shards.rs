//! `Keys`: the per-key states of a store, as copy-on-write shards.
//!
//! The keys are spread over [`SHARDS`] hash maps, each behind an `Arc`, so
//! cloning a store (the engine's snapshot copy, taken under the ledger lock)
//! copies pointers only. A write to a shard shared with a copy clones that
//! one shard first (`Arc::make_mut`), so the copy keeps the state as of the
//! clone. Which shard a key lands in is a seeded hash of the key (crafted
//! keys cannot pile into one shard); nothing iterates the shards in an order
//! that reaches a result (see the crate docs).

use std::collections::hash_map::{self, HashMap};
use std::hash::BuildHasher;
use std::sync::Arc;

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

/// One table slot: what the accounting counts per key.
pub(crate) type Slot = (Fp, KeyState);

/// The tracked keys of a store: a map from key to state, cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Keys {
    /// `None` until the shard's first key (an empty store allocates no shard).
    shards: Vec<Option<Arc<Shard>>>,
    len: usize,
    /// Picks the shard of a key.
    pick: Hasher,
}

impl Default for Keys {
    fn default() -> Keys {
        Keys {
            shards: vec![None; SHARDS],
            len: 0,
            pick: Hasher::default(),
        }
    }
}

/// A vacant or occupied key of [`Keys::entry`].
pub(crate) struct Entry<'a> {
    inner: hash_map::Entry<'a, Fp, KeyState>,
    len: &'a mut usize,
}

impl<'a> Entry<'a> {
    /// The key's state, inserting `f()` if it has none.
    pub fn or_insert_with(self, f: impl FnOnce() -> KeyState) -> &'a mut KeyState {
        match self.inner {
            hash_map::Entry::Occupied(o) => o.into_mut(),
            hash_map::Entry::Vacant(v) => {
                *self.len += 1;
                v.insert(f())
            }
        }
    }
}

impl Keys {
    fn shard_of(&self, key: &Key) -> usize {
        (self.pick.hash_one(key) >> (64 - SHARDS.trailing_zeros())) as usize
    }

    /// The shard of `key`, unshared (cloned if a copy still holds it).
    fn shard_mut(&mut self, key: &Key) -> &mut Shard {
        let i = self.shard_of(key);
        Arc::make_mut(self.shards[i].get_or_insert_with(Default::default))
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, key: &Key) -> Option<&KeyState> {
        self.shards[self.shard_of(key)].as_ref()?.get(&Fp::of(*key))
    }

    pub fn contains_key(&self, key: &Key) -> bool {
        self.get(key).is_some()
    }

    pub fn entry(&mut self, key: Key) -> Entry<'_> {
        let i = self.shard_of(&key);
        let shard = Arc::make_mut(self.shards[i].get_or_insert_with(Default::default));
        Entry {
            inner: shard.entry(Fp::of(key)),
            len: &mut self.len,
        }
    }

    /// Inserts `state` under `key`, returning the state it replaces.
    pub fn insert(&mut self, key: Key, state: KeyState) -> Option<KeyState> {
        let old = self.shard_mut(&key).insert(Fp::of(key), state);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    pub fn remove(&mut self, key: &Key) -> Option<KeyState> {
        let i = self.shard_of(key);
        let shard = self.shards[i].as_mut()?;
        let fp = Fp::of(*key);
        if !shard.contains_key(&fp) {
            return None;
        }
        let old = Arc::make_mut(shard).remove(&fp);
        if old.is_some() {
            self.len -= 1;
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
    /// unshared first). Shrinks shards left mostly empty.
    pub fn retain(&mut self, mut keep: impl FnMut(&Key, &mut KeyState) -> bool) {
        let mut len = 0;
        for slot in &mut self.shards {
            let Some(shard) = slot else { continue };
            let shard = Arc::make_mut(shard);
            shard.retain(|k, v| keep(&k.key(), v));
            len += shard.len();
            if shard.is_empty() {
                *slot = None;
            } else if shard.capacity() > 64 && shard.len() * 4 < shard.capacity() {
                shard.shrink_to(shard.len() * 2);
            }
        }
        self.len = len;
    }

    /// Removes the keys for which `drop` (a pure test) is true: returns
    /// (keys, accounted bytes) removed. A shard it removes nothing from
    /// stays shared with any copy (a read-only pass first).
    pub fn remove_where(&mut self, drop: impl Fn(&KeyState) -> bool) -> (u64, u64) {
        let (mut keys, mut bytes) = (0u64, 0u64);
        for slot in &mut self.shards {
            let Some(shard) = slot else { continue };
            if !shard.values().any(&drop) {
                continue;
            }
            let shard = Arc::make_mut(shard);
            shard.retain(|_, v| {
                if !drop(v) {
                    return true;
                }
                keys += 1;
                bytes += v.accounted();
                false
            });
            if shard.is_empty() {
                *slot = None;
            } else if shard.capacity() > 64 && shard.len() * 4 < shard.capacity() {
                shard.shrink_to(shard.len() * 2);
            }
        }
        self.len -= keys as usize;
        (keys, bytes)
    }

    /// Table slots allocated over every shard.
    pub fn capacity(&self) -> usize {
        self.shards.iter().flatten().map(|s| s.capacity()).sum()
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
}
