//! Shared helpers for the integration tests.
#![allow(dead_code)]

use sekimori_window::{
    Aggregate, FeatureConfig, FeatureStore, Group, Obs, ObsValue, StoreRef, Window,
};

pub const SEC: i64 = 1_000;
pub const MIN: i64 = 60 * SEC;
pub const HOUR: i64 = 60 * MIN;

pub fn sliding(length_ms: i64, resolution_ms: i64) -> Window {
    Window::sliding(length_ms, resolution_ms).expect("valid window")
}

pub fn cfg(window: Window, aggregate: Aggregate, lateness_ms: i64) -> FeatureConfig {
    FeatureConfig {
        window,
        aggregate,
        max_keys: 1_000_000,
        lateness_ms,
    }
}

pub fn store(config: FeatureConfig) -> FeatureStore {
    FeatureStore::new(config).expect("valid config")
}

pub fn obs(at_ms: i64, value: ObsValue) -> Option<Obs> {
    Some(Obs { at_ms, value })
}

/// splitmix64: a good 64-bit hash of `x`, standing in for the caller's value hash.
pub fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The key of a small key number, spread over the 128 bits (the property
/// tests' keys).
pub fn key_of(k: u8) -> u128 {
    u128::from(k).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C834) ^ 0x5eed
}

/// An observation's value for `aggregate` from a small number: a hash for
/// a distinct count, else an integer.
pub fn value_of(aggregate: Aggregate, v: i64) -> ObsValue {
    match aggregate {
        Aggregate::DistinctCount { .. } => {
            ObsValue::Hash((v as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15))
        }
        _ => ObsValue::Int(v * 100),
    }
}

/// Bytes a key of `s` is accounted beyond a solo store's: a grouped
/// member's state also pays its place in its record's allocation.
pub fn record_charge(s: StoreRef<'_>) -> u64 {
    match s {
        StoreRef::Member(..) => Group::state_in_record(),
        StoreRef::Solo(_) => 0,
    }
}
