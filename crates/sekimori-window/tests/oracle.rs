//! Random event sequences through `FeatureStore` and a naive oracle that keeps every
//! (clamped) event and recomputes each aggregate from its definition.

mod common;

use common::{cfg, obs, sliding, store, SEC};
use proptest::prelude::*;
use sekimori_window::{Aggregate, FeatureConfig, ObsValue, Reading, Window};

const KEYS: u8 = 4;

/// Every clamped event that contributes to the aggregate, recomputed on each read.
struct Oracle {
    config: FeatureConfig,
    events: Vec<(u128, i64, ObsValue)>,
}

impl Oracle {
    fn in_window(&self, at: i64, now: i64) -> bool {
        match self.config.window {
            Window::Ever => true,
            Window::Sliding {
                length_ms,
                resolution_ms,
            } => {
                let n = length_ms / resolution_ms;
                let (b, end) = (at.div_euclid(resolution_ms), now.div_euclid(resolution_ms));
                end - n < b && b <= end
            }
        }
    }

    fn eval(&self, key: u128, now: i64) -> Reading {
        let live: Vec<(i64, ObsValue)> = self
            .events
            .iter()
            .filter(|e| e.0 == key && self.in_window(e.1, now))
            .map(|e| (e.1, e.2))
            .collect();
        let ints = || {
            live.iter().filter_map(|e| match e.1 {
                ObsValue::Int(v) => Some(v),
                _ => None,
            })
        };
        let opt = |v: Option<i64>| v.map_or(Reading::Null, Reading::Int);
        match self.config.aggregate {
            Aggregate::Count => Reading::Int(live.len() as i64),
            Aggregate::Sum => {
                let s: i128 = ints().map(i128::from).sum();
                Reading::Int(s.clamp(i64::MIN.into(), i64::MAX.into()) as i64)
            }
            Aggregate::Min => opt(ints().min()),
            Aggregate::Max => opt(ints().max()),
            Aggregate::FirstSeen => opt(live.iter().map(|e| e.0).min()),
            Aggregate::LastSeen => opt(live.iter().map(|e| e.0).max()),
            Aggregate::DistinctCount { .. } => {
                let mut hashes: Vec<u64> = live
                    .iter()
                    .filter_map(|e| match e.1 {
                        ObsValue::Hash(h) => Some(h),
                        _ => None,
                    })
                    .collect();
                hashes.sort_unstable();
                hashes.dedup();
                Reading::Int(hashes.len() as i64)
            }
            // Updated only through `apply_edge` (tests/graph.rs).
            Aggregate::Graph => Reading::Null,
        }
    }

    /// Applies one event and returns what `FeatureStore::apply` must return.
    fn apply(&mut self, key: u128, at: i64, value: ObsValue, now: i64) -> Reading {
        let at = at.max(now - self.config.lateness_ms).min(now);
        let fits = matches!(
            (self.config.aggregate, value),
            (
                Aggregate::Count | Aggregate::FirstSeen | Aggregate::LastSeen,
                _
            ) | (
                Aggregate::Sum | Aggregate::Min | Aggregate::Max,
                ObsValue::Int(_)
            ) | (Aggregate::DistinctCount { .. }, ObsValue::Hash(_))
        );
        let before = self.eval(key, now);
        if fits {
            self.events.push((key, at, value));
        }
        match self.config.aggregate {
            Aggregate::LastSeen => before,
            _ => self.eval(key, now),
        }
    }
}

fn config_strategy() -> impl Strategy<Value = FeatureConfig> {
    let window = prop_oneof![
        Just(sliding(60 * SEC, 10 * SEC)),
        Just(sliding(10 * SEC, SEC)),
        Just(sliding(5 * 60 * SEC, 60 * SEC)),
        Just(Window::Ever),
    ];
    let aggregate = prop_oneof![
        Just(Aggregate::Count),
        Just(Aggregate::Sum),
        Just(Aggregate::Min),
        Just(Aggregate::Max),
        Just(Aggregate::DistinctCount {
            exact_limit: 100_000
        }),
        Just(Aggregate::FirstSeen),
        Just(Aggregate::LastSeen),
    ];
    let lateness = prop_oneof![Just(0), Just(5 * SEC), Just(30 * SEC), Just(120 * SEC)];
    (window, aggregate, lateness).prop_map(|(w, a, l)| cfg(w, a, l))
}

/// (key, kind, delta, value, value kind)
type Step = (u8, u8, i64, i64, u8);

fn step_strategy() -> impl Strategy<Value = Step> {
    let value = prop_oneof![
        8 => -1_000i64..1_000,
        1 => Just(i64::MAX),
        1 => Just(i64::MIN),
    ];
    (0..KEYS, 0u8..10, 0i64..200_000, value, 0u8..10)
}

/// Event time and value for one step, given the watermark before it.
fn event(config: &FeatureConfig, watermark: i64, step: Step) -> (i64, ObsValue) {
    let (_, kind, delta, v, vkind) = step;
    let at = match kind {
        0..=6 => watermark + delta / 8,                        // forward
        7 | 8 => watermark - delta % (config.lateness_ms + 1), // late, within lateness
        _ => watermark - delta,                                // possibly beyond lateness
    };
    let value = match (vkind, config.aggregate) {
        (0, _) => ObsValue::None,
        (1, _) => ObsValue::Int(v),
        (_, Aggregate::DistinctCount { .. }) | (2, _) => ObsValue::Hash(v.unsigned_abs() % 13),
        _ => ObsValue::Int(v),
    };
    (at, value)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn store_matches_oracle(config in config_strategy(), steps in prop::collection::vec(step_strategy(), 1..150)) {
        let mut s = store(config);
        let mut oracle = Oracle { config, events: Vec::new() };
        let mut watermark = 1_000_000;
        for step in steps {
            let (at, value) = event(&config, watermark, step);
            watermark = watermark.max(at);
            let key = u128::from(step.0);
            let got = s.apply(key, obs(at, value), watermark);
            let want = oracle.apply(key, at, value, watermark);
            prop_assert_eq!(got.reading, want, "apply key {} at {} now {}", key, at, watermark);
            prop_assert!(!got.approximate);
            for k in 0..u128::from(KEYS) {
                for now in [watermark, watermark + 7 * SEC] {
                    prop_assert_eq!(s.read(k, now).reading, oracle.eval(k, now), "read key {} now {}", k, now);
                }
            }
        }
        prop_assert_eq!(s.evicted_total(), 0);
    }
}
