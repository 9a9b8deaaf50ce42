//! [`JetStreamLog`]: the leader's side of the replicated log.
//!
//! `append` (called under the ledger lock) queues the entry for one
//! publisher task, which sends everything queued back to back (pipelined:
//! each entry expects the one before it) and then reads the stream's
//! acknowledgements in order. An acknowledged entry goes to the node's own
//! store, and its waiter is answered once that store holds it (so the
//! node's index of decided events never lags an acknowledged decision).
//!
//! A publish that times out or finds no quorum is retried, the same
//! message with the same id, until the stream takes it (the duplicate
//! window, or the entry found at its sequence with this id, tells a retry
//! of a stored entry from a new one), so nothing decided is lost and
//! nothing is stored twice; meanwhile the entry is not acknowledged and
//! [`LogStatus::NoQuorum`] says why. A publish the stream refuses because
//! another entry holds its sequence, or one attempted without a valid
//! lease, fences the node: that entry and every later one fail with
//! [`StoreError::Fenced`] and are never acknowledged.

use super::lease::Lease;
use super::{wire, Cluster};
use crate::log::{Durable, Entries, Log, Record};
use async_nats::jetstream::context::{PublishAckFuture, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use sekimori_store::{Op, Store, StoreError};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Most entries sent before their acknowledgements are read.
const WINDOW: usize = 1024;

/// The state of the leader's log, for `/v1/cluster` and metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStatus {
    /// Entries are acknowledged.
    Ok,
    /// The stream does not answer (no quorum, or no NATS): entries wait,
    /// unacknowledged, and are retried.
    NoQuorum,
    /// Another node leads; nothing more is appended here.
    Fenced,
}

impl LogStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LogStatus::Ok => "ok",
            LogStatus::NoQuorum => "no_quorum",
            LogStatus::Fenced => "fenced",
        }
    }
}

enum Job {
    Entry(Pending),
    /// A snapshot, stored behind the entries it covers.
    Snapshot {
        seq: u64,
        bytes: Vec<u8>,
        reply: oneshot::Sender<Result<(), StoreError>>,
    },
}

struct Pending {
    seq: u64,
    record: Record,
    msg_id: String,
    payload: bytes::Bytes,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

/// The log of a shard's leader: the JetStream stream, with the node's own
/// store as its local copy (reads come from there: the leader applied
/// everything up to the stream's last sequence before it led).
pub struct JetStreamLog {
    store: Arc<Store>,
    cluster: Cluster,
    tx: mpsc::UnboundedSender<Job>,
    status: Arc<AtomicU8>,
    lease: Arc<Lease>,
}

impl std::fmt::Debug for JetStreamLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JetStreamLog")
            .field("shard", &self.cluster.config.shard)
            .field("status", &self.status())
            .finish()
    }
}

impl JetStreamLog {
    /// The leader's log. Spawns the publisher on the current tokio runtime.
    pub fn new(store: Arc<Store>, cluster: Cluster, lease: Arc<Lease>) -> Arc<JetStreamLog> {
        let (tx, rx) = mpsc::unbounded_channel();
        let status = Arc::new(AtomicU8::new(0));
        let publisher = Publisher {
            store: Arc::clone(&store),
            cluster: cluster.clone(),
            status: Arc::clone(&status),
            lease: Arc::clone(&lease),
        };
        tokio::spawn(publisher.run(rx));
        Arc::new(JetStreamLog {
            store,
            cluster,
            tx,
            status,
            lease,
        })
    }

    pub fn status(&self) -> LogStatus {
        status_of(self.status.load(Ordering::Acquire))
    }

    /// The lease this log appends under.
    pub fn lease(&self) -> &Arc<Lease> {
        &self.lease
    }
}

fn status_of(v: u8) -> LogStatus {
    match v {
        0 => LogStatus::Ok,
        1 => LogStatus::NoQuorum,
        _ => LogStatus::Fenced,
    }
}

fn failed(e: StoreError) -> Durable {
    let (tx, rx) = oneshot::channel();
    let _ = tx.send(Err(e));
    rx
}

impl Log for JetStreamLog {
    fn append(&self, seq: u64, record: Record) -> Durable {
        if self.status() == LogStatus::Fenced {
            return failed(StoreError::Fenced("this node was fenced".into()));
        }
        let (reply, rx) = oneshot::channel();
        let msg_id = format!(
            "{}:{}:{}",
            self.cluster.config.shard,
            self.lease.term(),
            seq
        );
        // Signed as entry `seq` of the shard's stream when the node holds
        // the shard's keys (every server node does: `Follower::open`).
        let payload = match self.cluster.keys() {
            Some(keys) => wire::encode_signed(
                &record,
                &self.cluster.config.stream_name(),
                seq,
                &keys.sign_object,
            ),
            None => wire::encode(&record),
        }
        .into();
        let pending = Pending {
            seq,
            record,
            msg_id,
            payload,
            reply,
        };
        if let Err(mpsc::error::SendError(Job::Entry(p))) = self.tx.send(Job::Entry(pending)) {
            let _ = p.reply.send(Err(StoreError::Failed));
        }
        rx
    }

    fn read_from(&self, from: u64) -> Result<Entries<'_>, StoreError> {
        Log::read_from(self.store.as_ref(), from)
    }

    fn last_seq(&self) -> Result<u64, StoreError> {
        self.store.last_seq()
    }

    fn put_snapshot(&self, seq: u64, bytes: Vec<u8>) -> Durable {
        let (reply, rx) = oneshot::channel();
        if let Err(mpsc::error::SendError(Job::Snapshot { reply, .. })) =
            self.tx.send(Job::Snapshot { seq, bytes, reply })
        {
            let _ = reply.send(Err(StoreError::Failed));
        }
        rx
    }

    fn snapshot(&self) -> Result<Option<(u64, Vec<u8>)>, StoreError> {
        self.store.snapshot()
    }

    fn shard_stream(&self) -> Option<String> {
        Some(self.cluster.config.stream_name())
    }
}

struct Publisher {
    store: Arc<Store>,
    cluster: Cluster,
    status: Arc<AtomicU8>,
    lease: Arc<Lease>,
}

enum Outcome {
    Stored,
    Fenced(String),
}

impl Publisher {
    async fn run(self, mut rx: mpsc::UnboundedReceiver<Job>) {
        let mut next = None;
        loop {
            let first = match next.take() {
                Some(job) => job,
                None => match rx.recv().await {
                    Some(job) => job,
                    None => return,
                },
            };
            let result = match first {
                Job::Snapshot { seq, bytes, reply } => {
                    self.snapshot(seq, bytes, reply);
                    Ok(())
                }
                Job::Entry(p) => {
                    let mut batch = vec![p];
                    while batch.len() < WINDOW {
                        match rx.try_recv() {
                            Ok(Job::Entry(p)) => batch.push(p),
                            Ok(job) => {
                                next = Some(job);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    self.publish_batch(batch).await
                }
            };
            if let Err(reason) = result {
                self.status.store(2, Ordering::Release);
                self.lease.lose();
                tracing::error!(reason, "fenced: this node no longer appends to the shard");
                rx.close();
                let fenced = || Err(StoreError::Fenced(reason.clone()));
                for job in next.take().into_iter() {
                    reply_to(job, fenced());
                }
                while let Some(job) = rx.recv().await {
                    reply_to(job, fenced());
                }
                return;
            }
        }
    }

    /// Stores a snapshot behind the entries it covers (all stored: they
    /// came before it), and uploads it for nodes that join.
    fn snapshot(&self, seq: u64, bytes: Vec<u8>, reply: oneshot::Sender<Result<(), StoreError>>) {
        let local = self.store.submit(Op::Snapshot { seq, bytes });
        let cluster = self.cluster.clone();
        let store = Arc::clone(&self.store);
        tokio::spawn(async move {
            let stored = local.await.unwrap_or(Err(StoreError::Failed));
            let ok = stored.is_ok();
            let _ = reply.send(stored);
            if !ok {
                return;
            }
            // Signed under the shard's keys: an unsigned object would be
            // refused by every joining node (and the stream never trimmed
            // behind it).
            let Some(keys) = cluster.keys() else {
                tracing::warn!("snapshot not uploaded: this node has no shard keys to sign it");
                return;
            };
            // Read back once durable (the pack it names is stored by then).
            let object = match store.snapshot() {
                Ok(Some((s, bytes))) if s == seq => super::follow::snapshot_object(
                    &store,
                    seq,
                    &bytes,
                    &cluster.config.stream_name(),
                    &keys,
                ),
                _ => Err("a later snapshot replaced it".into()),
            };
            match object {
                Ok(object) => {
                    if let Err(e) = super::follow::upload_snapshot(&cluster, object).await {
                        tracing::warn!(error = %e, "snapshot not uploaded to the object store");
                        return;
                    }
                    // Behind the uploaded snapshot, the stream is trimmed.
                    if let Some(margin) = cluster.config.trim_margin {
                        if let Err(e) = super::follow::trim_behind(&cluster, seq, margin).await {
                            tracing::warn!(error = %e, "stream not trimmed");
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "snapshot not uploaded"),
            }
        });
    }

    /// Publishes a batch in order; `Err` when fenced (every unstored entry
    /// of the batch has been answered with the error).
    async fn publish_batch(&self, batch: Vec<Pending>) -> Result<(), String> {
        // Pipelined: send all, then read the acknowledgements in order.
        let mut acks: Vec<Option<PublishAckFuture>> = Vec::with_capacity(batch.len());
        if self.lease.valid() {
            for p in &batch {
                match self.send(p).await {
                    Ok(ack) => acks.push(Some(ack)),
                    Err(_) => break,
                }
            }
        }
        let mut batch = batch.into_iter();
        let mut acks = acks.into_iter();
        let mut stored = 0;
        for ack in acks.by_ref() {
            let Some(p) = batch.next() else { break };
            let ok = match ack {
                Some(ack) => matches!(ack.await, Ok(a) if a.stream_seq_ok(p.seq)),
                None => false,
            };
            if !ok {
                // From here on, one by one until each is known stored.
                let rest: Vec<Pending> = std::iter::once(p).chain(batch).collect();
                return self.serially(rest).await;
            }
            self.stored(p);
            stored += 1;
        }
        let rest: Vec<Pending> = batch.collect();
        let _ = stored;
        self.serially(rest).await
    }

    async fn serially(&self, rest: Vec<Pending>) -> Result<(), String> {
        let mut rest = rest.into_iter();
        while let Some(p) = rest.next() {
            match self.until_stored(&p).await {
                Outcome::Stored => self.stored(p),
                Outcome::Fenced(reason) => {
                    // Fenced before anyone hears of it.
                    self.status.store(2, Ordering::Release);
                    self.lease.lose();
                    let _ = p.reply.send(Err(StoreError::Fenced(reason.clone())));
                    for q in rest {
                        let _ = q.reply.send(Err(StoreError::Fenced(reason.clone())));
                    }
                    return Err(reason);
                }
            }
        }
        self.status.store(0, Ordering::Release);
        Ok(())
    }

    async fn send(&self, p: &Pending) -> Result<PublishAckFuture, PublishErrorKind> {
        let message = PublishMessage::build()
            .payload(p.payload.clone())
            .message_id(&p.msg_id)
            .expected_last_sequence(p.seq - 1);
        self.cluster
            .js
            .send_publish(self.cluster.config.subject(), message)
            .await
            .map_err(|e| e.kind())
    }

    /// Retries `p` until the stream holds it, or another entry holds its
    /// sequence (fenced), or the lease is gone.
    async fn until_stored(&self, p: &Pending) -> Outcome {
        let mut delay = Duration::from_millis(50);
        loop {
            if self.lease.is_lost() {
                return Outcome::Fenced("another node took the lease".into());
            }
            if !self.lease.valid() {
                // Unrenewed (no quorum for the lease either): wait, append nothing.
                self.status.store(1, Ordering::Release);
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            let result = match self.send(p).await {
                Ok(ack) => ack.await.map_err(|e| e.kind()),
                Err(kind) => Err(kind),
            };
            match result {
                Ok(a) if a.stream_seq_ok(p.seq) => return Outcome::Stored,
                Ok(a) => {
                    return Outcome::Fenced(format!(
                        "the stream stored entry {} at sequence {}",
                        p.seq, a.sequence
                    ))
                }
                Err(PublishErrorKind::WrongLastSequence) => match self.held_at(p.seq).await {
                    Ok(Some(id)) if id == p.msg_id => return Outcome::Stored,
                    Ok(Some(_)) => {
                        return Outcome::Fenced(format!(
                            "another node's entry holds sequence {}",
                            p.seq
                        ))
                    }
                    Ok(None) => {
                        return Outcome::Fenced(format!(
                        "the stream is behind sequence {}: entries acknowledged here are missing",
                        p.seq - 1
                    ))
                    }
                    Err(_) => {}
                },
                Err(_) => {}
            }
            if self.status.load(Ordering::Acquire) == 0 {
                tracing::warn!(seq = p.seq, "the stream does not acknowledge; retrying");
            }
            self.status.store(1, Ordering::Release);
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_millis(500));
        }
    }

    /// The message id of the stream's entry at `seq` (`None`: none there).
    async fn held_at(&self, seq: u64) -> Result<Option<String>, ()> {
        match self.cluster.stream.get_raw_message(seq).await {
            Ok(m) => Ok(m.headers.get("Nats-Msg-Id").map(|v| v.as_str().to_string())),
            Err(e) => match e.kind() {
                async_nats::jetstream::stream::RawMessageErrorKind::NoMessageFound => Ok(None),
                _ => Err(()),
            },
        }
    }

    /// The stream holds `p`: the node's own store gets it, and its waiter
    /// is answered once that is durable too.
    fn stored(&self, p: Pending) {
        p.record.submit_side_writes(&self.store);
        let local = self.store.submit(Op::Append {
            seq: p.seq,
            event: p.record.event,
            bytes: p.record.bytes,
        });
        let reply = p.reply;
        tokio::spawn(async move {
            let _ = reply.send(local.await.unwrap_or(Err(StoreError::Failed)));
        });
    }
}

fn reply_to(job: Job, result: Result<(), StoreError>) {
    match job {
        Job::Entry(p) => drop(p.reply.send(result)),
        Job::Snapshot { reply, .. } => drop(reply.send(result)),
    }
}

trait AckSeq {
    fn stream_seq_ok(&self, seq: u64) -> bool;
}

impl AckSeq for async_nats::jetstream::publish::PublishAck {
    fn stream_seq_ok(&self, seq: u64) -> bool {
        self.sequence == seq
    }
}
