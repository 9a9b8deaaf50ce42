//! `Group`: the windows of several features keyed alike, one record a key.
//!
//! A pack keys most of its features by the same few key lists (the
//! account, the account and currency, the device, ...), and a
//! [`FeatureStore`] per feature gives each (key, feature) window its own
//! table slot. A group holds the features of one key list (its *members*,
//! at most [`MAX_MEMBERS`]) in one table: a key's record holds the
//! [`KeyState`] of every member that tracks it, so the key, its slot and
//! its hash are paid once per key, not once per window.
//!
//! **Each member behaves exactly as its own `FeatureStore` would.** A
//! member keeps the store's own bookkeeping (configuration, sweep time,
//! evictions, number of keys, accounted bytes) and every operation of the
//! store is the same operation on the member's states alone: the same
//! readings, sweeps, key-cap evictions, budget evictions, digest and
//! serialized bytes (`tests/group.rs` holds a group to a `FeatureStore`
//! per member over random sequences). A key's record goes when its last
//! member state goes.
//!
//! **Accounting.** A record keeps its states in an allocation of its own
//! (`Box<[KeyState]>`, as the allocator rounds it: 48 bytes for one
//! state, 640 for 13), besides its 40-byte table slot. A member accounts what its own
//! store would (its states' heap bytes and the tables of a store of its
//! number of keys, `layout`) **plus** [`Group::state_in_record`] bytes a state for
//! its place in its record's allocation: the largest share of a state in
//! any record's allocation (50 bytes; a unit test checks every record
//! size), so a key tracked by one member (a spray of fresh accounts
//! touches one member of each key list) is charged at least its whole
//! allocation. A member therefore accounts
//! more than its own store would, by `state_in_record()` a key, and a
//! budget evicts a grouped pack somewhat earlier than the same pack in
//! solo stores. The group's one table (40-byte slots for the records) is
//! left accounted as the members' own tables (56-byte slots, one per
//! state), which it undercuts when records hold several states and
//! matches in expectation when they hold one; `tests/held.rs` measures
//! the real bytes against the accounted ones.

use std::mem::size_of;

use crate::alloc::alloc_bytes;
use crate::digest::Digest;
use crate::layout::tables_bytes;
use crate::seed::ShardSeed;
use crate::shards::Keys;
use crate::snapshot::SnapshotRef;
use crate::state::{empty_read, KeyState, State};
use crate::store::{clamped_input, digest_config};
use crate::sweep::Sweeping;
use crate::window::Span;
use crate::{Aggregate, FeatureConfig, FeatureStore, Key, Obs, Read};

#[path = "group_record.rs"]
mod record;
pub(crate) use record::Record;

#[path = "group_sweep.rs"]
mod sweeping;

/// Members a group holds at most (a record's member mask is 32 bits).
pub const MAX_MEMBERS: usize = 32;

/// See [`Group::state_in_record`].
const STATE_IN_RECORD: u64 = 50;

fn state_in_record() -> u64 {
    STATE_IN_RECORD
}

/// A member's own bookkeeping: what its `FeatureStore` kept beside its keys.
#[derive(Clone, Debug)]
struct Member {
    config: FeatureConfig,
    last_sweep_ms: Option<i64>,
    evicted_total: u64,
    /// Keys whose record holds a state of this member.
    len: usize,
    /// Sum of those states' accounted heap bytes.
    accounted: u64,
    /// The model's tables for `len` keys (as the member's own store).
    table: u64,
    /// The member's sweep in progress, if any (`sweep`).
    sweeping: Option<Sweeping>,
}

impl Member {
    fn set_len(&mut self, len: usize) {
        self.len = len;
        self.table = tables_bytes(len);
    }
}

/// Several features' windows in one table of records (see the module docs).
#[derive(Clone, Debug)]
pub struct Group {
    members: Vec<Member>,
    records: Keys<Record>,
}

impl Group {
    /// An empty group whose keys are laid out by `seed`.
    pub fn new(seed: ShardSeed) -> Group {
        Group {
            members: Vec::new(),
            records: Keys::with_seed(seed),
        }
    }

    /// Takes `store` in as the next member (moving its keys' states into
    /// the records): returns the member's number, or gives the store back
    /// when the group is full or the store is a graph (graphs keep stores
    /// of their own).
    pub fn adopt(&mut self, mut store: FeatureStore) -> Result<usize, Box<FeatureStore>> {
        store.settle();
        let m = self.members.len();
        if m >= MAX_MEMBERS || store.config.aggregate == Aggregate::Graph {
            return Err(Box::new(store));
        }
        let len = store.keys.len();
        self.members.push(Member {
            config: store.config,
            last_sweep_ms: store.last_sweep_ms,
            evicted_total: store.evicted_total,
            len,
            accounted: store.accounted,
            table: tables_bytes(len),
            sweeping: None,
        });
        for (key, state) in store.keys.into_entries() {
            let loc = self.records.locate(&key);
            let record = self
                .records
                .entry_in(loc, key)
                .or_insert_with(Record::default);
            record.get_or_insert(m, || state);
            self.records.mark(loc, 1 << m);
        }
        Ok(m)
    }

    /// Gives every member back as its own `FeatureStore` (in member
    /// order), laid out by the group's seed.
    pub fn dissolve(mut self) -> Vec<FeatureStore> {
        self.settle();
        let seed = self.records.seed();
        let mut stores: Vec<FeatureStore> = self
            .members
            .iter()
            .map(|m| FeatureStore {
                config: m.config,
                keys: Keys::with_seed(seed),
                last_sweep_ms: m.last_sweep_ms,
                evicted_total: m.evicted_total,
                accounted: m.accounted,
                sweeping: None,
            })
            .collect();
        for (key, record) in self.records.into_entries() {
            let mut bits = record.mask;
            for state in record.states.into_vec() {
                let m = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                stores[m].keys.insert(key, state);
            }
        }
        stores
    }

    /// Accounted bytes of one member state for its place in its record's
    /// allocation: the largest share of a state in a record's allocation
    /// (as the allocator rounds it) over every record size, 50 bytes (13
    /// states take 640; one takes 48). A unit test checks the constant.
    pub fn state_in_record() -> u64 {
        STATE_IN_RECORD
    }

    /// Number of members.
    pub fn members(&self) -> usize {
        self.members.len()
    }

    /// Number of keys with a record (any member).
    pub fn records(&self) -> usize {
        self.records.len()
    }

    pub fn seed(&self) -> ShardSeed {
        self.records.seed()
    }

    /// Lays the records out by `seed`; nothing else changes.
    pub fn reseed(&mut self, seed: ShardSeed) {
        if seed == self.seed() {
            return;
        }
        self.settle();
        self.records.reseed(seed);
    }

    pub fn config(&self, m: usize) -> &FeatureConfig {
        &self.members[m].config
    }

    /// Member `m`'s number of tracked keys ([`FeatureStore::len`]; at
    /// least the settled number while it sweeps).
    pub fn len(&self, m: usize) -> usize {
        self.members[m].len
    }

    /// [`FeatureStore::evicted_total`] of member `m`.
    pub fn evicted_total(&self, m: usize) -> u64 {
        self.members[m].evicted_total
    }

    /// Accounted bytes of member `m`: [`FeatureStore::accounted_bytes`]
    /// of its own store, plus [`Group::state_in_record`] a key.
    pub fn accounted_bytes(&self, m: usize) -> u64 {
        let member = &self.members[m];
        member.accounted + member.table + member.len as u64 * state_in_record()
    }

    /// [`Group::accounted_bytes`] of member `m`, recounted from its states.
    pub fn recount_bytes(&self, m: usize) -> u64 {
        let (mut n, mut heap) = (0usize, 0u64);
        for (_, r) in self.records.iter() {
            if let Some(s) = r.get(m) {
                n += 1;
                heap += s.accounted();
            }
        }
        heap + tables_bytes(n) + n as u64 * state_in_record()
    }

    /// [`FeatureStore::apply`] on member `m`.
    pub fn apply(&mut self, m: usize, key: Key, obs: Option<Obs>, now_ms: i64) -> Read {
        let config = self.members[m].config;
        let span = Span::new(&config, now_ms);
        self.maybe_sweep(m, now_ms, &span);
        let loc = self.records.locate(&key);
        let read = |g: &Group| match g.tracked(m, loc, &key) {
            Some(k) => k.state.read(&span),
            None => empty_read(config.aggregate),
        };
        let Some((at, input)) = obs.and_then(|o| clamped_input(&config, o, now_ms)) else {
            return read(self);
        };
        let forgotten = self.forget_expired(m, loc, &key, at);
        let before = (config.aggregate == Aggregate::LastSeen).then(|| read(self));
        let known = !forgotten && self.records.get_in(loc, &key).is_some_and(|r| r.has(m));
        if !known {
            self.make_room(m, now_ms, &span, usize::from(forgotten));
        }
        // Still in its record: known, or forgotten and left there (its new
        // state already counted, marked and in the member's keys).
        let present = self.records.get_in(loc, &key).is_some_and(|r| r.has(m));
        let record = self
            .records
            .entry_in(loc, key)
            .or_insert_with(Record::default);
        let entry = record.get_or_insert(m, || KeyState {
            last_at: at,
            state: State::new(&config),
        });
        let bytes_before = if present { entry.accounted() } else { 0 };
        entry.observe(at, input, &config, &span);
        let bytes_after = entry.accounted();
        let after = before.is_none().then(|| entry.state.read(&span));
        if !present {
            self.records.mark(loc, 1 << m);
        }
        let member = &mut self.members[m];
        if !present {
            member.set_len(member.len + 1);
        }
        member.accounted = member.accounted.saturating_sub(bytes_before) + bytes_after;
        before
            .or(after)
            .unwrap_or_else(|| empty_read(config.aggregate))
    }

    /// [`FeatureStore::read`] on member `m`.
    pub fn read(&self, m: usize, key: Key, now_ms: i64) -> Read {
        let config = &self.members[m].config;
        match self.tracked(m, self.records.locate(&key), &key) {
            Some(k) => k.state.read(&Span::new(config, now_ms)),
            None => empty_read(config.aggregate),
        }
    }

    /// [`FeatureStore::for_each_tiered_age`] on member `m` (settle it
    /// first).
    pub fn for_each_tiered_age(&self, m: usize, mut f: impl FnMut(i64, u64, bool)) {
        debug_assert!(!self.is_sweeping(m), "settle first");
        let member = &self.members[m];
        let share = member.table / (member.len as u64).max(1) + state_in_record();
        for (_, r) in self.records.iter() {
            if let Some(k) = r.get(m) {
                f(k.last_at, k.accounted() + share, k.state.repeated());
            }
        }
    }

    /// [`FeatureStore::evict_tiered`] on member `m`.
    pub fn evict_tiered(
        &mut self,
        m: usize,
        single_through: i64,
        repeated_through: i64,
    ) -> (u64, u64) {
        self.settle_member(m);
        let before = self.accounted_bytes(m);
        let (keys, _) = self.remove_where(m, |_, k| {
            let through = if k.state.repeated() {
                repeated_through
            } else {
                single_through
            };
            k.last_at <= through
        });
        (keys, before.saturating_sub(self.accounted_bytes(m)))
    }

    /// [`FeatureStore::state_digest`] of member `m`.
    pub fn state_digest(&self, m: usize) -> u64 {
        let settled = self.settled(m);
        let g = settled.as_ref();
        let member = &g.members[m];
        let mut d = Digest::new();
        digest_config(&member.config, &mut d);
        d.opt(member.last_sweep_ms);
        d.u64(member.evicted_total);
        d.u64(member.len as u64);
        for (key, k) in g.sorted_keys(m) {
            d.u128(key);
            d.i64(k.last_at);
            k.state.digest(&mut d);
        }
        d.finish()
    }

    /// Member `m`'s share of the bytes used (a measurement, as
    /// [`FeatureStore::approx_bytes`]): its states' share of their records'
    /// allocations (as the allocator rounds them, rounded up), their heap,
    /// and its share of the table by states.
    pub fn approx_bytes(&self, m: usize) -> usize {
        let states: usize = self.members.iter().map(|x| x.len).sum();
        let table =
            self.records.real_table_bytes() as usize + crate::shards::SHARDS * size_of::<usize>();
        let share = table * self.members[m].len / states.max(1);
        let heap: usize = self
            .records
            .values()
            .filter_map(|r| r.get(m).map(|k| (r.states.len(), k)))
            .map(|(n, k)| {
                alloc_bytes(n * size_of::<KeyState>()).div_ceil(n as u64) as usize
                    + k.state.heap_bytes()
            })
            .sum();
        share + heap
    }

    /// Member `m`'s (key, state) sorted by key.
    pub(crate) fn sorted_keys(&self, m: usize) -> Vec<(Key, &KeyState)> {
        let mut entries: Vec<_> = self
            .records
            .iter()
            .filter_map(|(key, r)| r.get(m).map(|s| (key, s)))
            .collect();
        entries.sort_unstable_by_key(|e| e.0);
        entries
    }

    /// Member `m` in its `FeatureStore`'s serialized form (settle it
    /// first: [`Group::settled`]).
    pub(crate) fn snapshot_ref(&self, m: usize) -> SnapshotRef<'_> {
        let member = &self.members[m];
        SnapshotRef {
            config: &member.config,
            keys: self.sorted_keys(m),
            last_sweep_ms: member.last_sweep_ms,
            evicted_total: member.evicted_total,
        }
    }

    /// Removes member `m`'s state from every key for which `drop` holds,
    /// and every record left empty: (keys, accounted heap bytes) removed.
    fn remove_where(&mut self, m: usize, drop: impl Fn(&Key, &KeyState) -> bool) -> (u64, u64) {
        let (mut keys, mut bytes) = (0u64, 0u64);
        self.records.retain_member(
            1 << m,
            |key, r| r.get(m).is_some_and(|s| drop(key, s)),
            |key, r| {
                if r.get(m).is_some_and(|s| drop(key, s)) {
                    if let Some(s) = r.remove(m) {
                        keys += 1;
                        bytes += s.accounted();
                    }
                }
                !r.is_empty()
            },
        );
        let member = &mut self.members[m];
        member.set_len(member.len - keys as usize);
        member.accounted = member.accounted.saturating_sub(bytes);
        (keys, bytes)
    }

    /// Makes space for one new key of member `m`, as [`FeatureStore`]'s.
    fn make_room(&mut self, m: usize, now_ms: i64, span: &Span, uncounted: usize) {
        let cap = self.members[m].config.max_keys;
        if self.members[m].len.saturating_sub(uncounted) < cap {
            return;
        }
        self.settle_member(m);
        if self.members[m].len < cap {
            return;
        }
        self.sweep(m, now_ms, span);
        let len = self.members[m].len;
        if len < cap {
            return;
        }
        let step = (cap / 16).max(1).max(len + 1 - cap);
        let mut order: Vec<(i64, Key)> = self
            .records
            .iter()
            .filter_map(|(key, r)| r.get(m).map(|s| (s.last_at, key)))
            .collect();
        let step = step.min(order.len());
        if step == 0 {
            return;
        }
        let (_, &mut last, _) = order.select_nth_unstable(step - 1);
        let (keys, _) = self.remove_where(m, |key, s| (s.last_at, *key) <= last);
        self.members[m].evicted_total += keys;
    }
}

#[cfg(test)]
#[path = "group_tests.rs"]
mod tests;
