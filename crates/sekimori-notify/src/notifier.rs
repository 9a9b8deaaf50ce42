//! The caller's side: the queue, counters, redrive and shutdown.

use crate::dead_letter::{self, DeadLetter, DeadLetterLog, QUEUE_FULL};
use crate::worker::Worker;
use crate::{read_dead_letters, Notice, NotifyConfig, NotifyError};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::AtomicU64;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Delivery counters, shared with the worker (read them for /metrics).
#[derive(Debug, Default)]
pub struct Stats {
    /// Notices accepted into the queue (by `send` or `redrive`).
    pub queued: AtomicU64,
    /// Notices the receiver answered with a 2xx.
    pub delivered: AtomicU64,
    /// Failed attempts that were scheduled for a retry.
    pub retried: AtomicU64,
    /// Notices written to the dead-letter log (including `queue_full`).
    pub dead_lettered: AtomicU64,
    /// Accepted notices neither delivered nor dead-lettered yet (a gauge).
    pub pending: AtomicU64,
    /// Notices that could not even be written to the dead-letter log (its
    /// disk failed); each is also logged at `error` level with its id.
    pub lost: AtomicU64,
}

/// A plain copy of [`Stats`] at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub queued: u64,
    pub delivered: u64,
    pub retried: u64,
    pub dead_lettered: u64,
    pub pending: u64,
    pub lost: u64,
}

impl Stats {
    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            queued: self.queued.load(Relaxed),
            delivered: self.delivered.load(Relaxed),
            retried: self.retried.load(Relaxed),
            dead_lettered: self.dead_lettered.load(Relaxed),
            pending: self.pending.load(Relaxed),
            lost: self.lost.load(Relaxed),
        }
    }
}

/// State shared by the caller's side and the worker.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) stats: Arc<Stats>,
    pub(crate) log: DeadLetterLog,
    /// Set once, when the notifier shuts down or is dropped.
    pub(crate) stopping: AtomicBool,
    grace: Mutex<Duration>,
}

impl Shared {
    pub(crate) fn grace(&self) -> Duration {
        *self.grace.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes a dead letter, counting it (or counting it lost).
    pub(crate) fn dead_letter(&self, letter: DeadLetter) {
        match self.log.append(&letter) {
            Ok(()) => {
                self.stats.dead_lettered.fetch_add(1, Relaxed);
                tracing::error!(
                    id = %letter.notice.id,
                    kind = %letter.notice.kind,
                    attempts = letter.attempts,
                    error = %letter.last_error,
                    "notice dead-lettered"
                );
            }
            Err(e) => {
                self.stats.lost.fetch_add(1, Relaxed);
                tracing::error!(
                    id = %letter.notice.id,
                    kind = %letter.notice.kind,
                    attempts = letter.attempts,
                    error = %letter.last_error,
                    dead_letter_error = %e,
                    "notice LOST: could not write it to the dead-letter log"
                );
            }
        }
    }
}

/// Sends [`Notice`]s to one webhook from a background thread.
#[derive(Debug)]
pub struct Notifier {
    /// `None` once shut down.
    tx: Option<SyncSender<Box<Notice>>>,
    worker: Option<JoinHandle<()>>,
    shared: Arc<Shared>,
}

impl Notifier {
    /// Checks `config`, creates the dead-letter file's directories and
    /// starts the worker thread.
    pub fn start(config: NotifyConfig) -> Result<Notifier, NotifyError> {
        config.validate()?;
        let log = DeadLetterLog::open(config.dead_letter.clone())?;
        let shared = Arc::new(Shared {
            stats: Arc::new(Stats::default()),
            log,
            stopping: AtomicBool::new(false),
            grace: Mutex::new(Duration::ZERO),
        });
        let (tx, rx) = sync_channel(config.queue_capacity);
        let worker = Worker::new(rx, config, Arc::clone(&shared));
        let handle = std::thread::Builder::new()
            .name("sekimori-notify".into())
            .spawn(move || worker.run())
            .map_err(NotifyError::Spawn)?;
        Ok(Notifier {
            tx: Some(tx),
            worker: Some(handle),
            shared,
        })
    }

    /// Queues a notice without blocking.
    ///
    /// `Ok` when queued. When the queue is full the notice is written to
    /// the dead-letter log (`last_error` `queue_full`) and
    /// [`NotifyError::QueueFull`] is returned; an invalid notice (id not
    /// 1–256 visible ASCII characters, `at` not RFC 3339) is refused with
    /// [`NotifyError::InvalidNotice`] and not logged. Only an
    /// [`NotifyError::Io`] means the notice is in neither place.
    pub fn send(&self, notice: Notice) -> Result<(), NotifyError> {
        check(&notice)?;
        match self.enqueue(Box::new(notice)) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(notice)) => {
                self.dead_letter_now(*notice, QUEUE_FULL)?;
                Err(NotifyError::QueueFull)
            }
            Err(TrySendError::Disconnected(notice)) => {
                self.dead_letter_now(*notice, "worker_stopped")?;
                Err(NotifyError::Stopped)
            }
        }
    }

    /// Queues every dead letter in `path` again, then removes them from the
    /// file. Returns how many were queued.
    ///
    /// Dead letters that do not fit in the queue (or are invalid) stay in
    /// the file. `path` may be this notifier's own dead-letter file: it is
    /// locked meanwhile, so no dead letter is appended and lost between
    /// reading and truncating. A missing file redrives nothing. Redriven
    /// notices start again at attempt 1 with the same id.
    pub fn redrive(&self, path: impl AsRef<Path>) -> Result<usize, NotifyError> {
        let path = path.as_ref();
        let _guard = self.shared.log.is(path).then(|| self.shared.log.lock());
        let letters = read_dead_letters(path)?;
        if letters.is_empty() {
            return Ok(0);
        }
        let mut queued = 0;
        let mut kept = Vec::new();
        for letter in letters {
            if let Err(e) = check(&letter.notice) {
                tracing::warn!(id = %letter.notice.id, error = %e, "dead letter not redriven");
                kept.push(letter);
                continue;
            }
            let DeadLetter {
                notice,
                attempts,
                last_error,
                failed_at,
            } = letter;
            match self.enqueue(Box::new(notice)) {
                Ok(()) => queued += 1,
                Err(TrySendError::Full(notice) | TrySendError::Disconnected(notice)) => {
                    kept.push(DeadLetter {
                        notice: *notice,
                        attempts,
                        last_error,
                        failed_at,
                    });
                }
            }
        }
        dead_letter::rewrite(path, &kept)?;
        tracing::info!(queued, kept = kept.len(), "dead letters redriven");
        Ok(queued)
    }

    /// The live counters.
    pub fn stats(&self) -> Arc<Stats> {
        Arc::clone(&self.shared.stats)
    }

    /// Stops taking notices and drains: every notice still queued or
    /// waiting for a retry gets one more attempt while `grace` lasts (each
    /// attempt's timeout is cut to what is left); the rest are
    /// dead-lettered. Returns when the worker has finished, at most about
    /// `grace` (plus the dead-letter writes) after any attempt in flight
    /// when it was called.
    pub fn shutdown(mut self, grace: Duration) -> Result<(), NotifyError> {
        self.stop(grace);
        match self.worker.take() {
            Some(handle) => handle.join().map_err(|_| NotifyError::WorkerPanicked),
            None => Ok(()),
        }
    }

    fn stop(&mut self, grace: Duration) {
        *self
            .shared
            .grace
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = grace;
        self.tx = None;
        self.shared.stopping.store(true, Relaxed);
    }

    fn enqueue(&self, notice: Box<Notice>) -> Result<(), TrySendError<Box<Notice>>> {
        let Some(tx) = &self.tx else {
            return Err(TrySendError::Disconnected(notice));
        };
        let stats = &self.shared.stats;
        // Count it pending before the worker can see it, so the gauge
        // never goes below zero.
        stats.pending.fetch_add(1, Relaxed);
        match tx.try_send(notice) {
            Ok(()) => {
                stats.queued.fetch_add(1, Relaxed);
                Ok(())
            }
            Err(e) => {
                stats.pending.fetch_sub(1, Relaxed);
                Err(e)
            }
        }
    }

    /// Dead-letters from the caller's thread, reporting a write failure.
    fn dead_letter_now(&self, notice: Notice, reason: &str) -> Result<(), NotifyError> {
        let letter = DeadLetter::now(notice, 0, reason.to_owned());
        self.shared.log.append(&letter).inspect_err(|e| {
            self.shared.stats.lost.fetch_add(1, Relaxed);
            tracing::error!(id = %letter.notice.id, error = %e, "notice LOST: dead-letter log failed");
        })?;
        self.shared.stats.dead_lettered.fetch_add(1, Relaxed);
        tracing::warn!(id = %letter.notice.id, kind = %letter.notice.kind, reason, "notice dead-lettered");
        Ok(())
    }
}

/// Dropping without [`Notifier::shutdown`] stops the worker with no grace
/// period: it dead-letters whatever is pending, in the background (not
/// waited for).
impl Drop for Notifier {
    fn drop(&mut self) {
        if self.tx.is_some() {
            self.stop(Duration::ZERO);
        }
    }
}

/// The checks that keep a notice sendable: its id goes into a header.
fn check(notice: &Notice) -> Result<(), NotifyError> {
    let id = &notice.id;
    if id.is_empty() || id.len() > 256 || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(NotifyError::InvalidNotice(
            "id must be 1-256 visible ASCII characters".into(),
        ));
    }
    if OffsetDateTime::parse(&notice.at, &Rfc3339).is_err() {
        return Err(NotifyError::InvalidNotice("at must be RFC 3339".into()));
    }
    Ok(())
}
