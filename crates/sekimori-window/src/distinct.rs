//! Distinct counting: exact sets that switch to HyperLogLog above `exact_limit`.
//!
//! An exact set is kept in one of two forms, chosen by its size alone (so a
//! restored snapshot holds the same form as the live store): at most
//! [`SMALL_SET`] values sit in one sorted vector of (value, latest bucket),
//! scanned; more in the indexed form (a value map, a (bucket, value) order
//! for expiry and per-bucket counts). Both give the same readings, digests
//! and snapshot bytes: the small form is written as the indexed one.

use std::collections::{BTreeMap, BTreeSet};

use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::digest::{btree_bytes, vec_bytes, vec_model_bytes, Digest};
use crate::hll::{estimate, ever_insert, SlidingHll, HLL_REGISTERS};
use crate::series::Series;
use crate::window::Span;
use crate::ValueHash;

/// Most values an exact set keeps in its small form (one sorted vector).
pub(crate) const SMALL_SET: usize = 16;

/// Accounted bytes of a small exact vector of `len` items of `T`: its one
/// allocation, grown one slot at a time (capacity = length), and the
/// allocator's rounding.
fn small_bytes<T>(len: usize) -> u64 {
    if len == 0 {
        0
    } else {
        (len * std::mem::size_of::<T>()).next_multiple_of(16) as u64
    }
}

/// The indexed exact sliding set: each value with the latest bucket it was
/// seen in. This is also the serialized form of every exact sliding set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "SlidingExact")]
pub(crate) struct Indexed {
    /// value -> latest bucket.
    latest: BTreeMap<ValueHash, i64>,
    /// (latest bucket, value), to expire the oldest values cheaply.
    order: BTreeSet<(i64, ValueHash)>,
    /// Number of values whose latest bucket is each bucket, to count a window cheaply.
    counts: Series<u32>,
}

impl Indexed {
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

    fn bytes(&self) -> usize {
        btree_bytes::<(ValueHash, i64)>(self.latest.len())
            + btree_bytes::<(i64, ValueHash)>(self.order.len())
    }
}

/// Inserts `(value, bucket)` into a small set sorted by value, keeping the
/// latest bucket of a value already there.
fn small_insert(set: &mut Vec<(ValueHash, i64)>, bucket: i64, value: ValueHash) {
    match set.binary_search_by_key(&value, |e| e.0) {
        Ok(i) => {
            if let Some(e) = set.get_mut(i) {
                e.1 = e.1.max(bucket);
            }
        }
        Err(i) => {
            set.reserve_exact(1);
            set.insert(i, (value, bucket));
        }
    }
}

/// Writes a small set exactly as the indexed form of the same values.
struct SmallAsIndexed<'a>(&'a [(ValueHash, i64)]);

impl Serialize for SmallAsIndexed<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut order: Vec<(i64, ValueHash)> = self.0.iter().map(|&(v, b)| (b, v)).collect();
        order.sort_unstable();
        let mut counts: Vec<(i64, u32)> = Vec::with_capacity(order.len());
        for &(b, _) in &order {
            match counts.last_mut() {
                Some(c) if c.0 == b => c.1 += 1,
                _ => counts.push((b, 1)),
            }
        }
        let mut st = s.serialize_struct("SlidingExact", 3)?;
        st.serialize_field("latest", &LatestMap(self.0))?;
        st.serialize_field("order", &order)?;
        st.serialize_field("counts", &counts)?;
        st.end()
    }
}

struct LatestMap<'a>(&'a [(ValueHash, i64)]);

impl Serialize for LatestMap<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(v, b)| (v, b)))
    }
}

/// Distinct state of one key in a sliding window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SlidingDistinct {
    /// Exact, at most [`SMALL_SET`] values: (value, latest bucket) sorted by value.
    Small(Vec<(ValueHash, i64)>),
    /// Exact, more than [`SMALL_SET`] values.
    Indexed(Box<Indexed>),
    Approx(Box<SlidingHll>),
}

/// The serialized form (the form before the small sets).
#[derive(Serialize, Deserialize)]
#[serde(rename = "SlidingDistinct")]
enum SlidingWire {
    Exact(Indexed),
    Approx(SlidingHll),
}

impl Serialize for SlidingDistinct {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            SlidingDistinct::Small(set) => {
                s.serialize_newtype_variant("SlidingDistinct", 0, "Exact", &SmallAsIndexed(set))
            }
            SlidingDistinct::Indexed(ex) => {
                s.serialize_newtype_variant("SlidingDistinct", 0, "Exact", ex.as_ref())
            }
            SlidingDistinct::Approx(hll) => {
                s.serialize_newtype_variant("SlidingDistinct", 1, "Approx", hll.as_ref())
            }
        }
    }
}

impl<'de> Deserialize<'de> for SlidingDistinct {
    /// Restores the indexed form: the store validates it, then
    /// [`SlidingDistinct::settle`] picks the form by size.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match SlidingWire::deserialize(d)? {
            SlidingWire::Exact(ex) => SlidingDistinct::Indexed(Box::new(ex)),
            SlidingWire::Approx(hll) => SlidingDistinct::Approx(Box::new(hll)),
        })
    }
}

impl SlidingDistinct {
    /// True once two distinct values are retained (or the key is a sketch).
    pub fn repeated(&self) -> bool {
        match self {
            SlidingDistinct::Small(set) => set.len() >= 2,
            SlidingDistinct::Indexed(ex) => ex.latest.len() >= 2,
            SlidingDistinct::Approx(_) => true,
        }
    }

    pub fn new() -> SlidingDistinct {
        SlidingDistinct::Small(Vec::new())
    }

    /// Puts an exact set in the form its size calls for (small up to
    /// [`SMALL_SET`] values, indexed above): after every change and after
    /// a restore, so the form is a function of the content.
    pub fn settle(&mut self) {
        match self {
            SlidingDistinct::Small(set) if set.len() > SMALL_SET => {
                let mut ex = Indexed::default();
                for &(v, b) in set.iter() {
                    ex.insert(b, v);
                }
                *self = SlidingDistinct::Indexed(Box::new(ex));
            }
            SlidingDistinct::Indexed(ex) if ex.latest.len() <= SMALL_SET => {
                let set: Vec<(ValueHash, i64)> = ex.latest.iter().map(|(&v, &b)| (v, b)).collect();
                *self = SlidingDistinct::Small(set);
            }
            _ => {}
        }
    }

    /// Adds `value`; switches to HLL when a new value would exceed `limit` live values.
    pub fn observe(&mut self, bucket: i64, value: ValueHash, limit: u32, cutoff: i64) {
        let promoted = match self {
            SlidingDistinct::Approx(hll) => {
                hll.insert(bucket, value, cutoff);
                return;
            }
            SlidingDistinct::Small(set) => {
                let known = set.binary_search_by_key(&value, |e| e.0).is_ok();
                if known || set.len() < limit as usize {
                    small_insert(set, bucket, value);
                    self.settle();
                    return;
                }
                let mut hll = SlidingHll::new(cutoff);
                for &(v, b) in set.iter() {
                    hll.insert(b, v, cutoff);
                }
                hll.insert(bucket, value, cutoff);
                hll
            }
            SlidingDistinct::Indexed(ex) => {
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
        *self = SlidingDistinct::Approx(Box::new(promoted));
    }

    /// Expires values below `cutoff`; an emptied sketch returns to exact mode.
    pub fn prune(&mut self, cutoff: i64) {
        match self {
            SlidingDistinct::Small(set) => {
                if set.iter().any(|e| e.1 < cutoff) {
                    set.retain(|e| e.1 >= cutoff);
                    set.shrink_to_fit();
                }
            }
            SlidingDistinct::Indexed(ex) => {
                ex.prune(cutoff);
                self.settle();
            }
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
            SlidingDistinct::Small(set) => set.iter().any(|e| e.1 >= cutoff),
            SlidingDistinct::Indexed(ex) => ex.order.last().is_some_and(|e| e.0 >= cutoff),
            SlidingDistinct::Approx(hll) => hll.is_live(cutoff),
        }
    }

    /// (count, approximate) as of the span's window.
    pub fn read(&self, span: &Span) -> (i64, bool) {
        match self {
            SlidingDistinct::Small(set) => {
                let n = set.iter().filter(|e| span.contains(e.1)).count();
                (i64::try_from(n).unwrap_or(i64::MAX), false)
            }
            SlidingDistinct::Indexed(ex) => {
                let n = ex.counts.total(span.start, span.end);
                (i64::try_from(n).unwrap_or(i64::MAX), false)
            }
            SlidingDistinct::Approx(hll) => hll.estimate(span),
        }
    }

    /// The invariants of the form (a restored state is indexed until it
    /// settles).
    pub fn is_valid(&self) -> bool {
        match self {
            SlidingDistinct::Small(set) => {
                set.len() <= SMALL_SET && set.windows(2).all(|w| w[0].0 < w[1].0)
            }
            SlidingDistinct::Indexed(ex) => ex.is_valid(),
            SlidingDistinct::Approx(hll) => hll.is_valid(),
        }
    }

    pub fn heap_bytes(&self) -> usize {
        match self {
            SlidingDistinct::Small(set) => vec_bytes::<(ValueHash, i64)>(set.capacity()),
            SlidingDistinct::Indexed(ex) => {
                std::mem::size_of::<Indexed>() + ex.bytes() + ex.counts.heap_bytes()
            }
            SlidingDistinct::Approx(hll) => std::mem::size_of::<SlidingHll>() + hll.heap_bytes(),
        }
    }

    /// Accounted heap bytes (a function of the logical content: the form
    /// is one too).
    pub fn accounted(&self) -> u64 {
        match self {
            SlidingDistinct::Small(set) => small_bytes::<(ValueHash, i64)>(set.len()),
            SlidingDistinct::Indexed(ex) => {
                (std::mem::size_of::<Indexed>() + ex.bytes()) as u64 + ex.counts.accounted()
            }
            SlidingDistinct::Approx(hll) => {
                std::mem::size_of::<SlidingHll>() as u64 + hll.accounted()
            }
        }
    }

    pub fn digest(&self, d: &mut Digest) {
        let exact = |d: &mut Digest, it: &mut dyn Iterator<Item = (u64, i64)>, n: usize| {
            d.u64(0);
            d.u64(n as u64);
            for (v, b) in it {
                d.u64(v);
                d.i64(b);
            }
        };
        match self {
            SlidingDistinct::Small(set) => exact(d, &mut set.iter().copied(), set.len()),
            SlidingDistinct::Indexed(ex) => exact(
                d,
                &mut ex.latest.iter().map(|(&v, &b)| (v, b)),
                ex.latest.len(),
            ),
            SlidingDistinct::Approx(hll) => {
                d.u64(1);
                hll.digest(d);
            }
        }
    }
}

/// Distinct state of one key in an `Ever` window: an exact sorted vector of
/// the values, or the plain HLL registers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EverDistinct {
    /// Sorted, no repeats.
    Exact(Vec<ValueHash>),
    /// Plain HLL registers (always `HLL_REGISTERS` long).
    Approx(Box<[u8]>),
}

/// The serialized form: a set (written in order) or the registers.
#[derive(Serialize, Deserialize)]
#[serde(rename = "EverDistinct")]
enum EverWire {
    Exact(BTreeSet<ValueHash>),
    Approx(Vec<u8>),
}

/// Writes a sorted vector as the set of its values.
struct SortedSeq<'a>(&'a [ValueHash]);

impl Serialize for SortedSeq<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0)
    }
}

impl Serialize for EverDistinct {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            EverDistinct::Exact(set) => {
                s.serialize_newtype_variant("EverDistinct", 0, "Exact", &SortedSeq(set))
            }
            EverDistinct::Approx(regs) => {
                s.serialize_newtype_variant("EverDistinct", 1, "Approx", &Registers(regs))
            }
        }
    }
}

/// Writes registers as the `Vec<u8>` they were.
struct Registers<'a>(&'a [u8]);

impl Serialize for Registers<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0)
    }
}

impl<'de> Deserialize<'de> for EverDistinct {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match EverWire::deserialize(d)? {
            EverWire::Exact(set) => EverDistinct::Exact(set.into_iter().collect()),
            EverWire::Approx(regs) => EverDistinct::Approx(regs.into_boxed_slice()),
        })
    }
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
        EverDistinct::Exact(Vec::new())
    }

    pub fn observe(&mut self, value: ValueHash, limit: u32) {
        let promoted = match self {
            EverDistinct::Approx(regs) => {
                ever_insert(regs, value);
                return;
            }
            EverDistinct::Exact(set) => {
                let at = set.binary_search(&value);
                if at.is_ok() {
                    return;
                }
                if set.len() < limit as usize {
                    if let Err(i) = at {
                        if set.len() < SMALL_SET {
                            set.reserve_exact(1);
                        }
                        set.insert(i, value);
                    }
                    return;
                }
                let mut regs = vec![0u8; HLL_REGISTERS];
                for &v in set.iter() {
                    ever_insert(&mut regs, v);
                }
                ever_insert(&mut regs, value);
                regs.into_boxed_slice()
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
            EverDistinct::Exact(set) => set.windows(2).all(|w| w[0] < w[1]),
            EverDistinct::Approx(regs) => regs.len() == HLL_REGISTERS,
        }
    }

    pub fn heap_bytes(&self) -> usize {
        match self {
            EverDistinct::Exact(set) => vec_bytes::<ValueHash>(set.capacity()),
            EverDistinct::Approx(regs) => regs.len(),
        }
    }

    /// Accounted heap bytes (a function of the logical content): up to
    /// [`SMALL_SET`] values one slot at a time, then grown by doubling.
    pub fn accounted(&self) -> u64 {
        match self {
            EverDistinct::Exact(set) if set.len() <= SMALL_SET => {
                small_bytes::<ValueHash>(set.len())
            }
            EverDistinct::Exact(set) => vec_model_bytes::<ValueHash>(set.len()),
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

#[cfg(test)]
#[path = "distinct_tests.rs"]
mod tests;
