//! Risk stores as snapshot versions 2 to 5 wrote them, and their upgrade.

use super::{PopNode, Profile, RiskStore, Tally};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A risk store as snapshot versions 2 to 5 wrote it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct RiskStoreV5 {
    max_keys: usize,
    nodes: BTreeMap<u64, u64>,
    parents: BTreeMap<u64, Tally>,
    profiles: BTreeMap<u128, Profile>,
}

impl RiskStoreV5 {
    /// The current form. Old population values did not record when they
    /// were last learned nor their parent: they count as learned at
    /// `as_of_ms` (the snapshot's watermark), and their parent is found
    /// from the profiles that use them (a value no profile keeps any more
    /// has no known parent: evicting it leaves its parent's tally as is).
    pub fn upgrade(self, as_of_ms: i64) -> RiskStore {
        let mut parent_of: BTreeMap<u64, u64> = BTreeMap::new();
        for p in self.profiles.values() {
            for (n, seen) in p.nodes.iter() {
                parent_of.insert(*n, seen.parent);
            }
        }
        let nodes = self
            .nodes
            .into_iter()
            .map(|(n, count)| {
                let parent = parent_of.get(&n).copied().unwrap_or(NO_PARENT);
                let node = PopNode {
                    count,
                    last_ms: as_of_ms,
                    parent,
                };
                (n, node)
            })
            .collect();
        let mut store = RiskStore {
            max_keys: self.max_keys,
            nodes,
            parents: self.parents.into(),
            profiles: self.profiles.into(),
            profile_bytes: 0,
        };
        store.recount();
        store
    }
}

/// The parent of a population value whose parent is not known (restored
/// from a snapshot before version 6).
pub(super) const NO_PARENT: u64 = 0;
