//! # sekimori-window
//!
//! Exact event-time windowed aggregates. One [`FeatureStore`] holds one declared feature
//! (a window and an aggregate) for every entity key. Keys are `u128` hashes supplied by
//! the caller (xxh3-128 of the entity key) and distinct values are `u64` hashes: the
//! crate never sees strings. It is pure: no I/O, no wall clock, no randomness, no
//! threads. Time only moves through the caller's `now_ms`, the engine's watermark (the
//! largest event time seen so far, including the current event).
//!
//! ## Windows and buckets
//!
//! A [`Window::Sliding`] window of `length_ms` is divided into buckets of
//! `resolution_ms`: an event at `t` belongs to bucket `b(t) = t.div_euclid(resolution_ms)`
//! and the window has `n = length_ms / resolution_ms` buckets. Every reading is taken
//! *as of the watermark*: it covers the events whose bucket lies in
//! `[b(now) - n + 1, b(now)]`. The window is therefore exact at bucket granularity: an
//! event in the first bucket of the window counts, an event one bucket earlier does not.
//! A late event (`at < now`) is added to its own bucket, so it expires when its bucket
//! leaves the window, but the reading is still the window ending at the watermark.
//! Event times are clamped into `[now - lateness_ms, now]` before use (the caller
//! normally clamps already). [`Window::Ever`] covers every event observed for the key
//! and never expires. Limits: resolution >= 1 s, length <= 90 days, <= 1440 buckets;
//! [`Window::sliding_default`] documents the default resolution rule.
//!
//! ## Aggregates
//!
//! | aggregate | reading | when nothing is in the window |
//! |---|---|---|
//! | `Count` | number of events | `Int(0)` |
//! | `Sum` | sum of `ObsValue::Int` values, computed exactly and saturated to i64 (so it does not depend on the order of events) | `Int(0)` |
//! | `Min` / `Max` | smallest / largest `Int` value | `Null` |
//! | `DistinctCount` | number of distinct `ObsValue::Hash` values | `Int(0)` |
//! | `FirstSeen` | smallest event time, *including* the current event | `Null` |
//! | `LastSeen` | largest event time observed *before* the current event | `Null` |
//!
//! `LastSeen` excludes the current observation because "time since this key was last
//! seen" is the useful fact (the current event would always be "now"); `apply` reads it
//! before applying. A read ([`FeatureStore::read`], or `apply` with no observation) sees
//! every event applied so far. An observation whose value kind does not fit the
//! aggregate (`Sum`/`Min`/`Max` need `Int`, `DistinctCount` needs `Hash`) is ignored.
//! Reading a key that is not tracked gives the empty value.
//!
//! ## Distinct counts
//!
//! `DistinctCount { exact_limit }` is exact while the key has at most `exact_limit` live
//! distinct values (values whose latest bucket is still retained, see below); each value
//! is kept with the latest bucket it was seen in: up to 16 values in one sorted vector
//! (16 bytes a value, scanned), more in an indexed form (a value map, a (bucket, value)
//! order and per-bucket counts); the form follows the size both ways, and both are
//! written alike in snapshots. When a new value would exceed the
//! limit, the key switches to a *sliding HyperLogLog* (Chabchoub & Hébrail) with
//! precision 10 (1024 registers): the top 10 bits of the value hash pick the register
//! and rho is the 1-based position of the first set bit in the remaining 54 bits. Each
//! register keeps a list of future possible maxima, `(bucket, rho)` pairs; a new pair
//! removes the pairs with an earlier-or-equal bucket and a smaller-or-equal rho, and the
//! register's value for the window is the largest rho among its pairs inside the
//! window. The standard HLL estimator with linear-counting small-range correction
//! (computed in integers, [`fixed`]: the same on every machine) gives
//! a relative standard error of `1.04 / sqrt(1024) ≈ 3.25%`; estimates are within 4
//! standard errors (≈13%) of the truth with overwhelming probability, assuming the
//! caller's value hash is a good 64-bit hash. While a key is in HLL mode its readings
//! have `approximate == true`; once all its values have expired it returns to exact
//! mode. `Ever` windows use the same scheme with a plain HLL (nothing expires).
//! `exact_limit` is at most 100 000.
//!
//! ## Graph
//!
//! [`Aggregate::Graph`] makes each key a node of a transfer graph, updated by
//! [`FeatureStore::apply_edge`] (two keys, an amount, a time) and read by
//! [`FeatureStore::read_node`]; [`FeatureStore::apply`] ignores it. A node keeps
//! its [`EDGE_CAP`] most recent edges out and in (oldest evicted) and the
//! distinct-counterparty counts of its [`PERIOD_CAP`] most recent active
//! periods (a period is the window's resolution); both are pruned with the
//! window. [`GraphRead`] gives fans relative to the node's busiest earlier
//! period, trailing sums received and sent, pass-through hops (a hop passes
//! on at least [`PASS_THROUGH_BP`] of what arrived) and the shortest cycle
//! the edge closes: breadth-first over earlier edges in time order, at most
//! [`MAX_CYCLE`] long and [`VISIT_CAP`] nodes scanned per event.
//!
//! ## Memory, retention and the key cap
//!
//! Buckets are sparse: a key stores only its non-empty buckets, sorted by index, and
//! each aggregate has its own compact state (a `Count` bucket is 16 bytes; a key with one
//! event costs well under 256 bytes including its hash-map entry). When a key is
//! updated, buckets below `b(now - lateness_ms) - n + 1` are dropped: later observations
//! are clamped to `now - lateness_ms`, so such buckets can never be read again by a
//! reading at or after `now - lateness_ms`. A sliding store sweeps all keys, forgetting
//! keys with nothing retained, whenever `now - last_sweep >= max(length / 2, resolution)`
//! (driven by event time only). Forgetting such a key never changes any reading.
//! The sweep is logically at that moment but physically spread over the calls that
//! follow (a few of the 1,024 shards at a time, all of them by the time the next
//! sweep is due), so no one call pays for a whole store; every result is the one
//! the sweep at once gave, and whatever looks at the whole store finishes it first
//! ([`FeatureStore::settle`]; see `sweep`). Meanwhile [`FeatureStore::len`] and
//! [`FeatureStore::accounted_bytes`] report at least the settled figures.
//!
//! `max_keys` caps the number of tracked keys. When a new key arrives at the cap, the
//! store first sweeps (at once); if still full it evicts the least-recently-observed keys (by the
//! key's latest event time, ties broken by the smaller key), `max_keys / 16` at a time
//! (at least one), counted in [`FeatureStore::evicted_total`]. LRU by event time keeps
//! the counters an active attacker is driving (they are recent) and drops stale ones;
//! refusing new keys instead would let a flood of fresh keys blind every later key.
//!
//! Every store also keeps an *accounting* of its footprint,
//! [`FeatureStore::accounted_bytes`]: the shards' hash tables as a random
//! layout of the store's number of keys gives them (each shard's table is
//! the size a std map has for its length, as shards are rebuilt at their new
//! size when they lose keys; the model prices the spread of those lengths,
//! not the seed's actual layout) plus every key's heap state, each
//! allocation rounded to the allocator's size class; modelled from lengths
//! (never read from capacities or the layout, so a store restored from a
//! snapshot, or rebuilt under another seed, accounts the same bytes).
//! It is updated by every change, so reading it costs nothing. An engine-wide
//! memory budget reads it and evicts with [`FeatureStore::evict_through`]
//! (every key last observed at or before a time), choosing the time from
//! [`FeatureStore::for_each_age`]; both depend only on event times.
//!
//! ## Determinism
//!
//! Results depend only on the sequence of calls. Keys live in 1,024 shards of std
//! `HashMap`s: a key's shard is SipHash-1-3 under the store's secret [`ShardSeed`] and
//! each map's hasher is seeded per process, so crafted keys pile neither into one shard
//! nor into one bucket. Neither the layout nor any iteration order influences a result,
//! an eviction choice, the accounting or the output: eviction sorts by (time, key), the
//! serialized form lists keys sorted (it does not hold the seed), the tables are
//! accounted from the number of keys, and [`FeatureStore::state_digest`] hashes the
//! state in key order. A deserialized store is validated against its configuration.

// The decision path's guard (clippy.toml; ARCHITECTURE.md, invariants): no
// float, clock, file, socket, thread or environment variable.
#![deny(
    clippy::disallowed_types,
    clippy::disallowed_methods,
    clippy::float_arithmetic
)]

mod alloc;
mod digest;
mod distinct;
mod edges;
mod error;
pub mod fixed;
mod graph;
mod group;
mod hll;
mod layout;
mod seed;
mod series;
mod shards;
mod snapshot;
mod state;
mod store;
mod stores;
mod sweep;
mod window;

use serde::{Deserialize, Serialize};

pub use error::WindowError;
pub use graph::{GraphRead, EDGE_CAP, MAX_CYCLE, PASS_THROUGH_BP, PERIOD_CAP, VISIT_CAP};
pub use group::{Group, MAX_MEMBERS};
pub use hll::{HLL_PRECISION, HLL_REGISTERS};
pub use seed::ShardSeed;
pub use store::FeatureStore;
pub use stores::{StoreMut, StoreRef, Stores};
pub use window::{MAX_BUCKETS, MAX_EXACT_LIMIT, MAX_LENGTH_MS, MIN_RESOLUTION_MS};

/// Entity key, hashed by the caller (xxh3-128).
pub type Key = u128;
/// Hash of a distinct value, computed by the caller.
pub type ValueHash = u64;

/// The time span a feature aggregates over.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Window {
    /// The last `length_ms`, in buckets of `resolution_ms`, as of the watermark.
    Sliding {
        /// Window length in milliseconds.
        length_ms: i64,
        /// Bucket width in milliseconds.
        resolution_ms: i64,
    },
    /// Everything ever observed for the key.
    Ever,
}

/// What a feature computes over its window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Aggregate {
    /// Number of events.
    Count,
    /// Saturating sum of `Int` values.
    Sum,
    /// Smallest `Int` value.
    Min,
    /// Largest `Int` value.
    Max,
    /// Number of distinct `Hash` values; exact up to `exact_limit`, then HyperLogLog.
    DistinctCount {
        /// Live distinct values per key kept exactly (at most 100 000).
        exact_limit: u32,
    },
    /// Earliest event time in the window, including the current event.
    FirstSeen,
    /// Latest event time in the window, excluding the current event.
    LastSeen,
    /// The transfer graph: each key is a node, updated by
    /// [`FeatureStore::apply_edge`] (see "Graph" above). Sliding windows only.
    Graph,
}

/// Configuration of one feature store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// Window of the feature.
    pub window: Window,
    /// Aggregate of the feature.
    pub aggregate: Aggregate,
    /// Maximum number of tracked keys (at least 1).
    pub max_keys: usize,
    /// How far behind the watermark an event may be before it is clamped (>= 0).
    pub lateness_ms: i64,
}

/// What one event contributes. `value` is used by Sum/Min/Max (the i64) and
/// DistinctCount (the hash); Count/FirstSeen/LastSeen ignore it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Obs {
    /// Event time in milliseconds.
    pub at_ms: i64,
    /// The event's value for this feature.
    pub value: ObsValue,
}

/// The value part of an observation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObsValue {
    /// No value.
    None,
    /// An integer (money in minor units, counts, ...).
    Int(i64),
    /// A hashed distinct value.
    Hash(ValueHash),
}

/// The value of a feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Reading {
    /// A value.
    Int(i64),
    /// No value (e.g. `Min` of an empty window).
    Null,
}

impl Reading {
    /// The integer, if any.
    pub fn as_int(self) -> Option<i64> {
        match self {
            Reading::Int(v) => Some(v),
            Reading::Null => None,
        }
    }
}

/// A reading and whether it is an estimate (distinct count in HyperLogLog mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Read {
    /// The value.
    pub reading: Reading,
    /// True when the value is a HyperLogLog estimate.
    pub approximate: bool,
}
