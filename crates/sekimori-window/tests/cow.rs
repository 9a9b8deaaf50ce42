//! Copy-on-write clones (the engine's snapshot copy): a clone keeps the
//! state as of the clone whatever the original does next (new keys, updates,
//! the `max_keys` cap, sweeps, budget evictions), and restoring its
//! serialized form gives back that state.

use sekimori_window::{Aggregate, FeatureConfig, FeatureStore, Key, Obs, ObsValue, Window};

const T0: i64 = 1_795_000_000_000;

fn key(i: u64) -> Key {
    u128::from(i.wrapping_mul(0x9E37_79B9_7F4A_7C15)) << 64 | u128::from(i)
}

fn store(aggregate: Aggregate, max_keys: usize) -> FeatureStore {
    FeatureStore::new(FeatureConfig {
        window: Window::sliding_default(3_600_000).expect("1h"),
        aggregate,
        max_keys,
        lateness_ms: 300_000,
    })
    .expect("valid config")
}

fn obs(v: u64, at_ms: i64) -> Option<Obs> {
    Some(Obs {
        at_ms,
        value: ObsValue::Hash(v),
    })
}

fn fill(s: &mut FeatureStore, from: u64, to: u64, t: i64) {
    for i in from..to {
        let at = t + i as i64 * 1_000;
        s.apply(key(i % 3_000), obs(i % 7, at), at);
    }
}

#[test]
fn a_clone_keeps_its_state_through_later_writes() {
    for aggregate in [
        Aggregate::Count,
        Aggregate::DistinctCount { exact_limit: 4 },
        Aggregate::LastSeen,
    ] {
        let mut live = store(aggregate, 2_500);
        fill(&mut live, 0, 5_000, T0);
        let bytes_then = serde_json::to_string(&live).expect("serializes");
        let digest_then = live.state_digest();
        let accounted_then = live.accounted_bytes();
        let copy = live.clone();
        // Updates of known keys, new keys past max_keys (evicting), a sweep
        // (hours later) and a budget eviction, all after the copy.
        fill(&mut live, 5_000, 9_000, T0);
        live.apply(key(1), obs(1, T0 + 9_000_000), T0 + 9_000_000);
        live.evict_tiered(T0 + 8_000_000, T0 + 7_000_000);
        assert_ne!(live.state_digest(), digest_then, "the live store moved on");
        assert_eq!(
            serde_json::to_string(&copy).expect("serializes"),
            bytes_then
        );
        assert_eq!(copy.state_digest(), digest_then);
        assert_eq!(copy.accounted_bytes(), accounted_then);
        assert_eq!(copy.recount_bytes(), accounted_then);
        assert_eq!(live.recount_bytes(), live.accounted_bytes());
        // And the copy's restored snapshot is the state at the copy.
        let restored: FeatureStore = serde_json::from_str(&bytes_then).expect("restores");
        assert_eq!(restored, copy);
        assert_eq!(restored.state_digest(), digest_then);
        assert_eq!(restored.accounted_bytes(), accounted_then);
    }
}

#[test]
fn writes_to_a_clone_leave_the_original_alone() {
    let mut a = store(Aggregate::Sum, 10_000);
    for i in 0..1_000u64 {
        let at = T0 + i as i64;
        a.apply(
            key(i),
            Some(Obs {
                at_ms: at,
                value: ObsValue::Int(5),
            }),
            at,
        );
    }
    let before = a.state_digest();
    let mut b = a.clone();
    assert_eq!(a, b);
    b.evict_through(T0 + 500);
    assert_eq!(b.len(), 499);
    assert_eq!(a.len(), 1_000);
    assert_eq!(a.state_digest(), before);
    assert_ne!(a, b);
}
