//! Reading a range of the shard's stream, in order, through a NATS
//! node's election: [`read_range`] (re-exported by `follow`, whose
//! follower, join and replay read with it).

use super::{Cluster, ClusterError};
use async_nats::jetstream::consumer::{pull, DeliverPolicy};
use futures_util::StreamExt;
use std::time::Duration;

/// How long [`read_range`] keeps retrying a stream that does not answer
/// (its NATS nodes electing a leader after losing quorum).
const READ_DEADLINE: Duration = Duration::from_secs(30);

/// Why a read stopped.
enum ReadError {
    /// The stream did not answer (no consumer, a message that did not
    /// come, an error from NATS): read again from where it stopped.
    Transient(ClusterError),
    /// The entries are not there (trimmed) or `f` refused one.
    Fatal(ClusterError),
}

/// Calls `f` on every stream entry `from..=to`, in order. A stream that
/// does not answer (NATS nodes just back, electing the stream's leader) is
/// read again from the next entry, with a fresh consumer, for up to
/// [`READ_DEADLINE`]; entries missing from the stream (trimmed) are an error.
pub async fn read_range(
    cluster: &Cluster,
    from: u64,
    to: u64,
    mut f: impl FnMut(u64, &[u8]) -> Result<(), ClusterError>,
) -> Result<(), ClusterError> {
    let deadline = tokio::time::Instant::now() + READ_DEADLINE;
    let mut expect = from;
    loop {
        match read_some(cluster, &mut expect, to, &mut f).await {
            Ok(()) => return Ok(()),
            Err(ReadError::Fatal(e)) => return Err(e),
            Err(ReadError::Transient(e)) if tokio::time::Instant::now() >= deadline => {
                return Err(e)
            }
            Err(ReadError::Transient(e)) => {
                tracing::info!(error = %e, next = expect, "reading the stream again");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// One consumer's read of `*expect..=to`; `*expect` advances past every
/// entry given to `f`.
async fn read_some(
    cluster: &Cluster,
    expect: &mut u64,
    to: u64,
    f: &mut impl FnMut(u64, &[u8]) -> Result<(), ClusterError>,
) -> Result<(), ReadError> {
    use ReadError::{Fatal, Transient};
    if *expect > to {
        return Ok(());
    }
    let consumer = cluster
        .stream
        .create_consumer(pull::OrderedConfig {
            deliver_policy: DeliverPolicy::ByStartSequence {
                start_sequence: *expect,
            },
            ..Default::default()
        })
        .await
        .map_err(|e| Transient(format!("reading the stream: {e}")))?;
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| Transient(format!("reading the stream: {e}")))?;
    while *expect <= to {
        let m = tokio::time::timeout(Duration::from_secs(5), messages.next())
            .await
            .map_err(|_| Transient(format!("reading the stream: entry {expect} did not come")))?
            .ok_or_else(|| Transient("reading the stream: it ended".into()))?
            .map_err(|e| Transient(format!("reading the stream: {e}")))?;
        let seq = m
            .info()
            .map_err(|e| Transient(format!("reading the stream: {e}")))?
            .stream_sequence;
        if seq < *expect {
            continue;
        }
        if seq != *expect {
            return Err(Fatal(format!("the stream skipped from {expect} to {seq}")));
        }
        f(seq, &m.payload).map_err(Fatal)?;
        *expect += 1;
    }
    Ok(())
}
