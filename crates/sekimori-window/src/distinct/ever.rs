//! Distinct state of one key in an `Ever` window: an exact sorted vector,
//! or plain HyperLogLog registers.

use std::collections::BTreeSet;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{small_bytes, SMALL_SET};
use crate::digest::{vec_bytes, vec_model_bytes, Digest};
use crate::hll::{estimate, ever_insert, HLL_REGISTERS};
use crate::ValueHash;

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
