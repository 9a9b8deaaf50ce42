//! One rate step (open loop) and the closed-loop throughput run.

use super::*;

/// What the dispatcher saw: how late requests were handed to a connection,
/// and the requests it never handed over.
#[derive(Debug)]
pub(super) struct Dispatch {
    /// Due time to hand-off (timer lateness plus waiting for a connection), µs.
    pub(super) lag: Histogram<u64>,
    /// Measured requests never handed over, recorded as timeouts.
    pub(super) unsent: Tally,
    /// The first measured request was handed over (and the server's stages
    /// restarted then).
    pub(super) measured_began: bool,
}

/// Hands request `i` to an idle connection at `start + i / rate`; the
/// server's `stages` restart at the first measured request.
#[allow(clippy::too_many_arguments)]
pub(super) fn dispatch(
    start: Instant,
    rate: u64,
    total: u64,
    warm: u64,
    deadline: Instant,
    idle: std::sync::mpsc::Receiver<usize>,
    conns: Vec<mpsc::UnboundedSender<Job>>,
    stages: Option<Arc<super::stages::Stages>>,
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
        if i == warm {
            // The measured part starts: the server's stages from here on.
            if let Some(s) = &stages {
                s.reset();
            }
        }
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
    Dispatch {
        lag,
        unsent,
        // Requests 0..i were handed over: the first measured one among them.
        measured_began: i > warm,
    }
}

/// CPU seconds used so far by this process's threads, by thread name
/// (Linux `/proc`; empty elsewhere).
pub(super) fn thread_cpu() -> BTreeMap<String, f64> {
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
pub(super) fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Groups thread names into server, store writer and load generator.
pub(super) fn group(name: &str) -> String {
    if name.starts_with("bench-server") {
        "server".into()
    } else if name.starts_with("sekimori-store") {
        "store writer".into()
    } else {
        "load generator".into()
    }
}

pub(super) fn cpu_delta(
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
    pub(super) fn saturated(&self) -> bool {
        self.achieved < 0.95 * self.rate as f64
    }
}

/// The numbers of one rate.
#[derive(Debug)]
pub(super) struct StepResult {
    pub(super) rate: u64,
    pub(super) tally: Tally,
    pub(super) lag: Histogram<u64>,
    pub(super) measured: u64,
    pub(super) achieved: f64,
    pub(super) wall_s: f64,
    pub(super) cpu: BTreeMap<String, f64>,
    pub(super) commits: Option<(u64, u64)>,
    /// Streams asked for and granted (`--stream`).
    pub(super) streams: Option<(usize, usize)>,
    /// The server's own stages of single events (its recorder's tap,
    /// `stages`), from the hand-off of the first measured request: warm-up
    /// requests still in flight then are counted too (at most one a
    /// connection). `None` when no measured request was handed over.
    pub(super) stages: Option<super::stages::StageSummaries>,
}

#[allow(clippy::too_many_arguments)]
pub(super) fn run_step(
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
    let stages = server.and_then(|s| s.stages.clone());
    if let Some(s) = &stages {
        s.reset();
    }
    let tap = stages.clone();
    let dispatcher = std::thread::Builder::new()
        .name("bench-dispatch".into())
        .spawn(move || dispatch(start, rate, total, warm, deadline, idle_rx, job_txs, tap))
        .context("starting the dispatcher thread")?;
    let mut tally = collect_tallies(
        client,
        &mut set,
        deadline,
        &cancel_tx,
        "a client connection task",
    )?;
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
        streams: None,
        stages: stages
            .filter(|_| d.measured_began)
            .and_then(|s| s.summaries()),
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
        stream_auth: Arc::new(Vec::new()),
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

/// Merges the tallies of `set`'s tasks as they end; at `deadline` tells
/// them to give up (`cancel`) and goes on collecting until every one has
/// ended. `what` names a task in the error of one that failed.
pub(super) fn collect_tallies(
    client: &tokio::runtime::Runtime,
    set: &mut tokio::task::JoinSet<Tally>,
    deadline: Instant,
    cancel: &watch::Sender<bool>,
    what: &str,
) -> anyhow::Result<Tally> {
    let mut tally = Tally::new();
    client.block_on(async {
        let mut cancelled = false;
        loop {
            tokio::select! {
                r = set.join_next() => match r {
                    Some(Ok(t)) => tally.merge(t),
                    Some(Err(e)) => return Err(anyhow!("{what} failed: {e}")),
                    None => break,
                },
                _ = tokio::time::sleep_until(deadline.into()), if !cancelled => {
                    cancelled = true;
                    let _ = cancel.send(true);
                }
            }
        }
        anyhow::Ok(())
    })?;
    Ok(tally)
}
