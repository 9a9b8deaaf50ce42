//! What is acknowledged and not yet in the database: the journaled batches the
//! applier has not committed, in memory, so that every read sees an op the moment
//! its waiter is answered.
//!
//! Each entry carries the batch that wrote it (an event's index entry leaves
//! with its record instead). The writer adds a batch after its
//! journal record is synced and before it answers; the applier removes the
//! entries of the batches its durable commit covered, after that commit (an entry
//! a later batch rewrote stays). A read looks here **first, then** in the
//! database: an entry that leaves meanwhile was committed before it left, so the
//! database read that follows finds it.

use crate::writer::{EventKey, Op};
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

/// What an entry costs besides its key and payload bytes (map nodes, the
/// stamp), for [`Overlay::bytes`]: so that many empty ops still count.
const ENTRY_COST: usize = 64;

/// A log record's bytes and the event it carries.
type Record = (Vec<u8>, Option<EventKey>);

/// A value and the batch that wrote it.
#[derive(Debug, Clone)]
struct Stamped<T> {
    batch: u64,
    value: T,
}

/// The acknowledged, not yet committed state.
#[derive(Debug, Default)]
pub(crate) struct Overlay {
    /// seq -> record, and the event it indexes.
    log: BTreeMap<u64, Stamped<Record>>,
    /// event id -> service -> seq (leaves with its record: see
    /// [`Overlay::remove_through`]).
    events: BTreeMap<String, BTreeMap<String, u64>>,
    meta: HashMap<String, Stamped<Vec<u8>>>,
    packs: BTreeMap<String, Stamped<Vec<u8>>>,
    snapshot: Option<Stamped<(u64, Vec<u8>)>>,
    /// key -> record, or `None`: deleted (the database may still hold it).
    stepup: BTreeMap<String, Stamped<Option<Vec<u8>>>>,
    /// Bytes held: keys, payloads and [`ENTRY_COST`] an entry.
    bytes: usize,
}

impl Overlay {
    /// Adds batch `batch`'s ops, in order.
    pub(crate) fn add(&mut self, batch: u64, ops: &[Op]) {
        let (mut added, mut replaced) = (0usize, 0usize);
        for op in ops {
            match op {
                Op::Append { seq, event, bytes } => {
                    added += ENTRY_COST + bytes.len();
                    let value = (bytes.clone(), event.clone());
                    let old = self.log.insert(*seq, stamp(batch, value));
                    replaced += old.map_or(0, |o| ENTRY_COST + o.value.0.len());
                    if let Some(e) = event {
                        let cost = ENTRY_COST + e.id.len() + e.service.len();
                        added += cost;
                        let services = self.events.entry(e.id.clone()).or_default();
                        let old = services.insert(e.service.clone(), *seq);
                        replaced += old.map_or(0, |_| cost);
                    }
                }
                Op::Snapshot { seq, bytes } => {
                    added += ENTRY_COST + bytes.len();
                    let old = self.snapshot.replace(stamp(batch, (*seq, bytes.clone())));
                    replaced += old.map_or(0, |o| ENTRY_COST + o.value.1.len());
                }
                Op::PutMeta { key, bytes } => {
                    added += ENTRY_COST + key.len() + bytes.len();
                    let old = self.meta.insert(key.clone(), stamp(batch, bytes.clone()));
                    replaced += old.map_or(0, |o| ENTRY_COST + key.len() + o.value.len());
                }
                Op::PutPack { version, bytes } => {
                    added += ENTRY_COST + version.len() + bytes.len();
                    let old = self
                        .packs
                        .insert(version.clone(), stamp(batch, bytes.clone()));
                    replaced += old.map_or(0, |o| ENTRY_COST + version.len() + o.value.len());
                }
                Op::StartAt { .. } => {}
                Op::StepUp { entries } => {
                    for (key, value) in entries {
                        added += stepup_cost(key, value);
                        let old = self.stepup.insert(key.clone(), stamp(batch, value.clone()));
                        replaced += old.map_or(0, |o| stepup_cost(key, &o.value));
                    }
                }
            }
        }
        self.bytes = (self.bytes + added).saturating_sub(replaced);
    }

    /// Drops what batches up to `batch` wrote and no later batch rewrote: a
    /// durable commit holds it now. Records leave from the front of the log
    /// (seqs and batches rise together), each with its event's index entry
    /// unless a later record took it over: the work is what leaves. The
    /// other maps hold rare writes and are swept.
    pub(crate) fn remove_through(&mut self, batch: u64) {
        let mut freed = 0usize;
        while let Some(entry) = self.log.first_entry() {
            if entry.get().batch > batch {
                break;
            }
            let (
                seq,
                Stamped {
                    value: (bytes, event),
                    ..
                },
            ) = entry.remove_entry();
            freed += ENTRY_COST + bytes.len();
            let Some(e) = event else {
                continue;
            };
            let Some(services) = self.events.get_mut(&e.id) else {
                continue;
            };
            if services.get(&e.service) == Some(&seq) {
                services.remove(&e.service);
                freed += ENTRY_COST + e.id.len() + e.service.len();
            }
            if services.is_empty() {
                self.events.remove(&e.id);
            }
        }
        let keep = |s: u64| s > batch;
        self.meta.retain(|k, e| {
            keep(e.batch) || {
                freed += ENTRY_COST + k.len() + e.value.len();
                false
            }
        });
        self.packs.retain(|k, e| {
            keep(e.batch) || {
                freed += ENTRY_COST + k.len() + e.value.len();
                false
            }
        });
        if let Some(e) = self.snapshot.take_if(|e| !keep(e.batch)) {
            freed += ENTRY_COST + e.value.1.len();
        }
        self.stepup.retain(|k, e| {
            keep(e.batch) || {
                freed += stepup_cost(k, &e.value);
                false
            }
        });
        self.bytes = self.bytes.saturating_sub(freed);
    }

    /// Payload bytes held.
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Whether nothing is held.
    pub(crate) fn is_empty(&self) -> bool {
        self.log.is_empty()
            && self.events.is_empty()
            && self.meta.is_empty()
            && self.packs.is_empty()
            && self.snapshot.is_none()
            && self.stepup.is_empty()
    }

    pub(crate) fn last_seq(&self) -> Option<u64> {
        self.log.last_key_value().map(|(k, _)| *k)
    }

    pub(crate) fn record(&self, seq: u64) -> Option<Vec<u8>> {
        self.log.get(&seq).map(|e| e.value.0.clone())
    }

    /// Up to `most` records from `from` on, ascending.
    pub(crate) fn records_from(&self, from: u64, most: usize) -> Vec<(u64, Vec<u8>)> {
        self.log
            .range(from..)
            .take(most)
            .map(|(k, e)| (*k, e.value.0.clone()))
            .collect()
    }

    pub(crate) fn event(&self, service: &str, id: &str) -> Option<u64> {
        self.events
            .get(id)
            .and_then(|services| services.get(service))
            .copied()
    }

    /// (service, seq) of every service's event `id`.
    pub(crate) fn events_of(&self, id: &str) -> Vec<(String, u64)> {
        self.events.get(id).map_or_else(Vec::new, |services| {
            services
                .iter()
                .map(|(service, seq)| (service.clone(), *seq))
                .collect()
        })
    }

    pub(crate) fn meta(&self, key: &str) -> Option<Vec<u8>> {
        self.meta.get(key).map(|e| e.value.clone())
    }

    pub(crate) fn pack(&self, version: &str) -> Option<Vec<u8>> {
        self.packs.get(version).map(|e| e.value.clone())
    }

    pub(crate) fn packs(&self) -> Vec<(String, Vec<u8>)> {
        self.packs
            .iter()
            .map(|(k, e)| (k.clone(), e.value.clone()))
            .collect()
    }

    pub(crate) fn snapshot(&self) -> Option<(u64, Vec<u8>)> {
        self.snapshot.as_ref().map(|e| e.value.clone())
    }

    /// `Some(Some(bytes))`: written; `Some(None)`: deleted; `None`: not here.
    pub(crate) fn stepup(&self, key: &str) -> Option<Option<Vec<u8>>> {
        self.stepup.get(key).map(|e| e.value.clone())
    }

    /// The step-up entries under `prefix` (all of them for `""`), deletions
    /// included as `None`.
    pub(crate) fn stepups_under(&self, prefix: &str) -> Vec<(String, Option<Vec<u8>>)> {
        self.stepup
            .range::<str, _>((Bound::Included(prefix), Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, e)| (k.clone(), e.value.clone()))
            .collect()
    }
}

fn stepup_cost(key: &str, value: &Option<Vec<u8>>) -> usize {
    ENTRY_COST + key.len() + value.as_ref().map_or(0, Vec::len)
}

fn stamp<T>(batch: u64, value: T) -> Stamped<T> {
    Stamped { batch, value }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EventKey;

    fn append(seq: u64, service: &str, id: &str) -> Op {
        Op::Append {
            seq,
            event: Some(EventKey::new(service, id)),
            bytes: format!("r{seq}").into_bytes(),
        }
    }

    #[test]
    fn a_rewrite_by_a_later_batch_outlives_the_earlier_commit() {
        let mut o = Overlay::default();
        let put = |v: &str| Op::PutMeta {
            key: "k".into(),
            bytes: v.as_bytes().to_vec(),
        };
        o.add(1, &[append(1, "s", "a"), put("one")]);
        o.add(2, &[append(2, "s", "a"), put("two")]);
        o.remove_through(1);
        assert_eq!(o.meta("k"), Some(b"two".to_vec()));
        assert_eq!(o.event("s", "a"), Some(2));
        assert_eq!(o.record(1), None, "batch 1's record is committed");
        assert_eq!(o.record(2), Some(b"r2".to_vec()));
        o.remove_through(2);
        assert!(o.is_empty());
        assert_eq!(o.bytes(), 0);
    }

    #[test]
    fn bytes_count_what_is_held_and_return_to_zero() {
        let mut o = Overlay::default();
        let empty = |seq: u64| Op::Append {
            seq,
            event: Some(EventKey::new("svc", "x".repeat(100))),
            bytes: Vec::new(),
        };
        o.add(1, &[empty(1)]);
        let one = o.bytes();
        assert!(
            one >= 2 * ENTRY_COST + 103,
            "an empty op with a long id counts: {one}"
        );
        // The same event id again: the index entry is taken over, not added.
        o.add(2, &[empty(2)]);
        assert_eq!(o.bytes(), one + ENTRY_COST);
        o.remove_through(1);
        assert_eq!(
            o.event("svc", &"x".repeat(100)),
            Some(2),
            "batch 2 took it over"
        );
        o.remove_through(2);
        assert_eq!(o.bytes(), 0);
        assert!(o.is_empty());
    }

    #[test]
    fn deletions_are_held_until_committed() {
        let mut o = Overlay::default();
        let stepup = |k: &str, v: Option<&str>| Op::StepUp {
            entries: vec![(k.into(), v.map(|v| v.as_bytes().to_vec()))],
        };
        o.add(
            1,
            &[stepup("analyst/a", Some("x")), stepup("analyst/b", None)],
        );
        o.add(1, &[stepup("customer/c", Some("y"))]);
        assert_eq!(o.stepup("analyst/b"), Some(None));
        assert_eq!(o.stepup("nobody"), None);
        let under: Vec<String> = o
            .stepups_under("analyst/")
            .into_iter()
            .map(|e| e.0)
            .collect();
        assert_eq!(under, ["analyst/a", "analyst/b"]);
        assert_eq!(o.stepups_under("").len(), 3);
    }

    #[test]
    fn records_from_pages_in_order() {
        let mut o = Overlay::default();
        for seq in 1..=5 {
            o.add(seq, &[append(seq, "s", &format!("e{seq}"))]);
        }
        let seqs: Vec<u64> = o.records_from(2, 2).into_iter().map(|r| r.0).collect();
        assert_eq!(seqs, [2, 3]);
        assert_eq!(o.last_seq(), Some(5));
        assert_eq!(o.events_of("e3"), vec![("s".to_string(), 3)]);
    }
}
