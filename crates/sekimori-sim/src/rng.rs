//! The simulator's only source of randomness: ChaCha8 seeded from `--seed`,
//! so a world and everything in it is reproducible bit for bit.

use rand::{Rng as _, SeedableRng};
use rand_chacha::ChaCha8Rng;

#[derive(Debug, Clone)]
pub struct Rng(ChaCha8Rng);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(ChaCha8Rng::seed_from_u64(seed))
    }

    /// An independent stream for one part of the world, so adding an actor does
    /// not shift every other actor's draws.
    /// A stream for `label` that depends only on the seed and the label, not
    /// on what else was drawn: a scenario draws the same whatever else runs.
    pub fn keyed(seed: u64, label: &str) -> Rng {
        let salt = label.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        Rng(ChaCha8Rng::seed_from_u64(seed ^ salt.rotate_left(17)))
    }

    pub fn fork(&mut self, label: &str) -> Rng {
        let salt = label.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        Rng(ChaCha8Rng::seed_from_u64(self.0.random::<u64>() ^ salt))
    }

    pub fn chance(&mut self, p: f64) -> bool {
        self.0.random::<f64>() < p
    }

    /// Uniform in `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            lo
        } else {
            self.0.random_range(lo..hi)
        }
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.range(0, items.len() as u64) as usize]
    }

    /// An index drawn with the given cumulative weights (ascending, last = total).
    pub fn weighted(&mut self, cumulative: &[u64]) -> usize {
        let total = cumulative.last().copied().unwrap_or(0);
        let x = self.range(0, total.max(1));
        cumulative
            .partition_point(|&c| c <= x)
            .min(cumulative.len().saturating_sub(1))
    }

    pub fn u64(&mut self) -> u64 {
        self.0.random()
    }

    /// Exponentially distributed delay with the given mean, in ms (at least 1).
    pub fn exp_ms(&mut self, mean_ms: u64) -> u64 {
        let u: f64 = self.0.random::<f64>().max(1e-12);
        ((-u.ln()) * mean_ms as f64).max(1.0) as u64
    }
}
