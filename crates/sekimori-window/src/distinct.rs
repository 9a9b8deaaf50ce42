//! Distinct counting: exact sets that switch to HyperLogLog above `exact_limit`.
//!
//! An exact set is kept in one of two forms, chosen by its size alone (so a
//! restored snapshot holds the same form as the live store): at most
//! [`SMALL_SET`] values sit in one sorted vector of (value, latest bucket),
//! scanned; more in the indexed form (a value map, a (bucket, value) order
//! for expiry and per-bucket counts). Both give the same readings, digests
//! and snapshot bytes: the small form is written as the indexed one.
//!
//! One module per form: `indexed` (the indexed exact set, which is also
//! the serialized form of every exact sliding set, and the writer of a
//! small set in that form), `sliding` (the sliding-window state: small,
//! indexed or a sliding HyperLogLog) and `ever` (an `Ever` window's state:
//! a sorted vector or plain registers).

mod ever;
mod indexed;
mod sliding;

pub(crate) use ever::EverDistinct;
#[cfg(test)]
pub(crate) use indexed::Indexed;
pub(crate) use sliding::SlidingDistinct;

/// Most values an exact set keeps in its small form (one sorted vector).
pub(crate) const SMALL_SET: usize = 16;

/// Accounted bytes of a small exact vector of `len` items of `T`: its one
/// allocation, grown one slot at a time (capacity = length), and the
/// allocator's rounding.
fn small_bytes<T>(len: usize) -> u64 {
    crate::alloc::alloc_bytes(len * std::mem::size_of::<T>())
}

#[cfg(test)]
#[path = "distinct_tests.rs"]
mod tests;
