//! The shard's lease: one key of the lease bucket, created only when absent
//! (a leader exists while it does), renewed by revision (only the holder's
//! revision matches), and gone once not renewed for the bucket's TTL.
//!
//! The holder counts its lease valid only until three quarters of the TTL
//! after it *sent* its last successful renewal: the key expires a TTL
//! after the NATS server stored it, which is later, so the holder stops
//! appending before anyone else can take the lease (given clocks that run
//! at nearly the same rate; fencing by sequence covers the rest).

use async_nats::jetstream::kv;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A lease this node holds.
#[derive(Debug)]
pub struct Lease {
    kv: kv::Store,
    key: String,
    node: String,
    ttl: Duration,
    /// The revision of the latest acquisition: the leader's term.
    term: AtomicU64,
    state: Mutex<(u64, Instant)>,
    lost: AtomicBool,
}

impl Lease {
    /// Takes the lease of `key` if nobody holds it (`Ok(None)` otherwise).
    pub async fn try_acquire(
        kv: &kv::Store,
        key: &str,
        node: &str,
        ttl: Duration,
    ) -> Result<Option<Arc<Lease>>, String> {
        let sent = Instant::now();
        match kv.create(key, node.to_string().into()).await {
            Ok(revision) => Ok(Some(Arc::new(Lease {
                kv: kv.clone(),
                key: key.to_string(),
                node: node.to_string(),
                ttl,
                term: AtomicU64::new(revision),
                state: Mutex::new((revision, sent + ttl * 3 / 4)),
                lost: AtomicBool::new(false),
            }))),
            Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Ok(None),
            Err(e) => Err(format!("taking the lease: {e}")),
        }
    }

    /// The revision this lease was (last) taken at: the leader's term.
    pub fn term(&self) -> u64 {
        self.term.load(Ordering::Acquire)
    }

    /// Whether this node may append now: the lease is held and was renewed
    /// recently enough that nobody else can have taken it.
    pub fn valid(&self) -> bool {
        !self.is_lost()
            && self
                .state
                .lock()
                .map(|s| Instant::now() < s.1)
                .unwrap_or(false)
    }

    /// Whether another node holds the lease now (or this one gave it up):
    /// this node never appends again.
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Acquire)
    }

    /// Gives the lease up at once (this node stops appending).
    pub fn lose(&self) {
        self.lost.store(true, Ordering::Release);
    }

    fn renewed(&self, revision: u64, sent: Instant) {
        if let Ok(mut s) = self.state.lock() {
            *s = (revision, sent + self.ttl * 3 / 4);
        }
    }

    /// Renews the lease every quarter TTL until it is lost. A renewal that
    /// cannot reach a quorum is retried (the lease lapses meanwhile: the
    /// node appends nothing); a renewal refused because the key expired is
    /// a new acquisition if nobody took it; one held by another node loses
    /// it for good. Returns when lost.
    pub async fn keep(self: Arc<Self>) {
        loop {
            tokio::time::sleep(self.ttl / 4).await;
            if self.is_lost() {
                return;
            }
            let Ok((revision, _)) = self.state.lock().map(|s| *s) else {
                self.lose();
                return;
            };
            let sent = Instant::now();
            let value: bytes::Bytes = self.node.clone().into_bytes().into();
            let renewed = tokio::time::timeout(
                self.ttl / 2,
                self.kv.update(&self.key, value.clone(), revision),
            )
            .await;
            match renewed {
                Ok(Ok(next)) => self.renewed(next, sent),
                Ok(Err(e)) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
                    // A renewal that timed out may have been stored after all:
                    // the key then holds this node's name at a newer revision.
                    match self.kv.entry(&self.key).await {
                        Ok(Some(entry))
                            if entry.operation == kv::Operation::Put
                                && entry.value.as_ref() == self.node.as_bytes() =>
                        {
                            self.renewed(entry.revision, sent);
                            continue;
                        }
                        Ok(Some(entry)) if entry.operation == kv::Operation::Put => {
                            tracing::error!("another node took the shard's lease");
                            self.lose();
                            return;
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "the lease could not be read");
                            continue;
                        }
                    }
                    match self.kv.create(&self.key, value).await {
                        Ok(next) => {
                            tracing::warn!("the shard's lease had expired; taken again");
                            self.term.store(next, Ordering::Release);
                            self.renewed(next, sent);
                        }
                        Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                            tracing::error!("another node took the shard's lease");
                            self.lose();
                            return;
                        }
                        Err(e) => tracing::warn!(error = %e, "the lease could not be taken again"),
                    }
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "the lease was not renewed"),
                Err(_) => tracing::warn!("the lease renewal timed out"),
            }
        }
    }
}
