//! Micro-benchmarks of the windowed feature store: `FeatureStore::apply` (one
//! observation, then the reading) and `FeatureStore::read`, per aggregate, over
//! a 1 h sliding window (default resolution: 60 buckets of 1 min, 5 min
//! lateness, 1 000 000 max keys and an exact limit of 1000 distinct values, as
//! the default rule pack compiles them).
//!
//! Two key shapes:
//! - `hot_key`: every event hits the same key (an attacker driving one counter);
//!   time moves 100 ms per event, so the key holds about 36 000 events and
//!   whole buckets keep expiring. `distinct_hll` sends a fresh value every time
//!   and so runs in HyperLogLog mode; `distinct_exact` cycles 64 values.
//! - `many_keys`: 100 000 pre-filled keys picked at random; time moves 36 ms per
//!   event (about one event per key per hour), so keys expire and the periodic
//!   sweep runs inside the measurement, amortized.
//!
//! The store is warmed to a steady state before timing; each iteration is one
//! call. Run with:
//!
//! ```sh
//! cargo bench -p sekimori-window --bench windows
//! ```

use divan::{black_box, Bencher};
use sekimori_window::{Aggregate, FeatureConfig, FeatureStore, Key, Obs, ObsValue, Window};

fn main() {
    divan::main();
}

/// Aggregates benchmarked on a hot key.
const HOT_AGGS: &[&str] = &[
    "count",
    "sum",
    "min",
    "max",
    "distinct_exact",
    "distinct_hll",
    "first_seen",
    "last_seen",
];
/// Aggregates benchmarked over many keys (each key has few values, so distinct
/// counts stay exact).
const MANY_AGGS: &[&str] = &["count", "sum", "min", "max", "distinct", "last_seen"];

const WINDOW_MS: i64 = 3_600_000;
const HOT_STEP_MS: i64 = 100;
const MANY_KEYS: u64 = 100_000;
const MANY_STEP_MS: i64 = 36;
/// An arbitrary but realistic watermark (2026-11-20).
const START_MS: i64 = 1_795_000_000_000;

/// SplitMix64: a cheap, well-mixed stand-in for the engine's xxh3 hashes.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn key_of(i: u64) -> Key {
    (u128::from(mix(i)) << 64) | u128::from(mix(!i))
}

fn store(agg: &str) -> FeatureStore {
    let aggregate = match agg {
        "count" => Aggregate::Count,
        "sum" => Aggregate::Sum,
        "min" => Aggregate::Min,
        "max" => Aggregate::Max,
        "distinct" | "distinct_exact" | "distinct_hll" => {
            Aggregate::DistinctCount { exact_limit: 1_000 }
        }
        "first_seen" => Aggregate::FirstSeen,
        "last_seen" => Aggregate::LastSeen,
        other => panic!("unknown aggregate {other}"),
    };
    FeatureStore::new(FeatureConfig {
        window: Window::sliding_default(WINDOW_MS).expect("1h is a valid window"),
        aggregate,
        max_keys: 1_000_000,
        lateness_ms: 300_000,
    })
    .expect("valid feature config")
}

/// The observation of event number `i` at `at_ms` for aggregate `agg`.
fn obs(agg: &str, i: u64, at_ms: i64) -> Obs {
    let value = match agg {
        "sum" | "min" | "max" => ObsValue::Int(1_000 + (mix(i) % 100_000) as i64),
        "distinct_exact" => ObsValue::Hash(mix(i % 64)),
        "distinct" | "distinct_hll" => ObsValue::Hash(mix(i)),
        _ => ObsValue::None,
    };
    Obs { at_ms, value }
}

/// A hot-key store after a bit more than one window of events; returns the
/// store, the watermark and the next event number.
fn warm_hot(agg: &str) -> (FeatureStore, i64, u64) {
    let mut s = store(agg);
    let key = key_of(0);
    let mut now = START_MS;
    let n = (WINDOW_MS / HOT_STEP_MS) as u64 + 1_000;
    for i in 0..n {
        now += HOT_STEP_MS;
        s.apply(key, Some(obs(agg, i, now)), now);
    }
    (s, now, n)
}

/// A store holding `MANY_KEYS` keys spread over the last hour.
fn warm_many(agg: &str) -> (FeatureStore, i64, u64) {
    let mut s = store(agg);
    let mut now = START_MS;
    let n = MANY_KEYS * 2;
    for i in 0..n {
        now += MANY_STEP_MS / 2;
        s.apply(key_of(i % MANY_KEYS), Some(obs(agg, i, now)), now);
    }
    (s, now, n)
}

mod apply {
    use super::*;

    /// One event on the same key; the watermark advances 100 ms per event.
    #[divan::bench(args = HOT_AGGS)]
    fn hot_key(bencher: Bencher, agg: &str) {
        let (mut s, mut now, mut i) = warm_hot(agg);
        let key = key_of(0);
        bencher.bench_local(|| {
            now += HOT_STEP_MS;
            i += 1;
            let o = obs(agg, i, now);
            s.apply(black_box(key), black_box(Some(o)), black_box(now))
        });
    }

    /// One event on a random key of 100 000; the watermark advances 36 ms per event.
    #[divan::bench(args = MANY_AGGS)]
    fn many_keys(bencher: Bencher, agg: &str) {
        let (mut s, mut now, mut i) = warm_many(agg);
        bencher.bench_local(|| {
            now += MANY_STEP_MS;
            i += 1;
            let key = key_of(mix(i) % MANY_KEYS);
            let o = obs(agg, i, now);
            s.apply(black_box(key), black_box(Some(o)), black_box(now))
        });
    }
}

mod read {
    use super::*;

    /// Reading the hot key (about 36 000 events in 61 buckets).
    #[divan::bench(args = HOT_AGGS)]
    fn hot_key(bencher: Bencher, agg: &str) {
        let (s, now, _) = warm_hot(agg);
        let key = key_of(0);
        bencher.bench_local(|| s.read(black_box(key), black_box(now)));
    }

    /// Reading a random one of 100 000 keys.
    #[divan::bench(args = MANY_AGGS)]
    fn many_keys(bencher: Bencher, agg: &str) {
        let (s, now, _) = warm_many(agg);
        let mut i = 0u64;
        bencher.bench_local(|| {
            i += 1;
            let key = key_of(mix(i) % MANY_KEYS);
            s.read(black_box(key), black_box(now))
        });
    }

    /// Reading a key the store does not track (the first event of a new entity).
    #[divan::bench]
    fn untracked_key(bencher: Bencher) {
        let (s, now, _) = warm_many("count");
        let key = key_of(MANY_KEYS + 7);
        bencher.bench_local(|| s.read(black_box(key), black_box(now)));
    }
}
