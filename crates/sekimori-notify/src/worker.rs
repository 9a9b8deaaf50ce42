//! The background worker: one thread, one HTTP attempt at a time, a retry
//! schedule ordered by due time so a failing notice never holds up new ones.

use crate::backoff::backoff_delay;
use crate::dead_letter::DeadLetter;
use crate::sign::{signature_header, NOTICE_ID_HEADER, SIGNATURE_HEADER};
use crate::{Notice, NotifyConfig, Shared};
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Why the worker gave up on notices still pending at shutdown that it had
/// no time to try.
const SHUTDOWN_UNTRIED: &str = "shutdown: grace period over before another attempt";

/// One notice and its delivery history.
struct Job {
    notice: Notice,
    attempts: u32,
    last_error: String,
}

/// A job waiting for its next attempt; ordered so the earliest due is the
/// greatest (`BinaryHeap` is a max-heap), ties broken by arrival.
struct Retry {
    due: Instant,
    seq: u64,
    job: Job,
}

impl PartialEq for Retry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Retry {}
impl PartialOrd for Retry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Retry {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .due
            .cmp(&self.due)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// What one HTTP attempt came to.
enum Outcome {
    Delivered,
    /// 5xx, 408, 429, timeouts, connection errors.
    Retryable(String),
    /// Any other status, or a request that can never succeed.
    Permanent(String),
}

pub(crate) struct Worker {
    rx: Receiver<Box<Notice>>,
    agent: ureq::Agent,
    config: NotifyConfig,
    shared: Arc<Shared>,
    retries: BinaryHeap<Retry>,
    seq: u64,
}

impl Worker {
    pub(crate) fn new(
        rx: Receiver<Box<Notice>>,
        config: NotifyConfig,
        shared: Arc<Shared>,
    ) -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(config.timeout))
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(concat!("sekimori-notify/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Worker {
            rx,
            agent,
            config,
            shared,
            retries: BinaryHeap::new(),
            seq: 0,
        }
    }

    /// Runs until the notifier shuts down (or is dropped), then drains.
    pub(crate) fn run(mut self) {
        while !self.stopping() {
            self.run_due();
            if self.stopping() {
                break;
            }
            let next = match self.retries.peek() {
                None => self.rx.recv().ok(),
                Some(retry) => {
                    let wait = retry.due.saturating_duration_since(Instant::now());
                    match self.rx.recv_timeout(wait) {
                        Ok(notice) => Some(notice),
                        Err(RecvTimeoutError::Timeout) => continue,
                        Err(RecvTimeoutError::Disconnected) => None,
                    }
                }
            };
            match next {
                Some(notice) => {
                    let job = Job {
                        notice: *notice,
                        attempts: 0,
                        last_error: String::new(),
                    };
                    self.process(job);
                }
                None => break,
            }
        }
        self.drain();
    }

    fn stopping(&self) -> bool {
        self.shared.stopping.load(Relaxed)
    }

    /// Attempts every retry that is due now (once each).
    fn run_due(&mut self) {
        let now = Instant::now();
        let mut due = Vec::new();
        while self.retries.peek().is_some_and(|r| r.due <= now) {
            if let Some(retry) = self.retries.pop() {
                due.push(retry.job);
            }
        }
        let mut due = due.into_iter();
        for job in due.by_ref() {
            if self.stopping() {
                // Put the job back: the drain gives it its last try.
                self.schedule_at(job, now);
                break;
            }
            self.process(job);
        }
        for job in due {
            self.schedule_at(job, now);
        }
    }

    /// One attempt, then delivered, rescheduled or dead-lettered.
    fn process(&mut self, mut job: Job) {
        match self.attempt(&mut job, self.config.timeout) {
            Outcome::Delivered => self.delivered(&job),
            Outcome::Permanent(error) => self.dead_letter(job, error),
            Outcome::Retryable(error) => {
                if job.attempts >= self.config.max_attempts {
                    self.dead_letter(job, error);
                } else if self.retries.len() >= self.config.queue_capacity {
                    self.dead_letter(job, format!("retry_queue_full: {error}"));
                } else {
                    let delay = backoff_delay(
                        self.config.first_backoff,
                        self.config.max_backoff,
                        &job.notice.id,
                        job.attempts,
                    );
                    tracing::warn!(
                        id = %job.notice.id,
                        kind = %job.notice.kind,
                        attempt = job.attempts,
                        error = %error,
                        retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        "notice delivery failed; will retry"
                    );
                    self.shared.stats.retried.fetch_add(1, Relaxed);
                    job.last_error = error;
                    let due = Instant::now().checked_add(delay).unwrap_or_else(far_future);
                    self.schedule_at(job, due);
                }
            }
        }
    }

    fn schedule_at(&mut self, job: Job, due: Instant) {
        self.seq = self.seq.wrapping_add(1);
        self.retries.push(Retry {
            due,
            seq: self.seq,
            job,
        });
    }

    /// After the last sender is gone: every pending notice (retries first,
    /// then the queue) gets one more attempt while the grace period lasts;
    /// whatever is left is dead-lettered.
    fn drain(&mut self) {
        let grace = self.shared.grace();
        let deadline = Instant::now().checked_add(grace);
        let mut jobs: Vec<Job> = std::mem::take(&mut self.retries)
            .into_sorted_vec()
            .into_iter()
            .rev()
            .map(|retry| retry.job)
            .collect();
        jobs.extend(self.rx.try_iter().map(|notice| Job {
            notice: *notice,
            attempts: 0,
            last_error: String::new(),
        }));
        if !jobs.is_empty() {
            tracing::info!(
                pending = jobs.len(),
                grace_ms = u64::try_from(grace.as_millis()).unwrap_or(u64::MAX),
                "notifier shutting down; trying pending notices once more"
            );
        }
        for mut job in jobs {
            let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            if left == Some(Duration::ZERO) {
                let error = if job.last_error.is_empty() {
                    SHUTDOWN_UNTRIED.to_owned()
                } else {
                    format!("{}; {SHUTDOWN_UNTRIED}", job.last_error)
                };
                self.dead_letter(job, error);
                continue;
            }
            let timeout = left.map_or(self.config.timeout, |l| l.min(self.config.timeout));
            match self.attempt(&mut job, timeout) {
                Outcome::Delivered => self.delivered(&job),
                Outcome::Retryable(error) | Outcome::Permanent(error) => {
                    self.dead_letter(job, error);
                }
            }
        }
    }

    /// One signed POST. Errors are described without the URL (it may hold
    /// a token) and never with the secret or the signature.
    fn attempt(&self, job: &mut Job, timeout: Duration) -> Outcome {
        job.attempts = job.attempts.saturating_add(1);
        let body = match serde_json::to_vec(&job.notice) {
            Ok(body) => body,
            Err(e) => return Outcome::Permanent(format!("could not serialize the notice: {e}")),
        };
        let t = unix_now();
        let Some(signature) = signature_header(&self.config.secret, t, &body) else {
            return Outcome::Permanent("could not sign the notice".into());
        };
        let result = self
            .agent
            .post(&self.config.url)
            .config()
            .timeout_global(Some(timeout))
            .build()
            .header("Content-Type", "application/json")
            .header(NOTICE_ID_HEADER, &job.notice.id)
            .header(SIGNATURE_HEADER, &signature)
            .send(&body[..]);
        match result {
            Ok(response) => {
                let status = response.status().as_u16();
                // Read (and ignore) a small body so the connection can be
                // reused; a failure here changes nothing about the status.
                let _ = response
                    .into_body()
                    .with_config()
                    .limit(64 * 1024)
                    .read_to_vec();
                classify_status(status)
            }
            Err(e) => classify_error(&e),
        }
    }

    fn delivered(&self, job: &Job) {
        tracing::debug!(
            id = %job.notice.id,
            kind = %job.notice.kind,
            attempts = job.attempts,
            "notice delivered"
        );
        self.shared.stats.delivered.fetch_add(1, Relaxed);
        self.shared.stats.pending.fetch_sub(1, Relaxed);
    }

    fn dead_letter(&self, job: Job, error: String) {
        self.shared.stats.pending.fetch_sub(1, Relaxed);
        self.shared
            .dead_letter(DeadLetter::now(job.notice, job.attempts, error));
    }
}

/// 2xx delivered; 408, 429 and 5xx retried; anything else (other 4xx,
/// 1xx, 3xx: redirects are not followed) is permanent.
fn classify_status(status: u16) -> Outcome {
    match status {
        200..=299 => Outcome::Delivered,
        408 | 429 | 500..=599 => Outcome::Retryable(format!("HTTP {status}")),
        300..=399 => Outcome::Permanent(format!("HTTP {status} (redirects are not followed)")),
        _ => Outcome::Permanent(format!("HTTP {status}")),
    }
}

fn classify_error(e: &ureq::Error) -> Outcome {
    use ureq::Error as E;
    match e {
        E::Timeout(_) => Outcome::Retryable("timeout".into()),
        E::Io(io) => Outcome::Retryable(format!("connection error: {}", io_kind(io))),
        E::ConnectionFailed => Outcome::Retryable("connection error: connection failed".into()),
        E::HostNotFound => Outcome::Retryable("connection error: host not found".into()),
        E::Protocol(_) => Outcome::Retryable("protocol error in the response".into()),
        E::BodyStalled => Outcome::Retryable("timeout: the connection stalled".into()),
        E::BadUri(_) | E::Http(_) => Outcome::Permanent("invalid request (URL or header)".into()),
        E::TlsRequired | E::Tls(_) => {
            Outcome::Permanent("TLS is not available in this build (use http://)".into())
        }
        _ => Outcome::Permanent("request failed".into()),
    }
}

/// The I/O error's kind in words (its `Display` may quote addresses).
fn io_kind(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => "connection refused".into(),
        K::ConnectionReset => "connection reset".into(),
        K::ConnectionAborted => "connection aborted".into(),
        K::TimedOut => "timed out".into(),
        K::UnexpectedEof => "connection closed early".into(),
        K::BrokenPipe => "broken pipe".into(),
        other => other.to_string(),
    }
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// A due time for a delay too long to add: a year from now (or now).
fn far_future() -> Instant {
    let now = Instant::now();
    now.checked_add(Duration::from_secs(365 * 24 * 3600))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        for s in [200, 201, 204, 299] {
            assert!(matches!(classify_status(s), Outcome::Delivered), "{s}");
        }
        for s in [408, 429, 500, 502, 503, 599] {
            assert!(matches!(classify_status(s), Outcome::Retryable(_)), "{s}");
        }
        for s in [100, 301, 400, 401, 403, 404, 409, 410, 422, 600] {
            assert!(matches!(classify_status(s), Outcome::Permanent(_)), "{s}");
        }
    }

    #[test]
    fn retry_heap_pops_earliest_first() {
        let now = Instant::now();
        let job = |id: &str| Job {
            notice: Notice {
                id: id.into(),
                kind: "charge".into(),
                account: None,
                service: "s".into(),
                at: "2024-01-01T00:00:00Z".into(),
                action: "allow".into(),
                summary: serde_json::Value::Null,
            },
            attempts: 1,
            last_error: String::new(),
        };
        let mut heap = BinaryHeap::new();
        for (i, (id, ms)) in [("late", 30), ("early", 10), ("mid", 20), ("early2", 10)]
            .into_iter()
            .enumerate()
        {
            heap.push(Retry {
                due: now + Duration::from_millis(ms),
                seq: i as u64,
                job: job(id),
            });
        }
        let order: Vec<String> =
            std::iter::from_fn(|| heap.pop().map(|r| r.job.notice.id)).collect();
        assert_eq!(order, ["early", "early2", "mid", "late"]);
    }
}
