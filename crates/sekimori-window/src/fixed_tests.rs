//! The integer logarithm against an f64 reference (tests only: the reference
//! is what the module replaces, and it never reaches a decision).
#![allow(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    clippy::float_arithmetic
)]

use super::*;

fn reference(x: u128) -> f64 {
    (x as f64).log2() * (1u64 << 32) as f64
}

/// A small xorshift: deterministic inputs without a dependency.
fn next(s: &mut u64) -> u64 {
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    *s
}

fn check(x: u128, worst: &mut f64) {
    let err = (log2_q32(x) as f64 - reference(x)).abs();
    *worst = worst.max(err);
    assert!(
        err <= LOG2_MAX_ERROR_Q32 as f64,
        "log2({x}): {} vs {} (error {err})",
        log2_q32(x),
        reference(x)
    );
}

#[test]
fn table_is_log2_of_one_plus_i_over_256() {
    for (i, &t) in LOG2_TABLE.iter().enumerate() {
        let exact = (1.0 + i as f64 / 256.0).log2() * (1u64 << 32) as f64;
        assert!(
            (t as f64 - exact).abs() <= 0.5 + 1e-6,
            "entry {i}: {t} vs {exact}"
        );
    }
}

#[test]
fn powers_of_two_are_exact() {
    assert_eq!(log2_q32(0), 0);
    assert_eq!(log2_q32(1), 0);
    for k in 0..128u32 {
        assert_eq!(log2_q32(1u128 << k), i64::from(k) << 32);
    }
}

#[test]
fn within_the_bound_everywhere() {
    let mut worst = 0.0f64;
    // Every count up to 2^20 (what risk tallies and HLL zero counts are)...
    for x in 1..(1u128 << 20) {
        check(x, &mut worst);
    }
    // ...and two million random values of every magnitude up to 2^127.
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..2_000_000 {
        let hi = u128::from(next(&mut s));
        let lo = u128::from(next(&mut s));
        let shift = (next(&mut s) % 128) as u32;
        check((((hi << 64) | lo) >> shift).max(1), &mut worst);
    }
    println!("worst |log2_q32 - 2^32 log2| = {worst:.1} units of 2^-32");
    // The interpolation's share is reached: the bound is not loose.
    assert!(worst > 20.0, "worst error {worst}");
}

#[test]
fn monotone() {
    let mut s = 7u64;
    let mut xs: Vec<u128> = (0..200_000)
        .map(|_| u128::from(next(&mut s)) >> (next(&mut s) % 64))
        .collect();
    xs.sort_unstable();
    for w in xs.windows(2) {
        assert!(log2_q32(w[0]) <= log2_q32(w[1]), "{} {}", w[0], w[1]);
    }
}

#[test]
fn round_shift_rounds_halves_away_from_zero() {
    assert_eq!(round_shift(3 << 7, 8), 2); // 1.5
    assert_eq!(round_shift(-(3 << 7), 8), -2);
    assert_eq!(round_shift(5 << 6, 8), 1); // 1.25
    assert_eq!(round_shift(-(5 << 6), 8), -1);
    assert_eq!(round_shift(0, 8), 0);
    assert_eq!(round_shift(127, 8), 0);
    assert_eq!(round_shift(128, 8), 1);
}

#[test]
fn constants_match_their_definitions() {
    let q64 = 2f64.powi(64);
    assert!((LN2_Q64 as f64 / q64 - std::f64::consts::LN_2).abs() < 1e-15);
    assert!((LOG10_2_Q64 as f64 / q64 - std::f64::consts::LOG10_2).abs() < 1e-15);
}
