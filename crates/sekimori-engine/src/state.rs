//! Everything the engine remembers between events, and its snapshot form.

use crate::admit::Admissions;
use crate::budget::Budget;
use crate::holds::{Holds, HoldsV2, HoldsV4};
use crate::profiles::ProfileStore;
use crate::risk::{RiskStore, RiskStoreV5};
use sekimori_rules::{ListValues, Pack};
use sekimori_window::{ShardSeed, Stores};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use xxhash_rust::xxh3::xxh3_64;

mod compat;

/// Snapshot format version, the first byte of every snapshot: 7, which
/// added entity profiles (`profiles`: `aggregate: amounts | hours`).
/// Version 8 (written only by unreleased code of 2026-12-06) was version 7
/// followed by the shard seed; it still restores, its seed read and thrown
/// away (the attacker's review F3: a seed kept in snapshots, which go to
/// the object store and backups unencrypted, would let whoever reads one
/// craft keys for one shard for the life of the deployment). A restore
/// draws a fresh seed instead: nothing but the layout depends on it, and
/// the snapshot's bytes are the same under every seed. Version 6
/// added the memory budget (`budget`) and population values' times and
/// parents in risk stores (older risk stores restore with their values
/// learned at the snapshot's watermark). Version 5
/// gave hold keys a service (tenant; older holds restore as holds of every
/// service, which is what they were). Version 4
/// added `admissions` (challenged events' `counts: allowed` updates waiting
/// for their step-up); version 3 added `by` and `reason` to holds (operator
/// holds). Version 2 and 3 snapshots still restore (with no admission
/// parked, and a version 2 hold with neither `by` nor `reason`).
const SNAPSHOT_VERSION: u8 = 7;
/// Version 7 and the shard seed after it (read, never written).
const SNAPSHOT_V8_SEEDED: u8 = 8;
const SNAPSHOT_OLDEST: u8 = 2;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub(crate) struct State {
    /// Newest event time seen, milliseconds.
    pub watermark_ms: i64,
    /// Events decided so far.
    pub events: u64,
    /// Feature windows, by feature spec digest (the features of one key
    /// list share a table: `sekimori_window::Stores`; written as a map of
    /// one `FeatureStore` per feature, as before).
    pub stores: Stores,
    /// Login-risk profiles, by feature spec digest.
    pub risk: BTreeMap<u64, RiskStore>,
    pub holds: Holds,
    /// List items added through the API, by list name.
    pub api_lists: BTreeMap<String, BTreeSet<String>>,
    /// Challenged events' `counts: allowed` updates, waiting for their step-up.
    pub admissions: Admissions,
    /// The memory budget and what it evicted.
    pub budget: Budget,
    /// Entity profiles (amounts, hours of the week), by feature spec digest.
    pub profiles: BTreeMap<u64, ProfileStore>,
    /// The secret that lays out the keys of every feature store (the
    /// attacker's review, F1): drawn afresh when the state is created and
    /// on every restore, never written to a snapshot (review F3). Never
    /// digested: no decision, eviction, accounting or snapshot byte
    /// depends on it, so a restore or a replay of the log that draws
    /// another decides the same.
    #[serde(skip)]
    pub seed: ShardSeed,
    /// The eviction kind of each feature store, by spec digest (from the
    /// pack: not serialized, set by `sync_stores`).
    #[serde(skip)]
    pub kinds: BTreeMap<u64, usize>,
}

/// Equal content: every field but the seed, which only lays keys out
/// (feature stores compare their keys, not their layout, too).
impl PartialEq for State {
    fn eq(&self, other: &State) -> bool {
        let State {
            watermark_ms,
            events,
            stores,
            risk,
            holds,
            api_lists,
            admissions,
            budget,
            profiles,
            seed: _,
            kinds,
        } = self;
        *watermark_ms == other.watermark_ms
            && *events == other.events
            && *stores == other.stores
            && *risk == other.risk
            && *holds == other.holds
            && *api_lists == other.api_lists
            && *admissions == other.admissions
            && *budget == other.budget
            && *profiles == other.profiles
            && *kinds == other.kinds
    }
}

/// Sliding windows at most this long are grouped apart from longer ones
/// ([`key_list_tag`]).
const SHORT_WINDOW_MS: i64 = 60 * 60_000;

/// The tag of a feature's grouping: its key list (its expressions' source
/// texts) and whether its window is short. The features of one tag are
/// keyed alike and share a table of records.
///
/// A member's sweep walks every record of its group, not only its own
/// keys, and a sliding window sweeps every half its length. A 10-minute
/// window in the group of a 90-day one would walk every key of the last 90
/// days every 5 minutes of event time: in the medium world such members
/// made about 98% of the group walks, and group sweeps took 12% of a
/// replay's time (`bench/results/2026-12-07-short-groups.md`). Apart, a
/// short window's table (a group, or a store of its own when it is its
/// list's only short window, as each is in the default pack) holds only
/// the keys seen within the hour, and the default pack's long members
/// sweep every 12 hours or less often. Grouping never changes an answer,
/// a snapshot or a digest without a memory budget
/// (`sekimori_window::Stores`). It does change the accounted bytes: a
/// grouped state is charged its place in its record, a solo one is not,
/// so under a budget a log written by an older binary may evict at other
/// times.
fn key_list_tag(f: &sekimori_rules::Feature) -> u64 {
    let mut bytes = Vec::new();
    for k in &f.key {
        let source = k.source();
        bytes.extend_from_slice(&(source.len() as u64).to_le_bytes());
        bytes.extend_from_slice(source.as_bytes());
    }
    bytes.push(u8::from(is_short(f.config.window)));
    xxh3_64(&bytes)
}

fn is_short(window: sekimori_window::Window) -> bool {
    matches!(window, sekimori_window::Window::Sliding { length_ms, .. } if length_ms <= SHORT_WINDOW_MS)
}

impl State {
    /// Moves the watermark; true when the event is later than the allowed lateness.
    pub fn advance(&mut self, at_ms: i64, lateness_ms: i64) -> bool {
        if self.events == 0 {
            self.watermark_ms = at_ms;
            return false;
        }
        let late = at_ms < self.watermark_ms.saturating_sub(lateness_ms);
        self.watermark_ms = self.watermark_ms.max(at_ms);
        late
    }

    /// The time an event counts at: its own, clamped to the lateness horizon.
    pub fn effective_time(&self, at_ms: i64, lateness_ms: i64) -> i64 {
        at_ms.max(self.watermark_ms.saturating_sub(lateness_ms))
    }

    /// Keeps the stores of features the pack still declares unchanged, drops the
    /// rest, and creates empty stores for new features.
    pub fn sync_stores(&mut self, pack: &Pack) {
        let wanted: Vec<(u64, sekimori_window::FeatureConfig, Option<u64>)> = pack
            .features
            .iter()
            .filter(|f| f.risk.is_none() && f.profile.is_none())
            .map(|f| (f.spec_digest, f.config, Some(key_list_tag(f))))
            .collect();
        let kept: BTreeMap<u64, _> = pack
            .features
            .iter()
            .filter_map(|f| f.profile.map(|k| (f.spec_digest, (k, f.config.max_keys))))
            .collect();
        self.profiles.retain(|digest, _| kept.contains_key(digest));
        for (digest, (kind, max_keys)) in kept {
            self.profiles
                .entry(digest)
                .or_insert_with(|| ProfileStore::new(kind, max_keys));
        }
        let profiles: BTreeMap<u64, usize> = pack
            .features
            .iter()
            .filter(|f| f.risk.is_some())
            .map(|f| (f.spec_digest, f.config.max_keys))
            .collect();
        self.risk.retain(|digest, _| profiles.contains_key(digest));
        for (digest, max_keys) in profiles {
            self.risk
                .entry(digest)
                .or_insert_with(|| RiskStore::new(max_keys));
        }
        self.kinds = pack
            .features
            .iter()
            .filter(|f| f.risk.is_none() && f.profile.is_none())
            .map(|f| (f.spec_digest, crate::budget::kind_of(f)))
            .collect();
        self.stores.arrange(&wanted, self.seed);
        self.api_lists
            .retain(|name, _| pack.lists.contains_key(name));
    }

    pub fn list_values(&self, pack: &Pack) -> ListValues {
        let merged: BTreeMap<&str, BTreeSet<String>> = pack
            .lists
            .iter()
            .map(|(name, items)| {
                let api = self.api_lists.get(name).into_iter().flatten();
                (name.as_str(), items.iter().chain(api).cloned().collect())
            })
            .collect();
        ListValues::new(merged.iter().map(|(k, v)| (*k, v)))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![SNAPSHOT_VERSION];
        out.extend(postcard::to_stdvec(self).unwrap_or_default());
        out
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<State, String> {
        let mut state = State::decode(bytes)?;
        // No seed is restored (a version-8 one is thrown away): the state
        // drew a fresh one, and its feature stores take it.
        state.stores.reseed(state.seed);
        // Accounting is not serialized: it is a function of the content.
        for store in state.risk.values_mut() {
            store.recount();
        }
        state.admissions.recount();
        Ok(state)
    }

    fn decode(bytes: &[u8]) -> Result<State, String> {
        match bytes.split_first() {
            Some((&SNAPSHOT_VERSION, rest)) => {
                postcard::from_bytes(rest).map_err(|e| format!("snapshot does not decode: {e}"))
            }
            Some((&SNAPSHOT_V8_SEEDED, rest)) => compat::decode_seeded(rest),
            Some((&v, rest)) if (SNAPSHOT_OLDEST..SNAPSHOT_VERSION).contains(&v) => {
                compat::decode_old(v, rest)
            }
            Some((v, _)) => Err(format!(
                "snapshot version {v}, expected {SNAPSHOT_OLDEST} to {SNAPSHOT_V8_SEEDED}"
            )),
            None => Err("empty snapshot".into()),
        }
    }

    pub fn digest(&self) -> u64 {
        let mut parts: Vec<u64> = vec![self.watermark_ms as u64, self.events];
        let stores = self.stores.settled();
        for (digest, store) in stores.iter() {
            parts.push(digest);
            parts.push(store.state_digest());
        }
        for (digest, store) in &self.risk {
            parts.push(*digest);
            parts.push(store.state_digest());
        }
        for (digest, store) in &self.profiles {
            // Only profile features add parts: a state without any digests
            // as it did before profiles existed.
            parts.push(*digest);
            parts.push(store.state_digest());
        }
        let rest = postcard::to_stdvec(&(&self.holds, &self.api_lists))
            .unwrap_or_else(|e| e.to_string().into_bytes());
        parts.push(xxh3_64(&rest));
        if self.budget != Budget::default() {
            // Only once a budget was set: a state without one digests as
            // it did before budgets existed.
            let budget =
                postcard::to_stdvec(&self.budget).unwrap_or_else(|e| e.to_string().into_bytes());
            parts.push(xxh3_64(&budget));
        }
        if !self.admissions.is_empty() {
            // Only when something is parked: a state without any digests as
            // it did before admissions existed.
            let parked = postcard::to_stdvec(&self.admissions)
                .unwrap_or_else(|e| e.to_string().into_bytes());
            parts.push(xxh3_64(&parked));
        }
        let bytes: Vec<u8> = parts.iter().flat_map(|p| p.to_le_bytes()).collect();
        xxh3_64(&bytes)
    }
}

#[cfg(test)]
mod tag_tests {
    use super::{is_short, key_list_tag};
    use std::collections::BTreeMap;

    /// The default pack keys short and long windows by the same key lists
    /// (the account's failures in 15 minutes, its first sight in 90 days);
    /// each list's short windows get a tag of their own, and a tag never
    /// holds both. (Risk and profile features are never grouped; their
    /// tags are computed here all the same.)
    #[test]
    fn short_windows_are_grouped_apart_from_long_ones() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/default");
        let pack = sekimori_rules::compile(sekimori_rules::load_pack(&dir).expect("loads"))
            .expect("compiles");
        let mut by_tag: BTreeMap<u64, Vec<bool>> = BTreeMap::new();
        let mut by_keys: BTreeMap<Vec<String>, (u64, u64)> = BTreeMap::new();
        let mut split = 0;
        for f in &pack.features {
            let tag = key_list_tag(f);
            let short = is_short(f.config.window);
            by_tag.entry(tag).or_default().push(short);
            let keys: Vec<String> = f.key.iter().map(|k| k.source().to_string()).collect();
            let tags = by_keys.entry(keys).or_insert((0, 0));
            if short {
                tags.0 = tag;
            } else {
                tags.1 = tag;
            }
        }
        for (tag, shorts) in &by_tag {
            assert!(
                shorts.iter().all(|s| *s == shorts[0]),
                "tag {tag:x} mixes short and long windows"
            );
        }
        for (short, long) in by_keys.values() {
            if *short != 0 && *long != 0 {
                assert_ne!(short, long);
                split += 1;
            }
        }
        assert!(
            split >= 2,
            "key lists with both short and long windows: {split}"
        );
    }

    #[test]
    fn an_hour_is_short_and_ever_is_not() {
        use sekimori_window::Window;
        let sliding = |length_ms| Window::Sliding {
            length_ms,
            resolution_ms: 60_000,
        };
        assert!(is_short(sliding(600_000)));
        assert!(is_short(sliding(3_600_000)));
        assert!(!is_short(sliding(3_600_001)));
        assert!(!is_short(sliding(86_400_000)));
        assert!(!is_short(Window::Ever));
    }
}
