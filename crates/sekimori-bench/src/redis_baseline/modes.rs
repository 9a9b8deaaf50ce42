//! The timed modes (one round trip per event, pipelined batches) and the agreement check.

use super::*;

/// One timed Redis mode's numbers.
#[derive(Debug)]
pub(super) struct ModeResult {
    pub(super) seconds: f64,
    pub(super) commands: u64,
    pub(super) used_memory: u64,
    pub(super) checksum: i64,
    /// Round trip p50, p99, p999 in microseconds (per-event mode).
    pub(super) latency_us: (u64, u64, u64),
}

/// Clears the server and its counters before a mode.
pub(super) fn reset(con: &mut redis::Connection) -> anyhow::Result<()> {
    redis::cmd("FLUSHALL").arg("SYNC").query::<()>(con)?;
    redis::cmd("CONFIG").arg("RESETSTAT").query::<()>(con)?;
    Ok(())
}

pub(super) fn finish(
    con: &mut redis::Connection,
    seconds: f64,
    checksum: i64,
    latency_us: (u64, u64, u64),
) -> anyhow::Result<ModeResult> {
    Ok(ModeResult {
        seconds,
        commands: data_commands(con)?,
        used_memory: info_field(con, "memory", "used_memory")?.parse()?,
        checksum,
        latency_us,
    })
}

/// Mode (a): each event's request, its replies awaited before the next.
/// Keeps the readings of the first `keep` events for the agreement check.
pub(super) fn per_event(
    con: &mut redis::Connection,
    p: &Prepared,
    keep: usize,
) -> anyhow::Result<(ModeResult, Vec<Vec<Option<i64>>>)> {
    reset(con)?;
    let mut kept = Vec::with_capacity(keep);
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).context("histogram")?;
    let mut checksum = 0i64;
    let start = Instant::now();
    for (i, &n) in p.replies.iter().enumerate() {
        let values = if n == 0 {
            Vec::new()
        } else {
            let t0 = Instant::now();
            let wire = &p.wire[p.starts[i]..p.starts[i + 1]];
            let replies = con.req_packed_commands(wire, 0, usize::from(n))?;
            let values = readings(
                p.design,
                replies,
                &p.ops[p.op_starts[i]..p.op_starts[i + 1]],
            )?;
            let us = u64::try_from(t0.elapsed().as_micros()).unwrap_or(u64::MAX);
            let _ = hist.record(us.max(1));
            values
        };
        checksum = checksum.wrapping_add(
            values
                .iter()
                .flatten()
                .fold(0, |a: i64, &b| a.wrapping_add(b)),
        );
        if i < keep {
            kept.push(values);
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let q = |x| hist.value_at_quantile(x);
    let lat = (q(0.5), q(0.99), q(0.999));
    Ok((finish(con, seconds, checksum, lat)?, kept))
}

/// Mode (b): pipelines of `batch` events, one read of all their replies.
pub(super) fn batched(
    con: &mut redis::Connection,
    p: &Prepared,
    batch: usize,
) -> anyhow::Result<ModeResult> {
    reset(con)?;
    let events = p.replies.len();
    let mut checksum = 0i64;
    let start = Instant::now();
    let mut lo = 0;
    while lo < events {
        let hi = (lo + batch).min(events);
        let count: usize = p.replies[lo..hi].iter().map(|&n| usize::from(n)).sum();
        if count > 0 {
            let mut replies = con
                .req_packed_commands(&p.wire[p.starts[lo]..p.starts[hi]], 0, count)?
                .into_iter();
            for i in lo..hi {
                let mine: Vec<Value> = replies.by_ref().take(usize::from(p.replies[i])).collect();
                if mine.is_empty() {
                    continue;
                }
                let values = readings(p.design, mine, &p.ops[p.op_starts[i]..p.op_starts[i + 1]])?;
                checksum = checksum.wrapping_add(
                    values
                        .iter()
                        .flatten()
                        .fold(0, |a: i64, &b| a.wrapping_add(b)),
                );
            }
        }
        lo = hi;
    }
    let seconds = start.elapsed().as_secs_f64();
    finish(con, seconds, checksum, (0, 0, 0))
}

/// sekimori's readings of the rule-read features on the first events, one
/// list per event in the ops' order (untimed).
pub(super) fn sekimori_readings(
    pack: &Arc<Pack>,
    events: &[Event],
    p: &Prepared,
) -> Vec<Vec<Option<Option<i64>>>> {
    let mut engine = Engine::new(pack.clone());
    events
        .iter()
        .enumerate()
        .map(|(i, event)| {
            let d = engine.decide(event);
            p.ops[p.op_starts[i]..p.op_starts[i + 1]]
                .iter()
                .map(|op| {
                    let f = &pack.features[usize::from(op.feature)];
                    op.read
                        .then(|| d.features.get(&f.name).and_then(Json::as_i64))
                })
                .collect()
        })
        .collect()
}

/// How many of the rule-read readings the baseline got equal to sekimori's,
/// by aggregate.
pub(super) fn agreement(
    pack: &Pack,
    p: &Prepared,
    want: &[Vec<Option<Option<i64>>>],
    got: &[Vec<Option<i64>>],
) -> Json {
    let mut by: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    for (i, (want, got)) in want.iter().zip(got).enumerate() {
        let ops = &p.ops[p.op_starts[i]..p.op_starts[i + 1]];
        for ((op, w), g) in ops.iter().zip(want).zip(got) {
            let Some(w) = w else { continue };
            let a = format!(
                "{:?}",
                pack.features[usize::from(op.feature)].config.aggregate
            );
            let a = a.split([' ', '{']).next().unwrap_or("?").to_string();
            let e = by.entry(a).or_default();
            e.0 += 1;
            e.1 += u64::from(w == g);
        }
    }
    let total: u64 = by.values().map(|v| v.0).sum();
    let equal: u64 = by.values().map(|v| v.1).sum();
    json!({
        "events": got.len(),
        "readings": total,
        "equal": equal,
        "by_aggregate": by
            .iter()
            .map(|(k, (n, e))| (k.clone(), json!({"readings": n, "equal": e})))
            .collect::<serde_json::Map<_, _>>(),
    })
}
