//! The writer thread: group commit through the journal (the applier thread,
//! `applier.rs`, takes the batches into redb).

use crate::applier::{self, Work};
use crate::journal::Journal;
use crate::overlay::Overlay;
use crate::tables::{JOURNAL_BATCH, META_FORMAT_VERSION};
use crate::StoreError;
use redb::Database;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, Sender, TryRecvError};
use std::sync::{Arc, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::oneshot;

/// At most this many ops go into one write transaction.
pub const MAX_BATCH_OPS: usize = 4096;
/// A batch stops growing once its payloads reach this many bytes.
pub const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;
/// While the overlay (acknowledged, not yet applied) holds this many payload
/// bytes, the writer waits for the applier before it journals more.
pub const OVERLAY_BYTES: usize = 64 * 1024 * 1024;
/// A batch carrying a snapshot, or an op of at least this many bytes of
/// payload, is not journaled (it would be written twice): the applier commits
/// it durably, after every batch before it, and only then is it answered.
pub const DIRECT_BATCH_BYTES: usize = 1024 * 1024;

/// One write, queued with [`Store::submit`](crate::Store::submit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Op {
    /// Append a log record. `seq` must be exactly `last_seq() + 1` at the time the op is
    /// applied; `event`, when given, is indexed by (service, id) (a repeated key points at
    /// the newest seq).
    Append {
        /// The record's sequence number, assigned by the caller.
        seq: u64,
        /// The service and id of the event the record carries, if any.
        event: Option<EventKey>,
        /// The record.
        bytes: Vec<u8>,
    },
    /// Replace the engine-state snapshot.
    Snapshot {
        /// The log seq the snapshot reflects.
        seq: u64,
        /// The serialized state.
        bytes: Vec<u8>,
    },
    /// Set a META entry.
    PutMeta {
        /// The setting's name.
        key: String,
        /// Its value.
        bytes: Vec<u8>,
    },
    /// Store a rule pack under its version.
    PutPack {
        /// The pack version.
        version: String,
        /// The pack.
        bytes: Vec<u8>,
    },
    /// The log continues at `seq` (at or after the next seq): a node of a
    /// replicated shard joining a stream trimmed behind a snapshot has no
    /// entries before the stream's first, and the snapshot it starts from
    /// covers them. Writes nothing itself; the appends that follow do.
    StartAt {
        /// The seq of the next append.
        seq: u64,
    },
    /// Put (`Some`) or delete (`None`) step-up records, all in the same transaction.
    StepUp {
        /// (key, new value or `None` to delete).
        entries: Vec<(String, Option<Vec<u8>>)>,
    },
}

/// What identifies an event: its id within its service (the same id from two
/// services is two events).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EventKey {
    /// The service (tenant) that sent the event.
    pub service: String,
    /// The caller-supplied id, unique within the service.
    pub id: String,
}

impl EventKey {
    pub fn new(service: impl Into<String>, id: impl Into<String>) -> EventKey {
        EventKey {
            service: service.into(),
            id: id.into(),
        }
    }
}

impl Op {
    pub(crate) fn payload_len(&self) -> usize {
        match self {
            Op::Append { bytes, .. }
            | Op::Snapshot { bytes, .. }
            | Op::PutMeta { bytes, .. }
            | Op::PutPack { bytes, .. } => bytes.len(),
            Op::StepUp { entries } => entries
                .iter()
                .map(|(k, v)| k.len() + v.as_ref().map_or(0, Vec::len))
                .sum(),
            Op::StartAt { .. } => 0,
        }
    }
}

/// What a waiter receives.
pub(crate) type Reply = oneshot::Sender<Result<(), StoreError>>;

/// An op with its waiter, as queued to the writer.
#[derive(Debug)]
pub(crate) struct Request {
    pub(crate) op: Op,
    pub(crate) reply: Reply,
}

/// State shared by the [`Store`](crate::Store) handle and its writer thread.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    pub(crate) failed: AtomicBool,
    /// Commits held back by [`Store::hold_commits`](crate::Store::hold_commits) guards.
    pub(crate) held: AtomicUsize,
    /// While commits are held: the next commit may go through with at most
    /// this many ops ([`CommitHold::let_through`](crate::CommitHold::let_through); 0: none).
    pub(crate) pass: AtomicUsize,
    /// The next commit fails as a failed fsync would
    /// ([`Store::fail_next_commit`](crate::Store::fail_next_commit)).
    pub(crate) fail_next: AtomicBool,
    /// The applier's commits held back by
    /// [`Store::hold_applier`](crate::Store::hold_applier) guards.
    pub(crate) applier_held: AtomicUsize,
    /// The applier's next commit fails
    /// ([`Store::fail_next_apply`](crate::Store::fail_next_apply)).
    pub(crate) fail_next_apply: AtomicBool,
    /// Journaled batches the open replayed.
    pub(crate) replayed: AtomicU64,
    pub(crate) commits: AtomicU64,
    pub(crate) checkpoints: AtomicU64,
    pub(crate) ops: AtomicU64,
}

/// META keys the store writes itself: a [`Op::PutMeta`] of one is refused.
const RESERVED_META: [&str; 2] = [JOURNAL_BATCH, META_FORMAT_VERSION];

/// The writer: validates, journals and answers every batch.
pub(crate) struct Writer {
    rx: Receiver<Request>,
    shared: Arc<Shared>,
    overlay: Arc<RwLock<Overlay>>,
    /// The seq the next append must carry.
    next_seq: u64,
    journal: Journal,
    /// The number of the last batch made durable.
    batch: u64,
    applier: Option<(Sender<Work>, JoinHandle<()>)>,
}

impl Writer {
    /// Starts the applier thread too.
    pub(crate) fn new(
        db: Arc<Database>,
        rx: Receiver<Request>,
        shared: Arc<Shared>,
        overlay: Arc<RwLock<Overlay>>,
        (last_seq, batch): (u64, u64),
        journal: Journal,
    ) -> std::io::Result<Self> {
        let (work_tx, handle) = applier::spawn(
            db,
            Arc::clone(&shared),
            Arc::clone(&overlay),
            journal.closed(),
        )?;
        Ok(Writer {
            rx,
            shared,
            overlay,
            next_seq: last_seq.saturating_add(1),
            journal,
            batch,
            applier: Some((work_tx, handle)),
        })
    }

    /// Runs until every sender is gone and the queue is drained, then lets
    /// the applier finish.
    pub(crate) fn run(mut self) {
        let _guard = FailOnPanic(self.shared.clone());
        while let Ok(first) = self.rx.recv() {
            // Tests hold commits to see that nothing is answered before its
            // fsync; what arrives meanwhile joins the batch (or, let through,
            // the next commit takes at most that many ops).
            let mut most = MAX_BATCH_OPS;
            while self.shared.held.load(Ordering::Acquire) > 0 {
                let pass = self.shared.pass.swap(0, Ordering::AcqRel);
                if pass > 0 {
                    most = pass.min(MAX_BATCH_OPS);
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            let batch = self.drain(first, most);
            self.process(batch);
        }
        // Closing: the applier commits what it holds; then nothing is left
        // that only the journal has.
        if let Some((tx, handle)) = self.applier.take() {
            drop(tx);
            let _ = handle.join();
        }
        let settled = self
            .overlay
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty();
        if settled && !self.shared.failed.load(Ordering::Acquire) {
            let _ = self.journal.finish();
        }
    }

    /// Collects whatever is already queued behind `first`, within the batch
    /// bounds (at most `most` ops).
    fn drain(&self, first: Request, most: usize) -> Vec<Request> {
        let mut bytes = first.op.payload_len();
        let mut batch = vec![first];
        while batch.len() < most && bytes < MAX_BATCH_BYTES {
            match self.rx.try_recv() {
                Ok(req) => {
                    bytes += req.op.payload_len();
                    batch.push(req);
                }
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        batch
    }

    fn process(&mut self, batch: Vec<Request>) {
        let (ops, replies): (Vec<Op>, Vec<Reply>) =
            batch.into_iter().map(|r| (r.op, r.reply)).unzip();
        if self.shared.failed.load(Ordering::Acquire) {
            return reply_all(replies, &StoreError::Failed);
        }
        let outcomes = self.validate(&ops);
        match self.commit(ops, &outcomes) {
            Ok(()) => {
                for (reply, outcome) in replies.into_iter().zip(outcomes) {
                    let _ = reply.send(outcome.map(|_| ()));
                }
            }
            Err(err) => {
                self.shared.failed.store(true, Ordering::Release);
                reply_all(replies, &err);
            }
        }
    }

    /// Checks the seq of every append against the log's next seq, in order. `Ok(Some(next))`
    /// is an accepted append, `Ok(None)` an accepted op of another kind.
    fn validate(&self, ops: &[Op]) -> Vec<Result<Option<u64>, StoreError>> {
        let mut next = self.next_seq;
        let mut outcomes = Vec::with_capacity(ops.len());
        for op in ops {
            outcomes.push(match op {
                Op::Append { seq, .. } if *seq != next => Err(StoreError::Sequence {
                    expected: next,
                    got: *seq,
                }),
                Op::Append { seq, .. } => {
                    next = seq.saturating_add(1);
                    Ok(Some(next))
                }
                // Only forward: entries the log holds are never skipped over.
                Op::StartAt { seq } if *seq < next => Err(StoreError::Sequence {
                    expected: next,
                    got: *seq,
                }),
                Op::StartAt { seq } => {
                    next = *seq;
                    Ok(Some(next))
                }
                Op::PutMeta { key, .. } if RESERVED_META.contains(&key.as_str()) => {
                    Err(StoreError::Reserved(key.clone()))
                }
                _ => Ok(None),
            });
        }
        outcomes
    }

    /// Makes the accepted ops durable: journaled (synced) and added to the
    /// overlay, or, for a direct batch, committed by the applier.
    fn commit(
        &mut self,
        ops: Vec<Op>,
        outcomes: &[Result<Option<u64>, StoreError>],
    ) -> Result<(), StoreError> {
        let accepted: Vec<Op> = ops
            .into_iter()
            .zip(outcomes)
            .filter_map(|(op, outcome)| outcome.is_ok().then_some(op))
            .collect();
        if accepted.is_empty() {
            return Ok(());
        }
        if self.shared.fail_next.swap(false, Ordering::AcqRel) {
            // A test's stand-in for a failed fsync: nothing of the batch is
            // written.
            return Err(StoreError::Io {
                path: "fail_next_commit".into(),
                source: Arc::new(std::io::Error::other("injected commit failure")),
            });
        }
        let Some(tx) = self.applier.as_ref().map(|a| a.0.clone()) else {
            return Err(StoreError::Failed);
        };
        let batch = self.batch + 1;
        let count = accepted.len();
        // Many small ops are what the journal is for; one large one is not.
        let direct = accepted
            .iter()
            .any(|op| matches!(op, Op::Snapshot { .. }) || op.payload_len() >= DIRECT_BATCH_BYTES);
        if direct {
            let (done, wait) = sync_channel(1);
            tx.send(Work::Direct {
                batch,
                ops: accepted,
                done,
            })
            .map_err(|_| StoreError::Failed)?;
            wait.recv().unwrap_or(Err(StoreError::Failed))?;
        } else {
            self.wait_for_room()?;
            self.journal.append(batch, &accepted)?;
            self.overlay
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .add(batch, &accepted);
            tx.send(Work::Journaled {
                batch,
                ops: accepted,
            })
            .map_err(|_| StoreError::Failed)?;
        }
        self.batch = batch;
        if let Some(next) = outcomes
            .iter()
            .rev()
            .find_map(|o| o.as_ref().ok().copied().flatten())
        {
            self.next_seq = next;
        }
        self.shared.commits.fetch_add(1, Ordering::Relaxed);
        let applied = u64::try_from(count).unwrap_or(u64::MAX);
        self.shared.ops.fetch_add(applied, Ordering::Relaxed);
        Ok(())
    }

    /// Waits while the overlay is full (the applier is behind the disk).
    fn wait_for_room(&self) -> Result<(), StoreError> {
        loop {
            if self.shared.failed.load(Ordering::Acquire) {
                return Err(StoreError::Failed);
            }
            let bytes = self
                .overlay
                .read()
                .unwrap_or_else(PoisonError::into_inner)
                .bytes();
            if bytes < OVERLAY_BYTES {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Marks the store failed if the writer (or applier) thread unwinds, so that
/// submits stop queueing.
pub(crate) struct FailOnPanic(pub(crate) Arc<Shared>);

impl Drop for FailOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.failed.store(true, Ordering::Release);
        }
    }
}

fn reply_all(replies: Vec<Reply>, err: &StoreError) {
    for reply in replies {
        let _ = reply.send(Err(err.clone()));
    }
}
