//! What the stores hold against what they account (attacker's review,
//! session 25, finding 1): a grouped record keeps its states in an
//! allocation of its own, so a key tracked by one member of its group
//! (a spray of fresh accounts) held more than it accounted. The bytes
//! held are measured from the structures' real capacities
//! (`approx_bytes`: each shard table at its capacity, each record's
//! allocation and each state's heap as the allocator rounds them), minus
//! what the same stores hold empty (the shard directory of each table, a
//! fixed overhead the model leaves out): never more than accounted.
//!
//! (A counting global allocator would measure the allocator itself, but
//! it needs `unsafe impl GlobalAlloc`, which the workspace's
//! `unsafe_code = "forbid"` refuses in every target.)

use sekimori_window::{Aggregate, FeatureConfig, Obs, ObsValue, ShardSeed, Stores, Window};

fn cfg(aggregate: Aggregate, length_min: i64) -> FeatureConfig {
    FeatureConfig {
        window: Window::Sliding {
            length_ms: length_min * 60_000,
            resolution_ms: 60_000,
        },
        aggregate,
        max_keys: 10_000_000,
        lateness_ms: 0,
    }
}

fn key(i: u64) -> u128 {
    u128::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835)
}

/// (held, accounted) bytes of `stores` above what they hold empty.
fn held_and_accounted(stores: &Stores, empty: usize) -> (u64, u64) {
    let held: usize = stores.values().map(|s| s.approx_bytes()).sum();
    let accounted: u64 = stores.values().map(|s| s.accounted_bytes()).sum();
    ((held - empty) as u64, accounted)
}

fn arranged(features: &[(u64, FeatureConfig)], grouped: bool) -> (Stores, usize) {
    let wanted: Vec<_> = features
        .iter()
        .map(|&(d, c)| (d, c, grouped.then_some(7)))
        .collect();
    let mut s = Stores::default();
    s.arrange(&wanted, ShardSeed::from_parts(1, 2));
    assert_eq!(s.groups(), usize::from(grouped && features.len() > 1));
    let empty = s.values().map(|v| v.approx_bytes()).sum();
    (s, empty)
}

/// `n` keys, each tracked by `per_key` of `features` count features (key
/// `i` by features `i, i+1, ...` modulo their number).
fn spray(features: u64, per_key: u64, n: u64, grouped: bool) -> (u64, u64) {
    let list: Vec<_> = (0..features)
        .map(|d| (100 + d, cfg(Aggregate::Count, 60)))
        .collect();
    let (mut s, empty) = arranged(&list, grouped);
    for i in 0..n {
        for j in 0..per_key {
            let d = 100 + (i + j) % features;
            let obs = Some(Obs {
                at_ms: 1_000,
                value: ObsValue::None,
            });
            s.get_mut(&d).expect("kept").apply(key(i), obs, 1_000);
        }
    }
    held_and_accounted(&s, empty)
}

/// Held never above accounted in a group. A solo store's tables are
/// accounted at their *expected* size over the random spread of its keys
/// over the shards (`layout`), which a real spread misses by a fraction of
/// a percent either way (this model predates the groups): solo stores are
/// allowed 1% above, the group none.
fn check(label: &str, grouped: bool, (held, accounted): (u64, u64)) {
    eprintln!(
        "{label}: held {held} B, accounted {accounted} B, held/accounted {:.3}",
        held as f64 / accounted as f64
    );
    let allowed = if grouped { 0 } else { accounted / 100 };
    assert!(
        held <= accounted + allowed,
        "{label}: held {held} > accounted {accounted} + {allowed}"
    );
}

#[test]
fn one_member_records_hold_no_more_than_they_account() {
    // The spray's shape: every key tracked by one feature of its key list.
    for features in [1u64, 2, 4, 5] {
        for grouped in [false, true] {
            let label = format!("{features} features, 1 a key, grouped {grouped}");
            check(
                &label,
                grouped && features > 1,
                spray(features, 1, 60_000, grouped),
            );
        }
    }
}

#[test]
fn records_of_several_members_hold_no_more_than_they_account() {
    for per_key in [2u64, 3, 4] {
        for grouped in [false, true] {
            let label = format!("4 features, {per_key} a key, grouped {grouped}");
            check(&label, grouped, spray(4, per_key, 30_000, grouped));
        }
    }
}

#[test]
fn mixed_records_with_states_that_grow_hold_no_more_than_they_account() {
    // Thirteen members (13 states take the allocator's worst-rounded
    // record), different aggregates and lengths; a key is tracked by 1 to
    // 13 of them, and some keys see events over many minutes (their states
    // grow on the heap).
    let aggregates = [Aggregate::Count, Aggregate::Sum, Aggregate::Max];
    let list: Vec<_> = (0..13u64)
        .map(|d| (200 + d, cfg(aggregates[d as usize % 3], 30 + 10 * d as i64)))
        .collect();
    for grouped in [false, true] {
        let (mut s, empty) = arranged(&list, grouped);
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for step in 0..60_000i64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let i = x % 8_000;
            let members = 1 + (i % 13);
            let now = 1_000 + step * 50;
            for j in 0..members.min(1 + (x >> 40) % 13) {
                let d = 200 + (i + j) % 13;
                let obs = Some(Obs {
                    at_ms: now,
                    value: ObsValue::Int((x >> 20) as i64 % 1_000),
                });
                s.get_mut(&d).expect("kept").apply(key(i), obs, now);
            }
        }
        check(
            &format!("13 features, mixed, grouped {grouped}"),
            grouped,
            held_and_accounted(&s, empty),
        );
    }
}
