//! `POST /v1/events/batch`'s engine side: a batch decided in order under
//! the ledger lock, yielding to single events, then settled in a task of
//! its own.

use super::admission::{engine_busy, BatchPermit, BATCH_DEADLINE, BULK_WAIT};
use super::in_flight::owned;
use super::{Answer, App, Durable, Ledger};
use crate::error::ApiError;
use crate::telemetry;
use sekimori_engine::{Decision, HoldKey, Prepared};
use sekimori_rules::Action;
use std::sync::Arc;
use std::time::Instant;

impl App {
    /// Ingests a batch in order, then waits for all of it. The batch yields
    /// the engine to every single event that waits (before each of its own
    /// events); it is shed (`engine_busy`) when [`MAX_BULK`](super::MAX_BULK) batches are
    /// already admitted for longer than [`BULK_WAIT`], and the events it has
    /// not decided within [`BATCH_DEADLINE`] are answered `engine_busy`.
    pub async fn ingest_batch(
        self: &Arc<Self>,
        events: Vec<Prepared>,
        permit: BatchPermit,
    ) -> Vec<Result<Answer, ApiError>> {
        let start = Instant::now();
        let deadline = start + BATCH_DEADLINE;
        let mut waits = Vec::with_capacity(events.len());
        {
            let mut ledger = self.ledger.lock().await;
            for (i, prepared) in events.iter().enumerate() {
                if i > 0 && self.admission.single_waiting() {
                    // The lock is fair: whoever waits for it goes first.
                    drop(ledger);
                    tokio::task::yield_now().await;
                    ledger = self.ledger.lock().await;
                }
                if !self.is_ready() {
                    waits.push(Decided::Ready(Box::new(Err(ApiError::new(
                        "store_failed",
                        "the durable log failed",
                    )))));
                    continue;
                }
                if Instant::now() > deadline {
                    telemetry::shed("batch_deadline");
                    waits.push(Decided::Ready(Box::new(Err(engine_busy(
                        "the batch ran out of time behind other work; this event was not decided or stored",
                    )))));
                    continue;
                }
                waits.push(self.decide_in_order(&mut ledger, prepared, false, false));
            }
        }
        // Deciding is over: the next batch may start while this one waits for the disk.
        drop(permit);
        // Settle in a task of its own: if the client goes away, the pending
        // slots and in-flight entries are still released.
        let app = Arc::clone(self);
        let settle = tokio::spawn(async move {
            let mut out = Vec::with_capacity(waits.len());
            for (w, event) in waits.into_iter().zip(events.iter().map(Prepared::event)) {
                out.push(match w {
                    Decided::Ready(r) => *r,
                    Decided::Pending(decision, durable, placed, _) => {
                        let settled = app.settle_event(event, durable).await;
                        if settled.is_ok() {
                            app.notify(event, &decision, &placed);
                        }
                        settled.map(|()| Answer::decided(owned(decision)))
                    }
                });
            }
            out
        });
        let out = settle.await.unwrap_or_default();
        for answer in out.iter().flatten().filter(|a| !a.duplicate) {
            telemetry::decision(&answer.decision, start.elapsed(), None);
        }
        out
    }

    /// Admits one batch to the engine, or sheds it (`engine_busy`) when
    /// [`MAX_BULK`](super::MAX_BULK) batches are admitted for longer than [`BULK_WAIT`]. The
    /// route asks before it reads or decodes the body, so a shed batch costs
    /// next to nothing.
    pub async fn admit_batch(&self) -> Result<BatchPermit, ApiError> {
        let bulk = Arc::clone(&self.admission.bulk);
        match tokio::time::timeout(BULK_WAIT, bulk.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(BatchPermit { _permit: permit }),
            _ => {
                telemetry::shed("batch");
                Err(engine_busy(
                    "too many batches wait for the engine; nothing of this batch was decided or stored",
                ))
            }
        }
    }
}

/// What deciding one event of a batch or a stream gave.
pub(super) enum Decided {
    /// Answered without waiting: a refusal, a shed event, a duplicate
    /// (boxed: the rare case, and a chunk holds one per line).
    Ready(Box<Result<Answer, ApiError>>),
    /// Decided: answered (a new decision, durable) once `durable` resolves.
    /// The decision is shared with the in-flight table until then; its
    /// JSON as logged, when asked for (else empty).
    Pending(Arc<Decision>, Durable, Vec<(HoldKey, Action)>, Vec<u8>),
}

impl App {
    /// Decides one event of a batch or a stream, in order under the ledger
    /// lock, once the store is ready and the event within its time: a
    /// clock-skew refusal, the original answer of an id already decided, an
    /// admission refusal, or the decision, pending until it is durable.
    /// `absent_from_log` as [`App::original`] takes it; `json`: keep the
    /// decision's JSON as logged (`Ledger::decide_json`) for the answer.
    pub(super) fn decide_in_order(
        &self,
        ledger: &mut Ledger,
        prepared: &Prepared,
        absent_from_log: bool,
        json: bool,
    ) -> Decided {
        let event = prepared.event();
        if let Err(e) = self.check_skew(event) {
            return Decided::Ready(Box::new(Err(e)));
        }
        match self.original(ledger, event, absent_from_log) {
            Ok(Some(answer)) => Decided::Ready(Box::new(Ok(answer))),
            Err(e) => Decided::Ready(Box::new(Err(e))),
            Ok(None) => match self.admit() {
                Err(e) => Decided::Ready(Box::new(Err(e))),
                Ok(()) => {
                    let took = Instant::now();
                    let (decision, durable, json) = match json {
                        true => ledger.decide_json(prepared),
                        false => {
                            let (decision, durable) = ledger.decide(prepared);
                            (decision, durable, Vec::new())
                        }
                    };
                    self.admission.observe(took.elapsed());
                    let placed = self.placed(ledger, event, &decision);
                    let decision = Arc::new(decision);
                    self.in_flight_map()
                        .insert(&event.service, &event.id, Arc::clone(&decision));
                    Decided::Pending(decision, durable, placed, json)
                }
            },
        }
    }
}
