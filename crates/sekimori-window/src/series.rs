//! Sparse, sorted per-bucket cells for one key.

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::digest::{vec_bytes, vec_model_bytes, Digest};

/// Value stored in a bucket cell; fed to the digest word by word.
pub(crate) trait Cell: Copy {
    fn digest(&self, d: &mut Digest);
}

impl Cell for u64 {
    fn digest(&self, d: &mut Digest) {
        d.u64(*self);
    }
}

impl Cell for u32 {
    fn digest(&self, d: &mut Digest) {
        d.u64(u64::from(*self));
    }
}

impl Cell for i64 {
    fn digest(&self, d: &mut Digest) {
        d.i64(*self);
    }
}

/// An exact i128 sum stored as two 8-byte words (keeps cells 8-byte aligned).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Wide {
    hi: i64,
    lo: u64,
}

impl Wide {
    pub fn new(v: i128) -> Wide {
        Wide {
            hi: (v >> 64) as i64,
            lo: v as u64,
        }
    }

    pub fn get(self) -> i128 {
        (i128::from(self.hi) << 64) | i128::from(self.lo)
    }

    pub fn add(&mut self, v: i128) {
        *self = Wide::new(self.get().saturating_add(v));
    }
}

impl Cell for Wide {
    fn digest(&self, d: &mut Digest) {
        d.i64(self.hi);
        d.u64(self.lo);
    }
}

/// Clamps an exact sum into the i64 range.
pub(crate) fn saturate(v: i128) -> i64 {
    v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// Non-empty buckets only, strictly increasing by bucket index. Up to
/// `INLINE` cells are held inline (most keys are seen in one bucket of a
/// window: a count's key holding one cell allocates nothing); past that,
/// the cells are on the heap, and a series pruned back to `INLINE` cells
/// moves them inline again, so whether a series allocates is a function of
/// its number of cells (the accounting's, [`Series::accounted`]).
/// Serialized as the sequence of cells (the same bytes a `Vec` wrote).
///
/// `INLINE` is 1 for 8-byte cells (the series is then no larger than a
/// `Vec`) and 0 for a sum's 16-byte cells, which would make every window
/// state 8 bytes larger (a unit test holds `State` to 32 bytes).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct Series<T, const INLINE: usize = 1> {
    cells: SmallVec<[(i64, T); INLINE]>,
}

impl<T: Cell, const INLINE: usize> Series<T, INLINE> {
    /// Merges into the cell of `bucket`, or inserts `fresh` there (keeping the order).
    pub fn upsert(&mut self, bucket: i64, fresh: T, merge: impl FnOnce(&mut T)) {
        let last = self.cells.last().map(|c| c.0);
        match last {
            Some(b) if b == bucket => {
                if let Some(cell) = self.cells.last_mut() {
                    merge(&mut cell.1);
                }
            }
            Some(b) if b > bucket => match self.cells.binary_search_by_key(&bucket, |c| c.0) {
                Ok(i) => {
                    if let Some(cell) = self.cells.get_mut(i) {
                        merge(&mut cell.1);
                    }
                }
                Err(i) => self.cells.insert(i, (bucket, fresh)),
            },
            _ => self.cells.push((bucket, fresh)),
        }
    }

    /// Cells whose bucket lies in `[start, end]`.
    pub fn range(&self, start: i64, end: i64) -> &[(i64, T)] {
        let lo = self.cells.partition_point(|c| c.0 < start);
        let hi = self.cells.partition_point(|c| c.0 <= end).max(lo);
        &self.cells[lo..hi]
    }

    /// Drops cells below `cutoff`, releasing memory once mostly empty.
    pub fn prune(&mut self, cutoff: i64) {
        let k = self.cells.partition_point(|c| c.0 < cutoff);
        if k == 0 {
            return;
        }
        self.cells.drain(..k);
        self.settle();
    }

    /// Moves the cells inline once they fit, and releases memory once
    /// the heap is mostly empty.
    fn settle(&mut self) {
        let (len, cap) = (self.cells.len(), self.cells.capacity());
        if !self.cells.spilled() {
            return;
        }
        if len <= INLINE {
            self.cells.shrink_to_fit();
        } else if cap > 4 && len * 4 <= cap {
            self.cells.grow(len * 2);
        }
    }

    /// Number of non-empty buckets.
    pub fn cells(&self) -> usize {
        self.cells.len()
    }

    /// True if any cell is at or above `cutoff`.
    pub fn is_live(&self, cutoff: i64) -> bool {
        self.cells.last().is_some_and(|c| c.0 >= cutoff)
    }

    pub fn is_sorted(&self) -> bool {
        self.cells.windows(2).all(|w| w[0].0 < w[1].0)
    }

    pub fn heap_bytes(&self) -> usize {
        if self.cells.spilled() {
            vec_bytes::<(i64, T)>(self.cells.capacity())
        } else {
            0
        }
    }

    /// Accounted heap bytes (a function of the number of cells): none
    /// for the one cell held inline.
    pub fn accounted(&self) -> u64 {
        match self.cells.len() {
            n if n <= INLINE => 0,
            n => vec_model_bytes::<(i64, T)>(n),
        }
    }

    pub fn digest(&self, d: &mut Digest) {
        d.u64(self.cells.len() as u64);
        for (b, v) in &self.cells {
            d.i64(*b);
            v.digest(d);
        }
    }
}

impl Series<u32> {
    /// Removes one unit from `bucket`, dropping the cell when it reaches zero.
    pub fn decrement(&mut self, bucket: i64) {
        if let Ok(i) = self.cells.binary_search_by_key(&bucket, |c| c.0) {
            match self.cells.get_mut(i) {
                Some(cell) if cell.1 > 1 => cell.1 -= 1,
                Some(_) => {
                    self.cells.remove(i);
                    self.settle();
                }
                None => {}
            }
        }
    }

    pub fn total(&self, start: i64, end: i64) -> u64 {
        self.range(start, end).iter().map(|c| u64::from(c.1)).sum()
    }

    pub fn all_positive(&self) -> bool {
        self.cells.iter().all(|c| c.1 > 0)
    }
}
