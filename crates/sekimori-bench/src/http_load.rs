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
    /// Target this running server (`http://host:port`) instead of starting one.
    #[arg(long, requires = "key")]
    pub url: Option<String>,
    /// The running server's API key (ingest scope), with `--url`.
    #[arg(long)]
    pub key: Option<String>,
    /// In-process server: overrides the pack's `settings.time_budget_ms`.
    #[arg(long)]
    pub time_budget_ms: Option<u64>,
    /// Write http.json, http-latency.png and http-p99.png into this directory.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// The largest latency recorded, in microseconds (one hour).
const MAX_LATENCY_US: u64 = 3_600_000_000;
/// How long a step may run past its last due request before what is still
/// unanswered counts as timed out: at least this, at least the step's length.
const MIN_GRACE: Duration = Duration::from_secs(5);

/// An empty latency histogram (microseconds, 3 significant digits).
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("static histogram bounds are valid")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

/// When request `i` is due, as an offset from the step's start, at `rate`
/// requests per second: exactly `i / rate` seconds, in nanoseconds.
pub fn due_offset(i: u64, rate: u64) -> Duration {
    let ns = u128::from(i) * 1_000_000_000 / u128::from(rate.max(1));
    Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
}

/// The number of requests in `seconds` at `rate` per second (rounded up).
pub fn requests_in(seconds: f64, rate: u64) -> u64 {
    (seconds.max(0.0) * rate as f64).ceil() as u64
}

/// The usual summary of a latency histogram (microseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    /// Samples.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// 99.99th percentile.
    pub p9999: u64,
    /// Largest.
    pub max: u64,
    /// Mean, rounded.
    pub mean: u64,
}

impl Summary {
    /// Extracts the summary from `h`.
    pub fn of(h: &Histogram<u64>) -> Summary {
        Summary {
            count: h.len(),
            p50: h.value_at_quantile(0.5),
            p90: h.value_at_quantile(0.9),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            p9999: h.value_at_quantile(0.9999),
            max: h.max(),
            mean: h.mean().round() as u64,
        }
    }
}

// ---------------------------------------------------------------- workload

/// One event of the source, ready to be re-sent under another id and time.
#[derive(Debug)]
struct Template {
    line: String,
    value: Value,
    id: String,
    at_ms: Option<i64>,
    /// Index into the key list: 0 is the ingest key, `1 + k` approver `k`.
    key: usize,
}

/// The source's events and the keys they need.
#[derive(Debug)]
struct Workload {
    templates: Vec<Template>,
    /// Names of the approvers whose own keys post `withdrawal.approval`s.
    approvers: Vec<String>,
    /// How far a lap's times are shifted past the previous lap's.
    lap_shift_ms: i64,
    /// `withdrawal.approval` events dropped (no approver keys with `--url`).
    dropped: usize,
}

/// One request body and the key to send it with.
#[derive(Debug, Clone)]
struct Req {
    body: Bytes,
    key: usize,
}

impl Workload {
    fn new(lines: Vec<String>, keep_approvals: bool) -> anyhow::Result<Workload> {
        let mut templates = Vec::with_capacity(lines.len());
        let mut approvers: Vec<String> = Vec::new();
        let mut dropped = 0;
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for (n, line) in lines.into_iter().enumerate() {
            let value: Value = serde_json::from_str(&line)
                .with_context(|| format!("event {} is not JSON", n + 1))?;
            let id = value
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow!("event {} has no id", n + 1))?
                .to_string();
            let at_ms = value
                .get("at")
                .and_then(Value::as_str)
                .and_then(sekimori_event::parse_rfc3339_ms);
            if let Some(t) = at_ms {
                (lo, hi) = (lo.min(t), hi.max(t));
            }
            let mut key = 0;
            if value.get("type").and_then(Value::as_str) == Some("withdrawal.approval") {
                if !keep_approvals {
                    dropped += 1;
                    continue;
                }
                let name = value
                    .get("approver")
                    .and_then(Value::as_str)
                    .ok_or_else(|| anyhow!("event {}: an approval without approver", n + 1))?;
                key = match approvers.iter().position(|a| a == name) {
                    Some(k) => k + 1,
                    None => {
                        approvers.push(name.to_string());
                        approvers.len()
                    }
                };
            }
            templates.push(Template {
                line,
                value,
                id,
                at_ms,
                key,
            });
        }
        if templates.is_empty() {
            bail!("no events to send");
        }
        let span = if hi >= lo { hi - lo } else { 0 };
        Ok(Workload {
            templates,
            approvers,
            lap_shift_ms: span + 60_000,
            dropped,
        })
    }

    /// The first `n` requests: the events in order, again and again. Lap
    /// `l > 0` gets ids suffixed `.L<l>` and times shifted `l` spans later,
    /// so that it is new events, not duplicates; `tag`, when given, is added
    /// to every id (a running server has seen earlier runs' ids).
    fn requests(&self, n: u64, tag: Option<&str>) -> anyhow::Result<Vec<Req>> {
        let len = self.templates.len() as u64;
        let mut out = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
        for i in 0..n {
            let lap = i / len;
            let t = &self.templates[usize::try_from(i % len).expect("index fits usize")];
            let body = if lap == 0 && tag.is_none() {
                Bytes::from(t.line.clone())
            } else {
                let mut v = t.value.clone();
                let mut id = t.id.clone();
                if let Some(tag) = tag {
                    id.push('.');
                    id.push_str(tag);
                }
                if lap > 0 {
                    id.push_str(&format!(".L{lap}"));
                    if let Some(at) = t.at_ms {
                        let shift = self.lap_shift_ms.saturating_mul(lap as i64);
                        v["at"] = Value::String(sekimori_event::format_rfc3339_ms(at + shift));
                    }
                }
                v["id"] = Value::String(id);
                Bytes::from(serde_json::to_vec(&v).context("encoding an event")?)
            };
            out.push(Req { body, key: t.key });
        }
        Ok(out)
    }
}

// ---------------------------------------------------------------- server

/// The real server, in this process, on a fresh data directory.
struct Server {
    runtime: Option<tokio::runtime::Runtime>,
    addr: SocketAddr,
    app: Option<Arc<App>>,
    stop: Option<oneshot::Sender<()>>,
    keys: Vec<String>,
    dir: Option<tempfile::TempDir>,
}

/// The process-wide Prometheus recorder: the real server renders metrics,
/// and records them on every decision; so does this one.
fn metrics_handle() -> Option<metrics_exporter_prometheus::PrometheusHandle> {
    static HANDLE: std::sync::OnceLock<Option<metrics_exporter_prometheus::PrometheusHandle>> =
        std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = metrics_exporter_prometheus::PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok().map(|_| handle)
        })
        .clone()
}

impl Server {
    fn start(approvers: &[String], time_budget_ms: Option<u64>) -> anyhow::Result<Server> {
        let dir = tempfile::Builder::new()
            .prefix("sekimori-bench-http-")
            .tempdir()
            .context("creating a temporary data directory")?;
        let mut keys = vec![
            create_key(dir.path(), "bench", vec![Scope::Ingest])
                .context("creating the ingest key")?
                .1,
        ];
        for a in approvers {
            keys.push(
                create_key(dir.path(), a, vec![Scope::Approve])
                    .with_context(|| format!("creating the approver key {a}"))?
                    .1,
            );
        }
        let listen: SocketAddr = "127.0.0.1:0".parse().expect("a valid socket address");
        let mut config = ServeConfig::new(dir.path().to_path_buf(), listen, None);
        config.time_budget_ms = time_budget_ms;
        // Replayed laps move the events' times forward; never refuse them.
        config.max_future_skew_ms = i64::MAX / 4;
        let mut app = open_app(&config).context("opening the server")?;
        if let Some(h) = metrics_handle() {
            app = app.with_metrics(h);
        }
        // As `sekimori serve`: a multi-threaded runtime, one worker per core.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_stack_size(16 * 1024 * 1024)
            .thread_name("bench-server")
            .build()
            .context("starting the server's runtime")?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(listen))
            .context("binding 127.0.0.1:0")?;
        let addr = listener.local_addr().context("the bound address")?;
        let (stop, stopped) = oneshot::channel::<()>();
        let router = routes::router(Arc::clone(&app));
        runtime.spawn(async move {
            let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                eprintln!("bench server: {e}");
            }
        });
        Ok(Server {
            runtime: Some(runtime),
            addr,
            app: Some(app),
            stop: Some(stop),
            keys,
            dir: Some(dir),
        })
    }

    /// The store's writer counters so far.
    fn store_stats(&self) -> Option<sekimori_store::StoreStats> {
        self.app.as_ref().map(|a| a.store.stats())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Dropping the runtime cancels what still runs (a decision answered
        // past its budget holds the app); then the store closes.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
        drop(self.app.take());
        drop(self.dir.take());
    }
}

// ---------------------------------------------------------------- client

/// The target of a step: where to connect and what to send.
#[derive(Debug, Clone)]
struct Target {
    addr: SocketAddr,
    host: HeaderValue,
    /// `Bearer <key>` per key index.
    auth: Arc<Vec<HeaderValue>>,
}

/// A request handed to a connection: its index and its due time.
#[derive(Debug, Clone, Copy)]
struct Job {
    index: u64,
    due: Instant,
}

/// What came of one request.
#[derive(Debug)]
enum Outcome {
    Answer { status: StatusCode, body: Bytes },
    Transport(String),
}

/// One connection's tally (measured requests only).
#[derive(Debug)]
struct Tally {
    latency: Histogram<u64>,
    ok: u64,
    degraded: u64,
    duplicates: u64,
    http_errors: BTreeMap<u16, u64>,
    transport_errors: u64,
    timeouts: u64,
    last_ok: Option<Instant>,
    /// Non-degraded answers of every request, warm-up included.
    all_ok: u64,
    /// When the last of those arrived.
    all_last_ok: Option<Instant>,
    first_error: Option<String>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            latency: histogram(),
            ok: 0,
            degraded: 0,
            duplicates: 0,
            http_errors: BTreeMap::new(),
            transport_errors: 0,
            timeouts: 0,
            last_ok: None,
            all_ok: 0,
            all_last_ok: None,
            first_error: None,
        }
    }

    fn merge(&mut self, o: Tally) {
        self.latency
            .add(&o.latency)
            .expect("histograms with the same bounds merge");
        self.ok += o.ok;
        self.degraded += o.degraded;
        self.duplicates += o.duplicates;
        for (s, n) in o.http_errors {
            *self.http_errors.entry(s).or_default() += n;
        }
        self.transport_errors += o.transport_errors;
        self.timeouts += o.timeouts;
        self.last_ok = self.last_ok.max(o.last_ok);
        self.all_ok += o.all_ok;
        self.all_last_ok = self.all_last_ok.max(o.all_last_ok);
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
    }

    /// Counts a non-degraded answer of any request (warm-up included).
    fn count(&mut self, outcome: &Outcome, done: Instant) {
        if let Outcome::Answer { status, body } = outcome {
            if status.is_success() && !contains(body, b"\"degraded\":") {
                self.all_ok += 1;
                self.all_last_ok = Some(done);
            }
        }
    }

    fn timeout(&mut self, job: Job, now: Instant) {
        self.timeouts += 1;
        self.latency
            .saturating_record(micros(now.saturating_duration_since(job.due)));
    }

    fn record(&mut self, job: Job, outcome: Outcome, done: Instant) {
        let latency = micros(done.saturating_duration_since(job.due));
        match outcome {
            Outcome::Answer { status, body } => {
                self.latency.saturating_record(latency);
                if status.is_success() {
                    if contains(&body, b"\"degraded\":") {
                        self.degraded += 1;
                    } else {
                        self.ok += 1;
                        self.last_ok = Some(done);
                    }
                    if contains(&body, b"\"duplicate\":true") {
                        self.duplicates += 1;
                    }
                } else {
                    *self.http_errors.entry(status.as_u16()).or_default() += 1;
                    if self.first_error.is_none() {
                        let text = String::from_utf8_lossy(&body);
                        self.first_error = Some(format!("{status}: {}", truncate(&text, 200)));
                    }
                }
            }
            Outcome::Transport(e) => {
                self.transport_errors += 1;
                if self.first_error.is_none() {
                    self.first_error = Some(e);
                }
            }
        }
    }

    fn errors(&self) -> u64 {
        self.http_errors.values().sum::<u64>() + self.transport_errors + self.timeouts
    }
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

type Sender = SendRequest<Full<Bytes>>;

async fn connect(addr: SocketAddr) -> Result<Sender, String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connecting to {addr}: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("TCP_NODELAY: {e}"))?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Sends one request on the connection (re-opening it if it was closed).
async fn exchange(sender: &mut Option<Sender>, target: &Target, req: &Req) -> Outcome {
    if sender.as_ref().is_none_or(|s| s.is_closed()) {
        match connect(target.addr).await {
            Ok(s) => *sender = Some(s),
            Err(e) => return Outcome::Transport(e),
        }
    }
    let s = sender.as_mut().expect("the connection was just opened");
    if let Err(e) = s.ready().await {
        *sender = None;
        return Outcome::Transport(format!("connection: {e}"));
    }
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/events")
        .header(HOST, target.host.clone())
        .header(AUTHORIZATION, target.auth[req.key].clone())
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .body(Full::new(req.body.clone()));
    let request = match request {
        Ok(r) => r,
        Err(e) => return Outcome::Transport(format!("building the request: {e}")),
    };
    let response = match s.send_request(request).await {
        Ok(r) => r,
        Err(e) => {
            *sender = None;
            return Outcome::Transport(format!("request: {e}"));
        }
    };
    let status = response.status();
    match response.into_body().collect().await {
        Ok(b) => Outcome::Answer {
            status,
            body: b.to_bytes(),
        },
        Err(e) => {
            *sender = None;
            Outcome::Transport(format!("response body: {e}"))
        }
    }
}

/// One pooled connection: takes the jobs the dispatcher hands it, one at a
/// time, and says when it is idle again.
#[allow(clippy::too_many_arguments)]
async fn connection(
    id: usize,
    mut sender: Option<Sender>,
    target: Target,
    reqs: Arc<Vec<Req>>,
    warm: u64,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    idle: std::sync::mpsc::Sender<usize>,
    mut cancel: watch::Receiver<bool>,
) -> Tally {
    let mut tally = Tally::new();
    if idle.send(id).is_err() {
        return tally;
    }
    loop {
        let job = tokio::select! {
            biased;
            _ = cancel.changed() => break,
            j = jobs.recv() => match j {
                Some(j) => j,
                None => break,
            },
        };
        let req = &reqs[usize::try_from(job.index).expect("index fits usize")];
        let outcome = tokio::select! {
            biased;
            _ = cancel.changed() => {
                if job.index >= warm {
                    tally.timeout(job, Instant::now());
                }
                break;
            }
            o = exchange(&mut sender, &target, req) => o,
        };
        let done = Instant::now();
        tally.count(&outcome, done);
        if job.index >= warm {
            tally.record(job, outcome, done);
        }
        if idle.send(id).is_err() {
            break;
        }
    }
    // A job handed over but never started: unanswered.
    while let Ok(job) = jobs.try_recv() {
        if job.index >= warm {
            tally.timeout(job, Instant::now());
        }
    }
    tally
}

/// What the dispatcher saw: how late requests were handed to a connection,
/// and the requests it never handed over.
#[derive(Debug)]
struct Dispatch {
    /// Due time to hand-off (timer lateness plus waiting for a connection), µs.
    lag: Histogram<u64>,
    /// Measured requests never handed over, recorded as timeouts.
    unsent: Tally,
}

/// Hands request `i` to an idle connection at `start + i / rate`.
fn dispatch(
    start: Instant,
    rate: u64,
    total: u64,
    warm: u64,
    deadline: Instant,
    idle: std::sync::mpsc::Receiver<usize>,
    conns: Vec<mpsc::UnboundedSender<Job>>,
) -> Dispatch {
    let mut lag = histogram();
    let mut unsent = Tally::new();
    let mut i = 0;
    while i < total {
        let due = start + due_offset(i, rate);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        let now = Instant::now();
        let conn = if now >= deadline {
            None
        } else {
            // Timed out (the deadline) or every connection is gone.
            idle.recv_timeout(deadline - now).ok()
        };
        let Some(conn) = conn else { break };
        let job = Job { index: i, due };
        let handed = Instant::now();
        if conns[conn].send(job).is_err() {
            continue; // that connection is gone; try another for the same job
        }
        if i >= warm {
            lag.saturating_record(micros(handed.saturating_duration_since(due)));
        }
        i += 1;
    }
    let now = Instant::now().max(deadline);
    for j in i.max(warm)..total {
        unsent.timeout(
            Job {
                index: j,
                due: start + due_offset(j, rate),
            },
            now,
        );
    }
    Dispatch { lag, unsent }
}

/// CPU seconds used so far by this process's threads, by thread name
/// (Linux `/proc`; empty elsewhere).
fn thread_cpu() -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for t in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(t.path().join("stat")) else {
            continue;
        };
        // pid (comm) state ... utime stime: fields 14 and 15, counted from
        // after the closing parenthesis of the name.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_string();
        let rest: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let ticks = |k: usize| rest.get(k).and_then(|v| v.parse::<f64>().ok());
        if let (Some(u), Some(s)) = (ticks(11), ticks(12)) {
            *out.entry(group(&name)).or_default() += (u + s) / 100.0;
        }
    }
    out
}

/// The 1-minute load average (Linux `/proc/loadavg`), if known.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Groups thread names into server, store writer and load generator.
fn group(name: &str) -> String {
    if name.starts_with("bench-server") {
        "server".into()
    } else if name.starts_with("sekimori-store") {
        "store writer".into()
    } else {
        "load generator".into()
    }
}

fn cpu_delta(
    before: &BTreeMap<String, f64>,
    after: &BTreeMap<String, f64>,
) -> BTreeMap<String, f64> {
    after
        .iter()
        .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, v)| *v > 0.0)
        .collect()
}

impl StepResult {
    /// The server answered (in time) less than 95% of the requested rate.
    fn saturated(&self) -> bool {
        self.achieved < 0.95 * self.rate as f64
    }
}

/// The numbers of one rate.
#[derive(Debug)]
struct StepResult {
    rate: u64,
    tally: Tally,
    lag: Histogram<u64>,
    measured: u64,
    achieved: f64,
    wall_s: f64,
    cpu: BTreeMap<String, f64>,
    commits: Option<(u64, u64)>,
}

#[allow(clippy::too_many_arguments)]
fn run_step(
    client: &tokio::runtime::Runtime,
    target: &Target,
    reqs: Arc<Vec<Req>>,
    rate: u64,
    warm: u64,
    seconds: f64,
    connections: usize,
    server: Option<&Server>,
) -> anyhow::Result<StepResult> {
    let total = reqs.len() as u64;
    let senders = client.block_on(async {
        let mut v = Vec::with_capacity(connections);
        for _ in 0..connections {
            v.push(connect(target.addr).await.map_err(|e| anyhow!(e))?);
        }
        anyhow::Ok(v)
    })?;
    let (idle_tx, idle_rx) = std::sync::mpsc::channel();
    let (cancel_tx, cancel_rx) = watch::channel(false);
    let mut job_txs = Vec::with_capacity(connections);
    let mut set = tokio::task::JoinSet::new();
    for (id, sender) in senders.into_iter().enumerate() {
        let (tx, rx) = mpsc::unbounded_channel();
        job_txs.push(tx);
        set.spawn_on(
            connection(
                id,
                Some(sender),
                target.clone(),
                Arc::clone(&reqs),
                warm,
                rx,
                idle_tx.clone(),
                cancel_rx.clone(),
            ),
            client.handle(),
        );
    }
    drop(idle_tx);
    let stats_before = server.and_then(Server::store_stats);
    let cpu_before = thread_cpu();
    let start = Instant::now() + Duration::from_millis(50);
    let last_due = start + due_offset(total.saturating_sub(1), rate);
    let grace = MIN_GRACE.max(Duration::from_secs_f64(seconds));
    let deadline = last_due + grace;
    let dispatcher = std::thread::Builder::new()
        .name("bench-dispatch".into())
        .spawn(move || dispatch(start, rate, total, warm, deadline, idle_rx, job_txs))
        .context("starting the dispatcher thread")?;
    let mut tally = Tally::new();
    client.block_on(async {
        let mut cancelled = false;
        loop {
            tokio::select! {
                r = set.join_next() => match r {
                    Some(Ok(t)) => tally.merge(t),
                    Some(Err(e)) => return Err(anyhow!("a client connection task failed: {e}")),
                    None => break,
                },
                _ = tokio::time::sleep_until(deadline.into()), if !cancelled => {
                    cancelled = true;
                    let _ = cancel_tx.send(true);
                }
            }
        }
        anyhow::Ok(())
    })?;
    let d = dispatcher
        .join()
        .map_err(|_| anyhow!("the dispatcher thread panicked"))?;
    tally.merge(d.unsent);
    let cpu = cpu_delta(&cpu_before, &thread_cpu());
    let commits = match (stats_before, server.and_then(Server::store_stats)) {
        (Some(a), Some(b)) => Some((b.commits - a.commits, b.ops - a.ops)),
        _ => None,
    };
    // Answers per second over the whole step (warm-up included): the rate
    // when the server keeps up, its throughput when it does not.
    let elapsed = tally
        .all_last_ok
        .map_or(0.0, |t| t.saturating_duration_since(start).as_secs_f64());
    let scheduled = total as f64 / rate as f64;
    let achieved = tally.all_ok as f64 / elapsed.max(scheduled);
    let wall_s = Instant::now()
        .saturating_duration_since(start)
        .as_secs_f64();
    Ok(StepResult {
        rate,
        tally,
        lag: d.lag,
        measured: total - warm,
        achieved,
        wall_s,
        cpu,
        commits,
    })
}

/// The result of [`closed_loop`].
#[derive(Debug)]
pub(crate) struct ClosedLoop {
    pub(crate) requests: u64,
    pub(crate) ok: u64,
    pub(crate) degraded: u64,
    pub(crate) errors: u64,
    pub(crate) seconds: f64,
    /// Answered without degradation, per second.
    pub(crate) per_s: f64,
    /// From each request's send to the end of its answer, µs.
    pub(crate) latency: Histogram<u64>,
    /// Store commits and ops during the run.
    pub(crate) commits: Option<(u64, u64)>,
    pub(crate) first_error: Option<String>,
}

/// Throughput of `POST /v1/events` into the real server, in process, on a
/// fresh durable data dir: `connections` connections each send the next of
/// `requests` events as soon as their previous answer arrives (closed loop).
pub(crate) fn closed_loop(
    lines: Vec<String>,
    requests: u64,
    connections: usize,
) -> anyhow::Result<ClosedLoop> {
    let workload = Workload::new(lines, true)?;
    let reqs = Arc::new(workload.requests(requests, None)?);
    let server = Server::start(&workload.approvers, None)?;
    let target = Target {
        addr: server.addr,
        host: HeaderValue::from_str(&server.addr.to_string()).context("server address")?,
        auth: Arc::new(
            server
                .keys
                .iter()
                .map(|k| bearer(k))
                .collect::<Result<_, _>>()?,
        ),
    };
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the client runtime")?;
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let before = server.store_stats();
    let start = Instant::now();
    let tally = client.block_on(async {
        let mut set = tokio::task::JoinSet::new();
        for _ in 0..connections {
            let sender = connect(target.addr).await.map_err(|e| anyhow!(e))?;
            let (target, reqs, next) = (target.clone(), Arc::clone(&reqs), Arc::clone(&next));
            set.spawn(async move {
                let mut sender = Some(sender);
                let mut tally = Tally::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(req) = usize::try_from(i).ok().and_then(|i| reqs.get(i)) else {
                        break;
                    };
                    let due = Instant::now();
                    let outcome = exchange(&mut sender, &target, req).await;
                    tally.record(Job { index: i, due }, outcome, Instant::now());
                }
                tally
            });
        }
        let mut tally = Tally::new();
        while let Some(t) = set.join_next().await {
            tally.merge(t.map_err(|e| anyhow!("a client connection task failed: {e}"))?);
        }
        anyhow::Ok(tally)
    })?;
    let seconds = start.elapsed().as_secs_f64();
    let commits = match (before, server.store_stats()) {
        (Some(a), Some(b)) => Some((b.commits - a.commits, b.ops - a.ops)),
        _ => None,
    };
    drop(server);
    Ok(ClosedLoop {
        requests,
        ok: tally.ok,
        degraded: tally.degraded,
        errors: tally.errors(),
        seconds,
        per_s: tally.ok as f64 / seconds.max(1e-9),
        latency: tally.latency,
        commits,
        first_error: tally.first_error,
    })
}

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
    if a.seconds <= 0.0 || a.warmup < 0.0 || a.connections == 0 {
        bail!("--seconds and --connections must be positive, --warmup not negative");
    }
    let external = match (&a.url, &a.key) {
        (Some(url), Some(key)) => Some((parse_url(url)?, key.clone())),
        (Some(_), None) => bail!("--url needs --key"),
        _ => None,
    };
    let lines = a.source.lines()?;
    let workload = Workload::new(lines, external.is_none())?;
    let client = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the client runtime")?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "sekimori bench http: open-loop POST /v1/events, {} ({} events{})",
        a.source.describe(),
        workload.templates.len(),
        if workload.dropped > 0 {
            format!(
                ", {} withdrawal.approval dropped: they need their approver's own key",
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
    println!(
        "load: {} keep-alive HTTP/1.1 connections, {} s warm-up + {} s measured per rate; \
         latency from each request's scheduled send time; server and load generator share \
         this machine's {cores} cores (1-min load average before the run: {})",
        a.connections,
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
            },
            (None, Some(s)) => Target {
                addr: s.addr,
                host: HeaderValue::from_str(&s.addr.to_string()).context("server address")?,
                auth: Arc::new(s.keys.iter().map(|k| bearer(k)).collect::<Result<_, _>>()?),
            },
            (None, None) => unreachable!("a server was started when no --url was given"),
        };
        let r = run_step(
            &client,
            &target,
            reqs,
            rate,
            warm,
            a.seconds,
            a.connections,
            server.as_ref(),
        )?;
        drop(server);
        print_step(&r);
        results.push(r);
    }
    if let Some(dir) = &a.out {
        write_out(dir, &a, &workload, external.is_some(), &results)?;
    }
    Ok(())
}

fn print_step(r: &StepResult) {
    let s = Summary::of(&r.tally.latency);
    println!(
        "rate {}/s: achieved {:.0}/s, p50 {} µs, p99 {} µs, p999 {} µs, max {} µs, errors {}, degraded {}{}",
        r.rate,
        r.achieved,
        s.p50,
        s.p99,
        s.p999,
        s.max,
        r.tally.errors(),
        r.tally.degraded,
        if r.saturated() { " (saturated)" } else { "" }
    );
    let lag = Summary::of(&r.lag);
    let mut detail = format!(
        "    send lag p50 {} µs p99 {} µs (due time to hand-off to a connection)",
        lag.p50, lag.p99
    );
    if let Some((commits, ops)) = r.commits {
        if commits > 0 {
            detail.push_str(&format!(
                "; {commits} commits, {:.1} ops/commit",
                ops as f64 / commits as f64
            ));
        }
    }
    if !r.cpu.is_empty() {
        let parts: Vec<String> = r
            .cpu
            .iter()
            .map(|(k, v)| format!("{k} {:.0}%", 100.0 * v / r.wall_s.max(1e-9)))
            .collect();
        detail.push_str(&format!("; CPU {}", parts.join(", ")));
    }
    println!("{detail}");
    if r.tally.errors() > 0 {
        let mut kinds: Vec<String> = r
            .tally
            .http_errors
            .iter()
            .map(|(s, n)| format!("HTTP {s}: {n}"))
            .collect();
        if r.tally.transport_errors > 0 {
            kinds.push(format!("transport: {}", r.tally.transport_errors));
        }
        if r.tally.timeouts > 0 {
            kinds.push(format!("unanswered at the deadline: {}", r.tally.timeouts));
        }
        println!("    errors: {}", kinds.join(", "));
        if let Some(e) = &r.tally.first_error {
            println!("    first error: {e}");
        }
    }
}

/// The latency at a fixed list of quantiles, as `{"0.99": µs, ...}`.
fn quantiles(h: &Histogram<u64>) -> serde_json::Map<String, Value> {
    const QS: [f64; 10] = [
        0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999, 1.0,
    ];
    QS.iter()
        .map(|q| (q.to_string(), json!(h.value_at_quantile(*q))))
        .collect()
}

fn write_out(
    dir: &std::path::Path,
    a: &Args,
    workload: &Workload,
    external: bool,
    results: &[StepResult],
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let steps: Vec<Value> = results
        .iter()
        .map(|r| {
            json!({
                "rate": r.rate,
                "requests": r.measured,
                "achieved_per_s": r.achieved,
                "saturated": r.saturated(),
                "ok": r.tally.ok,
                "degraded": r.tally.degraded,
                "duplicates": r.tally.duplicates,
                "errors": r.tally.errors(),
                "http_errors": r.tally.http_errors.iter().map(|(s, n)| (s.to_string(), json!(n))).collect::<serde_json::Map<_, _>>(),
                "transport_errors": r.tally.transport_errors,
                "unanswered_at_deadline": r.tally.timeouts,
                "first_error": r.tally.first_error,
                "latency_us": Summary::of(&r.tally.latency),
                "latency_us_at_quantile": quantiles(&r.tally.latency),
                "send_lag_us": Summary::of(&r.lag),
                "store_commits": r.commits.map(|c| c.0),
                "store_ops": r.commits.map(|c| c.1),
                "cpu_seconds": r.cpu,
                "wall_seconds": r.wall_s,
            })
        })
        .collect();
    let doc = json!({
        "benchmark": "http",
        "source": a.source.describe(),
        "events": workload.templates.len(),
        "server": if external { a.url.clone().unwrap_or_default() } else { "in-process, fresh per rate".into() },
        "connections": a.connections,
        "warmup_seconds": a.warmup,
        "seconds": a.seconds,
        "time_budget_ms": a.time_budget_ms,
        "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "load_average_1min_at_end": load_average(),
        "note": "open loop; latency from each request's scheduled send time; unanswered requests at the deadline are errors recorded at their latency so far; server and load generator share the machine",
        "rates": steps,
    });
    let json_path = dir.join("http.json");
    std::fs::write(
        &json_path,
        serde_json::to_string_pretty(&doc).context("encoding http.json")? + "\n",
    )
    .with_context(|| format!("writing {}", json_path.display()))?;
    let series: Vec<(String, &Histogram<u64>)> = results
        .iter()
        .map(|r| (format!("{}/s", r.rate), &r.tally.latency))
        .collect();
    plot::latency_percentiles(
        &dir.join("http-latency.png"),
        "POST /v1/events latency by percentile (open loop), per request rate",
        &series,
    )?;
    let pick = |f: fn(&Summary) -> u64| -> Vec<(f64, f64)> {
        results
            .iter()
            .map(|r| (r.rate as f64, f(&Summary::of(&r.tally.latency)) as f64))
            .collect()
    };
    let curves = vec![
        ("p50".to_string(), pick(|s| s.p50)),
        ("p99".to_string(), pick(|s| s.p99)),
        ("p99.9".to_string(), pick(|s| s.p999)),
    ];
    plot::lines(
        &dir.join("http-p99.png"),
        "POST /v1/events latency against request rate (open loop)",
        "requested rate (decisions/s)",
        "latency (µs)",
        true,
        true,
        &curves,
    )?;
    println!(
        "wrote {}, http-latency.png, http-p99.png",
        json_path.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
