//! `CowMap`: a map as copy-on-write shards, serialized sorted, so the engine's snapshot
//! copy (taken under the ledger lock) copies pointers only.
//!
//! Keys are spread over [`SHARDS`] hash tables behind `Arc`s by SipHash-1-3
//! under a secret seed drawn per map (never serialized: the layout reaches
//! nothing), so keys crafted offline cannot pile into one shard and make a
//! write after a copy clone the whole map (the attacker's review, F1). A write to a shard still
//! shared with a copy clones that one shard first (`Arc::make_mut`), so the
//! copy keeps the state as of the clone. Serialized exactly as one
//! `BTreeMap` (entries in key order), so snapshots are unchanged.
//!
//! A shard is a hash table (`foldhash`, seeded per table), not the
//! `BTreeMap` it was: a login's score reads a dozen population and profile
//! entries, and a B-tree search over thousands of entries a shard took
//! about 4% of a medium replay (`bench/results/2026-12-07-hash-shards.md`).
//! Nothing reads a shard in order: iteration is "in no particular order"
//! (the shard a key lands in is already the seed's choice), and
//! serialization and digests sort ([`CowMap::sorted`]).

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::Arc;

use sekimori_window::ShardSeed;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Shards per map.
pub(crate) const SHARDS: usize = 256;

/// One shard's table.
type Shard<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// Gives a shard's table back once it holds less than a quarter of what
/// it has room for: a `HashMap` never shrinks by itself, and a budget's
/// eviction must free what it stops accounting (as a `BTreeMap` frees its
/// emptied nodes). Shrinking at a quarter, not at every removal, keeps
/// a table that drains one key at a time from rebuilding each time.
fn trim<K: Hash + Eq, V, S: std::hash::BuildHasher>(shard: &mut HashMap<K, V, S>) {
    if shard.len() < shard.capacity() / 4 {
        shard.shrink_to_fit();
    }
}

/// A key's bits, which the seed's hash picks its shard from.
pub(crate) trait ShardKey: Ord + Hash + Copy {
    fn bits(&self) -> u128;
}

impl ShardKey for u64 {
    fn bits(&self) -> u128 {
        u128::from(*self)
    }
}

impl ShardKey for u128 {
    fn bits(&self) -> u128 {
        *self
    }
}

#[derive(Clone, Debug)]
pub(crate) struct CowMap<K, V> {
    /// `None` until the shard's first entry.
    shards: Vec<Option<Arc<Shard<K, V>>>>,
    len: usize,
    /// Picks a key's shard (see the module docs).
    seed: ShardSeed,
}

impl<K: ShardKey, V: Clone> Default for CowMap<K, V> {
    fn default() -> Self {
        CowMap {
            shards: vec![None; SHARDS],
            len: 0,
            seed: ShardSeed::fresh(),
        }
    }
}

impl<K: ShardKey, V: Clone> CowMap<K, V> {
    pub fn new() -> Self {
        Self::default()
    }

    /// The shard of `key`.
    fn at(&self, key: &K) -> usize {
        self.seed.shard(key.bits(), SHARDS.trailing_zeros())
    }

    /// `key`'s shard, unshared (cloned if a copy still holds it).
    fn shard_mut(&mut self, key: &K) -> &mut Shard<K, V> {
        let at = self.at(key);
        Arc::make_mut(self.shards[at].get_or_insert_with(Default::default))
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn get(&self, key: &K) -> Option<&V> {
        self.shards[self.at(key)].as_ref()?.get(key)
    }

    pub fn contains_key(&self, key: &K) -> bool {
        self.get(key).is_some()
    }

    /// The mutable value of `key`, if any (unshares its shard only then).
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        if !self.contains_key(key) {
            return None;
        }
        self.shard_mut(key).get_mut(key)
    }

    /// The value of `key`, inserting `f()` first if there is none.
    pub fn get_or_insert_with(&mut self, key: K, f: impl FnOnce() -> V) -> &mut V {
        let at = self.at(&key);
        let shard = Arc::make_mut(self.shards[at].get_or_insert_with(Default::default));
        let len = &mut self.len;
        shard.entry(key).or_insert_with(|| {
            *len += 1;
            f()
        })
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        if !self.contains_key(key) {
            return None;
        }
        let shard = self.shard_mut(key);
        let old = shard.remove(key);
        trim(shard);
        self.len -= usize::from(old.is_some());
        old
    }

    /// Every value, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.shards.iter().flatten().flat_map(|s| s.values())
    }

    /// Every entry, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.shards.iter().flatten().flat_map(|s| s.iter())
    }

    /// Every entry in key order (serialization, digests).
    pub fn sorted(&self) -> Vec<(&K, &V)> {
        let mut all: Vec<(&K, &V)> = self.iter().collect();
        all.sort_unstable_by_key(|e| *e.0);
        all
    }

    /// Removes the entries `drop` (a pure test) is true of, passing each to
    /// `gone`; a shard nothing goes from stays shared with any copy.
    pub fn remove_where(&mut self, drop: impl Fn(&V) -> bool, mut gone: impl FnMut(&K, &V)) {
        for slot in &mut self.shards {
            let Some(shard) = slot else { continue };
            if !shard.values().any(&drop) {
                continue;
            }
            let shard = Arc::make_mut(shard);
            let before = shard.len();
            shard.retain(|k, v| {
                let out = drop(v);
                if out {
                    gone(k, v);
                }
                !out
            });
            self.len -= before - shard.len();
            if shard.is_empty() {
                *slot = None;
            } else {
                trim(shard);
            }
        }
    }

    /// Entries the shards' tables have room for (tests).
    #[cfg(test)]
    pub fn capacity(&self) -> usize {
        self.shards.iter().flatten().map(|s| s.capacity()).sum()
    }

    /// Shards a copy still shares (tests).
    #[cfg(test)]
    pub fn shared_shards(&self) -> usize {
        let shared = |s: &&Arc<Shard<K, V>>| Arc::strong_count(s) > 1;
        self.shards.iter().flatten().filter(shared).count()
    }
}

impl<K: ShardKey, V: Clone> FromIterator<(K, V)> for CowMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = CowMap::new();
        for (k, v) in iter {
            if map.shard_mut(&k).insert(k, v).is_none() {
                map.len += 1;
            }
        }
        map
    }
}

impl<K: ShardKey, V: Clone> From<BTreeMap<K, V>> for CowMap<K, V> {
    fn from(m: BTreeMap<K, V>) -> Self {
        m.into_iter().collect()
    }
}

impl<K: ShardKey, V: Clone + PartialEq> PartialEq for CowMap<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().all(|(k, v)| other.get(k) == Some(v))
    }
}

impl<K: ShardKey + Serialize, V: Clone + Serialize> Serialize for CowMap<K, V> {
    /// As a `BTreeMap` of the same entries: byte-identical snapshots.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.sorted())
    }
}

impl<'de, K, V> Deserialize<'de> for CowMap<K, V>
where
    K: ShardKey + Deserialize<'de>,
    V: Clone + Deserialize<'de>,
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(BTreeMap::<K, V>::deserialize(d)?.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A drained map gives its tables back (review of the hash shards,
    /// finding 1: a `HashMap` keeps its size after removals, so a budget's
    /// evictions freed nothing they stopped accounting).
    #[test]
    fn removals_give_the_tables_back() {
        let mut map: CowMap<u64, [u64; 4]> = CowMap::new();
        for k in 0..40_000u64 {
            map.get_or_insert_with(k, || [k; 4]);
        }
        let full = map.capacity();
        assert!(full >= 40_000);
        map.remove_where(|v| v[0] >= 400, |_, _| {});
        assert_eq!(map.len(), 400);
        assert!(map.capacity() <= 4 * 400 + 4 * SHARDS, "{}", map.capacity());
        for k in 0..40_000u64 {
            map.get_or_insert_with(k, || [k; 4]);
        }
        for k in 400..40_000u64 {
            assert!(map.remove(&k).is_some());
        }
        assert_eq!(map.len(), 400);
        assert!(map.capacity() <= 4 * 400 + 4 * SHARDS, "{}", map.capacity());
    }

    /// The attacker's review, F1: 5,000 keys that all shared shard 0 under
    /// the fixed function this map used spread under the seed, and a write
    /// after a copy clones one small shard.
    #[test]
    fn keys_crafted_for_one_shard_spread() {
        let fixed = |k: u128| {
            let x = (k as u64) ^ ((k >> 64) as u64);
            (x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - SHARDS.trailing_zeros())) as usize
        };
        let mut map: CowMap<u128, u64> = CowMap::new();
        let crafted = (0u128..)
            .map(|i| i.wrapping_mul(0x2545_F491_4F6C_DD1D_0000_0001))
            .filter(|k| fixed(*k) == 0)
            .take(5_000);
        for k in crafted {
            map.get_or_insert_with(k, || 1);
        }
        assert_eq!(map.len(), 5_000);
        let longest = map.shards.iter().flatten().map(|s| s.len()).max();
        let mean = 5_000 / SHARDS + 1;
        assert!(longest.is_some_and(|l| l < 4 * mean), "{longest:?}");
        let copy = map.clone();
        map.get_or_insert_with(7, || 2);
        assert_eq!(
            map.shared_shards(),
            copy.shards.iter().flatten().count() - 1
        );
    }
}
