//! Everything the engine remembers between events, and its snapshot form.

use crate::holds::Holds;
use crate::risk::RiskStore;
use sekimori_rules::{ListValues, Pack};
use sekimori_window::FeatureStore;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use xxhash_rust::xxh3::xxh3_64;

/// Snapshot format version, the first byte of every snapshot.
const SNAPSHOT_VERSION: u8 = 2;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct State {
    /// Newest event time seen, milliseconds.
    pub watermark_ms: i64,
    /// Events decided so far.
    pub events: u64,
    /// Feature windows, by feature spec digest.
    pub stores: BTreeMap<u64, FeatureStore>,
    /// Login-risk profiles, by feature spec digest.
    pub risk: BTreeMap<u64, RiskStore>,
    pub holds: Holds,
    /// List items added through the API, by list name.
    pub api_lists: BTreeMap<String, BTreeSet<String>>,
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
        let wanted: BTreeMap<u64, _> = pack
            .features
            .iter()
            .filter(|f| f.risk.is_none())
            .map(|f| (f.spec_digest, f.config))
            .collect();
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
        self.stores.retain(|digest, _| wanted.contains_key(digest));
        for (digest, config) in wanted {
            if let (std::collections::btree_map::Entry::Vacant(slot), Ok(store)) =
                (self.stores.entry(digest), FeatureStore::new(config))
            {
                slot.insert(store);
            }
        }
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
        match bytes.split_first() {
            Some((&SNAPSHOT_VERSION, rest)) => {
                postcard::from_bytes(rest).map_err(|e| format!("snapshot does not decode: {e}"))
            }
            Some((v, _)) => Err(format!("snapshot version {v}, expected {SNAPSHOT_VERSION}")),
            None => Err("empty snapshot".into()),
        }
    }

    pub fn digest(&self) -> u64 {
        let mut parts: Vec<u64> = vec![self.watermark_ms as u64, self.events];
        for (digest, store) in &self.stores {
            parts.push(*digest);
            parts.push(store.state_digest());
        }
        for (digest, store) in &self.risk {
            parts.push(*digest);
            parts.push(store.state_digest());
        }
        let rest = postcard::to_stdvec(&(&self.holds, &self.api_lists))
            .unwrap_or_else(|e| e.to_string().into_bytes());
        parts.push(xxh3_64(&rest));
        let bytes: Vec<u8> = parts.iter().flat_map(|p| p.to_le_bytes()).collect();
        xxh3_64(&bytes)
    }
}
