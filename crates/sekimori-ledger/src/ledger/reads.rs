//! Reads of the store behind a ledger: logged decisions, pack records,
//! snapshots; and waiting for durability outside async code.

use super::{LedgerError, PackRecord};
use crate::log::Durable;
use sekimori_engine::{Decision, Engine, Entry};
use sekimori_rules::{compile, Pack};
use sekimori_store::{Store, StoreError};
use std::sync::Arc;

/// Blocks until entries are durable (outside async code only).
pub fn wait(durable: Durable) -> Result<(), LedgerError> {
    durable
        .blocking_recv()
        .map_err(|_| StoreError::Failed)?
        .map_err(LedgerError::from)
}

/// Reads the logged decision of `service`'s event `event_id` straight from
/// the store (no ledger lock needed). Ids are unique within a service only:
/// another service's event with the same id is another event.
pub fn logged_decision(
    store: &Store,
    service: &str,
    event_id: &str,
) -> Result<Option<Decision>, LedgerError> {
    let Some(seq) = store.seq_of_service_event(service, event_id)? else {
        return Ok(None);
    };
    // A format-1 index entry may be another service's: checked here.
    Ok(logged_at(store, seq)?
        .filter(|(s, _)| s == service)
        .map(|(_, d)| d))
}

/// Every logged decision for an event id, with its event's service: one
/// per service that used the id.
pub fn logged_decisions(
    store: &Store,
    event_id: &str,
) -> Result<Vec<(String, Decision)>, LedgerError> {
    let mut out = Vec::new();
    for seq in store.seqs_of_event(event_id)? {
        if let Some(found) = logged_at(store, seq)? {
            if !out.iter().any(|(s, _)| *s == found.0) {
                out.push(found);
            }
        }
    }
    Ok(out)
}

/// The event's service and decision of the log entry at `seq`.
fn logged_at(store: &Store, seq: u64) -> Result<Option<(String, Decision)>, LedgerError> {
    let bytes = store
        .get(seq)?
        .ok_or_else(|| LedgerError::Corrupt(format!("index names missing entry {seq}")))?;
    match Entry::from_bytes(&bytes).map_err(LedgerError::Corrupt)? {
        Entry::Event { event, decision } => {
            let service = event["service"].as_str().unwrap_or_default().to_string();
            Ok(Some((service, decision)))
        }
        _ => Err(LedgerError::Corrupt(format!("entry {seq} is not an event"))),
    }
}

pub fn pack_record(store: &Store, version: &str) -> Result<Option<PackRecord>, LedgerError> {
    let Some(bytes) = store.pack(version)? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| LedgerError::Corrupt(e.to_string()))
}

pub(crate) fn load_version(store: &Store, version: &str) -> Result<Arc<Pack>, LedgerError> {
    let record = pack_record(store, version)?.ok_or_else(|| {
        LedgerError::Corrupt(format!("pack {version} is named in the log but not stored"))
    })?;
    compile(record.source)
        .map(Arc::new)
        .map_err(|e| LedgerError::StoredPack(version.into(), e))
}

pub(crate) fn restore_snapshot(store: &Store, bytes: &[u8]) -> Result<Engine, LedgerError> {
    let (version, state) = split_snapshot(bytes)?;
    let pack = load_version(store, version)?;
    Engine::restore(pack, state).map_err(LedgerError::Corrupt)
}

fn split_snapshot(bytes: &[u8]) -> Result<(&str, &[u8]), LedgerError> {
    let nl = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| LedgerError::Corrupt("snapshot has no pack version".into()))?;
    let version =
        std::str::from_utf8(&bytes[..nl]).map_err(|e| LedgerError::Corrupt(e.to_string()))?;
    Ok((version, &bytes[nl + 1..]))
}
