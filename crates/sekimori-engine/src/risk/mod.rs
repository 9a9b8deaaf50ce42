//! Login risk after Freeman, Jain, Dürmuth, Biggio and Giacinto, "Who are
//! you? A statistical approach to measuring user authenticity" (NDSS 2016).
//!
//! For a login with attribute values `x` by subject `u` (an account), the
//! score is the likelihood ratio `p(x) / p(x | u)`: how much likelier these
//! values are for the population than for this subject's own history. Each
//! attribute is a hierarchy, coarsest first (country, ASN, /24, address), and
//! uses the chain rule, so a new ASN counts once, not once per level:
//!
//! `p(ip|u) = p(cc|u) · p(asn|cc,u) · p(net|asn,u) · p(ip|net,u)`.
//!
//! Each conditional is smoothed towards the population (Witten-Bell):
//! `p(x|parent,u) = (c_u(x) + d_u · p(x|parent)) / (n_u + d_u)`, with `n_u`
//! the subject's logins under that parent and `d_u` the distinct values it
//! used there. A subject with no history under a parent backs off to the
//! population, which contributes nothing (ratio 1): no history is neutral,
//! neither trusted nor suspicious. The population estimate is add-one
//! smoothed: `p(x|parent) = (c(x) + 1) / (C + D + 1)`.
//!
//! The reading is `round(100 · log10(ratio))` summed over hierarchies: 0 is
//! neutral, +100 means ten times likelier under the population (an unseen
//! device on an account seen 9 times on one device gives +100), negative is
//! familiar. It is computed in integers only ([`fixed`]: each ratio is a
//! quotient of integer counts, its log2 a fixed-point number), so every
//! machine gives the same score; it is within ±1 of the f64 formula, and
//! equal to it unless the exact value lies within 1e-6 hundredths per level
//! read of a half.
//!
//! Learning happens after the decision, never before the score is read: an
//! allowed login teaches the profile at once; a challenged one is parked
//! until the service reports the `mfa.result` that names it (`for_event`),
//! with one of the methods the challenge offered, within 15 minutes, and not
//! itself refused. A strong factor (TOTP, passkey, transaction signing)
//! teaches three times as much (the device becomes trusted). A failed,
//! missing or unrelated step-up teaches nothing, so an attacker's own
//! attempts never make their device look familiar, and neither does the
//! holder passing a step-up for something else.

use serde::{Deserialize, Serialize};
use xxhash_rust::xxh3::xxh3_64;

mod budget;
mod compat;
mod cow;
mod fixed;
#[cfg(test)]
mod fixed_tests;
mod flat;
#[cfg(test)]
mod tests;

pub(crate) use budget::POP_NODE_BYTES;
pub(crate) use compat::RiskStoreV5;
pub(crate) use cow::CowMap;
#[cfg(test)]
pub(crate) use cow::SHARDS as COW_SHARDS;
use flat::FlatMap;

/// How long a challenged login waits for its `mfa.result`.
pub(crate) const PENDING_MS: i64 = 15 * 60_000;
/// Values remembered per subject; past this the rarest, then the oldest, are
/// forgotten.
const PROFILE_CAP: usize = 96;
/// Challenged logins parked per subject; a newer one pushes out the oldest.
const PENDING_CAP: usize = 4;

/// The value hashes of one event, per hierarchy, up to the first null.
pub(crate) type Values = Vec<Vec<u64>>;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Tally {
    /// Observations under a parent.
    total: u64,
    /// Distinct values seen under it.
    distinct: u64,
}

/// What a subject has used under one parent.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Seen {
    count: u32,
    last_ms: i64,
    parent: u64,
}

/// A challenged event waiting for the step-up result that names it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Parked {
    /// Hash of the challenged event's id.
    pub event: u64,
    pub at_ms: i64,
    /// The methods the challenge offered.
    pub methods: Vec<sekimori_event::MfaMethod>,
    pub values: Values,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct Profile {
    /// Event time of the last login learned or scored.
    last_ms: i64,
    /// Node (hierarchy, level, parent, value) -> use.
    nodes: FlatMap<u64, Seen>,
    /// Parent node -> totals under it (only parents some kept node sits under).
    parents: FlatMap<u64, Tally>,
    /// Challenged events waiting for their step-up results, oldest first.
    pending: Pending,
}

/// A profile's parked events: one word in the profile (most profiles have
/// none), a boxed vector once one is parked. Serialized as the plain list
/// it was (snapshots unchanged).
// The box is the point: one word in every profile instead of a vector's
// three, for a list almost every profile leaves empty.
#[allow(clippy::box_collection)]
#[derive(Clone, Debug, Default, PartialEq)]
struct Pending(Option<Box<Vec<Parked>>>);

impl Pending {
    fn list(&self) -> &[Parked] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }

    /// Changes the list; an emptied one gives its allocation back, and a
    /// kept one holds no spare capacity (the accounting counts its length:
    /// attacker's review session 25, finding 5).
    fn edit<T>(&mut self, f: impl FnOnce(&mut Vec<Parked>) -> T) -> T {
        let list = self.0.get_or_insert_with(Box::default);
        let out = f(list);
        if list.is_empty() {
            self.0 = None;
        } else {
            list.shrink_to_fit();
        }
        out
    }
}

impl Serialize for Pending {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.list().serialize(s)
    }
}

impl<'de> Deserialize<'de> for Pending {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let list = Vec::<Parked>::deserialize(d)?;
        Ok(Pending((!list.is_empty()).then(|| Box::new(list))))
    }
}

/// One population value: how often it was learned, when last, and the node
/// it sits under (to take it out of its parent's tally when it is evicted).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct PopNode {
    count: u64,
    last_ms: i64,
    parent: u64,
}

/// One risk feature's state: the population and every subject's profile.
///
/// The three maps are copy-on-write shards ([`CowMap`]): a clone (the
/// engine's snapshot copy) shares them, serialized as plain `BTreeMap`s.
///
/// Snapshots are postcard: a new field here means a new snapshot version
/// (see `state.rs`; [`RiskStoreV5`] is the form before population nodes
/// carried their time and parent).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct RiskStore {
    max_keys: usize,
    nodes: CowMap<u64, PopNode>,
    parents: CowMap<u64, Tally>,
    profiles: CowMap<u128, Profile>,
    /// Accounted bytes of every profile, kept up to date by every change;
    /// not serialized ([`RiskStore::recount`] after a restore).
    #[serde(skip)]
    profile_bytes: u64,
}

fn node(parent: u64, hierarchy: usize, level: usize, value: u64) -> u64 {
    let mut b = [0u8; 26];
    b[..8].copy_from_slice(&parent.to_le_bytes());
    b[8] = hierarchy as u8;
    b[9] = level as u8;
    b[10..18].copy_from_slice(&value.to_le_bytes());
    b[18..].copy_from_slice(b"sekrisk1");
    xxh3_64(&b)
}

/// The parent of level 0 of a hierarchy.
fn root(hierarchy: usize) -> u64 {
    xxh3_64(&[b'r', hierarchy as u8])
}

/// Walks a hierarchy's (parent, node) pairs.
fn path(hierarchy: usize, values: &[u64]) -> Vec<(u64, u64)> {
    let mut parent = root(hierarchy);
    values
        .iter()
        .enumerate()
        .map(|(level, &v)| {
            let n = node(parent, hierarchy, level, v);
            let pair = (parent, n);
            parent = n;
            pair
        })
        .collect()
}

impl RiskStore {
    pub fn new(max_keys: usize) -> RiskStore {
        RiskStore {
            max_keys,
            nodes: CowMap::new(),
            parents: CowMap::new(),
            profiles: CowMap::new(),
            profile_bytes: 0,
        }
    }

    /// The score of `values` for `subject`, in hundredths of log10.
    pub fn score(&self, subject: u128, values: &Values) -> i64 {
        fixed::hundredths(self.score_q32(subject, values))
    }

    /// The score as a sum of `2^32 · log2(ratio)` over the levels read
    /// (see [`fixed`]), before it is scaled to hundredths of log10.
    fn score_q32(&self, subject: u128, values: &Values) -> i64 {
        let Some(profile) = self.profiles.get(&subject) else {
            return 0;
        };
        let mut total: i64 = 0;
        for (h, vals) in values.iter().enumerate() {
            for (parent, n) in path(h, vals) {
                let Some(mine) = profile.parents.get(&parent) else {
                    break; // never under this parent: back off, ratio 1
                };
                let pop = self.parents.get(&parent).cloned().unwrap_or_default();
                let c = self.nodes.get(&n).map_or(0, |p| p.count);
                let c_u = profile.nodes.get(&n).map_or(0, |s| s.count);
                let term = fixed::Term {
                    c,
                    pop_total: pop.total,
                    pop_distinct: pop.distinct,
                    c_u,
                    n_u: mine.total,
                    d_u: mine.distinct,
                };
                total = total.saturating_add(term.log2_ratio_q32());
                if c_u == 0 {
                    break; // finer levels sit under a value this subject never used
                }
            }
        }
        total
    }

    /// Teaches `subject`'s profile and the population these values.
    pub fn learn(&mut self, subject: u128, values: &Values, weight: u32, at_ms: i64) {
        let node_cap = self.max_keys.saturating_mul(8);
        for (h, vals) in values.iter().enumerate() {
            for (parent, n) in path(h, vals) {
                let known = self.nodes.contains_key(&n);
                if known || self.nodes.len() < node_cap {
                    let tally = self.parents.get_or_insert_with(parent, Tally::default);
                    tally.total = tally.total.saturating_add(u64::from(weight));
                    tally.distinct += u64::from(!known);
                    let pop = self.nodes.get_or_insert_with(n, || PopNode {
                        count: 0,
                        last_ms: at_ms,
                        parent,
                    });
                    pop.count = pop.count.saturating_add(u64::from(weight));
                    pop.last_ms = pop.last_ms.max(at_ms);
                }
            }
        }
        let known = self.profiles.contains_key(&subject);
        let profile = self.profiles.get_or_insert_with(subject, Profile::default);
        let bytes_before = if known { profile.accounted() } else { 0 };
        profile.last_ms = profile.last_ms.max(at_ms);
        for (h, vals) in values.iter().enumerate() {
            for (parent, n) in path(h, vals) {
                let seen = profile.nodes.get_or_insert_with(n, || Seen {
                    count: 0,
                    last_ms: at_ms,
                    parent,
                });
                let new = seen.count == 0;
                seen.count = seen.count.saturating_add(weight);
                seen.last_ms = seen.last_ms.max(at_ms);
                let tally = profile.parents.get_or_insert_with(parent, Tally::default);
                tally.total = tally.total.saturating_add(u64::from(weight));
                tally.distinct += u64::from(new);
            }
        }
        if profile.nodes.len() > PROFILE_CAP {
            // Forget the rarest values, the oldest first among equals, never
            // one just used; then the parents nothing kept sits under. Totals
            // keep their mass, which only makes the remaining values look a
            // little less familiar.
            let mut order: Vec<(u32, i64, u64)> = profile
                .nodes
                .iter()
                .filter(|(_, s)| s.last_ms < at_ms)
                .map(|(k, s)| (s.count, s.last_ms, *k))
                .collect();
            order.sort_unstable();
            let excess = profile.nodes.len() - PROFILE_CAP;
            let forget: std::collections::BTreeSet<u64> =
                order.iter().take(excess).map(|(_, _, k)| *k).collect();
            profile.nodes.retain(|k, _| !forget.contains(k));
            let kept: std::collections::BTreeSet<u64> =
                profile.nodes.values().map(|s| s.parent).collect();
            profile.parents.retain(|p, _| kept.contains(p));
        }
        self.profile_bytes = self.profile_bytes.saturating_sub(bytes_before) + profile.accounted();
        self.evict();
    }

    /// Parks a challenged event until the step-up result naming it arrives.
    pub fn hold(&mut self, subject: u128, parked: Parked) {
        let known = self.profiles.contains_key(&subject);
        let profile = self.profiles.get_or_insert_with(subject, Profile::default);
        let bytes_before = if known { profile.accounted() } else { 0 };
        profile.last_ms = profile.last_ms.max(parked.at_ms);
        profile.pending.edit(|pending| {
            pending.retain(|p| parked.at_ms.saturating_sub(p.at_ms) <= PENDING_MS);
            if pending.len() >= PENDING_CAP {
                pending.remove(0);
            }
            // One slot more, not a doubling (`edit` trims what is left).
            pending.reserve_exact(1);
            pending.push(parked);
        });
        self.profile_bytes = self.profile_bytes.saturating_sub(bytes_before) + profile.accounted();
        self.evict();
    }

    /// A step-up result for `subject` names the challenged event `event`:
    /// that event is unparked, and learned if the step-up passed with one of
    /// the offered methods within [`PENDING_MS`] after it.
    pub fn settle(
        &mut self,
        subject: u128,
        event: u64,
        method: sekimori_event::MfaMethod,
        passed: bool,
        at_ms: i64,
    ) {
        let Some(profile) = self.profiles.get_mut(&subject) else {
            return;
        };
        let Some(i) = profile.pending.list().iter().position(|p| p.event == event) else {
            return;
        };
        let bytes_before = profile.accounted();
        let parked = profile.pending.edit(|pending| pending.remove(i));
        self.profile_bytes = self.profile_bytes.saturating_sub(bytes_before) + profile.accounted();
        let elapsed = at_ms.saturating_sub(parked.at_ms);
        if passed && (0..=PENDING_MS).contains(&elapsed) && parked.methods.contains(&method) {
            let weight = if method.is_strong() { 3 } else { 1 };
            self.learn(subject, &parked.values, weight, at_ms);
        }
    }

    /// Keeps at most `max_keys` profiles, forgetting the longest unseen.
    fn evict(&mut self) {
        if self.profiles.len() <= self.max_keys {
            return;
        }
        let mut by_age: Vec<(i64, u128)> =
            self.profiles.iter().map(|(k, p)| (p.last_ms, *k)).collect();
        let excess = (by_age.len() - self.max_keys + self.max_keys / 16).min(by_age.len());
        // The `excess` oldest pairs, in no order (pairs are distinct: keys
        // are).
        by_age.select_nth_unstable(excess - 1);
        for (_, k) in by_age.into_iter().take(excess) {
            if let Some(p) = self.profiles.remove(&k) {
                self.profile_bytes = self.profile_bytes.saturating_sub(p.accounted());
            }
        }
    }

    /// Order-independent digest for `Engine::state_digest`.
    pub fn state_digest(&self) -> u64 {
        xxh3_64(&postcard::to_stdvec(self).unwrap_or_default())
    }
}
