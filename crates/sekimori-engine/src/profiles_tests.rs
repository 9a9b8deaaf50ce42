use super::*;
use serde::{Deserialize, Serialize};

#[test]
fn buckets_are_quarter_octaves_in_order() {
    assert_eq!(amount_bucket(0), 0);
    assert_eq!(amount_bucket(-5), 0);
    assert_eq!(amount_bucket(1), 1);
    let mut last = 0;
    for a in [
        1i64,
        2,
        3,
        4,
        5,
        6,
        7,
        8,
        10,
        12,
        14,
        16,
        1_000,
        199_000,
        200_000,
        i64::MAX,
    ] {
        let b = amount_bucket(a);
        assert!(b >= last, "{a}");
        last = b;
        // The middle of an amount's bucket is within 25% of it.
        let (m, x) = (i128::from(bucket_middle(b)), i128::from(a));
        assert!(m * 4 >= x * 3 && m * 4 <= x * 5 + 4, "{a}: middle {m}");
    }
    // Quarter-octave steps: 160,000 and 199,000 are two buckets apart.
    assert_ne!(amount_bucket(160_000), amount_bucket(199_000));
    assert_eq!(amount_bucket(135_000), amount_bucket(160_000));
    assert!(amount_bucket(i64::MAX) < 255);
}

#[test]
fn week_slots_start_monday_utc() {
    // 2026-01-05 was a Monday.
    let monday = 1_767_571_200_000i64;
    assert_eq!(week_slot(monday), 0);
    assert_eq!(week_slot(monday + 25 * HOUR_MS), 25);
    assert_eq!(week_slot(monday - 1), 167);
    assert_eq!(week_slot(0), 72); // Thursday 1970-01-01 00:00
}

#[test]
fn amounts_rank_this_amount_among_the_past() {
    let mut s = ProfileStore::new(ProfileKind::Amounts, 100);
    let empty = s.read(1, Some(5_000), 0);
    assert_eq!(empty["history"], 0);
    assert_eq!(empty["ratio"], 0);
    for (i, a) in [3_000, 4_000, 5_000, 6_000, 4_500].into_iter().enumerate() {
        s.learn(1, Some(a), i as i64);
    }
    let usual = s.read(1, Some(4_800), 10);
    assert_eq!(usual["history"], 5);
    let p = usual["percentile"].as_i64().expect("ok");
    assert!((3_000..=7_000).contains(&p), "{usual}");
    let r = usual["ratio"].as_i64().expect("ok");
    assert!((8_000..=12_500).contains(&r), "{usual}");
    let big = s.read(1, Some(199_000), 10);
    assert_eq!(big["percentile"], 10_000);
    assert!(big["ratio"].as_i64().expect("ok") >= 300_000, "{big}");
    let small = s.read(1, Some(100), 10);
    assert_eq!(small["percentile"], 0);
    // Another key has no history.
    assert_eq!(s.read(2, Some(4_800), 10)["history"], 0);
}

#[test]
fn amounts_stay_bounded_and_halve() {
    let mut s = ProfileStore::new(ProfileKind::Amounts, 100);
    for i in 0..5_000i64 {
        s.learn(1, Some(1 + (i * 7_919) % 1_000_000_007), i);
    }
    let p = s.get(1).expect("ok");
    assert!(p.cells().len() <= AMOUNT_CELLS);
    assert!(p.total() < HALVE_AT);
    assert!(p.is_valid(ProfileKind::Amounts));
    assert_eq!(s.accounted_bytes(), p.accounted());
}

#[test]
fn hours_share_of_this_hour_of_the_week() {
    let monday = 1_767_571_200_000i64;
    let mut s = ProfileStore::new(ProfileKind::Hours, 100);
    // Weekday evenings at 20:00 UTC for four weeks.
    for week in 0..4 {
        for day in 0..5 {
            s.learn(
                7,
                None,
                monday + (week * 7 + day) * 24 * HOUR_MS + 20 * HOUR_MS,
            );
        }
    }
    let usual = s.read(7, None, monday + 2 * 24 * HOUR_MS + 21 * HOUR_MS);
    assert_eq!(usual["history"], 20);
    assert_eq!(usual["share"], 2_000); // Wednesdays 20:00, within an hour
    assert_eq!(usual["hour_share"], 10_000);
    let night = s.read(7, None, monday + 6 * 24 * HOUR_MS + 4 * HOUR_MS);
    assert_eq!(
        (night["share"].as_i64(), night["hour_share"].as_i64()),
        (Some(0), Some(0))
    );
    // The week wraps: Sunday 23:00 neighbours Monday 00:00.
    let mut w = ProfileStore::new(ProfileKind::Hours, 10);
    w.learn(1, None, monday);
    assert_eq!(w.read(1, None, monday - HOUR_MS)["share"], 10_000);
}

#[test]
fn the_cap_forgets_the_least_recent_keys_and_accounting_follows() {
    let mut s = ProfileStore::new(ProfileKind::Amounts, 32);
    for k in 0..40u128 {
        s.learn(k, Some(100), k as i64);
    }
    assert!(s.len() <= 32);
    assert!(s.get(0).is_none(), "the oldest went");
    assert!(s.get(39).is_some());
    let mut total = 0;
    s.for_each_age(|_, b, _| total += b);
    assert_eq!(total, s.accounted_bytes());
    let (n, bytes) = s.evict_through(35, i64::MIN);
    assert!(n > 0 && bytes > 0);
    let mut left = 0;
    s.for_each_age(|at, b, _| {
        assert!(at > 35);
        left += b;
    });
    assert_eq!(left, s.accounted_bytes());
}

#[test]
fn serialized_in_key_order_and_restored_equal() {
    let mut a = ProfileStore::new(ProfileKind::Hours, 1000);
    let mut b = ProfileStore::new(ProfileKind::Hours, 1000);
    let keys: Vec<u128> = (0..200u128)
        .map(|k| k.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835))
        .collect();
    for (i, k) in keys.iter().enumerate() {
        a.learn(*k, None, i as i64 * HOUR_MS);
    }
    for (i, k) in keys.iter().enumerate() {
        b.learn(*k, None, i as i64 * HOUR_MS);
    }
    assert_eq!(a.state_digest(), b.state_digest());
    let bytes = postcard::to_stdvec(&a).expect("ok");
    let back: ProfileStore = postcard::from_bytes(&bytes).expect("ok");
    assert_eq!(back, a);
    assert_eq!(back.state_digest(), a.state_digest());
    assert_eq!(back.accounted_bytes(), a.accounted_bytes());
    // A copy keeps its state through later learning.
    let copy = a.clone();
    a.learn(keys[0], None, 0);
    assert_ne!(copy.state_digest(), a.state_digest());
    assert_eq!(copy, back);
}

/// A profile as it was before its cells were a boxed slice (reference).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
struct OldProfile {
    last_at: i64,
    cells: Vec<(u8, u16)>,
}

impl OldProfile {
    fn add(&mut self, index: u8, cap: usize) {
        match self.cells.binary_search_by_key(&index, |c| c.0) {
            Ok(i) => self.cells[i].1 = self.cells[i].1.saturating_add(1),
            Err(i) => {
                self.cells.insert(i, (index, 1));
                if self.cells.len() > cap {
                    let drop = self
                        .cells
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| c.0 != index)
                        .min_by_key(|(_, c)| (c.1, c.0))
                        .map(|(j, _)| j);
                    if let Some(j) = drop {
                        self.cells.remove(j);
                    }
                }
            }
        }
        if self.cells.iter().map(|c| u32::from(c.1)).sum::<u32>() >= HALVE_AT {
            for c in &mut self.cells {
                c.1 /= 2;
            }
            self.cells.retain(|c| c.1 > 0);
        }
    }
}

#[test]
fn boxed_cells_learn_and_serialize_as_the_vector_did() {
    assert_eq!(std::mem::size_of::<Profile>(), 24);
    for kind in [ProfileKind::Amounts, ProfileKind::Hours] {
        let mut s = ProfileStore::new(kind, 1_000);
        let mut old: std::collections::BTreeMap<u128, OldProfile> = Default::default();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for i in 0..20_000i64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = u128::from(x % 7);
            // Amounts over many octaves, times over many weeks.
            let amount = (x >> 8) as i64 >> (x % 60);
            let at = i * 7_919 * 61_000;
            s.learn(key, Some(amount), at);
            let (index, cap) = match kind {
                ProfileKind::Amounts => (amount_bucket(amount), AMOUNT_CELLS),
                ProfileKind::Hours => (week_slot(at), WEEK_SLOTS as usize),
            };
            let o = old.entry(key).or_default();
            o.last_at = o.last_at.max(at);
            o.add(index, cap);
            let p = s.get(key).expect("learned");
            assert_eq!(p.cells(), o.cells.as_slice());
            assert_eq!(p.last_at, o.last_at);
            assert!(p.is_valid(kind));
        }
        for (k, o) in &old {
            let p = s.get(*k).expect("kept");
            let bytes = postcard::to_stdvec(p).expect("serializes");
            assert_eq!(bytes, postcard::to_stdvec(o).expect("serializes"));
            let back: Profile = postcard::from_bytes(&bytes).expect("restores");
            assert_eq!(&back, p);
        }
        let bytes = postcard::to_stdvec(&s).expect("serializes");
        let back: ProfileStore = postcard::from_bytes(&bytes).expect("restores");
        assert_eq!(back, s);
        assert_eq!(back.state_digest(), s.state_digest());
    }
}

/// A budget's eviction gives the shards' tables back (review of the hash
/// shards, finding 1: a `HashMap` keeps its size after removals), and a
/// key is accounted at least its slot in a table at its mean load.
#[test]
fn evictions_give_the_tables_back() {
    let mut s = ProfileStore::new(ProfileKind::Hours, 1_000_000);
    for k in 0..40_000u128 {
        s.learn(k, None, k as i64);
    }
    let capacity = |s: &ProfileStore| -> usize { s.map.capacity() };
    assert!(capacity(&s) >= 40_000);
    let (n, _) = s.evict_through(39_599, 39_599);
    assert_eq!(n, 39_600);
    assert_eq!(s.len(), 400);
    assert!(
        capacity(&s) <= 4 * 400 + 4 * crate::risk::COW_SHARDS,
        "{}",
        capacity(&s)
    );
    let slot = std::mem::size_of::<(u128, Profile)>() as u64 + 1;
    assert!(KEY_BYTES >= slot * 3 / 2, "{KEY_BYTES} < {}", slot * 3 / 2);
}
