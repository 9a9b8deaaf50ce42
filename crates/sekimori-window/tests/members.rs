//! A key list with more than `MAX_MEMBERS` features (the record mask's bit
//! 31, and the features past 32 in a second group) against solo stores
//! (adopted from the attacker's review, session 25): readings, digests,
//! evictions and serialized bytes identical; accounted bytes those of the
//! solo store plus `Group::state_in_record` a key.
use sekimori_window::{
    Aggregate, FeatureConfig, Group, Obs, ObsValue, ShardSeed, StoreRef, Stores, Window,
};

fn cfg(i: u64) -> FeatureConfig {
    FeatureConfig {
        window: Window::Sliding {
            length_ms: 60_000 * (1 + (i as i64 % 5)),
            resolution_ms: 10_000,
        },
        aggregate: if i.is_multiple_of(3) {
            Aggregate::Sum
        } else {
            Aggregate::Count
        },
        max_keys: 20 + i as usize,
        lateness_ms: 5_000,
    }
}

#[test]
fn forty_members_on_one_tag_behave_as_solo_stores() {
    let n = 40u64;
    let grouped: Vec<_> = (0..n).map(|d| (1000 + d, cfg(d), Some(9))).collect();
    let solo: Vec<_> = (0..n).map(|d| (1000 + d, cfg(d), None)).collect();
    let mut a = Stores::default();
    a.arrange(&grouped, ShardSeed::from_parts(3, 4));
    let mut b = Stores::default();
    b.arrange(&solo, ShardSeed::from_parts(5, 6));
    assert_eq!(a.groups(), 2, "a group of 32 and one of 8");
    let grouped_members = a
        .values()
        .filter(|s| matches!(s, StoreRef::Member(..)))
        .count();
    assert_eq!(grouped_members, 40);
    let mut x = 0x1234_5678u64;
    for step in 0..20_000i64 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let d = 1000 + (x % n);
        let key = u128::from((x >> 8) % 97);
        let now = step * 700;
        let obs = Some(Obs {
            at_ms: now - ((x >> 20) % 4000) as i64,
            value: ObsValue::Int(((x >> 30) % 50) as i64),
        });
        let ra = a.get_mut(&d).expect("kept").apply(key, obs, now);
        let rb = b.get_mut(&d).expect("kept").apply(key, obs, now);
        assert_eq!(format!("{ra:?}"), format!("{rb:?}"), "step {step}");
        if step % 997 == 0 {
            // Settled copies (each sweeps in its own layout).
            let (mut ca, mut cb) = (a.clone(), b.clone());
            ca.settle();
            cb.settle();
            for dd in 1000..1000 + n {
                let (sa, sb) = (ca.get(&dd).expect("kept"), cb.get(&dd).expect("kept"));
                assert_eq!(
                    sa.state_digest(),
                    sb.state_digest(),
                    "digest {dd} step {step}"
                );
                assert_eq!(
                    sa.accounted_bytes(),
                    sb.accounted_bytes() + sb.len() as u64 * Group::state_in_record(),
                    "acc {dd} step {step}"
                );
                assert_eq!(sa.evicted_total(), sb.evicted_total());
            }
        }
    }
    assert_eq!(
        serde_json::to_string(&a).expect("writes"),
        serde_json::to_string(&b).expect("writes")
    );
}
