//! Window and configuration validation, and the default resolution rule.

mod common;

use common::{cfg, sliding, HOUR, MIN, SEC};
use sekimori_window::{Aggregate, FeatureStore, Window, WindowError};

#[test]
fn sliding_validation() {
    assert!(Window::sliding(HOUR, MIN).is_ok());
    assert!(Window::sliding(90 * 24 * HOUR, 90 * MIN).is_ok());
    let e = Window::sliding(1_500, 1_000).expect_err("not a multiple");
    assert_eq!(
        e.to_string(),
        "window length 1500 ms is not a multiple of its resolution 1000 ms"
    );
    assert!(matches!(
        Window::sliding(10_000, 500),
        Err(WindowError::ResolutionTooFine { .. })
    ));
    assert!(matches!(
        Window::sliding(0, 1_000),
        Err(WindowError::NonPositiveLength { .. })
    ));
    assert!(matches!(
        Window::sliding(-SEC, SEC),
        Err(WindowError::NonPositiveLength { .. })
    ));
    assert!(matches!(
        Window::sliding(91 * 24 * HOUR, HOUR),
        Err(WindowError::TooLong { .. })
    ));
    assert!(matches!(
        Window::sliding(1_441 * SEC, SEC),
        Err(WindowError::TooManyBuckets { buckets: 1_441, .. })
    ));
    assert!(Window::sliding(1_440 * SEC, SEC).is_ok());
}

#[test]
fn default_resolution_rule() {
    let res = |len: i64| match Window::sliding_default(len) {
        Ok(Window::Sliding { resolution_ms, .. }) => Ok(resolution_ms),
        Ok(Window::Ever) => unreachable!(),
        Err(e) => Err(e),
    };
    assert_eq!(res(HOUR), Ok(MIN));
    assert_eq!(res(24 * HOUR), Ok(24 * MIN));
    assert_eq!(res(90 * 24 * HOUR), Ok(36 * HOUR));
    assert_eq!(res(30 * SEC), Ok(SEC), "length/60 < 1 s falls back to 1 s");
    assert_eq!(
        res(61 * SEC),
        Ok(SEC),
        "largest whole-second divisor <= 1.016 s"
    );
    assert_eq!(res(7 * MIN), Ok(7 * SEC));
    assert_eq!(res(100 * MIN), Ok(100 * SEC));
    assert_eq!(
        res(121 * MIN),
        Ok(121 * SEC),
        "7260 s: largest divisor <= 121 s"
    );
    assert!(matches!(res(1_500), Err(WindowError::NotMultiple { .. })));
    assert!(
        matches!(res(7_919 * SEC), Err(WindowError::TooManyBuckets { .. })),
        "prime"
    );
    assert!(matches!(res(0), Err(WindowError::NonPositiveLength { .. })));
}

#[test]
fn config_validation() {
    let ok = cfg(sliding(HOUR, MIN), Aggregate::Count, 0);
    assert!(FeatureStore::new(ok).is_ok());
    let bad_window = cfg(
        Window::Sliding {
            length_ms: 1_500,
            resolution_ms: 1_000,
        },
        Aggregate::Count,
        0,
    );
    assert!(matches!(
        FeatureStore::new(bad_window),
        Err(WindowError::NotMultiple { .. })
    ));
    let zero_keys = sekimori_window::FeatureConfig { max_keys: 0, ..ok };
    assert_eq!(FeatureStore::new(zero_keys), Err(WindowError::ZeroMaxKeys));
    let late = cfg(Window::Ever, Aggregate::Count, -1);
    assert!(matches!(
        FeatureStore::new(late),
        Err(WindowError::NegativeLateness { .. })
    ));
    let big = cfg(
        Window::Ever,
        Aggregate::DistinctCount {
            exact_limit: 100_001,
        },
        0,
    );
    assert!(matches!(
        FeatureStore::new(big),
        Err(WindowError::ExactLimitTooLarge { .. })
    ));
    let max = cfg(
        Window::Ever,
        Aggregate::DistinctCount {
            exact_limit: 100_000,
        },
        0,
    );
    assert!(FeatureStore::new(max).is_ok());
}
