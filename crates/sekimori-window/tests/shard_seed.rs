//! Nothing but the layout depends on a store's shard seed (the attacker's
//! review, F1): two stores under different seeds, driven by the same calls
//! (sliding and `Ever` windows, the key cap, the budget's evictions,
//! sweeps), read, account, digest and serialize the same after every step.
//! So a replay of the log that draws another seed decides and evicts as
//! the live engine did.

use sekimori_window::{Aggregate, FeatureConfig, FeatureStore, Obs, ObsValue, ShardSeed, Window};

fn pair(config: FeatureConfig) -> [FeatureStore; 2] {
    [
        FeatureStore::with_seed(config, ShardSeed::from_parts(1, 2)).expect("valid"),
        FeatureStore::with_seed(config, ShardSeed::fresh()).expect("valid"),
    ]
}

#[test]
fn two_seeds_give_the_same_store_call_for_call() {
    let hour = Window::Sliding {
        length_ms: 3_600_000,
        resolution_ms: 60_000,
    };
    for (window, aggregate, max_keys) in [
        (hour, Aggregate::Count, 3_000),
        (hour, Aggregate::DistinctCount { exact_limit: 4 }, 50_000),
        (Window::Ever, Aggregate::Sum, 2_000),
    ] {
        let config = FeatureConfig {
            window,
            aggregate,
            max_keys,
            lateness_ms: 120_000,
        };
        let mut stores = pair(config);
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for i in 0..30_000i64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let at = i * 250 - (x % 100_000) as i64;
            let key = u128::from(x % 9_000) * 0x9E37_79B9_7F4A_7C15_0000_0001;
            let value = match aggregate {
                Aggregate::DistinctCount { .. } => ObsValue::Hash(x >> 40),
                _ => ObsValue::Int((x % 1_000) as i64),
            };
            let now = i * 250;
            let reads: Vec<_> = stores
                .iter_mut()
                .map(|s| s.apply(key, Some(Obs { at_ms: at, value }), now))
                .collect();
            assert_eq!(reads[0], reads[1], "{aggregate:?} call {i}");
            if i % 997 == 0 {
                let gone: Vec<_> = stores
                    .iter_mut()
                    .map(|s| s.evict_tiered(now - 600_000, now - 1_800_000))
                    .collect();
                assert_eq!(gone[0], gone[1]);
            }
            if i % 101 == 0 {
                // A sweep in progress goes shard by shard, in each seed's
                // layout: settled, the two are the same.
                let settled: Vec<_> = stores
                    .iter()
                    .map(|s| {
                        let mut c = s.clone();
                        c.settle();
                        assert!(s.len() >= c.len());
                        assert!(s.accounted_bytes() >= c.accounted_bytes());
                        (c.len(), c.accounted_bytes())
                    })
                    .collect();
                assert_eq!(settled[0], settled[1], "{aggregate:?} call {i}");
            }
        }
        stores.iter_mut().for_each(FeatureStore::settle);
        let [a, b] = &stores;
        assert_eq!(a, b);
        assert_eq!(a.state_digest(), b.state_digest());
        assert_eq!(a.evicted_total(), b.evicted_total());
        assert_eq!(a.accounted_bytes(), a.recount_bytes());
        let json = |s: &FeatureStore| serde_json::to_string(s).expect("serializes");
        assert_eq!(json(a), json(b), "the serialized form holds no seed");
        let mut ages = [Vec::new(), Vec::new()];
        for (s, out) in stores.iter().zip(&mut ages) {
            s.for_each_tiered_age(|at, bytes, r| out.push((at, bytes, r)));
            out.sort_unstable();
        }
        assert_eq!(ages[0], ages[1]);
    }
}
