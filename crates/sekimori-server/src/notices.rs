//! Holder notices and operator alerts over the webhook (`--notify-url`),
//! through `sekimori-notify`: a background thread signs, delivers, retries
//! and dead-letters, so sending never blocks or slows a decision.
//!
//! - After an event of a [`NOTICE_TYPES`] type is decided and durable, one
//!   notice for the holder: `id` the event id, `kind` the event type, the
//!   event's own time and the decision's action; `summary` carries amounts,
//!   currency and counterparty ids only (never secrets or fingerprints).
//! - Whenever a hold is placed, by a rule's freeze or halt or by an operator
//!   (`POST /v1/holds`), an operator alert of kind `hold.placed`: id
//!   `<event id>:hold:<scope>:<key>`, or `api:<at ms>:hold:<scope>:<key>`.

use crate::ledger::wall_clock_rfc3339;
use sekimori_engine::{Decision, Engine, HoldKey, HoldScope};
use sekimori_event::{format_rfc3339_ms, Event};
use sekimori_notify::{DeadLetter, Notice, Notifier, NotifyConfig, NotifyError, StatsSnapshot};
use sekimori_rules::Action;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::Duration;
use zeroize::Zeroizing;

/// The dead-letter log's name in the data directory.
pub const DEAD_LETTER_FILE: &str = "notices-dead-letter.jsonl";

/// How long shutdown waits for notices still queued or being retried.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// The event types the holder is told about.
pub const NOTICE_TYPES: &[&str] = &[
    "charge",
    "link.bank",
    "payee.add",
    "credential.change",
    "withdrawal",
    "transfer",
    "report.not_me",
];

/// The notifier of a running server.
#[derive(Debug)]
pub struct Notices {
    /// `None` once shut down.
    notifier: RwLock<Option<Notifier>>,
    stats: std::sync::Arc<sekimori_notify::Stats>,
    dead_letter: PathBuf,
    /// Serialises dead letters written after shutdown.
    late: Mutex<()>,
}

impl Notices {
    /// Starts the worker; the dead-letter log is `<data_dir>/notices-dead-letter.jsonl`.
    pub fn start(url: &str, secret: Vec<u8>, data_dir: &Path) -> Result<Notices, NotifyError> {
        let dead_letter = data_dir.join(DEAD_LETTER_FILE);
        let notifier = Notifier::start(NotifyConfig::new(url, secret, dead_letter.clone()))?;
        Ok(Notices {
            stats: notifier.stats(),
            notifier: RwLock::new(Some(notifier)),
            dead_letter,
            late: Mutex::new(()),
        })
    }

    /// The delivery counters.
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    /// Notices for one durable decision: the holder's notice (for the
    /// [`NOTICE_TYPES`]) and an alert per hold the decision placed.
    pub fn decided(&self, event: &Event, decision: &Decision, placed: &[(HoldKey, Action)]) {
        if let Some(n) = holder_notice(event, decision) {
            self.send(n);
        }
        for (key, action) in placed {
            self.send(rule_hold_notice(event, decision, key, *action));
        }
    }

    /// The alert for a hold an operator placed through the API.
    pub fn operator_hold(&self, key: &HoldKey, action: Action, by: &str, reason: &str, at_ms: i64) {
        let (account, service) = match key.scope {
            HoldScope::Account => (Some(key.key.clone()), String::new()),
            HoldScope::Service => (None, key.key.clone()),
            _ => (None, String::new()),
        };
        self.send(Notice {
            id: notice_id(format!("api:{at_ms}:{}", hold_suffix(key))),
            kind: "hold.placed".into(),
            account,
            service,
            at: format_rfc3339_ms(at_ms),
            action: action_name(action),
            summary: json!({"hold": key, "by": by, "reason": reason}),
        });
    }

    /// A notice of an analyst's action (`review.approved` /
    /// `review.declined`), from the workbench.
    pub fn analyst(&self, notice: Notice) {
        self.send(notice);
    }

    /// Stops taking notices and gives queued ones `grace` to be delivered;
    /// the rest go to the dead-letter log. Blocks: call it off async threads.
    pub fn shutdown(&self, grace: Duration) {
        let taken = self
            .notifier
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(n) = taken {
            if let Err(e) = n.shutdown(grace) {
                tracing::error!(error = %e, "notifier shutdown failed");
            }
        }
    }

    /// Queues a notice; never blocks on the network.
    fn send(&self, notice: Notice) {
        let guard = self.notifier.read().unwrap_or_else(PoisonError::into_inner);
        let Some(notifier) = guard.as_ref() else {
            drop(guard);
            self.dead_letter_late(notice);
            return;
        };
        let (id, kind) = (notice.id.clone(), notice.kind.clone());
        match notifier.send(notice) {
            Ok(()) => {}
            // Already in the dead-letter log, and logged by the notifier.
            Err(NotifyError::QueueFull | NotifyError::Stopped) => {}
            Err(e) => crate::telemetry::notice_refused(&id, &kind, &e),
        }
    }

    /// A notice decided after shutdown: straight to the dead-letter log.
    fn dead_letter_late(&self, notice: Notice) {
        let _serial = self.late.lock().unwrap_or_else(PoisonError::into_inner);
        let (id, kind) = (notice.id.clone(), notice.kind.clone());
        let letter = DeadLetter {
            notice,
            attempts: 0,
            last_error: "server_shutting_down".into(),
            failed_at: wall_clock_rfc3339(),
        };
        let written = serde_json::to_string(&letter)
            .map_err(std::io::Error::other)
            .and_then(|line| {
                use std::io::Write;
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.dead_letter)?;
                f.write_all(format!("{line}\n").as_bytes())?;
                f.flush()
            });
        match written {
            Ok(()) => tracing::warn!(%id, %kind, "notice dead-lettered: the notifier has stopped"),
            Err(e) => {
                tracing::error!(%id, %kind, error = %e, "notice LOST: dead-letter log failed")
            }
        }
    }
}

/// Reads the webhook secret from `--notify-secret-file`, as the step-up key
/// is read: the file's bytes less trailing whitespace (a final newline), never
/// logged or echoed; a warning when group or others may read the file.
pub fn read_secret_file(path: &Path) -> anyhow::Result<Zeroizing<Vec<u8>>> {
    use anyhow::Context;
    use std::os::unix::fs::PermissionsExt;
    let mut bytes = Zeroizing::new(
        std::fs::read(path)
            .with_context(|| format!("reading the notify secret {}", path.display()))?,
    );
    if let Ok(meta) = std::fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "the notify secret is readable by group or others; chmod 600 it");
        }
    }
    while bytes.last().is_some_and(u8::is_ascii_whitespace) {
        bytes.pop();
    }
    if bytes.is_empty() {
        anyhow::bail!("{}: the notify secret file is empty", path.display());
    }
    Ok(bytes)
}

/// The holds a decision just placed: the enforced freeze or halt reasons of
/// fired rules whose hold in force now names this event (not the `hold.*`
/// reasons of holds already in force, nor a rule's freeze on a key another
/// event already holds). Call it right after deciding, under the ledger lock.
pub fn placed_holds(engine: &Engine, event: &Event, decision: &Decision) -> Vec<(HoldKey, Action)> {
    let mut out: Vec<(HoldKey, Action)> = Vec::new();
    for r in &decision.reasons {
        let Some(key) = &r.hold else { continue };
        if r.shadow || r.rule.starts_with("hold.") || out.iter().any(|(k, _)| k == key) {
            continue;
        }
        let new = engine
            .holds()
            .get(key)
            .is_some_and(|h| h.by.is_none() && h.event_id == event.id);
        if let (true, Some(action)) = (new, r.action.verdict()) {
            out.push((key.clone(), action));
        }
    }
    out
}

/// The holder's notice for an event of a [`NOTICE_TYPES`] type.
pub fn holder_notice(event: &Event, decision: &Decision) -> Option<Notice> {
    let kind = event.kind.as_str();
    if !NOTICE_TYPES.contains(&kind) {
        return None;
    }
    Some(Notice {
        id: notice_id(event.id.clone()),
        kind: kind.into(),
        account: account_of(event),
        service: event.service.clone(),
        at: format_rfc3339_ms(event.at_ms),
        action: action_name(decision.action),
        summary: summary(event),
    })
}

fn rule_hold_notice(event: &Event, decision: &Decision, key: &HoldKey, action: Action) -> Notice {
    let rule = decision
        .reasons
        .iter()
        .find(|r| r.hold.as_ref() == Some(key) && !r.shadow)
        .map_or("", |r| r.rule.as_str());
    Notice {
        id: notice_id(format!("{}:{}", event.id, hold_suffix(key))),
        kind: "hold.placed".into(),
        account: account_of(event),
        service: event.service.clone(),
        at: format_rfc3339_ms(event.at_ms),
        action: action_name(action),
        summary: json!({"hold": key, "rule": rule, "event_id": event.id,
                        "event_type": event.kind.as_str()}),
    }
}

/// Amounts, currency and counterparty ids from the event's view; nothing
/// else (no secrets, fingerprints, devices, addresses of the actor or notes).
fn summary(event: &Event) -> Value {
    let view = sekimori_engine::event_view(event);
    let mut out = Map::new();
    let mut copy = |to: &str, v: Option<&Value>| {
        if let Some(v) = v.filter(|v| !v.is_null()) {
            out.insert(to.into(), v.clone());
        }
    };
    copy("amount_minor", view.get("amount_minor"));
    copy("currency", view.get("currency"));
    copy("destination", view.pointer("/destination/id"));
    copy("source", view.pointer("/source/id"));
    copy("payee_id", view.get("payee_id"));
    copy("credential", view.get("credential"));
    copy("channel", view.get("channel"));
    copy("result", view.get("result"));
    copy("disputed_event_id", view.get("disputed_event_id"));
    if let Some(bank) = view.get("bank") {
        let s = |k: &str| bank.get(k).and_then(Value::as_str).unwrap_or_default();
        let id = format!("bank:{}-{}-{}", s("bank_code"), s("branch"), s("number"));
        copy("bank", Some(&Value::String(id)));
    }
    Value::Object(out)
}

/// The account an event acts on: the body's, else the session's.
fn account_of(event: &Event) -> Option<String> {
    event
        .body
        .account()
        .or(event.actor.account.as_deref())
        .map(String::from)
}

fn hold_suffix(key: &HoldKey) -> String {
    format!("hold:{}:{}", key.scope_name(), key.key)
}

fn action_name(action: Action) -> String {
    format!("{action:?}").to_lowercase()
}

/// A notice id is 1–256 visible ASCII characters (it is also a header):
/// other bytes (and `%`) are percent-encoded, and an id still too long is
/// cut and ended with a digest of the whole, so it stays unique.
pub fn notice_id(raw: String) -> String {
    let ok = |b: u8| b.is_ascii_graphic() && b != b'%';
    let id = if raw.bytes().all(ok) {
        raw
    } else {
        raw.bytes()
            .map(|b| {
                if ok(b) {
                    char::from(b).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    if id.len() <= 256 {
        return id;
    }
    let digest = hex::encode(&Sha256::digest(id.as_bytes())[..16]);
    format!("{}~{digest}", &id[..256 - 33])
}

#[cfg(test)]
mod tests {
    use super::notice_id;

    #[test]
    fn ids_are_visible_ascii_and_bounded() {
        assert_eq!(
            notice_id("e1:hold:account:a-1".into()),
            "e1:hold:account:a-1"
        );
        assert_eq!(
            notice_id("e1:hold:account:山 %".into()),
            "e1:hold:account:%E5%B1%B1%20%25"
        );
        let long = notice_id(format!("e:{}", "x".repeat(400)));
        assert_eq!(long.len(), 256);
        assert_ne!(long, notice_id(format!("e:{}y", "x".repeat(400))));
    }
}
