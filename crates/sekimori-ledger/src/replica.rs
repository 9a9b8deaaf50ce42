//! Rebuilding an engine from a log: a snapshot (when usable) and then every
//! entry after it, in order. The ledger restores this way at open; a
//! replica of a replicated log applies entries this way as they arrive.

use crate::ledger::{load_version, restore_snapshot, LedgerError};
use sekimori_engine::{Engine, Entry};
use sekimori_store::Store;

/// An engine being rebuilt from the log (none until the first pack entry,
/// when there was no usable snapshot).
#[derive(Debug)]
pub struct Replica {
    engine: Option<Engine>,
    last: u64,
    /// Entries whose replayed decision differed from the logged one.
    pub mismatches: u64,
}

impl Replica {
    /// Nothing applied yet.
    pub fn empty() -> Replica {
        Replica {
            engine: None,
            last: 0,
            mismatches: 0,
        }
    }

    /// Starts from `snapshot` (the sequence it covers, and its bytes). An
    /// unusable snapshot (its pack missing, bytes that do not restore) is
    /// skipped with a warning: the log alone is enough, a snapshot only
    /// saves replay time.
    pub fn from_snapshot(store: &Store, snapshot: Option<(u64, Vec<u8>)>) -> Replica {
        let Some((seq, bytes)) = snapshot else {
            return Replica::empty();
        };
        match restore_snapshot(store, &bytes) {
            Ok(engine) => Replica::at(engine, seq),
            Err(e) => {
                tracing::warn!(error = %e, "snapshot unusable; replaying the whole log");
                Replica::empty()
            }
        }
    }

    /// Starts from `engine`, whose state is the log up to `last`.
    pub fn at(engine: Engine, last: u64) -> Replica {
        Replica {
            engine: Some(engine),
            last,
            mismatches: 0,
        }
    }

    /// The sequence of the next entry to apply.
    pub fn next_seq(&self) -> u64 {
        self.last + 1
    }

    /// The last sequence applied (0: none).
    pub fn last_seq(&self) -> u64 {
        self.last
    }

    /// The engine so far (`None` before the first pack entry).
    pub fn engine(&self) -> Option<&Engine> {
        self.engine.as_ref()
    }

    /// Applies entry `seq`, which must be the next one. Packs named by the
    /// entry are read from `store`, where the replica's caller put them.
    /// A decision that replays differently is counted (and logged), not an
    /// error: the logged decision stands.
    pub fn apply(&mut self, store: &Store, seq: u64, bytes: &[u8]) -> Result<(), LedgerError> {
        if seq != self.last + 1 {
            return Err(LedgerError::Corrupt(format!(
                "log entry {seq} follows {}: entries are missing",
                self.last
            )));
        }
        let entry = Entry::from_bytes(bytes).map_err(LedgerError::Corrupt)?;
        let engine = match (&mut self.engine, &entry) {
            (Some(e), _) => e,
            (None, Entry::Pack { version, .. }) => self
                .engine
                .insert(Engine::new(load_version(store, version)?)),
            (None, _) => {
                return Err(LedgerError::Corrupt(format!(
                    "log entry {seq} precedes any rule pack"
                )))
            }
        };
        let mut loader = |v: &str| load_version(store, v).map_err(|e| e.to_string());
        if let Err(e) = engine.replay_entry(&entry, &mut loader) {
            tracing::warn!(seq, error = %e, "replay differs from the logged decision");
            self.mismatches += 1;
        }
        self.last = seq;
        Ok(())
    }

    /// The engine and the sequence the next entry takes.
    pub fn into_engine(self) -> Result<(Engine, u64), LedgerError> {
        let next = self.last + 1;
        let engine = self
            .engine
            .ok_or_else(|| LedgerError::Corrupt("no rule pack in the log".into()))?;
        Ok((engine, next))
    }
}
