//! What a run prints and writes: each step's line, `http.json` and the plots.

use super::*;

pub(super) fn print_step(r: &StepResult) {
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
        detail.push_str(&format!("; CPU (of one core) {}", parts.join(", ")));
        // What the generator leaves the server: its share of the whole machine.
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        if let Some(gen) = r.cpu.get("load generator") {
            detail.push_str(&format!(
                "; the load generator takes {:.0}% of the machine's {cores} cores",
                100.0 * gen / r.wall_s.max(1e-9) / cores
            ));
        }
    }
    println!("{detail}");
    if let Some(st) = &r.stages {
        let part = |name: &str, s: &Summary| {
            format!(
                "{name} p50 {} p99 {} p999 {} max {}",
                s.p50, s.p99, s.p999, s.max
            )
        };
        println!(
            "    server, each single event (µs): {}; {}; {}",
            part("lock wait", &st.lock_wait),
            part("engine", &st.engine),
            part("durable wait", &st.durable_wait)
        );
    }
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

pub(super) fn write_out(
    dir: &std::path::Path,
    a: &Args,
    workload: &Workload,
    external: bool,
    results: &[StepResult],
    redis: Option<crate::redis_baseline::Outcome>,
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
                "streams_asked_granted": r.streams,
                "server_stages_us": r.stages.map(|s| json!({
                    "lock_wait": s.lock_wait,
                    "engine": s.engine,
                    "durable_wait": s.durable_wait,
                })),
                "wall_seconds": r.wall_s,
            })
        })
        .collect();
    let doc = json!({
        "benchmark": "http",
        "path": if a.stream.is_some() { "/v1/events/stream" } else { "/v1/events" },
        "streams": a.stream,
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
        "redis_baseline": redis.map(|r| json!({
            "events": r.events,
            "engine_decide_per_s": r.engine_per_s,
            "redis_per_event_per_s": r.redis_per_event_per_s,
            "redis_batched_per_s": r.redis_batched_per_s,
            "achieved_over_redis_per_event": results.iter().map(|s| json!({
                "rate": s.rate,
                "ratio": s.achieved / r.redis_per_event_per_s.max(1e-9),
            })).collect::<Vec<_>>(),
        })),
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
        &format!(
            "{} latency by percentile (open loop), per rate",
            if a.stream.is_some() {
                "POST /v1/events/stream"
            } else {
                "POST /v1/events"
            }
        ),
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
        &format!(
            "{} latency against rate (open loop)",
            if a.stream.is_some() {
                "POST /v1/events/stream"
            } else {
                "POST /v1/events"
            }
        ),
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
