//! What the pages and the API both read: the queue's filters from a query
//! string, and a case with its decisions and timeline from the log.

use crate::error::WbError;
use crate::pages::case::{CaseView, TimelineRow};
use crate::pages::graph::Linked;
use crate::queue::{priority, Filter};
use crate::workbench::Workbench;
use sekimori_engine::Entry;
use sekimori_rules::Action;
use serde::Deserialize;
use serde_json::Value as Json;

/// The timeline rows a case page shows (the account's latest events).
pub const TIMELINE_ROWS: usize = 50;
/// The linked accounts a case page draws.
pub const LINKED_SHOWN: usize = 12;

/// The queue's query string; empty fields are "any".
#[derive(Debug, Default, Deserialize)]
pub struct QueueQuery {
    pub service: Option<String>,
    pub rule: Option<String>,
    pub action: Option<String>,
    pub min_age_hours: Option<String>,
    pub limit: Option<usize>,
}

pub fn parse_filter(q: QueueQuery) -> Result<Filter, WbError> {
    let some = |v: Option<String>| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let action = match some(q.action) {
        None => None,
        Some(a) => Some(
            serde_json::from_value::<Action>(Json::String(a))
                .map_err(|_| WbError::invalid("action", "review, deny, freeze or halt"))?,
        ),
    };
    let min_age_hours = match some(q.min_age_hours) {
        None => None,
        Some(h) => Some(
            h.parse::<u32>()
                .map_err(|_| WbError::invalid("min_age_hours", "a whole number of hours"))?,
        ),
    };
    Ok(Filter {
        service: some(q.service),
        rule: some(q.rule),
        action,
        min_age_hours,
    })
}

/// The case `id` with its logged decisions, the account's timeline and labels.
pub fn case_view(wb: &Workbench, id: u64) -> Result<CaseView, WbError> {
    let now = wb.now_ms();
    let (case, timeline_seqs, labels, standing, linked, history_evicted) = {
        let index = wb.catch_up()?;
        let case = index.case(id).ok_or(WbError::NotFound("case"))?.clone();
        let seqs = index.timeline(&case.service, &case.entity);
        let labels: Vec<(String, String, String)> = case
            .events
            .iter()
            .flat_map(|e| {
                index
                    .labels(&case.service, &e.event_id)
                    .iter()
                    .map(|(l, by)| (e.event_id.clone(), l.clone(), by.clone()))
            })
            .collect();
        let standing = index.standing(&case.service, &case.entity);
        let linked = index
            .linked(&case.service, &case.entity, LINKED_SHOWN)
            .into_iter()
            .map(|(account, shared)| Linked {
                standing: index.standing(&case.service, &account),
                account,
                shared,
            })
            .collect();
        let evicted = index.history_evicted(&case);
        (case, seqs, labels, standing, linked, evicted)
    };
    let mut decisions = Vec::with_capacity(case.events.len());
    for e in &case.events {
        let d = match wb.entry(e.seq)? {
            Some(Entry::Event { decision, .. }) => Some(decision),
            _ => None,
        };
        decisions.push((e.clone(), d));
    }
    let mut timeline = Vec::new();
    for seq in timeline_seqs.iter().rev().take(TIMELINE_ROWS) {
        if let Some(Entry::Event { event, decision }) = wb.entry(*seq)? {
            timeline.push(TimelineRow {
                seq: *seq,
                at_ms: sekimori_event::parse_rfc3339_ms(&decision.at).unwrap_or(0),
                event_id: decision.event_id.clone(),
                event_type: decision.event_type.clone(),
                action: format!("{:?}", decision.action).to_lowercase(),
                amount_minor: event.get("amount_minor").and_then(Json::as_i64),
                currency: event
                    .get("currency")
                    .and_then(Json::as_str)
                    .map(String::from),
            });
        }
    }
    Ok(CaseView {
        priority: priority(&case, now),
        claimed_by: case.claimed_by(now).map(String::from),
        case,
        decisions,
        timeline,
        labels,
        standing,
        linked,
        history_evicted,
    })
}
