//! The bound of the case index. It holds at most `cap` cases
//! ([`Index::with_cap`], `Config::max_cases`, [`DEFAULT_MAX_CASES`] unless
//! set), counted as cases in memory. When a new case would pass it:
//!
//! 1. the oldest closed case goes (its events' labels stay in the log and
//!    in the label index; `evicted` counts them);
//! 2. with no closed case left, a case an analyst must act on (an event
//!    held for review, a freeze or halt, a "not me": [`case_must_be_kept`])
//!    still opens, up to a reserve of an eighth of the cap (at least one)
//!    above it;
//! 3. past the reserve, such a case takes the place of the oldest open
//!    case no analyst must act on (only plain denies: `evicted` counts it,
//!    and the metric `sekimori_workbench_cases_evicted_total{kind}`);
//! 4. anything else (a plain `deny`: nothing waits on it), and a held case
//!    with nothing left to evict, is refused: counted in `overflow`, in the
//!    metric `sekimori_workbench_cases_refused_total{kind}`, and logged (an
//!    error for a held case, a warning for the rest, the first and every
//!    1,000th). Never silently.
//!
//! Within a case (`join`): at most [`MAX_CASE_EVENTS`] events are kept. Past
//! it an event is only counted (`more_events`): its id and its search terms
//! are not indexed, so one open case (an account retrying with fresh
//! devices on a frozen account) cannot grow the index. An event held for
//! review is always kept, in place of the oldest event not waiting on a
//! decision; only when every kept event is held too is it counted as held
//! and not kept (`undecided_held` still counts it: the case cannot close).
//! A case is indexed under at most [`super::search::TERMS_PER_CASE`] search
//! terms, and the whole index under at most [`TERMS_PER_CAP_CASE`] terms
//! and [`EVENT_IDS_PER_CASE`] event ids per case of its cap; what does not
//! fit is counted (`terms_dropped`, `event_ids_dropped`, the metric
//! `sekimori_workbench_index_dropped_total{what}`) and not indexed.
//!
//! The same log and the same cap give the same index (eviction and refusal
//! depend on the entries alone).

use super::{CaseEvent, Index, MAX_CASE_EVENTS};
use sekimori_engine::Decision;
use sekimori_rules::Action;

/// The cases the index holds unless configured otherwise.
pub const DEFAULT_MAX_CASES: usize = 1_000_000;
/// Search terms the index holds, per case of its cap (on average).
pub const TERMS_PER_CAP_CASE: usize = 16;
/// Event ids (event -> case) the index holds, per case of its cap.
pub const EVENT_IDS_PER_CASE: usize = 64;

/// Whether a new case for this event must open even when the index is full
/// (up to the reserve): an analyst or the service waits on it.
pub fn case_must_be_kept(event_type: &str, decision: &Decision) -> bool {
    matches!(
        decision.action,
        Action::Review | Action::Freeze | Action::Halt
    ) || event_type == "report.not_me"
}

impl Index {
    /// Room for one more case opened by the entry at `seq`: `false` when
    /// it is refused (counted and logged).
    pub(super) fn make_room(&mut self, seq: u64, event_type: &str, decision: &Decision) -> bool {
        if self.cases.len() < self.cap {
            return true;
        }
        if let Some(oldest) = self.closed_order.pop_first() {
            self.evict(oldest);
            metrics::counter!("sekimori_workbench_cases_evicted_total", "kind" => "closed")
                .increment(1);
            return true;
        }
        let kept = case_must_be_kept(event_type, decision);
        if kept && self.cases.len() < self.cap.saturating_add((self.cap / 8).max(1)) {
            return true;
        }
        if kept {
            if let Some(oldest) = self.low_open.pop_first() {
                self.evict(oldest);
                metrics::counter!("sekimori_workbench_cases_evicted_total", "kind" => "open_low_priority").increment(1);
                return true;
            }
        }
        self.overflow += 1;
        let kind = if kept { "held" } else { "low_priority" };
        metrics::counter!("sekimori_workbench_cases_refused_total", "kind" => kind).increment(1);
        if kept {
            tracing::error!(
                seq,
                event_id = %decision.event_id,
                cap = self.cap,
                "case index full past its reserve: a held event opened no case; raise the workbench's case cap"
            );
        } else if self.overflow % 1000 == 1 {
            tracing::warn!(
                seq,
                refused = self.overflow,
                cap = self.cap,
                "case index full: low-priority cases are not opened"
            );
        }
        false
    }

    /// Adds an event to case `id` within its bounds; `true` when it was
    /// kept (its terms are then indexed by the caller).
    pub(super) fn join(&mut self, id: u64, service: &str, ce: CaseEvent) -> bool {
        let Some(case) = self.cases.get_mut(&id) else {
            return false;
        };
        let mut dropped = None;
        if case.events.len() >= MAX_CASE_EVENTS {
            if !ce.is_held() {
                case.more_events += 1;
                return false;
            }
            match case.events.iter().position(|e| !e.is_held()) {
                Some(i) => {
                    dropped = Some(case.events.remove(i).event_id);
                    case.more_events += 1;
                }
                None => {
                    case.more_events += 1;
                    *self.held_unkept.entry(id).or_default() += 1;
                    metrics::counter!("sekimori_workbench_index_dropped_total", "what" => "held_event").increment(1);
                    tracing::error!(
                        case = id,
                        event_id = %ce.event_id,
                        "a case holds {MAX_CASE_EVENTS} events all waiting on a decision: a further held event is counted, not kept; decide the others first"
                    );
                    return false;
                }
            }
        }
        let event_id = ce.event_id.clone();
        case.events.push(ce);
        if let Some(old) = dropped {
            let key = (service.to_string(), old);
            if self.by_event.get(&key) == Some(&id) {
                self.by_event.remove(&key);
                self.drop_labels(&key);
            }
        }
        let key = (service.to_string(), event_id);
        if self.by_event.len() < self.max_event_ids || self.by_event.contains_key(&key) {
            self.by_event.insert(key, id);
        } else {
            self.event_ids_dropped += 1;
            metrics::counter!("sekimori_workbench_index_dropped_total", "what" => "event_id")
                .increment(1);
            if self.event_ids_dropped % 1000 == 1 {
                tracing::warn!(
                    bound = self.max_event_ids,
                    "case index: event ids past the bound are not indexed (labels on them reach no case history)"
                );
            }
        }
        true
    }

    /// The events of case `id` held for review and not yet decided, kept
    /// or not: the case cannot close while any is.
    pub fn undecided_held(&self, id: u64) -> u64 {
        let kept = self.cases.get(&id).map_or(0, |c| c.undecided_held());
        kept.saturating_add(self.held_unkept.get(&id).copied().unwrap_or(0))
    }

    /// How many event ids (event -> case) the index holds.
    pub fn event_id_count(&self) -> usize {
        self.by_event.len()
    }

    /// Drops a case (closed, or open with nothing waiting on it) and its
    /// lookups.
    fn evict(&mut self, id: u64) {
        let Some(case) = self.cases.remove(&id) else {
            return;
        };
        self.requeue(id);
        self.evicted += 1;
        self.low_open.remove(&id);
        self.closed_order.remove(&id);
        self.held_unkept.remove(&id);
        if let Some(claim) = &case.claim {
            if let Some(set) = self.claimed.get_mut(&claim.by) {
                set.remove(&id);
            }
        }
        let open_key = (case.service.clone(), case.entity.clone(), case.family);
        if self.open.get(&open_key) == Some(&id) {
            self.open.remove(&open_key);
        }
        self.unindex_terms(id, &case.terms);
        for e in &case.events {
            let key = (case.service.clone(), e.event_id.clone());
            if self.by_event.get(&key) == Some(&id) {
                self.by_event.remove(&key);
                self.drop_labels(&key);
            }
        }
        let key = (case.service.clone(), case.entity.clone());
        if let Some(ids) = self.entity_cases.get_mut(&key) {
            ids.retain(|x| *x != id);
            if ids.is_empty() {
                self.entity_cases.remove(&key);
            }
        }
    }
}
