//! `FeatureStore`: the keyed map of per-key states, sweeping and the key cap.

use std::borrow::Cow;
use std::mem::size_of;
use std::ops::Range;

use serde::Deserialize;

use crate::digest::Digest;
use crate::seed::ShardSeed;
use crate::shards::{Loc, SHARDS};
use crate::snapshot::Snapshot;
use crate::state::{empty_read, Input, KeyState, State};
use crate::sweep::{self, Sweeping};
use crate::window::Span;
use crate::{Aggregate, FeatureConfig, Key, Obs, Read, Window, WindowError};

/// The tracked keys: copy-on-write shards of hash maps (see `shards`), so
/// a clone copies pointers only. A key's shard is SipHash-1-3 under the
/// store's secret seed (crafted keys cannot pile into one shard); within a
/// shard, keys are already xxh3 hashes, so the maps hash them with foldhash
/// (fast, and seeded per process so crafted keys cannot pile into one
/// bucket).
pub(crate) use crate::shards::Keys;

/// Windowed aggregate state of one feature for every tracked key. See the crate docs.
#[derive(Clone, Debug, Deserialize)]
#[serde(try_from = "Snapshot")]
pub struct FeatureStore {
    pub(crate) config: FeatureConfig,
    /// Iteration order of this map never influences a result (see crate docs).
    pub(crate) keys: Keys,
    pub(crate) last_sweep_ms: Option<i64>,
    pub(crate) evicted_total: u64,
    /// The sum of every key's [`KeyState::accounted`] heap bytes, kept up
    /// to date by every change (never serialized: a function of the keys);
    /// the tables' bytes are the keys' own ([`Keys::table_bytes`]).
    pub(crate) accounted: u64,
    /// The sweep in progress, if any (`sweep`): physical only, never
    /// serialized, never compared.
    pub(crate) sweeping: Option<Sweeping>,
}

/// Equal when their settled states are: the same configuration, sweep
/// time, evictions and keys with equal states (a sweep's progress, the
/// layout and the seed do not matter).
impl PartialEq for FeatureStore {
    fn eq(&self, other: &FeatureStore) -> bool {
        let (a, b) = (self.settled(), other.settled());
        a.config == b.config
            && a.last_sweep_ms == b.last_sweep_ms
            && a.evicted_total == b.evicted_total
            && a.accounted == b.accounted
            && a.keys == b.keys
    }
}

impl Eq for FeatureStore {}

impl FeatureStore {
    /// An empty store with a fresh [`ShardSeed`]; fails if the
    /// configuration is invalid.
    pub fn new(config: FeatureConfig) -> Result<FeatureStore, WindowError> {
        FeatureStore::with_seed(config, ShardSeed::fresh())
    }

    /// An empty store whose keys are laid out by `seed` (an engine gives
    /// all its stores the one seed it drew when created or restored; no
    /// snapshot keeps it). Nothing but the layout depends on the seed.
    pub fn with_seed(config: FeatureConfig, seed: ShardSeed) -> Result<FeatureStore, WindowError> {
        config.validate()?;
        Ok(FeatureStore {
            config,
            keys: Keys::with_seed(seed),
            last_sweep_ms: None,
            evicted_total: 0,
            accounted: 0,
            sweeping: None,
        })
    }

    pub fn config(&self) -> &FeatureConfig {
        &self.config
    }

    /// The seed that lays the keys out.
    pub fn seed(&self) -> ShardSeed {
        self.keys.seed()
    }

    /// Lays the keys out by `seed` (a store restored from a snapshot, which
    /// does not keep the seed, takes its engine's). Changes nothing else.
    pub fn reseed(&mut self, seed: ShardSeed) {
        if seed == self.seed() {
            return;
        }
        self.settle();
        self.keys.reseed(seed);
    }

    /// Finishes the sweep in progress, if any (see `sweep`): afterwards
    /// [`FeatureStore::len`] and [`FeatureStore::accounted_bytes`] are the
    /// exact logical figures. Changes no result.
    pub fn settle(&mut self) {
        if let Some(sw) = self.sweeping.take() {
            self.sweep_shards(sw.next..SHARDS, &sw.span);
        }
    }

    /// True while a sweep is in progress.
    pub fn is_sweeping(&self) -> bool {
        self.sweeping.is_some()
    }

    /// This store, settled: itself when no sweep is in progress, else a
    /// settled copy (shards copied on write).
    pub(crate) fn settled(&self) -> Cow<'_, FeatureStore> {
        if self.sweeping.is_none() {
            return Cow::Borrowed(self);
        }
        let mut copy = self.clone();
        copy.settle();
        Cow::Owned(copy)
    }

    /// Applies `obs` (if any) to `key`, then returns the reading as of `now_ms`.
    ///
    /// `now_ms` is the watermark including this event. The event time is clamped into
    /// `[now_ms - lateness_ms, now_ms]`. For `LastSeen` the reading is taken before the
    /// observation is applied. An observation whose value kind does not fit the
    /// aggregate (e.g. a `Hash` for `Sum`) is ignored.
    pub fn apply(&mut self, key: Key, obs: Option<Obs>, now_ms: i64) -> Read {
        let span = Span::new(&self.config, now_ms);
        self.maybe_sweep(now_ms, &span);
        // The key's shard is hashed once (SipHash under the seed).
        let loc = self.keys.locate(&key);
        let read = |s: &FeatureStore| match s.tracked(loc, &key) {
            Some(k) => k.state.read(&span),
            None => empty_read(s.config.aggregate),
        };
        let Some((at, input)) = obs.and_then(|o| self.input(o, now_ms)) else {
            return read(self);
        };
        let forgotten = self.forget_expired(loc, &key, at);
        let before = (self.config.aggregate == Aggregate::LastSeen).then(|| read(self));
        let known = !forgotten && self.keys.get_in(loc, &key).is_some();
        if !known {
            self.make_room(now_ms, &span, usize::from(forgotten));
        }
        let config = self.config;
        // Still in the table: known, or forgotten and left there (its new
        // state already counted).
        let present = self.keys.get_in(loc, &key).is_some();
        let entry = self.keys.entry_in(loc, key).or_insert_with(|| KeyState {
            last_at: at,
            state: State::new(&config),
        });
        let bytes_before = if present { entry.accounted() } else { 0 };
        entry.observe(at, input, &config, &span);
        let bytes_after = entry.accounted();
        let after = if before.is_none() {
            Some(entry.state.read(&span))
        } else {
            None
        };
        self.accounted = self.accounted.saturating_sub(bytes_before) + bytes_after;
        before
            .or(after)
            .unwrap_or_else(|| empty_read(config.aggregate))
    }

    /// The reading `apply(key, None, now_ms)` would return, without touching the store
    /// (`now_ms` the watermark, as for `apply`).
    pub fn read(&self, key: Key, now_ms: i64) -> Read {
        match self.tracked(self.keys.locate(&key), &key) {
            Some(k) => k.state.read(&Span::new(&self.config, now_ms)),
            None => empty_read(self.config.aggregate),
        }
    }

    /// A located key's state, unless the sweep in progress would have
    /// forgotten it (its shard not yet swept, nothing retained as of the
    /// sweep's cutoff).
    fn tracked(&self, loc: Loc, key: &Key) -> Option<&KeyState> {
        let k = self.keys.get_in(loc, key)?;
        (!sweep::forgets(self.sweeping, loc, k)).then_some(k)
    }

    /// Forgets one located key the sweep in progress has yet to reach and
    /// would forget (nothing retained as of its cutoff: [`Self::tracked`]
    /// hides it), as the full sweep did before this call: its state is
    /// replaced by a new one last observed at `at` (still in its table: it
    /// is the new key the full sweep's store would insert, and the shard's
    /// sweep drops it if it stays empty). True when forgotten. A key with
    /// something retained is left to the update, whose later span prunes
    /// all the sweep's would.
    fn forget_expired(&mut self, loc: Loc, key: &Key, at: i64) -> bool {
        let forgets = |k| sweep::forgets(self.sweeping, loc, k);
        if !self.keys.get_in(loc, key).is_some_and(forgets) {
            return false;
        }
        let config = self.config;
        let Some(k) = self.keys.get_mut_in(loc, key) else {
            return false;
        };
        let before = k.accounted();
        *k = KeyState {
            last_at: at,
            state: State::new(&config),
        };
        self.accounted = self.accounted.saturating_sub(before) + k.accounted();
        true
    }

    /// Number of tracked keys; while a sweep is in progress, at least the
    /// settled number (it counts keys the sweep has yet to forget).
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Keys evicted so far because `max_keys` was reached.
    pub fn evicted_total(&self) -> u64 {
        self.evicted_total
    }

    /// Accounted bytes of every tracked key: the shards' hash tables as a
    /// random layout of this many keys gives them (buckets of
    /// [`FeatureStore::key_slot_bytes`], grown by doubling, as the allocator
    /// rounds them; a function of the number of keys, never of the seed's
    /// layout) and every key's heap state. Kept up to date by every change, so reading it costs nothing.
    /// A function of the logical state only, so equal stores (a live one
    /// and its restored snapshot) account equal bytes.
    ///
    /// While a sweep is in progress, at least the settled figure (keys and
    /// buckets the sweep has yet to drop): [`FeatureStore::settle`] first
    /// for the exact one.
    pub fn accounted_bytes(&self) -> u64 {
        self.accounted + self.keys.table_bytes()
    }

    /// The bytes of one bucket of a shard's table (the key, its state and
    /// a control byte): a tracked key takes at least this much.
    pub fn key_slot_bytes() -> u64 {
        size_of::<crate::shards::Slot>() as u64 + 1
    }

    /// [`FeatureStore::accounted_bytes`] recomputed by walking every key
    /// (tests and consistency checks).
    pub fn recount_bytes(&self) -> u64 {
        self.keys.values().map(KeyState::accounted).sum::<u64>() + self.keys.recount_table_bytes()
    }

    /// Calls `f(last_at, bytes)` for every tracked key: the key's latest
    /// (clamped) event time and its accounted bytes. The order is
    /// unspecified: use it only for order-independent results (totals,
    /// histograms). Settle first ([`FeatureStore::settle`]): a sweep in
    /// progress would show keys it has yet to forget.
    pub fn for_each_age(&self, mut f: impl FnMut(i64, u64)) {
        self.for_each_tiered_age(|at, bytes, _| f(at, bytes));
    }

    /// [`FeatureStore::for_each_age`] with each key's tier: `true` when its
    /// retained state holds at least two observations (a count of two, two
    /// buckets, two distinct values), `false` for a key seen once (the
    /// probation tier a flood of fresh keys lives in). The tier is derived
    /// from the state, so a restored snapshot ranks keys the same way. A
    /// key's bytes are its heap state and its share of the tables.
    pub fn for_each_tiered_age(&self, mut f: impl FnMut(i64, u64, bool)) {
        debug_assert!(!self.is_sweeping(), "settle first");
        let share = self.keys.table_bytes() / (self.keys.len() as u64).max(1);
        for k in self.keys.values() {
            f(k.last_at, k.accounted() + share, k.state.repeated());
        }
    }

    /// Forgets every key last observed at or before `last_at` (a memory
    /// budget's eviction): returns (keys, accounted bytes) forgotten. Which
    /// keys go depends only on their times, never on the map's order. Not
    /// counted in [`FeatureStore::evicted_total`], which counts the
    /// `max_keys` cap only.
    pub fn evict_through(&mut self, last_at: i64) -> (u64, u64) {
        self.evict_tiered(last_at, last_at)
    }

    /// Forgets every key seen once last observed at or before `single_through`
    /// and every repeated key (see [`FeatureStore::for_each_tiered_age`])
    /// last observed at or before `repeated_through`: returns (keys,
    /// accounted bytes) forgotten. Depends only on the keys' times and
    /// states, never on the map's order.
    pub fn evict_tiered(&mut self, single_through: i64, repeated_through: i64) -> (u64, u64) {
        self.settle();
        let before = self.accounted_bytes();
        let (keys, bytes) = self.keys.remove_where(|_, k| {
            let through = if k.state.repeated() {
                repeated_through
            } else {
                single_through
            };
            k.last_at <= through
        });
        self.accounted = self.accounted.saturating_sub(bytes);
        (keys, before.saturating_sub(self.accounted_bytes()))
    }

    /// Order-independent digest of the whole logical state (keys in sorted order).
    pub fn state_digest(&self) -> u64 {
        let settled = self.settled();
        let s = settled.as_ref();
        let mut d = Digest::new();
        digest_config(&s.config, &mut d);
        d.opt(s.last_sweep_ms);
        d.u64(s.evicted_total);
        d.u64(s.keys.len() as u64);
        for (key, k) in s.sorted_keys() {
            d.u128(key);
            d.i64(k.last_at);
            k.state.digest(&mut d);
        }
        d.finish()
    }

    /// Approximate bytes used: the struct, the shard pointers, the shards'
    /// hash tables at their real capacities and every per-key heap
    /// allocation at its capacity (a measurement, not the accounting).
    pub fn approx_bytes(&self) -> usize {
        let table =
            self.keys.real_table_bytes() as usize + crate::shards::SHARDS * size_of::<usize>();
        let heap: usize = self.keys.values().map(|k| k.state.heap_bytes()).sum();
        size_of::<FeatureStore>() + table + heap
    }

    /// Entries sorted by key (the canonical order for digests and serialization).
    pub(crate) fn sorted_keys(&self) -> Vec<(Key, &KeyState)> {
        let mut entries: Vec<_> = self.keys.iter().collect();
        entries.sort_unstable_by_key(|e| e.0);
        entries
    }

    fn input(&self, obs: Obs, now_ms: i64) -> Option<(i64, Input)> {
        clamped_input(&self.config, obs, now_ms)
    }

    /// Begins a sweep when one is due (a graph's at once, any other's
    /// spread over the calls that follow: `sweep`), and goes on with the
    /// one in progress as far as `now_ms` calls for.
    pub(crate) fn maybe_sweep(&mut self, now_ms: i64, span: &Span) {
        let Some(interval) = sweep::interval_ms(self.config.window) else {
            return;
        };
        match self.last_sweep_ms {
            None => self.last_sweep_ms = Some(now_ms),
            Some(t) if now_ms.saturating_sub(t) >= interval => {
                if self.config.aggregate == Aggregate::Graph {
                    self.sweep(now_ms, span);
                } else {
                    self.settle();
                    self.sweeping = Some(Sweeping::new(*span, now_ms));
                    self.last_sweep_ms = Some(now_ms);
                }
            }
            Some(_) => {}
        }
        if let Some(sw) = self.sweeping {
            let (now, rest) = sw.advance(now_ms, interval);
            self.sweeping = rest;
            if !now.is_empty() {
                self.sweep_shards(now, &sw.span);
            }
        }
    }

    /// Prunes the keys of the shards in `range` with `span` and forgets
    /// those with nothing left.
    fn sweep_shards(&mut self, range: Range<usize>, span: &Span) {
        let (mut freed, mut kept) = (0u64, 0u64);
        self.keys.retain_in(range, |_, k| {
            freed += k.accounted();
            k.state.prune(span);
            let live = k.state.is_live(span.cutoff);
            if live {
                kept += k.accounted();
            }
            live
        });
        self.accounted = self.accounted.saturating_sub(freed) + kept;
    }

    /// Prunes every key and forgets keys with nothing left (sliding
    /// windows only), at once (a sweep in progress is finished first).
    fn sweep(&mut self, now_ms: i64, span: &Span) {
        if self.config.window == Window::Ever {
            return;
        }
        self.settle();
        self.sweep_shards(0..SHARDS, span);
        self.last_sweep_ms = Some(now_ms);
    }

    /// Makes space for one new key: sweep, then evict the least recently observed keys
    /// (ties: smaller key first), `max_keys / 16` at a time (at least one).
    /// `uncounted` keys of the table are not counted (a key the caller
    /// found forgotten, `forget_expired`); any other a sweep in progress has yet
    /// to forget only makes the count larger, so a store under the cap
    /// here is under it settled, and one at it settles and looks again.
    pub(crate) fn make_room(&mut self, now_ms: i64, span: &Span, uncounted: usize) {
        let cap = self.config.max_keys;
        if self.keys.len().saturating_sub(uncounted) < cap {
            return;
        }
        self.settle();
        if self.keys.len() < cap {
            return;
        }
        self.sweep(now_ms, span);
        if self.keys.len() < cap {
            return;
        }
        let step = (cap / 16).max(1).max(self.keys.len() + 1 - cap);
        let mut order: Vec<(i64, Key)> = self.keys.iter().map(|(k, s)| (s.last_at, k)).collect();
        let step = step.min(order.len());
        if step == 0 {
            return;
        }
        // The `step` least recent (time, key) pairs: every pair up to the
        // step-th (pairs are distinct: keys are).
        let (_, &mut last, _) = order.select_nth_unstable(step - 1);
        let (keys, bytes) = self.keys.remove_where(|key, s| (s.last_at, *key) <= last);
        self.accounted = self.accounted.saturating_sub(bytes);
        self.evicted_total += keys;
    }
}

/// The observation's (clamped time, input), `None` when its value does
/// not fit the aggregate.
pub(crate) fn clamped_input(config: &FeatureConfig, obs: Obs, now_ms: i64) -> Option<(i64, Input)> {
    let oldest = now_ms.saturating_sub(config.lateness_ms.max(0));
    let at = obs.at_ms.max(oldest).min(now_ms);
    Input::of(config.aggregate, at, obs.value).map(|i| (at, i))
}

pub(crate) fn digest_config(c: &FeatureConfig, d: &mut Digest) {
    match c.window {
        Window::Sliding {
            length_ms,
            resolution_ms,
        } => {
            d.u64(1);
            d.i64(length_ms);
            d.i64(resolution_ms);
        }
        Window::Ever => d.u64(2),
    }
    let (tag, limit) = match c.aggregate {
        Aggregate::Count => (1, 0),
        Aggregate::Sum => (2, 0),
        Aggregate::Min => (3, 0),
        Aggregate::Max => (4, 0),
        Aggregate::DistinctCount { exact_limit } => (5, exact_limit),
        Aggregate::FirstSeen => (6, 0),
        Aggregate::LastSeen => (7, 0),
        Aggregate::Graph => (8, 0),
    };
    d.u64(tag);
    d.u64(u64::from(limit));
    d.u64(c.max_keys as u64);
    d.i64(c.lateness_ms);
}
