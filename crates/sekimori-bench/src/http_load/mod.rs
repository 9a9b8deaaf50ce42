//! `sekimori bench http`: HTTP decision latency under an open-loop load.
//!
//! Request `i` of a rate step is due at `start + i / rate`, whatever happened
//! to the requests before it: a dispatcher thread hands each request, at its
//! due time, to an idle keep-alive connection of a pool (hyper, HTTP/1.1); if
//! every connection is busy the request waits for one. Latency runs from the
//! request's *due* time to the end of its answer, so a stall (of the server or
//! of the generator) shows in the latency of every request it delayed instead
//! of silently lowering the load (no coordinated omission). Latencies go into
//! an HdrHistogram (microseconds); requests still unanswered when a step's
//! grace period ends count as errors and are recorded at their latency so far
//! (a lower bound).
//!
//! The server under test is, by default, the real sekimori server started in
//! this process on 127.0.0.1 (a fresh temporary data directory and the
//! embedded default pack for every rate, so every rate replays the same
//! events into the same empty state); `--url` and `--key` target a running
//! server instead.

use crate::events::Source;
use crate::plot;
use anyhow::{anyhow, bail, Context};
use bytes::Bytes;
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use sekimori_server::app::App;
use sekimori_server::keys::{create_key, Scope};
use sekimori_server::{open_app, routes, ServeConfig};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot, watch};

/// Arguments of `sekimori bench http`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where the events come from.
    #[command(flatten)]
    pub source: Source,
    /// Request rates to measure, in decisions per second, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1000,5000,10000,20000,50000"
    )]
    pub rates: Vec<u64>,
    /// Measured seconds per rate.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Warm-up seconds per rate, at the same rate, before measuring (not recorded).
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,
    /// Keep-alive HTTP/1.1 connections in the client's pool.
    #[arg(long, default_value_t = 256)]
    pub connections: usize,
    /// Send the events through this many `POST /v1/events/stream` streams
    /// (one connection each) instead of one request per event.
    /// `withdrawal.approval` events are left out: they need their
    /// approver's own key, and a stream speaks with one key.
    #[arg(long)]
    pub stream: Option<usize>,
    /// Target this running server (`http://host:port`) instead of starting one.
    #[arg(long, requires = "key")]
    pub url: Option<String>,
    /// The running server's API key (ingest scope), with `--url`.
    #[arg(long)]
    pub key: Option<String>,
    /// In-process server: overrides the pack's `settings.time_budget_ms`.
    #[arg(long)]
    pub time_budget_ms: Option<u64>,
    /// After the rates, run the Redis-counter baseline (`sekimori bench
    /// redis`: its own `redis-server` on a unix socket in a temporary
    /// directory) over the first N of the same events, and print each
    /// rate's achieved decisions/s beside Redis's events/s, one round trip
    /// per event.
    #[arg(long, value_name = "N")]
    pub redis: Option<usize>,
    /// Write http.json, http-latency.png and http-p99.png into this directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

mod client;
mod measure;
mod report;
mod server;
mod stages;
mod step;
mod stream;
mod workload;

use client::*;
pub use measure::*;
use report::*;
use server::*;
pub(crate) use step::closed_loop;
use step::*;
use workload::*;

fn parse_url(url: &str) -> anyhow::Result<(SocketAddr, String)> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow!("--url must start with http:// (no TLS here)"))?;
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        bail!("--url has no host");
    }
    let with_port = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let addr = std::net::ToSocketAddrs::to_socket_addrs(&with_port)
        .with_context(|| format!("resolving {with_port}"))?
        .next()
        .ok_or_else(|| anyhow!("{with_port} resolves to no address"))?;
    Ok((addr, authority.to_string()))
}

fn bearer(key: &str) -> anyhow::Result<HeaderValue> {
    HeaderValue::from_str(&format!("Bearer {key}")).context("the API key is not a valid header")
}

/// Runs `sekimori bench http`.
pub fn run(a: Args) -> anyhow::Result<()> {
    if a.rates.is_empty() || a.rates.contains(&0) {
        bail!("--rates must be positive numbers");
    }
    if a.seconds <= 0.0 || a.warmup < 0.0 || a.connections == 0 || a.stream == Some(0) {
        bail!("--seconds, --connections and --stream must be positive, --warmup not negative");
    }
    let external = match (&a.url, &a.key) {
        (Some(url), Some(key)) => Some((parse_url(url)?, key.clone())),
        (Some(_), None) => bail!("--url needs --key"),
        _ => None,
    };
    let lines = a.source.lines()?;
    let workload = Workload::new(lines, external.is_none() && a.stream.is_none())?;
    let what = match a.stream {
        Some(_) => "POST /v1/events/stream",
        None => "POST /v1/events",
    };
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the client runtime")?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "sekimori bench http: open-loop {what}, {} ({} events{})",
        a.source.describe(),
        workload.templates.len(),
        if workload.dropped > 0 {
            format!(
                ", {} withdrawal.approval dropped: they need their approver's own key, and a stream or --url speaks with one",
                workload.dropped
            )
        } else {
            String::new()
        }
    );
    match &external {
        Some(((addr, _), _)) => println!(
            "server: {addr} (already running; its machine, pack and durability are its own)"
        ),
        None => println!(
            "server: in-process, 127.0.0.1, default pack, a fresh server and data dir per rate \
             (each rate replays the same events from the start); every answer waits for its \
             group commit's fsync"
        ),
    }
    let conns = match a.stream {
        Some(n) => format!("{n} streams (one full-duplex HTTP/1.1 connection each, every due event written at once)"),
        None => format!("{} keep-alive HTTP/1.1 connections", a.connections),
    };
    println!(
        "load: {conns}, {} s warm-up + {} s measured per rate; \
         latency from each request's scheduled send time; server and load generator share \
         this machine's {cores} cores (1-min load average before the run: {})",
        a.warmup,
        a.seconds,
        load_average().map_or("unknown".into(), |l| format!("{l:.2}"))
    );
    println!(
        "achieved: answers within the time budget per second over the whole step; \
         degraded: time-budget fallbacks (not errors); errors: HTTP errors, transport \
         errors and requests unanswered at the step's deadline"
    );
    let tag = external.as_ref().map(|_| {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        format!("b{secs}")
    });
    let mut results = Vec::new();
    for (step, &rate) in a.rates.iter().enumerate() {
        let warm = requests_in(a.warmup, rate);
        let total = warm + requests_in(a.seconds, rate);
        let step_tag = tag.as_ref().map(|t| format!("{t}s{step}"));
        let reqs = Arc::new(workload.requests(total, step_tag.as_deref())?);
        let server = match &external {
            Some(_) => None,
            None => Some(Server::start(&workload.approvers, a.time_budget_ms)?),
        };
        let target = match (&external, &server) {
            (Some(((addr, host), key)), _) => Target {
                addr: *addr,
                host: HeaderValue::from_str(host).context("--url host")?,
                auth: Arc::new(vec![bearer(key)?]),
                stream_auth: Arc::new(Vec::new()),
            },
            (None, Some(s)) => Target {
                addr: s.addr,
                host: HeaderValue::from_str(&s.addr.to_string()).context("server address")?,
                auth: Arc::new(s.keys.iter().map(|k| bearer(k)).collect::<Result<_, _>>()?),
                stream_auth: Arc::new(
                    s.stream_keys
                        .iter()
                        .map(|k| bearer(k))
                        .collect::<Result<_, _>>()?,
                ),
            },
            (None, None) => unreachable!("a server was started when no --url was given"),
        };
        let r = match a.stream {
            Some(n) => stream::run_stream_step(
                &client,
                &target,
                reqs,
                rate,
                warm,
                a.seconds,
                n,
                server.as_ref(),
            )?,
            None => run_step(
                &client,
                &target,
                reqs,
                rate,
                warm,
                a.seconds,
                a.connections,
                server.as_ref(),
            )?,
        };
        drop(server);
        print_step(&r);
        results.push(r);
    }
    let redis = match a.redis {
        Some(n) => Some(side_by_side(&a, n, &results)?),
        None => None,
    };
    if let Some(dir) = &a.out {
        write_out(dir, &a, &workload, external.is_some(), &results, redis)?;
    }
    Ok(())
}

/// The Redis-counter baseline over the first `n` of the same events, run
/// after the HTTP steps in the same process; prints each step's achieved
/// rate as a multiple of Redis's per-event rate.
fn side_by_side(
    a: &Args,
    n: usize,
    results: &[StepResult],
) -> anyhow::Result<crate::redis_baseline::Outcome> {
    println!(
        "redis baseline, same run (1-min load average: {}):",
        load_average().map_or("unknown".into(), |l| format!("{l:.2}"))
    );
    let outcome = crate::redis_baseline::measure(crate::redis_baseline::Args {
        source: crate::events::Source {
            limit: Some(n),
            ..a.source.clone()
        },
        design: crate::redis_baseline::Design::Both,
        batch: 1000,
        verify: n.min(10_000),
        out: None,
    })?;
    let what = if a.stream.is_some() {
        "POST /v1/events/stream"
    } else {
        "POST /v1/events"
    };
    for r in results {
        println!(
            "side by side: {what} at {}/s achieved {:.0} decisions/s = {:.2}x Redis one round trip per event ({:.0} events/s), {:.2}x Redis batched ({:.0} events/s)",
            r.rate,
            r.achieved,
            r.achieved / outcome.redis_per_event_per_s.max(1e-9),
            outcome.redis_per_event_per_s,
            r.achieved / outcome.redis_batched_per_s.max(1e-9),
            outcome.redis_batched_per_s,
        );
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One short open-loop step against the real in-process server: the
    /// step reports the server's own stages of the measured requests,
    /// through the bench's recorder.
    #[test]
    fn a_step_reports_the_servers_stages() {
        let lines: Vec<String> = (0..300)
            .map(|i| {
                json!({"id": format!("s{i}"), "type": "login.attempt",
                       "at": sekimori_event::format_rfc3339_ms(1_780_000_000_000 + i * 1000),
                       "service": "bank", "account": format!("a{}", i % 7), "factor": "password",
                       "secret_fp": format!("k1:{:064x}", i % 11), "result": "success",
                       "actor": {"ip": format!("198.51.100.{}", i % 5), "device": "d1"}})
                .to_string()
            })
            .collect();
        let workload = Workload::new(lines, true).expect("workload");
        let (warm, total) = (50u64, 250u64);
        let reqs = Arc::new(workload.requests(total, None).expect("requests"));
        // A budget no answer reaches: each answer waits for its commit, so
        // its stages are recorded before the client has it.
        let server = Server::start(&workload.approvers, Some(600_000)).expect("server");
        assert!(
            server.app.as_ref().is_some_and(|a| a.metrics.is_some()),
            "the server adopted the bench's Prometheus handle"
        );
        let target = Target {
            addr: server.addr,
            host: HeaderValue::from_str(&server.addr.to_string()).expect("host"),
            auth: Arc::new(
                server
                    .keys
                    .iter()
                    .map(|k| bearer(k).expect("key"))
                    .collect(),
            ),
            stream_auth: Arc::new(Vec::new()),
        };
        let client = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("client runtime");
        let r = run_step(&client, &target, reqs, 500, warm, 0.4, 4, Some(&server)).expect("step");
        assert_eq!(r.tally.errors(), 0, "{:?}", r.tally.first_error);
        let st = r.stages.expect("the tap saw the server's stages");
        let n = st.durable_wait.count;
        assert_eq!((st.lock_wait.count, st.engine.count), (n, n));
        // The measured requests, and perhaps a few warm-up ones still in
        // flight when the measured part began; never the whole warm-up.
        assert!((total - warm..total).contains(&n), "{n} samples");
    }

    #[test]
    fn due_times_follow_the_rate() {
        assert_eq!(due_offset(0, 1000), Duration::ZERO);
        assert_eq!(due_offset(1, 1000), Duration::from_millis(1));
        assert_eq!(due_offset(1000, 1000), Duration::from_secs(1));
        assert_eq!(due_offset(3, 50_000), Duration::from_micros(60));
        // No drift: request 10^9 at 3/s is due at exactly 333,333,333.33.. s.
        assert_eq!(
            due_offset(1_000_000_000, 3),
            Duration::from_nanos(333_333_333_333_333_333)
        );
        assert_eq!(requests_in(10.0, 5000), 50_000);
        assert_eq!(requests_in(0.5, 3), 2);
    }

    #[test]
    fn summary_of_a_synthetic_histogram() {
        let mut h = histogram();
        for v in 1..=1000u64 {
            h.record(v).expect("in range");
        }
        h.record(1_000_000).expect("in range");
        let s = Summary::of(&h);
        assert_eq!(s.count, 1001);
        assert!((499..=501).contains(&s.p50), "{s:?}");
        assert!((989..=991).contains(&s.p99), "{s:?}");
        assert!(s.p999 >= 999 && s.p999 <= 1001, "{s:?}");
        assert!(s.max >= 999_000, "{s:?}");
    }

    #[test]
    fn timeouts_are_recorded_at_their_latency_so_far() {
        let mut t = Tally::new();
        let due = Instant::now();
        t.timeout(Job { index: 7, due }, due + Duration::from_secs(2));
        assert_eq!(t.timeouts, 1);
        assert_eq!(t.errors(), 1);
        assert!(t.latency.max() >= 1_999_000);
    }

    #[test]
    fn laps_are_new_events_later_in_time() {
        let lines = vec![
            r#"{"id":"e1","type":"login.attempt","at":"2026-06-24T00:00:00.000Z","service":"bank"}"#.to_string(),
            r#"{"id":"e2","type":"login.attempt","at":"2026-06-24T00:01:00.000Z","service":"bank"}"#.to_string(),
            r#"{"id":"a1","type":"withdrawal.approval","at":"2026-06-24T00:02:00.000Z","service":"exchange","approver":"ops-mei"}"#.to_string(),
        ];
        let w = Workload::new(lines.clone(), true).expect("workload");
        assert_eq!(w.approvers, ["ops-mei"]);
        let reqs = w.requests(4, None).expect("requests");
        assert_eq!(reqs[0].body, Bytes::from(lines[0].clone()));
        assert_eq!(reqs[2].key, 1);
        let lap: Value = serde_json::from_slice(&reqs[3].body).expect("json");
        assert_eq!(lap["id"], "e1.L1");
        assert_eq!(lap["at"], "2026-06-24T00:03:00.000Z");
        let dropped = Workload::new(lines, false).expect("workload");
        assert_eq!((dropped.templates.len(), dropped.dropped), (2, 1));
        let tagged = dropped.requests(1, Some("b1s0")).expect("requests");
        let v: Value = serde_json::from_slice(&tagged[0].body).expect("json");
        assert_eq!(v["id"], "e1.b1s0");
    }
}
