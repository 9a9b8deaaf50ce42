//! The queue's, cases' and labels' answers of the workbench's API.

#[allow(unused_imports)]
use super::*;

/// One row of the queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueRow {
    pub id: u64,
    pub priority: i64,
    pub service: String,
    /// The account, else the held scope and key, else the service.
    pub entity: String,
    pub family: CaseFamily,
    pub action: CaseAction,
    /// Minor units per currency of the events not let through and not yet
    /// decided by an analyst.
    pub money_at_risk: BTreeMap<String, i64>,
    pub score: i64,
    /// The event time of the first event (RFC 3339, UTC).
    pub opened_at: String,
    pub claimed_by_me: bool,
    /// Events kept in the case.
    pub events: usize,
}

impl QueueRow {
    pub fn of(case: &Case, priority: i64, mine: bool) -> QueueRow {
        QueueRow {
            id: case.id,
            priority,
            service: case.service.clone(),
            entity: case.entity.clone(),
            family: CaseFamily::of(case.family),
            action: CaseAction::of(case.top_action()),
            money_at_risk: case.money_at_risk(),
            score: case.max_score(),
            opened_at: sekimori_event::format_rfc3339_ms(case.opened_ms),
            claimed_by_me: mine,
            events: case.events.len(),
        }
    }
}

/// The queue.
#[derive(Debug, Serialize, ToSchema)]
pub struct Queue {
    pub cases: Vec<QueueRow>,
    /// Open cases in all.
    pub open: usize,
}

/// The case claimed by `POST /v1/cases/next`, if any.
#[derive(Debug, Serialize, ToSchema)]
pub struct NextCase {
    pub case: Option<u64>,
}

/// A case and who holds its claim.
#[derive(Debug, Serialize, ToSchema)]
pub struct Claimed {
    pub case: u64,
    pub claimed_by: String,
}

/// The case acted on.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseRef {
    pub case: u64,
}

/// A recorded approval or decline.
#[derive(Debug, Serialize, ToSchema)]
pub struct Decided {
    pub case: u64,
    pub event_id: String,
    #[schema(value_type = DecideOutcome)]
    pub outcome: String,
}

/// A closed case.
#[derive(Debug, Serialize, ToSchema)]
pub struct Closed {
    pub case: u64,
    pub disposition: DispositionName,
}

/// A recorded label.
#[derive(Debug, Serialize, ToSchema)]
pub struct Labeled {
    pub service: String,
    pub event_id: String,
    #[schema(value_type = ServiceLabel)]
    pub label: String,
}

/// One event of a case.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = CaseEvent)]
pub struct CaseEventDoc {
    pub seq: u64,
    pub event_id: String,
    pub event_type: String,
    pub at_ms: i64,
    pub action: CaseAction,
    pub score: i64,
    /// The enforced rules that fired.
    pub rules: Vec<String>,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    /// An analyst's approval or decline, once recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<CaseOutcome>,
    /// Supervisors who approved it so far (released at the second).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<String>,
}

impl CaseEventDoc {
    fn of(e: CaseEvent) -> CaseEventDoc {
        CaseEventDoc {
            seq: e.seq,
            event_id: e.event_id,
            event_type: e.event_type,
            at_ms: e.at_ms,
            action: CaseAction::of(e.action),
            score: e.score,
            rules: e.rules,
            amount_minor: e.amount_minor,
            currency: e.currency,
            outcome: e.outcome.map(|o| CaseOutcome {
                approved: o.approved,
                by: o.by,
                at: o.at,
            }),
            approvals: e.approvals,
        }
    }
}

/// An analyst's verdict on a held event.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseOutcome {
    pub approved: bool,
    pub by: String,
    pub at: String,
}

/// Who claimed a case, and when (server time, ms).
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseClaim {
    pub by: String,
    pub at_ms: i64,
}

/// How and by whom a case was closed.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseClosed {
    pub disposition: DispositionName,
    pub by: String,
    pub at: String,
    pub note: String,
}

/// One analyst action or label on a case.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseHistoryItem {
    pub seq: u64,
    pub by: String,
    pub at: String,
    pub what: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub why: String,
}

/// A case as the index keeps it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Case)]
pub struct CaseDoc {
    pub id: u64,
    pub service: String,
    pub entity: String,
    pub family: CaseFamily,
    /// The event time of the first event (ms since the epoch).
    pub opened_ms: i64,
    pub events: Vec<CaseEventDoc>,
    /// Events past the kept ones, counted.
    pub more_events: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim: Option<CaseClaim>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed: Option<CaseClosed>,
    pub notes: Vec<CaseHistoryItem>,
    pub history: Vec<CaseHistoryItem>,
}

fn history(items: Vec<crate::cases::HistoryItem>) -> Vec<CaseHistoryItem> {
    items
        .into_iter()
        .map(|h| CaseHistoryItem {
            seq: h.seq,
            by: h.by,
            at: h.at,
            what: h.what,
            why: h.why,
        })
        .collect()
}

impl CaseDoc {
    fn of(c: Case) -> CaseDoc {
        CaseDoc {
            id: c.id,
            service: c.service,
            entity: c.entity,
            family: CaseFamily::of(c.family),
            opened_ms: c.opened_ms,
            events: c.events.into_iter().map(CaseEventDoc::of).collect(),
            more_events: c.more_events,
            claim: c.claim.map(|c| CaseClaim {
                by: c.by,
                at_ms: c.at_ms,
            }),
            closed: c.closed.map(|c| CaseClosed {
                disposition: DispositionName::of(c.disposition),
                by: c.by,
                at: c.at,
                note: c.note,
            }),
            notes: history(c.notes),
            history: history(c.history),
        }
    }
}

/// One event of the account's timeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct TimelineRow {
    pub seq: u64,
    pub at_ms: i64,
    pub event_id: String,
    pub event_type: String,
    pub action: String,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
}

/// An account sharing a device or an IP address with the case's.
#[derive(Debug, Serialize, ToSchema)]
pub struct LinkedAccount {
    pub account: String,
    /// What they share: `device:..` or `ip:..`.
    pub shared: String,
    /// `fraud`, `open`, `closed` or `clean`.
    pub standing: String,
}

/// A case with its logged decisions, the account's timeline, labels,
/// standing and linked accounts.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseDetail {
    pub case: CaseDoc,
    pub priority: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed_by: Option<String>,
    /// Each case event with its logged decision: `[event, decision or null]`.
    #[schema(value_type = Vec<Vec<Object>>)]
    pub decisions: Vec<(CaseEventDoc, Option<sekimori_engine::Decision>)>,
    pub timeline: Vec<TimelineRow>,
    /// `[event id, label, by]`.
    pub labels: Vec<(String, String, String)>,
    /// `fraud`, `open`, `closed` or `clean`: what is known of the entity.
    pub standing: String,
    pub linked: Vec<LinkedAccount>,
}

impl CaseDetail {
    pub fn of(v: CaseView) -> CaseDetail {
        CaseDetail {
            case: CaseDoc::of(v.case),
            priority: v.priority,
            claimed_by: v.claimed_by,
            decisions: v
                .decisions
                .into_iter()
                .map(|(e, d)| (CaseEventDoc::of(e), d))
                .collect(),
            timeline: v
                .timeline
                .into_iter()
                .map(|t| TimelineRow {
                    seq: t.seq,
                    at_ms: t.at_ms,
                    event_id: t.event_id,
                    event_type: t.event_type,
                    action: t.action,
                    amount_minor: t.amount_minor,
                    currency: t.currency,
                })
                .collect(),
            labels: v.labels,
            standing: v.standing.to_string(),
            linked: v
                .linked
                .into_iter()
                .map(|l| LinkedAccount {
                    account: l.account,
                    shared: l.shared,
                    standing: l.standing.to_string(),
                })
                .collect(),
        }
    }
}
