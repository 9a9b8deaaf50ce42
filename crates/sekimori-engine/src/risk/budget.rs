//! A risk store's accounting and its memory-budget eviction (see the
//! engine's `budget`).

use super::{Parked, PopNode, Profile, RiskStore, Seen, Tally};

/// Accounted bytes of one entry of a shard's hash table (`CowMap`): the
/// (key, value) slot, padding included, and a control byte, in a table between 7/16 and 7/8 full
/// (about two-thirds on average as it grows), and 8 bytes more, which
/// covers the control byte's share with room to spare. (The same sum
/// modelled the `BTreeMap` shards before them: nodes of 11 slots about
/// two-thirds full and a share of node headers.)
const fn map_entry<K, V>() -> u64 {
    (std::mem::size_of::<(K, V)>() * 3 / 2 + 8) as u64
}

/// Accounted bytes of a `FlatMap<K, V>` of `len` entries: one allocation of
/// exactly its length (it grows one slot at a time and shrinks when it
/// forgets) and the allocator's header.
fn flat_bytes<K, V>(len: usize) -> u64 {
    if len == 0 {
        return 0;
    }
    (len * std::mem::size_of::<(K, V)>() + 16) as u64
}

/// Accounted bytes of one population value and of one population parent.
pub(crate) const POP_NODE_BYTES: u64 = map_entry::<u64, PopNode>();
pub(super) const POP_PARENT_BYTES: u64 = map_entry::<u64, Tally>();

impl Profile {
    /// Accounted bytes of this profile, its entry in the map included: a
    /// function of its content's lengths only.
    pub(super) fn accounted(&self) -> u64 {
        let list = self.pending.list();
        let parked: u64 = list
            .iter()
            .map(|p| {
                let values: usize = p.values.iter().map(|v| 24 + v.len() * 8).sum();
                (std::mem::size_of::<Parked>() + p.methods.len() + values) as u64
            })
            .sum();
        // The boxed vector's own header, once something is parked.
        let boxed = if list.is_empty() {
            0
        } else {
            std::mem::size_of::<Vec<Parked>>() as u64
        };
        let pending = parked + boxed;
        map_entry::<u128, Profile>()
            + flat_bytes::<u64, Seen>(self.nodes.len())
            + flat_bytes::<u64, Tally>(self.parents.len())
            + pending
    }

    /// True once some value was used twice: the profile has left the
    /// memory budget's probation tier (see `budget`).
    pub(super) fn repeated(&self) -> bool {
        self.nodes.values().any(|s| s.count >= 2)
    }
}

/// What a budget eviction took from a risk store.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct RiskEvicted {
    pub profiles: u64,
    pub values: u64,
    pub bytes: u64,
}

impl RiskStore {
    /// Recomputes the profiles' accounted bytes (after a restore).
    pub fn recount(&mut self) {
        self.profile_bytes = self.profiles.values().map(Profile::accounted).sum();
    }

    /// Accounted bytes of the profiles and the population: O(1).
    pub fn accounted_bytes(&self) -> u64 {
        self.profile_bytes
            + self.nodes.len() as u64 * POP_NODE_BYTES
            + self.parents.len() as u64 * POP_PARENT_BYTES
    }

    /// Calls `f(last_ms, bytes, repeated)` for every profile and every
    /// population value (a value's bytes include a share of its parent's
    /// tally); `repeated`: some value of the profile was used twice, the
    /// population value was learned twice (see `budget`'s tiers). Order
    /// unspecified: for order-independent results only.
    pub fn for_each_age(&self, mut f: impl FnMut(i64, u64, bool)) {
        for p in self.profiles.values() {
            f(p.last_ms, p.accounted(), p.repeated());
        }
        for n in self.nodes.values() {
            f(n.last_ms, POP_NODE_BYTES, n.count >= 2);
        }
    }

    /// Forgets every profile last seen, and every population value last
    /// learned, at or before `single_ms`, or `repeated_ms` for the repeated
    /// ones (see [`RiskStore::for_each_age`]; a memory budget's eviction).
    /// An evicted value leaves its parent's tally as if it had never been
    /// learned, so the population stays a consistent estimate.
    pub fn evict_through(&mut self, single_ms: i64, repeated_ms: i64) -> RiskEvicted {
        let through = |repeated: bool| if repeated { repeated_ms } else { single_ms };
        let mut out = RiskEvicted::default();
        let before = self.accounted_bytes();
        let mut profile_bytes = 0u64;
        self.profiles.remove_where(
            |p| p.last_ms <= through(p.repeated()),
            |_, p| {
                out.profiles += 1;
                profile_bytes += p.accounted();
            },
        );
        self.profile_bytes = self.profile_bytes.saturating_sub(profile_bytes);
        let mut gone: Vec<(u64, u64)> = Vec::new();
        self.nodes.remove_where(
            |n| n.last_ms <= through(n.count >= 2),
            |_, n| gone.push((n.parent, n.count)),
        );
        out.values = gone.len() as u64;
        for (parent, count) in gone {
            if let Some(t) = self.parents.get_mut(&parent) {
                t.total = t.total.saturating_sub(count);
                t.distinct = t.distinct.saturating_sub(1);
                if t.distinct == 0 {
                    self.parents.remove(&parent);
                }
            }
        }
        out.bytes = before.saturating_sub(self.accounted_bytes());
        out
    }
}
