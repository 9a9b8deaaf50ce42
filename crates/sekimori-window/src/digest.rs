//! A small deterministic digest and memory-accounting helpers.
//!
//! The digest only has to be stable within one build and sensitive to every logical
//! field; it is not a cryptographic or a cross-version format.

use std::mem::size_of;

const K: u64 = 0x9E37_79B9_7F4A_7C15;

/// Word-at-a-time hasher (multiply-rotate mixing, splitmix64 finaliser).
#[derive(Debug)]
pub(crate) struct Digest(u64);

impl Digest {
    pub fn new() -> Digest {
        Digest(0x5EC1_0F00_D5EE_D001)
    }

    pub fn u64(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(23) ^ w).wrapping_mul(K);
    }

    pub fn i64(&mut self, w: i64) {
        self.u64(w as u64);
    }

    pub fn u128(&mut self, w: u128) {
        self.u64(w as u64);
        self.u64((w >> 64) as u64);
    }

    pub fn opt(&mut self, w: Option<i64>) {
        match w {
            None => self.u64(0),
            Some(v) => {
                self.u64(1);
                self.i64(v);
            }
        }
    }

    pub fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Heap bytes of a `Vec<T>` with the given capacity.
pub(crate) fn vec_bytes<T>(capacity: usize) -> usize {
    capacity * size_of::<T>()
}

/// Approximate heap bytes of a std `BTreeMap`/`BTreeSet` with `len` entries of `T`:
/// nodes of 11 slots, assumed on average 2/3 full, with ~16 bytes of node header
/// (internal nodes add roughly one more node per 8 leaves).
pub(crate) fn btree_bytes<T>(len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let leaves = len.div_ceil(7);
    let nodes = leaves + leaves.div_ceil(8) - usize::from(leaves == 1);
    nodes * (11 * size_of::<T>() + 16)
}

/// Accounted heap bytes of a `Vec<T>` holding `len` items: a function of the
/// length only (never of the capacity, which differs between a live store and
/// one restored from a snapshot), modelling the growth of a vector filled one
/// push at a time: 1, then 4, 8, 16, ... slots, as the allocator rounds it.
pub(crate) fn vec_model_bytes<T>(len: usize) -> u64 {
    crate::alloc::alloc_bytes(model_slots(len) * size_of::<T>())
}

/// The capacity [`vec_model_bytes`] models for `len` items.
pub(crate) fn model_slots(len: usize) -> usize {
    match len {
        0 => 0,
        1 => 1,
        n => n.next_power_of_two().max(4),
    }
}

/// Makes room for one more item in a vector kept at (at most) its modelled
/// capacity: grows it to the model's next size, never by the standard
/// doubling from an arbitrary capacity.
pub(crate) fn reserve_model<T>(v: &mut Vec<T>) {
    if v.len() == v.capacity() {
        v.reserve_exact(model_slots(v.len() + 1) - v.len());
    }
}

/// Gives back what a vector holds past its modelled capacity (after
/// removals), so the model stays an upper bound of the real footprint.
pub(crate) fn fit_model<T>(v: &mut Vec<T>) {
    if v.capacity() > model_slots(v.len()) {
        v.shrink_to(model_slots(v.len()));
    }
}
