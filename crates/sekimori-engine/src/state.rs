//! Everything the engine remembers between events, and its snapshot form.

use crate::admit::Admissions;
use crate::budget::Budget;
use crate::holds::{Holds, HoldsV2, HoldsV4};
use crate::profiles::ProfileStore;
use crate::risk::{RiskStore, RiskStoreV5};
use sekimori_rules::{ListValues, Pack};
use sekimori_window::FeatureStore;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use xxhash_rust::xxh3::xxh3_64;

/// Snapshot format version, the first byte of every snapshot. Version 7
/// added entity profiles (`profiles`: `aggregate: amounts | hours`). Version 6
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
const SNAPSHOT_V6: u8 = 6;
const SNAPSHOT_V5: u8 = 5;
const SNAPSHOT_V4: u8 = 4;
const SNAPSHOT_V3: u8 = 3;
const SNAPSHOT_V2: u8 = 2;

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
    /// Challenged events' `counts: allowed` updates, waiting for their step-up.
    pub admissions: Admissions,
    /// The memory budget and what it evicted.
    pub budget: Budget,
    /// Entity profiles (amounts, hours of the week), by feature spec digest.
    pub profiles: BTreeMap<u64, ProfileStore>,
    /// The eviction kind of each feature store, by spec digest (from the
    /// pack: not serialized, set by `sync_stores`).
    #[serde(skip)]
    pub kinds: BTreeMap<u64, usize>,
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
            .filter(|f| f.risk.is_none() && f.profile.is_none())
            .map(|f| (f.spec_digest, f.config))
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
        let mut state = State::decode(bytes)?;
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
            Some((&SNAPSHOT_V6, rest)) => postcard::from_bytes::<StateV6>(rest)
                .map(State::from)
                .map_err(|e| format!("version-6 snapshot does not decode: {e}")),
            Some((&SNAPSHOT_V5, rest)) => postcard::from_bytes::<StateV5>(rest)
                .map(State::from)
                .map_err(|e| format!("version-5 snapshot does not decode: {e}")),
            Some((&SNAPSHOT_V4, rest)) => postcard::from_bytes::<StateV4>(rest)
                .map(State::from)
                .map_err(|e| format!("version-4 snapshot does not decode: {e}")),
            Some((&SNAPSHOT_V3, rest)) => postcard::from_bytes::<StateV3>(rest)
                .map(State::from)
                .map_err(|e| format!("version-3 snapshot does not decode: {e}")),
            Some((&SNAPSHOT_V2, rest)) => postcard::from_bytes::<StateV2>(rest)
                .map(State::from)
                .map_err(|e| format!("version-2 snapshot does not decode: {e}")),
            Some((v, _)) => Err(format!(
                "snapshot version {v}, expected {SNAPSHOT_V2} to {SNAPSHOT_VERSION}"
            )),
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

/// Risk stores as snapshot versions 2 to 5 wrote them, upgraded as of the
/// snapshot's watermark.
fn upgrade_risk(risk: BTreeMap<u64, RiskStoreV5>, as_of_ms: i64) -> BTreeMap<u64, RiskStore> {
    risk.into_iter()
        .map(|(digest, store)| (digest, store.upgrade(as_of_ms)))
        .collect()
}

/// The state as snapshot version 6 wrote it: the same fields, in the same
/// order, before `profiles`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct StateV6 {
    watermark_ms: i64,
    events: u64,
    stores: BTreeMap<u64, FeatureStore>,
    risk: BTreeMap<u64, RiskStore>,
    holds: Holds,
    api_lists: BTreeMap<String, BTreeSet<String>>,
    admissions: Admissions,
    budget: Budget,
}

impl From<StateV6> for State {
    fn from(old: StateV6) -> State {
        State {
            watermark_ms: old.watermark_ms,
            events: old.events,
            stores: old.stores,
            risk: old.risk,
            holds: old.holds,
            api_lists: old.api_lists,
            admissions: old.admissions,
            budget: old.budget,
            ..State::default()
        }
    }
}

/// The state as snapshot version 5 wrote it: the same fields, in the same
/// order, before `budget`, with risk stores of version 5.
#[derive(Debug, Default, Serialize, Deserialize)]
struct StateV5 {
    watermark_ms: i64,
    events: u64,
    stores: BTreeMap<u64, FeatureStore>,
    risk: BTreeMap<u64, RiskStoreV5>,
    holds: Holds,
    api_lists: BTreeMap<String, BTreeSet<String>>,
    admissions: Admissions,
}

impl From<StateV5> for State {
    fn from(old: StateV5) -> State {
        State {
            watermark_ms: old.watermark_ms,
            events: old.events,
            stores: old.stores,
            risk: upgrade_risk(old.risk, old.watermark_ms),
            holds: old.holds,
            api_lists: old.api_lists,
            admissions: old.admissions,
            ..State::default()
        }
    }
}

/// The state as snapshot version 4 wrote it: the same fields, in the same
/// order, with hold keys without a service.
#[derive(Debug, Default, Serialize, Deserialize)]
struct StateV4 {
    watermark_ms: i64,
    events: u64,
    stores: BTreeMap<u64, FeatureStore>,
    risk: BTreeMap<u64, RiskStoreV5>,
    holds: HoldsV4,
    api_lists: BTreeMap<String, BTreeSet<String>>,
    admissions: Admissions,
}

impl From<StateV4> for State {
    fn from(old: StateV4) -> State {
        State {
            watermark_ms: old.watermark_ms,
            events: old.events,
            stores: old.stores,
            risk: upgrade_risk(old.risk, old.watermark_ms),
            holds: old.holds.into(),
            api_lists: old.api_lists,
            admissions: old.admissions,
            ..State::default()
        }
    }
}

/// The state as snapshot version 3 wrote it: the same fields, in the same
/// order, before `admissions`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct StateV3 {
    watermark_ms: i64,
    events: u64,
    stores: BTreeMap<u64, FeatureStore>,
    risk: BTreeMap<u64, RiskStoreV5>,
    holds: HoldsV4,
    api_lists: BTreeMap<String, BTreeSet<String>>,
}

impl From<StateV3> for State {
    fn from(old: StateV3) -> State {
        State {
            watermark_ms: old.watermark_ms,
            events: old.events,
            stores: old.stores,
            risk: upgrade_risk(old.risk, old.watermark_ms),
            holds: old.holds.into(),
            api_lists: old.api_lists,
            ..State::default()
        }
    }
}

/// The state as snapshot version 2 wrote it: the same fields, in the same
/// order, with holds before `by` and `reason`.
#[derive(Debug, Default, Serialize, Deserialize)]
struct StateV2 {
    watermark_ms: i64,
    events: u64,
    stores: BTreeMap<u64, FeatureStore>,
    risk: BTreeMap<u64, RiskStoreV5>,
    holds: HoldsV2,
    api_lists: BTreeMap<String, BTreeSet<String>>,
}

impl From<StateV2> for State {
    fn from(old: StateV2) -> State {
        State {
            watermark_ms: old.watermark_ms,
            events: old.events,
            stores: old.stores,
            risk: upgrade_risk(old.risk, old.watermark_ms),
            holds: old.holds.into(),
            api_lists: old.api_lists,
            ..State::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{HoldKey, HoldScope};
    use sekimori_rules::Action;

    #[test]
    fn a_version_2_snapshot_still_restores() {
        let old = StateV2 {
            watermark_ms: 7,
            events: 3,
            holds: HoldsV2::with(HoldScope::Account, "vic", Action::Freeze, "not_me", 5),
            api_lists: BTreeMap::from([("l".to_string(), BTreeSet::from(["x".to_string()]))]),
            ..StateV2::default()
        };
        let mut bytes = vec![SNAPSHOT_V2];
        bytes.extend(postcard::to_stdvec(&old).expect("encodes"));
        let state = State::from_bytes(&bytes).expect("decodes");
        assert_eq!((state.watermark_ms, state.events), (7, 3));
        // A hold from before services covers every service.
        let hold = state
            .holds
            .get(&HoldKey::account("*", "vic"))
            .expect("hold");
        assert_eq!((hold.rule.as_str(), hold.by.as_deref()), ("not_me", None));
        assert_eq!(state.api_lists.len(), 1);
        let again = State::from_bytes(&state.to_bytes()).expect("round trip");
        assert_eq!(again, state);
        assert!(State::from_bytes(&[9, 0]).is_err_and(|e| e.contains("version 9")));
    }

    #[test]
    fn a_version_3_snapshot_still_restores() {
        let holds = HoldsV4::with(
            HoldScope::Account,
            "vic",
            crate::holds::Hold::operator(Action::Freeze, "ops", "called in", 5),
        );
        let old = StateV3 {
            watermark_ms: 11,
            events: 4,
            holds,
            api_lists: BTreeMap::from([("l".to_string(), BTreeSet::from(["x".to_string()]))]),
            ..StateV3::default()
        };
        let mut bytes = vec![SNAPSHOT_V3];
        bytes.extend(postcard::to_stdvec(&old).expect("encodes"));
        let state = State::from_bytes(&bytes).expect("decodes");
        assert_eq!((state.watermark_ms, state.events), (11, 4));
        let hold = state
            .holds
            .get(&HoldKey::account("*", "vic"))
            .expect("hold");
        assert_eq!(hold.by.as_deref(), Some("ops"));
        assert!(state.admissions.is_empty());
        assert_eq!(state.to_bytes()[0], SNAPSHOT_VERSION);
        let again = State::from_bytes(&state.to_bytes()).expect("round trip");
        assert_eq!(again, state);
    }

    #[test]
    fn a_version_4_snapshot_still_restores_with_holds_of_every_service() {
        let old = StateV4 {
            watermark_ms: 13,
            events: 5,
            holds: HoldsV4::with(
                HoldScope::Wallet,
                "hot-1",
                crate::holds::Hold::operator(Action::Halt, "ops", "drill", 6),
            ),
            ..StateV4::default()
        };
        let mut bytes = vec![SNAPSHOT_V4];
        bytes.extend(postcard::to_stdvec(&old).expect("encodes"));
        let state = State::from_bytes(&bytes).expect("decodes");
        assert_eq!((state.watermark_ms, state.events), (13, 5));
        let key = HoldKey {
            service: "*".into(),
            scope: HoldScope::Wallet,
            key: "hot-1".into(),
        };
        assert!(state.holds.get(&key).is_some());
        let again = State::from_bytes(&state.to_bytes()).expect("round trip");
        assert_eq!(again, state);
    }

    #[test]
    fn a_version_6_snapshot_still_restores_without_profiles() {
        let old = StateV6 {
            watermark_ms: 17,
            events: 6,
            holds: HoldsV4::with(
                HoldScope::Account,
                "vic",
                crate::holds::Hold::operator(Action::Freeze, "ops", "called in", 5),
            )
            .into(),
            budget: Budget {
                bytes: Some(1 << 20),
                ..Budget::default()
            },
            ..StateV6::default()
        };
        let mut bytes = vec![SNAPSHOT_V6];
        bytes.extend(postcard::to_stdvec(&old).expect("encodes"));
        let state = State::from_bytes(&bytes).expect("decodes");
        assert_eq!((state.watermark_ms, state.events), (17, 6));
        assert_eq!(state.budget.bytes, Some(1 << 20));
        assert!(state.profiles.is_empty());
        assert_eq!(state.to_bytes()[0], SNAPSHOT_VERSION);
        let again = State::from_bytes(&state.to_bytes()).expect("round trip");
        assert_eq!(again, state);
    }

    #[test]
    fn profiles_survive_a_snapshot_and_change_the_digest() {
        let mut state = State::default();
        let empty_digest = state.digest();
        let mut store = ProfileStore::new(sekimori_rules::ProfileKind::Amounts, 100);
        store.learn(5, Some(1_000), 10);
        store.learn(5, Some(250_000), 20);
        state.profiles.insert(9, store);
        assert_ne!(state.digest(), empty_digest);
        let again = State::from_bytes(&state.to_bytes()).expect("round trip");
        assert_eq!(again, state);
        assert_eq!(again.digest(), state.digest());
        assert_eq!(
            again.profiles[&9].accounted_bytes(),
            state.profiles[&9].accounted_bytes()
        );
    }

    #[test]
    fn parked_admissions_survive_a_snapshot() {
        let mut state = State::default();
        state.admissions.park(
            3,
            4,
            crate::admit::Parked {
                at_ms: 10,
                methods: vec![sekimori_event::MfaMethod::Totp],
                updates: vec![(1, 2, crate::admit::Value::Int(5))],
            },
            0,
        );
        let empty_digest = State::default().digest();
        assert_ne!(state.digest(), empty_digest);
        let again = State::from_bytes(&state.to_bytes()).expect("round trip");
        assert_eq!(again, state);
        assert_eq!(again.digest(), state.digest());
    }
}
