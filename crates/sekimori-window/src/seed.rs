//! `ShardSeed`: the secret that spreads a store's keys over its shards
//! (the attacker's review, F1).
//!
//! Keys are xxh3 hashes of text an attacker can type (a claimed login, a
//! device id, a payee), and xxh3 has no key: anyone who reads the code can
//! try candidate texts offline and keep those whose keys land in one shard.
//! A fixed shard function let such keys pile into one shard, so every
//! per-shard operation (a table resize, a copy-on-write clone after a
//! snapshot copy, a rebuild after removals) touched the whole store inside
//! one decision. The shard is therefore SipHash-1-3 (a keyed PRF, the one
//! std's maps use against hash flooding) of the key under a 128-bit seed
//! the attacker never sees, drawn once when a store is created.
//!
//! **Nothing but the layout depends on the seed.** Readings, digests,
//! serialized bytes, evictions and the accounting (a function of the number
//! of keys, see `shards`) are the same under every seed; tests hold it. So
//! the seed may be drawn from the process's randomness, and is never
//! written anywhere: an engine draws one when it is created and another on
//! every restore of a snapshot (which goes to object stores and backups; a
//! seed kept there would let whoever reads it craft keys for one shard:
//! the attacker's review F3), and decides exactly the same under each.
//! `ShardSeed` has no serde form, so it cannot be persisted by accident.

use std::collections::hash_map::RandomState;
use std::fmt;
use std::hash::{BuildHasher, Hasher};

use siphasher::sip::SipHasher13;

use crate::Key;

/// The secret of a store's shard layout (see the module docs). Its `Debug`
/// form does not show it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ShardSeed([u64; 2]);

impl ShardSeed {
    /// A seed drawn from the process's randomness: std's `RandomState`,
    /// whose keys come from the operating system once per thread (each
    /// state after the first moves one of them on, so two draws differ).
    /// The only randomness in this crate, and no result depends on it.
    pub fn fresh() -> ShardSeed {
        let state = RandomState::new();
        ShardSeed([
            state.hash_one(0x7365_6b69_6d6f_7269u64),
            state.hash_one(0x7368_6172_6473_6565u64),
        ])
    }

    /// A seed from its two words (tests, and a seed kept elsewhere).
    pub const fn from_parts(k0: u64, k1: u64) -> ShardSeed {
        ShardSeed([k0, k1])
    }

    /// The shard of `key` among `2^bits` shards (`bits` in 1 to 63): the
    /// top bits of SipHash-1-3 of the key's little-endian bytes under the
    /// seed (the same on every machine). The engine's other sharded maps
    /// (risk profiles, entity profiles) pick their shards with it too.
    pub fn shard(&self, key: Key, bits: u32) -> usize {
        let mut h = SipHasher13::new_with_keys(self.0[0], self.0[1]);
        h.write(&key.to_le_bytes());
        (h.finish() >> (64 - bits)) as usize
    }
}

/// A fresh seed ([`ShardSeed::fresh`]), as std's `RandomState` is.
impl Default for ShardSeed {
    fn default() -> ShardSeed {
        ShardSeed::fresh()
    }
}

impl fmt::Debug for ShardSeed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShardSeed(..)")
    }
}
