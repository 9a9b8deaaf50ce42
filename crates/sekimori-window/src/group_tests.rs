use super::*;

fn ks(t: i64) -> KeyState {
    KeyState {
        last_at: t,
        state: State::EverCount(1),
    }
}

#[test]
fn a_state_is_charged_at_least_its_share_of_any_record() {
    let mut largest = 0;
    for n in 1..=MAX_MEMBERS {
        let real = alloc_bytes(n * size_of::<KeyState>());
        assert!(n as u64 * state_in_record() >= real, "{n} states: {real}");
        largest = largest.max(real.div_ceil(n as u64));
    }
    // No more than needed either: the largest share, exactly.
    assert_eq!(state_in_record(), largest);
}

/// A window's state is 32 bytes (a key's is 40): the inline bucket of a
/// count (`Series`) costs no size; one inline in a sum's would cost 8 bytes
/// in every state of every window.
#[test]
fn a_state_is_no_larger_than_a_vec_and_its_tag() {
    assert_eq!(size_of::<State>(), 32);
    assert_eq!(size_of::<KeyState>(), 40);
}

#[test]
fn a_record_keeps_its_members_in_order() {
    let mut r = Record::default();
    r.get_or_insert(5, || ks(5));
    r.get_or_insert(1, || ks(1));
    r.get_or_insert(31, || ks(31));
    r.get_or_insert(5, || ks(99));
    let seen: Vec<(usize, i64)> = r.members().map(|(m, s)| (m, s.last_at)).collect();
    assert_eq!(seen, vec![(1, 1), (5, 5), (31, 31)]);
    assert_eq!(r.remove(5).map(|s| s.last_at), Some(5));
    assert_eq!(r.remove(5), None);
    assert!(r.get(5).is_none());
    assert_eq!(r.get(31).map(|s| s.last_at), Some(31));
    r.remove(1);
    r.remove(31);
    assert!(r.is_empty());
}

/// The shard hints a member's sweep and evictions skip by (`Keys::mark`,
/// `Keys::retain_member`) always cover the records' masks, and lose a
/// member's bit once its states are gone: random updates, sweeps, key-cap
/// and budget evictions of a dense member and a sparse one.
#[test]
fn shard_hints_cover_every_record_and_forget_gone_members() {
    use crate::{Aggregate, FeatureConfig, Obs, ObsValue, Window};
    const SEC: i64 = 1_000;
    let sliding = |s: i64| Window::Sliding {
        length_ms: s * SEC,
        resolution_ms: 10 * SEC,
    };
    let config = |window, max_keys| FeatureConfig {
        window,
        aggregate: Aggregate::Count,
        max_keys,
        lateness_ms: 0,
    };
    let mut g = Group::new(ShardSeed::fresh());
    let dense = FeatureStore::new(config(sliding(3_600), 5_000)).expect("valid");
    let sparse = FeatureStore::new(config(sliding(60), 40)).expect("valid");
    assert_eq!(g.adopt(dense).ok(), Some(0));
    assert_eq!(g.adopt(sparse).ok(), Some(1));
    let obs = |at_ms| {
        Some(Obs {
            at_ms,
            value: ObsValue::None,
        })
    };
    let mut x: u64 = 0x5eed;
    let mut now = 1_000 * SEC;
    for i in 0..6_000u64 {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        now += (x >> 60) as i64 * SEC;
        let key = u128::from(x >> 52) * 0x9E37_79B9_7F4A_7C15;
        g.apply(0, key, obs(now), now);
        if i % 7 == 0 {
            g.apply(1, key, obs(now), now);
        }
        if i % 500 == 499 {
            g.evict_tiered(0, now - 600 * SEC, now - 300 * SEC);
        }
        if i % 100 == 0 {
            assert!(g.records.hints_cover(), "after {i} updates");
        }
    }
    assert!(g.len(1) > 0);
    assert!(g.records.hints_cover());
    // Long after the sparse member's window, a sweep of it (begun by its
    // next update, finished by settling) drops its states and its bit
    // from every hint.
    now += 3_000 * SEC;
    let lone = 7u128;
    g.apply(1, lone, obs(now), now);
    assert!(g.is_sweeping(1));
    g.settle_member(1);
    assert_eq!(g.len(1), 1);
    assert!(g.records.hints_cover());
    let with_bit = g.records.hints_with(1 << 1);
    assert_eq!(with_bit, 1, "only the lone key's shard keeps the bit");
}
