//! The queue's kept order: every open case by its priority apart from the
//! time waiting ([`crate::queue::base_priority`]), highest first, then
//! oldest, then lowest id. Kept in step as the log is applied (a case is
//! placed again whenever an entry changes it: an event joins it, an act
//! decides, claims or closes it, it is evicted), so a queue page walks the
//! highest cases first and stops once no further case can enter it: the
//! time waiting adds at most [`crate::queue::MAX_WAITING`] points.

use super::{Case, Index};
use std::cmp::Reverse;

/// A case's place in the order: (highest base first, oldest, lowest id).
pub(super) type Place = (Reverse<i64>, i64, u64);

impl Index {
    /// Places case `id` again after a change (or takes it out: closed or gone).
    pub(super) fn requeue(&mut self, id: u64) {
        if let Some(old) = self.queue_place.remove(&id) {
            self.queue_order.remove(&old);
        }
        let Some(case) = self.cases.get(&id).filter(|c| c.is_open()) else {
            return;
        };
        let place = (
            Reverse(crate::queue::base_priority(case)),
            case.opened_ms,
            id,
        );
        self.queue_order.insert(place);
        self.queue_place.insert(id, place);
    }

    /// The open cases, highest base priority first (then oldest, lowest id),
    /// with their base priority.
    pub fn open_by_base(&self) -> impl Iterator<Item = (i64, &Case)> + '_ {
        self.queue_order
            .iter()
            .filter_map(|(Reverse(base), _, id)| Some((*base, self.cases.get(id)?)))
    }

    /// The open cases in the kept order (tests compare it with a recount).
    pub fn open_count_in_order(&self) -> usize {
        self.queue_order.len()
    }
}

#[cfg(test)]
#[path = "order_tests.rs"]
mod tests;
