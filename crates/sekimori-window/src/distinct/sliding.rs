//! Distinct state of one key in a sliding window: a small exact vector, the
//! indexed exact set, or a sliding HyperLogLog.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::indexed::{small_insert, Indexed, SmallAsIndexed};
use super::{small_bytes, SMALL_SET};
use crate::digest::{vec_bytes, Digest};
use crate::hll::SlidingHll;
use crate::window::Span;
use crate::ValueHash;

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

    /// Readies a sketch to answer [`SlidingDistinct::read`] of `span`
    /// without walking its pairs again (exact sets need nothing).
    pub fn refresh(&mut self, span: &Span) {
        if let SlidingDistinct::Approx(hll) = self {
            hll.refresh(span);
        }
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
