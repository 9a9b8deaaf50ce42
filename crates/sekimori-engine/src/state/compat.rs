//! The state as older snapshot versions (2 to 6) wrote it, and how each
//! restores: the same fields in the same order as each version wrote them,
//! upgraded to the current `State`.

use super::*;

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
pub(super) struct StateV6 {
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
pub(super) struct StateV5 {
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
pub(super) struct StateV4 {
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
pub(super) struct StateV3 {
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
pub(super) struct StateV2 {
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
