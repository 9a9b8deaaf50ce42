//! Decided events not yet durable, by service then id: a duplicate of one
//! is answered with its decision. Looked up by borrowed `&str`s (no key
//! is built per lookup), and the decision is shared (`Arc`), not copied:
//! the answer takes it back once its entry is durable and removed here.

use sekimori_engine::Decision;
use std::collections::HashMap;
use std::sync::Arc;

/// Decided, not yet durable: service → id → decision.
#[derive(Debug, Default)]
pub(super) struct InFlight(HashMap<String, HashMap<String, Arc<Decision>>>);

impl InFlight {
    /// The decision of `service`'s event `id`, if it is in flight.
    pub(super) fn get(&self, service: &str, id: &str) -> Option<&Arc<Decision>> {
        self.0.get(service)?.get(id)
    }

    /// Notes `service`'s event `id` as decided and not yet durable.
    pub(super) fn insert(&mut self, service: &str, id: &str, decision: Arc<Decision>) {
        let ids = match self.0.get_mut(service) {
            Some(ids) => ids,
            None => self.0.entry(service.to_string()).or_default(),
        };
        ids.insert(id.to_string(), decision);
    }

    /// Forgets `service`'s event `id` (durable, or failed).
    pub(super) fn remove(&mut self, service: &str, id: &str) {
        if let Some(ids) = self.0.get_mut(service) {
            ids.remove(id);
            if ids.is_empty() {
                self.0.remove(service);
            }
        }
    }
}

/// The decision itself: taken out of its `Arc` when nothing else holds it
/// (the usual case once settled), copied otherwise.
pub(super) fn owned(decision: Arc<Decision>) -> Decision {
    Arc::try_unwrap(decision).unwrap_or_else(|shared| (*shared).clone())
}
