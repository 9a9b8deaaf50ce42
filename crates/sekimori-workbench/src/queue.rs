//! The review queue: the open cases an analyst may take, by priority.
//!
//! Priority is an integer, highest first: the money at risk (10 points per
//! decimal digit of whole units, the largest currency amount of the case:
//! JPY 1,500,000 is 70, USD 1,500 is 40; currencies are not converted), the
//! time waiting since the first event (1 point an hour, at most 48), the
//! highest decision score (at most 100) and the strongest action (freeze
//! and halt 30, review 20, deny 5), and 25 for a "not me".

use crate::cases::{action_weight, Case, Family, Index};
use crate::money::major_digits;
use sekimori_rules::Action;
use serde::{Deserialize, Serialize};

/// The filters of the queue (all optional).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// A rule that fired on one of the case's events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The decision action of one of the case's events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<Action>,
    /// Waiting at least this many hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_age_hours: Option<u32>,
}

impl Filter {
    fn keeps(&self, case: &Case, now_ms: i64) -> bool {
        self.service.as_ref().is_none_or(|s| *s == case.service)
            && self
                .rule
                .as_ref()
                .is_none_or(|r| case.events.iter().any(|e| e.rules.iter().any(|x| x == r)))
            && self
                .action
                .is_none_or(|a| case.events.iter().any(|e| e.action == a))
            && self
                .min_age_hours
                .is_none_or(|h| now_ms - case.opened_ms >= i64::from(h) * 3_600_000)
    }
}

/// The priority of an open case at server time `now_ms`.
pub fn priority(case: &Case, now_ms: i64) -> i64 {
    let money = case
        .money_at_risk()
        .iter()
        .map(|(cur, amount)| i64::from(major_digits(*amount, cur)) * 10)
        .max()
        .unwrap_or(0);
    let waiting = ((now_ms - case.opened_ms) / 3_600_000).clamp(0, 48);
    let score = case.max_score().clamp(0, 100);
    let report = if case.family == Family::Report { 25 } else { 0 };
    money + waiting + score + action_weight(case.top_action()) + report
}

/// One row of the queue.
#[derive(Clone, Debug)]
pub struct Row<'a> {
    pub case: &'a Case,
    pub priority: i64,
    /// Set when the viewer holds the claim.
    pub mine: bool,
}

/// The open cases `viewer` may take (unclaimed, or claimed by the viewer),
/// highest priority first (then oldest, then lowest id), at most `limit`.
pub fn queue<'a>(
    index: &'a Index,
    viewer: &str,
    filter: &Filter,
    now_ms: i64,
    limit: usize,
) -> Vec<Row<'a>> {
    let mut rows: Vec<Row<'a>> = index
        .cases()
        .filter(|c| c.is_open() && filter.keeps(c, now_ms))
        .filter_map(|c| match c.claimed_by(now_ms) {
            Some(who) if who != viewer => None,
            claimed => Some(Row {
                case: c,
                priority: priority(c, now_ms),
                mine: claimed.is_some(),
            }),
        })
        .collect();
    rows.sort_by(|a, b| {
        b.priority
            .cmp(&a.priority)
            .then(a.case.opened_ms.cmp(&b.case.opened_ms))
            .then(a.case.id.cmp(&b.case.id))
    });
    rows.truncate(limit);
    rows
}

/// The case "next" gives `viewer`: the top of its unfiltered queue that is
/// not already the viewer's, or else the viewer's own.
pub fn next_case(index: &Index, viewer: &str, filter: &Filter, now_ms: i64) -> Option<u64> {
    let rows = queue(index, viewer, filter, now_ms, usize::MAX);
    rows.iter()
        .find(|r| !r.mine)
        .or_else(|| rows.first())
        .map(|r| r.case.id)
}
