//! [`Follower`]: a node that applies the shard's stream, entry by entry,
//! to its own store and engine (a hot standby), and takes the lease when
//! the leader's lapses. Also the snapshot object a new node starts from.

use super::lease::Lease;
use super::{wire, Cluster, ClusterError, ShardKeys};
use crate::log::Durable;
use crate::replica::Replica;
use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use futures_util::StreamExt;
use sekimori_store::{Op, Store, StoreError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use super::read::read_range;

#[path = "guard.rs"]
mod guard;
pub use super::snapshot::{
    download_object, download_snapshot, open_snapshot_object, parse_snapshot_object,
    snapshot_object, stepup_join_writes, trim_behind, upload_snapshot, SnapshotObject,
    STEPUP_INCOMPLETE,
};

/// A node following its shard.
pub struct Follower {
    cluster: Cluster,
    store: Arc<Store>,
    replica: Arc<Mutex<Replica>>,
    last_local: Option<Durable>,
    /// A snapshot of the follower's own every this many entries applied
    /// (a restart replays only what follows it).
    pub snapshot_every: u64,
    since_snapshot: u64,
    /// The sequence of the object-store snapshot this node started from,
    /// when it joined that way (entries up to it were copied, not applied).
    pub joined_from: Option<u64>,
    /// The rev of each analyst record written since this node started
    /// (writes still in the store's queue included), for `guard_analysts`.
    analyst_revs: std::collections::HashMap<String, u64>,
    /// Checks an analyst record's MAC (the workbench's, under the shard's
    /// key): its rev when it verifies.
    verify: AnalystVerifier,
    /// Checks an entry's MAC (the shard's object key, its own domain).
    check_entry: super::ObjectCheck,
    /// The first sequence this node saw signed (0: the shard's stream was
    /// empty when this node first started): every later entry must be.
    signed_from: Option<u64>,
}

/// What a follower checks an `analyst/` record with: `(key, value)` → the
/// record's rev when its MAC holds under the shard's key, else `None`. The
/// server builds it from `stepup.key` (the workbench's
/// `analyst_log::verifier`); the ledger holds no key of its own.
pub type AnalystVerifier = Arc<dyn Fn(&str, &[u8]) -> Option<u64> + Send + Sync>;

impl std::fmt::Debug for Follower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Follower")
            .field("cluster", &self.cluster)
            .field("applied", &self.applied())
            .field("joined_from", &self.joined_from)
            .finish_non_exhaustive()
    }
}

const ANALYST_PREFIX: &str = "analyst/";

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Follower {
    /// Restores from the node's own store (its snapshot and log); when the
    /// object store holds a later snapshot that verifies under the shard's
    /// keys, starts from that one instead (copying the entries it covers
    /// into the store, for the event index, without applying them).
    /// `keys` checks the analysts' records (a write whose MAC fails is
    /// refused, as one that does not raise its rev by one) and the snapshot
    /// objects; the cluster connection (and its clones: the log) keeps
    /// them to sign the objects it uploads.
    ///
    /// An object that does not verify (forged, unsigned, another shard's)
    /// or that is older than the stream's first entry is refused: the node
    /// then follows from its own store, replaying the stream, when the
    /// stream still holds every entry after this node's log; otherwise it
    /// cannot join, and says why.
    pub async fn open(
        cluster: Cluster,
        store: Arc<Store>,
        keys: impl Into<ShardKeys>,
    ) -> Result<Follower, ClusterError> {
        let keys: ShardKeys = keys.into();
        cluster.set_keys(keys.clone());
        let s = Arc::clone(&store);
        let local = tokio::task::spawn_blocking(move || restore_local(&s))
            .await
            .map_err(|e| e.to_string())??;
        let mut f = Follower {
            cluster,
            store,
            replica: Arc::new(Mutex::new(local)),
            last_local: None,
            snapshot_every: 100_000,
            since_snapshot: 0,
            joined_from: None,
            analyst_revs: Default::default(),
            verify: keys.analysts,
            check_entry: keys.check_object,
            signed_from: None,
        };
        f.signed_from = f.load_signed_from().await?;
        // A snapshot only saves replay time: without one, follow from the
        // store, when the stream still holds what follows it.
        if let Err(e) = f.join_from_snapshot().await {
            let first = f.cluster.first_seq().await?;
            let last = f.cluster.last_seq().await?;
            let applied = f.applied();
            if first > applied + 1 && last >= first {
                tracing::error!(error = %e, applied, first, "cannot join: the object store's snapshot is refused or unreadable and the stream is trimmed past this node's log");
                return Err(format!(
                    "cannot join the shard: {e}; and the stream starts at {first}, past this node's log (at {applied}): restore a signed snapshot (a node of the shard uploads one every --snapshot-every entries)"
                ));
            }
            tracing::warn!(error = %e, "no snapshot from the object store; following from this node's store");
        }
        Ok(f)
    }

    /// The replica's state, shared for status reads.
    pub fn replica(&self) -> Arc<Mutex<Replica>> {
        Arc::clone(&self.replica)
    }

    /// The last sequence applied.
    pub fn applied(&self) -> u64 {
        locked(&self.replica).last_seq()
    }

    async fn join_from_snapshot(&mut self) -> Result<(), ClusterError> {
        let have = self.applied();
        let Some(object) = download_snapshot(&self.cluster).await? else {
            return Ok(());
        };
        let SnapshotObject {
            seq,
            pack: (version, record),
            snapshot,
            stepup,
            stepup_whole,
        } = object;
        if seq <= have {
            return Ok(());
        }
        // A genuine object older than the stream's first entry (an old one
        // uploaded again) has lost its tail: never joined from.
        let first = self.cluster.first_seq().await?;
        if seq + 1 < first {
            return Err(format!(
                "the object store's snapshot (at {seq}) is behind the stream's first entry ({first}): refused"
            ));
        }
        self.local(Op::PutPack {
            version,
            bytes: record,
        })
        .await?;
        // The entries the snapshot covers that the stream still holds (it
        // is trimmed behind snapshots): into the store, not the engine, for
        // the index of decided events.
        let store = Arc::clone(&self.store);
        // After what this node's log holds (a join cut short may have
        // copied some), and from where the stream starts: the log skips
        // the trimmed entries, which the snapshot covers.
        let stored = store.last_seq().map_err(|e| e.to_string())?;
        let from = (have + 1).max(first).max(stored + 1);
        if from > stored + 1 {
            self.local(Op::StartAt { seq: from }).await?;
        }
        let mut last = None;
        let cluster = self.cluster.clone();
        read_range(&cluster, from, seq, |s, payload| {
            let mut record = self.checked(s, payload)?;
            // The covered tail's analyst writes are superseded by the
            // object's records (written below, with the rev guard).
            let writes = std::mem::take(&mut record.stepup);
            record.stepup = guard::covered_writes(s, writes, &self.verify);
            record.submit_side_writes(&store);
            last = Some(store.submit(Op::Append {
                seq: s,
                event: record.event,
                bytes: record.bytes,
            }));
            Ok(())
        })
        .await?;
        if let Some(l) = last {
            settle(l).await?;
        }
        // The step-up records as of the snapshot's upload (at or after its
        // seq): the tail rewrites any that changed since, in order.
        // Records deleted on the leader before the upload go too, when the
        // object holds its whole table; otherwise this node's table may
        // keep records deleted behind the object from now on, and says so.
        if !stepup_whole {
            self.local(Op::PutMeta {
                key: STEPUP_INCOMPLETE.into(),
                bytes: b"1".to_vec(),
            })
            .await?;
        }
        let local = store.stepups().map_err(|e| e.to_string())?;
        let stepup = self.guard_joined_analysts(stepup);
        let stepup = stepup_join_writes(
            local
                .into_iter()
                .map(|(k, _)| k)
                // Analysts are never deleted: an object lacking one (forged,
                // or partial) removes nobody.
                .filter(|k| !k.starts_with(ANALYST_PREFIX)),
            stepup,
            stepup_whole,
        );
        if !stepup.is_empty() {
            self.local(Op::StepUp { entries: stepup }).await?;
        }
        let replica = Replica::from_snapshot(&self.store, Some((seq, snapshot.clone())));
        if replica.last_seq() != seq {
            return Err("the object store's snapshot does not restore".into());
        }
        drop(self.store.submit(Op::Snapshot {
            seq,
            bytes: snapshot,
        }));
        *locked(&self.replica) = replica;
        self.joined_from = Some(seq);
        tracing::info!(seq, "joined from the object store's snapshot");
        Ok(())
    }

    async fn local(&self, op: Op) -> Result<(), ClusterError> {
        settle(self.store.submit(op)).await
    }

    /// Applies stream entry `seq`.
    async fn apply(&mut self, seq: u64, payload: &[u8]) -> Result<(), ClusterError> {
        let record = self.checked(seq, payload)?;
        if let Some((version, bytes)) = record.pack.clone() {
            // Applying a pack entry reads the pack from the store.
            self.local(Op::PutPack { version, bytes }).await?;
        }
        if !record.stepup.is_empty() {
            // The leader's step-up records, ahead of the entry, in order.
            let entries = self.guard_analysts(seq, record.stepup.clone());
            drop(self.store.submit(Op::StepUp { entries }));
        }
        self.last_local = Some(self.store.submit(Op::Append {
            seq,
            event: record.event,
            bytes: record.bytes.clone(),
        }));
        let copy = {
            let mut replica = locked(&self.replica);
            replica
                .apply(&self.store, seq, &record.bytes)
                .map_err(|e| e.to_string())?;
            self.since_snapshot += 1;
            match replica.engine() {
                Some(e) if self.since_snapshot >= self.snapshot_every => {
                    self.since_snapshot = 0;
                    Some((e.pack().version().to_string(), e.snapshot_copy()))
                }
                _ => None,
            }
        };
        if let Some((version, copy)) = copy {
            // Behind the entries it covers (submitted before it, in order).
            let store = Arc::clone(&self.store);
            tokio::task::spawn_blocking(move || {
                let mut bytes = version.into_bytes();
                bytes.push(b'\n');
                bytes.extend(copy.to_bytes());
                drop(store.submit(Op::Snapshot { seq, bytes }));
            });
        }
        Ok(())
    }

    /// Applies every entry up to the stream's last sequence; returns it.
    pub async fn catch_up(&mut self) -> Result<u64, ClusterError> {
        let last = self.cluster.last_seq().await?;
        let from = self.applied() + 1;
        if from <= last {
            let mut entries = Vec::new();
            read_range(&self.cluster, from, last, |s, p| {
                entries.push((s, p.to_vec()));
                Ok(())
            })
            .await?;
            for (s, p) in entries {
                self.apply(s, &p).await?;
            }
        }
        if let Some(l) = self.last_local.take() {
            settle(l).await?;
        }
        Ok(last)
    }

    /// Applies the stream as it grows, trying for the lease every quarter
    /// TTL; returns the lease once this node holds it (its renewal runs on
    /// a task of its own) and every entry up to the stream's last sequence
    /// is applied.
    pub async fn follow_until_leader(&mut self) -> Result<Arc<Lease>, ClusterError> {
        let ttl = self.cluster.config.lease_ttl;
        let key = self.cluster.config.shard.clone();
        let node = self.cluster.config.node.clone();
        let mut tick = tokio::time::interval(ttl / 4);
        'consume: loop {
            let consumer = self
                .cluster
                .stream
                .create_consumer(pull::OrderedConfig {
                    deliver_policy: DeliverPolicy::ByStartSequence {
                        start_sequence: self.applied() + 1,
                    },
                    ..Default::default()
                })
                .await;
            let mut messages = match consumer {
                Ok(c) => c.messages().await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            loop {
                let next = async {
                    match &mut messages {
                        Ok(m) => m.next().await,
                        Err(_) => std::future::pending().await,
                    }
                };
                tokio::select! {
                    m = next => match m {
                        Some(Ok(m)) => {
                            let seq = m.info().map_err(|e| e.to_string())?.stream_sequence;
                            if seq <= self.applied() {
                                continue;
                            }
                            self.apply(seq, &m.payload).await?;
                        }
                        _ => {
                            tokio::time::sleep(Duration::from_millis(200)).await;
                            continue 'consume;
                        }
                    },
                    _ = tick.tick() => {
                        if messages.is_err() {
                            continue 'consume;
                        }
                        match Lease::try_acquire(&self.cluster.leases, &key, &node, ttl).await {
                            Ok(Some(lease)) => {
                                tokio::spawn(Arc::clone(&lease).keep());
                                drop(messages);
                                // The stream may be slow to answer (a NATS
                                // node just failed): keep trying while the
                                // lease is this node's.
                                loop {
                                    match self.catch_up().await {
                                        Ok(_) => return Ok(lease),
                                        Err(e) if lease.is_lost() => return Err(e),
                                        Err(e) => {
                                            tracing::warn!(error = %e, "catching up before leading; retrying");
                                            tokio::time::sleep(Duration::from_millis(200)).await;
                                        }
                                    }
                                }
                            }
                            Ok(None) => {}
                            Err(e) => tracing::debug!(error = %e, "lease not taken"),
                        }
                    }
                }
            }
        }
    }
}

async fn settle(d: Durable) -> Result<(), ClusterError> {
    d.await
        .unwrap_or(Err(StoreError::Failed))
        .map_err(|e| format!("the node's store: {e}"))
}

/// The engine as of the node's own store (its snapshot, then its log up to
/// a gap: entries after one were copied by a join from a trimmed stream
/// that stopped before its snapshot was stored, and the join is redone).
fn restore_local(store: &Store) -> Result<Replica, ClusterError> {
    let mut replica = Replica::from_snapshot(store, store.snapshot().map_err(|e| e.to_string())?);
    for row in store
        .scan_from(replica.next_seq())
        .map_err(|e| e.to_string())?
    {
        let (seq, bytes) = row.map_err(|e| e.to_string())?;
        if seq != replica.next_seq() {
            tracing::warn!(
                applied = replica.last_seq(),
                next = seq,
                "this node's log has a gap; it rejoins from the object store's snapshot"
            );
            break;
        }
        replica
            .apply(store, seq, &bytes)
            .map_err(|e| e.to_string())?;
    }
    Ok(replica)
}

/// A fresh engine replaying the whole stream (tests and audits): the
/// replica, with `store` (empty) holding the entries afterwards.
pub async fn replay_stream(cluster: &Cluster, store: &Arc<Store>) -> Result<Replica, ClusterError> {
    let last = cluster.last_seq().await?;
    let mut replica = Replica::empty();
    let mut written = None;
    let mut entries = Vec::new();
    read_range(cluster, 1, last, |s, p| {
        entries.push((s, wire::decode_unchecked(p)?));
        Ok(())
    })
    .await?;
    for (seq, record) in entries {
        if let Some((version, bytes)) = record.pack.clone() {
            settle(store.submit(Op::PutPack { version, bytes })).await?;
        }
        if !record.stepup.is_empty() {
            drop(store.submit(Op::StepUp {
                entries: record.stepup.clone(),
            }));
        }
        replica
            .apply(store, seq, &record.bytes)
            .map_err(|e| e.to_string())?;
        written = Some(store.submit(Op::Append {
            seq,
            event: record.event,
            bytes: record.bytes,
        }));
    }
    if let Some(w) = written {
        settle(w).await?;
    }
    Ok(replica)
}
