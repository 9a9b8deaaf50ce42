//! The memory model the accounting uses: what an allocation of `n` bytes
//! really takes from the allocator, and what a shard's hash table takes
//! at `len` keys. A model (a pure function of lengths), never a reading of
//! capacities, so a store restored from a snapshot accounts exactly what
//! the live store did; tests check it against the real capacities.

use std::mem::size_of;

/// Bytes the allocator hands out for a request of `size` bytes: the
/// `sekimori` binary runs on mimalloc, whose size classes are 8 bytes, then
/// even words up to 64 bytes, then four classes per doubling (a request is
/// rounded up by at most a quarter), and whole 64 KiB pages past 8 MiB.
pub(crate) fn alloc_bytes(size: usize) -> u64 {
    if size == 0 {
        return 0;
    }
    let words = size.div_ceil(8);
    let words = if words <= 1 {
        1
    } else if words <= 8 {
        words.next_multiple_of(2)
    } else if words <= (8 << 20) / 8 {
        let w = words - 1;
        let b = usize::BITS - 1 - w.leading_zeros();
        let shift = b - 2;
        ((w >> shift) + 1) << shift
    } else {
        return size.next_multiple_of(64 << 10) as u64;
    };
    (words * 8) as u64
}

/// Buckets of a std `HashMap` (hashbrown) built or grown to hold `len`
/// entries: at least 4, then 8 and 16 below 15 entries, then the power of
/// two that keeps it at most 7/8 full. A table only ever holds this many
/// buckets for its length when it is grown by insertion and rebuilt after
/// removals (see `shards`), never left at the size of an earlier peak or
/// with the tombstones of removed keys.
pub(crate) fn table_buckets(len: usize) -> usize {
    match len {
        0 => 0,
        1..=3 => 4,
        4..=7 => 8,
        8..=14 => 16,
        n => (n * 8 / 7).next_power_of_two(),
    }
}

/// The entries a table of `buckets` buckets holds before it grows.
#[cfg(test)]
pub(crate) fn table_capacity(buckets: usize) -> usize {
    if buckets < 8 {
        buckets.saturating_sub(1)
    } else {
        buckets / 8 * 7
    }
}

/// Accounted bytes of a hash table of `T` entries holding `len` of them: its
/// one allocation (the entries, padded to 16, then a control byte per bucket
/// and a 16-byte group), as the allocator rounds it.
pub(crate) fn table_bytes<T>(len: usize) -> u64 {
    let buckets = table_buckets(len);
    if buckets == 0 {
        return 0;
    }
    alloc_bytes((buckets * size_of::<T>()).next_multiple_of(16) + buckets + 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_classes_round_up_by_at_most_a_quarter() {
        for (size, class) in [
            (1, 8),
            (8, 8),
            (9, 16),
            (24, 32),
            (40, 48),
            (64, 64),
            (65, 80),
            (72, 80),
            (128, 128),
            (129, 160),
            (1840, 2048),
            (2048, 2048),
        ] {
            assert_eq!(alloc_bytes(size), class, "{size}");
        }
        for size in 65..200_000usize {
            let c = alloc_bytes(size) as usize;
            assert!(c >= size && c <= size + size / 4 + 8, "{size}: {c}");
        }
    }

    #[test]
    fn the_model_is_the_std_tables_capacity() {
        // Grown one insertion at a time, as the stores grow their shards.
        let mut map = std::collections::HashMap::new();
        for n in 1..5_000u64 {
            map.insert(n, [0u64; 5]);
            assert_eq!(
                map.capacity(),
                table_capacity(table_buckets(map.len())),
                "{n}"
            );
        }
        // Built for a length, as a shard is rebuilt after removals.
        for n in 1..5_000usize {
            let map: std::collections::HashMap<u64, [u64; 5]> =
                std::collections::HashMap::with_capacity(n);
            assert_eq!(map.capacity(), table_capacity(table_buckets(n)), "{n}");
        }
    }
}
