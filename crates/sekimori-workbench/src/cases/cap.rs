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
//! 3. anything else (a plain `deny`: nothing waits on it), and a held case
//!    past the reserve, is refused: counted in `overflow`, in the metric
//!    `sekimori_workbench_cases_refused_total{kind}`, and logged (an error
//!    for a held case, a warning for the rest, the first and every
//!    1,000th). Never silently.
//!
//! The same log and the same cap give the same index (eviction and refusal
//! depend on the entries alone).

use super::Index;
use sekimori_engine::Decision;
use sekimori_rules::Action;

/// The cases the index holds unless configured otherwise.
pub const DEFAULT_MAX_CASES: usize = 1_000_000;

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
            metrics::counter!("sekimori_workbench_cases_evicted_total").increment(1);
            return true;
        }
        let kept = case_must_be_kept(event_type, decision);
        if kept && self.cases.len() < self.cap.saturating_add((self.cap / 8).max(1)) {
            return true;
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

    /// Drops a closed case and its lookups.
    fn evict(&mut self, id: u64) {
        let Some(case) = self.cases.remove(&id) else {
            return;
        };
        self.evicted += 1;
        self.unindex_terms(id, &case.terms);
        for e in &case.events {
            let key = (case.service.clone(), e.event_id.clone());
            if self.by_event.get(&key) == Some(&id) {
                self.by_event.remove(&key);
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
