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
        let Some(object) = download_snapshot(&self.cluster).await? else {
            return Ok(());
        };
        let SnapshotObject {
            seq,
            pack: (version, record),
            snapshot,
            stepup,
        } = object;
        if seq <= have {
            return Ok(());
        }
        self.local(Op::PutPack {
            version,
            bytes: record,
        })
        .await?;
        // The entries the snapshot covers that the stream still holds (it
        // is trimmed behind snapshots): into the store, not the engine, for
        // the index of decided events.
        let first = self.cluster.first_seq().await?;
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
        read_range(&self.cluster, from, seq, |s, payload| {
            let record = wire::decode(payload)?;
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
        if !stepup.is_empty() {
            let entries = stepup.into_iter().map(|(k, v)| (k, Some(v))).collect();
            self.local(Op::StepUp { entries }).await?;
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
        if !record.stepup.is_empty() {
            // The leader's step-up records, ahead of the entry, in order.
            drop(self.store.submit(Op::StepUp {
                entries: record.stepup.clone(),
            }));
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

/// A snapshot from the object store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotObject {
    /// The sequence the snapshot covers.
    pub seq: u64,
    /// Its pack: version and stored record (a new node has no other way to
    /// the pack's source).
    pub pack: (String, Vec<u8>),
    /// The snapshot (the ledger's bytes: pack version, newline, state).
    pub snapshot: Vec<u8>,
    /// The uploading node's step-up records (as of the upload: at or after
    /// `seq`). Empty in a format-1 object.
    pub stepup: Vec<(String, Vec<u8>)>,
}

/// Marks a format-2 object (format 1 starts with the sequence, which never
/// reaches these bytes).
const OBJECT_V2: &[u8; 8] = b"SKSNAP2\n";

/// The object holding a snapshot: its sequence, the record of its pack,
/// the node's step-up records and the snapshot.
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
    let stepup = store.stepups().map_err(|e| e.to_string())?;
    let mut out = Vec::with_capacity(snapshot.len() + record.len() + 64);
    out.extend(OBJECT_V2);
    out.extend(seq.to_le_bytes());
    out.extend((version.len() as u32).to_le_bytes());
    out.extend(version.as_bytes());
    out.extend((record.len() as u64).to_le_bytes());
    out.extend(&record);
    out.extend((stepup.len() as u64).to_le_bytes());
    for (k, v) in &stepup {
        out.extend((k.len() as u32).to_le_bytes());
        out.extend(k.as_bytes());
        out.extend((v.len() as u64).to_le_bytes());
        out.extend(v);
    }
    out.extend(snapshot);
    Ok(out)
}

/// Reads a length-prefixed field at `*at` (`n`: the prefix's width).
fn field<'a>(b: &'a [u8], at: &mut usize, n: usize) -> Option<&'a [u8]> {
    let mut len = [0u8; 8];
    len[..n].copy_from_slice(b.get(*at..*at + n)?);
    let len = usize::try_from(u64::from_le_bytes(len)).ok()?;
    let start = *at + n;
    let out = b.get(start..start.checked_add(len)?)?;
    *at = start + len;
    Some(out)
}

pub fn parse_snapshot_object(b: &[u8]) -> Option<SnapshotObject> {
    let v2 = b.starts_with(OBJECT_V2);
    let mut at = if v2 { OBJECT_V2.len() } else { 0 };
    let seq = u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?);
    at += 8;
    let version = std::str::from_utf8(field(b, &mut at, 4)?).ok()?.to_string();
    let record = field(b, &mut at, 8)?.to_vec();
    let mut stepup = Vec::new();
    if v2 {
        let n = u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?);
        at += 8;
        for _ in 0..n {
            let k = std::str::from_utf8(field(b, &mut at, 4)?).ok()?.to_string();
            let v = field(b, &mut at, 8)?.to_vec();
            stepup.push((k, v));
        }
    }
    let snapshot = b.get(at..)?.to_vec();
    Some(SnapshotObject {
        seq,
        pack: (version, record),
        snapshot,
        stepup,
    })
}

/// Trims the shard's stream behind the object store's snapshot at
/// `snapshot_seq`: purges every entry before `snapshot_seq + 1 - margin`
/// (`margin`: [`ShardConfig::trim_margin`](super::ShardConfig)). Called by
/// the leader once that snapshot is uploaded, so every purged entry is
/// covered by it; the margin keeps what a live follower, restarting from
/// its own (older) snapshot, and a duplicate retried late still need.
/// Returns the first sequence the stream keeps from now on.
pub async fn trim_behind(
    cluster: &Cluster,
    snapshot_seq: u64,
    margin: u64,
) -> Result<u64, ClusterError> {
    let keep_from = snapshot_seq.saturating_add(1).saturating_sub(margin).max(1);
    let first = cluster.first_seq().await?;
    if keep_from <= first {
        return Ok(first);
    }
    // The object store must hold a snapshot that covers what goes.
    match download_snapshot(cluster).await? {
        Some(o) if o.seq + 1 >= keep_from => {}
        _ => return Err("no snapshot in the object store covers the entries to trim".into()),
    }
    cluster
        .stream
        .purge()
        .sequence(keep_from)
        .await
        .map_err(|e| format!("trimming the stream: {e}"))?;
    tracing::info!(
        keep_from,
        snapshot_seq,
        "stream trimmed behind the snapshot"
    );
    crate::telemetry::stream_trimmed(keep_from);
    Ok(keep_from)
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
    parse_snapshot_object(&bytes)
        .map(Some)
        .ok_or_else(|| "the object store's snapshot does not parse".to_string())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_object_carries_its_pack_and_the_step_up_records() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(dir.path()).expect("store");
        store
            .submit_blocking(Op::PutPack {
                version: "v1".into(),
                bytes: b"{\"pack\":1}".to_vec(),
            })
            .expect("pack");
        store
            .submit_blocking(Op::StepUp {
                entries: vec![
                    ("tenant/b/a".into(), Some(b"{\"r\":1}".to_vec())),
                    ("tenant/b/c".into(), Some(b"{}".to_vec())),
                ],
            })
            .expect("records");
        let object = snapshot_object(&store, 42, b"v1\nSTATE").expect("object");
        let parsed = parse_snapshot_object(&object).expect("parses");
        assert_eq!(parsed.seq, 42);
        assert_eq!(parsed.pack, ("v1".into(), b"{\"pack\":1}".to_vec()));
        assert_eq!(parsed.snapshot, b"v1\nSTATE".to_vec());
        assert_eq!(parsed.stepup.len(), 2);
        assert_eq!(
            parsed.stepup[0],
            ("tenant/b/a".into(), b"{\"r\":1}".to_vec())
        );
        // A format-1 object (no records) still parses.
        let mut v1 = Vec::new();
        v1.extend(7u64.to_le_bytes());
        v1.extend(2u32.to_le_bytes());
        v1.extend(b"v1");
        v1.extend(2u64.to_le_bytes());
        v1.extend(b"{}");
        v1.extend(b"v1\nS");
        let old = parse_snapshot_object(&v1).expect("v1 parses");
        assert_eq!((old.seq, old.stepup.len()), (7, 0));
        assert_eq!(old.snapshot, b"v1\nS".to_vec());
        // Truncated: refused, not a panic.
        assert!(parse_snapshot_object(&object[..20]).is_none());
    }
}
