//! Decided events not yet durable, by service then id: a duplicate of one
//! is answered with its decision. Looked up by borrowed `&str`s (no key
//! is built per lookup), and the decision is shared (`Arc`), not copied:
//! the answer takes it back once its entry is durable and removed here.

use super::{App, Ledger};
use sekimori_engine::Decision;
use sekimori_event::Event;
use std::collections::HashMap;
use std::sync::atomic::Ordering;
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

impl App {
    /// Releases the pending slots and in-flight entries of settled events
    /// (a stream's answers about to be written): one lock of the table.
    pub(super) fn release<'e>(&self, events: impl Iterator<Item = &'e Event>) {
        let mut n = 0;
        let mut in_flight = self.in_flight_map();
        for event in events {
            in_flight.remove(&event.service, &event.id);
            n += 1;
        }
        drop(in_flight);
        self.pending.fetch_sub(n, Ordering::SeqCst);
    }

    /// For each event, whether no event of its (service, id) was decided
    /// before now: none in flight, then none in the log (in that order, so
    /// an entry that turns durable and leaves the table meanwhile is seen
    /// in the log), in one read of the store. Valid while the caller holds
    /// the ledger lock it held when it asked (nothing else decides
    /// meanwhile; its own decisions stay in the table until settled). A
    /// store error answers `false` for all: each event is then looked up on
    /// its own.
    pub(super) fn absent(&self, _ledger: &Ledger, events: &[&Event]) -> Vec<bool> {
        let mut absent: Vec<bool> = {
            let in_flight = self.in_flight_map();
            events
                .iter()
                .map(|e| in_flight.get(&e.service, &e.id).is_none())
                .collect()
        };
        let keys: Vec<(&str, &str)> = events
            .iter()
            .map(|e| (e.service.as_str(), e.id.as_str()))
            .collect();
        match self.store.seqs_of_service_events(&keys) {
            Ok(seqs) => {
                for (a, seq) in absent.iter_mut().zip(seqs) {
                    *a &= seq.is_none();
                }
            }
            Err(_) => absent.iter_mut().for_each(|a| *a = false),
        }
        absent
    }
}
