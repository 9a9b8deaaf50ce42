//! The error type of the store.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Everything that can go wrong in the store.
///
/// The type is `Clone` (sources are held in an `Arc`) because one failed group commit
/// reports the same error to every op of the batch.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// A file-system operation on the data directory failed.
    #[error("I/O error on {path}: {source}")]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: Arc<std::io::Error>,
    },
    /// The data directory holds another format version than this build reads, or its
    /// `FORMAT` file is missing or unreadable.
    #[error("data directory format mismatch: found {found:?}, expected {expected:?}")]
    Format {
        /// What was found (file contents, or a description of what is missing).
        found: String,
        /// What this build expects.
        expected: String,
    },
    /// The data directory is already open, by another process or another `Store`.
    #[error("data directory {path} is locked: another process (or Store) has it open")]
    Locked {
        /// The database file that is locked.
        path: PathBuf,
    },
    /// redb reported an error (storage, transaction, table or commit).
    #[error("database error: {0}")]
    Database(#[source] Arc<redb::Error>),
    /// An append did not carry the next sequence number: a gap or a repeat. This is an
    /// invariant violation of the caller; the op was not written.
    #[error("log sequence violation: expected seq {expected}, got {got}")]
    Sequence {
        /// The only seq the log accepts next (`last_seq() + 1`).
        expected: u64,
        /// The seq the op carried.
        got: u64,
    },
    /// A [`Op::PutMeta`](crate::Op::PutMeta) of a key the store keeps itself (the format
    /// version, the journal's checkpointed batch); the op was not written.
    #[error("META key {0:?} is the store's own")]
    Reserved(String),
    /// The writer queue is full; the op was not queued. Retry later or shed load.
    #[error("store writer queue is full")]
    Overloaded,
    /// An earlier commit failed (or the writer thread died); the store accepts no more
    /// writes. Restarting the process recovers from what is on disk.
    #[error("store has failed and accepts no more writes; restart to recover from disk")]
    Failed,
    /// The write-ahead journal cannot be trusted: its records do not follow the
    /// database's last checkpoint, or one passes its checksum and does not decode.
    /// The store refuses to open rather than run with acknowledged ops missing.
    #[error("journal {path}: {detail}")]
    Journal {
        /// The journal file.
        path: PathBuf,
        /// What is wrong with it.
        detail: String,
    },
    /// A replicated log refused the append: another node leads the shard now
    /// (its lease is lost, or the log holds another entry at this sequence).
    /// Nothing of it was acknowledged; the node must follow, not lead.
    #[error("this node no longer leads the shard: {0}")]
    Fenced(String),
}

impl StoreError {
    /// Builds a closure mapping an `io::Error` on `path` to [`StoreError::Io`].
    pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
        move |source| StoreError::Io {
            path: path.to_path_buf(),
            source: Arc::new(source),
        }
    }
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Database(Arc::new(redb::Error::from(e)))
            }
        }
    )*};
}

from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

impl From<redb::Error> for StoreError {
    fn from(e: redb::Error) -> Self {
        StoreError::Database(Arc::new(e))
    }
}
