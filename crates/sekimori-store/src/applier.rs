//! The applier thread: the journaled batches into redb, many in one durable
//! commit, and the open's replay of the journal.

use crate::journal::{forget_through, Closed, Pending};
use crate::overlay::Overlay;
use crate::tables::{EVENTS, JOURNAL_BATCH, LOG, META, PACKS, SNAPSHOT, SNAPSHOT_KEY, STEPUP};
use crate::writer::{FailOnPanic, Op, Shared};
use crate::StoreError;
use redb::{Database, Durability, Table, WriteTransaction};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender, SyncSender, TryRecvError};
use std::sync::{Arc, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The applier starts a durable commit at most this often, so that one
/// commit takes in every batch journaled meanwhile.
pub const APPLY_EVERY: Duration = Duration::from_millis(5);
/// What the writer hands the applier, in batch order.
pub(crate) enum Work {
    /// Journaled and answered: commit it when convenient.
    Journaled { batch: u64, ops: Vec<Op> },
    /// Not journaled: commit it now and say so; the writer waits.
    Direct {
        batch: u64,
        ops: Vec<Op>,
        done: SyncSender<Result<(), StoreError>>,
    },
}

impl Work {
    fn batch(&self) -> u64 {
        match self {
            Work::Journaled { batch, .. } | Work::Direct { batch, .. } => *batch,
        }
    }

    fn is_direct(&self) -> bool {
        matches!(self, Work::Direct { .. })
    }

    fn ops(&self) -> &[Op] {
        match self {
            Work::Journaled { ops, .. } | Work::Direct { ops, .. } => ops,
        }
    }
}

/// Starts the applier thread; the writer hands it work through the sender.
pub(crate) fn spawn(
    db: Arc<Database>,
    shared: Arc<Shared>,
    overlay: Arc<RwLock<Overlay>>,
    closed: Closed,
) -> std::io::Result<(Sender<Work>, JoinHandle<()>)> {
    let (tx, rx) = channel();
    let applier = Applier {
        db,
        rx,
        shared,
        overlay,
        closed,
    };
    let handle = std::thread::Builder::new()
        .name("sekimori-store-applier".into())
        .spawn(move || applier.run())?;
    Ok((tx, handle))
}

/// The applier: owns every write transaction after the open's replay.
struct Applier {
    db: Arc<Database>,
    rx: Receiver<Work>,
    shared: Arc<Shared>,
    overlay: Arc<RwLock<Overlay>>,
    closed: Closed,
}

impl Applier {
    /// Commits what the writer hands over, in order, everything queued at
    /// once, at most once every [`APPLY_EVERY`] (a direct batch, which its
    /// writer waits for, does not wait); runs until the writer is gone, then
    /// commits what is left.
    fn run(self) {
        let _guard = FailOnPanic(self.shared.clone());
        let mut last_start: Option<Instant> = None;
        let mut works: Vec<Work> = Vec::new();
        let mut open = true;
        while open || !works.is_empty() {
            if works.is_empty() {
                match self.rx.recv() {
                    Ok(work) => works.push(work),
                    Err(_) => break,
                }
            }
            let deadline = last_start.map(|t| t + APPLY_EVERY);
            while open && !works.iter().any(Work::is_direct) {
                let Some(wait) = deadline.and_then(|d| d.checked_duration_since(Instant::now()))
                else {
                    break;
                };
                match self.rx.recv_timeout(wait) {
                    Ok(work) => works.push(work),
                    Err(RecvTimeoutError::Timeout) => break,
                    Err(RecvTimeoutError::Disconnected) => open = false,
                }
            }
            loop {
                match self.rx.try_recv() {
                    Ok(work) => works.push(work),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        open = false;
                        break;
                    }
                }
            }
            while self.shared.applier_held.load(Ordering::Acquire) > 0 {
                std::thread::sleep(Duration::from_millis(1));
            }
            last_start = Some(Instant::now());
            let outcome = if self.shared.failed.load(Ordering::Acquire) {
                Err(StoreError::Failed)
            } else {
                self.apply(&works)
            };
            // A failure reaches every later op of the writer as `Failed`;
            // the acknowledged ops stay in the overlay and the journal.
            if outcome.is_err() {
                self.shared.failed.store(true, Ordering::Release);
            }
            for work in works.drain(..) {
                if let Work::Direct { done, .. } = work {
                    let _ = done.send(outcome.clone());
                }
            }
        }
    }

    /// One durable commit of `works`, then what it covers leaves the overlay
    /// and the journal.
    fn apply(&self, works: &[Work]) -> Result<(), StoreError> {
        let Some(last) = works.last().map(Work::batch) else {
            return Ok(());
        };
        if self.shared.fail_next_apply.swap(false, Ordering::AcqRel) {
            // A test's stand-in for a failed database commit.
            return Err(StoreError::Io {
                path: "fail_next_apply".into(),
                source: Arc::new(std::io::Error::other("injected database commit failure")),
            });
        }
        let ops: Vec<&Op> = works.iter().flat_map(|w| w.ops().iter()).collect();
        checkpoint_commit(&self.db, &ops, last)?;
        self.overlay
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove_through(last);
        self.shared.checkpoints.fetch_add(1, Ordering::Relaxed);
        forget_through(&self.closed, last)
    }
}

/// One durable commit of `ops` that records `batch` as the last checkpointed.
fn checkpoint_commit(db: &Database, ops: &[&Op], batch: u64) -> Result<(), StoreError> {
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate)?;
    apply_all(&txn, ops)?;
    txn.open_table(META)?
        .insert(JOURNAL_BATCH, batch.to_le_bytes().as_slice())?;
    txn.commit()?;
    Ok(())
}

/// Replays the journal's pending batches (in order) in one durable commit,
/// at open. Returns the last batch, or `checkpointed` when none was pending.
pub(crate) fn replay(
    db: &Database,
    pending: &[Pending],
    checkpointed: u64,
) -> Result<u64, StoreError> {
    let Some(last) = pending.last().map(|p| p.batch) else {
        return Ok(checkpointed);
    };
    let ops: Vec<&Op> = pending.iter().flat_map(|p| p.ops.iter()).collect();
    checkpoint_commit(db, &ops, last)?;
    Ok(last)
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
