//! DistinctCount above `exact_limit`: HyperLogLog accuracy and sliding expiry.

mod common;

use common::{cfg, mix, obs, sliding, store, HOUR, MIN};
use sekimori_window::{Aggregate, FeatureStore, ObsValue, Read, Reading, Window};

const KEY: u128 = 7;
/// 4 standard errors of HLL with 1024 registers (1.04 / 32 = 3.25%).
const BOUND: f64 = 0.13;

fn estimate(r: Read) -> i64 {
    match r.reading {
        Reading::Int(v) => v,
        Reading::Null => panic!("distinct count is never Null"),
    }
}

fn assert_close(r: Read, truth: i64) {
    let e = estimate(r);
    let err = (e - truth).abs() as f64 / truth as f64;
    assert!(
        err <= BOUND,
        "estimate {e} vs truth {truth}: error {err:.4}"
    );
    assert!(r.approximate);
}

fn feed(s: &mut FeatureStore, values: std::ops::Range<u64>, start: i64, step: i64) -> Read {
    let mut last = None;
    for (i, v) in values.enumerate() {
        let at = start + i as i64 * step;
        last = Some(s.apply(KEY, obs(at, ObsValue::Hash(mix(v))), at));
    }
    last.expect("non-empty range")
}

#[test]
fn switches_to_hll_after_exact_limit() {
    let mut s = store(cfg(
        sliding(HOUR, MIN),
        Aggregate::DistinctCount { exact_limit: 16 },
        0,
    ));
    let r = feed(&mut s, 0..16, 0, 10);
    assert_eq!(r.reading, Reading::Int(16));
    assert!(!r.approximate);
    // A repeated value does not switch.
    let r = s.apply(KEY, obs(200, ObsValue::Hash(mix(3))), 200);
    assert_eq!((r.reading, r.approximate), (Reading::Int(16), false));
    let r = s.apply(KEY, obs(300, ObsValue::Hash(mix(99))), 300);
    assert_eq!((r.reading, r.approximate), (Reading::Int(17), true));
}

#[test]
fn sliding_hll_accuracy_and_expiry() {
    let c = cfg(
        sliding(HOUR, MIN),
        Aggregate::DistinctCount { exact_limit: 16 },
        45 * MIN,
    );
    for seed in 0..3u64 {
        let base = seed << 40;
        let mut s = store(c);
        // 20,000 distinct values within the first 30 minutes of one window.
        let r = feed(&mut s, base..base + 20_000, 0, 90);
        assert_close(r, 20_000);
        // 90 minutes later the old values are still retained (lateness 45 min) but no
        // longer in the window: the sliding sketch must not count them.
        let first = s.apply(
            KEY,
            obs(90 * MIN, ObsValue::Hash(mix(base + 1_000_000))),
            90 * MIN,
        );
        assert_eq!((first.reading, first.approximate), (Reading::Int(1), true));
        let r = feed(
            &mut s,
            base + 1_000_001..base + 1_005_000,
            90 * MIN + 60,
            60,
        );
        assert_close(r, 5_000);
        // Once everything has expired, the key is exact again (or swept).
        let later = 10 * HOUR;
        let r = s.apply(KEY, obs(later, ObsValue::Hash(1)), later);
        assert_eq!((r.reading, r.approximate), (Reading::Int(1), false));
    }
}

#[test]
fn hll_counts_repeats_once() {
    let mut s = store(cfg(
        sliding(HOUR, MIN),
        Aggregate::DistinctCount { exact_limit: 0 },
        0,
    ));
    for round in 0..3 {
        let r = feed(&mut s, 0..3_000, round * 600_000, 10);
        assert_close(r, 3_000);
    }
}

#[test]
fn ever_hll_accuracy() {
    let mut s = store(cfg(
        Window::Ever,
        Aggregate::DistinctCount { exact_limit: 100 },
        0,
    ));
    let r = feed(&mut s, 0..100, 0, 1_000);
    assert_eq!((r.reading, r.approximate), (Reading::Int(100), false));
    let r = feed(&mut s, 0..20_000, 0, 1_000_000);
    assert_close(r, 20_000);
    // Nothing expires in an Ever window.
    assert_close(s.read(KEY, i64::MAX / 2), 20_000);
}

/// Reads without an observation (`apply(key, None, now)`) answer as a twin
/// store's `read` as time slides bucket by bucket: a sketch whose view is
/// of the last update's window never answers a read of another window
/// from it.
#[test]
fn reads_without_an_observation_answer_as_a_walk() {
    let config = cfg(
        sliding(HOUR, MIN),
        Aggregate::DistinctCount { exact_limit: 16 },
        0,
    );
    let (mut s, mut twin) = (store(config), store(config));
    let mut crossed = 0;
    for i in 0..6_000u64 {
        let at = i as i64 * 1_700;
        let o = obs(at, ObsValue::Hash(mix(i % 2_500)));
        assert_eq!(s.apply(KEY, o, at), twin.apply(KEY, o, at), "step {i}");
        // Twice in the same bucket, the first sometimes in the next one.
        for later in [at + 1_000, at + 1_200] {
            let r = s.apply(KEY, None, later);
            assert_eq!(r, twin.read(KEY, later), "step {i} at {later}");
            assert!(r.approximate || i < 16, "step {i}");
        }
        crossed += usize::from((at + 1_000) / MIN != at / MIN);
    }
    assert!(crossed >= 90, "reads in a new bucket: {crossed}");
}
