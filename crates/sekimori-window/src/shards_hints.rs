//! `Hints`: which shards a group's member may have states in (see
//! [`Keys::retain_member`](super::Keys::retain_member)).

use std::ops::Range;

use super::SHARDS;

/// Shards per word of a [`Hints`] bitmap.
const WORDS: usize = SHARDS / 64;

/// For each bit of the values' masks (a group's member), a bitmap of the
/// shards holding a value with that bit: a superset (a bit may outlive the
/// last value that had it until the shard is next visited), so a member's
/// pass ([`Keys::retain_member`](super::Keys::retain_member)) visits the
/// shards of its own states and skips the others without looking at them.
#[derive(Clone, Debug, Default)]
pub(super) struct Hints {
    /// One bitmap per mask bit; empty when the values are not masked.
    maps: Vec<[u64; WORDS]>,
    /// Bits ever marked.
    used: u32,
}

impl Hints {
    pub(super) fn new(masked: bool) -> Hints {
        Hints {
            maps: if masked {
                vec![[0; WORDS]; 32]
            } else {
                Vec::new()
            },
            used: 0,
        }
    }

    pub(super) fn on(&self) -> bool {
        !self.maps.is_empty()
    }

    pub(super) fn mark(&mut self, at: usize, bits: u32) {
        if !self.on() {
            return;
        }
        self.used |= bits;
        let mut b = bits;
        while b != 0 {
            self.maps[b.trailing_zeros() as usize][at / 64] |= 1 << (at % 64);
            b &= b - 1;
        }
    }

    /// Makes shard `at`'s bits exactly `bits`.
    pub(super) fn set(&mut self, at: usize, bits: u32) {
        if !self.on() {
            return;
        }
        self.used |= bits;
        let mut b = self.used;
        while b != 0 {
            let i = b.trailing_zeros() as usize;
            let word = &mut self.maps[i][at / 64];
            if bits & (1 << i) != 0 {
                *word |= 1 << (at % 64);
            } else {
                *word &= !(1 << (at % 64));
            }
            b &= b - 1;
        }
    }

    /// The shards of `range` that may hold `bit` (a single bit), in
    /// order; every shard of it when the values are not masked.
    pub(super) fn shards(&self, bit: u32, range: Range<usize>) -> Vec<usize> {
        if !self.on() {
            return range.collect();
        }
        let map = &self.maps[bit.trailing_zeros() as usize];
        let mut out = Vec::new();
        for at in range {
            if map[at / 64] & (1 << (at % 64)) != 0 {
                out.push(at);
            }
        }
        out
    }

    /// The bits of shard `at`.
    #[cfg(test)]
    pub(super) fn of(&self, at: usize) -> u32 {
        (0..self.maps.len())
            .filter(|&i| self.maps[i][at / 64] & (1 << (at % 64)) != 0)
            .fold(0, |m, i| m | 1 << i)
    }
}
