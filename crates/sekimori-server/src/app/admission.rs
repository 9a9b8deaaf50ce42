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

    /// Folds one decision's time into the moving average (1/16 weight).
    pub(super) fn observe(&self, took: Duration) {
        let sample = took.as_nanos().min(u128::from(u64::MAX)) as u64;
        let old = self.decide_ns.load(Ordering::Relaxed);
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
