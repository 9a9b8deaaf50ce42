//! `Keys`: the per-key states of a store, as copy-on-write shards.
//!
//! The keys are spread over [`SHARDS`] hash maps, each behind an `Arc`, so
//! cloning a store (the engine's snapshot copy, taken under the ledger lock)
//! copies pointers only. A write to a shard shared with a copy clones that
//! one shard first (`Arc::make_mut`), so the copy keeps the state as of the
//! clone. Nothing iterates the shards in an order that reaches a result
//! (see the crate docs).
//!
//! **The shard of a key** is keyed by the store's secret [`ShardSeed`]
//! (SipHash-1-3), so keys crafted offline cannot pile into one shard and
//! make every per-shard operation (a resize, a clone after a copy, a
//! rebuild) touch the whole store (the attacker's review, F1). Each shard's
//! map also hashes with a seeded hasher, so its lookups stay fast.
//!
//! **Accounting the tables.** A shard that loses keys is rebuilt at the
//! size of what it keeps, so a table never stays at an earlier peak's size,
//! nor grows early because of the tombstones removals leave (hashbrown
//! doubles a table whose free slots ran out while it is more than half
//! full, tombstones included: under churn that left tables at a quarter to
//! a half full). Each shard's table is then the size a std `HashMap` has
//! for its length. The accounting does not sum those per shard, though:
//! the lengths depend on the seed, and nothing that reaches a decision may
//! (a replay of the log without a snapshot draws another seed; the budget's
//! evictions follow the accounting). [`Keys::table_bytes`] is a function of
//! the number of keys alone (`layout`): the expected bytes of [`SHARDS`]
//! tables over which that many keys are spread at random (checked against
//! real tables under several seeds in the tests).

use std::collections::hash_map::{self, HashMap};
use std::mem::size_of;
use std::ops::Range;
use std::sync::Arc;

use crate::alloc::{alloc_bytes, table_bytes};
use crate::layout::tables_bytes;
use crate::seed::ShardSeed;
use crate::state::KeyState;
use crate::Key;

#[path = "shards_hints.rs"]
mod hints;
use hints::Hints;

/// Shards per store. A write after a copy clones 1/SHARDS of the store.
pub(crate) const SHARDS: usize = 1024;
/// Bits of a shard index.
const BITS: u32 = SHARDS.trailing_zeros();

type Hasher = foldhash::fast::RandomState;
type Shard<V = KeyState> = HashMap<Fp, V, Hasher>;

/// What a table holds per key: a feature's [`KeyState`], or a group's
/// record of several (`group`).
pub(crate) trait Held: Clone {
    /// True when the table's bytes are accounted by the layout model
    /// ([`Keys::table_bytes`]); a group's members account their own.
    const MODELLED: bool;
    /// True when the value has a member mask ([`Held::mask`]) and the
    /// table keeps a hint of each shard's masks ([`Keys::mark`]).
    const MASKED: bool = false;
    /// Accounted heap bytes of the value.
    fn accounted(&self) -> u64;
    /// The members the value holds a state of (a group's record).
    fn mask(&self) -> u32 {
        0
    }
}

impl Held for KeyState {
    const MODELLED: bool = true;
    fn accounted(&self) -> u64 {
        self.state.accounted()
    }
}

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

/// Rebuilds a shard that lost keys at the size of what it keeps (see the
/// module docs); frees it when empty.
fn rebuild<V: Held>(slot: &mut Option<Arc<Shard<V>>>) {
    let Some(shard) = slot else { return };
    if shard.is_empty() {
        *slot = None;
        return;
    }
    let shard = Arc::make_mut(shard);
    let old = std::mem::take(shard);
    let mut fresh = Shard::<V>::with_capacity_and_hasher(old.len(), Hasher::default());
    fresh.extend(old);
    *shard = fresh;
}

/// The tracked keys of a store: a map from key to state, cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Keys<V: Held = KeyState> {
    /// `None` until the shard's first key (an empty store allocates no shard).
    shards: Vec<Option<Arc<Shard<V>>>>,
    len: usize,
    /// Accounted bytes of the tables, the model's for `len` (`layout`),
    /// kept up to date.
    table: u64,
    /// The secret that picks a key's shard.
    seed: ShardSeed,
    /// For a [`Held::MASKED`] value, the shards each mask bit may be in
    /// (see [`Hints`]); empty otherwise.
    hints: Hints,
}

/// Empty, with a fresh seed.
impl<V: Held> Default for Keys<V> {
    fn default() -> Keys<V> {
        Keys::with_seed(ShardSeed::fresh())
    }
}

/// A key's shard, found once ([`Keys::locate`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Loc(usize);

impl Loc {
    /// The shard's index (a sweep in progress compares it with the next
    /// shard it sweeps).
    pub fn index(self) -> usize {
        self.0
    }
}

/// A vacant or occupied key of [`Keys::entry_in`].
pub(crate) struct Entry<'a, V: Held = KeyState> {
    inner: hash_map::Entry<'a, Fp, V>,
    len: &'a mut usize,
    table: &'a mut u64,
}

impl<'a, V: Held> Entry<'a, V> {
    /// The key's state, inserting `f()` if it has none.
    pub fn or_insert_with(self, f: impl FnOnce() -> V) -> &'a mut V {
        match self.inner {
            hash_map::Entry::Occupied(o) => o.into_mut(),
            hash_map::Entry::Vacant(v) => {
                *self.len += 1;
                if V::MODELLED {
                    *self.table = tables_bytes(*self.len);
                }
                v.insert(f())
            }
        }
    }
}

impl<V: Held> Keys<V> {
    /// Empty, laid out by `seed`.
    pub fn with_seed(seed: ShardSeed) -> Keys<V> {
        Keys {
            shards: vec![None; SHARDS],
            len: 0,
            table: 0,
            seed,
            hints: Hints::new(V::MASKED),
        }
    }

    pub fn seed(&self) -> ShardSeed {
        self.seed
    }

    /// Lays the keys out by `seed` (moving every state into the shards it
    /// picks, each built at its size); nothing else changes.
    pub fn reseed(&mut self, seed: ShardSeed) {
        if seed == self.seed {
            return;
        }
        let mut parts: Vec<Vec<(Fp, V)>> = vec![Vec::new(); SHARDS];
        for slot in &mut self.shards {
            let Some(shard) = slot.take() else { continue };
            let shard = Arc::try_unwrap(shard).unwrap_or_else(|shared| (*shared).clone());
            for (fp, state) in shard {
                parts[seed.shard(fp.key(), BITS)].push((fp, state));
            }
        }
        for (at, (slot, part)) in self.shards.iter_mut().zip(parts).enumerate() {
            self.hints
                .set(at, part.iter().fold(0, |h, (_, v)| h | v.mask()));
            if !part.is_empty() {
                let mut shard = Shard::<V>::with_capacity_and_hasher(part.len(), Hasher::default());
                shard.extend(part);
                *slot = Some(Arc::new(shard));
            }
        }
        self.seed = seed;
    }

    /// Notes that a value of the located key's shard now holds `bits`
    /// (every change that adds a bit to a value's [`Held::mask`] must be
    /// marked, or a member's pass may skip the shard).
    pub fn mark(&mut self, loc: Loc, bits: u32) {
        self.hints.mark(loc.0, bits);
    }

    /// The shard `key` lives in.
    fn shard_of(&self, key: &Key) -> usize {
        self.seed.shard(*key, BITS)
    }

    /// Where `key` lives: hash it once for several calls (`*_in`). Valid
    /// until the store is reseeded.
    pub fn locate(&self, key: &Key) -> Loc {
        Loc(self.shard_of(key))
    }

    /// [`Keys::get`] of a located key.
    pub fn get_in(&self, loc: Loc, key: &Key) -> Option<&V> {
        self.shards[loc.0].as_ref()?.get(&Fp::of(*key))
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Accounted bytes of the tables (a function of the number of keys;
    /// see the module docs).
    pub fn table_bytes(&self) -> u64 {
        self.table
    }

    /// [`Keys::table_bytes`] recomputed from the shards' lengths (tests).
    pub fn recount_table_bytes(&self) -> u64 {
        tables_bytes(self.shards.iter().flatten().map(|s| s.len()).sum())
    }

    pub fn get(&self, key: &Key) -> Option<&V> {
        self.shards[self.shard_of(key)].as_ref()?.get(&Fp::of(*key))
    }

    /// The entry of a located key.
    pub fn entry_in(&mut self, loc: Loc, key: Key) -> Entry<'_, V> {
        let shard = Arc::make_mut(self.shards[loc.0].get_or_insert_with(Default::default));
        Entry {
            inner: shard.entry(Fp::of(key)),
            len: &mut self.len,
            table: &mut self.table,
        }
    }

    /// Inserts `state` under `key`, returning the state it replaces.
    pub fn insert(&mut self, key: Key, state: V) -> Option<V> {
        let at = self.shard_of(&key);
        self.hints.mark(at, state.mask());
        let shard = Arc::make_mut(self.shards[at].get_or_insert_with(Default::default));
        let old = shard.insert(Fp::of(key), state);
        if old.is_none() {
            self.len += 1;
            self.refresh_table();
        }
        old
    }

    /// The model's table bytes for the current length.
    fn refresh_table(&mut self) {
        if V::MODELLED {
            self.table = tables_bytes(self.len);
        }
    }

    /// Every (key, state), in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (Key, &V)> {
        self.shards
            .iter()
            .flatten()
            .flat_map(|s| s.iter().map(|(k, v)| (k.key(), v)))
    }

    /// Every state, in no particular order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }

    /// Keeps the keys of the shards in `range` (all of them, or a sweep's
    /// part) for which `keep` is true (called once per key, in no
    /// particular order; `keep` may change the state, so every shard of the
    /// range is unshared first). A shard that lost keys is rebuilt at its
    /// new size.
    pub fn retain_in(&mut self, range: Range<usize>, mut keep: impl FnMut(&Key, &mut V) -> bool) {
        let mut lost = 0;
        for slot in &mut self.shards[range] {
            let Some(shard) = slot else { continue };
            let shard = Arc::make_mut(shard);
            let before = shard.len();
            shard.retain(|k, v| keep(&k.key(), v));
            let after = shard.len();
            if after < before {
                lost += before - after;
                rebuild(slot);
            }
        }
        self.len -= lost;
        self.refresh_table();
    }

    /// The located key's value, to change in place.
    pub fn get_mut_in(&mut self, loc: Loc, key: &Key) -> Option<&mut V> {
        Arc::make_mut(self.shards[loc.0].as_mut()?).get_mut(&Fp::of(*key))
    }

    /// Removes the keys for which `drop` (a pure test of the key and its
    /// state) is true: returns (keys, accounted heap bytes of their states)
    /// removed; [`Keys::table_bytes`] follows. A shard it removes nothing
    /// from stays shared with any copy (a read-only pass first).
    pub fn remove_where(&mut self, drop: impl Fn(&Key, &V) -> bool) -> (u64, u64) {
        let (mut keys, mut bytes) = (0u64, 0u64);
        for slot in &mut self.shards {
            let Some(shard) = slot else { continue };
            if !shard.iter().any(|(k, v)| drop(&k.key(), v)) {
                continue;
            }
            let shard = Arc::make_mut(shard);
            shard.retain(|k, v| {
                if !drop(&k.key(), v) {
                    return true;
                }
                keys += 1;
                bytes += v.accounted();
                false
            });
            rebuild(slot);
        }
        self.len -= keys as usize;
        self.refresh_table();
        (keys, bytes)
    }

    /// Like [`Keys::retain_in`] over every shard, for the values of one member (`bit`, of
    /// [`Held::mask`]): a shard whose hint lacks the bit, or none of whose
    /// values holding the bit `touch` (a pure test), is left alone, still
    /// shared with any copy (a shard found without the bit loses it from
    /// its hint); `keep` is called on every value of a touched shard, whose
    /// hint is then made exact. A shard that lost keys is rebuilt at its new
    /// size. Without hints (a value that is not [`Held::MASKED`]) every
    /// shard is tested.
    pub fn retain_member(
        &mut self,
        bit: u32,
        touch: impl Fn(&Key, &V) -> bool,
        keep: impl FnMut(&Key, &mut V) -> bool,
    ) {
        self.retain_member_in(0..SHARDS, bit, touch, keep);
    }

    /// [`Keys::retain_member`] over the shards of `range` only.
    pub fn retain_member_in(
        &mut self,
        range: Range<usize>,
        bit: u32,
        touch: impl Fn(&Key, &V) -> bool,
        mut keep: impl FnMut(&Key, &mut V) -> bool,
    ) {
        debug_assert!(bit.is_power_of_two());
        let masked = self.hints.on();
        let mut lost = 0;
        for at in self.hints.shards(bit, range) {
            let slot = &mut self.shards[at];
            let Some(shard) = slot else {
                self.hints.set(at, 0);
                continue;
            };
            let (mut held, mut touched) = (false, false);
            for (k, v) in shard.iter() {
                if v.mask() & bit != 0 || !masked {
                    held = true;
                    if touch(&k.key(), v) {
                        touched = true;
                        break;
                    }
                }
            }
            if !touched {
                if !held {
                    let bits = shard.values().fold(0, |m, v| m | v.mask());
                    self.hints.set(at, bits);
                }
                continue;
            }
            let shard = Arc::make_mut(shard);
            let before = shard.len();
            let mut masks = 0;
            shard.retain(|k, v| {
                let kept = keep(&k.key(), v);
                if kept {
                    masks |= v.mask();
                }
                kept
            });
            self.hints.set(at, masks);
            let after = shard.len();
            if after < before {
                lost += before - after;
                rebuild(slot);
            }
        }
        self.len -= lost;
        self.refresh_table();
    }

    /// Every (key, value), taken out (the shards a copy shares are cloned).
    pub fn into_entries(self) -> impl Iterator<Item = (Key, V)> {
        self.shards.into_iter().flatten().flat_map(|shard| {
            let shard = Arc::try_unwrap(shard).unwrap_or_else(|shared| (*shared).clone());
            shard.into_iter().map(|(k, v)| (k.key(), v))
        })
    }

    /// Bytes the shards really hold (their tables at their real capacities
    /// and their headers, as the allocator rounds them): for measurements
    /// beside the accounting, never for it.
    pub fn real_table_bytes(&self) -> u64 {
        let header = alloc_bytes(2 * size_of::<usize>() + size_of::<Shard<V>>());
        let buckets = |c: usize| if c < 8 { c + 1 } else { c / 7 * 8 };
        self.shards
            .iter()
            .flatten()
            .map(|s| {
                let b = buckets(s.capacity());
                header + alloc_bytes((b * size_of::<(Fp, V)>()).next_multiple_of(16) + b + 16)
            })
            .sum()
    }
}

/// Equal when they hold the same keys with equal states (shard layout and
/// seeds do not matter).
impl<V: Held + PartialEq> PartialEq for Keys<V> {
    fn eq(&self, other: &Keys<V>) -> bool {
        self.len == other.len && self.iter().all(|(k, v)| other.get(&k) == Some(v))
    }
}

impl<V: Held + Eq> Eq for Keys<V> {}

#[cfg(test)]
#[path = "shards_probes.rs"]
mod probes;

#[cfg(test)]
#[path = "shards_tests.rs"]
mod tests;
