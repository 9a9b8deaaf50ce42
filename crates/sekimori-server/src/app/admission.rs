//! Admission to the engine: single events before bulk work, load shed
//! before answers degrade.

use super::stream;
use crate::error::ApiError;
use crate::telemetry;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Batches admitted to the engine at once; more wait up to [`BULK_WAIT`],
/// then are shed with `engine_busy`.
pub const MAX_BULK: usize = 2;
/// How long a batch waits for admission before it is shed.
pub const BULK_WAIT: Duration = Duration::from_secs(1);
/// How long one batch may take to be decided; the events not decided by then
/// are answered `engine_busy` (not decided, not stored: send them again).
pub const BATCH_DEADLINE: Duration = Duration::from_secs(10);
/// A single event is shed when the decisions queued before it would take more
/// than this share of the time budget (in percent).
pub const SHED_AT_BUDGET_PERCENT: u64 = 50;
/// The most one decision's time counts in the average, as a multiple of
/// the average ([`Admission::observe`]).
pub const OUTLIER_FACTOR: u64 = 4;
/// Admission to the engine. Single events go before bulk work: a batch
/// releases the engine lock before each of its events whenever a single event
/// waits (the lock is fair, so the waiting single goes first). Load is shed
/// before answers degrade: a batch that cannot be admitted, and a single
/// event whose wait would pass half the time budget, are refused with
/// `engine_busy` (429) and are neither decided nor stored.
#[derive(Debug)]
pub struct Admission {
    /// Single events admitted and not yet decided.
    pub(super) singles: AtomicUsize,
    /// Batches deciding or waiting for the lock.
    pub(super) bulk: Arc<tokio::sync::Semaphore>,
    /// Moving average of one decision's time under the lock, in nanoseconds.
    pub(super) decide_ns: AtomicU64,
    /// Streams open (`POST /v1/events/stream`).
    pub(super) streams: Arc<tokio::sync::Semaphore>,
    /// Streams open per key name.
    pub(super) stream_keys: stream::StreamKeys,
}

impl Default for Admission {
    fn default() -> Self {
        Admission {
            singles: AtomicUsize::new(0),
            bulk: Arc::new(tokio::sync::Semaphore::new(MAX_BULK)),
            decide_ns: AtomicU64::new(20_000),
            streams: Arc::new(tokio::sync::Semaphore::new(stream::MAX_STREAMS)),
            stream_keys: Default::default(),
        }
    }
}

impl Admission {
    /// Admits one single event, or sheds it when the queue ahead of it would
    /// take more than [`SHED_AT_BUDGET_PERCENT`] of `budget`. `shed: false`
    /// admits it whatever the queue (the server's own step-up outcomes).
    pub(super) fn enter_single(
        self: &Arc<Self>,
        budget: Duration,
        shed: bool,
    ) -> Result<Single, ApiError> {
        let ahead = self.singles.fetch_add(1, Ordering::SeqCst) as u64;
        let wait_ns = ahead.saturating_mul(self.decide_ns.load(Ordering::Relaxed));
        let limit_ns = (budget.as_nanos() as u64).saturating_mul(SHED_AT_BUDGET_PERCENT) / 100;
        let ticket = Single(Arc::clone(self));
        if shed && wait_ns > limit_ns {
            telemetry::shed("single");
            return Err(engine_busy(
                "the engine is saturated; this event was not decided or stored",
            ));
        }
        Ok(ticket)
    }

    /// Whether a single event waits for the engine.
    pub(super) fn single_waiting(&self) -> bool {
        self.singles.load(Ordering::SeqCst) > 0
    }

    /// Folds one decision's time into the moving average (1/16 weight),
    /// counting a sample at most [`OUTLIER_FACTOR`] times the average: the
    /// average prices every event queued, so one slow decision (a sweep of
    /// a store, a long cycle search) taken at full weight would be
    /// multiplied by the queue it caused and shed events that would wait
    /// far less than the limit. A sustained slowdown still lifts the
    /// average, by up to 3/16 a decision.
    pub(super) fn observe(&self, took: Duration) {
        let sample = took.as_nanos().min(u128::from(u64::MAX)) as u64;
        let old = self.decide_ns.load(Ordering::Relaxed);
        let sample = sample.min(old.saturating_mul(OUTLIER_FACTOR));
        let new = old - old / 16 + sample / 16;
        self.decide_ns.store(new.max(1), Ordering::Relaxed);
    }
}

/// A batch's admission to the engine ([`App::admit_batch`]); released when
/// the batch is decided.
#[derive(Debug)]
pub struct BatchPermit {
    /// Held, never read: dropping it admits the next batch.
    pub(super) _permit: tokio::sync::OwnedSemaphorePermit,
}

/// One admitted single event; counts as waiting until dropped.
#[derive(Debug)]
pub(super) struct Single(Arc<Admission>);

impl Drop for Single {
    fn drop(&mut self) {
        self.0.singles.fetch_sub(1, Ordering::SeqCst);
    }
}

pub(super) fn engine_busy(msg: &str) -> ApiError {
    ApiError::new(
        "engine_busy",
        format!("{msg}; retry with the same id after Retry-After"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission_after(samples: &[(u64, u32)]) -> Arc<Admission> {
        let a = Arc::new(Admission::default());
        for &(ns, n) in samples {
            for _ in 0..n {
                a.observe(Duration::from_nanos(ns));
            }
        }
        a
    }

    /// 20 events queued behind a 40 µs engine wait about 0.8 ms, far below
    /// half a 50 ms budget: one 20 ms decision among them must not shed
    /// the next event (at full weight it made the average 1.3 ms, and 20
    /// of those 26 ms).
    #[test]
    fn one_slow_decision_does_not_shed_a_short_queue() {
        let a = admission_after(&[(40_000, 200), (20_000_000, 1)]);
        let budget = Duration::from_millis(50);
        let queued: Vec<Single> = (0..20)
            .map(|_| a.enter_single(budget, false).expect("unshed"))
            .collect();
        assert!(
            a.enter_single(budget, true).is_ok(),
            "average {} ns",
            a.decide_ns.load(Ordering::Relaxed)
        );
        drop(queued);
    }

    /// A slowdown that lasts still lifts the average to the new cost, and a
    /// long queue behind it is shed.
    #[test]
    fn a_sustained_slowdown_is_priced_and_sheds() {
        let a = admission_after(&[(40_000, 200), (2_000_000, 200)]);
        let avg = a.decide_ns.load(Ordering::Relaxed);
        assert!((1_900_000..=2_000_000).contains(&avg), "average {avg} ns");
        let budget = Duration::from_millis(50);
        let queued: Vec<Single> = (0..14)
            .map(|_| a.enter_single(budget, false).expect("unshed"))
            .collect();
        assert!(a.enter_single(budget, true).is_err(), "14 x 1.9 ms > 25 ms");
        drop(queued);
    }
}
