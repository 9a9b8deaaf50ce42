//! The engine bound to its durable log. Every change of state goes through
//! here, in one order: decide (or apply), assign the next sequence number,
//! hand the entry to the store's group-commit writer. Callers hold the ledger
//! exclusively (one mutex), so log order is decision order and a restart that
//! replays the log rebuilds the same state.

use crate::clock::wall_clock_rfc3339;
use crate::log::{Durable, Log, Record};
use crate::replica::Replica;
use sekimori_engine::{Decision, Engine, Entry, HoldKey, Prepared};
use sekimori_rules::{Action, Pack, PackError, PackSource};
use sekimori_store::{EventKey, Store, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::oneshot;

mod entry_bytes;
mod reads;
pub use reads::*;

/// What PACKS stores for each version.
#[derive(Debug, Serialize, Deserialize)]
pub struct PackRecord {
    pub source: PackSource,
    pub digest: String,
    /// Wall-clock time of publication, for the audit trail only.
    pub published_at: String,
    pub by: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("the stored rule pack {0} does not compile: {1:?}")]
    StoredPack(String, Vec<PackError>),
    #[error("{0}")]
    Corrupt(String),
    #[error("pack version {0} was published before with other content; bump pack.version")]
    VersionExists(String),
}

#[derive(Debug)]
pub struct Ledger {
    /// The node's own store: packs, the event index, step-up records. For
    /// the embedded log it is the log too.
    store: Arc<Store>,
    /// Where entries and snapshots go (and are read back from at open).
    log: Arc<dyn Log>,
    engine: Engine,
    next_seq: u64,
    snapshot_every: u64,
    since_snapshot: u64,
    /// Pack versions published by this process, with their digests.
    published: BTreeMap<String, String>,
    /// Decisions that differed when the log was replayed at open.
    pub replay_mismatches: u64,
    /// The engine's memory accounting as last reported to telemetry.
    memory: sekimori_engine::MemoryStats,
    /// Set while a periodic snapshot is being serialised off the lock: the
    /// next one waits for it (one state copy at a time, and snapshots reach
    /// the store in seq order).
    snapshotting: Arc<AtomicBool>,
}

impl Ledger {
    /// Opens the ledger: restores the engine from the latest snapshot and the
    /// log after it. An empty store goes live with `initial` first. Blocks on
    /// I/O: call it outside async code (the server uses `spawn_blocking`).
    pub fn open(
        store: Arc<Store>,
        initial: Arc<Pack>,
        snapshot_every: u64,
    ) -> Result<Ledger, LedgerError> {
        let log: Arc<dyn Log> = store.clone();
        Ledger::open_on(store, log, initial, snapshot_every)
    }

    /// Opens the ledger on another [`Log`] (a replicated one), with `store`
    /// as the node's own store of packs and the event index. The log must
    /// already hold everything `store` does (a replica applies each entry
    /// to its store as it reads it).
    pub fn open_on(
        store: Arc<Store>,
        log: Arc<dyn Log>,
        initial: Arc<Pack>,
        snapshot_every: u64,
    ) -> Result<Ledger, LedgerError> {
        if log.last_seq()? > 0 {
            return Ledger::restore(store, log, snapshot_every);
        }
        let mut l = Ledger::fresh(
            store,
            log,
            Engine::new(Arc::clone(&initial)),
            1,
            snapshot_every,
        );
        wait(l.publish(&initial, "initial")?)?;
        Ok(l)
    }

    /// A ledger over `engine`, whose state is the log up to `next_seq - 1`
    /// (a replica that applied the log itself and now leads).
    pub fn from_engine(
        store: Arc<Store>,
        log: Arc<dyn Log>,
        engine: Engine,
        next_seq: u64,
        snapshot_every: u64,
    ) -> Ledger {
        Ledger::fresh(store, log, engine, next_seq, snapshot_every)
    }

    fn fresh(
        store: Arc<Store>,
        log: Arc<dyn Log>,
        engine: Engine,
        next_seq: u64,
        snapshot_every: u64,
    ) -> Ledger {
        let memory = engine.memory();
        Ledger {
            memory,
            store,
            log,
            engine,
            next_seq,
            snapshot_every,
            since_snapshot: 0,
            published: BTreeMap::new(),
            replay_mismatches: 0,
            snapshotting: Arc::new(AtomicBool::new(false)),
        }
    }

    fn restore(
        store: Arc<Store>,
        log: Arc<dyn Log>,
        snapshot_every: u64,
    ) -> Result<Ledger, LedgerError> {
        let mut replica = Replica::from_snapshot(&store, log.snapshot()?);
        for row in log.read_from(replica.next_seq())? {
            let (seq, bytes) = row?;
            replica.apply(&store, seq, &bytes)?;
        }
        let mismatches = replica.mismatches;
        let (engine, next) = replica.into_engine()?;
        let mut l = Ledger::fresh(store, log, engine, next, snapshot_every);
        l.replay_mismatches = mismatches;
        Ok(l)
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The log entries go to.
    pub fn log(&self) -> &Arc<dyn Log> {
        &self.log
    }

    /// The sequence the next entry takes.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    fn append(&mut self, event: Option<EventKey>, entry: &Entry) -> Durable {
        self.append_record(Record::entry(event, entry.to_bytes()))
    }

    fn append_record(&mut self, record: Record) -> Durable {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.log.append(seq, record)
    }

    /// Decides an event and logs it with its decision. The event's JSON was
    /// built beforehand ([`Prepared`]), outside whatever lock guards the ledger.
    pub fn decide(&mut self, prepared: &Prepared) -> (Decision, Durable) {
        let (decision, durable, _) = self.decide_logged(prepared, false);
        (decision, durable)
    }

    /// [`Ledger::decide`], also giving the decision's JSON as its log entry
    /// holds it (exactly `serde_json::to_vec(&decision)`): an answer then
    /// writes those bytes instead of serializing the decision a second time.
    pub fn decide_json(&mut self, prepared: &Prepared) -> (Decision, Durable, Vec<u8>) {
        self.decide_logged(prepared, true)
    }

    fn decide_logged(&mut self, prepared: &Prepared, json: bool) -> (Decision, Durable, Vec<u8>) {
        let event = prepared.event();
        let decision = self.engine.decide_prepared(prepared);
        self.report_memory();
        // The entry's bytes straight from the borrowed event and decision:
        // no copy of either under the lock (the same bytes as
        // `Entry::Event`'s `to_bytes`; `entry_bytes`' test holds that).
        let (bytes, at) = entry_bytes::event(prepared.canonical_bytes(), &decision);
        let json = match json {
            true if !at.is_empty() => bytes[at].to_vec(),
            true => serde_json::to_vec(&decision).unwrap_or_default(),
            false => Vec::new(),
        };
        let key = EventKey::new(event.service.as_str(), event.id.as_str());
        let durable = self.append_record(Record::entry(Some(key), bytes));
        self.since_snapshot += 1;
        // A snapshot still being written delays the next (it is only replay time).
        if self.since_snapshot >= self.snapshot_every && !self.snapshotting.load(Ordering::Acquire)
        {
            drop(self.snapshot());
        }
        (decision, durable, json)
    }

    /// Writes a snapshot of the engine as of the last appended entry. Under
    /// `&mut self` (the ledger lock) only the state is copied; a thread of
    /// its own serialises the copy and submits it behind the entries it
    /// covers, so deciding goes on meanwhile. The receiver resolves once
    /// the snapshot is durable. Snapshots reach the store in seq order: the
    /// caller's next one waits for this one's thread (see `snapshotting`).
    pub fn snapshot(&mut self) -> Durable {
        self.since_snapshot = 0;
        let seq = self.next_seq - 1;
        let version = self.engine.pack().version().to_string();
        let copy = self.engine.snapshot_copy();
        // An earlier snapshot still being written goes first.
        while self.snapshotting.swap(true, Ordering::AcqRel) {
            std::thread::yield_now();
        }
        let (tx, rx) = oneshot::channel();
        let log = Arc::clone(&self.log);
        let busy = Arc::clone(&self.snapshotting);
        let spawned = std::thread::Builder::new()
            .name("sekimori-snapshot".into())
            .spawn(move || {
                let mut bytes = version.into_bytes();
                bytes.push(b'\n');
                bytes.extend(copy.to_bytes());
                // Freeing the copy is slow too: not on the deciding thread either.
                drop(copy);
                let done = log.put_snapshot(seq, bytes);
                busy.store(false, Ordering::Release);
                let _ = tx.send(done.blocking_recv().unwrap_or(Err(StoreError::Failed)));
            });
        if let Err(e) = spawned {
            self.snapshotting.store(false, Ordering::Release);
            tracing::error!(error = %e, "no thread for the snapshot; none written");
            let (tx, rx) = oneshot::channel();
            let _ = tx.send(Err(StoreError::Failed));
            return rx;
        }
        rx
    }

    /// Makes a compiled pack live and records it. A version is immutable: one
    /// published before (on disk, or submitted by this process and not yet on
    /// disk) with other content is refused.
    pub fn publish(&mut self, pack: &Arc<Pack>, by: &str) -> Result<Durable, LedgerError> {
        let known = match self.published.get(pack.version()) {
            Some(d) => Some(d.clone()),
            None => self.pack_record(pack.version())?.map(|r| r.digest),
        };
        if known.as_ref().is_some_and(|d| *d != pack.digest) {
            return Err(LedgerError::VersionExists(pack.version().to_string()));
        }
        self.published
            .insert(pack.version().to_string(), pack.digest.clone());
        let record = PackRecord {
            source: pack.source.clone(),
            digest: pack.digest.clone(),
            published_at: wall_clock_rfc3339(),
            by: by.to_string(),
        };
        let bytes = serde_json::to_vec(&record).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
        let entry = Entry::Pack {
            name: pack.name().into(),
            version: pack.version().into(),
            digest: pack.digest.clone(),
            memory_budget: None,
        };
        let durable = self.append_record(Record {
            event: None,
            bytes: entry.to_bytes(),
            pack: Some((pack.version().to_string(), bytes)),
            stepup: Vec::new(),
        });
        self.engine.set_pack(Arc::clone(pack));
        Ok(durable)
    }

    /// Reports the engine's memory accounting and budget evictions.
    fn report_memory(&mut self) {
        let now = self.engine.memory();
        crate::telemetry::engine_memory(&now, &self.memory);
        self.memory = now;
    }

    /// Makes `bytes` the engine's memory budget (`None`: unbounded). The
    /// budget changes decisions (what is evicted), so a change is logged:
    /// the live pack's entry again, carrying the new budget, which a replay
    /// applies at the same point. `None` (nothing logged) when the engine
    /// already decides under this budget, as after a restart with the same
    /// `--max-memory`.
    pub fn set_memory_budget(&mut self, bytes: Option<u64>) -> Option<Durable> {
        if self.engine.memory_budget() == bytes {
            return None;
        }
        self.engine.set_memory_budget(bytes);
        self.report_memory();
        let pack = Arc::clone(self.engine.pack());
        let entry = Entry::Pack {
            name: pack.name().into(),
            version: pack.version().into(),
            digest: pack.digest.clone(),
            memory_budget: Some(bytes.unwrap_or(0)),
        };
        Some(self.append(None, &entry))
    }

    /// Replaces the API-managed items of a list.
    pub fn set_list(
        &mut self,
        name: &str,
        items: BTreeSet<String>,
        by: &str,
    ) -> Result<Durable, String> {
        self.engine.set_list(name, items.clone())?;
        let entry = Entry::List {
            name: name.into(),
            items: items.into_iter().collect(),
            by: by.into(),
        };
        Ok(self.append(None, &entry))
    }

    /// Places an operator's hold (freeze an account, halt anything else) as
    /// of `at_ms`, the request's wall-clock time, which the entry records so
    /// a replay never reads a clock. `Ok(None)` when a hold is already in
    /// force on the key (it is kept); `Err` when the action does not fit the
    /// scope. Nothing is logged unless it was placed.
    pub fn place(
        &mut self,
        hold: HoldKey,
        action: Action,
        by: &str,
        reason: &str,
        at_ms: i64,
    ) -> Result<Option<Durable>, String> {
        if !self
            .engine
            .place_hold(hold.clone(), action, by, reason, at_ms)?
        {
            return Ok(None);
        }
        let entry = Entry::Place {
            hold,
            action,
            by: by.into(),
            reason: reason.into(),
            at: sekimori_event::format_rfc3339_ms(at_ms),
        };
        Ok(Some(self.append(None, &entry)))
    }

    /// Lifts a hold; `None` when no such hold was in force.
    pub fn lift(&mut self, hold: HoldKey, by: &str, reason: &str) -> Option<Durable> {
        if !self.engine.lift_hold(&hold) {
            return None;
        }
        Some(self.append(
            None,
            &Entry::Lift {
                hold,
                by: by.into(),
                reason: reason.into(),
            },
        ))
    }

    /// Logs an entry that changes no engine state: an analyst's action or a
    /// label. It takes the next sequence like every other entry, so the log
    /// stays the one ordered record of everything that happened, and a
    /// replay reads it back in place (the engine skips it). An entry that
    /// carries engine state is refused: those have their own methods, which
    /// apply the change before they log it.
    pub fn append_audit(&mut self, entry: &Entry) -> Result<Durable, String> {
        match entry {
            Entry::Analyst { .. } | Entry::Label { .. } => Ok(self.append(None, entry)),
            Entry::StepUp { what, writes } => {
                let writes = writes
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_ref().map(|v| v.as_bytes().to_vec())))
                    .collect();
                self.append_stepup(what, writes)
            }
            _ => Err("only an analyst's action or a label is logged as audit".into()),
        }
    }

    /// Logs step-up records written (`what`: the change, e.g. `issued`):
    /// an `Entry::StepUp` that carries them, and every store that takes the
    /// entry (this node's, a follower's, an import's) writes them into its
    /// step-up table ahead of it. The engine keeps no state from them.
    /// Records are JSON text; anything else is refused.
    pub fn append_stepup(
        &mut self,
        what: &str,
        writes: crate::log::StepUpWrites,
    ) -> Result<Durable, String> {
        let mut text = Vec::with_capacity(writes.len());
        for (key, value) in &writes {
            let value = match value {
                Some(bytes) => Some(
                    String::from_utf8(bytes.clone())
                        .map_err(|_| format!("step-up record {key} is not UTF-8"))?,
                ),
                None => None,
            };
            text.push((key.clone(), value));
        }
        let entry = Entry::StepUp {
            what: what.to_string(),
            writes: text,
        };
        Ok(self.append_record(Record {
            event: None,
            bytes: entry.to_bytes(),
            pack: None,
            stepup: writes,
        }))
    }

    /// The logged decision for `service`'s event `event_id`, if it is durable.
    pub fn logged_decision(
        &self,
        service: &str,
        event_id: &str,
    ) -> Result<Option<Decision>, LedgerError> {
        logged_decision(&self.store, service, event_id)
    }

    /// The stored record of a pack version.
    pub fn pack_record(&self, version: &str) -> Result<Option<PackRecord>, LedgerError> {
        pack_record(&self.store, version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sekimori_rules::compile;
    use sekimori_rules::embedded::default_pack;

    /// The JSON `decide_json` gives is the decision's own serialization,
    /// byte for byte, for decisions with reasons, methods and features.
    #[test]
    fn the_decision_json_is_the_decisions_serialization() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Arc::new(Store::open(dir.path()).expect("store"));
        let pack = Arc::new(compile(default_pack().expect("pack")).expect("compiles"));
        let mut ledger = Ledger::open(store, pack, 1_000_000).expect("opens");
        let mut challenged = 0;
        for i in 0..40 {
            let event = sekimori_event::decode_value(serde_json::json!({
                "id": format!("e{i}"), "type": "login.attempt",
                "at": format!("2026-06-24T00:00:{:02}Z", i),
                "service": "bank", "account": format!("acct-{}", i % 3),
                "factor": "pin", "result": "failure",
                "actor": {"ip": "203.0.113.9", "device": "d\"1"}}))
            .expect("event");
            let (decision, durable, json) = ledger.decide_json(&Prepared::new(event));
            drop(durable);
            assert_eq!(json, serde_json::to_vec(&decision).expect("json"), "e{i}");
            challenged += usize::from(!decision.reasons.is_empty());
        }
        assert!(challenged > 0, "some decisions carry reasons");
    }
}
