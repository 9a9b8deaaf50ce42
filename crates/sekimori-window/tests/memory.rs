//! Footprint goal: <= 256 bytes per tracked (key, feature) window with one event.

mod common;

use common::{cfg, obs, sliding, store, HOUR, MIN};
use sekimori_window::{Aggregate, FeatureStore, ObsValue, Window};

fn fill(mut s: FeatureStore, value: impl Fn(u64) -> ObsValue) -> f64 {
    for i in 0..10_000u64 {
        let key = u128::from(i).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835);
        let at = i as i64;
        s.apply(key, obs(at, value(i)), at);
    }
    assert_eq!(s.len(), 10_000);
    s.approx_bytes() as f64 / 10_000.0
}

#[test]
fn count_key_with_one_event_fits_256_bytes() {
    let avg = fill(store(cfg(sliding(HOUR, MIN), Aggregate::Count, 0)), |_| {
        ObsValue::None
    });
    eprintln!("sliding count: {avg:.1} bytes per key");
    assert!(avg <= 256.0, "{avg} bytes per key");
}

#[test]
fn other_small_states_fit_256_bytes() {
    for agg in [Aggregate::Sum, Aggregate::Max, Aggregate::LastSeen] {
        let avg = fill(store(cfg(sliding(HOUR, MIN), agg, 0)), |i| {
            ObsValue::Int(i as i64)
        });
        eprintln!("sliding {agg:?}: {avg:.1} bytes per key");
        assert!(avg <= 256.0, "{agg:?}: {avg} bytes per key");
    }
    let avg = fill(store(cfg(Window::Ever, Aggregate::Count, 0)), |_| {
        ObsValue::None
    });
    assert!(avg <= 256.0, "ever count: {avg} bytes per key");
}

#[test]
fn approx_bytes_grows_with_buckets() {
    let mut s = store(cfg(sliding(HOUR, MIN), Aggregate::Count, 0));
    s.apply(1, obs(0, ObsValue::None), 0);
    let one = s.approx_bytes();
    for m in 1..60 {
        s.apply(1, obs(m * MIN, ObsValue::None), m * MIN);
    }
    assert!(
        s.approx_bytes() >= one + 58 * 16,
        "{} vs {one}",
        s.approx_bytes()
    );
}
