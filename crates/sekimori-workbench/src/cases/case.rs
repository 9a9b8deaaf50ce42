//! A case and its parts: the events with their outcomes and approvals,
//! the claim, the closing, notes and history.

use crate::acts::Disposition;
use sekimori_rules::Action;
use serde::Serialize;
use std::collections::BTreeMap;

/// The rule family of a case: the domain of the event types its rules read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Logins, step-up, credential changes, device binds, account openings.
    Access,
    /// Transfers, charges, withdrawals, purchases, payees, bank links.
    Money,
    /// Withdrawal requests and approvals, hot-wallet outflows.
    Custody,
    /// A holder's "not me".
    Report,
}

impl Family {
    pub fn of(event_type: &str) -> Family {
        match event_type {
            "report.not_me" => Family::Report,
            "withdrawal.request" | "withdrawal.approval" | "wallet.outflow" => Family::Custody,
            "transfer" | "charge" | "withdrawal" | "purchase" | "payee.add" | "link.bank" => {
                Family::Money
            }
            _ => Family::Access,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Family::Access => "access",
            Family::Money => "money",
            Family::Custody => "custody",
            Family::Report => "report",
        }
    }
}

/// What an analyst decided about a held event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Outcome {
    pub approved: bool,
    pub by: String,
    pub at: String,
}

/// One event of a case.
#[derive(Clone, Debug, Serialize)]
pub struct CaseEvent {
    pub seq: u64,
    pub event_id: String,
    pub event_type: String,
    pub at_ms: i64,
    pub action: Action,
    pub score: i64,
    /// The enforced rules that fired.
    pub rules: Vec<String>,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// Supervisors who approved it so far (four eyes: it is approved at
    /// [`crate::APPROVERS`] distinct ones).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<String>,
}

impl CaseEvent {
    /// Held for an analyst: decided `review` and not yet approved or declined.
    pub fn is_held(&self) -> bool {
        self.action == Action::Review && self.outcome.is_none()
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Claim {
    pub by: String,
    pub at_ms: i64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Closed {
    pub disposition: Disposition,
    pub by: String,
    pub at: String,
    pub note: String,
}

/// One item of a case's history (every analyst action and label on it).
#[derive(Clone, Debug, Serialize)]
pub struct HistoryItem {
    pub seq: u64,
    pub by: String,
    pub at: String,
    pub what: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub why: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct Case {
    pub id: u64,
    pub service: String,
    /// The account, else the held scope and key, else the service.
    pub entity: String,
    /// Whether `entity` is an account (its timeline is in the index).
    #[serde(skip)]
    pub entity_is_account: bool,
    pub family: Family,
    /// The event time of the first event.
    pub opened_ms: i64,
    pub events: Vec<CaseEvent>,
    pub more_events: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim: Option<Claim>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed: Option<Closed>,
    pub notes: Vec<HistoryItem>,
    pub history: Vec<HistoryItem>,
    /// The search terms this case was indexed under (at most
    /// [`super::search::TERMS_PER_CASE`]), so an eviction takes it out of them.
    #[serde(skip)]
    pub terms: Vec<String>,
}

impl Case {
    pub fn is_open(&self) -> bool {
        self.closed.is_none()
    }

    /// Who holds the case at server time `now_ms` (a claim lapses after
    /// [`crate::CLAIM_MS`]).
    pub fn claimed_by(&self, now_ms: i64) -> Option<&str> {
        self.claim
            .as_ref()
            .filter(|c| now_ms < c.at_ms.saturating_add(crate::CLAIM_MS))
            .map(|c| c.by.as_str())
    }

    /// The money of the events not let through and not yet decided by an
    /// analyst, per currency.
    pub fn money_at_risk(&self) -> BTreeMap<String, i64> {
        let mut out = BTreeMap::new();
        for e in &self.events {
            if e.outcome.is_some() || e.action == Action::Allow {
                continue;
            }
            if let (Some(a), Some(c)) = (e.amount_minor, &e.currency) {
                let sum: &mut i64 = out.entry(c.clone()).or_default();
                *sum = sum.saturating_add(a);
            }
        }
        out
    }

    /// Its kept events held for review and not yet decided (see also
    /// [`super::Index::undecided_held`], which counts the ones not kept).
    pub fn undecided_held(&self) -> u64 {
        self.events.iter().filter(|e| e.is_held()).count() as u64
    }

    pub fn max_score(&self) -> i64 {
        self.events.iter().map(|e| e.score).max().unwrap_or(0)
    }

    /// The strongest action among its events.
    pub fn top_action(&self) -> Action {
        self.events
            .iter()
            .map(|e| e.action)
            .max_by_key(|a| action_weight(*a))
            .unwrap_or(Action::Review)
    }
}

/// Priority points of an action: holds first, then money held for review.
pub fn action_weight(a: Action) -> i64 {
    match a {
        Action::Halt | Action::Freeze => 30,
        Action::Review => 20,
        Action::Deny => 5,
        Action::Challenge | Action::Allow => 0,
    }
}
