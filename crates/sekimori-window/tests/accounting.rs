//! Memory accounting (`accounted_bytes`, kept incrementally) and the budget's
//! eviction by age (`evict_through`).

mod common;

use common::{cfg, mix, obs, sliding, store, HOUR, MIN, SEC};
use sekimori_window::{Aggregate, FeatureConfig, FeatureStore, ObsValue, Reading, Window};

fn all_configs() -> Vec<FeatureConfig> {
    let mut out = Vec::new();
    for window in [
        sliding(HOUR, MIN),
        sliding(10 * MIN, 10 * SEC),
        Window::Ever,
    ] {
        for aggregate in [
            Aggregate::Count,
            Aggregate::Sum,
            Aggregate::Min,
            Aggregate::Max,
            Aggregate::DistinctCount { exact_limit: 8 },
            Aggregate::FirstSeen,
            Aggregate::LastSeen,
        ] {
            let mut c = cfg(window, aggregate, 2 * MIN);
            c.max_keys = 300;
            out.push(c);
        }
    }
    out
}

/// Drives a store through new keys, repeats, late events, distinct sets that
/// switch to HyperLogLog, sweeps and the key cap.
fn drive(s: &mut FeatureStore, events: u64) {
    for i in 0..events {
        let now = i as i64 * 7 * SEC;
        let key = u128::from(mix(i % 500) % 400);
        let at = now - (mix(i) % 3) as i64 * MIN;
        let value = match s.config().aggregate {
            Aggregate::DistinctCount { .. } => ObsValue::Hash(mix(i % 37)),
            _ => ObsValue::Int(mix(i) as i64 % 1000),
        };
        s.apply(key, obs(at, value), now);
    }
}

#[test]
fn accounted_bytes_follow_every_change() {
    for config in all_configs() {
        let mut s = store(config);
        assert_eq!(s.accounted_bytes(), 0);
        for round in 0..4 {
            drive(&mut s, 2_000);
            assert_eq!(
                s.accounted_bytes(),
                s.recount_bytes(),
                "{config:?} round {round}"
            );
        }
        assert!(s.accounted_bytes() >= s.len() as u64 * FeatureStore::key_slot_bytes());
        // A snapshot restores the same accounting (lengths, not
        // capacities) as the settled store; a sweep in progress reported
        // at least as much.
        let json = serde_json::to_string(&s).expect("serializes");
        let back: FeatureStore = serde_json::from_str(&json).expect("restores");
        let sweeping = s.accounted_bytes();
        s.settle();
        assert!(sweeping >= s.accounted_bytes(), "{config:?}");
        assert_eq!(s.accounted_bytes(), s.recount_bytes(), "{config:?}");
        assert_eq!(back.accounted_bytes(), s.accounted_bytes(), "{config:?}");
        // Evicting everything leaves nothing accounted.
        s.evict_through(i64::MAX);
        assert_eq!((s.len(), s.accounted_bytes()), (0, 0), "{config:?}");
    }
}

#[test]
fn evict_through_forgets_by_time_only() {
    let mut s = store(cfg(Window::Ever, Aggregate::Count, 0));
    for (key, at) in [(1u128, 1_000), (2, 2_000), (3, 2_000), (4, 3_000)] {
        s.apply(key, obs(at, ObsValue::None), at);
    }
    let mut seen = Vec::new();
    s.for_each_age(|at, bytes| seen.push((at, bytes)));
    seen.sort_unstable();
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[0].0, 1_000);
    let before = s.accounted_bytes();
    let (keys, bytes) = s.evict_through(2_000);
    assert_eq!(keys, 3);
    assert_eq!(s.accounted_bytes(), before - bytes);
    assert_eq!(s.read(4, 3_000).reading, Reading::Int(1));
    assert_eq!(s.read(2, 3_000).reading, Reading::Int(0));
    assert_eq!(s.evicted_total(), 0, "the key cap's count is separate");
}

#[test]
fn one_count_key_is_accounted_near_its_measured_cost() {
    // A count key seen once holds its bucket inline (no heap): its cost is
    // its table slot. The accounting (a model of the number of keys and
    // cells) stays within 10% of the bytes the store really holds.
    let mut s = store(cfg(sliding(HOUR, MIN), Aggregate::Count, 0));
    for i in 0..10_000u64 {
        s.apply(u128::from(mix(i)), obs(i as i64, ObsValue::None), i as i64);
    }
    let per_key = s.accounted_bytes() / 10_000;
    let held = s.approx_bytes() as u64 / 10_000;
    assert!(
        per_key * 10 >= held * 9 && per_key * 10 <= held * 11,
        "{per_key} accounted, {held} held a key"
    );
    assert!((60..=160).contains(&per_key), "{per_key} bytes a key");
}
