//! Shared server state and the ingest path.
//!
//! One event: decode (in the handler) -> check the time skew -> a spawned task
//! takes the ledger lock, answers a duplicate id with the original decision or
//! decides and appends -> awaits the group commit -> the answer. The handler
//! waits for that task up to the pack's time budget; past it, it answers with
//! the pack's fallback for the event type and `durable: false`, while the task
//! still completes (a retry with the same id then returns the real decision).

use crate::error::ApiError;
use crate::keys::KeyRing;
use crate::ledger::{Durable, Ledger, LedgerError};
use crate::notices::{placed_holds, Notices};
use crate::telemetry;
use sekimori_engine::{Decision, HoldKey, PackRef, Prepared, Reason};
use sekimori_event::{format_rfc3339_ms, Event, EventKind};
use sekimori_rules::{Action, Pack};
use sekimori_store::Store;
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

mod stream;
pub use stream::{Chunk, Line, StreamPermit, MAX_STREAMS, MAX_STREAMS_PER_KEY};

/// Decided events not yet durable, past which new events are refused with
/// `overloaded` before they are decided (below the store's queue bound, so the
/// store never refuses an append and the engine never runs ahead of the log).
pub const MAX_PENDING: usize = 50_000;

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
/// How long the server's own step-up outcome (`mfa.result` from
/// `/v1/stepup/verify`) waits for its decision: it is never answered with a
/// fallback, since a degraded answer must never release a parked event.
pub const VOUCHING_WAIT: Duration = Duration::from_secs(30);

/// Admission to the engine. Single events go before bulk work: a batch
/// releases the engine lock before each of its events whenever a single event
/// waits (the lock is fair, so the waiting single goes first). Load is shed
/// before answers degrade: a batch that cannot be admitted, and a single
/// event whose wait would pass half the time budget, are refused with
/// `engine_busy` (429) and are neither decided nor stored.
#[derive(Debug)]
pub struct Admission {
    /// Single events admitted and not yet decided.
    singles: AtomicUsize,
    /// Batches deciding or waiting for the lock.
    bulk: Arc<tokio::sync::Semaphore>,
    /// Moving average of one decision's time under the lock, in nanoseconds.
    decide_ns: AtomicU64,
    /// Streams open (`POST /v1/events/stream`).
    streams: Arc<tokio::sync::Semaphore>,
    /// Streams open per key name.
    stream_keys: stream::StreamKeys,
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
    fn enter_single(self: &Arc<Self>, budget: Duration, shed: bool) -> Result<Single, ApiError> {
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
    fn single_waiting(&self) -> bool {
        self.singles.load(Ordering::SeqCst) > 0
    }

    /// Folds one decision's time into the moving average (1/16 weight).
    fn observe(&self, took: Duration) {
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
    _permit: tokio::sync::OwnedSemaphorePermit,
}

/// One admitted single event; counts as waiting until dropped.
#[derive(Debug)]
struct Single(Arc<Admission>);

impl Drop for Single {
    fn drop(&mut self) {
        self.0.singles.fetch_sub(1, Ordering::SeqCst);
    }
}

fn engine_busy(msg: &str) -> ApiError {
    ApiError::new(
        "engine_busy",
        format!("{msg}; retry with the same id after Retry-After"),
    )
}

/// How long an ingest may wait for its decision, and what answers past that.
#[derive(Clone, Copy, Debug)]
pub enum Wait {
    /// The pack's time budget; past it, the pack's fallback for the type.
    Budget,
    /// Never a fallback: wait up to this long for the engine's own decision,
    /// then fail with `overloaded`. Not shed either.
    Decision(Duration),
}

/// Settings of the server shell (not of the decision logic).
#[derive(Clone, Debug)]
pub struct AppConfig {
    /// How far ahead of this machine's clock an event time may be.
    pub max_future_skew_ms: i64,
    /// The rule-pack directory to reload on SIGHUP or `POST /v1/packs/reload`.
    pub rules_dir: Option<PathBuf>,
    /// Overrides the pack's `settings.time_budget_ms` when set.
    pub time_budget_ms: Option<u64>,
}

/// The services around the engine: step-up, secret checks, ASN enrichment,
/// webhook notices.
#[derive(Debug)]
pub struct Services {
    pub stepup: crate::stepup::StepUp,
    pub secrets: Arc<sekimori_secrets::Checker>,
    /// Fills `actor.asn` from `actor.ip` before an event is decided.
    pub asn: Option<sekimori_geo::AsnDb>,
    /// Holder notices and hold alerts (`--notify-url`).
    pub notices: Option<Notices>,
}

/// The answer to one ingested event.
#[derive(Clone, Debug, Serialize)]
pub struct Answer {
    pub decision: Decision,
    /// The id was seen before: this is the original decision.
    pub duplicate: bool,
    /// The event and decision are on disk.
    pub durable: bool,
    /// Set when the answer was given before the decision was durable:
    /// `time_budget_exceeded` (the engine had not decided in time: the
    /// pack's fallback for the type was answered) or `not_yet_durable` (the
    /// engine's own decision, answered before its fsync finished).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub degraded: Option<&'static str>,
}

#[derive(Debug)]
pub struct App {
    pub ledger: tokio::sync::Mutex<Ledger>,
    pub store: Arc<Store>,
    pub keys: KeyRing,
    pub config: AppConfig,
    pub metrics: Option<metrics_exporter_prometheus::PrometheusHandle>,
    pub stepup: crate::stepup::StepUp,
    pub secrets: Arc<sekimori_secrets::Checker>,
    pub asn: Option<sekimori_geo::AsnDb>,
    /// Holder notices and hold alerts, sent once a decision is durable.
    pub notices: Option<Notices>,
    /// Decided but not yet durable, by (service, event id): ids are unique
    /// within a service only.
    in_flight: Mutex<HashMap<(String, String), Decision>>,
    admission: Arc<Admission>,
    live: RwLock<Arc<Pack>>,
    failed: AtomicBool,
    pending: AtomicUsize,
}

impl App {
    pub fn new(ledger: Ledger, keys: KeyRing, config: AppConfig, services: Services) -> Arc<App> {
        let store = Arc::clone(ledger.store());
        let live = RwLock::new(Arc::clone(ledger.engine().pack()));
        Arc::new(App {
            ledger: tokio::sync::Mutex::new(ledger),
            store,
            keys,
            config,
            metrics: None,
            stepup: services.stepup,
            secrets: services.secrets,
            asn: services.asn,
            notices: services.notices,
            in_flight: Mutex::new(HashMap::new()),
            admission: Arc::new(Admission::default()),
            live,
            failed: AtomicBool::new(false),
            pending: AtomicUsize::new(0),
        })
    }

    pub fn with_metrics(
        mut self: Arc<Self>,
        handle: metrics_exporter_prometheus::PrometheusHandle,
    ) -> Arc<Self> {
        if let Some(app) = Arc::get_mut(&mut self) {
            app.metrics = Some(handle);
        }
        self
    }

    pub fn live_pack(&self) -> Arc<Pack> {
        Arc::clone(&self.live.read().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn set_live(&self, pack: Arc<Pack>) {
        *self.live.write().unwrap_or_else(|p| p.into_inner()) = pack;
    }

    pub fn is_ready(&self) -> bool {
        !self.failed.load(Ordering::SeqCst) && !self.store.is_failed()
    }

    /// Marks the log failed: nothing more is accepted until a restart.
    pub fn fail(&self, e: &dyn std::fmt::Display) {
        if !self.failed.swap(true, Ordering::SeqCst) {
            telemetry::store_failed(e);
        }
    }

    fn check_skew(&self, event: &Event) -> Result<(), ApiError> {
        self.check_at_ms(event.at_ms)
    }

    /// Parses a request's `at` (RFC 3339) and applies the events' future-skew
    /// rule to it: the time every step-up verification uses.
    pub fn check_at(&self, at: &str) -> Result<i64, ApiError> {
        let at_ms = sekimori_event::parse_rfc3339_ms(at).ok_or_else(|| {
            ApiError::new("invalid_value", "must be an RFC 3339 timestamp").at("at")
        })?;
        self.check_at_ms(at_ms)?;
        Ok(at_ms)
    }

    fn check_at_ms(&self, at_ms: i64) -> Result<(), ApiError> {
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        if at_ms > now_ms.saturating_add(self.config.max_future_skew_ms) {
            let msg = format!(
                "event time is more than {} s ahead of the server clock; a future time would expire every window early",
                self.config.max_future_skew_ms / 1000
            );
            return Err(ApiError::new("event_in_future", msg).at("at"));
        }
        Ok(())
    }

    /// Fills `actor.asn` from `actor.ip` when an ASN database is configured
    /// and the sender gave no ASN. Called before the event is logged, so the
    /// log holds the enriched event and replays need no database.
    pub fn enrich(&self, event: &mut Event) {
        let (Some(db), None, Some(ip)) = (&self.asn, event.actor.asn, event.actor.ip) else {
            return;
        };
        event.actor.asn = db.lookup(ip).map(|a| a.number);
    }

    /// Ingests one event within the pack's time budget.
    pub async fn ingest(self: &Arc<Self>, event: Event) -> Result<Answer, ApiError> {
        self.ingest_with(event, Wait::Budget).await
    }

    /// Ingests one event. With [`Wait::Budget`], past the pack's time budget
    /// the answer is the engine's decision if it was made (`not_yet_durable`)
    /// and otherwise the pack's fallback for the type (`time_budget_exceeded`);
    /// the event is still decided and logged.
    pub async fn ingest_with(
        self: &Arc<Self>,
        event: Event,
        wait: Wait,
    ) -> Result<Answer, ApiError> {
        let start = Instant::now();
        if !self.is_ready() {
            return Err(ApiError::new(
                "store_failed",
                "the durable log failed; the server accepts nothing until restarted",
            ));
        }
        self.check_skew(&event)?;
        let pack = self.live_pack();
        let budget_ms = self
            .config
            .time_budget_ms
            .unwrap_or(pack.settings.time_budget_ms);
        let budget = match wait {
            Wait::Budget => Duration::from_millis(budget_ms),
            Wait::Decision(d) => d,
        };
        let ticket = self
            .admission
            .enter_single(budget, matches!(wait, Wait::Budget))?;
        let app = Arc::clone(self);
        // What a fallback answer names (never a copy of the whole event).
        let (fallback_id, kind, at_ms) = (event.id.clone(), event.kind, event.at_ms);
        let (decided_tx, mut decided_rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move { app.decide_durably(event, ticket, decided_tx).await });
        let answer = match tokio::time::timeout(budget, task).await {
            Ok(Ok(result)) => result?,
            Ok(Err(join)) => return Err(ApiError::internal(join)),
            Err(_) => match (decided_rx.try_recv(), wait) {
                // Decided, not yet on disk: the engine's own answer.
                (Ok(decision), _) => Answer {
                    decision,
                    duplicate: false,
                    durable: false,
                    degraded: Some("not_yet_durable"),
                },
                (Err(_), Wait::Budget) => fallback(&pack, budget_ms, fallback_id, kind, at_ms),
                (Err(_), Wait::Decision(_)) => {
                    return Err(ApiError::new(
                        "overloaded",
                        "the engine did not decide in time; the event will still be decided: read it with GET /v1/decisions/{event_id}",
                    ))
                }
            },
        };
        if !answer.duplicate {
            telemetry::decision(&answer.decision, start.elapsed(), answer.degraded);
        }
        Ok(answer)
    }

    /// Decides (or finds the original decision) and waits until it is durable.
    /// The decision goes to `decided` as soon as it is made, so a caller past
    /// its budget answers the engine's decision rather than a fallback.
    async fn decide_durably(
        self: Arc<Self>,
        event: Event,
        ticket: Single,
        decided: tokio::sync::oneshot::Sender<Decision>,
    ) -> Result<Answer, ApiError> {
        let prepared = Prepared::new(event);
        let event = prepared.event();
        let (decision, durable, placed) = {
            let mut ledger = self.ledger.lock().await;
            if let Some(answer) = self.original(&ledger, event)? {
                return Ok(answer);
            }
            self.admit()?;
            let took = Instant::now();
            let (decision, durable) = ledger.decide(&prepared);
            self.admission.observe(took.elapsed());
            drop(ticket);
            let placed = self.placed(&ledger, event, &decision);
            self.in_flight_map()
                .insert(in_flight_key(event), decision.clone());
            (decision, durable, placed)
        };
        let _ = decided.send(decision.clone());
        self.settle_event(in_flight_key(event), durable).await?;
        self.notify(event, &decision, &placed);
        Ok(Answer {
            decision,
            duplicate: false,
            durable: true,
            degraded: None,
        })
    }

    /// The holds a decision just placed, when notices are on (under the ledger lock).
    fn placed(
        &self,
        ledger: &Ledger,
        event: &Event,
        decision: &Decision,
    ) -> Vec<(HoldKey, Action)> {
        match &self.notices {
            Some(_) => placed_holds(ledger.engine(), event, decision),
            None => Vec::new(),
        }
    }

    /// Queues the notices of a durable decision (never blocks).
    fn notify(&self, event: &Event, decision: &Decision, placed: &[(HoldKey, Action)]) {
        if let Some(n) = &self.notices {
            n.decided(event, decision, placed);
        }
    }

    /// Stops the notifier, giving queued notices `grace` (graceful shutdown).
    pub async fn shutdown_notices(self: &Arc<Self>, grace: Duration) {
        if self.notices.is_none() {
            return;
        }
        let app = Arc::clone(self);
        let stopped = tokio::task::spawn_blocking(move || {
            if let Some(n) = &app.notices {
                n.shutdown(grace);
            }
        })
        .await;
        if let Err(e) = stopped {
            tracing::error!(error = %e, "notifier shutdown failed");
        }
    }

    /// Waits for a decided event's entry, then releases its pending slot and in-flight entry.
    async fn settle_event(&self, key: (String, String), durable: Durable) -> Result<(), ApiError> {
        let result = self.settle(durable).await;
        self.pending.fetch_sub(1, Ordering::SeqCst);
        self.in_flight_map().remove(&key);
        result
    }

    /// Waits until submitted entries are durable; a failure stops the server
    /// from accepting anything more.
    pub async fn settle(&self, durable: Durable) -> Result<(), ApiError> {
        let error = match durable.await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => e,
            Err(_) => sekimori_store::StoreError::Failed,
        };
        self.fail(&error);
        Err(ApiError::new(
            "store_failed",
            "the durable log failed; this was not accepted",
        ))
    }

    /// The original decision for an id this event's service sent before: in
    /// flight or on disk. Ids are unique within a service: another service's
    /// event with the same id is another event, and its decision is never
    /// answered here.
    fn original(&self, ledger: &Ledger, event: &Event) -> Result<Option<Answer>, ApiError> {
        let in_flight = self.in_flight_map().get(&in_flight_key(event)).cloned();
        let (found, durable) = match in_flight {
            Some(d) => (Some(d), false),
            None => (
                ledger
                    .logged_decision(&event.service, &event.id)
                    .map_err(ApiError::internal)?,
                true,
            ),
        };
        let Some(decision) = found else {
            return Ok(None);
        };
        telemetry::duplicate();
        Ok(Some(Answer {
            decision,
            duplicate: true,
            durable,
            degraded: None,
        }))
    }

    /// Ingests a batch in order, then waits for all of it. The batch yields
    /// the engine to every single event that waits (before each of its own
    /// events); it is shed (`engine_busy`) when [`MAX_BULK`] batches are
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
                let event = prepared.event();
                if i > 0 && self.admission.single_waiting() {
                    // The lock is fair: whoever waits for it goes first.
                    drop(ledger);
                    tokio::task::yield_now().await;
                    ledger = self.ledger.lock().await;
                }
                if !self.is_ready() {
                    waits.push(Err(ApiError::new("store_failed", "the durable log failed")));
                    continue;
                }
                if Instant::now() > deadline {
                    telemetry::shed("batch_deadline");
                    waits.push(Err(engine_busy(
                        "the batch ran out of time behind other work; this event was not decided or stored",
                    )));
                    continue;
                }
                if let Err(e) = self.check_skew(event) {
                    waits.push(Err(e));
                    continue;
                }
                match self.original(&ledger, event) {
                    Ok(Some(answer)) => waits.push(Ok((answer, None))),
                    Err(e) => waits.push(Err(e)),
                    Ok(None) => match self.admit() {
                        Err(e) => waits.push(Err(e)),
                        Ok(()) => {
                            let took = Instant::now();
                            let (decision, durable) = ledger.decide(prepared);
                            self.admission.observe(took.elapsed());
                            let placed = self.placed(&ledger, event, &decision);
                            self.in_flight_map()
                                .insert(in_flight_key(event), decision.clone());
                            let answer = Answer {
                                decision,
                                duplicate: false,
                                durable: true,
                                degraded: None,
                            };
                            waits.push(Ok((answer, Some((durable, placed)))));
                        }
                    },
                }
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
                    Err(e) => Err(e),
                    Ok((answer, None)) => Ok(answer),
                    Ok((answer, Some((durable, placed)))) => {
                        let settled = app.settle_event(in_flight_key(event), durable).await;
                        if settled.is_ok() {
                            app.notify(event, &answer.decision, &placed);
                        }
                        settled.map(|()| answer)
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
    /// [`MAX_BULK`] batches are admitted for longer than [`BULK_WAIT`]. The
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

    /// Counts one more pending event, or refuses it when too many wait.
    fn admit(&self) -> Result<(), ApiError> {
        if self.pending.fetch_add(1, Ordering::SeqCst) >= MAX_PENDING {
            self.pending.fetch_sub(1, Ordering::SeqCst);
            return Err(ApiError::new(
                "overloaded",
                "too many decided events wait for the disk; retry with the same id",
            ));
        }
        Ok(())
    }

    fn in_flight_map(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Decision>> {
        self.in_flight.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Writes a snapshot and waits for it (graceful shutdown).
    pub async fn snapshot(&self) -> Result<(), LedgerError> {
        if !self.is_ready() {
            // The log may end before the engine's state: a snapshot would lie.
            return Ok(());
        }
        let durable = self.ledger.lock().await.snapshot();
        durable
            .await
            .map_err(|_| sekimori_store::StoreError::Failed)?
            .map_err(LedgerError::from)
    }
}

/// An event's key in the in-flight table: (service, id).
fn in_flight_key(event: &Event) -> (String, String) {
    (event.service.clone(), event.id.clone())
}

/// The answer when the time budget ran out: the pack's fallback for the
/// type of the event `id` of `kind` at `at_ms`.
fn fallback(pack: &Pack, budget_ms: u64, id: String, kind: EventKind, at_ms: i64) -> Answer {
    let mut action = pack.settings.fallback_for(kind);
    let mut methods = Vec::new();
    if action == Action::Challenge {
        // The methods the pack's own rules step this type up with; a pack
        // that has none for the type (only possible through `default`)
        // holds the event for review instead.
        methods = sekimori_rules::fallback_methods(&pack.rules, kind);
        if methods.is_empty() {
            action = Action::Review;
        }
    }
    let reason = Reason {
        rule: "budget.fallback".into(),
        action: action.into(),
        score: 0,
        reason: format!(
            "no decision within the {} ms budget; the pack's fallback for {} applies",
            budget_ms, kind
        ),
        shadow: false,
        methods: methods.clone(),
        hold: None,
    };
    let decision = Decision {
        event_id: id,
        event_type: kind.as_str().into(),
        at: format_rfc3339_ms(at_ms),
        action,
        methods,
        score: 0,
        reasons: vec![reason],
        features: Default::default(),
        pack: PackRef {
            name: pack.name().into(),
            version: pack.version().into(),
        },
        late: false,
        errors: Vec::new(),
    };
    Answer {
        decision,
        duplicate: false,
        durable: false,
        degraded: Some("time_budget_exceeded"),
    }
}

#[cfg(test)]
mod tests {
    use super::fallback;
    use sekimori_rules::{compile, Action};
    use serde_json::json;

    #[test]
    fn past_the_budget_each_type_gets_the_packs_fallback() {
        let pack = compile(crate::embedded::default_pack().expect("pack")).expect("compiles");
        let cases = [
            (
                json!({"type": "login.attempt", "account": "a", "factor": "passkey", "result": "success"}),
                Action::Challenge,
            ),
            (
                json!({"type": "mfa.result", "account": "a", "method": "totp", "challenge_id": "c",
                    "result": "success"}),
                Action::Review,
            ),
            (
                json!({"type": "wallet.outflow", "wallet": "w", "stage": "signing", "amount_minor": 1,
                    "currency": "XEM", "address": "N1"}),
                Action::Deny,
            ),
            (
                json!({"type": "transfer", "account": "a", "amount_minor": 1, "currency": "JPY",
                    "destination": {"kind": "account", "account": "b"}}),
                Action::Review,
            ),
        ];
        for (mut body, want) in cases {
            body["id"] = json!("x");
            body["at"] = json!("2026-01-01T00:00:00Z");
            body["service"] = json!("s");
            let event = sekimori_event::decode_value(body).expect("valid");
            let answer = fallback(
                &pack,
                pack.settings.time_budget_ms,
                event.id.clone(),
                event.kind,
                event.at_ms,
            );
            assert_eq!(answer.decision.action, want, "{}", event.kind);
            assert_eq!(
                (answer.durable, answer.degraded),
                (false, Some("time_budget_exceeded"))
            );
            assert_eq!(answer.decision.reasons[0].rule, "budget.fallback");
            // A challenge offers the methods the pack's own rules step the type up with.
            assert_eq!(
                answer.decision.methods.is_empty(),
                want != Action::Challenge,
                "{}",
                event.kind
            );
        }
    }
}
