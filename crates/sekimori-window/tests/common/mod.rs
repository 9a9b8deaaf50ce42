//! Shared helpers for the integration tests.
#![allow(dead_code)]

use sekimori_window::{Aggregate, FeatureConfig, FeatureStore, Obs, ObsValue, Window};

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
