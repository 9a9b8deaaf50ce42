//! HyperLogLog (precision 10) and the sliding variant of Chabchoub & Hébrail.
//!
//! The sliding sketch keeps, per register, a "list of future possible maxima" (LFPM):
//! `(bucket, rho)` pairs such that no pair is dominated by another with a later (or
//! equal) bucket and a larger (or equal) rho. Within one register the list is therefore
//! ordered by increasing bucket and strictly decreasing rho, and the register's value
//! for a window is the rho of its first pair whose bucket is inside the window.

use serde::{Deserialize, Serialize};

use crate::digest::{vec_bytes, vec_model_bytes, Digest};
use crate::fixed::{log2_q32, round_shift, LN2_Q64};
use crate::window::Span;

/// HLL precision: the number of hash bits selecting the register.
pub const HLL_PRECISION: u32 = 10;
/// Number of registers (1024).
pub const HLL_REGISTERS: usize = 1 << HLL_PRECISION;

const REL_BITS: u32 = 48;
const RHO_BITS: u32 = 6;
const REL_MASK: u64 = (1 << REL_BITS) - 1;
const RHO_MASK: u64 = (1 << RHO_BITS) - 1;
const MAX_REL: i64 = (1 << REL_BITS) - 1;

/// Register index (top 10 bits) and rho (position of the first set bit in the rest, 1-based).
pub(crate) fn split(hash: u64) -> (usize, u8) {
    let reg = (hash >> (64 - HLL_PRECISION)) as usize;
    let rest = hash << HLL_PRECISION;
    let rho = if rest == 0 {
        64 - HLL_PRECISION + 1
    } else {
        rest.leading_zeros() + 1
    };
    (reg, rho as u8)
}

/// Standard HLL estimate with the small-range (linear counting) correction,
/// in integers only (the same answer on every machine):
///
/// - the raw estimate `alpha_m · m² / Σ 2^-reg` with
///   `alpha_m = 0.7213 / (1 + 1.079 / m)` is computed as an exact rational
///   (the sum is exact in units of 2^-64) and rounded to nearest;
/// - linear counting `m · ln(m / zeros)` (when the raw estimate is at most
///   `2.5 m` and a register is zero) is `m · ln 2 · (log2 m - log2 zeros)`
///   with [`log2_q32`]: at most `m · ln 2 · 3e-8` ≈ 2e-5 (m = 1024) from
///   the exact value before rounding.
///
/// So the estimate is the f64 formula's up to rounding at a half
/// (`hll_tests.rs` checks both against an f64 reference). At most 4096
/// registers (the sketch has [`HLL_REGISTERS`]); more would overflow the
/// exact arithmetic and are read as the first 4096.
pub(crate) fn estimate(regs: &[u8]) -> i64 {
    let regs = &regs[..regs.len().min(MAX_ESTIMATE_REGISTERS)];
    let (sum, zeros) = totals(regs);
    estimate_from(regs.len() as u128, sum, u128::from(zeros))
}

/// Σ [`weight`] of `regs` and how many are zero (at most 4096 registers).
fn totals(regs: &[u8]) -> (u128, u32) {
    regs.iter().fold((0, 0), |(sum, zeros), &r| {
        (sum + weight(r), zeros + u32::from(r == 0))
    })
}

/// A register's term in the estimate's sum, `2^-reg` in units of 2^-64.
fn weight(r: u8) -> u128 {
    1u128 << (64 - u32::from(r.min(64)))
}

/// [`estimate`] of `m` registers (at most 4096) whose terms sum to `sum`
/// (Σ [`weight`], exact, at most 4096 · 2^64 = 2^76) and of which `zeros`
/// are zero.
fn estimate_from(m: u128, sum: u128, zeros: u128) -> i64 {
    if m == 0 {
        return 0;
    }
    // alpha_m · m² = 7213 · m³ / (10 · (1000 m + 1079)); with the sum in
    // units of 2^-64: raw = num / den.
    let num = (7213 * m * m * m) << 64; // <= 2^113.8
    let den = 10 * (1000 * m + 1079) * sum; // <= 2^101.3
                                            // raw <= 2.5 m  <=>  2 num <= 5 m den
    if zeros > 0 && 2 * num <= 5 * m * den {
        let log_q32 = log2_q32(m) - log2_q32(zeros); // >= 0
        let v = (m as i128) * i128::from(log_q32) * LN2_Q64 as i128; // Q96, <= 2^114
        round_shift(v, 96) as i64
    } else {
        // Saturates as the f64 cast did (only registers no stream fills).
        ((2 * num + den) / (2 * den)).min(i64::MAX as u128) as i64
    }
}

/// The most registers [`estimate`] reads.
const MAX_ESTIMATE_REGISTERS: usize = 4096;

/// Packed pair: register (10 bits) | bucket relative to `base` (48 bits) | rho (6 bits).
/// Sorting the packed words sorts by (register, bucket).
fn pack(reg: usize, rel: i64, rho: u8) -> u64 {
    ((reg as u64) << (REL_BITS + RHO_BITS)) | ((rel as u64 & REL_MASK) << RHO_BITS) | u64::from(rho)
}

fn reg_of(p: u64) -> u64 {
    p >> (REL_BITS + RHO_BITS)
}

fn rel_of(p: u64) -> i64 {
    ((p >> RHO_BITS) & REL_MASK) as i64
}

fn rho_of(p: u64) -> u8 {
    (p & RHO_MASK) as u8
}

/// Sliding HyperLogLog over bucketed event time.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct SlidingHll {
    /// Bucket that relative bucket 0 stands for.
    base: i64,
    /// Smallest bucket present (`i64::MAX` when empty); lets pruning skip full scans.
    oldest: i64,
    /// All LFPM pairs, sorted.
    pairs: Vec<u64>,
    /// The estimate's inputs for the window last read, kept exact by
    /// [`SlidingHll::insert`] (or dropped by [`SlidingHll::prune`]), so a
    /// key read many times within one bucket walks its pairs once. Derived
    /// from `pairs`: not serialized, digested or compared.
    #[serde(skip)]
    view: Option<View>,
}

/// The registers of one window, summed: what [`estimate_from`] needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct View {
    start: i64,
    end: i64,
    /// The retention cutoff `live` is as of.
    cutoff: i64,
    /// Σ [`weight`] of the window's registers.
    sum: u128,
    /// Registers that are zero in the window.
    zeros: u32,
    /// Some pair is at or above `cutoff`.
    live: bool,
}

impl View {
    fn is_for(&self, span: &Span) -> bool {
        self.start == span.start && self.end == span.end && self.cutoff == span.cutoff
    }
}

impl PartialEq for SlidingHll {
    /// The content (the view is derived from it).
    fn eq(&self, other: &SlidingHll) -> bool {
        self.base == other.base && self.oldest == other.oldest && self.pairs == other.pairs
    }
}

impl Eq for SlidingHll {}

impl SlidingHll {
    /// An empty sketch whose buckets are stored relative to `base` (the retention cutoff).
    pub fn new(base: i64) -> SlidingHll {
        SlidingHll {
            base,
            oldest: i64::MAX,
            pairs: Vec::new(),
            view: None,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Adds `hash` seen in `bucket`. Buckets outside the 48-bit range after `base`
    /// (only possible with a watermark that moves backwards by millennia) are clamped.
    pub fn insert(&mut self, bucket: i64, hash: u64, cutoff: i64) {
        if self.pairs.is_empty() {
            self.base = cutoff.min(bucket);
        }
        let (reg, rho) = split(hash);
        let rel = bucket.saturating_sub(self.base).clamp(0, MAX_REL);
        let lo = self.pairs.partition_point(|&p| reg_of(p) < reg as u64);
        let hi = lo + self.pairs[lo..].partition_point(|&p| reg_of(p) == reg as u64);
        let list = &self.pairs[lo..hi];
        let i = list.partition_point(|&p| rel_of(p) < rel);
        if list.get(i).is_some_and(|&p| rho_of(p) >= rho) {
            return; // dominated by a pair that is at least as late and as large
        }
        let j = list[..i].partition_point(|&p| rho_of(p) > rho);
        let end = i + usize::from(list.get(i).is_some_and(|&p| rel_of(p) == rel));
        let before = self.view.map(|v| self.window_rho(list, &v));
        self.pairs.splice(lo + j..lo + end, [pack(reg, rel, rho)]);
        let bucket = self.base.saturating_add(rel);
        self.oldest = self.oldest.min(bucket);
        if let (Some(before), Some(mut v)) = (before, self.view) {
            // The register's list is now lo..hi less the pairs replaced plus one.
            let after = self.window_rho(&self.pairs[lo..hi + 1 + j - end], &v);
            v.sum = v.sum - weight(before) + weight(after);
            v.zeros = v.zeros + u32::from(after == 0) - u32::from(before == 0);
            // A replaced pair is dominated by the new one, which is at least as late.
            v.live |= bucket >= v.cutoff;
            self.view = Some(v);
        }
    }

    /// One register's value in the view's window, from its list of pairs:
    /// the largest rho in the window, as [`SlidingHll::registers`] reads it.
    fn window_rho(&self, list: &[u64], v: &View) -> u8 {
        list.iter()
            .filter(|&&p| {
                let b = self.base.saturating_add(rel_of(p));
                v.start <= b && b <= v.end
            })
            .map(|&p| rho_of(p))
            .max()
            .unwrap_or(0)
    }

    /// Makes the next [`SlidingHll::estimate`] of `span` answer from the
    /// view (one walk of the pairs if the view is of another window).
    pub fn refresh(&mut self, span: &Span) {
        if self.view.is_some_and(|v| v.is_for(span)) {
            return;
        }
        let (regs, live) = self.registers(span);
        let (sum, zeros) = totals(&regs);
        self.view = Some(View {
            start: span.start,
            end: span.end,
            cutoff: span.cutoff,
            sum,
            zeros,
            live,
        });
    }

    /// Drops pairs whose bucket is below `cutoff`.
    pub fn prune(&mut self, cutoff: i64) {
        if cutoff <= self.oldest {
            return;
        }
        // The pairs dropped are below `cutoff`: outside a view whose window
        // and cutoff are at or above it.
        if self
            .view
            .is_some_and(|v| cutoff > v.start || cutoff > v.cutoff)
        {
            self.view = None;
        }
        let rel_cut = cutoff.saturating_sub(self.base);
        self.pairs.retain(|&p| rel_of(p) >= rel_cut);
        self.oldest = self
            .pairs
            .iter()
            .map(|&p| self.base.saturating_add(rel_of(p)))
            .min()
            .unwrap_or(i64::MAX);
        if self.pairs.capacity() > 16 && self.pairs.len() * 4 <= self.pairs.capacity() {
            self.pairs.shrink_to(self.pairs.len() * 2);
        }
    }

    /// True if any pair is at or above `cutoff`.
    pub fn is_live(&self, cutoff: i64) -> bool {
        let rel_cut = cutoff.saturating_sub(self.base);
        self.pairs.iter().any(|&p| rel_of(p) >= rel_cut)
    }

    /// Estimated distinct count in the window, and whether the sketch is still live.
    pub fn estimate(&self, span: &Span) -> (i64, bool) {
        match self.view {
            Some(v) if v.is_for(span) => (
                estimate_from(HLL_REGISTERS as u128, v.sum, u128::from(v.zeros)),
                v.live,
            ),
            _ => {
                let (regs, live) = self.registers(span);
                (estimate(&regs), live)
            }
        }
    }

    /// Register values for the span's window, and whether any pair is at or above the cutoff.
    fn registers(&self, span: &Span) -> ([u8; HLL_REGISTERS], bool) {
        let mut regs = [0u8; HLL_REGISTERS];
        let mut live = false;
        for &p in &self.pairs {
            let bucket = self.base.saturating_add(rel_of(p));
            live |= bucket >= span.cutoff;
            if span.contains(bucket) {
                if let Some(r) = regs.get_mut(reg_of(p) as usize) {
                    *r = (*r).max(rho_of(p));
                }
            }
        }
        (regs, live)
    }

    /// Checks the LFPM invariant (sorted, increasing bucket and decreasing rho per register).
    pub fn is_valid(&self) -> bool {
        self.pairs
            .windows(2)
            .all(|w| w[0] < w[1] && (reg_of(w[0]) != reg_of(w[1]) || rho_of(w[0]) > rho_of(w[1])))
    }

    pub fn heap_bytes(&self) -> usize {
        vec_bytes::<u64>(self.pairs.capacity())
    }

    /// Accounted heap bytes (a function of the number of pairs).
    pub fn accounted(&self) -> u64 {
        vec_model_bytes::<u64>(self.pairs.len())
    }

    /// Digests absolute (register, bucket, rho) triples, independent of `base`.
    pub fn digest(&self, d: &mut Digest) {
        d.u64(self.pairs.len() as u64);
        for &p in &self.pairs {
            d.u64(reg_of(p));
            d.i64(self.base.saturating_add(rel_of(p)));
            d.u64(u64::from(rho_of(p)));
        }
    }
}

/// Plain HLL registers for `Ever` windows (nothing expires).
pub(crate) fn ever_insert(regs: &mut [u8], hash: u64) {
    let (reg, rho) = split(hash);
    if let Some(r) = regs.get_mut(reg) {
        *r = (*r).max(rho);
    }
}

#[cfg(test)]
#[path = "hll_tests.rs"]
mod tests;
