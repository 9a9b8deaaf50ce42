//! The integer score against the f64 formula it replaced (a reference in
//! tests only: it never reaches a decision).
#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    clippy::float_arithmetic
)]

use super::fixed::{hundredths, Term};
use super::*;

/// `100 · Σ log10(p_g / p_u)` in f64, as `score` computed it before, and the
/// number of levels read.
fn score_f64(s: &RiskStore, subject: u128, values: &Values) -> (f64, usize) {
    let Some(profile) = s.profiles.get(&subject) else {
        return (0.0, 0);
    };
    let (mut total, mut levels) = (0.0f64, 0);
    for (h, vals) in values.iter().enumerate() {
        for (parent, n) in path(h, vals) {
            let pop = s.parents.get(&parent).cloned().unwrap_or_default();
            let c = s.nodes.get(&n).map_or(0, |p| p.count);
            let p_g = (c as f64 + 1.0) / ((pop.total + pop.distinct) as f64 + 1.0);
            let Some(mine) = profile.parents.get(&parent) else {
                break;
            };
            let c_u = profile.nodes.get(&n).map_or(0.0, |s| f64::from(s.count));
            let (n_u, d_u) = (mine.total as f64, mine.distinct as f64);
            let p_u = (c_u + d_u * p_g) / (n_u + d_u);
            total += (p_g / p_u).log10();
            levels += 1;
            if c_u == 0.0 {
                break;
            }
        }
    }
    (total * 100.0, levels)
}

/// The largest distance, in hundredths of log10, of one level's term from
/// the exact value: `2 · LOG2_MAX_ERROR_Q32 / 2^32 · 100 · log10 2`
/// ≈ 9e-7, rounded up.
const MAX_ERROR_PER_LEVEL: f64 = 1e-6;

fn q32_to_hundredths(q: i64) -> f64 {
    q as f64 / 2f64.powi(32) * 100.0 * std::f64::consts::LOG10_2
}

/// splitmix64: deterministic inputs without a dependency.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[test]
fn one_level_is_within_its_bound_of_the_exact_term() {
    let mut worst = 0.0f64;
    let mut s = 11u64;
    let mut draw = |m: u64| {
        s = mix(s);
        // Log-uniform magnitudes: small counts as often as large ones.
        let bits = s % 64;
        (mix(s) >> (63 - bits.min(62))) % m.max(1)
    };
    for _ in 0..1_000_000 {
        let pop_distinct = draw(1 << 24) + 1;
        let pop_total = pop_distinct + draw(1 << 30);
        let c = draw(pop_total + 1);
        let d_u = draw(97).max(1);
        let n_u = d_u + draw(1 << 20);
        let c_u = draw(n_u + 1).min(u64::from(u32::MAX)) as u32;
        let t = Term {
            c,
            pop_total,
            pop_distinct,
            c_u,
            n_u,
            d_u,
        };
        let p_g = (c as f64 + 1.0) / ((pop_total + pop_distinct) as f64 + 1.0);
        let p_u = (f64::from(c_u) + d_u as f64 * p_g) / (n_u as f64 + d_u as f64);
        let exact = 100.0 * (p_g / p_u).log10();
        let err = (q32_to_hundredths(t.log2_ratio_q32()) - exact).abs();
        worst = worst.max(err);
        // The f64 reference itself is good to ~1e-12 here.
        assert!(err <= MAX_ERROR_PER_LEVEL + 1e-9, "{t:?}: error {err}");
    }
    println!("one level: worst error {worst:.3e} hundredths");
    assert!(
        worst > MAX_ERROR_PER_LEVEL / 4.0,
        "worst {worst}: bound is loose"
    );
}

#[test]
fn hundredths_rounds_like_f64_round() {
    for q in [-3i64 << 33, -1, 0, 1, 7 << 30, 1 << 40, -(1 << 40)] {
        let reference = q32_to_hundredths(q).round() as i64;
        assert_eq!(hundredths(q), reference, "{q}");
    }
    // Far past any real sum: clamped, no overflow.
    assert!(hundredths(i64::MAX) > 0 && hundredths(i64::MIN) < 0);
}

/// Learns a population and profiles from a deterministic stream: accounts
/// with a usual network and device, some travel, shared addresses.
fn world(seed: u64, subjects: u64, logins: u64) -> RiskStore {
    let mut s = RiskStore::new(4_096);
    for i in 0..logins {
        let r = mix(seed ^ i);
        let subject = u128::from(r % subjects);
        let home = subject as u64;
        let away = r >> 40 & 7 == 0;
        let (asn, net) = if away {
            (r >> 8 & 15, r >> 12 & 255)
        } else {
            (home % 13, home)
        };
        let device = if r >> 20 & 15 == 0 {
            r >> 24 & 31
        } else {
            home
        };
        let values = vec![vec![r >> 30 & 1, asn, net], vec![device]];
        let weight = if r >> 50 & 3 == 0 { 3 } else { 1 };
        s.learn(subject, &values, weight, i as i64);
    }
    s
}

#[test]
fn store_scores_are_the_f64_formula_within_one_hundredth() {
    let (mut checked, mut differ, mut worst) = (0u64, 0u64, 0.0f64);
    for seed in 0..4u64 {
        let s = world(seed << 32, 300, 30_000);
        for q in 0..50_000u64 {
            let r = mix((seed << 40) ^ q ^ 0xabc);
            let subject = u128::from(r % 320); // some never seen
            let values = vec![
                vec![r >> 9 & 1, r >> 10 & 15, r >> 14 & 511],
                vec![r >> 23 & 511],
            ];
            let (reference, levels) = score_f64(&s, subject, &values);
            let unrounded = q32_to_hundredths(s.score_q32(subject, &values));
            let bound = levels as f64 * MAX_ERROR_PER_LEVEL + 1e-9;
            let err = (unrounded - reference).abs();
            worst = worst.max(err);
            assert!(
                err <= bound,
                "{subject} {values:?}: {unrounded} vs {reference}"
            );
            let score = s.score(subject, &values);
            let gap = (score - reference.round() as i64).abs();
            assert!(gap <= 1, "{score} vs {reference}");
            if gap == 1 {
                // Only a value within the bound of a half rounds the other way.
                assert!(((reference - reference.floor()) - 0.5).abs() <= bound);
                differ += 1;
            }
            checked += 1;
        }
    }
    println!("{checked} scores: {differ} differ by 1, worst unrounded error {worst:.3e}");
    // Rare: about 2e-6 of the scores lie that close to a half.
    assert!(differ * 100_000 <= checked, "{differ} of {checked} differ");
    assert!(worst > 0.0);
}

#[test]
fn the_documented_example_scores_100() {
    // An unseen device on an account seen 9 times on one device: +100 when
    // the population knows nothing of either device.
    let mut s = RiskStore::new(100);
    for i in 0..9 {
        s.learn(1, &vec![vec![], vec![9]], 1, i);
    }
    let (reference, _) = score_f64(&s, 1, &vec![vec![], vec![10]]);
    assert_eq!(
        s.score(1, &vec![vec![], vec![10]]),
        reference.round() as i64
    );
    assert_eq!(s.score(1, &vec![vec![], vec![10]]), 100);
}
