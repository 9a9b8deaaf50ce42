//! The indexed exact sliding set, and a small set written in its form.

use std::collections::{BTreeMap, BTreeSet};

use serde::ser::SerializeStruct;
use serde::{Deserialize, Serialize, Serializer};

use crate::digest::btree_bytes;
use crate::series::Series;
use crate::ValueHash;

/// The indexed exact sliding set: each value with the latest bucket it was
/// seen in. This is also the serialized form of every exact sliding set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename = "SlidingExact")]
pub(crate) struct Indexed {
    /// value -> latest bucket.
    pub(super) latest: BTreeMap<ValueHash, i64>,
    /// (latest bucket, value), to expire the oldest values cheaply.
    pub(super) order: BTreeSet<(i64, ValueHash)>,
    /// Number of values whose latest bucket is each bucket, to count a window cheaply.
    pub(super) counts: Series<u32>,
}

impl Indexed {
    pub(super) fn insert(&mut self, bucket: i64, value: ValueHash) {
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

    pub(super) fn prune(&mut self, cutoff: i64) {
        while let Some(&(bucket, value)) = self.order.first() {
            if bucket >= cutoff {
                break;
            }
            self.order.pop_first();
            self.latest.remove(&value);
        }
        self.counts.prune(cutoff);
    }

    pub(super) fn is_valid(&self) -> bool {
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

    pub(super) fn bytes(&self) -> usize {
        btree_bytes::<(ValueHash, i64)>(self.latest.len())
            + btree_bytes::<(i64, ValueHash)>(self.order.len())
    }
}

/// Inserts `(value, bucket)` into a small set sorted by value, keeping the
/// latest bucket of a value already there.
pub(super) fn small_insert(set: &mut Vec<(ValueHash, i64)>, bucket: i64, value: ValueHash) {
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
pub(super) struct SmallAsIndexed<'a>(pub(super) &'a [(ValueHash, i64)]);

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
