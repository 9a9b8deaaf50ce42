//! The follower's guard of analyst records (`analyst/...`): a write is
//! taken only when its MAC holds under the shard's key and it raises its
//! record's rev by exactly one; a snapshot object's record only when it
//! verifies and is newer than the one this node holds.

use super::{AnalystVerifier, ClusterError, Follower, ANALYST_PREFIX};
use crate::jetstream::wire;
use crate::log::{Record, StepUpWrites};
use sekimori_store::Op;

/// The META key of the first stream sequence this node saw signed.
const ENTRIES_SIGNED_FROM: &str = "entries_signed_from";

/// The step-up writes of entry `seq` of the tail a snapshot object covers
/// (a node joining from it copies those entries for the event index): its
/// analyst writes are left out, since the object's table holds every
/// analyst record as of the upload, at or after `seq`, at a rev at least
/// theirs (analysts are never deleted), and is written after them through
/// the rev guard. Checking them one rev up against a table that does not
/// hold them yet would refuse, and count as forged, every genuine one. A
/// write whose MAC fails is still reported (a forged message in the
/// stream); the other writes pass as they are.
pub(super) fn covered_writes(
    seq: u64,
    writes: StepUpWrites,
    verify: &AnalystVerifier,
) -> StepUpWrites {
    writes
        .into_iter()
        .filter(|(key, value)| {
            if !key.starts_with(ANALYST_PREFIX) {
                return true;
            }
            if value.as_deref().and_then(|v| verify(key, v)).is_none() {
                tracing::warn!(
                    seq,
                    key,
                    "an analyst write that does not verify, in the tail a snapshot covers: refused"
                );
                metrics::counter!("sekimori_cluster_analyst_writes_refused_total").increment(1);
            }
            false
        })
        .collect()
}

/// Logs and counts a refused entry: the follower stops there.
fn refused(seq: u64, why: String) -> ClusterError {
    tracing::error!(seq, reason = %why, "a stream entry refused: this node stops following");
    metrics::counter!("sekimori_cluster_entries_refused_total").increment(1);
    why
}

impl Follower {
    /// The first signed sequence this node recorded; on a node whose store
    /// and shard's stream are both empty, 0 (recorded): every entry of a
    /// shard started by this release must be signed.
    pub(super) async fn load_signed_from(&self) -> Result<Option<u64>, ClusterError> {
        let held = self
            .store
            .meta(ENTRIES_SIGNED_FROM)
            .map_err(|e| e.to_string())?;
        if let Some(b) = held {
            return Ok(std::str::from_utf8(&b).ok().and_then(|t| t.parse().ok()));
        }
        let fresh = self.store.last_seq().map_err(|e| e.to_string())? == 0;
        if fresh && self.cluster.last_seq().await? == 0 {
            self.local(Op::PutMeta {
                key: ENTRIES_SIGNED_FROM.into(),
                bytes: b"0".to_vec(),
            })
            .await?;
            return Ok(Some(0));
        }
        Ok(None)
    }

    /// The record of stream entry `seq` when it may be applied (attacker's
    /// review F1): a signed entry only when its MAC holds under the
    /// shard's key, as entry `seq` of this stream; an unsigned one only
    /// before the first signed entry this node saw (entries of the release
    /// before). Anything else is refused, logged and counted, and the
    /// node stops following there (the stream's sequence is the ledger's:
    /// an entry cannot be skipped).
    pub(super) fn checked(&mut self, seq: u64, payload: &[u8]) -> Result<Record, ClusterError> {
        let stream = self.cluster.config.stream_name();
        match wire::decode_checked(payload, &stream, seq, &self.check_entry) {
            Ok((record, true)) => {
                if self.signed_from.is_none() {
                    // Ahead of the entry in the store's order.
                    drop(self.store.submit(Op::PutMeta {
                        key: ENTRIES_SIGNED_FROM.into(),
                        bytes: seq.to_string().into_bytes(),
                    }));
                    self.signed_from = Some(seq);
                }
                Ok(record)
            }
            Ok((record, false)) => match self.signed_from {
                Some(from) if seq > from => Err(refused(
                    seq,
                    format!(
                        "stream entry {seq} is unsigned, after the shard's first signed entry ({from}): not appended by a node of the shard; refused"
                    ),
                )),
                _ => Ok(record),
            },
            Err(e) => Err(refused(seq, e)),
        }
    }

    /// The rev this node holds for analyst record `key`: the last one it
    /// wrote, else its stored record's when that verifies (0: none, or a
    /// record that does not verify: its claimed rev is never trusted).
    pub(super) fn held_rev(&self, key: &str) -> u64 {
        if let Some(rev) = self.analyst_revs.get(key) {
            return *rev;
        }
        self.store
            .stepup(key)
            .ok()
            .flatten()
            .and_then(|v| (self.verify)(key, &v))
            .unwrap_or(0)
    }

    /// A snapshot object's records, analysts checked: an `analyst/` record
    /// is kept only when it verifies and its rev is above the one this node
    /// holds (a genuine old record in a planted object does not roll a
    /// disable or a reset back); the kept revs seed the guard.
    pub(super) fn guard_joined_analysts(
        &mut self,
        stepup: Vec<(String, Vec<u8>)>,
    ) -> Vec<(String, Vec<u8>)> {
        let (kept, revs) =
            crate::jetstream::snapshot::newer_analysts(stepup, |k| self.held_rev(k), &self.verify);
        self.analyst_revs.extend(revs);
        kept
    }

    /// Drops the analyst writes (`analyst/...`) of entry `seq` whose MAC
    /// fails (`verify`: forged, or another shard's) or that do not
    /// raise their record's rev by exactly one (a deletion, a record
    /// without a rev, an older record replayed into the stream, a rev
    /// pushed out of reach): only the leader writes analysts, one rev up
    /// each time, so a write that does not is not the leader's. The entry itself is applied as it is (the log stays
    /// the stream); the refusal is logged and counted.
    pub(super) fn guard_analysts(&mut self, seq: u64, writes: StepUpWrites) -> StepUpWrites {
        let mut kept = Vec::with_capacity(writes.len());
        for (key, value) in writes {
            if !key.starts_with(ANALYST_PREFIX) {
                kept.push((key, value));
                continue;
            }
            let held = self.held_rev(&key);
            let rev = value.as_deref().and_then(|v| (self.verify)(&key, v));
            match rev {
                // Signed under the shard's key and exactly one up: the
                // leader writes the rev it holds plus one, and every node
                // holds the same (a forger without the key writes
                // nothing; an old record replayed does not raise the rev).
                Some(rev) if Some(rev) == held.checked_add(1) => {
                    self.analyst_revs.insert(key.clone(), rev);
                    kept.push((key, value));
                }
                _ => {
                    tracing::warn!(
                        seq,
                        key,
                        "an analyst write that does not verify or does not raise its record's rev: refused"
                    );
                    metrics::counter!("sekimori_cluster_analyst_writes_refused_total").increment(1);
                }
            }
        }
        kept
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A joining node leaves the covered tail's analyst writes to the
    /// object (genuine ones are not refused as forged); the rest pass.
    #[test]
    fn the_covered_tail_leaves_analysts_to_the_object() {
        let verify: AnalystVerifier = Arc::new(|_: &str, v: &[u8]| {
            let v: serde_json::Value = serde_json::from_slice(v).ok()?;
            (v["mac"] == "ok").then(|| v["rev"].as_u64()).flatten()
        });
        let w = |k: &str, v: &str| (k.to_string(), Some(v.as_bytes().to_vec()));
        let writes = vec![
            w("analyst/aiko", r#"{"rev":7,"mac":"ok"}"#),
            w("analyst/ken", r#"{"rev":1,"mac":"00"}"#),
            w("tenant/b/a", "{}"),
            ("tenant/b/c".to_string(), None),
        ];
        let kept: Vec<String> = covered_writes(3, writes, &verify)
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(kept, ["tenant/b/a", "tenant/b/c"]);
    }
}
