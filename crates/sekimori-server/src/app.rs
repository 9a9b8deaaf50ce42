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
use sekimori_engine::{Decision, HoldKey, Prepared};
use sekimori_event::Event;
use sekimori_rules::{Action, Pack};
use sekimori_store::Store;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

mod admission;
mod answer;
mod batch;
mod fallback;
mod in_flight;
mod stream;
use admission::{engine_busy, Single};
pub use admission::{
    Admission, BatchPermit, BATCH_DEADLINE, BULK_WAIT, MAX_BULK, SHED_AT_BUDGET_PERCENT,
};
pub use answer::Answer;
pub(crate) use answer::AnswerRef;
use fallback::fallback;
use in_flight::{owned, InFlight};
pub use stream::{Chunk, Line, StreamPermit, Tenant, MAX_STREAMS, MAX_STREAMS_PER_TENANT};

/// Decided events not yet durable, past which new events are refused with
/// `overloaded` before they are decided (below the store's queue bound, so the
/// store never refuses an append and the engine never runs ahead of the log).
pub const MAX_PENDING: usize = 50_000;

/// How long the server's own step-up outcome (`mfa.result` from
/// `/v1/stepup/verify`) waits for its decision: it is never answered with a
/// fallback, since a degraded answer must never release a parked event.
pub const VOUCHING_WAIT: Duration = Duration::from_secs(30);

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

/// Where a single event's task puts its decision as soon as it is made,
/// for its caller past the time budget.
type DecidedSlot = Arc<Mutex<Option<Arc<Decision>>>>;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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
    in_flight: Mutex<InFlight>,
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
            in_flight: Mutex::new(InFlight::default()),
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
        let decided = DecidedSlot::default();
        let slot = Arc::clone(&decided);
        let task = tokio::spawn(async move { app.decide_durably(event, ticket, slot).await });
        let answer = match tokio::time::timeout(budget, task).await {
            Ok(Ok(result)) => result?,
            Ok(Err(join)) => return Err(ApiError::internal(join)),
            Err(_) => match (lock(&decided).clone(), wait) {
                // Decided, not yet on disk: the engine's own answer.
                (Some(decision), _) => Answer {
                    decision: (*decision).clone(),
                    duplicate: false,
                    durable: false,
                    degraded: Some("not_yet_durable"),
                },
                (None, Wait::Budget) => fallback(&pack, budget_ms, fallback_id, kind, at_ms),
                (None, Wait::Decision(_)) => {
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
    /// its budget answers the engine's decision rather than a fallback; it is
    /// taken back once durable (the answer then owns it without a copy).
    async fn decide_durably(
        self: Arc<Self>,
        event: Event,
        ticket: Single,
        decided: DecidedSlot,
    ) -> Result<Answer, ApiError> {
        let prepared = Prepared::new(event);
        let event = prepared.event();
        let queued = Instant::now();
        let (decision, durable, placed, lock_wait, engine) = {
            let mut ledger = self.ledger.lock().await;
            let lock_wait = queued.elapsed();
            if let Some(answer) = self.original(&ledger, event, false)? {
                return Ok(answer);
            }
            self.admit()?;
            let took = Instant::now();
            let (decision, durable) = ledger.decide(&prepared);
            let engine = took.elapsed();
            self.admission.observe(engine);
            drop(ticket);
            let placed = self.placed(&ledger, event, &decision);
            let decision = Arc::new(decision);
            self.in_flight_map()
                .insert(&event.service, &event.id, Arc::clone(&decision));
            (decision, durable, placed, lock_wait, engine)
        };
        // Shared, not copied: the caller past its budget copies it then.
        *lock(&decided) = Some(Arc::clone(&decision));
        let waiting = Instant::now();
        let settled = self.settle_event(event, durable).await;
        lock(&decided).take();
        settled?;
        telemetry::single_stages(lock_wait, engine, waiting.elapsed());
        self.notify(event, &decision, &placed);
        Ok(Answer::decided(owned(decision)))
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
    async fn settle_event(&self, event: &Event, durable: Durable) -> Result<(), ApiError> {
        let result = self.settle(durable).await;
        self.pending.fetch_sub(1, Ordering::SeqCst);
        self.in_flight_map().remove(&event.service, &event.id);
        result
    }

    /// Waits until submitted entries are durable; a failure stops the server
    /// from accepting anything more.
    pub async fn settle(&self, durable: Durable) -> Result<(), ApiError> {
        self.landed(durable.await)
    }

    /// What a durable wait gave (see [`App::settle`]).
    fn landed(
        &self,
        landed: Result<
            Result<(), sekimori_store::StoreError>,
            tokio::sync::oneshot::error::RecvError,
        >,
    ) -> Result<(), ApiError> {
        let error = match landed {
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
    ///
    /// `absent_from_log`: the caller knows the log held no such event when it
    /// last looked, under the same hold of the ledger lock and after looking
    /// in the in-flight table ([`App::absent`]): only the table is read.
    fn original(
        &self,
        ledger: &Ledger,
        event: &Event,
        absent_from_log: bool,
    ) -> Result<Option<Answer>, ApiError> {
        let in_flight = self
            .in_flight_map()
            .get(&event.service, &event.id)
            .map(|d| (**d).clone());
        let (found, durable) = match in_flight {
            Some(d) => (Some(d), false),
            None if absent_from_log => (None, true),
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

    fn in_flight_map(&self) -> std::sync::MutexGuard<'_, InFlight> {
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
