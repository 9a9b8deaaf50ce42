//! The login-risk score in integers: the same score on every machine.
//!
//! One level read contributes `log10(p_g / p_u)` with
//! `p_g = (c + 1) / (T + D + 1)` (the population, add-one smoothed) and
//! `p_u = (c_u + d_u · p_g) / (n_u + d_u)` (the subject, Witten-Bell). With
//! `G = c + 1` and `H = T + D + 1` the ratio is a quotient of integers:
//!
//! `p_g / p_u = G · (n_u + d_u) / (c_u · H + d_u · G)`,
//!
//! and its log2 is [`log2_q32`] of the numerator minus that of the
//! denominator, each within 1.5e-8 of the exact value. The levels' sum is
//! turned into hundredths of log10 once, by `100 · log10 2` in Q64, and
//! rounded half away from zero (as `f64::round`).
//!
//! **Error bound.** Before rounding, the score is within
//! 1e-6 hundredths per level read of the exact
//! `100 · Σ log10(ratio)`: 2 · 1.5e-8 in log2 per level, times
//! `100 · log10 2 ≈ 30.1`. So the rounded score equals the f64 formula's
//! `round(100 · Σ log10(ratio))` unless the exact value is that close to a
//! half, and then differs by 1 at most. `fixed_tests.rs` holds it to an f64
//! reference over generated profiles and counts.

use sekimori_window::fixed::{log2_q32, round_shift, LOG10_2_Q64, LOG2_MAX_ERROR_Q32};

/// Counts are capped here before they are multiplied (no count comes near:
/// it would take 2^60 logins), so products fit in `u128`.
const CAP: u128 = 1 << 60;

/// The counts of one level of a hierarchy.
#[derive(Clone, Copy, Debug)]
pub(super) struct Term {
    /// Population count of the value (`c`).
    pub c: u64,
    /// Population observations under the parent (`T`).
    pub pop_total: u64,
    /// Population distinct values under the parent (`D`).
    pub pop_distinct: u64,
    /// The subject's count of the value (`c_u`).
    pub c_u: u32,
    /// The subject's observations under the parent (`n_u`).
    pub n_u: u64,
    /// The subject's distinct values under the parent (`d_u`).
    pub d_u: u64,
}

impl Term {
    /// `p_g / p_u` as (numerator, denominator), both at least 1.
    pub fn ratio(&self) -> (u128, u128) {
        let g = (u128::from(self.c) + 1).min(CAP);
        let h = (u128::from(self.pop_total) + u128::from(self.pop_distinct) + 1).min(CAP);
        let n_d = (u128::from(self.n_u) + u128::from(self.d_u)).min(CAP);
        let d_u = u128::from(self.d_u).min(CAP);
        let num = g * n_d; // <= 2^120
        let den = u128::from(self.c_u) * h + d_u * g; // <= 2^92 + 2^120
                                                      // A subject tally always has d_u >= 1, so den >= 1; a zero would be
                                                      // an infinitely unlikely value: read as the largest finite ratio.
        (num.max(1), den.max(1))
    }

    /// `2^32 · log2(p_g / p_u)`.
    pub fn log2_ratio_q32(&self) -> i64 {
        let (num, den) = self.ratio();
        log2_q32(num) - log2_q32(den)
    }
}

/// `round(100 · log10 2 · total / 2^32)`: a sum of Q32 log2 terms in
/// hundredths of log10.
pub(super) fn hundredths(total_q32: i64) -> i64 {
    // 2^56 in Q32 is 2^24 in log2, millions of hundredths: past any sum of
    // levels (each at most 121 in log2), and the product stays in i128.
    let t = i128::from(total_q32.clamp(-(1 << 56), 1 << 56));
    round_shift(t * 100 * LOG10_2_Q64 as i128, 96) as i64
}

// Keep the documented bound in step with the logarithm's.
const _: () = assert!(LOG2_MAX_ERROR_Q32 <= 64);
