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
use sekimori_event::{format_rfc3339_ms, Event};
use sekimori_rules::{Action, Pack};
use sekimori_store::Store;
use serde::Serialize;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Decided events not yet durable, past which new events are refused with
/// `overloaded` before they are decided (below the store's queue bound, so the
/// store never refuses an append and the engine never runs ahead of the log).
pub const MAX_PENDING: usize = 50_000;

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
    /// Set when the time budget ran out and the pack's fallback was answered.
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
    /// Decided but not yet durable, by event id.
    in_flight: Mutex<HashMap<String, Decision>>,
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
        let budget = Duration::from_millis(budget_ms);
        let app = Arc::clone(self);
        let fallback_event = event.clone();
        let task = tokio::spawn(async move { app.decide_durably(event).await });
        let answer = match tokio::time::timeout(budget, task).await {
            Ok(Ok(result)) => result?,
            Ok(Err(join)) => return Err(ApiError::internal(join)),
            Err(_) => fallback(&pack, budget_ms, &fallback_event),
        };
        if !answer.duplicate {
            telemetry::decision(&answer.decision, start.elapsed(), answer.degraded.is_some());
        }
        Ok(answer)
    }

    /// Decides (or finds the original decision) and waits until it is durable.
    async fn decide_durably(self: Arc<Self>, event: Event) -> Result<Answer, ApiError> {
        let prepared = Prepared::new(event);
        let event = prepared.event();
        let (decision, durable, placed) = {
            let mut ledger = self.ledger.lock().await;
            if let Some(answer) = self.original(&ledger, &event.id)? {
                return Ok(answer);
            }
            self.admit()?;
            let (decision, durable) = ledger.decide(&prepared);
            let placed = self.placed(&ledger, event, &decision);
            self.in_flight_map()
                .insert(event.id.clone(), decision.clone());
            (decision, durable, placed)
        };
        self.settle_event(&event.id, durable).await?;
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
    async fn settle_event(&self, id: &str, durable: Durable) -> Result<(), ApiError> {
        let result = self.settle(durable).await;
        self.pending.fetch_sub(1, Ordering::SeqCst);
        self.in_flight_map().remove(id);
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

    /// The original decision for a repeated id: in flight or on disk.
    fn original(&self, ledger: &Ledger, id: &str) -> Result<Option<Answer>, ApiError> {
        if let Some(d) = self.in_flight_map().get(id) {
            telemetry::duplicate();
            return Ok(Some(Answer {
                decision: d.clone(),
                duplicate: true,
                durable: false,
                degraded: None,
            }));
        }
        match ledger.logged_decision(id).map_err(ApiError::internal)? {
            Some(d) => {
                telemetry::duplicate();
                Ok(Some(Answer {
                    decision: d,
                    duplicate: true,
                    durable: true,
                    degraded: None,
                }))
            }
            None => Ok(None),
        }
    }

    /// Ingests a batch in order under one lock, then waits for all of it.
    pub async fn ingest_batch(
        self: &Arc<Self>,
        events: Vec<Event>,
    ) -> Vec<Result<Answer, ApiError>> {
        let start = Instant::now();
        let mut waits = Vec::with_capacity(events.len());
        let events: Vec<Prepared> = events.into_iter().map(Prepared::new).collect();
        {
            let mut ledger = self.ledger.lock().await;
            for prepared in &events {
                let event = prepared.event();
                if !self.is_ready() {
                    waits.push(Err(ApiError::new("store_failed", "the durable log failed")));
                    continue;
                }
                if let Err(e) = self.check_skew(event) {
                    waits.push(Err(e));
                    continue;
                }
                match self.original(&ledger, &event.id) {
                    Ok(Some(answer)) => waits.push(Ok((answer, None))),
                    Err(e) => waits.push(Err(e)),
                    Ok(None) => match self.admit() {
                        Err(e) => waits.push(Err(e)),
                        Ok(()) => {
                            let (decision, durable) = ledger.decide(prepared);
                            let placed = self.placed(&ledger, event, &decision);
                            self.in_flight_map()
                                .insert(event.id.clone(), decision.clone());
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
                        let settled = app.settle_event(&answer.decision.event_id, durable).await;
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
            telemetry::decision(&answer.decision, start.elapsed(), false);
        }
        out
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

    fn in_flight_map(&self) -> std::sync::MutexGuard<'_, HashMap<String, Decision>> {
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

/// The answer when the time budget ran out: the pack's fallback for the type.
fn fallback(pack: &Pack, budget_ms: u64, event: &Event) -> Answer {
    let action = pack.settings.fallback_for(event.kind);
    let reason = Reason {
        rule: "budget.fallback".into(),
        action: action.into(),
        score: 0,
        reason: format!(
            "no decision within the {} ms budget; the pack's fallback for {} applies",
            budget_ms, event.kind
        ),
        shadow: false,
        methods: Vec::new(),
        hold: None,
    };
    let decision = Decision {
        event_id: event.id.clone(),
        event_type: event.kind.as_str().into(),
        at: format_rfc3339_ms(event.at_ms),
        action,
        methods: Vec::new(),
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
                Action::Allow,
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
            let answer = fallback(&pack, pack.settings.time_budget_ms, &event);
            assert_eq!(answer.decision.action, want, "{}", event.kind);
            assert_eq!(
                (answer.durable, answer.degraded),
                (false, Some("time_budget_exceeded"))
            );
            assert_eq!(answer.decision.reasons[0].rule, "budget.fallback");
        }
    }
}
