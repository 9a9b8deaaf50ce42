//! Distinct counting: exact sets that switch to HyperLogLog above `exact_limit`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::digest::{btree_bytes, vec_bytes, Digest};
use crate::hll::{estimate, ever_insert, SlidingHll, HLL_REGISTERS};
use crate::series::Series;
use crate::window::Span;
use crate::ValueHash;

/// Exact sliding distinct set: each value with the latest bucket it was seen in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SlidingExact {
    /// value -> latest bucket.
    latest: BTreeMap<ValueHash, i64>,
    /// (latest bucket, value), to expire the oldest values cheaply.
    order: BTreeSet<(i64, ValueHash)>,
    /// Number of values whose latest bucket is each bucket, to count a window cheaply.
    counts: Series<u32>,
}

impl SlidingExact {
    fn insert(&mut self, bucket: i64, value: ValueHash) {
        if let Some(&old) = self.latest.get(&value) {
            if old >= bucket {
                return;
            }
            self.order.remove(&(old, value));
            self.counts.decrement(old);
        }
        self.latest.insert(value, bucket);
        self.order.insert((bucket, value));
        self.counts.upsert(bucket, 1, |c| *c = c.saturating_add(1));
    }

    fn prune(&mut self, cutoff: i64) {
        while let Some(&(bucket, value)) = self.order.first() {
            if bucket >= cutoff {
                break;
            }
            self.order.pop_first();
            self.latest.remove(&value);
        }
        self.counts.prune(cutoff);
    }

    fn is_valid(&self) -> bool {
        let consistent = self.latest.len() == self.order.len()
            && self
                .order
                .iter()
                .all(|(b, v)| self.latest.get(v) == Some(b));
        let counted: u64 = self.counts.total(i64::MIN, i64::MAX);
        consistent
            && counted == self.latest.len() as u64
            && self.counts.is_sorted()
            && self.counts.all_positive()
    }
}

/// Distinct state of one key in a sliding window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum SlidingDistinct {
    Exact(SlidingExact),
    Approx(SlidingHll),
}

impl SlidingDistinct {
    /// True once two distinct values are retained (or the key is a sketch).
    pub fn repeated(&self) -> bool {
        match self {
            SlidingDistinct::Exact(e) => e.latest.len() >= 2,
            SlidingDistinct::Approx(_) => true,
        }
    }

    pub fn new() -> SlidingDistinct {
        SlidingDistinct::Exact(SlidingExact::default())
    }

    /// Adds `value`; switches to HLL when a new value would exceed `limit` live values.
    pub fn observe(&mut self, bucket: i64, value: ValueHash, limit: u32, cutoff: i64) {
        let promoted = match self {
            SlidingDistinct::Approx(hll) => {
                hll.insert(bucket, value, cutoff);
                return;
            }
            SlidingDistinct::Exact(ex) => {
                if ex.latest.contains_key(&value) || ex.latest.len() < limit as usize {
                    ex.insert(bucket, value);
                    return;
                }
                let mut hll = SlidingHll::new(cutoff);
                for (&v, &b) in &ex.latest {
                    hll.insert(b, v, cutoff);
                }
                hll.insert(bucket, value, cutoff);
                hll
            }
        };
        *self = SlidingDistinct::Approx(promoted);
    }

    /// Expires values below `cutoff`; an emptied sketch returns to exact mode.
    pub fn prune(&mut self, cutoff: i64) {
        match self {
            SlidingDistinct::Exact(ex) => ex.prune(cutoff),
            SlidingDistinct::Approx(hll) => {
                hll.prune(cutoff);
                if hll.is_empty() {
                    *self = SlidingDistinct::new();
                }
            }
        }
    }

    pub fn is_live(&self, cutoff: i64) -> bool {
        match self {
            SlidingDistinct::Exact(ex) => ex.order.last().is_some_and(|e| e.0 >= cutoff),
            SlidingDistinct::Approx(hll) => hll.is_live(cutoff),
        }
    }

    /// (count, approximate) as of the span's window.
    pub fn read(&self, span: &Span) -> (i64, bool) {
        match self {
            SlidingDistinct::Exact(ex) => {
                let n = ex.counts.total(span.start, span.end);
                (i64::try_from(n).unwrap_or(i64::MAX), false)
            }
            SlidingDistinct::Approx(hll) => hll.estimate(span),
        }
    }

    pub fn is_valid(&self) -> bool {
        match self {
            SlidingDistinct::Exact(ex) => ex.is_valid(),
            SlidingDistinct::Approx(hll) => hll.is_valid(),
        }
    }

    pub fn heap_bytes(&self) -> usize {
        match self {
            SlidingDistinct::Exact(ex) => {
                btree_bytes::<(ValueHash, i64)>(ex.latest.len())
                    + btree_bytes::<(i64, ValueHash)>(ex.order.len())
                    + ex.counts.heap_bytes()
            }
            SlidingDistinct::Approx(hll) => hll.heap_bytes(),
        }
    }

    /// Accounted heap bytes (a function of the logical content).
    pub fn accounted(&self) -> u64 {
        match self {
            SlidingDistinct::Exact(ex) => {
                (btree_bytes::<(ValueHash, i64)>(ex.latest.len())
                    + btree_bytes::<(i64, ValueHash)>(ex.order.len())) as u64
                    + ex.counts.accounted()
            }
            SlidingDistinct::Approx(hll) => hll.accounted(),
        }
    }

    pub fn digest(&self, d: &mut Digest) {
        match self {
            SlidingDistinct::Exact(ex) => {
                d.u64(0);
                d.u64(ex.latest.len() as u64);
                for (v, b) in &ex.latest {
                    d.u64(*v);
                    d.i64(*b);
                }
            }
            SlidingDistinct::Approx(hll) => {
                d.u64(1);
                hll.digest(d);
            }
        }
    }
}

/// Distinct state of one key in an `Ever` window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum EverDistinct {
    Exact(BTreeSet<ValueHash>),
    /// Plain HLL registers (always `HLL_REGISTERS` long).
    Approx(Vec<u8>),
}

impl EverDistinct {
    /// True once two distinct values are kept (or the key is a sketch).
    pub fn repeated(&self) -> bool {
        match self {
            EverDistinct::Exact(set) => set.len() >= 2,
            EverDistinct::Approx(_) => true,
        }
    }

    pub fn new() -> EverDistinct {
        EverDistinct::Exact(BTreeSet::new())
    }

    pub fn observe(&mut self, value: ValueHash, limit: u32) {
        let promoted = match self {
            EverDistinct::Approx(regs) => {
                ever_insert(regs, value);
                return;
            }
            EverDistinct::Exact(set) => {
                if set.contains(&value) || set.len() < limit as usize {
                    set.insert(value);
                    return;
                }
                let mut regs = vec![0u8; HLL_REGISTERS];
                for &v in set.iter() {
                    ever_insert(&mut regs, v);
                }
                ever_insert(&mut regs, value);
                regs
            }
        };
        *self = EverDistinct::Approx(promoted);
    }

    pub fn read(&self) -> (i64, bool) {
        match self {
            EverDistinct::Exact(set) => (i64::try_from(set.len()).unwrap_or(i64::MAX), false),
            EverDistinct::Approx(regs) => (estimate(regs), true),
        }
    }

    pub fn is_valid(&self) -> bool {
        match self {
            EverDistinct::Exact(_) => true,
            EverDistinct::Approx(regs) => regs.len() == HLL_REGISTERS,
        }
    }

    pub fn heap_bytes(&self) -> usize {
        match self {
            EverDistinct::Exact(set) => btree_bytes::<ValueHash>(set.len()),
            EverDistinct::Approx(regs) => vec_bytes::<u8>(regs.capacity()),
        }
    }

    /// Accounted heap bytes (a function of the logical content).
    pub fn accounted(&self) -> u64 {
        match self {
            EverDistinct::Exact(set) => btree_bytes::<ValueHash>(set.len()) as u64,
            EverDistinct::Approx(_) => HLL_REGISTERS as u64,
        }
    }

    pub fn digest(&self, d: &mut Digest) {
        match self {
            EverDistinct::Exact(set) => {
                d.u64(0);
                d.u64(set.len() as u64);
                set.iter().for_each(|v| d.u64(*v));
            }
            EverDistinct::Approx(regs) => {
                d.u64(1);
                regs.iter().for_each(|r| d.u64(u64::from(*r)));
            }
        }
    }
}
