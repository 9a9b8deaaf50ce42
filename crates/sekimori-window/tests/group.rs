//! The grouped table (`Stores` with features keyed alike in one `Group`)
//! against a `FeatureStore` per feature, the layout it replaces, kept as
//! the reference: random sequences of updates, reads, budget evictions,
//! key-cap evictions, sweeps, snapshots and reseeds must give the same
//! readings, digests, ages, counts and serialized bytes, and the accounted
//! bytes of the solo store plus, for a grouped member, its states' place
//! in their records' allocations (`Group::state_in_record` a key).

use std::collections::BTreeMap;

mod common;

use common::{key_of, record_charge, value_of};
use proptest::prelude::*;
use sekimori_window::{Aggregate, FeatureConfig, FeatureStore, Obs, ShardSeed, Stores, Window};

const SEC: i64 = 1_000;

fn config(
    window: Window,
    aggregate: Aggregate,
    max_keys: usize,
    lateness_ms: i64,
) -> FeatureConfig {
    FeatureConfig {
        window,
        aggregate,
        max_keys,
        lateness_ms,
    }
}

fn sliding(length: i64, res: i64) -> Window {
    Window::Sliding {
        length_ms: length * SEC,
        resolution_ms: res * SEC,
    }
}

/// Features over three key lists (tags 1 and 2 grouped; tag 3 has one
/// feature, which stays alone), with small caps so the key cap evicts.
fn features() -> Vec<(u64, FeatureConfig, Option<u64>)> {
    vec![
        (
            10,
            config(sliding(60, 10), Aggregate::Count, 6, 5 * SEC),
            Some(1),
        ),
        (11, config(sliding(120, 10), Aggregate::Sum, 8, 0), Some(1)),
        (
            12,
            config(sliding(60, 5), Aggregate::LastSeen, 5, 20 * SEC),
            Some(1),
        ),
        (
            13,
            config(Window::Ever, Aggregate::FirstSeen, 7, 0),
            Some(1),
        ),
        (
            14,
            config(
                sliding(90, 10),
                Aggregate::DistinctCount { exact_limit: 3 },
                9,
                0,
            ),
            Some(1),
        ),
        (5, config(Window::Ever, Aggregate::Count, 4, 0), Some(2)),
        (20, config(sliding(30, 10), Aggregate::Max, 6, 0), Some(2)),
        (
            21,
            config(
                Window::Ever,
                Aggregate::DistinctCount { exact_limit: 2 },
                6,
                0,
            ),
            Some(2),
        ),
        (30, config(sliding(60, 10), Aggregate::Min, 6, 0), Some(3)),
        (40, config(sliding(60, 10), Aggregate::Count, 6, 0), None),
    ]
}

#[derive(Clone, Debug)]
enum Op {
    /// (feature index, key, seconds forward, seconds late, value, no observation)
    Apply(usize, u8, u8, u8, i64, bool),
    Read(usize, u8),
    /// Budget eviction through (now - a, now - b) seconds.
    Evict(usize, u16, u16),
    Snapshot,
    Reseed,
}

fn op() -> impl Strategy<Value = Op> {
    let n = features().len();
    prop_oneof![
        6 => (0..n, 0u8..14, 0u8..12, 0u8..25, -3i64..6, prop::bool::weighted(0.1))
            .prop_map(|(f, k, fw, late, v, none)| Op::Apply(f, k, fw, late, v, none)),
        2 => (0..n, 0u8..14).prop_map(|(f, k)| Op::Read(f, k)),
        1 => (0..n, 0u16..120, 0u16..120).prop_map(|(f, a, b)| Op::Evict(f, a, b)),
        1 => Just(Op::Snapshot),
        1 => Just(Op::Reseed),
    ]
}

/// Every per-feature answer that does not depend on a key, settled (a
/// sweep in progress, which the group and the reference make in their own
/// layouts, finished on copies); before settling, each reports at least its
/// settled keys and bytes.
fn assert_same(live: &Stores, live_reference: &BTreeMap<u64, FeatureStore>) {
    let mut stores = live.clone();
    stores.settle();
    let mut reference = live_reference.clone();
    reference.values_mut().for_each(FeatureStore::settle);
    for (d, r) in &reference {
        let (s, l) = (stores.get(d).expect("kept"), live.get(d).expect("kept"));
        assert!(l.len() >= s.len(), "settled len of {d}");
        assert!(
            l.accounted_bytes() >= s.accounted_bytes(),
            "settled bytes of {d}"
        );
        assert_eq!(
            l.accounted_bytes(),
            l.recount_bytes(),
            "live recount of {d}"
        );
        let lr = &live_reference[d];
        assert!(lr.len() >= r.len() && lr.accounted_bytes() >= r.accounted_bytes());
    }
    let (stores, reference) = (&stores, &reference);
    assert_eq!(stores.len(), reference.len());
    for (d, r) in reference {
        let s = stores.get(d).expect("feature kept");
        assert_eq!(s.state_digest(), r.state_digest(), "digest of {d}");
        let charge = record_charge(s);
        assert_eq!(
            s.accounted_bytes(),
            r.accounted_bytes() + r.len() as u64 * charge,
            "accounted of {d}"
        );
        assert_eq!(s.accounted_bytes(), s.recount_bytes(), "recount of {d}");
        assert_eq!(s.len(), r.len(), "len of {d}");
        assert_eq!(s.evicted_total(), r.evicted_total(), "evicted of {d}");
        let (mut a, mut b) = (Vec::new(), Vec::new());
        s.for_each_tiered_age(|t, by, rep| a.push((t, by, rep)));
        r.for_each_tiered_age(|t, by, rep| b.push((t, by + charge, rep)));
        a.sort_unstable();
        b.sort_unstable();
        assert_eq!(a, b, "ages of {d}");
    }
    assert_eq!(
        serde_json::to_string(stores).expect("writes"),
        serde_json::to_string(reference).expect("writes"),
        "serialized"
    );
}

fn grouped(seed: ShardSeed) -> Stores {
    let mut stores = Stores::default();
    stores.arrange(&features(), seed);
    stores
}

fn reference() -> BTreeMap<u64, FeatureStore> {
    features()
        .into_iter()
        .map(|(d, c, _)| (d, FeatureStore::new(c).expect("valid")))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn a_group_answers_as_a_store_per_feature(ops in prop::collection::vec(op(), 1..300)) {
        let list = features();
        let mut stores = grouped(ShardSeed::fresh());
        prop_assert_eq!(stores.groups(), 2);
        let mut reference = reference();
        let mut now = 1_000 * SEC;
        for op in ops {
            match op {
                Op::Apply(f, k, fw, late, v, none) => {
                    now += i64::from(fw) * SEC;
                    let (d, c, _) = list[f];
                    let obs = (!none).then(|| Obs {
                        at_ms: now - i64::from(late) * SEC,
                        value: value_of(c.aggregate, v),
                    });
                    let a = stores.get_mut(&d).expect("kept").apply(key_of(k), obs, now);
                    let b = reference.get_mut(&d).expect("kept").apply(key_of(k), obs, now);
                    prop_assert_eq!(a, b, "apply {} {}", d, k);
                }
                Op::Read(f, k) => {
                    let d = list[f].0;
                    let a = stores.get(&d).expect("kept").read(key_of(k), now);
                    let b = reference[&d].read(key_of(k), now);
                    prop_assert_eq!(a, b, "read {} {}", d, k);
                }
                Op::Evict(f, a, b) => {
                    let d = list[f].0;
                    let (s, r) = (now - i64::from(a) * SEC, now - i64::from(b) * SEC);
                    let charge = record_charge(stores.get(&d).expect("kept"));
                    let x = stores.get_mut(&d).expect("kept").evict_tiered(s, r);
                    let y = reference.get_mut(&d).expect("kept").evict_tiered(s, r);
                    prop_assert_eq!(x, (y.0, y.1 + y.0 * charge), "evict {}", d);
                }
                Op::Snapshot => {
                    // Written and read back as the stores it replaces, then grouped again.
                    let bytes = serde_json::to_string(&stores).expect("writes");
                    prop_assert_eq!(&bytes, &serde_json::to_string(&reference).expect("writes"));
                    let back: Stores = serde_json::from_str(&bytes).expect("reads");
                    prop_assert_eq!(back.groups(), 0);
                    prop_assert!(back == stores);
                    let mut back = back;
                    back.arrange(&list, ShardSeed::fresh());
                    prop_assert_eq!(back.groups(), 2);
                    stores = back;
                }
                Op::Reseed => stores.reseed(ShardSeed::fresh()),
            }
            assert_same(&stores, &reference);
        }
        // Dissolved, the stores are the reference's.
        let copy = stores.clone();
        let apart = copy.into_stores();
        prop_assert!(apart == reference);
    }
}

/// A pack swap that keeps every feature changes nothing; one that drops a
/// feature and adds another keeps the others' windows and regroups them.
#[test]
fn arrange_keeps_windows_across_pack_swaps() {
    let list = features();
    let mut stores = grouped(ShardSeed::fresh());
    let now = 10_000 * SEC;
    for (d, c, _) in &list {
        for k in 0..3u8 {
            let obs = Some(Obs {
                at_ms: now,
                value: value_of(c.aggregate, i64::from(k)),
            });
            stores.get_mut(d).expect("kept").apply(key_of(k), obs, now);
        }
    }
    let digests: BTreeMap<u64, u64> = stores.iter().map(|(d, s)| (d, s.state_digest())).collect();
    stores.arrange(&list, ShardSeed::fresh());
    let again: BTreeMap<u64, u64> = stores.iter().map(|(d, s)| (d, s.state_digest())).collect();
    assert_eq!(digests, again);
    // Drop feature 11, add 15 under tag 1, and move 30 into tag 2.
    let mut next: Vec<_> = list.iter().copied().filter(|f| f.0 != 11).collect();
    next.push((15, config(sliding(60, 10), Aggregate::Count, 6, 0), Some(1)));
    for f in &mut next {
        if f.0 == 30 {
            f.2 = Some(2);
        }
    }
    stores.arrange(&next, ShardSeed::fresh());
    assert!(!stores.contains_key(&11));
    assert_eq!(stores.get(&15).expect("added").len(), 0);
    for (d, digest) in &digests {
        if *d != 11 {
            assert_eq!(stores.get(d).expect("kept").state_digest(), *digest, "{d}");
        }
    }
    assert!(
        stores.get(&30).expect("kept").read(key_of(1), now).reading
            == sekimori_window::Reading::Int(100)
    );
    assert!(stores.solo(&30).is_none(), "30 is grouped now");
    assert!(stores.solo(&40).is_some(), "40 has no tag");
}

/// A copy (the engine's snapshot copy) keeps its state while the live
/// group changes, as a copied `FeatureStore` does.
#[test]
fn a_copy_keeps_its_state() {
    let list = features();
    let mut stores = grouped(ShardSeed::fresh());
    let now = 10_000 * SEC;
    for k in 0..50u8 {
        for (d, c, _) in &list {
            let obs = Some(Obs {
                at_ms: now,
                value: value_of(c.aggregate, i64::from(k)),
            });
            stores.get_mut(d).expect("kept").apply(key_of(k), obs, now);
        }
    }
    let copy = stores.clone();
    let before = serde_json::to_string(&copy).expect("writes");
    for k in 0..50u8 {
        for (d, c, _) in &list {
            let obs = Some(Obs {
                at_ms: now + 500 * SEC,
                value: value_of(c.aggregate, 7),
            });
            stores
                .get_mut(d)
                .expect("kept")
                .apply(key_of(k), obs, now + 500 * SEC);
        }
    }
    assert_eq!(serde_json::to_string(&copy).expect("writes"), before);
    assert_ne!(serde_json::to_string(&stores).expect("writes"), before);
}
