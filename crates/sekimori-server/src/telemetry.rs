//! Typed telemetry: one function per internal event, each emitting its log
//! line and its metrics together. Metric names carry their unit.

use metrics::{counter, gauge, histogram};
use sekimori_engine::Decision;
use std::time::Duration;

/// A decision was returned (durable or fallback).
pub fn decision(d: &Decision, elapsed: Duration, degraded: Option<&'static str>) {
    // The action's label is a static name: no text is formatted per decision.
    let action: &'static str = match d.action {
        sekimori_rules::Action::Allow => "allow",
        sekimori_rules::Action::Challenge => "challenge",
        sekimori_rules::Action::Review => "review",
        sekimori_rules::Action::Deny => "deny",
        sekimori_rules::Action::Freeze => "freeze",
        sekimori_rules::Action::Halt => "halt",
    };
    counter!("sekimori_decisions_total", "type" => d.event_type.clone(), "action" => action)
        .increment(1);
    histogram!("sekimori_decision_seconds").record(elapsed.as_secs_f64());
    if let Some(why) = degraded {
        counter!("sekimori_decisions_degraded_total", "type" => d.event_type.clone(), "reason" => why)
            .increment(1);
        if why == "time_budget_exceeded" {
            counter!("sekimori_decision_fallbacks_total", "type" => d.event_type.clone())
                .increment(1);
            tracing::warn!(event_id = %d.event_id, action = ?d.action, "time budget exceeded; fallback decision returned");
        }
    }
    if !d.errors.is_empty() {
        counter!("sekimori_rule_errors_total").increment(d.errors.len() as u64);
        tracing::warn!(event_id = %d.event_id, errors = d.errors.len(), "rule or feature evaluation errors");
    }
}

/// Where a single event's time went on the server (`POST /v1/events`, and
/// the step-up routes' events): waiting for the engine's lock (behind
/// whatever holds it: decisions queued ahead, a batch, a snapshot's copy),
/// the ledger's step under the lock (the decision and its log entry), and
/// waiting for its group commit to be durable. A tail in the first comes
/// from slow steps ahead, in the last from the disk.
pub fn single_stages(lock_wait: Duration, engine: Duration, durable_wait: Duration) {
    histogram!(LOCK_WAIT).record(lock_wait.as_secs_f64());
    histogram!(ENGINE).record(engine.as_secs_f64());
    histogram!(DURABLE_WAIT).record(durable_wait.as_secs_f64());
}

/// The metric names of [`single_stages`], in its order.
pub const LOCK_WAIT: &str = "sekimori_single_lock_wait_seconds";
/// See [`single_stages`].
pub const ENGINE: &str = "sekimori_single_engine_seconds";
/// See [`single_stages`].
pub const DURABLE_WAIT: &str = "sekimori_single_durable_wait_seconds";

/// Load was shed before the engine decided it (`engine_busy`): `what` is
/// `single`, `batch` or `batch_deadline`.
pub fn shed(what: &'static str) {
    counter!("sekimori_load_shed_total", "what" => what).increment(1);
}

/// An event was refused. Only the code and the path are logged, never values.
pub fn rejected(code: &str, path: &str) {
    counter!("sekimori_events_rejected_total", "code" => code.to_string()).increment(1);
    tracing::info!(code, path, "event rejected");
}

/// A connection was accepted: the open-connections gauge goes up.
pub fn connection_opened() {
    gauge!("sekimori_connections_open").increment(1.0);
}

/// A connection closed.
pub fn connection_closed() {
    gauge!("sekimori_connections_open").decrement(1.0);
}

/// A connection was refused: `per_peer` (its peer held its share, closed at
/// once) or `accept_failed` (the accept itself failed: out of descriptors,
/// reset before it was accepted).
pub fn connection_refused(reason: &'static str) {
    counter!("sekimori_connections_refused_total", "reason" => reason).increment(1);
    if reason == "per_peer" {
        tracing::debug!("connection refused: its peer is at --max-connections-per-peer");
    }
}

/// The accept loop found every one of `--max-connections` open: new
/// connections wait in the listen backlog until one closes.
pub fn connection_cap_reached() {
    counter!("sekimori_connection_cap_reached_total").increment(1);
}

/// A duplicate event id was answered with the original decision.
pub fn duplicate() {
    counter!("sekimori_duplicate_events_total").increment(1);
}

/// A rule pack went live.
pub fn pack_published(version: &str, by: &str) {
    counter!("sekimori_pack_publications_total").increment(1);
    tracing::info!(version, by, "rule pack published");
}

/// The store refused or failed a write; the server stops accepting.
pub fn store_failed(error: &dyn std::fmt::Display) {
    gauge!("sekimori_store_failed").set(1.0);
    tracing::error!(error = %error, "durable log failed; refusing new events until restart");
}

/// Group-commit counters, refreshed when /metrics is scraped.
pub fn store_stats(s: sekimori_store::StoreStats) {
    gauge!("sekimori_store_commits_total").set(s.commits as f64);
    gauge!("sekimori_store_ops_total").set(s.ops as f64);
    gauge!("sekimori_store_applied_commits_total").set(s.checkpoints as f64);
}

/// A notice was refused before queueing (not in the dead-letter log).
pub fn notice_refused(id: &str, kind: &str, error: &dyn std::fmt::Display) {
    counter!("sekimori_notices_refused_total").increment(1);
    tracing::error!(id, kind, error = %error, "notice refused; it was not sent");
}

/// Webhook notice counters, refreshed when /metrics is scraped.
pub fn notice_stats(s: sekimori_notify::StatsSnapshot) {
    gauge!("sekimori_notices_queued_total").set(s.queued as f64);
    gauge!("sekimori_notices_delivered_total").set(s.delivered as f64);
    gauge!("sekimori_notices_retried_total").set(s.retried as f64);
    gauge!("sekimori_notices_dead_lettered_total").set(s.dead_lettered as f64);
    gauge!("sekimori_notices_pending").set(s.pending as f64);
    gauge!("sekimori_notices_lost_total").set(s.lost as f64);
}
