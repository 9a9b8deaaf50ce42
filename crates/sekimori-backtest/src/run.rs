//! Reading the log for a window, and replaying it with a candidate pack.
//!
//! Two passes over the log, both in sequence order:
//! 1. every label (labels arrive late, so all of them, to the end of the
//!    log), and the window's bounds;
//! 2. the logged decisions of the window, tallied against the labels; with a
//!    candidate, the entries before the window replayed with the stored pack
//!    history (from the latest snapshot that precedes the window, else from
//!    the first entry), the candidate swapped in, and every event of the
//!    window decided again.

use crate::labels::{Class, Labels};
use crate::quality::{ByService, PackQuality, Quality, ServiceQuality, Tally};
use crate::{Error, Window};
use sekimori_engine::{Decision, Engine, Entry};
use sekimori_ledger::{pack_record, Replica};
use sekimori_rules::{Action, Pack};
use sekimori_store::Store;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What to compute.
#[derive(Clone, Debug)]
pub struct Request {
    pub window: Window,
    /// The pack to backtest, if any (rule quality of the logged decisions is
    /// always computed).
    pub candidate: Option<Arc<Pack>>,
    /// How many changed events to list (the first ones in log order).
    pub sample: usize,
    /// Only this service's events and labels are counted (a backtest still
    /// decides every event: the state is shared); `None`: every service.
    pub service: Option<String>,
}

/// Where the window lies in the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = QualityWindow)]
pub struct WindowInfo {
    pub from: String,
    pub to: String,
    /// The first entry of the window (the first event at or after `from`).
    pub first_seq: Option<u64>,
    /// The entry after the window (the first event after it at or after
    /// `to`); `None`: the window runs to the end of the log.
    pub end_seq: Option<u64>,
    /// Events in the window (of the service, when the report is for one).
    pub events: u64,
    pub log_entries: u64,
}

/// The labels of the whole log (of the service, when the report is for one).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = QualityLabels)]
pub struct LabelInfo {
    /// Label entries, by label.
    pub by_label: BTreeMap<String, u64>,
    pub events_fraud: u64,
    pub events_legitimate: u64,
    /// Events whose labels disagree (the last one counts).
    pub conflicts: u64,
}

/// One event the candidate decides differently.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = BacktestChange)]
pub struct Change {
    pub seq: u64,
    pub service: String,
    pub event_id: String,
    pub event_type: String,
    pub at: String,
    /// The logged action (`allow`, `challenge`, `review`, `deny`, `freeze`, `halt`).
    #[schema(value_type = String)]
    pub from: Action,
    /// The candidate's action.
    #[schema(value_type = String)]
    pub to: Action,
    pub label: Option<Class>,
    /// The enforced rules that fired, before and after (shadow rules apart).
    pub rules_before: Vec<String>,
    pub rules_after: Vec<String>,
}

/// How many decisions went from one action to another.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = BacktestTransition)]
pub struct Transition {
    #[schema(value_type = String)]
    pub from: Action,
    #[schema(value_type = String)]
    pub to: Action,
    pub events: u64,
    pub fraud: u64,
    pub legitimate: u64,
    pub unlabelled: u64,
}

/// The candidate pack over the window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = BacktestResult)]
pub struct Backtest {
    pub name: String,
    pub version: String,
    pub digest: String,
    /// The state the candidate started from.
    pub state: String,
    pub decided: u64,
    pub changed: u64,
    pub transitions: Vec<Transition>,
    pub sample: Vec<Change>,
    /// The logged decisions and the candidate's, over the same events.
    pub logged: PackQuality,
    pub candidate: PackQuality,
    /// The candidate's rules.
    pub rules: Vec<crate::quality::RuleQuality>,
    /// Entries before the window whose replay differed from the log.
    pub prefix_mismatches: u64,
    /// Entries of the window the candidate could not apply (a list it lacks).
    pub skipped_entries: u64,
}

/// The whole answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(as = QualityReport)]
pub struct Report {
    pub window: WindowInfo,
    /// The service the report is for; `null`: every service together.
    pub service: Option<String>,
    pub labels: LabelInfo,
    /// The logged decisions, per pack version and rule (of the service,
    /// when the report is for one).
    pub quality: Quality,
    /// Per service, per pack version: each service's own precision, recall
    /// and friction, by service name.
    pub services: Vec<ServiceQuality>,
    pub backtest: Option<Backtest>,
}

#[derive(Deserialize)]
struct AtOnly {
    at: String,
}

#[derive(Deserialize)]
struct EventAt {
    decision: AtOnly,
}

/// An event entry's time, without decoding the event.
fn event_at(bytes: &[u8]) -> Result<Option<i64>, Error> {
    if !bytes.starts_with(br#"{"entry":"event""#) {
        return Ok(None);
    }
    let e: EventAt = serde_json::from_slice(bytes).map_err(|e| Error::Corrupt(e.to_string()))?;
    Ok(sekimori_event::parse_rfc3339_ms(&e.decision.at))
}

struct Bounds {
    first: Option<u64>,
    end: Option<u64>,
    entries: u64,
}

/// Pass 1: labels (of `service` only, when given) and the window's bounds.
fn first_pass(
    store: &Store,
    window: Window,
    service: Option<&str>,
) -> Result<(Labels, Bounds), Error> {
    let mut labels = Labels::default();
    let mut b = Bounds {
        first: None,
        end: None,
        entries: 0,
    };
    for row in store.scan_from(1)? {
        let (seq, bytes) = row?;
        b.entries += 1;
        // serde writes the tag first; anything else is decoded in full.
        let tagged = bytes.starts_with(br#"{"entry":""#);
        let at = if bytes.starts_with(br#"{"entry":"label""#) || !tagged {
            match Entry::from_bytes(&bytes).map_err(Error::Corrupt)? {
                Entry::Label {
                    service: s,
                    event_id,
                    label,
                    ..
                } => {
                    if service.is_none_or(|want| want == s) {
                        labels.add(&s, &event_id, &label);
                    }
                    continue;
                }
                Entry::Event { decision, .. } => sekimori_event::parse_rfc3339_ms(&decision.at),
                _ => None,
            }
        } else {
            event_at(&bytes)?
        };
        let Some(at) = at else {
            continue;
        };
        match b.first {
            None if at >= window.from_ms && at < window.to_ms => b.first = Some(seq),
            Some(_) if b.end.is_none() && at >= window.to_ms => b.end = Some(seq),
            _ => {}
        }
    }
    Ok((labels, b))
}

fn enforced(d: &Decision) -> Vec<String> {
    d.reasons
        .iter()
        .filter(|r| !r.shadow && r.action.verdict().is_some_and(|a| a != Action::Allow))
        .map(|r| r.rule.clone())
        .collect()
}

fn service_of(event: &serde_json::Value) -> &str {
    event["service"].as_str().unwrap_or_default()
}

/// Rule quality of the logged decisions over `req.window`, and a backtest
/// of `req.candidate` if given. Reads the store only.
pub fn run(store: &Store, req: &Request) -> Result<Report, Error> {
    let only = req.service.as_deref();
    let (labels, bounds) = first_pass(store, req.window, only)?;
    let (fraud, legit) = labels.by_class();
    let label_info = LabelInfo {
        by_label: labels.counts.clone(),
        events_fraud: fraud,
        events_legitimate: legit,
        conflicts: labels.conflicts,
    };
    let mut info = WindowInfo {
        from: sekimori_event::format_rfc3339_ms(req.window.from_ms),
        to: sekimori_event::format_rfc3339_ms(req.window.to_ms),
        first_seq: bounds.first,
        end_seq: bounds.end,
        events: 0,
        log_entries: bounds.entries,
    };
    let mut tally = Tally::default();
    let mut services = ByService::default();
    let Some(first) = bounds.first else {
        let backtest = req.candidate.as_ref().map(|c| empty_backtest(c));
        return Ok(Report {
            window: info,
            service: req.service.clone(),
            labels: label_info,
            quality: tally.finish(),
            services: services.finish(),
            backtest,
        });
    };
    let end = bounds.end.unwrap_or(u64::MAX);
    let mut bt = match &req.candidate {
        Some(c) => Some(Replay::start(store, first, Arc::clone(c))?),
        None => None,
    };
    for row in store.scan_from(first)? {
        let (seq, bytes) = row?;
        if seq >= end {
            break;
        }
        let entry = Entry::from_bytes(&bytes).map_err(Error::Corrupt)?;
        if let Entry::Event { event, decision } = &entry {
            let service = service_of(event);
            if only.is_none_or(|want| want == service) {
                info.events += 1;
                let class = labels.class(service, &decision.event_id);
                let version = &decision.pack.version;
                if !tally.knows(version) {
                    if let Some(r) = pack_record(store, version)? {
                        tally.learn_pack(version, &r.source.rules);
                    }
                }
                tally.add(decision, class);
                services.add(service, decision, class);
            }
        }
        if let Some(bt) = bt.as_mut() {
            bt.apply(seq, &entry, &labels, req.sample, only);
        }
    }
    Ok(Report {
        window: info,
        service: req.service.clone(),
        labels: label_info,
        quality: tally.finish(),
        services: services.finish(),
        backtest: bt.map(Replay::finish),
    })
}

fn empty_backtest(c: &Pack) -> Backtest {
    Backtest {
        name: c.name().to_string(),
        version: c.version().to_string(),
        digest: c.digest.clone(),
        state: "no event in the window".into(),
        decided: 0,
        changed: 0,
        transitions: Vec::new(),
        sample: Vec::new(),
        logged: PackQuality::default(),
        candidate: PackQuality::default(),
        rules: Vec::new(),
        prefix_mismatches: 0,
        skipped_entries: 0,
    }
}

/// The candidate's engine over the window, and what it changed.
struct Replay {
    engine: Engine,
    out: Backtest,
    logged: Tally,
    candidate: Tally,
    transitions: BTreeMap<(Action, Action), Transition>,
}

impl Replay {
    /// The state at the window's first entry `first`: the latest snapshot
    /// before it (if usable) and the log up to it, replayed with the stored
    /// pack history; then the candidate goes live, as a publication would
    /// (features with an unchanged definition keep their windows).
    fn start(store: &Store, first: u64, candidate: Arc<Pack>) -> Result<Replay, Error> {
        let snapshot = store.snapshot()?.filter(|(seq, _)| *seq < first);
        let mut replica = Replica::from_snapshot(store, snapshot);
        let from_seq = replica.next_seq();
        for row in store.scan_from(from_seq)? {
            let (seq, bytes) = row?;
            if seq >= first {
                break;
            }
            replica.apply(store, seq, &bytes)?;
        }
        let mismatches = replica.mismatches;
        let (mut engine, _) = replica.into_engine()?;
        let state = format!(
            "log entries {}..{} replayed with the stored packs{}; then {} {} live",
            from_seq,
            first - 1,
            if from_seq > 1 {
                format!(" from the snapshot at {}", from_seq - 1)
            } else {
                String::new()
            },
            candidate.name(),
            candidate.version()
        );
        engine.set_pack(Arc::clone(&candidate));
        let mut out = empty_backtest(&candidate);
        out.state = state;
        out.prefix_mismatches = mismatches;
        let mut cand = Tally::default();
        cand.learn_pack(candidate.version(), &candidate.source.rules);
        Ok(Replay {
            engine,
            out,
            logged: Tally::default(),
            candidate: cand,
            transitions: BTreeMap::new(),
        })
    }

    /// One entry of the window; with `only`, every event is decided (the
    /// state is every service's) but only that service's are counted.
    fn apply(
        &mut self,
        seq: u64,
        entry: &Entry,
        labels: &Labels,
        sample: usize,
        only: Option<&str>,
    ) {
        match entry {
            Entry::Event { event, decision } => {
                let Ok(e) = sekimori_event::decode_value(event.clone()) else {
                    self.out.skipped_entries += 1;
                    return;
                };
                let again = self.engine.decide(&e);
                let service = service_of(event);
                if only.is_some_and(|want| want != service) {
                    return;
                }
                let class = labels.class(service, &decision.event_id);
                self.out.decided += 1;
                // Every logged version under one name, so the two rows compare.
                self.logged.add_as("logged", decision, class);
                self.candidate.add(&again, class);
                if again.action != decision.action {
                    self.out.changed += 1;
                    let t = self
                        .transitions
                        .entry((decision.action, again.action))
                        .or_insert(Transition {
                            from: decision.action,
                            to: again.action,
                            events: 0,
                            fraud: 0,
                            legitimate: 0,
                            unlabelled: 0,
                        });
                    t.events += 1;
                    match class {
                        Some(Class::Fraud) => t.fraud += 1,
                        Some(Class::Legitimate) => t.legitimate += 1,
                        None => t.unlabelled += 1,
                    }
                    if self.out.sample.len() < sample {
                        self.out.sample.push(Change {
                            seq,
                            service: service.to_string(),
                            event_id: decision.event_id.clone(),
                            event_type: decision.event_type.clone(),
                            at: decision.at.clone(),
                            from: decision.action,
                            to: again.action,
                            label: class,
                            rules_before: enforced(decision),
                            rules_after: enforced(&again),
                        });
                    }
                }
            }
            // The candidate stays live over the window; the budget still applies.
            Entry::Pack {
                memory_budget: Some(bytes),
                ..
            } => {
                self.engine
                    .set_memory_budget((*bytes > 0).then_some(*bytes));
            }
            Entry::List { .. } | Entry::Place { .. } | Entry::Lift { .. } => {
                let mut no_pack = |v: &str| Err(format!("pack {v} is not replayed here"));
                if self.engine.replay_entry(entry, &mut no_pack).is_err() {
                    self.out.skipped_entries += 1;
                }
            }
            // Audit entries (analysts, labels, step-up records): no decision state.
            _ => {}
        }
    }

    fn finish(self) -> Backtest {
        let mut out = self.out;
        out.transitions = self.transitions.into_values().collect();
        let logged = self.logged.finish();
        out.logged = logged.packs.into_iter().next().unwrap_or_default();
        out.logged.version = "logged".into();
        let cand = self.candidate.finish();
        out.candidate = cand.packs.into_iter().next().unwrap_or_default();
        out.candidate.version.clone_from(&out.version);
        out.rules = cand.rules;
        out
    }
}
