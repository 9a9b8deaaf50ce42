//! The log behind the ledger: an append-only sequence of entries with the
//! snapshots that shorten its replay. [`Log`] is what the ledger needs of
//! it; [`sekimori_store::Store`] (redb, group commit) is the embedded
//! implementation, and a replicated one (a JetStream stream) sits behind
//! the same trait.

use sekimori_store::{EventKey, LogIter, Op, Store, StoreError};
use std::fmt::Debug;
use tokio::sync::oneshot;

/// Resolves once the submitted entries are durable (for a replicated log:
/// acknowledged by a quorum).
pub type Durable = oneshot::Receiver<Result<(), StoreError>>;

/// Entries read from a log, in sequence order.
pub type Entries<'a> = Box<dyn Iterator<Item = Result<(u64, Vec<u8>), StoreError>> + Send + 'a>;

/// One log entry as the ledger appends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The (service, id) of the event the entry carries, if any: the log's
    /// index of decided events.
    pub event: Option<EventKey>,
    /// The serialized `sekimori_engine::Entry`.
    pub bytes: Vec<u8>,
    /// A rule pack published with this entry: its version and its stored
    /// record (JSON of `PackRecord`), which a replica needs to compile it.
    pub pack: Option<(String, Vec<u8>)>,
    /// Step-up records written with this entry (an `Entry::StepUp`'s
    /// writes, as bytes): every store that takes the entry writes them
    /// into its step-up table first, in the same order.
    pub stepup: StepUpWrites,
}

/// Writes to the step-up table: (key, new record or `None` to delete).
pub type StepUpWrites = Vec<(String, Option<Vec<u8>>)>;

impl Record {
    /// An entry with nothing beside it.
    pub fn entry(event: Option<EventKey>, bytes: Vec<u8>) -> Record {
        Record {
            event,
            bytes,
            pack: None,
            stepup: Vec::new(),
        }
    }

    /// Submits what this record carries beside its entry (a pack, step-up
    /// records) to `store`, ahead of the entry itself.
    pub fn submit_side_writes(&self, store: &Store) {
        if let Some((version, bytes)) = &self.pack {
            // Queued before the entry naming it: the same batch or an earlier one.
            drop(store.submit(Op::PutPack {
                version: version.clone(),
                bytes: bytes.clone(),
            }));
        }
        if !self.stepup.is_empty() {
            drop(store.submit(Op::StepUp {
                entries: self.stepup.clone(),
            }));
        }
    }
}

/// The ordered, durable log of a ledger.
///
/// Sequence numbers start at 1 and are contiguous. An append carries the
/// sequence it must take: the log refuses it unless it is exactly the next
/// one (counting appends still in flight), which is how a replicated log
/// fences a writer that is no longer the leader. Appends resolve in
/// submission order.
pub trait Log: Send + Sync + Debug {
    /// Appends `record` as entry `seq` (the log's last seq + 1 once the
    /// appends before it land).
    fn append(&self, seq: u64, record: Record) -> Durable;

    /// The entries from `from` (inclusive) on.
    fn read_from(&self, from: u64) -> Result<Entries<'_>, StoreError>;

    /// The last durable sequence (0 for an empty log).
    fn last_seq(&self) -> Result<u64, StoreError>;

    /// Stores a snapshot of the state as of entry `seq` (behind the
    /// appends already submitted).
    fn put_snapshot(&self, seq: u64, bytes: Vec<u8>) -> Durable;

    /// The latest snapshot and the sequence it covers.
    fn snapshot(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError>;

    /// The replicated shard's stream this log appends to (`None`: the
    /// node's own store), which the workbench binds its analysts to.
    fn shard_stream(&self) -> Option<String> {
        None
    }
}

/// The embedded log: redb, one fsynced group commit per batch.
impl Log for Store {
    fn append(&self, seq: u64, record: Record) -> Durable {
        record.submit_side_writes(self);
        self.submit(Op::Append {
            seq,
            event: record.event,
            bytes: record.bytes,
        })
    }

    fn read_from(&self, from: u64) -> Result<Entries<'_>, StoreError> {
        let iter: LogIter = self.scan_from(from)?;
        Ok(Box::new(iter))
    }

    fn last_seq(&self) -> Result<u64, StoreError> {
        Store::last_seq(self)
    }

    fn put_snapshot(&self, seq: u64, bytes: Vec<u8>) -> Durable {
        self.submit(Op::Snapshot { seq, bytes })
    }

    fn snapshot(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        Store::snapshot(self)
    }
}
