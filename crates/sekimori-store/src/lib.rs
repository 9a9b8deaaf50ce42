//! `sekimori-store`: the embedded, durable, append-only log of everything the engine
//! accepted, plus a few small tables, on [redb]. It stores bytes and knows nothing of
//! events, rules or HTTP.
//!
//! # Data directory
//!
//! [`Store::open`] takes a directory (created if missing) holding:
//!
//! - `sekimori.redb` — the redb database ([`DB_FILE`]);
//! - `journal-<first batch>` — the write-ahead journal's segments ([`JOURNAL_PREFIX`]):
//!   the groups acknowledged and not yet committed to the database (see *Group commit*);
//! - `FORMAT` — a plain-text file holding `sekimori-data 3\n`, the on-disk format version
//!   ([`FORMAT_VERSION`]). It is written (atomically, fsynced) on the first open of a fresh
//!   directory, and rewritten when an older directory is upgraded: format 1 indexed event
//!   ids across services (its `event_index` stays and is read, never written); format 2 had
//!   no journal. An open refuses with [`StoreError::Format`] when the file holds another
//!   version, or when it is missing next to an existing database, so an older build never
//!   opens a directory whose journal it would ignore. The same version is also
//!   recorded in the META table under `"format_version"` ([`META_FORMAT_VERSION`]) and
//!   checked on open; callers must not overwrite that key.
//!
//! A directory the store creates is mode 0700, and the files it creates in it 0600
//! (the log holds every event). An existing directory is left as it is;
//! [`Store::loose_permissions`] reports it when group or others may enter it.
//!
//! Only one [`Store`] may have a directory open at a time, across processes and within
//! one: redb locks the database file and a second open fails with [`StoreError::Locked`].
//!
//! # Tables
//!
//! | table         | key            | value          | contents                               |
//! |---------------|----------------|----------------|----------------------------------------|
//! | `log`         | `u64` seq      | bytes          | the append-only log, seqs `1..=last`    |
//! | `events`      | `(&str, &str)` (id, service) | `u64` seq | the record carrying each event (format 2) |
//! | `event_index` | `&str` event id| `u64` seq      | format 1's index, read only (ids were global) |
//! | `meta`        | `&str`         | bytes          | small settings (e.g. current pack)     |
//! | `packs`       | `&str` version | bytes          | rule-pack history                      |
//! | `snapshot`    | `"current"`    | `(u64, bytes)` | engine state as of a seq; replaced     |
//! | `stepup`      | `&str`         | bytes          | step-up records (the server's), not in the log |
//!
//! Log seqs are assigned by the caller and must be contiguous: an append must carry exactly
//! `last_seq() + 1` (counting appends queued before it). A gap or a repeat is an invariant
//! violation of the caller; that op is rejected with [`StoreError::Sequence`] and not
//! written, while the other ops of its batch proceed. An event key ([`EventKey`]: service
//! and id) appended twice points at the newer seq; the caller is expected to deduplicate.
//!
//! # Group commit
//!
//! All writes go through one dedicated writer thread, fed by a bounded queue
//! ([`QUEUE_CAPACITY`] ops; when it is full, [`Store::submit`] fails at once with
//! [`StoreError::Overloaded`] instead of blocking). The writer blocks for one op, drains
//! whatever else is queued (up to [`MAX_BATCH_OPS`] ops or [`MAX_BATCH_BYTES`] of payload)
//! and makes the whole batch durable at once, in submission order:
//!
//! 1. it appends the batch as one checksummed record to the journal and `fdatasync`s it
//!    (a sequential write of the batch's bytes; after the first segment, into blocks a
//!    background thread zero-filled ahead, so that the sync writes data and no file-system
//!    metadata: 0.10 ms instead of 0.15 on the development VM);
//! 2. it adds the batch to the **overlay**, the in-memory map of what is acknowledged and
//!    not yet in the database, which every read consults first;
//! 3. it answers every waiter of the batch, and hands the batch to the applier.
//!
//! The **applier** thread commits the batches it has been handed to redb in one
//! transaction with [`redb::Durability::Immediate`], at most every [`APPLY_EVERY`], so
//! that one database commit takes in every group journaled meanwhile; the commit records
//! the last batch it covers in META, then the overlay drops those batches and the journal
//! the segments they fill. A batch carrying a snapshot or at least [`DIRECT_BATCH_BYTES`]
//! of payload is not journaled (it would be written twice): the applier commits it, after
//! every batch before it, and the writer answers it only then. The writer waits while the
//! overlay holds [`OVERLAY_BYTES`] (the applier is behind the disk). The journal exists
//! because a durable redb commit rewrites and syncs a dozen pages in several places of the
//! file (about 0.4 ms a group on the development VM), where a journal append syncs a few
//! kilobytes at its end (about 0.15 ms). [`Store::stats`] counts group commits, the
//! applier's commits and ops, so that batch sizes can be reported.
//!
//! If a batch's journal append fails, or an applier commit does, every op of the batch (of
//! the writer's, and of every later one) gets the error and the store enters a failed
//! state: every later submit fails with [`StoreError::Failed`]. Reads keep working, the
//! overlay included. Restarting (reopening the directory) recovers from disk; the ops of
//! the failed batch may or may not be there (a journal record is all-or-nothing, but a
//! failed sync may still have reached the disk).
//!
//! # Durability guarantee
//!
//! A waiter is answered `Ok(())` only after its batch's journal record is synced (or, for a
//! direct batch, its durable commit returned), so **every acknowledged op survives a
//! crash** (process kill or power loss, given honest fsync). On open, the store reads the
//! journal's records after the database's last checkpointed batch, each segment up to a
//! torn record, replays them in one durable commit and starts the journal afresh, before it
//! accepts anything; a journal whose records do not run on from the checkpoint refuses the
//! open ([`StoreError::Journal`]) rather than run with acknowledged ops missing. A reopened
//! log is thus always contiguous from its start — a batch is all-or-nothing. A clean close
//! lets the applier commit everything and deletes the journal. The converse does not hold:
//! an op whose waiter never heard back (crash between sync and reply, dropped receiver,
//! failed commit) may be on disk anyway, so the caller must treat "unacknowledged" as
//! "unknown", not as "absent". After an unclean shutdown redb checks and repairs the file
//! on open, which reads the whole database and may take a while on a large log.
//!
//! Reads ([`Store::get`], [`Store::scan_from`], ...) look in the overlay, then run their own
//! read transactions, on any thread, and observe acknowledged data only: an op is visible
//! once its receiver has resolved `Ok` (from the overlay until the applier has committed
//! it, from the database after), not before. Looking in the overlay first is what makes
//! this hold while the applier moves a batch: it leaves the overlay only after its commit.
//! Read-your-own-in-flight-writes is the caller's business.
//!
//! [redb]: https://docs.rs/redb

mod applier;
mod error;
mod format;
mod journal;
mod overlay;
mod read;
mod tables;
mod writer;

pub use applier::APPLY_EVERY;
pub use error::StoreError;
pub use format::{FORMAT_FILE, FORMAT_VERSION};
pub use journal::{JOURNAL_PREFIX, SEGMENT_BYTES};
pub use read::{LogIter, SCAN_CHUNK};
pub use tables::META_FORMAT_VERSION;
pub use writer::{EventKey, Op, DIRECT_BATCH_BYTES, MAX_BATCH_BYTES, MAX_BATCH_OPS, OVERLAY_BYTES};

use journal::Journal;
use overlay::Overlay;
use redb::{Database, DatabaseError};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::Arc;
use std::sync::RwLock;
use std::thread::JoinHandle;
use tokio::sync::oneshot;
use writer::{Request, Shared, Writer};

/// Name of the database file inside the data directory.
pub const DB_FILE: &str = "sekimori.redb";
/// Capacity of the queue between submitters and the writer thread, in ops.
pub const QUEUE_CAPACITY: usize = 65_536;

/// Counters of the writer, for reporting group-commit batch sizes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Group commits: batches made durable, each by a journal append or a
    /// checkpoint.
    pub commits: u64,
    /// The applier's durable database commits, each taking in the batches
    /// journaled since the one before.
    pub checkpoints: u64,
    /// Journaled batches the open replayed into the database (left by a crash).
    pub replayed: u64,
    /// Ops applied by those commits (rejected ops are not counted).
    pub ops: u64,
}

/// The open data directory. `Send + Sync`: share it in an `Arc`.
///
/// Dropping it (or [`Store::close`]) stops accepting ops, lets the writer commit
/// everything already queued, and joins the writer thread.
pub struct Store {
    dir: PathBuf,
    db: Arc<Database>,
    overlay: Arc<RwLock<Overlay>>,
    tx: Option<SyncSender<Request>>,
    writer: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
    loose: Option<u32>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.dir)
            .field("stats", &self.stats())
            .field("failed", &self.shared.failed.load(Ordering::Relaxed))
            .finish()
    }
}

impl Store {
    /// Opens (or creates) the data directory `dir`. See the [crate docs](crate) for the
    /// format check and locking.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        create_private_dir(dir)?;
        let loose = loose_mode(dir);
        let db_path = dir.join(DB_FILE);
        let db_exists = db_path.try_exists().map_err(StoreError::io(&db_path))?;
        format::check_or_create(dir, db_exists)?;
        if !db_exists {
            // redb creates its file with the process umask: make it private
            // before anything is written to it.
            private_file(&db_path).map_err(StoreError::io(&db_path))?;
        }
        let db = Arc::new(open_db(&db_path)?);
        tables::init(&db)?;
        // Acknowledged ops after the last checkpoint are in the journal:
        // into the database with them, durably, before anything else.
        let checkpointed = tables::checkpointed_batch(&db)?;
        let pending = journal::recover(dir, checkpointed)?;
        let batch = applier::replay(&db, &pending, checkpointed)?;
        let journal = Journal::start(dir, batch + 1)?;
        let last = read::last_seq(&db)?;
        let shared = Arc::new(Shared::default());
        let replayed = u64::try_from(pending.len()).unwrap_or(u64::MAX);
        shared.replayed.store(replayed, Ordering::Relaxed);
        drop(pending);
        let overlay = Arc::new(RwLock::new(Overlay::default()));
        let (tx, rx) = sync_channel(QUEUE_CAPACITY);
        let writer = Writer::new(
            db.clone(),
            rx,
            shared.clone(),
            overlay.clone(),
            (last, batch),
            journal,
        )
        .map_err(StoreError::io(dir))?;
        let handle = std::thread::Builder::new()
            .name("sekimori-store-writer".into())
            .spawn(move || writer.run())
            .map_err(StoreError::io(dir))?;
        Ok(Store {
            dir: dir.to_path_buf(),
            db,
            overlay,
            tx: Some(tx),
            writer: Some(handle),
            shared,
            loose,
        })
    }

    /// The mode of the data directory when it was already there and group or
    /// others may use it (the caller warns: it is not changed).
    pub fn loose_permissions(&self) -> Option<u32> {
        self.loose
    }

    /// Queues one op. The receiver resolves once the op is
    /// durable (its batch's journal record synced, or its checkpoint committed), or with
    /// the error. Ops are applied in submission order.
    ///
    /// Never blocks: a full queue resolves at once with [`StoreError::Overloaded`], a failed
    /// store with [`StoreError::Failed`]. A receive error (sender dropped) means the writer
    /// died; treat it as [`StoreError::Failed`].
    pub fn submit(&self, op: Op) -> oneshot::Receiver<Result<(), StoreError>> {
        let (reply, rx) = oneshot::channel();
        if self.shared.failed.load(Ordering::Acquire) {
            let _ = reply.send(Err(StoreError::Failed));
            return rx;
        }
        let Some(tx) = &self.tx else {
            let _ = reply.send(Err(StoreError::Failed));
            return rx;
        };
        match tx.try_send(Request { op, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(req)) => {
                let _ = req.reply.send(Err(StoreError::Overloaded));
            }
            Err(TrySendError::Disconnected(req)) => {
                let _ = req.reply.send(Err(StoreError::Failed));
            }
        }
        rx
    }

    /// Submits and blocks the current thread until the op is durable (or failed).
    ///
    /// For CLI tools and tests. **Must not be called from within a tokio runtime thread**
    /// (it would panic there); in async code, `.await` the receiver of [`Store::submit`].
    pub fn submit_blocking(&self, op: Op) -> Result<(), StoreError> {
        self.submit(op)
            .blocking_recv()
            .unwrap_or(Err(StoreError::Failed))
    }

    /// Writer counters: commits and ops committed since open.
    pub fn stats(&self) -> StoreStats {
        StoreStats {
            commits: self.shared.commits.load(Ordering::Relaxed),
            checkpoints: self.shared.checkpoints.load(Ordering::Relaxed),
            replayed: self.shared.replayed.load(Ordering::Relaxed),
            ops: self.shared.ops.load(Ordering::Relaxed),
        }
    }

    /// Holds every commit back until the guard is dropped: ops queue (and
    /// their receivers stay pending) meanwhile, then go in one transaction.
    /// For tests that check nothing is acknowledged before it is durable;
    /// a server never calls it.
    #[doc(hidden)]
    pub fn hold_commits(&self) -> CommitHold {
        self.shared.held.fetch_add(1, Ordering::AcqRel);
        CommitHold(Arc::clone(&self.shared))
    }

    /// Makes the next group commit fail as a failed fsync would: none of its
    /// ops is written, every one of them resolves with the error, and the
    /// store enters the failed state. For tests of what a server answers
    /// then; a server never calls it.
    #[doc(hidden)]
    pub fn fail_next_commit(&self) {
        self.shared.fail_next.store(true, Ordering::Release);
    }

    /// Holds the applier's database commits back until the guard is dropped:
    /// acknowledged ops stay in the overlay and the journal meanwhile (and a
    /// direct batch, a snapshot, stays unanswered). For tests of what is read
    /// from the overlay and of crash recovery; a server never calls it.
    #[doc(hidden)]
    pub fn hold_applier(&self) -> ApplierHold {
        self.shared.applier_held.fetch_add(1, Ordering::AcqRel);
        ApplierHold(Arc::clone(&self.shared))
    }

    /// Makes the applier's next database commit fail: the store enters the
    /// failed state, and what was acknowledged stays readable from the overlay
    /// and recoverable from the journal. For tests; a server never calls it.
    #[doc(hidden)]
    pub fn fail_next_apply(&self) {
        self.shared.fail_next_apply.store(true, Ordering::Release);
    }

    /// Whether the store has entered the failed state (no more writes accepted).
    pub fn is_failed(&self) -> bool {
        self.shared.failed.load(Ordering::Acquire)
    }

    /// The data directory this store was opened on.
    pub fn data_dir(&self) -> &Path {
        &self.dir
    }

    /// Commits everything queued, stops the writer thread and closes the store.
    /// Equivalent to dropping it.
    pub fn close(self) {
        drop(self);
    }
}

/// Commits held back while this lives ([`Store::hold_commits`]).
#[doc(hidden)]
#[derive(Debug)]
pub struct CommitHold(Arc<Shared>);

impl CommitHold {
    /// Lets one commit through while the hold lasts, carrying at most `ops`
    /// of the ops queued (the oldest first); later commits stay held. Has no
    /// effect on a commit already let through and not yet taken.
    pub fn let_through(&self, ops: usize) {
        self.0.pass.store(ops.max(1), Ordering::Release);
    }
}

impl Drop for CommitHold {
    fn drop(&mut self) {
        self.0.held.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The applier's commits held back while this lives ([`Store::hold_applier`]).
#[doc(hidden)]
#[derive(Debug)]
pub struct ApplierHold(Arc<Shared>);

impl Drop for ApplierHold {
    fn drop(&mut self) {
        self.0.applier_held.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        // Closing the channel lets the writer drain what is queued, then exit.
        drop(self.tx.take());
        if let Some(handle) = self.writer.take() {
            let _ = handle.join();
        }
    }
}

fn open_db(path: &Path) -> Result<Database, StoreError> {
    match Database::builder().create(path) {
        Ok(db) => Ok(db),
        Err(DatabaseError::DatabaseAlreadyOpen) => Err(StoreError::Locked {
            path: path.to_path_buf(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// Creates `dir` (and missing parents) with mode 0700.
pub fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(StoreError::io(dir))
}

/// The mode of `dir` when group or others have any access to it.
pub fn loose_mode(dir: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then_some(mode)
}

/// Creates `path` empty with mode 0600 if it does not exist.
pub(crate) fn private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map(drop)
}
