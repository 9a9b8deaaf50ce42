//! `sekimori bench overload`: can load blind the engine? (issue 12.1)
//!
//! The attack: one client floods `POST /v1/events/batch` with batches of
//! 1,000 fresh events at several times what the engine can decide, while
//! another runs a reverse brute force (one secret, many accounts) with single
//! `POST /v1/events`. Before admission control the batch route held the engine
//! for a whole batch, single decisions ran past the time budget and were
//! answered the pack's fail-open fallback: logins the log records as `deny`
//! were answered `allow`.
//!
//! The scenario measures the engine's capacity (closed-loop batches), floods
//! at `--factor` times that for `--seconds`, probes with single events, then
//! compares every single answer with the decision the log holds for it. It
//! runs in-process through the server's router (the whole request path but
//! the socket and HTTP parsing), so it can also run as a test.

use anyhow::Context;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use hdrhistogram::Histogram;
use sekimori_server::app::App;
use sekimori_server::keys::{create_key, Scope};
use sekimori_server::{open_app, routes, ServeConfig};
use serde::Serialize;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::ServiceExt;

/// Arguments of `sekimori bench overload`.
#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The flood's rate as a multiple of the measured capacity.
    #[arg(long, default_value_t = 3)]
    pub factor: u64,
    /// How long the flood lasts, in seconds.
    #[arg(long, default_value_t = 10.0)]
    pub seconds: f64,
    /// Single probe events a second (the reverse brute force).
    #[arg(long, default_value_t = 200)]
    pub probe_rate: u64,
    /// Events in one flood batch.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Seconds of closed-loop batches to measure capacity.
    #[arg(long, default_value_t = 3.0)]
    pub capacity_seconds: f64,
    /// Overrides the pack's `settings.time_budget_ms`.
    #[arg(long)]
    pub time_budget_ms: Option<u64>,
    /// Write overload.json into this directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// What the flood did to single decisions.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    /// Events a second the engine decided in closed-loop batches.
    pub capacity_events_per_s: u64,
    /// The flood's target rate, events a second.
    pub flood_events_per_s: u64,
    pub flood_batches_sent: u64,
    /// Flood events decided, and refused with `engine_busy` (shed).
    pub flood_events_decided: u64,
    pub flood_events_shed: u64,
    pub singles_sent: u64,
    /// Singles answered with a decision (degraded or not).
    pub singles_answered: u64,
    /// Singles refused with `engine_busy` (429: not decided, not stored).
    pub singles_shed: u64,
    /// Other errors.
    pub singles_failed: u64,
    /// Answers marked `degraded`, by kind.
    pub degraded_fallback: u64,
    pub degraded_not_yet_durable: u64,
    /// Answers whose action differs from the logged decision.
    pub differ_from_log: u64,
    /// Answered `allow` while the log says the engine refused: must be 0.
    pub allowed_but_refused: u64,
    /// The log's decisions of the probe: how many it refused.
    pub logged_refusals: u64,
    /// Single latency (answered ones), microseconds.
    pub single_p50_us: u64,
    pub single_p99_us: u64,
    pub single_max_us: u64,
    /// The time budget in force.
    pub time_budget_ms: u64,
}

/// A test or bench server: the router over a fresh data directory.
struct Server {
    _dir: tempfile::TempDir,
    app: Arc<App>,
    router: Router,
    key: String,
}

impl Server {
    fn start(time_budget_ms: Option<u64>) -> anyhow::Result<Server> {
        let dir = tempfile::Builder::new()
            .prefix("sekimori-bench-overload-")
            .tempdir()
            .context("creating a temporary data directory")?;
        let key = create_key(dir.path(), "overload", vec![Scope::Ingest, Scope::Read])
            .context("creating the key")?
            .1;
        let listen = "127.0.0.1:0".parse().context("address")?;
        let mut config = ServeConfig::new(dir.path().to_path_buf(), listen, None);
        config.time_budget_ms = time_budget_ms;
        let app = open_app(&config).context("opening the server")?;
        let router = routes::router(Arc::clone(&app));
        Ok(Server {
            _dir: dir,
            app,
            router,
            key,
        })
    }

    async fn post(&self, path: &str, body: String) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(Method::POST)
            .uri(path)
            .header("authorization", format!("Bearer {}", self.key))
            .body(Body::from(body))
            .expect("a valid request");
        self.send(req).await
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        let req = Request::builder()
            .method(Method::GET)
            .uri(path)
            .header("authorization", format!("Bearer {}", self.key))
            .body(Body::empty())
            .expect("a valid request");
        self.send(req).await
    }

    async fn send(&self, req: Request<Body>) -> (StatusCode, Value) {
        let Ok(resp) = self.router.clone().oneshot(req).await;
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// One fresh flood event: a new account, address and device each time.
fn flood_event(n: u64, at_ms: i64) -> Value {
    json!({"id": format!("flood-{n}"), "type": "login.attempt", "service": "bank",
        "at": sekimori_event::format_rfc3339_ms(at_ms),
        "account": format!("flood-acct-{n}"), "factor": "password",
        "result": if n.is_multiple_of(7) { "failure" } else { "success" },
        "secret_fp": format!("k1:{:064x}", u128::from(n) * 0x9e37_79b9_7f4a_7c15),
        "actor": {"ip": format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255),
                  "device": format!("flood-dev-{n}")}})
}

/// One probe: the same secret failing on account `n` (docomo koza's reverse
/// brute force), from an address of its own.
fn probe_event(n: u64, at_ms: i64) -> Value {
    json!({"id": format!("probe-{n}"), "type": "login.attempt", "service": "bank",
        "at": sekimori_event::format_rfc3339_ms(at_ms),
        "account": format!("probe-acct-{n}"), "factor": "pin", "result": "failure",
        "secret_fp": format!("k1:{}", "cd".repeat(32)),
        "actor": {"ip": format!("198.51.{}.{}", (n >> 8) & 255, n & 255)}})
}

fn batch_body(first: u64, len: usize, at_ms: i64) -> String {
    let events: Vec<Value> = (0..len as u64)
        .map(|i| flood_event(first + i, at_ms))
        .collect();
    json!({ "events": events }).to_string()
}

/// Counts the decided and shed results of a batch answer.
fn tally_batch(body: &Value, decided: &AtomicU64, shed: &AtomicU64) {
    for r in body["results"].as_array().into_iter().flatten() {
        if r.get("decision").is_some() {
            decided.fetch_add(1, Ordering::Relaxed);
        } else if r["error"]["code"] == "engine_busy" {
            shed.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// One probe's answer.
#[derive(Debug)]
struct Probe {
    id: String,
    status: StatusCode,
    action: Option<String>,
    degraded: Option<String>,
    took: Duration,
}

/// Runs the scenario on a fresh in-process server (a multi-threaded runtime
/// of two workers, as on this machine).
pub fn scenario(a: &Args) -> anyhow::Result<Report> {
    let server = Arc::new(Server::start(a.time_budget_ms)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_stack_size(16 * 1024 * 1024)
        .build()
        .context("starting the runtime")?;
    let report = runtime.block_on(run_async(Arc::clone(&server), a.clone()));
    runtime.shutdown_timeout(Duration::from_secs(30));
    report
}

async fn run_async(server: Arc<Server>, a: Args) -> anyhow::Result<Report> {
    let next = Arc::new(AtomicU64::new(0));
    // 1. Capacity: closed-loop batches, one client.
    let started = Instant::now();
    let mut decided_closed = 0u64;
    while started.elapsed().as_secs_f64() < a.capacity_seconds {
        let first = next.fetch_add(a.batch as u64, Ordering::Relaxed);
        let (status, body) = server
            .post("/v1/events/batch", batch_body(first, a.batch, now_ms()))
            .await;
        anyhow::ensure!(
            status == StatusCode::OK,
            "a capacity batch failed: {status} {body}"
        );
        decided_closed += body["accepted"].as_u64().unwrap_or(0);
    }
    let capacity = (decided_closed as f64 / started.elapsed().as_secs_f64()).max(1.0) as u64;
    let flood_rate = capacity.saturating_mul(a.factor.max(1));
    let mut report = Report {
        capacity_events_per_s: capacity,
        flood_events_per_s: flood_rate,
        time_budget_ms: a
            .time_budget_ms
            .unwrap_or_else(|| server.app.live_pack().settings.time_budget_ms),
        ..Report::default()
    };

    // 2. The flood: open loop, one batch every `interval`, each on its own task.
    let decided = Arc::new(AtomicU64::new(0));
    let shed = Arc::new(AtomicU64::new(0));
    let interval = Duration::from_secs_f64(a.batch as f64 / flood_rate as f64);
    let flood_for = Duration::from_secs_f64(a.seconds);
    let flood = {
        let (server, next, decided, shed) = (
            Arc::clone(&server),
            Arc::clone(&next),
            Arc::clone(&decided),
            Arc::clone(&shed),
        );
        let batch = a.batch;
        tokio::spawn(async move {
            let start = Instant::now();
            let mut tasks = Vec::new();
            let mut sent = 0u64;
            while start.elapsed() < flood_for {
                let first = next.fetch_add(batch as u64, Ordering::Relaxed);
                let (server, decided, shed) =
                    (Arc::clone(&server), Arc::clone(&decided), Arc::clone(&shed));
                tasks.push(tokio::spawn(async move {
                    let (status, body) = server
                        .post("/v1/events/batch", batch_body(first, batch, now_ms()))
                        .await;
                    if status == StatusCode::TOO_MANY_REQUESTS {
                        // Shed whole, before it was read.
                        shed.fetch_add(batch as u64, Ordering::Relaxed);
                    } else {
                        tally_batch(&body, &decided, &shed);
                    }
                }));
                sent += 1;
                tokio::time::sleep_until((start + interval * sent as u32).into()).await;
            }
            for t in tasks {
                let _ = t.await;
            }
            sent
        })
    };

    // 3. The probe: single events at `probe_rate`, each on its own task.
    let probe_every = Duration::from_secs_f64(1.0 / a.probe_rate.max(1) as f64);
    let start = Instant::now();
    let mut probes = Vec::new();
    let mut n = 0u64;
    while start.elapsed() < flood_for {
        let server = Arc::clone(&server);
        let body = probe_event(n, now_ms()).to_string();
        let id = format!("probe-{n}");
        probes.push(tokio::spawn(async move {
            let t = Instant::now();
            let (status, v) = server.post("/v1/events", body).await;
            Probe {
                id,
                status,
                action: v["decision"]["action"].as_str().map(str::to_string),
                degraded: v["degraded"].as_str().map(str::to_string),
                took: t.elapsed(),
            }
        }));
        n += 1;
        tokio::time::sleep_until((start + probe_every * n as u32).into()).await;
    }
    let mut answers = Vec::with_capacity(probes.len());
    for p in probes {
        answers.push(p.await.context("a probe task")?);
    }
    report.flood_batches_sent = flood.await.context("the flood task")?;
    report.flood_events_decided = decided.load(Ordering::Relaxed);
    report.flood_events_shed = shed.load(Ordering::Relaxed);

    // 4. Compare every answer with the log, once everything is durable.
    let mut hist = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).context("histogram")?;
    report.singles_sent = answers.len() as u64;
    for p in &answers {
        match (p.status, &p.action) {
            (StatusCode::OK, Some(action)) => {
                report.singles_answered += 1;
                hist.record((p.took.as_micros() as u64).max(1)).ok();
                match p.degraded.as_deref() {
                    Some("time_budget_exceeded") => report.degraded_fallback += 1,
                    Some(_) => report.degraded_not_yet_durable += 1,
                    None => {}
                }
                let logged = logged_action(&server, &p.id).await;
                if logged.as_deref().is_some_and(|l| l != "allow") {
                    report.logged_refusals += 1;
                }
                if logged.as_deref() != Some(action.as_str()) {
                    report.differ_from_log += 1;
                }
                if action == "allow" && logged.as_deref().is_some_and(|l| l != "allow") {
                    report.allowed_but_refused += 1;
                }
            }
            (StatusCode::TOO_MANY_REQUESTS, _) => report.singles_shed += 1,
            _ => report.singles_failed += 1,
        }
    }
    report.single_p50_us = hist.value_at_quantile(0.5);
    report.single_p99_us = hist.value_at_quantile(0.99);
    report.single_max_us = hist.max();
    Ok(report)
}

/// The logged decision's action, once durable (waits up to 60 s).
async fn logged_action(server: &Server, id: &str) -> Option<String> {
    for _ in 0..600 {
        let (status, v) = server.get(&format!("/v1/decisions/{id}")).await;
        if status == StatusCode::OK {
            return v["decision"]["action"].as_str().map(str::to_string);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

pub fn run(a: Args) -> anyhow::Result<()> {
    eprintln!(
        "overload: capacity for {} s, then batches of {} at {}x capacity for {} s with {} single probes/s",
        a.capacity_seconds, a.batch, a.factor, a.seconds, a.probe_rate
    );
    let report = scenario(&a)?;
    let text = serde_json::to_string_pretty(&report)?;
    println!("{text}");
    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join("overload.json");
        std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
