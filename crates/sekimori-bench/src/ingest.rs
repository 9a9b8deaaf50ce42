//! `sekimori bench ingest`: durable ingest throughput with group commit.
//!
//! Directly against [`sekimori_store::Store`]: N submitters keep N appends
//! in flight (each waits for its own append to be durable, then submits the
//! next), appending the events' JSON bytes with consecutive seqs. As in the
//! server's ledger, a seq is taken and the op submitted under one lock, so
//! submission order is seq order, which the writer requires
//! (`seq == last_seq() + 1` when applied). The writer thread batches what is
//! queued into one redb transaction and one fsync: the more in flight, the
//! larger the batches. Every level starts on a fresh temporary store.
//!
//! Then, unless `--http-requests 0`, the same through HTTP: `POST /v1/events`
//! into the real server in this process (durable data dir), closed loop over
//! many connections, at whatever rate it sustains.

use crate::events::Source;
use crate::http_load::{closed_loop, histogram, Summary};
use crate::plot;
use anyhow::{anyhow, bail, Context};
use hdrhistogram::Histogram;
use sekimori_store::{Op, Store, StoreError};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Arguments of `sekimori bench ingest`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where the events come from.
    #[command(flatten)]
    pub source: Source,
    /// Appends in flight (concurrent submitters), comma-separated levels.
    #[arg(long, value_delimiter = ',', default_value = "1,8,64,512")]
    pub in_flight: Vec<usize>,
    /// Seconds per level.
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Requests of the HTTP run (closed loop); 0 skips it.
    #[arg(long, default_value_t = 100_000)]
    pub http_requests: u64,
    /// Connections of the HTTP run.
    #[arg(long, default_value_t = 256)]
    pub connections: usize,
    /// Write ingest.json and ingest-throughput.png into this directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// One record to append: the event id (indexed) and the event's JSON.
#[derive(Debug)]
struct Record {
    id: String,
    bytes: Vec<u8>,
}

/// The numbers of one in-flight level.
#[derive(Debug)]
struct Level {
    in_flight: usize,
    appends: u64,
    bytes: u64,
    seconds: f64,
    commits: u64,
    ops: u64,
    latency: Histogram<u64>,
    first_error: Option<String>,
    errors: u64,
}

impl Level {
    fn per_s(&self) -> f64 {
        self.appends as f64 / self.seconds.max(1e-9)
    }

    fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / 1e6 / self.seconds.max(1e-9)
    }

    fn mean_batch(&self) -> f64 {
        if self.commits == 0 {
            0.0
        } else {
            self.ops as f64 / self.commits as f64
        }
    }
}

/// The next seq, taken together with the submission (the ledger's rule).
#[derive(Debug)]
struct Sequencer {
    next_seq: u64,
    next_record: usize,
    lap: u64,
}

/// What each submitter brings back.
#[derive(Debug)]
struct Part {
    latency: Histogram<u64>,
    appends: u64,
    bytes: u64,
    errors: u64,
    first_error: Option<String>,
}

async fn submitter(
    store: Arc<Store>,
    seq: Arc<Mutex<Sequencer>>,
    records: Arc<Vec<Record>>,
    end: Instant,
) -> Part {
    let mut part = Part {
        latency: histogram(),
        appends: 0,
        bytes: 0,
        errors: 0,
        first_error: None,
    };
    while Instant::now() < end {
        let (started, len, rx) = {
            let mut s = seq.lock().expect("the sequencer lock is never poisoned");
            let r = &records[s.next_record];
            let event_id = if s.lap == 0 {
                r.id.clone()
            } else {
                format!("{}.L{}", r.id, s.lap)
            };
            let op = Op::Append {
                seq: s.next_seq,
                event: Some(sekimori_store::EventKey::new("bench", event_id)),
                bytes: r.bytes.clone(),
            };
            s.next_seq += 1;
            s.next_record += 1;
            if s.next_record == records.len() {
                s.next_record = 0;
                s.lap += 1;
            }
            (Instant::now(), r.bytes.len(), store.submit(op))
        };
        let result = rx.await.unwrap_or(Err(StoreError::Failed));
        match result {
            Ok(()) => {
                let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                part.latency.saturating_record(us.max(1));
                part.appends += 1;
                part.bytes += len as u64;
            }
            Err(e) => {
                part.errors += 1;
                if part.first_error.is_none() {
                    part.first_error = Some(e.to_string());
                }
                // A failed store refuses everything after: stop.
                break;
            }
        }
    }
    part
}

fn run_level(
    rt: &tokio::runtime::Runtime,
    records: &Arc<Vec<Record>>,
    in_flight: usize,
    seconds: f64,
) -> anyhow::Result<Level> {
    let dir = tempfile::Builder::new()
        .prefix("sekimori-bench-ingest-")
        .tempdir()
        .context("creating a temporary data directory")?;
    let store = Arc::new(Store::open(dir.path()).context("opening the store")?);
    let first = store.last_seq().context("reading the last seq")? + 1;
    let seq = Arc::new(Mutex::new(Sequencer {
        next_seq: first,
        next_record: 0,
        lap: 0,
    }));
    let before = store.stats();
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(seconds);
    let parts = rt.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..in_flight {
            set.spawn(submitter(
                Arc::clone(&store),
                Arc::clone(&seq),
                Arc::clone(records),
                end,
            ));
        }
        let mut parts = Vec::with_capacity(in_flight);
        while let Some(p) = set.join_next().await {
            parts.push(p.map_err(|e| anyhow!("a submitter failed: {e}"))?);
        }
        anyhow::Ok(parts)
    })?;
    let elapsed = start.elapsed().as_secs_f64();
    let after = store.stats();
    let mut level = Level {
        in_flight,
        appends: 0,
        bytes: 0,
        seconds: elapsed,
        commits: after.commits - before.commits,
        ops: after.ops - before.ops,
        latency: histogram(),
        first_error: None,
        errors: 0,
    };
    for p in parts {
        level
            .latency
            .add(&p.latency)
            .expect("histograms with the same bounds merge");
        level.appends += p.appends;
        level.bytes += p.bytes;
        level.errors += p.errors;
        if level.first_error.is_none() {
            level.first_error = p.first_error;
        }
    }
    let last = store.last_seq().context("reading the last seq")?;
    if last + 1 != first + level.appends {
        bail!(
            "the log holds seqs {first}..={last} but {} appends were acknowledged",
            level.appends
        );
    }
    drop(store);
    drop(dir);
    Ok(level)
}

fn records(lines: &[String]) -> anyhow::Result<Vec<Record>> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let v: Value =
                serde_json::from_str(l).with_context(|| format!("event {} is not JSON", i + 1))?;
            let id = v
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow!("event {} has no id", i + 1))?;
            Ok(Record {
                id: id.to_string(),
                bytes: l.as_bytes().to_vec(),
            })
        })
        .collect()
}

/// Runs `sekimori bench ingest`.
pub fn run(a: Args) -> anyhow::Result<()> {
    if a.in_flight.is_empty() || a.in_flight.contains(&0) {
        bail!("--in-flight must be positive numbers");
    }
    if a.seconds <= 0.0 || a.connections == 0 {
        bail!("--seconds and --connections must be positive");
    }
    let lines = a.source.lines()?;
    let records = Arc::new(records(&lines)?);
    if records.is_empty() {
        bail!("no events to append");
    }
    let mean_len = records.iter().map(|r| r.bytes.len()).sum::<usize>() / records.len();
    println!(
        "sekimori bench ingest: {} ({} events, mean {} bytes of JSON each)",
        a.source.describe(),
        records.len(),
        mean_len
    );
    println!(
        "store: Store::submit(Op::Append) on a fresh temp dir per level, {} s per level; \
         ack after the group commit's fsync; seqs taken under one lock as the server's ledger does",
        a.seconds
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the submitters' runtime")?;
    let mut levels = Vec::new();
    for &n in &a.in_flight {
        let l = run_level(&rt, &records, n, a.seconds)?;
        let s = Summary::of(&l.latency);
        println!(
            "in flight {n}: {:.0} appends/s, {:.2} MB/s, mean batch {:.1} ops/commit \
             ({} commits), commit latency p50 {} µs, p99 {} µs{}",
            l.per_s(),
            l.mb_per_s(),
            l.mean_batch(),
            l.commits,
            s.p50,
            s.p99,
            match &l.first_error {
                Some(e) => format!(", errors {} (first: {e})", l.errors),
                None => String::new(),
            }
        );
        levels.push(l);
    }
    let http = if a.http_requests > 0 {
        let h = closed_loop(lines, a.http_requests, a.connections)?;
        let s = Summary::of(&h.latency);
        println!(
            "HTTP POST /v1/events, in-process server, closed loop, {} connections, {} requests: \
             {:.0} decisions/s, mean batch {}, latency p50 {} µs, p99 {} µs, errors {}, degraded {}",
            a.connections,
            h.requests,
            h.per_s,
            match h.commits {
                Some((c, o)) if c > 0 => format!("{:.1} ops/commit ({c} commits)", o as f64 / c as f64),
                _ => "n/a".into(),
            },
            s.p50,
            s.p99,
            h.errors,
            h.degraded
        );
        if let Some(e) = &h.first_error {
            println!("    first error: {e}");
        }
        Some(h)
    } else {
        None
    };
    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let doc = json!({
            "benchmark": "ingest",
            "source": a.source.describe(),
            "events": records.len(),
            "mean_event_bytes": mean_len,
            "seconds_per_level": a.seconds,
            "levels": levels.iter().map(|l| json!({
                "in_flight": l.in_flight,
                "appends": l.appends,
                "seconds": l.seconds,
                "appends_per_s": l.per_s(),
                "mb_per_s": l.mb_per_s(),
                "commits": l.commits,
                "ops": l.ops,
                "mean_batch_ops": l.mean_batch(),
                "commit_latency_us": Summary::of(&l.latency),
                "errors": l.errors,
                "first_error": l.first_error,
            })).collect::<Vec<_>>(),
            "http": http.as_ref().map(|h| json!({
                "connections": a.connections,
                "requests": h.requests,
                "ok": h.ok,
                "degraded": h.degraded,
                "errors": h.errors,
                "seconds": h.seconds,
                "decisions_per_s": h.per_s,
                "commits": h.commits.map(|c| c.0),
                "ops": h.commits.map(|c| c.1),
                "latency_us": Summary::of(&h.latency),
                "first_error": h.first_error,
            })),
        });
        let path = dir.join("ingest.json");
        std::fs::write(
            &path,
            serde_json::to_string_pretty(&doc).context("encoding ingest.json")? + "\n",
        )
        .with_context(|| format!("writing {}", path.display()))?;
        let mut series = vec![(
            "store appends/s".to_string(),
            levels
                .iter()
                .map(|l| (l.in_flight as f64, l.per_s()))
                .collect::<Vec<_>>(),
        )];
        if let Some(h) = &http {
            series.push((
                format!("HTTP decisions/s ({} connections)", a.connections),
                vec![(a.connections as f64, h.per_s)],
            ));
        }
        plot::lines(
            &dir.join("ingest-throughput.png"),
            "Durable ingest throughput (group commit, fsync per batch)",
            "appends in flight",
            "appends per second",
            true,
            false,
            &series,
        )?;
        println!("wrote {}, ingest-throughput.png", path.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_carry_ids_and_bytes() {
        let lines = vec![r#"{"id":"e1","type":"x"}"#.to_string()];
        let r = records(&lines).expect("records");
        assert_eq!(r[0].id, "e1");
        assert_eq!(r[0].bytes, lines[0].as_bytes());
        assert!(records(&["{}".to_string()]).is_err());
    }
}
