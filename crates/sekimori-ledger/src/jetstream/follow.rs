//! [`Follower`]: a node that applies the shard's stream, entry by entry,
//! to its own store and engine (a hot standby), and takes the lease when
//! the leader's lapses. Also the snapshot object a new node starts from.

use super::lease::Lease;
use super::{wire, Cluster, ClusterError};
use crate::log::Durable;
use crate::replica::Replica;
use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use futures_util::StreamExt;
use sekimori_store::{Op, Store, StoreError};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncReadExt;

/// A node following its shard.
#[derive(Debug)]
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
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Follower {
    /// Restores from the node's own store (its snapshot and log); when the
    /// object store holds a later snapshot, starts from that one instead
    /// (copying the entries it covers into the store, for the event index,
    /// without applying them).
    pub async fn open(cluster: Cluster, store: Arc<Store>) -> Result<Follower, ClusterError> {
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
        };
        // A snapshot only saves replay time: without one, follow from the store.
        if let Err(e) = f.join_from_snapshot().await {
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
        let Some((seq, pack, snapshot)) = download_snapshot(&self.cluster).await? else {
            return Ok(());
        };
        if seq <= have {
            return Ok(());
        }
        let (version, record) = pack;
        self.local(Op::PutPack {
            version,
            bytes: record,
        })
        .await?;
        // The entries the snapshot covers: into the store, not the engine.
        let store = Arc::clone(&self.store);
        let mut last = None;
        read_range(&self.cluster, have + 1, seq, |s, payload| {
            let record = wire::decode(payload)?;
            if let Some((version, bytes)) = record.pack {
                drop(store.submit(Op::PutPack { version, bytes }));
            }
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
        let record = wire::decode(payload)?;
        if let Some((version, bytes)) = record.pack.clone() {
            // Applying a pack entry reads the pack from the store.
            self.local(Op::PutPack { version, bytes }).await?;
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

/// The engine as of the node's own store (its snapshot, then its log).
fn restore_local(store: &Store) -> Result<Replica, ClusterError> {
    let mut replica = Replica::from_snapshot(store, store.snapshot().map_err(|e| e.to_string())?);
    for row in store
        .scan_from(replica.next_seq())
        .map_err(|e| e.to_string())?
    {
        let (seq, bytes) = row.map_err(|e| e.to_string())?;
        replica
            .apply(store, seq, &bytes)
            .map_err(|e| e.to_string())?;
    }
    Ok(replica)
}

/// Calls `f` on every stream entry `from..=to`, in order.
pub async fn read_range(
    cluster: &Cluster,
    from: u64,
    to: u64,
    mut f: impl FnMut(u64, &[u8]) -> Result<(), ClusterError>,
) -> Result<(), ClusterError> {
    if from > to {
        return Ok(());
    }
    let consumer = cluster
        .stream
        .create_consumer(pull::OrderedConfig {
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: from,
            },
            ..Default::default()
        })
        .await
        .map_err(|e| format!("reading the stream: {e}"))?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| format!("reading the stream: {e}"))?;
    let mut expect = from;
    while expect <= to {
        let m = tokio::time::timeout(Duration::from_secs(10), messages.next())
            .await
            .map_err(|_| format!("reading the stream: entry {expect} did not come"))?
            .ok_or("reading the stream: it ended")?
            .map_err(|e| format!("reading the stream: {e}"))?;
        let seq = m.info().map_err(|e| e.to_string())?.stream_sequence;
        if seq < expect {
            continue;
        }
        if seq != expect {
            return Err(format!("the stream skipped from {expect} to {seq}"));
        }
        f(seq, &m.payload)?;
        expect += 1;
    }
    Ok(())
}

/// A snapshot from the object store: the sequence it covers, its pack
/// (version and stored record) and the snapshot bytes.
pub type SnapshotObject = (u64, (String, Vec<u8>), Vec<u8>);

/// The object holding a snapshot: its sequence, the record of its pack (a
/// new node has no other way to the pack's source) and the snapshot.
pub fn snapshot_object(store: &Store, seq: u64, snapshot: &[u8]) -> Result<Vec<u8>, String> {
    let nl = snapshot
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("snapshot without a pack version")?;
    let version = std::str::from_utf8(&snapshot[..nl]).map_err(|e| e.to_string())?;
    let record = store
        .pack(version)
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("pack {version} is not in the store yet"))?;
    let mut out = Vec::with_capacity(snapshot.len() + record.len() + 64);
    out.extend(seq.to_le_bytes());
    out.extend((version.len() as u32).to_le_bytes());
    out.extend(version.as_bytes());
    out.extend((record.len() as u64).to_le_bytes());
    out.extend(&record);
    out.extend(snapshot);
    Ok(out)
}

fn parse_snapshot_object(b: &[u8]) -> Option<SnapshotObject> {
    let seq = u64::from_le_bytes(b.get(..8)?.try_into().ok()?);
    let vlen = u32::from_le_bytes(b.get(8..12)?.try_into().ok()?) as usize;
    let version = std::str::from_utf8(b.get(12..12 + vlen)?).ok()?.to_string();
    let at = 12 + vlen;
    let rlen = u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?) as usize;
    let record = b.get(at + 8..at + 8 + rlen)?.to_vec();
    let snapshot = b.get(at + 8 + rlen..)?.to_vec();
    Some((seq, (version, record), snapshot))
}

/// Replaces the shard's snapshot in the object store.
pub async fn upload_snapshot(cluster: &Cluster, object: Vec<u8>) -> Result<(), ClusterError> {
    let mut reader = object.as_slice();
    cluster
        .snapshots
        .put(cluster.config.shard.as_str(), &mut reader)
        .await
        .map(drop)
        .map_err(|e| e.to_string())
}

/// The shard's snapshot from the object store, if there is one.
pub async fn download_snapshot(cluster: &Cluster) -> Result<Option<SnapshotObject>, ClusterError> {
    let mut object = match cluster.snapshots.get(cluster.config.shard.as_str()).await {
        Ok(o) => o,
        Err(e) if e.kind() == async_nats::jetstream::object_store::GetErrorKind::NotFound => {
            return Ok(None)
        }
        Err(e) => return Err(format!("reading the snapshot store: {e}")),
    };
    let mut bytes = Vec::new();
    object
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| format!("reading the snapshot: {e}"))?;
    Ok(parse_snapshot_object(&bytes))
}

/// A fresh engine replaying the whole stream (tests and audits): the
/// replica, with `store` (empty) holding the entries afterwards.
pub async fn replay_stream(cluster: &Cluster, store: &Arc<Store>) -> Result<Replica, ClusterError> {
    let last = cluster.last_seq().await?;
    let mut replica = Replica::empty();
    let mut written = None;
    let mut entries = Vec::new();
    read_range(cluster, 1, last, |s, p| {
        entries.push((s, wire::decode(p)?));
        Ok(())
    })
    .await?;
    for (seq, record) in entries {
        if let Some((version, bytes)) = record.pack {
            settle(store.submit(Op::PutPack { version, bytes })).await?;
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
