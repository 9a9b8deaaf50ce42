//! The writer thread: group commit of queued ops.

use crate::tables::{EVENTS, LOG, META, PACKS, SNAPSHOT, SNAPSHOT_KEY, STEPUP};
use crate::StoreError;
use redb::{Database, Durability, Table, WriteTransaction};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::Arc;
use tokio::sync::oneshot;

/// At most this many ops go into one write transaction.
pub const MAX_BATCH_OPS: usize = 4096;
/// A batch stops growing once its payloads reach this many bytes.
pub const MAX_BATCH_BYTES: usize = 16 * 1024 * 1024;

/// One write, queued with [`Store::submit`](crate::Store::submit).
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
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
    fn payload_len(&self) -> usize {
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
    pub(crate) commits: AtomicU64,
    pub(crate) ops: AtomicU64,
}

/// The writer: owns every write transaction.
pub(crate) struct Writer {
    db: Arc<Database>,
    rx: Receiver<Request>,
    shared: Arc<Shared>,
    /// The seq the next append must carry.
    next_seq: u64,
}

impl Writer {
    pub(crate) fn new(
        db: Arc<Database>,
        rx: Receiver<Request>,
        shared: Arc<Shared>,
        last_seq: u64,
    ) -> Self {
        let next_seq = last_seq.saturating_add(1);
        Writer {
            db,
            rx,
            shared,
            next_seq,
        }
    }

    /// Runs until every sender is gone and the queue is drained.
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
        match self.commit(&ops, &outcomes) {
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
                _ => Ok(None),
            });
        }
        outcomes
    }

    /// Applies the accepted ops in one durable write transaction.
    fn commit(
        &mut self,
        ops: &[Op],
        outcomes: &[Result<Option<u64>, StoreError>],
    ) -> Result<(), StoreError> {
        let accepted: Vec<&Op> = ops
            .iter()
            .zip(outcomes)
            .filter_map(|(op, outcome)| outcome.is_ok().then_some(op))
            .collect();
        if accepted.is_empty() {
            return Ok(());
        }
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        apply_all(&txn, &accepted)?;
        if self.shared.fail_next.swap(false, Ordering::AcqRel) {
            // A test's stand-in for a failed fsync: nothing of the batch is
            // committed (the transaction is aborted).
            txn.abort()?;
            return Err(StoreError::Io {
                path: "fail_next_commit".into(),
                source: Arc::new(std::io::Error::other("injected commit failure")),
            });
        }
        txn.commit()?;
        if let Some(next) = outcomes
            .iter()
            .rev()
            .find_map(|o| o.as_ref().ok().copied().flatten())
        {
            self.next_seq = next;
        }
        self.shared.commits.fetch_add(1, Ordering::Relaxed);
        let applied = u64::try_from(accepted.len()).unwrap_or(u64::MAX);
        self.shared.ops.fetch_add(applied, Ordering::Relaxed);
        Ok(())
    }
}

/// Marks the store failed if the writer thread unwinds, so that submits stop queueing.
struct FailOnPanic(Arc<Shared>);

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

/// The tables of one write transaction, opened once per batch.
struct Tables<'t> {
    log: Table<'t, u64, &'static [u8]>,
    events: Table<'t, (&'static str, &'static str), u64>,
    meta: Table<'t, &'static str, &'static [u8]>,
    packs: Table<'t, &'static str, &'static [u8]>,
    snapshot: Table<'t, &'static str, (u64, &'static [u8])>,
    stepup: Table<'t, &'static str, &'static [u8]>,
}

fn apply_all(txn: &WriteTransaction, ops: &[&Op]) -> Result<(), StoreError> {
    let mut t = Tables {
        log: txn.open_table(LOG)?,
        events: txn.open_table(EVENTS)?,
        meta: txn.open_table(META)?,
        packs: txn.open_table(PACKS)?,
        snapshot: txn.open_table(SNAPSHOT)?,
        stepup: txn.open_table(STEPUP)?,
    };
    for op in ops {
        t.apply(op)?;
    }
    Ok(())
}

impl Tables<'_> {
    fn apply(&mut self, op: &Op) -> Result<(), StoreError> {
        match op {
            Op::Append { seq, event, bytes } => {
                self.log.insert(*seq, bytes.as_slice())?;
                if let Some(e) = event {
                    self.events
                        .insert((e.id.as_str(), e.service.as_str()), *seq)?;
                }
            }
            Op::Snapshot { seq, bytes } => {
                self.snapshot
                    .insert(SNAPSHOT_KEY, (*seq, bytes.as_slice()))?;
            }
            Op::PutMeta { key, bytes } => {
                self.meta.insert(key.as_str(), bytes.as_slice())?;
            }
            Op::PutPack { version, bytes } => {
                self.packs.insert(version.as_str(), bytes.as_slice())?;
            }
            Op::StartAt { .. } => {}
            Op::StepUp { entries } => {
                for (key, value) in entries {
                    match value {
                        Some(bytes) => {
                            self.stepup.insert(key.as_str(), bytes.as_slice())?;
                        }
                        None => {
                            self.stepup.remove(key.as_str())?;
                        }
                    }
                }
            }
        }
        Ok(())
    }
}
