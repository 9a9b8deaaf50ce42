//! Hand-written cases per aggregate: window boundaries, lateness, clamping, saturation.

mod common;

use common::{cfg, obs, sliding, store, SEC};
use sekimori_window::{Aggregate, FeatureConfig, ObsValue, Read, Reading, Window};

use Aggregate::*;
use ObsValue::{Hash, Int};

const KEY: u128 = 42;
const N: ObsValue = ObsValue::None;

/// (name, config, events, now, expected reading)
type Case = (
    &'static str,
    FeatureConfig,
    Vec<(i64, ObsValue)>,
    i64,
    Reading,
);

/// Feeds `events` (watermark = running max of event times), then reads at `now`.
fn check(config: FeatureConfig, events: &[(i64, ObsValue)], now: i64, expect: Reading) {
    let mut s = store(config);
    let mut watermark = i64::MIN;
    for &(at, value) in events {
        watermark = watermark.max(at);
        s.apply(KEY, obs(at, value), watermark);
    }
    let read = s.read(KEY, now);
    assert_eq!(read.reading, expect, "{config:?} {events:?} now={now}");
    assert!(!read.approximate);
    assert_eq!(s.apply(KEY, None, now), read, "apply(None) must equal read");
}

/// Feeds `events` and returns what the last `apply` returned.
fn last_apply(config: FeatureConfig, events: &[(i64, ObsValue)]) -> Read {
    let mut s = store(config);
    let mut watermark = i64::MIN;
    let mut last = None;
    for &(at, value) in events {
        watermark = watermark.max(at);
        last = Some(s.apply(KEY, obs(at, value), watermark));
    }
    last.expect("at least one event")
}

fn w60() -> Window {
    sliding(60 * SEC, 10 * SEC)
}

#[test]
fn table_of_cases() {
    let w10 = sliding(10 * SEC, SEC);
    let ever = Window::Ever;
    let (max, min) = (i64::MAX, i64::MIN);
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        // Count: window [b(now)-n+1, b(now)] = buckets 1..=6 = [10_000, 69_999] at now 65_000.
        ("count first bucket counts", cfg(w60(), Count, 0), vec![(10_000, N), (65_000, N)], 65_000, Reading::Int(2)),
        ("count one bucket earlier excluded", cfg(w60(), Count, 0), vec![(9_999, N), (65_000, N)], 65_000, Reading::Int(1)),
        ("count last ms of window", cfg(w60(), Count, 0), vec![(19_999, N)], 69_999, Reading::Int(1)),
        ("count expired at next bucket", cfg(w60(), Count, 0), vec![(19_999, N)], 70_000, Reading::Int(0)),
        ("count empty", cfg(w60(), Count, 0), vec![(0, N)], 600_000, Reading::Int(0)),
        ("count negative time in", cfg(w10, Count, 0), vec![(-1, N)], 8_999, Reading::Int(1)),
        ("count negative time out", cfg(w10, Count, 0), vec![(-1, N)], 9_000, Reading::Int(0)),
        ("count late within lateness", cfg(w60(), Count, 30 * SEC), vec![(100_000, N), (75_000, N)], 100_000, Reading::Int(2)),
        ("count late expires in own bucket", cfg(w60(), Count, 30 * SEC), vec![(100_000, N), (75_000, N)], 130_000, Reading::Int(1)),
        ("count clamped lateness 0", cfg(w60(), Count, 0), vec![(100_000, N), (10_000, N)], 100_000, Reading::Int(2)),
        // Sum: exact, then saturated; non-Int values ignored.
        ("sum basic", cfg(w60(), Sum, 0), vec![(1_000, Int(5)), (2_000, Int(-3)), (3_000, N), (4_000, Hash(9))], 4_000, Reading::Int(2)),
        ("sum saturates", cfg(w60(), Sum, 0), vec![(1_000, Int(max)), (2_000, Int(max))], 2_000, Reading::Int(max)),
        ("sum exact then saturated", cfg(w60(), Sum, 0), vec![(1_000, Int(max)), (2_000, Int(5)), (3_000, Int(-10))], 3_000, Reading::Int(max - 5)),
        ("sum saturates negative", cfg(w60(), Sum, 0), vec![(1_000, Int(min)), (2_000, Int(-1))], 2_000, Reading::Int(min)),
        ("sum empty", cfg(w60(), Sum, 0), vec![], 0, Reading::Int(0)),
        ("sum expired part", cfg(w60(), Sum, 0), vec![(0, Int(7)), (65_000, Int(3))], 65_000, Reading::Int(3)),
        // Min / Max.
        ("min", cfg(w60(), Min, 0), vec![(1_000, Int(5)), (2_000, Int(-7)), (3_000, Int(2))], 3_000, Reading::Int(-7)),
        ("max", cfg(w60(), Max, 0), vec![(1_000, Int(5)), (2_000, Int(-7)), (3_000, Int(2))], 3_000, Reading::Int(5)),
        ("min expired part", cfg(w60(), Min, 0), vec![(0, Int(-100)), (65_000, Int(3))], 65_000, Reading::Int(3)),
        ("max all expired", cfg(w60(), Max, 0), vec![(0, Int(1))], 70_000, Reading::Null),
        ("min only hashes", cfg(w60(), Min, 0), vec![(0, Hash(1))], 0, Reading::Null),
        ("min late in lateness", cfg(w60(), Min, 10 * SEC), vec![(50_000, Int(4)), (41_000, Int(-4))], 50_000, Reading::Int(-4)),
        // DistinctCount (exact mode): a value counts if its latest bucket is in the window.
        ("distinct", cfg(w60(), DistinctCount { exact_limit: 100 }, 0), vec![(1_000, Hash(1)), (2_000, Hash(2)), (3_000, Hash(1))], 3_000, Reading::Int(2)),
        ("distinct latest bucket kept", cfg(w60(), DistinctCount { exact_limit: 100 }, 0), vec![(0, Hash(1)), (30_000, Hash(2)), (61_000, Hash(1))], 65_000, Reading::Int(2)),
        ("distinct older value drops", cfg(w60(), DistinctCount { exact_limit: 100 }, 0), vec![(0, Hash(1)), (30_000, Hash(2)), (61_000, Hash(1))], 95_000, Reading::Int(1)),
        ("distinct empty", cfg(w60(), DistinctCount { exact_limit: 100 }, 0), vec![], 0, Reading::Int(0)),
        ("distinct ignores ints", cfg(w60(), DistinctCount { exact_limit: 100 }, 0), vec![(0, Int(1))], 0, Reading::Int(0)),
        // FirstSeen includes the current event; expires like any bucket.
        ("first seen", cfg(w60(), FirstSeen, 0), vec![(5_000, N), (7_000, N)], 7_000, Reading::Int(5_000)),
        ("first seen expiry", cfg(w60(), FirstSeen, 0), vec![(5_000, N), (30_000, N), (70_000, N)], 70_000, Reading::Int(30_000)),
        ("first seen clamped", cfg(w60(), FirstSeen, 5 * SEC), vec![(100_000, N), (10_000, N)], 100_000, Reading::Int(95_000)),
        ("first seen late", cfg(w60(), FirstSeen, 20 * SEC), vec![(100_000, N), (85_000, N)], 100_000, Reading::Int(85_000)),
        // LastSeen read (not an observation) sees every applied event.
        ("last seen read", cfg(w60(), LastSeen, 0), vec![(5_000, N), (7_000, N)], 7_000, Reading::Int(7_000)),
        ("last seen expired", cfg(w60(), LastSeen, 0), vec![(5_000, N)], 70_000, Reading::Null),
        // Ever windows: single accumulators, never expire.
        ("ever count", cfg(ever, Count, 0), vec![(0, N), (1_000_000_000, N), (2_000_000_000, N)], 3_000_000_000, Reading::Int(3)),
        ("ever sum saturates", cfg(ever, Sum, 0), vec![(0, Int(max)), (1, Int(max)), (2, Int(-1))], 3, Reading::Int(max)),
        ("ever sum exact", cfg(ever, Sum, 0), vec![(0, Int(max)), (1, Int(1)), (2, Int(-2))], 3, Reading::Int(max - 1)),
        ("ever min", cfg(ever, Min, 0), vec![(0, Int(3)), (1, Int(-3)), (2, Hash(3))], 9, Reading::Int(-3)),
        ("ever max", cfg(ever, Max, 0), vec![(0, Int(3)), (1, Int(-3))], 9, Reading::Int(3)),
        ("ever max empty", cfg(ever, Max, 0), vec![], 9, Reading::Null),
        ("ever first seen", cfg(ever, FirstSeen, 0), vec![(-5, N), (1_000_000_000, N)], 1_000_000_000, Reading::Int(-5)),
        ("ever first seen clamped", cfg(ever, FirstSeen, 5 * SEC), vec![(100_000, N), (10_000, N)], 100_000, Reading::Int(95_000)),
        ("ever last seen read", cfg(ever, LastSeen, 0), vec![(-5, N), (1_000_000_000, N)], 2_000_000_000, Reading::Int(1_000_000_000)),
        ("ever distinct", cfg(ever, DistinctCount { exact_limit: 10 }, 0), vec![(0, Hash(7)), (1, Hash(8)), (9_000_000_000, Hash(7))], 9_000_000_000, Reading::Int(2)),
    ];
    for (name, config, events, now, expect) in cases {
        eprintln!("case: {name}");
        check(config, &events, now, expect);
    }
}

#[test]
fn last_seen_excludes_current_event() {
    let c = cfg(w60(), LastSeen, 5 * SEC);
    assert_eq!(last_apply(c, &[(5_000, N)]).reading, Reading::Null);
    assert_eq!(
        last_apply(c, &[(5_000, N), (7_000, N)]).reading,
        Reading::Int(5_000)
    );
    // A late event still reports the latest earlier observation.
    assert_eq!(
        last_apply(c, &[(10_000, N), (8_000, N)]).reading,
        Reading::Int(10_000)
    );
    // Outside the window the previous observation is gone.
    assert_eq!(
        last_apply(c, &[(0, N), (100_000, N)]).reading,
        Reading::Null
    );
    let e = cfg(Window::Ever, LastSeen, 0);
    assert_eq!(
        last_apply(e, &[(0, N), (1 << 40, N)]).reading,
        Reading::Int(0)
    );
}

#[test]
fn first_seen_includes_current_event() {
    let c = cfg(w60(), FirstSeen, 0);
    assert_eq!(last_apply(c, &[(5_000, N)]).reading, Reading::Int(5_000));
    assert_eq!(
        last_apply(c, &[(0, N), (100_000, N)]).reading,
        Reading::Int(100_000)
    );
    let e = cfg(Window::Ever, FirstSeen, 0);
    assert_eq!(last_apply(e, &[(9, N)]).reading, Reading::Int(9));
}

#[test]
fn untracked_key_reads_empty() {
    let expect = [
        (Count, Reading::Int(0)),
        (Sum, Reading::Int(0)),
        (DistinctCount { exact_limit: 4 }, Reading::Int(0)),
        (Min, Reading::Null),
        (Max, Reading::Null),
        (FirstSeen, Reading::Null),
        (LastSeen, Reading::Null),
    ];
    for (agg, reading) in expect {
        for window in [w60(), Window::Ever] {
            let mut s = store(cfg(window, agg, 0));
            let r = s.apply(7, None, 1_000);
            assert_eq!(r.reading, reading, "{agg:?}");
            assert!(!r.approximate);
            assert!(s.is_empty(), "a pure read must not track the key");
        }
    }
}

#[test]
fn future_event_is_clamped_to_watermark() {
    let mut s = store(cfg(w60(), FirstSeen, 0));
    // Contract violation (at > now): treated as happening at the watermark.
    assert_eq!(
        s.apply(KEY, obs(50_000, N), 10_000).reading,
        Reading::Int(10_000)
    );
}

#[test]
fn extreme_times_and_values_do_not_panic() {
    let aggs = [
        Count,
        Sum,
        Min,
        Max,
        FirstSeen,
        LastSeen,
        DistinctCount { exact_limit: 0 },
        DistinctCount { exact_limit: 2 },
    ];
    let times = [i64::MIN, i64::MIN + 1, -1, 0, i64::MAX - 1, i64::MAX];
    for agg in aggs {
        for window in [
            w60(),
            sliding(90 * 24 * 3_600 * SEC, 90 * 60 * SEC),
            Window::Ever,
        ] {
            for lateness in [0, i64::MAX] {
                let mut s = store(FeatureConfig {
                    max_keys: 2,
                    ..cfg(window, agg, lateness)
                });
                for (i, &now) in times.iter().enumerate() {
                    for &at in &times {
                        let value = if i % 2 == 0 { Int(at) } else { Hash(at as u64) };
                        s.apply(i as u128 % 3, obs(at, value), now);
                        s.read(1, now);
                    }
                }
                s.state_digest();
                assert!(s.len() <= 2);
            }
        }
    }
}
