//! `StoreRef` and `StoreMut`: one feature's windows, wherever they live
//! (a store of their own or a member of a group), answering as its
//! `FeatureStore` would.

use serde::{Serialize, Serializer};

use crate::group::Group;
use crate::snapshot::SnapshotRef;
use crate::{FeatureConfig, FeatureStore, Key, Obs, Read};

/// One feature's windows, read-only: what its `FeatureStore` answers.
#[derive(Clone, Copy, Debug)]
pub enum StoreRef<'a> {
    Solo(&'a FeatureStore),
    Member(&'a Group, usize),
}

/// One feature's windows, to update.
#[derive(Debug)]
pub enum StoreMut<'a> {
    Solo(&'a mut FeatureStore),
    Member(&'a mut Group, usize),
}

impl<'a> StoreRef<'a> {
    pub fn config(self) -> &'a FeatureConfig {
        match self {
            StoreRef::Solo(s) => s.config(),
            StoreRef::Member(g, m) => g.config(m),
        }
    }

    pub fn len(self) -> usize {
        match self {
            StoreRef::Solo(s) => s.len(),
            StoreRef::Member(g, m) => g.len(m),
        }
    }

    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    pub fn read(self, key: Key, now_ms: i64) -> Read {
        match self {
            StoreRef::Solo(s) => s.read(key, now_ms),
            StoreRef::Member(g, m) => g.read(m, key, now_ms),
        }
    }

    pub fn evicted_total(self) -> u64 {
        match self {
            StoreRef::Solo(s) => s.evicted_total(),
            StoreRef::Member(g, m) => g.evicted_total(m),
        }
    }

    pub fn accounted_bytes(self) -> u64 {
        match self {
            StoreRef::Solo(s) => s.accounted_bytes(),
            StoreRef::Member(g, m) => g.accounted_bytes(m),
        }
    }

    pub fn recount_bytes(self) -> u64 {
        match self {
            StoreRef::Solo(s) => s.recount_bytes(),
            StoreRef::Member(g, m) => g.recount_bytes(m),
        }
    }

    pub fn approx_bytes(self) -> usize {
        match self {
            StoreRef::Solo(s) => s.approx_bytes(),
            StoreRef::Member(g, m) => g.approx_bytes(m),
        }
    }

    pub fn state_digest(self) -> u64 {
        match self {
            StoreRef::Solo(s) => s.state_digest(),
            StoreRef::Member(g, m) => g.state_digest(m),
        }
    }

    pub fn for_each_tiered_age(self, f: impl FnMut(i64, u64, bool)) {
        match self {
            StoreRef::Solo(s) => s.for_each_tiered_age(f),
            StoreRef::Member(g, m) => g.for_each_tiered_age(m, f),
        }
    }

    /// True while a sweep is in progress ([`FeatureStore::settle`]).
    pub fn is_sweeping(self) -> bool {
        match self {
            StoreRef::Solo(s) => s.is_sweeping(),
            StoreRef::Member(g, m) => g.is_sweeping(m),
        }
    }

    /// Calls `f` with the serialized form of the settled windows (a copy
    /// settled, if a sweep is in progress).
    fn with_snapshot<R>(self, f: impl FnOnce(SnapshotRef<'_>) -> R) -> R {
        match self {
            StoreRef::Solo(s) => {
                let s = s.settled();
                f(SnapshotRef {
                    config: &s.config,
                    keys: s.sorted_keys(),
                    last_sweep_ms: s.last_sweep_ms,
                    evicted_total: s.evicted_total,
                })
            }
            StoreRef::Member(g, m) => f(g.settled(m).snapshot_ref(m)),
        }
    }

    /// The same logical content as `other` (configuration, sweep time,
    /// evictions and every key's state, settled), wherever each lives.
    pub fn same_content(self, other: StoreRef<'_>) -> bool {
        self.with_snapshot(|a| {
            other.with_snapshot(|b| {
                a.config == b.config
                    && a.last_sweep_ms == b.last_sweep_ms
                    && a.evicted_total == b.evicted_total
                    && a.keys == b.keys
            })
        })
    }
}

/// Written settled, as [`FeatureStore`]'s.
impl Serialize for StoreRef<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.with_snapshot(|s| s.serialize(serializer))
    }
}

impl StoreMut<'_> {
    pub fn as_ref(&self) -> StoreRef<'_> {
        match self {
            StoreMut::Solo(s) => StoreRef::Solo(s),
            StoreMut::Member(g, m) => StoreRef::Member(g, *m),
        }
    }

    /// [`FeatureStore::apply`].
    pub fn apply(&mut self, key: Key, obs: Option<Obs>, now_ms: i64) -> Read {
        match self {
            StoreMut::Solo(s) => s.apply(key, obs, now_ms),
            StoreMut::Member(g, m) => g.apply(*m, key, obs, now_ms),
        }
    }

    /// [`FeatureStore::read`].
    pub fn read(&self, key: Key, now_ms: i64) -> Read {
        self.as_ref().read(key, now_ms)
    }

    /// [`FeatureStore::settle`].
    pub fn settle(&mut self) {
        match self {
            StoreMut::Solo(s) => s.settle(),
            StoreMut::Member(g, m) => g.settle_member(*m),
        }
    }

    /// [`FeatureStore::evict_tiered`].
    pub fn evict_tiered(&mut self, single_through: i64, repeated_through: i64) -> (u64, u64) {
        match self {
            StoreMut::Solo(s) => s.evict_tiered(single_through, repeated_through),
            StoreMut::Member(g, m) => g.evict_tiered(*m, single_through, repeated_through),
        }
    }
}
