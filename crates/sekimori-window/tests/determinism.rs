//! Same input, same state: digests, equality and serde round trips.

mod common;

use common::{cfg, mix, obs, sliding, store, MIN, SEC};
use proptest::prelude::*;
use sekimori_window::{Aggregate, FeatureConfig, FeatureStore, ObsValue, Window, WindowError};

fn aggregates() -> impl Strategy<Value = Aggregate> {
    prop_oneof![
        Just(Aggregate::Count),
        Just(Aggregate::Sum),
        Just(Aggregate::Min),
        Just(Aggregate::Max),
        Just(Aggregate::DistinctCount { exact_limit: 3 }),
        Just(Aggregate::DistinctCount { exact_limit: 1_000 }),
        Just(Aggregate::FirstSeen),
        Just(Aggregate::LastSeen),
    ]
}

fn config_strategy() -> impl Strategy<Value = FeatureConfig> {
    let window = prop_oneof![Just(sliding(60 * SEC, 10 * SEC)), Just(Window::Ever)];
    (window, aggregates(), 1usize..12).prop_map(|(w, a, max_keys)| FeatureConfig {
        max_keys,
        ..cfg(w, a, 20 * SEC)
    })
}

/// Applies `(key, dt, value)` steps with a forward-moving, occasionally late, clock.
fn run(s: &mut FeatureStore, steps: &[(u8, i64, i64)], mut now: i64) -> i64 {
    for &(key, dt, v) in steps {
        let at = now + dt;
        now = now.max(at);
        let value = match s.config().aggregate {
            Aggregate::DistinctCount { .. } => ObsValue::Hash(mix(v as u64)),
            _ => ObsValue::Int(v),
        };
        s.apply(u128::from(key), obs(at, value), now);
    }
    now
}

fn json(s: &FeatureStore) -> String {
    serde_json::to_string(s).expect("serialize")
}

proptest! {
    #[test]
    fn replay_and_restore_give_equal_state(
        config in config_strategy(),
        head in prop::collection::vec((0u8..16, -30_000i64..20_000, -50i64..50), 0..120),
        tail in prop::collection::vec((0u8..16, -30_000i64..20_000, -50i64..50), 0..120),
    ) {
        let mut a = store(config);
        let mut b = store(config);
        let now_a = run(&mut a, &head, 0);
        run(&mut b, &head, 0);
        prop_assert_eq!(a.state_digest(), b.state_digest());
        prop_assert_eq!(json(&a), json(&b), "serialization is deterministic");
        let mut restored: FeatureStore = serde_json::from_str(&json(&a)).expect("deserialize");
        prop_assert_eq!(&restored, &a);
        prop_assert_eq!(restored.state_digest(), a.state_digest());
        run(&mut a, &tail, now_a);
        run(&mut restored, &tail, now_a);
        prop_assert_eq!(&restored, &a);
        prop_assert_eq!(restored.state_digest(), a.state_digest());
        prop_assert!(a.len() <= config.max_keys);
    }
}

#[test]
fn different_state_gives_different_digest() {
    let c = cfg(sliding(10 * MIN, MIN), Aggregate::Sum, 0);
    let (mut a, mut b) = (store(c), store(c));
    a.apply(1, obs(0, ObsValue::Int(5)), 0);
    b.apply(1, obs(0, ObsValue::Int(6)), 0);
    assert_ne!(a.state_digest(), b.state_digest());
    b.apply(1, obs(0, ObsValue::Int(-1)), 0);
    assert_eq!(a.read(1, 0), b.read(1, 0));
}

#[test]
fn hll_state_round_trips() {
    let c = cfg(
        sliding(10 * MIN, MIN),
        Aggregate::DistinctCount { exact_limit: 8 },
        MIN,
    );
    let mut s = store(c);
    for i in 0..5_000u64 {
        let at = i as i64 * 50;
        s.apply(3, obs(at, ObsValue::Hash(mix(i))), at);
    }
    let back: FeatureStore = serde_json::from_str(&json(&s)).expect("deserialize");
    assert_eq!(back, s);
    assert_eq!(back.read(3, 250_000), s.read(3, 250_000));
    assert!(back.read(3, 250_000).approximate);
}

#[test]
fn invalid_snapshots_are_rejected() {
    let mut s = store(cfg(sliding(10 * MIN, MIN), Aggregate::Count, 0));
    s.apply(1, obs(0, ObsValue::None), 0);
    let good = json(&s);
    let bad_config = good.replace("\"max_keys\":1000000", "\"max_keys\":0");
    assert_ne!(bad_config, good);
    let err = serde_json::from_str::<FeatureStore>(&bad_config).expect_err("max_keys 0");
    assert!(err.to_string().contains("max_keys"), "{err}");
    let wrong_state = good.replace("\"aggregate\":\"Count\"", "\"aggregate\":\"Max\"");
    assert_ne!(wrong_state, good);
    let err = serde_json::from_str::<FeatureStore>(&wrong_state).expect_err("state mismatch");
    assert!(err.to_string().contains("does not fit"), "{err}");
    let msg = WindowError::ZeroMaxKeys.to_string();
    assert_eq!(msg, "max_keys must be at least 1");
}

/// A small exact distinct set is written in the indexed layout the crate
/// wrote before small sets existed (value map, (bucket, value) order,
/// per-bucket counts), so snapshots are unchanged; a store written that way
/// by hand restores, reads and digests the same, and accounts the bytes of
/// the small form.
#[test]
fn small_distinct_sets_keep_the_indexed_snapshot_layout() {
    let config = cfg(
        sliding(60 * SEC, 10 * SEC),
        Aggregate::DistinctCount { exact_limit: 100 },
        0,
    );
    let mut s = store(config);
    s.apply(7, obs(10 * SEC, ObsValue::Hash(5)), 10 * SEC);
    s.apply(7, obs(20 * SEC, ObsValue::Hash(3)), 20 * SEC);
    s.apply(7, obs(25 * SEC, ObsValue::Hash(5)), 25 * SEC);
    let written = json(&s);
    let old = r#"{"config":CONFIG,"keys":[[7,{"last_at":25000,"state":{"Distinct":{"Exact":{"latest":{"3":2,"5":2},"order":[[2,3],[2,5]],"counts":[[2,2]]}}}}]],"last_sweep_ms":10000,"evicted_total":0}"#
        .replace("CONFIG", &serde_json::to_string(&config).expect("config"));
    assert_eq!(written, old);
    let back: FeatureStore = serde_json::from_str(&old).expect("the old layout restores");
    assert_eq!(back, s);
    assert_eq!(back.state_digest(), s.state_digest());
    assert_eq!(back.accounted_bytes(), s.accounted_bytes());
    assert_eq!(back.read(7, 25 * SEC), s.read(7, 25 * SEC));
    // An inconsistent indexed set is still refused.
    let bad = old.replace(r#""counts":[[2,2]]"#, r#""counts":[[2,1]]"#);
    assert!(serde_json::from_str::<FeatureStore>(&bad).is_err());
}
