//! `sekimori bench memory`: what a tracked (entity, feature) window costs,
//! and what the engine with the default pack holds at 1 M and 10 M entities.
//!
//! Memory is measured, not estimated: the resident set (`/proc/self/statm`)
//! before and after filling, in a fresh child process per case (the same
//! binary, `sekimori bench memory --case ...`), so memory one case freed and
//! the allocator kept cannot hide the next one's. The stores' own estimate
//! (`FeatureStore::approx_bytes`) is printed beside it.
//!
//! Per window: one `FeatureStore` per aggregate and window, `--keys` keys,
//! each observed `--obs` times spread over its window (a key seen once is the
//! common case: most accounts act a few times a day).
//!
//! Totals: synthetic traffic through the engine and the default pack; each
//! entity is one account that logs in once from its own device and address
//! and makes one transfer to its own payee, so every per-account,
//! per-device, per-address and per-payee feature tracks one more key.

use anyhow::{anyhow, bail, Context};
use sekimori_engine::Engine;
use sekimori_window::{Aggregate, FeatureConfig, FeatureStore, Obs, ObsValue, Window};
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

/// Options of `sekimori bench memory`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Keys per store in the per-window cases.
    #[arg(long, default_value_t = 1_000_000)]
    pub keys: u64,
    /// Observations per key in the per-window cases.
    #[arg(long, default_value_t = 1)]
    pub obs: u64,
    /// Entity counts for the engine totals, comma-separated.
    #[arg(long, default_value = "1000000,10000000", value_delimiter = ',')]
    pub entities: Vec<u64>,
    /// Write `memory.json` here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Internal: run one case in this process and print its JSON.
    #[arg(long, hide = true)]
    pub case: Option<String>,
    /// Print where the engine's bytes go, per feature store (from a
    /// snapshot of the filled engine: use a small `--entities`).
    #[arg(long)]
    pub breakdown: bool,
}

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
const T0: i64 = 1_780_000_000_000;

/// The per-window cases: name, aggregate, window.
fn window_cases() -> Vec<(&'static str, Aggregate, Window)> {
    let sliding = |length_ms: i64, resolution_ms: i64| Window::Sliding {
        length_ms,
        resolution_ms,
    };
    vec![
        ("count 10m", Aggregate::Count, sliding(600_000, 10_000)),
        ("count 1h", Aggregate::Count, sliding(HOUR_MS, 60_000)),
        ("count 24h", Aggregate::Count, sliding(DAY_MS, 1_440_000)),
        ("sum 24h", Aggregate::Sum, sliding(DAY_MS, 1_440_000)),
        ("max 24h", Aggregate::Max, sliding(DAY_MS, 1_440_000)),
        (
            "distinct_count 1h",
            Aggregate::DistinctCount { exact_limit: 1000 },
            sliding(HOUR_MS, 60_000),
        ),
        (
            "last_seen 30d",
            Aggregate::LastSeen,
            sliding(30 * DAY_MS, DAY_MS),
        ),
        ("first_seen ever", Aggregate::FirstSeen, Window::Ever),
        ("count ever", Aggregate::Count, Window::Ever),
    ]
}

/// Resident set size of this process, bytes.
pub fn rss_bytes() -> anyhow::Result<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").context("reading /proc/self/statm")?;
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .ok_or_else(|| anyhow!("unexpected /proc/self/statm: {statm}"))?;
    Ok(pages * 4096)
}

/// The window of one case, filled with `keys` keys of `obs` observations.
fn fill_window(
    aggregate: Aggregate,
    window: Window,
    keys: u64,
    obs: u64,
) -> anyhow::Result<FeatureStore> {
    let config = FeatureConfig {
        window,
        aggregate,
        max_keys: usize::try_from(keys).unwrap_or(usize::MAX).max(1),
        lateness_ms: 300_000,
    };
    let mut store = FeatureStore::new(config).map_err(|e| anyhow!("{e}"))?;
    let span = match window {
        Window::Sliding { length_ms, .. } => length_ms,
        Window::Ever => HOUR_MS,
    };
    // Every key's observations spread over its window; keys interleaved so
    // time only moves forward.
    let step = (span / i64::try_from(obs.max(1)).unwrap_or(1)).max(1);
    for round in 0..obs {
        let now = T0 + i64::try_from(round).unwrap_or(0) * step;
        for k in 0..keys {
            let value = match aggregate {
                Aggregate::DistinctCount { .. } => ObsValue::Hash(k ^ (round << 40)),
                Aggregate::Count => ObsValue::None,
                _ => ObsValue::Int(i64::try_from(k).unwrap_or(0)),
            };
            let key = xxhash_rust::xxh3::xxh3_128(&k.to_le_bytes());
            store.apply(key, Some(Obs { at_ms: now, value }), now);
        }
    }
    Ok(store)
}

/// One per-window case, in this process.
fn window_case(name: &str, keys: u64, obs: u64) -> anyhow::Result<Json> {
    let (_, aggregate, window) = window_cases()
        .into_iter()
        .find(|c| c.0 == name)
        .ok_or_else(|| anyhow!("no case `{name}`"))?;
    let before = rss_bytes()?;
    let store = fill_window(aggregate, window, keys, obs)?;
    let after = rss_bytes()?;
    if store.len() as u64 != keys {
        bail!("{name}: {} keys tracked of {keys}", store.len());
    }
    let measured = after.saturating_sub(before) as f64 / keys as f64;
    Ok(json!({
        "case": name, "keys": keys, "obs_per_key": obs,
        "rss_bytes_per_window": measured,
        "estimated_bytes_per_window": store.approx_bytes() as f64 / keys as f64,
    }))
}

/// Synthetic traffic for `n` entities, as event JSON.
pub(crate) fn entity_events(i: u64) -> [Json; 2] {
    let at =
        |k: u64| sekimori_event::format_rfc3339_ms(T0 + i64::try_from(i * 2 + k).unwrap_or(0) * 10);
    let ip = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
    [
        json!({"id": format!("l{i}"), "type": "login.attempt", "at": at(0), "service": "bank",
               "account": format!("acct-{i}"), "factor": "password", "result": "success",
               "secret_fp": format!("k1:{:064x}", i),
               "actor": {"ip": ip, "device": format!("dev-{i}")}}),
        json!({"id": format!("t{i}"), "type": "transfer", "at": at(1), "service": "bank",
               "account": format!("acct-{i}"), "amount_minor": 5000, "currency": "JPY",
               "destination": {"kind": "bank", "bank_code": "0001", "branch": "100",
                               "number": format!("{:07}", i % 10_000_000)},
               "actor": {"ip": ip, "device": format!("dev-{i}")}}),
    ]
}

/// Total memory of this machine, bytes.
fn mem_total_bytes() -> anyhow::Result<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").context("reading /proc/meminfo")?;
    info.lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| anyhow!("no MemTotal in /proc/meminfo"))
}

/// One engine-total case, in this process. The resident set is sampled at
/// every tenth of the way; the run stops early, and says so, if it would
/// take more than `max_rss` (the machine's memory is the limit, not a
/// crash).
fn engine_case(entities: u64, max_rss: u64, breakdown: bool) -> anyhow::Result<Json> {
    let pack = crate::replay::pack(None)?;
    let before = rss_bytes()?;
    let mut engine = Engine::new(pack);
    let start = Instant::now();
    let step = (entities / 10).max(1);
    let mut curve = Vec::new();
    let mut reached = 0;
    for i in 0..entities {
        for e in entity_events(i) {
            let event = sekimori_event::decode_value(e).map_err(|e| anyhow!("{e}"))?;
            engine.decide(&event);
        }
        reached = i + 1;
        if reached % step == 0 {
            let rss = rss_bytes()?;
            curve.push(
                json!({"entities": reached, "rss_bytes": rss.saturating_sub(before),
                              "tracked_windows": engine.window_footprint().0}),
            );
            eprintln!(
                "{reached} entities: {} MB",
                rss.saturating_sub(before) / 1_000_000
            );
            if rss > max_rss {
                break;
            }
        }
    }
    let entities = reached;
    let seconds = start.elapsed().as_secs_f64();
    let after = rss_bytes()?;
    let (windows, estimated) = engine.window_footprint();
    let stores = if breakdown {
        store_breakdown(&engine, entities)?
    } else {
        Json::Null
    };
    Ok(json!({
        "stores": stores,
        "accounted_bytes": engine.memory().accounted_bytes,
        "entities": entities, "events": entities * 2, "seconds": seconds, "curve": curve,
        "stopped_at_memory_limit": after > max_rss,
        "rss_bytes": after.saturating_sub(before),
        "tracked_windows": windows,
        "estimated_window_bytes": estimated,
        "rss_bytes_per_entity": after.saturating_sub(before) as f64 / entities as f64,
        "rss_bytes_per_window": after.saturating_sub(before) as f64 / windows.max(1) as f64,
    }))
}

/// Where the engine's accounted bytes go, per feature store, read back from
/// a snapshot (the state is private to the engine; a snapshot starts with
/// the watermark, the event count and the feature stores by spec digest).
fn store_breakdown(engine: &Engine, entities: u64) -> anyhow::Result<Json> {
    let snapshot = engine.snapshot();
    let rest = snapshot.get(1..).unwrap_or_default();
    let ((_, _, stores), after): ((i64, u64, BTreeMap<u64, FeatureStore>), _) =
        postcard::take_from_bytes(rest).map_err(|e| anyhow!("snapshot prefix: {e}"))?;
    let names: BTreeMap<u64, &str> = engine
        .pack()
        .features
        .iter()
        .map(|f| (f.spec_digest, f.name.as_str()))
        .collect();
    let per = |b: u64| b as f64 / entities.max(1) as f64;
    let mut rows: Vec<Json> = stores
        .iter()
        .filter(|(_, s)| !s.is_empty())
        .map(|(d, s)| {
            json!({"feature": names.get(d).copied().unwrap_or("?"),
                   "aggregate": format!("{:?}", s.config().aggregate),
                   "keys": s.len(), "accounted_per_entity": per(s.accounted_bytes()),
                   "estimated_per_entity": per(s.approx_bytes() as u64)})
        })
        .collect();
    rows.sort_by(|a, b| {
        let key = |r: &Json| r["accounted_per_entity"].as_f64().unwrap_or(0.0);
        key(b).total_cmp(&key(a))
    });
    let windows: u64 = stores.values().map(FeatureStore::accounted_bytes).sum();
    let total = engine.memory().accounted_bytes;
    Ok(json!({
        "windows_accounted_per_entity": per(windows),
        "other_accounted_per_entity": per(total.saturating_sub(windows)),
        "rest_of_snapshot_bytes_per_entity": per(after.len() as u64),
        "stores": rows,
    }))
}

fn print_breakdown(r: &Json) {
    let b = &r["stores"];
    if b.is_null() {
        return;
    }
    let f = |v: &Json| v.as_f64().unwrap_or(0.0);
    println!(
        "    accounted per entity: windows {:.0}, risk + profiles + parked {:.0} (rest of the snapshot {:.0} bytes an entity)",
        f(&b["windows_accounted_per_entity"]),
        f(&b["other_accounted_per_entity"]),
        f(&b["rest_of_snapshot_bytes_per_entity"])
    );
    for row in b["stores"].as_array().into_iter().flatten() {
        println!(
            "    {:<44} {:<28} {:>9} keys {:>7.1} accounted {:>7.1} estimated bytes an entity",
            row["feature"].as_str().unwrap_or("?"),
            row["aggregate"].as_str().unwrap_or("?"),
            row["keys"],
            f(&row["accounted_per_entity"]),
            f(&row["estimated_per_entity"])
        );
    }
}

/// Runs one case in a child process (this same binary) and reads its JSON.
fn in_child(case: &str, a: &Args) -> anyhow::Result<Json> {
    let exe = std::env::current_exe().context("finding this binary")?;
    let out = std::process::Command::new(exe)
        .args(["bench", "memory", "--case", case])
        .args(["--keys", &a.keys.to_string(), "--obs", &a.obs.to_string()])
        .args(a.breakdown.then_some("--breakdown"))
        .output()
        .context("running the case")?;
    if !out.status.success() {
        bail!(
            "case {case} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    serde_json::from_slice(&out.stdout).with_context(|| format!("case {case}: its output"))
}

/// Runs the benchmark.
pub fn run(a: Args) -> anyhow::Result<()> {
    if let Some(case) = &a.case {
        let result = match case.strip_prefix("engine:") {
            Some(n) => engine_case(
                n.parse().context("engine:N")?,
                mem_total_bytes()? / 10 * 7,
                a.breakdown,
            )?,
            None => window_case(case, a.keys, a.obs)?,
        };
        println!("{result}");
        return Ok(());
    }
    let mut windows = Vec::new();
    println!(
        "per window ({} keys a store, {} observation(s) a key; resident set measured in a fresh process):",
        a.keys, a.obs
    );
    for (name, _, _) in window_cases() {
        let r = in_child(name, &a)?;
        println!(
            "  {name:<18} {:>6.1} bytes measured, {:>6.1} estimated",
            r["rss_bytes_per_window"].as_f64().unwrap_or(0.0),
            r["estimated_bytes_per_window"].as_f64().unwrap_or(0.0)
        );
        windows.push(r);
    }
    let mut totals = Vec::new();
    println!("engine with the default pack (a login and a transfer per entity):");
    for n in &a.entities {
        let r = in_child(&format!("engine:{n}"), &a)?;
        if r["stopped_at_memory_limit"].as_bool() == Some(true) {
            println!(
                "  {n:>9} entities: stopped at {} entities, past 70% of this machine's memory",
                r["entities"]
            );
        }
        println!(
            "  {:>9} entities: {:>7.0} MB resident, {} tracked windows, {:.0} bytes a window, {:.0} bytes an entity ({:.0} s to fill)",
            r["entities"],
            r["rss_bytes"].as_f64().unwrap_or(0.0) / 1e6,
            r["tracked_windows"],
            r["rss_bytes_per_window"].as_f64().unwrap_or(0.0),
            r["rss_bytes_per_entity"].as_f64().unwrap_or(0.0),
            r["seconds"].as_f64().unwrap_or(0.0)
        );
        print_breakdown(&r);
        totals.push(r);
    }
    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join("memory.json");
        let doc = json!({"windows": windows, "engine": totals});
        std::fs::write(&path, serde_json::to_string_pretty(&doc)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_window_case_tracks_every_key() {
        for (name, aggregate, window) in window_cases() {
            let store = fill_window(aggregate, window, 500, 3).expect(name);
            assert_eq!(store.len(), 500, "{name}");
        }
    }

    #[test]
    fn entity_events_decode_and_differ() {
        let a = entity_events(1);
        let b = entity_events(2);
        for e in a.iter().chain(&b) {
            sekimori_event::decode_value(e.clone()).expect("valid event");
        }
        assert_ne!(a[0]["account"], b[0]["account"]);
        assert_ne!(a[1]["destination"], b[1]["destination"]);
    }

    #[test]
    fn rss_is_read() {
        assert!(rss_bytes().expect("statm") > 0);
    }
}
