//! The shard's snapshot in the object store (the engine's state, its
//! pack and the step-up records, for a node that starts from it) and the
//! stream trimmed behind it.
//!
//! Objects are signed (format 4, since the attacker's review F4): HMAC-SHA256
//! under the shard's object key ([`ShardKeys`], derived from `stepup.key`
//! with a label of its own) over the stream's name and every byte after
//! the MAC (so the seq, the pack, the step-up records and the state). A
//! node uses an object only when its MAC holds ([`open_snapshot_object`]):
//! an object planted by anyone who can write the object store but holds no
//! key (older formats included) is refused, and so is a genuine object
//! older than the stream's first entry (its tail is gone).

use super::{Cluster, ClusterError, ShardKeys};
use sekimori_store::Store;
use tokio::io::AsyncReadExt;

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
    /// `stepup` is the uploader's whole table: a format-3 object from a node
    /// whose table was never built from a partial object (see
    /// [`STEPUP_INCOMPLETE`]), so a record it lacks had been deleted by the
    /// upload. Format 1 says nothing of step-up records, and format 2 did not
    /// say whether its table was whole.
    pub stepup_whole: bool,
}

/// The step-up writes a node joining from an object makes: every record the
/// object holds (`stepup`), and, when it holds the whole table (`whole`), a
/// delete for each record this node holds (`local`) that the object lacks. Such a
/// record was deleted before the upload (this node's records all come from
/// entries at or before its own sequence, behind the snapshot's), and the
/// entry that deleted it may have been trimmed from the stream, so the tail
/// would never delete it.
pub fn stepup_join_writes(
    local: impl IntoIterator<Item = String>,
    stepup: Vec<(String, Vec<u8>)>,
    whole: bool,
) -> Vec<(String, Option<Vec<u8>>)> {
    let mut writes: Vec<(String, Option<Vec<u8>>)> = Vec::new();
    if whole {
        let keep: std::collections::HashSet<&str> =
            stepup.iter().map(|(k, _)| k.as_str()).collect();
        writes.extend(
            local
                .into_iter()
                .filter(|k| !keep.contains(k.as_str()))
                .map(|k| (k, None)),
        );
    }
    writes.extend(stepup.into_iter().map(|(k, v)| (k, Some(v))));
    writes
}

/// A joining node's check of a snapshot object's analyst records
/// (`analyst/...`): one is kept only when it verifies (`verify`: its MAC
/// under the shard's key) and its rev is above the one the node holds
/// (`held`), so a genuine old record in a planted object does not roll a
/// disable, a reset or a passkey removal back. Returns the records to
/// write and the revs of the analyst records kept (the follower's guard
/// starts from them); other records pass as they are.
#[allow(clippy::type_complexity)]
pub fn newer_analysts(
    stepup: Vec<(String, Vec<u8>)>,
    held: impl Fn(&str) -> u64,
    verify: &super::AnalystVerifier,
) -> (Vec<(String, Vec<u8>)>, Vec<(String, u64)>) {
    let mut kept = Vec::with_capacity(stepup.len());
    let mut revs = Vec::new();
    for (key, value) in stepup {
        if !key.starts_with("analyst/") {
            kept.push((key, value));
            continue;
        }
        let have = held(&key);
        match verify(&key, &value) {
            Some(rev) if rev > have => {
                revs.push((key.clone(), rev));
                kept.push((key, value));
            }
            _ => {
                tracing::warn!(
                    key,
                    held = have,
                    "a snapshot object's analyst record that does not verify or is not newer: this node's kept"
                );
                metrics::counter!("sekimori_cluster_analyst_writes_refused_total").increment(1);
            }
        }
    }
    (kept, revs)
}

/// Marks a format-2 object (format 1 starts with the sequence, which never
/// reaches these bytes).
const OBJECT_V2: &[u8; 8] = b"SKSNAP2\n";
/// Marks a format-3 object: format 2 plus, after the step-up records, one
/// byte saying whether they are the uploader's whole table.
const OBJECT_V3: &[u8; 8] = b"SKSNAP3\n";
/// Marks a format-4 object: the MAC (32 bytes), then format 3 after its mark.
const OBJECT_V4: &[u8; 8] = b"SKSNAP4\n";
/// Where a format-4 object's signed bytes start.
const SIGNED_FROM: usize = OBJECT_V4.len() + 32;
/// The domain of an object's MAC.
const OBJECT_DOMAIN: &[u8] = b"sekimori-snapshot-object/v4";
/// The META key a node sets when it joined from an object whose step-up
/// table was not whole: records deleted behind the object (their entries
/// trimmed) may linger in its table, so the objects it uploads never claim
/// a whole table, and the nodes joining from them delete nothing.
pub const STEPUP_INCOMPLETE: &str = "stepup_incomplete";

/// The object holding a snapshot: its sequence, the record of its pack,
/// the node's step-up records and the snapshot, signed for shard stream
/// `stream` under `keys` (format 4).
pub fn snapshot_object(
    store: &Store,
    seq: u64,
    snapshot: &[u8],
    stream: &str,
    keys: &ShardKeys,
) -> Result<Vec<u8>, String> {
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
    let whole = store
        .meta(STEPUP_INCOMPLETE)
        .map_err(|e| e.to_string())?
        .is_none();
    let mut out = Vec::with_capacity(snapshot.len() + record.len() + 96);
    out.extend(OBJECT_V4);
    out.extend([0u8; 32]);
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
    out.push(u8::from(whole));
    out.extend(snapshot);
    let mac = (keys.sign_object)(&[OBJECT_DOMAIN, stream.as_bytes(), &out[SIGNED_FROM..]]);
    out[OBJECT_V4.len()..SIGNED_FROM].copy_from_slice(&mac);
    Ok(out)
}

/// Object `b` of shard stream `stream` when it is signed (format 4) and
/// its MAC holds under `keys`; else why it is refused. An object of an
/// older format (unsigned) is refused too: anyone who can write the object
/// store could have planted it.
pub fn open_snapshot_object(
    b: &[u8],
    stream: &str,
    keys: &ShardKeys,
) -> Result<SnapshotObject, String> {
    if !b.starts_with(OBJECT_V4) || b.len() < SIGNED_FROM {
        return Err(
            "the object store's snapshot is not signed (an older format, or planted): refused"
                .into(),
        );
    }
    let mac = &b[OBJECT_V4.len()..SIGNED_FROM];
    if !(keys.check_object)(&[OBJECT_DOMAIN, stream.as_bytes(), &b[SIGNED_FROM..]], mac) {
        return Err("the object store's snapshot does not verify (forged, or another shard's or stepup.key's): refused".into());
    }
    parse_snapshot_object(b).ok_or_else(|| "the object store's snapshot does not parse".into())
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

/// Parses an object of any format, its MAC unchecked (a node joining uses
/// [`open_snapshot_object`]).
pub fn parse_snapshot_object(b: &[u8]) -> Option<SnapshotObject> {
    let v4 = b.starts_with(OBJECT_V4);
    let v3 = v4 || b.starts_with(OBJECT_V3);
    let v2 = v3 || b.starts_with(OBJECT_V2);
    let mut at = if v4 {
        SIGNED_FROM
    } else if v2 {
        OBJECT_V2.len()
    } else {
        0
    };
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
    let mut whole = false;
    if v3 {
        whole = *b.get(at)? == 1;
        at += 1;
    }
    let snapshot = b.get(at..)?.to_vec();
    Some(SnapshotObject {
        seq,
        pack: (version, record),
        snapshot,
        stepup,
        stepup_whole: whole,
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
    // The object store must hold a snapshot that covers what goes, and
    // that verifies (a planted object covers nothing).
    match download_snapshot(cluster).await? {
        Some(o) if o.seq + 1 >= keep_from => {}
        _ => {
            return Err("no signed snapshot in the object store covers the entries to trim".into())
        }
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

/// The shard's snapshot from the object store, if there is one, when it
/// verifies under the shard's keys (set by `Follower::open`); an error
/// says why it is refused.
pub async fn download_snapshot(cluster: &Cluster) -> Result<Option<SnapshotObject>, ClusterError> {
    let Some(bytes) = download_object(cluster).await? else {
        return Ok(None);
    };
    let keys = cluster
        .keys()
        .ok_or("no shard keys to check the object store's snapshot with")?;
    open_snapshot_object(&bytes, &cluster.config.stream_name(), &keys).map(Some)
}

/// The shard's snapshot object's bytes, unchecked, if there is one.
pub async fn download_object(cluster: &Cluster) -> Result<Option<Vec<u8>>, ClusterError> {
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
    Ok(Some(bytes))
}

#[cfg(test)]
#[path = "snapshot_tests.rs"]
mod tests;
