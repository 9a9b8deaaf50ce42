//! Open-loop timing: due times, latency histograms and their summaries.

use super::*;

/// The largest latency recorded, in microseconds (one hour).
pub(super) const MAX_LATENCY_US: u64 = 3_600_000_000;
/// How long a step may run past its last due request before what is still
/// unanswered counts as timed out: at least this, at least the step's length.
pub(super) const MIN_GRACE: Duration = Duration::from_secs(5);

/// An empty latency histogram (microseconds, 3 significant digits).
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("static histogram bounds are valid")
}

pub(super) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// When request `i` is due, as an offset from the step's start, at `rate`
/// requests per second: exactly `i / rate` seconds, in nanoseconds.
pub fn due_offset(i: u64, rate: u64) -> Duration {
    let ns = u128::from(i) * 1_000_000_000 / u128::from(rate.max(1));
    Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
}

/// The number of requests in `seconds` at `rate` per second (rounded up).
pub fn requests_in(seconds: f64, rate: u64) -> u64 {
    (seconds.max(0.0) * rate as f64).ceil() as u64
}

/// The usual summary of a latency histogram (microseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// 99.99th percentile.
    pub p9999: u64,
    /// Largest.
    pub max: u64,
    /// Mean, rounded.
    pub mean: u64,
}

impl Summary {
    /// Extracts the summary from `h`.
    pub fn of(h: &Histogram<u64>) -> Summary {
        Summary {
            count: h.len(),
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            p9999: h.value_at_quantile(0.9999),
            max: h.max(),
            mean: h.mean().round() as u64,
        }
    }
}
