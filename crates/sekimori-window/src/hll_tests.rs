//! The sliding sketch against brute-force registers; the integer estimate
//! against the f64 formula it replaced (a reference in tests only).
#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    clippy::float_arithmetic
)]

use proptest::prelude::*;

use super::*;

fn brute(entries: &[(i64, u64)], start: i64, end: i64) -> [u8; HLL_REGISTERS] {
    let mut regs = [0u8; HLL_REGISTERS];
    for &(b, h) in entries {
        if start <= b && b <= end {
            let (r, rho) = split(h);
            regs[r] = regs[r].max(rho);
        }
    }
    regs
}

#[test]
fn split_uses_top_bits_and_rho() {
    assert_eq!(split(0), (0, 55));
    assert_eq!(split(u64::MAX), (1023, 1));
    assert_eq!(split(1 << 54), (1, 55));
    assert_eq!(split(1 << 53), (0, 1));
    assert_eq!(split(1), (0, 54));
}

#[test]
fn estimate_of_empty_and_single() {
    assert_eq!(estimate(&[0u8; HLL_REGISTERS]), 0);
    let mut regs = [0u8; HLL_REGISTERS];
    regs[3] = 2;
    assert_eq!(estimate(&regs), 1);
}

/// The estimator as it was, in f64: the reference the integer one is held to.
fn estimate_f64(regs: &[u8]) -> f64 {
    let m = regs.len() as f64;
    let alpha = 0.7213 / (1.0 + 1.079 / m);
    let mut sum = 0.0f64;
    let mut zeros = 0usize;
    for &r in regs {
        sum += 1.0 / (1u64 << r.min(63)) as f64;
        zeros += usize::from(r == 0);
    }
    let raw = alpha * m * m / sum;
    if raw <= 2.5 * m && zeros > 0 {
        m * (m / zeros as f64).ln()
    } else {
        raw
    }
}

fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Relative error bound of the estimate: 4 standard errors, 4 · 1.04 / 32.
const REL_BOUND: f64 = 0.13;

#[test]
fn integer_estimate_is_the_f64_formula_and_keeps_its_error_bound() {
    // (cardinality, trials): small (linear counting), the switch (2.5 m =
    // 2,560), and large (raw estimate).
    let plan = [
        (10u64, 200u64),
        (100, 200),
        (1_000, 100),
        (2_560, 100),
        (3_000, 100),
        (10_000, 50),
        (100_000, 20),
        (1_000_000, 4),
    ];
    let mut differ = 0;
    let mut seed = 0u64;
    for (n, trials) in plan {
        let mut sq = 0.0f64;
        for _ in 0..trials {
            seed += 1;
            let mut regs = [0u8; HLL_REGISTERS];
            for i in 0..n {
                ever_insert(&mut regs, splitmix((seed << 40) ^ i));
            }
            let reference = estimate_f64(&regs);
            let e = estimate(&regs);
            // Never more than 1 from the f64 formula rounded; different only
            // when the exact value is within 2e-5 of a half.
            let gap = (e as f64 - reference.round()).abs();
            assert!(gap <= 1.0, "n {n}: {e} vs {reference}");
            if gap > 0.0 {
                assert!((reference.fract().abs() - 0.5).abs() < 1e-4, "{reference}");
                differ += 1;
            }
            // Below a few dozen values one shared register is already 10%:
            // there the bound is two values.
            let rel = (e as f64 - n as f64) / n as f64;
            assert!(
                rel.abs() <= REL_BOUND || e.abs_diff(n as i64) <= 2,
                "n {n}: estimate {e}"
            );
            sq += rel * rel;
        }
        // The root-mean-square error is the standard error's (3.25%), or
        // better while linear counting is exact-ish.
        let rms = (sq / trials as f64).sqrt();
        println!("n {n}: {trials} trials, rms relative error {rms:.4}");
        assert!(rms <= 0.045, "n {n}: rms relative error {rms:.4}");
    }
    println!("{differ} estimates differ from the f64 formula by 1");
    assert!(
        differ <= 1,
        "{differ} estimates differ from the f64 formula"
    );
}

#[test]
fn integer_estimate_on_random_registers_is_the_f64_formula() {
    // Register files no hash stream would produce: every rho, long zero runs.
    let mut s = 1u64;
    let mut differ = 0;
    for _ in 0..20_000 {
        s = splitmix(s);
        let zeros_share = s % 1025;
        let mut regs = [0u8; HLL_REGISTERS];
        for (i, r) in regs.iter_mut().enumerate() {
            let h = splitmix(s ^ i as u64);
            *r = if h % 1024 < zeros_share {
                0
            } else {
                (h >> 32) as u8 % 56
            };
        }
        let reference = estimate_f64(&regs);
        let gap = (estimate(&regs) as f64 - reference.round()).abs();
        assert!(gap <= 1.0, "{} vs {reference}", estimate(&regs));
        differ += usize::from(gap > 0.0);
    }
    println!("{differ} of 20,000 random register files differ by 1");
    assert!(differ <= 20, "{differ} of 20,000 differ");
}

#[test]
fn estimate_reads_at_most_4096_registers() {
    assert_eq!(estimate(&[]), 0);
    assert_eq!(estimate(&[0u8; 4096]), 0);
    assert_eq!(estimate(&[0u8; 8192]), 0);
    let mut regs = vec![0u8; 8192];
    regs[0] = 1;
    assert_eq!(estimate(&regs), estimate(&regs[..4096]));
    assert_eq!(
        estimate(&[55u8; 4096]),
        estimate_f64(&[55u8; 4096]).round() as i64
    );
}

proptest! {
    #[test]
    fn lfpm_registers_match_brute_force(
        steps in prop::collection::vec((0i64..3, 0i64..6, 0u64..64, any::<u64>()), 1..300),
        window in 1i64..20,
    ) {
        let mut hll = SlidingHll::new(0);
        let mut entries = Vec::new();
        let mut now = 100;
        for (adv, late, reg_bits, low) in steps {
            now += adv;
            let bucket = now - late;
            // Few registers so that lists get long and domination is exercised.
            let hash = (reg_bits << 54) | (low >> (10 + (low % 40)));
            hll.insert(bucket, hash, 0);
            entries.push((bucket, hash));
            prop_assert!(hll.is_valid());
            let start = now - window + 1;
            let (regs, live) = hll.registers(&Span::buckets(start, now, start - 6));
            prop_assert!(live);
            prop_assert_eq!(regs.to_vec(), brute(&entries, start, now).to_vec());
            // Pruning below the oldest window that can still be read changes nothing.
            let mut pruned = hll.clone();
            pruned.prune(start - 6);
            prop_assert!(pruned.is_valid());
            let (after, _) = pruned.registers(&Span::buckets(start, now, start - 6));
            prop_assert_eq!(after.to_vec(), regs.to_vec());
        }
    }
}

/// What [`SlidingHll::estimate`] answers without a view: a walk of every pair.
fn walked(hll: &SlidingHll, span: &Span) -> (i64, bool) {
    let (regs, live) = hll.registers(span);
    (estimate(&regs), live)
}

proptest! {
    /// The view kept by insert and prune answers as a fresh walk would, for
    /// the window it is of and any other, whatever the order of inserts
    /// (late ones and ones after the window), prunes and refreshes.
    #[test]
    fn view_answers_as_a_walk(
        steps in prop::collection::vec(
            (0u8..8, 0i64..3, 0i64..8, 0u64..64, any::<u64>(), 1i64..12),
            1..300,
        ),
    ) {
        let mut hll = SlidingHll::new(0);
        let mut now = 100;
        let mut viewed = None;
        for (op, adv, late, reg_bits, low, window) in steps {
            now += adv;
            // The cutoff at, below and (in tests only) above the window's start.
            let span = Span::buckets(now - window + 1, now, now - window + 2 - late % 4);
            match op {
                0 => {
                    hll.refresh(&span);
                    prop_assert!(hll.view.is_some_and(|v| v.is_for(&span)));
                    viewed = Some(span);
                }
                1 => hll.prune(now - 2 * late),
                _ => {
                    let hash = (reg_bits << 54) | (low >> (10 + (low % 40)));
                    hll.insert(now - late, hash, now - 20);
                }
            }
            prop_assert!(hll.is_valid());
            if let Some(s) = &viewed {
                if hll.view.is_some() {
                    prop_assert_eq!(hll.estimate(s), walked(&hll, s));
                }
            }
            prop_assert_eq!(hll.estimate(&span), walked(&hll, &span));
        }
    }
}

#[test]
fn view_is_kept_by_inserts_in_its_window_and_prunes_below_it() {
    let mut hll = SlidingHll::new(0);
    let span = Span::buckets(10, 20, 5);
    // Pairs below the cutoff (so the prune to 5 has work) and late in the window.
    for i in 0..2_000u64 {
        hll.insert(2 + (i % 19) as i64, splitmix(i), 0);
    }
    hll.refresh(&span);
    for i in 2_000..4_000u64 {
        hll.insert(10 + (i % 11) as i64, splitmix(i), 0);
        assert_view(&hll, &span);
    }
    let before = hll.pairs.len();
    hll.prune(5);
    assert!(hll.pairs.len() < before, "the prune dropped pairs");
    assert_view(&hll, &span);
    // A clone keeps an exact view; a restore starts without one and walks.
    let clone = hll.clone();
    assert_view(&clone, &span);
    let bytes = serde_json::to_vec(&hll).expect("serializes");
    let back: SlidingHll = serde_json::from_slice(&bytes).expect("restores");
    assert!(back.view.is_none());
    assert_eq!(back, hll);
    assert_eq!(back.estimate(&span), hll.estimate(&span));
    hll.prune(11);
    assert!(hll.view.is_none(), "a prune into the window drops the view");
    assert_eq!(hll.estimate(&span), walked(&hll, &span));
}

#[test]
fn view_is_dropped_by_a_prune_above_its_cutoff() {
    let mut hll = SlidingHll::new(0);
    hll.insert(6, splitmix(1), 0);
    let span = Span::buckets(10, 20, 5);
    hll.refresh(&span);
    assert_eq!(hll.estimate(&span), (0, true), "live through the pair at 6");
    hll.prune(7);
    assert!(hll.view.is_none());
    assert_eq!(hll.estimate(&span), (0, false));
}

fn assert_view(hll: &SlidingHll, span: &Span) {
    assert!(hll.view.is_some_and(|v| v.is_for(span)));
    assert_eq!(hll.estimate(span), walked(hll, span));
}
