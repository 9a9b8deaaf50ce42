//! The state as older snapshot versions (2 to 6) wrote it, and how each
//! restores. Every version wrote the same fields in the same order, each
//! adding one at the end, and postcard writes a struct as its fields one
//! after the other; so an old snapshot is read field by field: the head
//! every version wrote (with its version's risk stores and holds), then
//! `admissions` from version 4, `budget` from 6 (`profiles`, from 7, is the
//! current version's). Version 8 (unreleased) is the current version
//! followed by the shard seed, which is read and thrown away. Every restore
//! draws a fresh seed: nothing but the layout depends on it.

use super::*;
use serde::de::DeserializeOwned;

/// The fields every version wrote first, with the version's risk stores
/// (`R`) and holds (`H`).
#[derive(Debug, Default, Serialize, Deserialize)]
pub(super) struct Head<R, H> {
    watermark_ms: i64,
    events: u64,
    stores: Stores,
    risk: BTreeMap<u64, R>,
    holds: H,
    api_lists: BTreeMap<String, BTreeSet<String>>,
}

/// A risk store of any version, upgraded as of the snapshot's watermark.
trait Upgrade {
    fn upgrade(self, as_of_ms: i64) -> RiskStore;
}

impl Upgrade for RiskStoreV5 {
    fn upgrade(self, as_of_ms: i64) -> RiskStore {
        RiskStoreV5::upgrade(self, as_of_ms)
    }
}

impl Upgrade for RiskStore {
    fn upgrade(self, _: i64) -> RiskStore {
        self
    }
}

/// Reads the next field of a version-`v` snapshot.
fn take<T: DeserializeOwned>(bytes: &mut &[u8], v: u8, what: &str) -> Result<T, String> {
    let (value, rest) = postcard::take_from_bytes(bytes)
        .map_err(|e| format!("version-{v} snapshot does not decode ({what}): {e}"))?;
    *bytes = rest;
    Ok(value)
}

fn head<R, H>(bytes: &mut &[u8], v: u8) -> Result<State, String>
where
    R: Upgrade + DeserializeOwned,
    H: Into<Holds> + DeserializeOwned,
{
    let old: Head<R, H> = take(bytes, v, "head")?;
    let as_of = old.watermark_ms;
    Ok(State {
        watermark_ms: old.watermark_ms,
        events: old.events,
        stores: old.stores,
        risk: old
            .risk
            .into_iter()
            .map(|(digest, store)| (digest, store.upgrade(as_of)))
            .collect(),
        holds: old.holds.into(),
        api_lists: old.api_lists,
        ..State::default()
    })
}

/// The state a version-8 snapshot wrote: the current version's fields,
/// then the shard seed it kept, which is read (a snapshot cut short is
/// refused) and thrown away: the state keeps its fresh one (review F3).
pub(super) fn decode_seeded(mut bytes: &[u8]) -> Result<State, String> {
    let b = &mut bytes;
    let state: State = take(b, 8, "state")?;
    // The seed's two words (`ShardSeed` itself no longer serializes).
    let _kept: [u64; 2] = take(b, 8, "seed")?;
    Ok(state)
}

/// The state a version-`v` snapshot (2 to 6) wrote, upgraded: holds of
/// versions 2 to 4 hold for every service (version 2's with neither `by`
/// nor `reason`), risk stores of versions 2 to 5 learned their population
/// values at the snapshot's watermark, and what a version did not write
/// starts empty (admissions before 4, the budget before 6, profiles).
pub(super) fn decode_old(v: u8, mut bytes: &[u8]) -> Result<State, String> {
    let b = &mut bytes;
    let mut state = match v {
        2 => head::<RiskStoreV5, HoldsV2>(b, v)?,
        3 | 4 => head::<RiskStoreV5, HoldsV4>(b, v)?,
        5 => head::<RiskStoreV5, Holds>(b, v)?,
        6 => head::<RiskStore, Holds>(b, v)?,
        _ => return Err(format!("snapshot version {v} is not an old version")),
    };
    if v >= 4 {
        state.admissions = take(b, v, "admissions")?;
    }
    if v >= 6 {
        state.budget = take(b, v, "budget")?;
    }
    Ok(state)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::{HoldKey, HoldScope};
    use sekimori_rules::Action;

    #[test]
    fn a_version_2_snapshot_still_restores() {
        let old = Head::<RiskStoreV5, HoldsV2> {
            watermark_ms: 7,
            events: 3,
            holds: HoldsV2::with(HoldScope::Account, "vic", Action::Freeze, "not_me", 5),
            api_lists: BTreeMap::from([("l".to_string(), BTreeSet::from(["x".to_string()]))]),
            ..Head::default()
        };
        let mut bytes = vec![2];
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
        let old = Head::<RiskStoreV5, HoldsV4> {
            watermark_ms: 11,
            events: 4,
            holds,
            api_lists: BTreeMap::from([("l".to_string(), BTreeSet::from(["x".to_string()]))]),
            ..Head::default()
        };
        let mut bytes = vec![3];
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
        let old = Head::<RiskStoreV5, HoldsV4> {
            watermark_ms: 13,
            events: 5,
            holds: HoldsV4::with(
                HoldScope::Wallet,
                "hot-1",
                crate::holds::Hold::operator(Action::Halt, "ops", "drill", 6),
            ),
            ..Head::default()
        };
        let mut bytes = vec![4];
        bytes.extend(postcard::to_stdvec(&(old, Admissions::default())).expect("encodes"));
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
        let old = Head::<RiskStoreV5, Holds> {
            watermark_ms: 17,
            events: 6,
            holds: HoldsV4::with(
                HoldScope::Account,
                "vic",
                crate::holds::Hold::operator(Action::Freeze, "ops", "called in", 5),
            )
            .into(),
            ..Head::default()
        };
        let budget = Budget {
            bytes: Some(1 << 20),
            ..Budget::default()
        };
        let mut bytes = vec![6];
        let old = (old, Admissions::default(), budget);
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

    /// A state with a feature store of 3,000 keys, a budget and a profile.
    fn a_full_state() -> State {
        let config = sekimori_window::FeatureConfig {
            window: sekimori_window::Window::Ever,
            aggregate: sekimori_window::Aggregate::Count,
            max_keys: 10_000,
            lateness_ms: 0,
        };
        let mut store = sekimori_window::FeatureStore::new(config).expect("valid");
        let obs = |at_ms| sekimori_window::Obs {
            at_ms,
            value: sekimori_window::ObsValue::None,
        };
        for k in 0..3_000u128 {
            store.apply(k * 0x9E37_79B9, Some(obs(k as i64)), k as i64);
        }
        let mut state = State {
            watermark_ms: 2_999,
            events: 3_000,
            ..State::default()
        };
        state.stores.insert(41, store);
        state.budget.bytes = Some(1 << 22);
        let mut profile = ProfileStore::new(sekimori_rules::ProfileKind::Amounts, 100);
        profile.learn(5, Some(1_000), 10);
        state.profiles.insert(9, profile);
        state
    }

    /// The current version writes exactly the fields version 7 wrote (no
    /// seed), so a version-7 snapshot of the released code restores the
    /// same state, and the same bytes come back out.
    #[test]
    fn the_current_version_is_version_7_without_a_seed() {
        let state = a_full_state();
        let v7 = (
            Head::<RiskStore, &Holds> {
                watermark_ms: state.watermark_ms,
                events: state.events,
                stores: state.stores.clone(),
                risk: BTreeMap::new(),
                holds: &state.holds,
                api_lists: state.api_lists.clone(),
            },
            &state.admissions,
            &state.budget,
            &state.profiles,
        );
        let mut bytes = vec![7];
        bytes.extend(postcard::to_stdvec(&v7).expect("encodes"));
        assert_eq!(state.to_bytes(), bytes);
        let old = State::from_bytes(&bytes).expect("decodes");
        assert_eq!(old, state);
        assert_eq!(old.digest(), state.digest());
        assert_eq!(old.to_bytes(), bytes);
    }

    /// A version-8 snapshot (this session's unreleased writer: version 7's
    /// fields, then the seed) restores the same state under a fresh seed;
    /// the kept seed is thrown away, and one cut short is refused.
    #[test]
    fn a_version_8_snapshot_restores_under_a_fresh_seed() {
        let state = a_full_state();
        // The seed as 6b4d7f7 wrote it: `ShardSeed([u64; 2])`, two varints.
        let kept = [0x5eed_u64, 0xc0ffee];
        let mut v8 = vec![8];
        v8.extend(postcard::to_stdvec(&(&state, kept)).expect("encodes"));
        assert_eq!(v8.len(), state.to_bytes().len() + 7, "the seed's varints");
        let old = State::from_bytes(&v8).expect("decodes");
        let kept = sekimori_window::ShardSeed::from_parts(kept[0], kept[1]);
        assert_ne!(old.seed, kept, "the kept seed is not used");
        assert_eq!(old.stores.solo(&41).expect("kept").seed(), old.seed);
        assert_eq!(old, state);
        assert_eq!(old.digest(), state.digest());
        assert_eq!(
            old.stores.get(&41).expect("kept").accounted_bytes(),
            state.stores.get(&41).expect("kept").accounted_bytes()
        );
        assert_eq!(old.evictable_bytes(), state.evictable_bytes());
        // Written again, it is the current version, without a seed.
        assert_eq!(old.to_bytes(), state.to_bytes());
        assert_eq!(old.to_bytes()[0], SNAPSHOT_VERSION);
        assert!(State::from_bytes(&v8[..v8.len() - 3]).is_err());
        assert!(State::from_bytes(&v8[..v8.len() - 7]).is_err());
    }

    /// Every restore draws its own seed, and a snapshot's bytes are the
    /// same whatever the seeds of the state written (the state's, its
    /// feature stores' and its profile stores' own).
    #[test]
    fn restores_draw_fresh_seeds_and_bytes_do_not_depend_on_them() {
        let (a, b) = (a_full_state(), a_full_state());
        assert_ne!(a.seed, b.seed);
        assert_ne!(
            a.stores.solo(&41).expect("kept").seed(),
            b.stores.solo(&41).expect("kept").seed()
        );
        let bytes = a.to_bytes();
        assert_eq!(b.to_bytes(), bytes);
        let (one, two) = (
            State::from_bytes(&bytes).expect("decodes"),
            State::from_bytes(&bytes).expect("decodes"),
        );
        assert_ne!(one.seed, two.seed, "each restore draws a seed");
        assert_ne!(one.seed, a.seed);
        assert_eq!((one.to_bytes(), two.to_bytes()), (bytes.clone(), bytes));
        assert_eq!(one.digest(), a.digest());
    }
}
