//! The accounting's model of a store's tables: the bytes [`SHARDS`] hash
//! tables are expected to take when `n` keys are spread over them at
//! random (see `shards`: the real layout depends on a secret seed, and
//! nothing that reaches a decision may). Each shard's table is the size a
//! std map has for its length, a step function of it ([`shard_bytes`]);
//! a shard's length is binomial (n, 1/SHARDS), so the model is
//! `SHARDS * E[shard_bytes(len)]`:
//! - up to 24 keys a shard on average, summed exactly over the binomial
//!   probabilities (in 60-bit fixed point);
//! - past that, each step of the table's size weighted by the normal
//!   approximation of the chance a shard's length reaches it (a table of
//!   the normal tail in 32-bit fixed point, continuity-corrected).
//!
//! Integers only, so the same on every machine. Up to 2,048 keys the model
//! is read from a table computed once per process; past that it is
//! computed at a grid of about 512 points per doubling and interpolated
//! between them (cached), so a new key costs a few operations.

use crate::shards::{shard_bytes, SHARDS};

const ONE: u128 = 1 << 60;
/// Shards as a power of two.
const BITS: u32 = SHARDS.trailing_zeros();
/// Above this many keys (24 a shard), the normal approximation.
const NORMAL_FROM: u64 = 24 * SHARDS as u64;

/// The upper tail of the standard normal, `1 - Phi(i / 16)`, as
/// `round(2^32 * tail)`, for `i` in `0..98`.
const TAIL: [u64; 98] = [
    2147483648, 2040463074, 1933859599, 1828085449, 1723543207, 1620621219, 1519689280, 1421094676,
    1325158638, 1232173297, 1142399148, 1056063096, 973357067, 894437218, 819423723, 748401109,
    681419127, 618494098, 559610690, 504724062, 453762323, 406629220, 363207012, 323359439,
    286934745, 253768671, 223687392, 196510323, 172052769, 150128378, 130551380, 113138573,
    97711073, 84095798, 72126702, 61645758, 52503710, 44560598, 37686084, 31759596, 26670309,
    22316991, 18607724, 15459542, 12797986, 10556605, 8676424, 7105383, 5797768, 4713651, 3818335,
    3081821, 2478304, 1985695, 1585180, 1260811, 999134, 788856, 620540, 486337, 379749, 295426,
    228975, 176813, 136027, 104260, 79615, 60568, 45907, 34664, 26077, 19544, 14593, 10855, 8044,
    5939, 4368, 3201, 2337, 1699, 1231, 889, 639, 458, 327, 232, 164, 116, 82, 57, 40, 28, 19, 13,
    9, 6, 4, 3,
];

/// The smallest length whose table has at least `buckets` buckets (a
/// power of two, at least 4; see `alloc::table_buckets`).
fn first_len_with(buckets: u64) -> u64 {
    match buckets {
        0..=4 => 1,
        8 => 4,
        b => ((b / 2 + 1) * 7).div_ceil(8),
    }
}

/// Expected bytes of all tables, exactly over the binomial distribution.
fn binomial(n: u64) -> u64 {
    // P(len = 0) = (1 - 1/SHARDS)^n, by squaring.
    let (mut base, mut p, mut e) = (ONE - (ONE >> BITS), ONE, n);
    while e > 0 {
        if e & 1 == 1 {
            p = (p * base) >> 60;
        }
        base = (base * base) >> 60;
        e >>= 1;
    }
    let (mut cum, mut total, mut k) = (p, 0u128, 0u64);
    let others = u128::from(SHARDS as u64 - 1);
    while k < n && cum < ONE - (ONE >> 40) {
        p = p * u128::from(n - k) / (u128::from(k + 1) * others);
        k += 1;
        cum += p;
        total += p * u128::from(shard_bytes(k as usize));
    }
    // What the loop left (at most 2^-40) priced one key further.
    total += ONE.saturating_sub(cum) * u128::from(shard_bytes(k as usize + 1));
    ((total * SHARDS as u128) >> 60) as u64
}

/// `2^32 * P(Z >= z)` for `z` given in 16-bit fixed point.
fn normal_tail(z: i128) -> u128 {
    let above = |a: i128| -> u128 {
        let i = (a >> 12) as usize;
        if i + 1 >= TAIL.len() {
            return 0;
        }
        let f = (a & 4095) as u64;
        u128::from(TAIL[i] - (TAIL[i] - TAIL[i + 1]) * f / 4096)
    };
    if z >= 0 {
        above(z)
    } else {
        (1u128 << 32) - above(-z)
    }
}

/// Expected bytes of all tables, by the normal approximation (many keys a
/// shard: every shard holds some).
fn normal(n: u64) -> u64 {
    // sqrt(n) in 8-bit fixed point; lambda = n / SHARDS.
    let root = u128::from((n << 16).isqrt());
    let lambda = n >> BITS;
    let reach = lambda + 10 * (lambda.isqrt() + 1);
    let mut total = u128::from(shard_bytes(1)) << 32;
    let mut buckets = 8u64;
    loop {
        let t = first_len_with(buckets);
        if t > reach {
            break;
        }
        let step = shard_bytes(t as usize) - shard_bytes(t as usize - 1);
        // z = (t - 1/2 - lambda) / sqrt(lambda), lambda = n / 1024:
        // (2 t - 1) 1024 - 2 n over 64 sqrt(n), in 16-bit fixed point.
        let num = i128::from(2 * t - 1) * SHARDS as i128 - 2 * i128::from(n);
        let z = num * 262_144 / root as i128;
        total += u128::from(step) * normal_tail(z);
        buckets *= 2;
    }
    ((total * SHARDS as u128) >> 32) as u64
}

/// Expected bytes of the tables of a store of `n` keys (uncached).
pub(crate) fn expected(n: u64) -> u64 {
    match n {
        0 => 0,
        n if n < NORMAL_FROM => binomial(n),
        n => normal(n),
    }
}

/// Up to this many keys the model is [`expected`] itself, from a table.
const SMALL: u64 = 2048;

/// [`expected`] of `0..=SMALL`, computed once per process (a pure
/// function: the table never changes a value), so a store's first keys
/// cost a lookup each rather than a binomial sum.
fn small() -> &'static [u64] {
    static TABLE: std::sync::OnceLock<Vec<u64>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| (0..=SMALL).map(expected).collect())
}

/// Accounted bytes of the tables of `len` keys: [`expected`] on a grid,
/// interpolated, a pure function of the number of keys. The grid has 512
/// steps an octave (`2^k ..= 2^(k+1)`); each octave's points are computed
/// once per process, the first time a store reaches it ([`grid`]), so an update costs a lookup and an interpolation
/// however the store's length moves. (Until 2026-12-06 each store cached
/// the two points around its length and recomputed them, two sums, every
/// time its length crossed a grid line: 5.5% of a medium replay's time,
/// `bench/results/2026-12-06-sitting-medium.md`.)
pub(crate) fn tables_bytes(len: usize) -> u64 {
    let n = len as u64;
    if n <= SMALL {
        return small()[n as usize];
    }
    let octave = 63 - n.leading_zeros();
    let step = 1u64 << (octave - STEPS_BITS);
    let i = ((n - (1u64 << octave)) / step) as usize;
    let lo = (1u64 << octave) + i as u64 * step;
    let points = grid(octave);
    let (at_lo, at_hi) = (points[i], points[i + 1]);
    let rise = i128::from(at_hi) - i128::from(at_lo);
    (i128::from(at_lo) + rise * i128::from(n - lo) / i128::from(step)) as u64
}

/// Grid steps an octave.
const STEPS_BITS: u32 = 9;

/// [`expected`] at the grid points of `octave`: `2^octave + i * step` for
/// `i` in `0..=512`, computed once per process (a pure function: the table
/// never changes a value).
fn grid(octave: u32) -> &'static [u64] {
    static GRIDS: [std::sync::OnceLock<Box<[u64]>>; 64] =
        [const { std::sync::OnceLock::new() }; 64];
    GRIDS[octave as usize].get_or_init(|| {
        let step = 1u64 << (octave - STEPS_BITS);
        (0..=1u64 << STEPS_BITS)
            .map(|i| expected((1u64 << octave).saturating_add(i * step)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alloc::table_buckets;

    /// The model as each store cached it before the per-octave grids:
    /// the two grid points around its length, recomputed on a crossing.
    struct Cached {
        lo: u64,
        step: u64,
        at_lo: u64,
        at_hi: u64,
    }

    impl Cached {
        fn bytes(&mut self, len: usize) -> u64 {
            let n = len as u64;
            if n <= SMALL {
                return small()[n as usize];
            }
            let step = 1u64 << (63 - n.leading_zeros() - 9);
            let lo = n / step * step;
            if (self.lo, self.step) != (lo, step) {
                *self = Cached {
                    lo,
                    step,
                    at_lo: expected(lo),
                    at_hi: expected(lo + step),
                };
            }
            let rise = i128::from(self.at_hi) - i128::from(self.at_lo);
            (i128::from(self.at_lo) + rise * i128::from(n - lo) / i128::from(step)) as u64
        }
    }

    /// The grids give what the per-store cache gave, at every length a
    /// store passes through (growing, shrinking, jumping across octaves).
    #[test]
    fn the_grids_are_the_cached_model() {
        let mut cached = Cached {
            lo: 0,
            step: 0,
            at_lo: 0,
            at_hi: 0,
        };
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut n: u64 = 0;
        for i in 0..40_000u64 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            n = match i % 4 {
                0 => x % (1 << 26),
                1 => n + x % 97,
                2 => n.saturating_sub(x % 89),
                _ => (1u64 << (11 + x % 14)) + x % 3 - 1,
            };
            let len = n as usize;
            assert_eq!(tables_bytes(len), cached.bytes(len), "{n}");
        }
    }

    #[test]
    fn the_small_table_is_the_model() {
        for n in 0..=SMALL {
            assert_eq!(tables_bytes(n as usize), expected(n), "{n}");
        }
    }

    #[test]
    fn step_lengths_are_the_tables() {
        let mut buckets = 4u64;
        while buckets < 1 << 20 {
            let t = first_len_with(buckets) as usize;
            assert_eq!(table_buckets(t) as u64, buckets, "{buckets}");
            if t > 1 {
                assert!((table_buckets(t - 1) as u64) < buckets, "{buckets}");
            }
            buckets *= 2;
        }
    }

    /// The model never shrinks as keys are added: a sweep in progress
    /// reports the tables of the keys it has yet to forget, and the
    /// engine's budget reads that as an upper bound of the settled figure
    /// (`sweep`). [`tables_bytes`] is the small table, then linear between
    /// grid points, so checking those checks every length. [`expected`]
    /// itself dips where the binomial sum hands over to the normal
    /// approximation (by about 0.1%), so that seam must be a grid point
    /// (never interpolated across).
    #[test]
    fn the_model_never_shrinks_as_keys_are_added() {
        let table = small();
        assert!(table.windows(2).all(|w| w[0] <= w[1]));
        let mut last = table[SMALL as usize];
        for octave in SMALL.trailing_zeros()..=30 {
            for (i, &point) in grid(octave).iter().enumerate() {
                assert!(
                    point >= last,
                    "octave {octave}, point {i}: {point} < {last}"
                );
                last = point;
            }
        }
        let octave = 63 - NORMAL_FROM.leading_zeros();
        let step = 1u64 << (octave - STEPS_BITS);
        assert_eq!(NORMAL_FROM % step, 0, "the seam is a grid point");
    }

    #[test]
    fn the_model_grows_with_the_keys_and_meets_at_the_seam() {
        let mut last = 0;
        for n in (0..200_000usize).step_by(37) {
            let b = tables_bytes(n);
            assert!(b >= last, "{n}: {b} < {last}");
            last = b;
        }
        let (below, above) = (expected(NORMAL_FROM - 1), expected(NORMAL_FROM));
        assert!(below.abs_diff(above) * 100 < below, "{below} {above}");
    }
}
