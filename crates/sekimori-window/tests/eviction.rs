//! The key cap (LRU by event time, ties by key), empty-key sweeps and `evicted_total`.

mod common;

use common::{obs, sliding, store, HOUR, MIN, SEC};
use sekimori_window::{Aggregate, FeatureConfig, ObsValue, Reading, Window};

fn capped(window: Window, max_keys: usize) -> FeatureConfig {
    FeatureConfig {
        window,
        aggregate: Aggregate::Count,
        max_keys,
        lateness_ms: 0,
    }
}

fn count(s: &sekimori_window::FeatureStore, key: u128, now: i64) -> i64 {
    s.read(key, now).reading.as_int().unwrap_or(-1)
}

#[test]
fn cap_evicts_oldest_first_ties_by_key() {
    let mut s = store(capped(sliding(HOUR, MIN), 4));
    for (key, at) in [(10, 1_000), (12, 2_000), (11, 2_000), (13, 3_000)] {
        s.apply(key, obs(at, ObsValue::None), at);
    }
    s.apply(20, obs(4_000, ObsValue::None), 4_000);
    assert_eq!((s.len(), s.evicted_total()), (4, 1));
    assert_eq!(count(&s, 10, 4_000), 0, "oldest key evicted");
    s.apply(21, obs(5_000, ObsValue::None), 5_000);
    assert_eq!(
        count(&s, 11, 5_000),
        0,
        "tie at 2000: smaller key goes first"
    );
    assert_eq!(count(&s, 12, 5_000), 1);
    // Refreshing key 12 makes key 13 the oldest.
    s.apply(12, obs(6_000, ObsValue::None), 6_000);
    s.apply(22, obs(7_000, ObsValue::None), 7_000);
    assert_eq!(count(&s, 13, 7_000), 0);
    assert_eq!(count(&s, 12, 7_000), 2);
    assert_eq!((s.len(), s.evicted_total()), (4, 3));
}

#[test]
fn cap_evicts_a_sixteenth_at_a_time() {
    let mut s = store(capped(sliding(HOUR, MIN), 32));
    // All at the same time, inserted in scrambled key order: ties broken by key.
    for i in 0..32u128 {
        s.apply((i * 7) % 32 + 100, obs(1_000, ObsValue::None), 1_000);
    }
    assert_eq!(s.len(), 32);
    s.apply(1, obs(2_000, ObsValue::None), 2_000);
    assert_eq!((s.len(), s.evicted_total()), (31, 2));
    assert_eq!(count(&s, 100, 2_000), 0);
    assert_eq!(count(&s, 101, 2_000), 0);
    assert_eq!(count(&s, 102, 2_000), 1);
    assert_eq!(count(&s, 1, 2_000), 1);
}

#[test]
fn cap_sweeps_empty_keys_before_evicting() {
    // Periodic sweeps every 30 s; the cap-triggered sweep runs in between.
    let mut s = store(capped(sliding(60 * SEC, SEC), 2));
    s.apply(1, obs(0, ObsValue::None), 0);
    s.apply(2, obs(50_000, ObsValue::None), 50_000);
    assert_eq!(s.len(), 2);
    s.apply(3, obs(70_000, ObsValue::None), 70_000);
    assert_eq!(
        (s.len(), s.evicted_total()),
        (2, 0),
        "key 1 was empty, not evicted"
    );
    assert_eq!(count(&s, 2, 70_000), 1);
    assert_eq!(count(&s, 3, 70_000), 1);
}

#[test]
fn periodic_sweep_removes_empty_keys() {
    let mut s = store(capped(sliding(10 * SEC, SEC), 100));
    for key in 1..=3 {
        s.apply(key, obs(0, ObsValue::None), 0);
    }
    s.apply(9, obs(4_000, ObsValue::None), 4_000);
    assert_eq!(s.len(), 4);
    // Expired keys read empty even before they are swept.
    assert_eq!(count(&s, 1, 10_000), 0);
    s.apply(9, None, 14_000);
    // The sweep begun at 14 s is spread over the calls that follow: the
    // store reports at least the settled count until it is done.
    assert!(s.is_sweeping());
    assert!(s.len() <= 4);
    s.apply(9, None, 18_000);
    assert!(s.is_sweeping(), "the 5 s interval has not passed");
    s.apply(9, None, 18_999);
    assert!(!s.is_sweeping(), "done by the next sweep's time");
    assert_eq!(s.len(), 0, "every key is expired at 14 s");
    assert_eq!(s.evicted_total(), 0, "sweeps are not evictions");
    assert_eq!(s.read(1, 14_000).reading, Reading::Int(0));
}

#[test]
fn ever_keys_are_never_swept_but_are_capped() {
    let mut s = store(capped(Window::Ever, 2));
    s.apply(1, obs(0, ObsValue::None), 0);
    s.apply(2, obs(1 << 40, ObsValue::None), 1 << 40);
    assert_eq!(s.len(), 2);
    s.apply(3, obs(1 << 41, ObsValue::None), 1 << 41);
    assert_eq!((s.len(), s.evicted_total()), (2, 1));
    assert_eq!(count(&s, 1, 1 << 41), 0);
    assert_eq!(count(&s, 2, 1 << 41), 1);
}
