//! A sweep spread over the calls that follow it (`sweep`) answers as the
//! sweep at once did: the stores as the engine keeps them (features keyed
//! alike grouped, each sweeping shard by shard in its own layout) against
//! a store per feature whose sweep is finished the moment it begins,
//! before the call's key is touched (the sweep at once, as before). Random updates (new keys,
//! repeats, late events, keys that went empty, the key cap), reads,
//! budget evictions, snapshots, reseeds and settling at odd moments must
//! give the same readings, evictions, digests, counts, bytes and
//! serialized form; while sweeping, the counts and bytes are never below
//! the settled ones.

use std::collections::BTreeMap;

mod common;

use common::{key_of, record_charge, value_of};
use proptest::prelude::*;
use sekimori_window::{
    Aggregate, FeatureConfig, FeatureStore, Obs, ObsValue, ShardSeed, Stores, Window,
};

const SEC: i64 = 1_000;

fn sliding(length: i64, res: i64) -> Window {
    Window::Sliding {
        length_ms: length * SEC,
        resolution_ms: res * SEC,
    }
}

fn feature(window: Window, aggregate: Aggregate, max_keys: usize, late: i64) -> FeatureConfig {
    FeatureConfig {
        window,
        aggregate,
        max_keys,
        lateness_ms: late * SEC,
    }
}

/// Two key lists grouped, three features alone; caps small enough that the
/// key cap evicts while sweeps are in progress.
fn features() -> Vec<(u64, FeatureConfig, Option<u64>)> {
    let distinct = Aggregate::DistinctCount { exact_limit: 3 };
    vec![
        (
            10,
            feature(sliding(60, 10), Aggregate::Count, 4, 5),
            Some(1),
        ),
        (11, feature(sliding(120, 10), Aggregate::Sum, 6, 0), Some(1)),
        (
            12,
            feature(sliding(60, 5), Aggregate::LastSeen, 3, 20),
            Some(1),
        ),
        (13, feature(sliding(90, 10), distinct, 5, 0), Some(1)),
        (20, feature(sliding(30, 10), Aggregate::Max, 3, 0), Some(2)),
        (21, feature(Window::Ever, Aggregate::Count, 8, 0), Some(2)),
        (
            22,
            feature(sliding(60, 10), Aggregate::FirstSeen, 12, 0),
            Some(2),
        ),
        (30, feature(sliding(60, 10), Aggregate::Min, 4, 10), None),
        (31, feature(sliding(30, 10), Aggregate::Count, 5, 0), None),
        (32, feature(sliding(120, 10), distinct, 6, 5), None),
    ]
}

#[derive(Clone, Debug)]
enum Op {
    /// (feature, key, seconds forward, seconds late, value, no observation)
    Apply(usize, u8, u8, u8, i64, bool),
    Read(usize, u8),
    /// Budget eviction through (now - a, now - b) seconds.
    Evict(usize, u16, u16),
    /// The engine's snapshot and restore (a fresh seed).
    Restore,
    /// A pack swap's reseed.
    Reseed,
    /// Something looked at the whole store (the budget): settle.
    Settle,
}

fn op() -> impl Strategy<Value = Op> {
    let n = features().len();
    prop_oneof![
        12 => (0..n, 0u8..24, 0u8..5, 0u8..25, -3i64..6, prop::bool::weighted(0.1))
            .prop_map(|(f, k, fw, late, v, none)| Op::Apply(f, k, fw, late, v, none)),
        3 => (0..n, 0u8..24).prop_map(|(f, k)| Op::Read(f, k)),
        3 => (0..n, 0u16..150, 0u16..150).prop_map(|(f, a, b)| Op::Evict(f, a, b)),
        1 => Just(Op::Restore),
        1 => Just(Op::Reseed),
        1 => Just(Op::Settle),
    ]
}

/// The live stores, settled on a copy, are the reference (settled after
/// every call); live, they report at least the settled keys and bytes.
fn assert_same(live: &Stores, reference: &BTreeMap<u64, FeatureStore>, step: usize) {
    let mut settled = live.clone();
    settled.settle();
    for (d, r) in reference {
        assert!(!r.is_sweeping());
        let (l, s) = (live.get(d).expect("kept"), settled.get(d).expect("kept"));
        let c = record_charge(s);
        assert_eq!(s.len(), r.len(), "len of {d}, step {step}");
        assert_eq!(
            s.accounted_bytes(),
            r.accounted_bytes() + r.len() as u64 * c,
            "bytes of {d}, step {step}"
        );
        assert_eq!(s.evicted_total(), r.evicted_total(), "{d}, step {step}");
        assert_eq!(s.state_digest(), r.state_digest(), "{d}, step {step}");
        assert_eq!(l.state_digest(), r.state_digest(), "live {d}, step {step}");
        assert!(l.len() >= s.len(), "{d}, step {step}");
        assert!(
            l.accounted_bytes() >= s.accounted_bytes(),
            "{d}, step {step}"
        );
        assert_eq!(l.accounted_bytes(), l.recount_bytes(), "{d}, step {step}");
        let (mut a, mut b) = (Vec::new(), Vec::new());
        s.for_each_tiered_age(|t, by, rep| a.push((t, by, rep)));
        r.for_each_tiered_age(|t, by, rep| b.push((t, by + c, rep)));
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b, "ages of {d}, step {step}");
    }
    assert!(settled == *live, "equality ignores a sweep's progress");
    assert_eq!(
        serde_json::to_string(live).expect("writes"),
        serde_json::to_string(reference).expect("writes"),
        "step {step}"
    );
}

fn arranged(stores: BTreeMap<u64, FeatureStore>, seed: ShardSeed) -> Stores {
    let mut s = Stores::from_stores(stores);
    s.arrange(&features(), seed);
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn a_spread_sweep_answers_as_a_sweep_at_once(ops in prop::collection::vec(op(), 1..400)) {
        let list = features();
        let seed = ShardSeed::fresh();
        let fresh = |seed| -> BTreeMap<u64, FeatureStore> {
            list.iter()
                .map(|&(d, c, _)| (d, FeatureStore::with_seed(c, seed).expect("valid")))
                .collect()
        };
        let mut live = arranged(fresh(seed), seed);
        prop_assert_eq!(live.groups(), 2);
        let mut reference = fresh(ShardSeed::fresh());
        let mut now = 1_000 * SEC;
        let mut sweeps = 0;
        for (step, op) in ops.into_iter().enumerate() {
            match op {
                Op::Apply(f, k, fw, late, v, none) => {
                    now += i64::from(fw) * SEC;
                    let (d, c, _) = list[f];
                    let obs = (!none).then(|| Obs {
                        at_ms: now - i64::from(late) * SEC,
                        value: value_of(c.aggregate, v),
                    });
                    let a = live.get_mut(&d).expect("kept").apply(key_of(k), obs, now);
                    // The sweep at once: a call without an observation
                    // begins any sweep due, settling finishes it, and only
                    // then is the key touched (so none of the spread
                    // sweep's own paths, a key swept alone, the cap's
                    // count of a forgotten key, a read hiding it, runs).
                    let r = reference.get_mut(&d).expect("kept");
                    r.apply(key_of(k), None, now);
                    r.settle();
                    let b = r.apply(key_of(k), obs, now);
                    prop_assert!(!r.is_sweeping());
                    prop_assert_eq!(a, b, "apply {} {} at step {}", d, k, step);
                    sweeps += usize::from(live.get(&d).expect("kept").is_sweeping());
                }
                Op::Read(f, k) => {
                    let d = list[f].0;
                    let a = live.get(&d).expect("kept").read(key_of(k), now);
                    prop_assert_eq!(a, reference[&d].read(key_of(k), now), "read {} {}", d, k);
                }
                Op::Evict(f, a, b) => {
                    let d = list[f].0;
                    let (s, r) = (now - i64::from(a) * SEC, now - i64::from(b) * SEC);
                    let c = record_charge(live.get(&d).expect("kept"));
                    let x = live.get_mut(&d).expect("kept").evict_tiered(s, r);
                    let y = reference.get_mut(&d).expect("kept").evict_tiered(s, r);
                    prop_assert_eq!(x, (y.0, y.1 + y.0 * c), "evict {}", d);
                }
                Op::Restore => {
                    let bytes = serde_json::to_string(&live).expect("writes");
                    let back: Stores = serde_json::from_str(&bytes).expect("reads");
                    let seed = ShardSeed::fresh();
                    let mut back = back.into_stores();
                    back.values_mut().for_each(|s| s.reseed(seed));
                    live = arranged(back, seed);
                }
                Op::Reseed => live.reseed(ShardSeed::fresh()),
                Op::Settle => live.settle(),
            }
            assert_same(&live, &reference, step);
        }
        // Long sequences do sweep while they run (not a vacuous pass).
        prop_assume!(sweeps > 0);
    }
}

/// A store that sweeps a few of its shards a call finishes within its
/// interval of event time (when the next sweep is due), and, its shards not yet swept, still
/// answers as though they were: a key that went empty reads empty, and
/// comes back new when observed again (not counting its old events).
#[test]
fn a_key_not_yet_swept_answers_as_swept() {
    let config = feature(sliding(60, 10), Aggregate::Count, 1_000_000, 0);
    let mut s = FeatureStore::with_seed(config, ShardSeed::from_parts(7, 7)).expect("valid");
    let o = |at_ms| {
        Some(Obs {
            at_ms,
            value: ObsValue::None,
        })
    };
    let keys: Vec<u128> = (0..20_000u128)
        .map(|k| k.wrapping_mul(0x9E37_79B9_7F4A_7C15))
        .collect();
    for &k in &keys {
        s.apply(k, o(0), 0);
        s.apply(k, o(0), 0);
    }
    assert_eq!(s.len(), 20_000);
    // Due 30 s after the first call; everything is older than the window.
    s.apply(keys[0], None, 70 * SEC);
    assert!(s.is_sweeping());
    assert!(s.len() > 19_000, "{} keys left: one shard a call", s.len());
    let waiting: Vec<u128> = keys
        .iter()
        .copied()
        .filter(|&k| s.read(k, 70 * SEC).reading == sekimori_window::Reading::Int(0))
        .collect();
    assert_eq!(waiting.len(), 20_000, "every key reads empty");
    // Observed again before its shard is swept: counted once, not three times.
    let k = keys[19_999];
    let read = s.apply(k, o(70 * SEC), 70 * SEC);
    assert_eq!(read.reading, sekimori_window::Reading::Int(1));
    let mut settled = s.clone();
    settled.settle();
    assert_eq!(settled.len(), 1);
    // Halfway through the interval (15 s of 30 s), about half swept.
    s.apply(k, None, 85 * SEC);
    assert!(s.is_sweeping());
    let left = s.len();
    assert!((8_000..12_000).contains(&left), "{left} keys left");
    s.apply(k, None, 100 * SEC - 10);
    assert!(
        !s.is_sweeping(),
        "done by the next sweep's time, 30 s after it began"
    );
    assert_eq!(s.len(), 1);
    assert_eq!(s, settled);
}
