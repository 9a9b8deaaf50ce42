//! `Stores`: every feature's windows, by feature (spec digest), with the
//! features keyed alike sharing one table (`group`).
//!
//! The engine asks for a feature's windows by its digest and gets a view
//! ([`StoreRef`], [`StoreMut`]) that behaves as that feature's own
//! [`FeatureStore`]; where the windows live is [`Stores::arrange`]'s
//! choice: features of one key list (the caller's tag) in a [`Group`] (at
//! most [`MAX_MEMBERS`] a group), the rest, graphs and features alone on
//! their key list, in stores of their own.
//!
//! **Snapshots are unchanged.** `Stores` is written as the map from digest
//! to `FeatureStore` it replaces, each feature in its store's form
//! (`snapshot`), so its bytes do not depend on the grouping; it is read
//! back as that map, every feature in a store of its own, and the next
//! [`Stores::arrange`] groups them again.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::group::{Group, MAX_MEMBERS};
use crate::seed::ShardSeed;
use crate::{Aggregate, FeatureConfig, FeatureStore};

/// Where a feature's windows live. A solo store is kept inline (a map of a
/// pack's few dozen features; boxing it would add a pointer chase to every
/// update of it).
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
enum Place {
    Solo(FeatureStore),
    /// (group, member).
    Member(usize, usize),
}

#[path = "stores_view.rs"]
mod view;
pub use view::{StoreMut, StoreRef};

/// Every feature's windows, by spec digest (see the module docs).
#[derive(Clone, Debug, Default)]
pub struct Stores {
    places: BTreeMap<u64, Place>,
    groups: Vec<Group>,
}

impl Stores {
    /// Every feature in a store of its own (as a snapshot restores them).
    pub fn from_stores(stores: BTreeMap<u64, FeatureStore>) -> Stores {
        Stores {
            places: stores
                .into_iter()
                .map(|(d, s)| (d, Place::Solo(s)))
                .collect(),
            groups: Vec::new(),
        }
    }

    /// Every feature back in a store of its own.
    pub fn into_stores(self) -> BTreeMap<u64, FeatureStore> {
        let mut groups: Vec<Vec<Option<FeatureStore>>> = self
            .groups
            .into_iter()
            .map(|g| g.dissolve().into_iter().map(Some).collect())
            .collect();
        self.places
            .into_iter()
            .filter_map(|(d, place)| match place {
                Place::Solo(s) => Some((d, s)),
                Place::Member(g, m) => groups
                    .get_mut(g)
                    .and_then(|members| members.get_mut(m))
                    .and_then(Option::take)
                    .map(|s| (d, s)),
            })
            .collect()
    }

    /// Keeps the features of `wanted` (digest, configuration, key-list
    /// tag: `None` for a feature never grouped) with their windows, drops
    /// the rest, creates empty windows for new ones (laid out by `seed`),
    /// and groups the features of each tag (at least two; graphs never).
    /// Does nothing when the features and their grouping are already
    /// those (a pack swap that changes no feature costs nothing).
    pub fn arrange(&mut self, wanted: &[(u64, FeatureConfig, Option<u64>)], seed: ShardSeed) {
        let layout = plan(wanted);
        if self.layout() == layout {
            return;
        }
        let mut stores = std::mem::take(self).into_stores();
        let configs: BTreeMap<u64, FeatureConfig> =
            wanted.iter().map(|&(d, c, _)| (d, c)).collect();
        stores.retain(|d, _| configs.contains_key(d));
        for (d, config) in &configs {
            if !stores.contains_key(d) {
                if let Ok(store) = FeatureStore::with_seed(*config, seed) {
                    stores.insert(*d, store);
                }
            }
        }
        // The last of the layout is the features kept alone.
        let grouped = layout.len().saturating_sub(1);
        for members in layout.into_iter().take(grouped) {
            let present: Vec<u64> = members
                .into_iter()
                .filter(|d| stores.contains_key(d))
                .collect();
            if present.len() < 2 {
                continue;
            }
            let mut group = Group::new(seed);
            let g = self.groups.len();
            for d in present {
                let Some(store) = stores.remove(&d) else {
                    continue;
                };
                match group.adopt(store) {
                    Ok(m) => {
                        self.places.insert(d, Place::Member(g, m));
                    }
                    Err(store) => {
                        self.places.insert(d, Place::Solo(*store));
                    }
                }
            }
            self.groups.push(group);
        }
        for (d, store) in stores {
            self.places.insert(d, Place::Solo(store));
        }
    }

    /// The current grouping: each group's member digests in member order.
    fn layout(&self) -> Vec<Vec<u64>> {
        let mut groups = vec![Vec::new(); self.groups.len()];
        let mut solos = Vec::new();
        for (d, place) in &self.places {
            match place {
                Place::Solo(_) => solos.push(*d),
                Place::Member(g, m) => {
                    let members = &mut groups[*g];
                    if members.len() <= *m {
                        members.resize(*m + 1, 0);
                    }
                    members[*m] = *d;
                }
            }
        }
        groups.push(solos);
        groups
    }

    /// Finishes every sweep in progress ([`FeatureStore::settle`]): the
    /// number of keys and accounted bytes are then exact.
    pub fn settle(&mut self) {
        for place in self.places.values_mut() {
            if let Place::Solo(s) = place {
                s.settle();
            }
        }
        for g in &mut self.groups {
            g.settle();
        }
    }

    /// True while any store sweeps.
    pub fn is_sweeping(&self) -> bool {
        self.values().any(StoreRef::is_sweeping)
    }

    /// These stores settled: themselves when none sweeps, else one copy
    /// (shards copied on write) with every sweep finished. Whole-state
    /// readers (serialization, equality, the engine's digest) take it once
    /// rather than a settled copy of a group per sweeping member.
    pub fn settled(&self) -> Cow<'_, Stores> {
        if !self.is_sweeping() {
            return Cow::Borrowed(self);
        }
        let mut copy = self.clone();
        copy.settle();
        Cow::Owned(copy)
    }

    /// Lays every store and group out by `seed`; nothing else changes.
    pub fn reseed(&mut self, seed: ShardSeed) {
        for place in self.places.values_mut() {
            if let Place::Solo(s) = place {
                s.reseed(seed);
            }
        }
        for g in &mut self.groups {
            g.reseed(seed);
        }
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.places.len()
    }

    pub fn is_empty(&self) -> bool {
        self.places.is_empty()
    }

    /// Number of groups (each of at least two features).
    pub fn groups(&self) -> usize {
        self.groups.len()
    }

    pub fn contains_key(&self, digest: &u64) -> bool {
        self.places.contains_key(digest)
    }

    /// Adds a feature's store on its own (replacing any feature of that digest).
    pub fn insert(&mut self, digest: u64, store: FeatureStore) {
        let mut stores = std::mem::take(self).into_stores();
        stores.insert(digest, store);
        *self = Stores::from_stores(stores);
    }

    pub fn get(&self, digest: &u64) -> Option<StoreRef<'_>> {
        Some(self.view(self.places.get(digest)?))
    }

    pub fn get_mut(&mut self, digest: &u64) -> Option<StoreMut<'_>> {
        match self.places.get_mut(digest)? {
            Place::Solo(s) => Some(StoreMut::Solo(s)),
            Place::Member(g, m) => Some(StoreMut::Member(self.groups.get_mut(*g)?, *m)),
        }
    }

    /// A feature kept in a store of its own (a graph always is).
    pub fn solo(&self, digest: &u64) -> Option<&FeatureStore> {
        match self.places.get(digest)? {
            Place::Solo(s) => Some(s),
            Place::Member(..) => None,
        }
    }

    /// [`Stores::solo`], mutable.
    pub fn solo_mut(&mut self, digest: &u64) -> Option<&mut FeatureStore> {
        match self.places.get_mut(digest)? {
            Place::Solo(s) => Some(s),
            Place::Member(..) => None,
        }
    }

    /// (digest, windows) in digest order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, StoreRef<'_>)> {
        self.places.iter().map(|(d, p)| (*d, self.view(p)))
    }

    /// Every feature's windows, in digest order.
    pub fn values(&self) -> impl Iterator<Item = StoreRef<'_>> {
        self.iter().map(|(_, s)| s)
    }

    /// Calls `f(digest, windows)` for every feature, in digest order.
    pub fn for_each_mut(&mut self, mut f: impl FnMut(u64, StoreMut<'_>)) {
        for (d, place) in self.places.iter_mut() {
            match place {
                Place::Solo(s) => f(*d, StoreMut::Solo(s)),
                Place::Member(g, m) => {
                    if let Some(group) = self.groups.get_mut(*g) {
                        f(*d, StoreMut::Member(group, *m));
                    }
                }
            }
        }
    }

    fn view<'a>(&'a self, place: &'a Place) -> StoreRef<'a> {
        match place {
            Place::Solo(s) => StoreRef::Solo(s),
            Place::Member(g, m) => StoreRef::Member(&self.groups[*g], *m),
        }
    }
}

/// The groups `arrange` makes of `wanted`: per tag with at least two
/// features that are not graphs, their digests in digest order, at most
/// [`MAX_MEMBERS`] a group; then the rest, in digest order (the same shape
/// as [`Stores::layout`]).
fn plan(wanted: &[(u64, FeatureConfig, Option<u64>)]) -> Vec<Vec<u64>> {
    let mut by_tag: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    let mut solos = Vec::new();
    let mut sorted: Vec<&(u64, FeatureConfig, Option<u64>)> = wanted.iter().collect();
    sorted.sort_by_key(|w| w.0);
    sorted.dedup_by_key(|w| w.0);
    for &&(d, config, tag) in &sorted {
        match tag {
            Some(t) if config.aggregate != Aggregate::Graph && config.validate().is_ok() => {
                by_tag.entry(t).or_default().push(d)
            }
            _ => solos.push(d),
        }
    }
    let mut groups = Vec::new();
    for members in by_tag.into_values() {
        for chunk in members.chunks(MAX_MEMBERS) {
            if chunk.len() >= 2 {
                groups.push(chunk.to_vec());
            } else {
                solos.extend_from_slice(chunk);
            }
        }
    }
    solos.sort_unstable();
    // Groups in the order of their first member's digest.
    groups.sort_unstable_by_key(|g| g[0]);
    groups.push(solos);
    groups
}

impl PartialEq for Stores {
    fn eq(&self, other: &Stores) -> bool {
        let (a, b) = (self.settled(), other.settled());
        let (a, other) = (a.as_ref(), b.as_ref());
        a.places.len() == other.places.len()
            && a.iter()
                .zip(other.iter())
                .all(|((da, a), (db, b))| da == db && a.same_content(b))
    }
}

impl Eq for Stores {}

/// Written as the map from digest to `FeatureStore` (see the module
/// docs), settled.
impl Serialize for Stores {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.settled().iter())
    }
}

impl<'de> Deserialize<'de> for Stores {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Stores, D::Error> {
        BTreeMap::<u64, FeatureStore>::deserialize(deserializer).map(Stores::from_stores)
    }
}
