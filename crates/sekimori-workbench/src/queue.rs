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
use std::collections::BinaryHeap;

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

/// The most points the time waiting adds (48 hours).
pub const MAX_WAITING: i64 = 48;

/// The priority of an open case at server time `now_ms`: its base and the
/// hours waiting.
pub fn priority(case: &Case, now_ms: i64) -> i64 {
    base_priority(case) + waiting(case, now_ms)
}

/// Points for the hours case `case` has waited at `now_ms`.
fn waiting(case: &Case, now_ms: i64) -> i64 {
    ((now_ms - case.opened_ms) / 3_600_000).clamp(0, MAX_WAITING)
}

/// The priority apart from the time waiting (the index keeps the open
/// cases in this order: [`Index::open_by_base`]). One pass over its
/// events, allocating only for a case at risk in several currencies.
pub fn base_priority(case: &Case) -> i64 {
    let (mut score, mut action) = (0i64, 0i64);
    let mut single: Option<(&str, i64)> = None;
    let mut several = false;
    for e in &case.events {
        score = score.max(e.score);
        action = action.max(action_weight(e.action));
        if e.outcome.is_some() || e.action == Action::Allow {
            continue;
        }
        if let (Some(a), Some(c)) = (e.amount_minor, e.currency.as_deref()) {
            match &mut single {
                None => single = Some((c, a)),
                Some((cur, sum)) if *cur == c => *sum = sum.saturating_add(a),
                Some(_) => several = true,
            }
        }
    }
    let digits = |(cur, amount): (&str, i64)| i64::from(major_digits(amount, cur)) * 10;
    let money = if several {
        let at_risk = case.money_at_risk();
        at_risk
            .iter()
            .map(|(c, a)| digits((c.as_str(), *a)))
            .max()
            .unwrap_or(0)
    } else {
        single.map_or(0, digits)
    };
    let report = if case.family == Family::Report { 25 } else { 0 };
    money + score.clamp(0, 100) + action + report
}

/// One row of the queue.
#[derive(Clone, Debug)]
pub struct Row<'a> {
    pub case: &'a Case,
    pub priority: i64,
    /// Set when the viewer holds the claim.
    pub mine: bool,
}

/// The order of rows: highest priority first, then oldest, then lowest id.
fn order(a: &Row<'_>, b: &Row<'_>) -> std::cmp::Ordering {
    b.priority
        .cmp(&a.priority)
        .then(a.case.opened_ms.cmp(&b.case.opened_ms))
        .then(a.case.id.cmp(&b.case.id))
}

/// The open cases `viewer` may take (unclaimed, or claimed by the viewer),
/// highest priority first (then oldest, then lowest id), at most `limit`.
///
/// The index keeps the open cases by base priority; waiting adds at most
/// [`MAX_WAITING`], so the walk stops at the first case whose base plus
/// that cannot reach the `limit`th row found so far (cases of an equal
/// priority are still walked: they may be older). A page of the queue
/// therefore reads the cases near its top, not every open case.
pub fn queue<'a>(
    index: &'a Index,
    viewer: &str,
    filter: &Filter,
    now_ms: i64,
    limit: usize,
) -> Vec<Row<'a>> {
    if limit == 0 {
        return Vec::new();
    }
    // The best `limit` rows so far, the worst of them first out.
    let mut best: BinaryHeap<Worst<'a>> = BinaryHeap::new();
    for (base, c) in index.open_by_base() {
        if best.len() >= limit
            && best
                .peek()
                .is_some_and(|w| base + MAX_WAITING < w.0.priority)
        {
            break;
        }
        if !filter.keeps(c, now_ms) {
            continue;
        }
        let claimed = match c.claimed_by(now_ms) {
            Some(who) if who != viewer => continue,
            claimed => claimed,
        };
        let row = Row {
            case: c,
            priority: base + waiting(c, now_ms),
            mine: claimed.is_some(),
        };
        if best.len() < limit {
            best.push(Worst(row));
        } else if best.peek().is_some_and(|w| order(&row, &w.0).is_lt()) {
            best.pop();
            best.push(Worst(row));
        }
    }
    let mut rows: Vec<Row<'a>> = best.into_iter().map(|w| w.0).collect();
    rows.sort_by(order);
    rows
}

/// A row ordered so that a max-heap's top is the row that comes last.
struct Worst<'a>(Row<'a>);

impl PartialEq for Worst<'_> {
    fn eq(&self, other: &Self) -> bool {
        order(&self.0, &other.0).is_eq()
    }
}

impl Eq for Worst<'_> {}

impl PartialOrd for Worst<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Worst<'_> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        order(&self.0, &other.0)
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::CaseEvent;

    fn event(action: Action, amount: Option<(i64, &str)>, score: i64) -> CaseEvent {
        CaseEvent {
            seq: 1,
            event_id: "e".into(),
            event_type: "transfer".into(),
            at_ms: 0,
            action,
            score,
            rules: Vec::new(),
            amount_minor: amount.map(|a| a.0),
            currency: amount.map(|a| a.1.to_string()),
            outcome: None,
            approvals: Vec::new(),
        }
    }

    fn case(events: Vec<CaseEvent>) -> Case {
        Case {
            id: 1,
            service: "s".into(),
            entity: "a".into(),
            entity_is_account: true,
            family: Family::Money,
            opened_ms: 0,
            events,
            more_events: 0,
            claim: None,
            closed: None,
            notes: Vec::new(),
            history: Vec::new(),
            terms: Vec::new(),
        }
    }

    #[test]
    fn priority_adds_money_waiting_score_and_action() {
        let hour = 3_600_000;
        // JPY 1,500,000 (7 digits: 70) + 3 h + score 60 + review 20.
        let c = case(vec![event(Action::Review, Some((1_500_000, "JPY")), 60)]);
        assert_eq!(priority(&c, 3 * hour), 70 + 3 + 60 + 20);
        // Two currencies: the larger by digits; waiting capped at 48.
        let c = case(vec![
            event(Action::Review, Some((150_000, "USD")), 10),
            event(Action::Freeze, Some((9_000, "JPY")), 0),
        ]);
        assert_eq!(priority(&c, 100 * hour), 40 + 48 + 10 + 30);
        // Decided money is no longer at risk.
        let mut decided = event(Action::Review, Some((1_500_000, "JPY")), 0);
        decided.outcome = Some(crate::cases::Outcome {
            approved: false,
            by: "x".into(),
            at: String::new(),
        });
        assert_eq!(priority(&case(vec![decided]), 0), 20);
        assert_eq!(
            priority(
                &case(vec![event(Action::Review, Some((1_500_000, "JPY")), 0)]),
                0
            ),
            c_money(1_500_000, "JPY") + 20
        );
    }

    fn c_money(amount: i64, cur: &str) -> i64 {
        let at_risk = case(vec![event(Action::Review, Some((amount, cur)), 0)]).money_at_risk();
        at_risk
            .iter()
            .map(|(c, a)| i64::from(major_digits(*a, c)) * 10)
            .max()
            .unwrap_or(0)
    }
}
