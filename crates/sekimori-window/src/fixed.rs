//! Integer logarithms for decision arithmetic: the same bits on every machine.
//!
//! libm's `ln` and `log10` are not guaranteed to give bit-identical results
//! across platforms and library versions, so nothing a decision reads is
//! computed with them. [`log2_q32`] is integer only: the integer part from the
//! leading-zero count, the fraction from a 257-entry table of
//! `log2(1 + i/256)` (built at compile time by exact integer squaring, no
//! float anywhere) with quadratic (Newton) interpolation on the next 24 bits.
//!
//! **Error bound.** For every `x >= 1`, `log2_q32(x)` is within
//! [`LOG2_MAX_ERROR_Q32`] (64) units of 2^-32, 1.5e-8, of `2^32 · log2(x)`:
//! the quadratic through three entries 1/256 apart is within
//! `0.385 / 6 · (1/256)^3 · max|f'''|` of the curve (f''' ≤ 2 / ln 2), which
//! is 1.1e-8 or 47 units; the entries are rounded to half a unit, the
//! interpolation's shifts floor, and the bits of `x` below the 32 after its
//! leading one are dropped (at most 1.5 units). Tests check this against an
//! f64 reference over millions of inputs.

/// Fractional bits of [`log2_q32`]'s result.
pub const LOG2_FRAC_BITS: u32 = 32;

/// Upper bound of `|log2_q32(x) - 2^32 · log2(x)|` (in units of 2^-32).
pub const LOG2_MAX_ERROR_Q32: i64 = 64;

/// `ln 2` in Q64 (rounded to nearest).
pub const LN2_Q64: u128 = 12_786_308_645_202_655_660;
/// `log10 2` in Q64 (rounded to nearest).
pub const LOG10_2_Q64: u128 = 5_553_023_288_523_357_132;

const TABLE_BITS: u32 = 8;
const TABLE_LEN: usize = (1 << TABLE_BITS) + 1;
const REM_BITS: u32 = LOG2_FRAC_BITS - TABLE_BITS;

/// `round(2^32 · log2(1 + i/256))` for `i` in `0..=256`.
const LOG2_TABLE: [u64; TABLE_LEN] = build_table();

/// `log2(x)` of `x` in `[1, 2)` given in Q1.62, in Q32 rounded to nearest,
/// by repeated squaring: each squaring doubles the logarithm, and its
/// crossing of 2 is the next bit. 34 bits are computed, the last two round.
const fn log2_unit_q32(mut x: u128) -> u64 {
    const ONE: u128 = 1 << 62;
    let mut bits: u64 = 0;
    let mut i = 0;
    while i < 34 {
        x = (x * x) >> 62;
        bits <<= 1;
        if x >= 2 * ONE {
            x >>= 1;
            bits |= 1;
        }
        i += 1;
    }
    (bits + 2) >> 2
}

const fn build_table() -> [u64; TABLE_LEN] {
    let mut t = [0u64; TABLE_LEN];
    let mut i = 0;
    while i < TABLE_LEN - 1 {
        // 1 + i/256 in Q1.62, exact.
        let x = (1u128 << 62) + ((i as u128) << (62 - TABLE_BITS));
        t[i] = log2_unit_q32(x);
        i += 1;
    }
    t[TABLE_LEN - 1] = 1 << LOG2_FRAC_BITS;
    t
}

/// `2^32 · log2(x)`, integer only (see the module's error bound). `x = 0`
/// is read as 1 (result 0): callers pass counts that are at least 1.
pub fn log2_q32(x: u128) -> i64 {
    if x <= 1 {
        return 0;
    }
    let lz = x.leading_zeros();
    let int = i64::from(127 - lz);
    // The 32 bits after the leading one.
    let frac = ((x << lz) >> (127 - LOG2_FRAC_BITS)) as u64 & ((1 << LOG2_FRAC_BITS) - 1);
    let i = (frac >> REM_BITS) as usize;
    let rem = frac & ((1 << REM_BITS) - 1);
    let (lo, hi) = (LOG2_TABLE[i], LOG2_TABLE[i + 1]);
    // Newton's quadratic: the chord plus t(1-t)/2 times the (negated, the
    // curve is concave) second difference around the interval, t = rem/2^24.
    let j = i.max(1);
    let bend = 2 * LOG2_TABLE[j] - LOG2_TABLE[j - 1] - LOG2_TABLE[j + 1];
    let t1t = u128::from(rem) * u128::from((1 << REM_BITS) - rem); // < 2^48
    let f = lo
        + (((hi - lo) * rem) >> REM_BITS)
        + ((t1t * u128::from(bend)) >> (2 * REM_BITS + 1)) as u64;
    (int << LOG2_FRAC_BITS) + f as i64
}

/// `v / 2^shift` rounded to the nearest integer, halves away from zero (as
/// `f64::round` does).
pub fn round_shift(v: i128, shift: u32) -> i128 {
    let half = 1i128 << (shift - 1);
    let mag = (v.unsigned_abs() + half as u128) >> shift;
    let mag = mag.min(i128::MAX as u128) as i128;
    if v < 0 {
        -mag
    } else {
        mag
    }
}

#[cfg(test)]
#[path = "fixed_tests.rs"]
mod tests;
