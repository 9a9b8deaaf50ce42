//! `sekimori bench redis`: the Redis-counter baseline, what a team would build
//! instead of sekimori: the same windowed counters kept in a local
//! `redis-server`, driven by the same events, next to sekimori's own
//! throughput on those events.
//!
//! Preparation is not timed: every event is decoded, the default pack is
//! compiled, and for each event the exact counters sekimori would update and
//! read are worked out with the pack's own expressions (key, filter, `of`) and
//! encoded once as ready-to-write RESP requests. `risk` features are skipped:
//! a profile store, not a counter. What is timed is the Redis work alone, in
//! two modes: one round trip per event (a decision service needs the counts
//! before it can decide) and pipelines of `--batch` events (an upper bound,
//! if decisions could wait). sekimori's time is `Engine::decide` over the same
//! decoded events: counters and rules and the decision record.
//!
//! Two designs of the Redis side, both run by default (`--design`): one
//! `EVALSHA` per event of a Lua script that does all its counters atomically,
//! or plain commands, all of an event's in one pipeline, sums and minima
//! reduced in the client. The counters, a window of `W` ms as of the watermark
//! `now`, members at or before `now - W` dropped with `ZREMRANGEBYSCORE` and
//! every written key given a `PEXPIRE` of `W`: count: a sorted set, member
//! unique per event, score the event time, `ZCARD`; sum: the same with the
//! amount in the member (the script keeps a running total, `INCRBY` /
//! `DECRBY`; the pipeline sums the live members); distinct count: a sorted set
//! keyed by the value hash, score its latest time (`ZADD GT`); first seen: a
//! sorted set of times; last seen: a plain key, `SET ... PX W GET`; min / max:
//! sorted sets scanned (the default pack has none). `ever` windows use plain
//! keys (`INCRBY`, `SADD` / `SCARD`, `SET NX GET`).

use crate::events::{decode_all, Source};
use anyhow::{anyhow, bail, Context};
use hdrhistogram::Histogram;
use redis::{ConnectionLike, Value};
use sekimori_engine::{event_view, Engine};
use sekimori_event::Event;
use sekimori_rules::{Counts, Feature, Pack, Vars};
use sekimori_window::{Aggregate, Window};
use serde_json::{json, Value as Json};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Events run when `--limit` is not given (the medium world has ~4.6 M).
pub const DEFAULT_LIMIT: usize = 1_000_000;

/// The apt command that installs the server this benchmark starts.
pub const INSTALL_HINT: &str = "apt-get update && apt-get install -y redis-server";

/// Arguments of `sekimori bench redis`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The events (default: the first 1,000,000 of the medium world;
    /// `--limit` overrides). Both sides run exactly these events.
    #[command(flatten)]
    pub source: Source,
    /// Which Redis design to run; with `both` the summary takes the faster
    /// design of each mode.
    #[arg(long, value_enum, default_value = "both")]
    pub design: Design,
    /// Events per pipeline in the batched mode.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// Check the baseline's readings against sekimori's on this many first
    /// events (untimed).
    #[arg(long, default_value_t = 100_000)]
    pub verify: usize,
    /// Write `redis.json` with every number here.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// The Lua script: all of one event's counter work. `KEYS[i]` is the
/// counter of op `i`; `ARGV` is the event time, the watermark, a member id
/// unique to the event, then five per op: aggregate code, mode (0 read,
/// 1 add then read, 2 read then add: `counts: allowed | unrefused`), cutoff
/// (`now - W`), `W` (0: `ever`) and the value. It returns one reading per op
/// (nil for no value).
const SCRIPT: &str = r#"
local t, id = ARGV[1], ARGV[3]
local tn = tonumber(t)
local out = {}
local function amount(m) return tonumber(string.match(m, ':(-?%d+)$')) end
local function read(code, k)
  if code == 1 or code == 3 then return redis.call('ZCARD', k) end
  if code == 2 then return tonumber(redis.call('GET', k .. '+') or '0') end
  if code == 6 then
    local f = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')
    if f[2] then return tonumber(f[2]) end
    return false
  end
  local best = false
  for _, m in ipairs(redis.call('ZRANGE', k, 0, -1)) do
    local x = amount(m)
    if best == false or (code == 4 and x < best) or (code == 5 and x > best) then best = x end
  end
  return best
end
for i = 1, #KEYS do
  local k = KEYS[i]
  local a = 3 + (i - 1) * 5
  local code, mode = tonumber(ARGV[a + 1]), tonumber(ARGV[a + 2])
  local cutoff, ws, v = ARGV[a + 3], ARGV[a + 4], ARGV[a + 5]
  local r = false
  if tonumber(ws) > 0 then
    if code == 7 then
      local p = redis.call('GET', k)
      if p and tonumber(p) > tonumber(cutoff) then r = tonumber(p) end
      if mode > 0 and (not p or tonumber(p) < tn) then redis.call('SET', k, t, 'PX', ws) end
    else
      if code == 2 then
        local gone = redis.call('ZRANGEBYSCORE', k, '-inf', cutoff)
        if #gone > 0 then
          local d = 0
          for _, m in ipairs(gone) do d = d + amount(m) end
          redis.call('DECRBY', k .. '+', string.format('%d', d))
          redis.call('ZREMRANGEBYSCORE', k, '-inf', cutoff)
        end
      else
        redis.call('ZREMRANGEBYSCORE', k, '-inf', cutoff)
      end
      if mode == 2 then r = read(code, k) end
      if mode > 0 then
        if code == 1 then redis.call('ZADD', k, t, id)
        elseif code == 3 then redis.call('ZADD', k, 'GT', t, v)
        elseif code == 6 then redis.call('ZADD', k, t, t)
        else redis.call('ZADD', k, t, id .. ':' .. v) end
        redis.call('PEXPIRE', k, ws)
        if code == 2 then
          local s = redis.call('INCRBY', k .. '+', v)
          redis.call('PEXPIRE', k .. '+', ws)
          if mode == 1 then r = s end
        end
      end
      if mode < 2 and not (code == 2 and mode == 1) then r = read(code, k) end
    end
  elseif code == 3 then
    if mode == 2 then r = redis.call('SCARD', k) end
    if mode > 0 then redis.call('SADD', k, v) end
    if mode < 2 then r = redis.call('SCARD', k) end
  elseif code == 1 or code == 2 then
    local by = v
    if code == 1 then by = '1' end
    if mode == 1 then r = redis.call('INCRBY', k, by)
    else
      r = tonumber(redis.call('GET', k) or '0')
      if mode == 2 then redis.call('INCRBY', k, by) end
    end
  else
    local p = redis.call('GET', k)
    if p then p = tonumber(p) else p = false end
    local xs = v
    if code >= 6 then xs = t end
    local x = tonumber(xs)
    local keep = p == false or ((code == 4 or code == 6) and x < p) or ((code == 5 or code == 7) and x > p)
    r = p
    if mode > 0 and keep then redis.call('SET', k, xs) end
    if mode == 1 and code ~= 7 and keep then r = x end
  end
  out[i] = r
end
return out
"#;

/// How the counters reach Redis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Design {
    /// One `EVALSHA` per event: a Lua script does all its counters atomically.
    Script,
    /// Plain commands, all of an event's in one pipeline; sums, minima and
    /// first-seen times reduced in the client.
    Commands,
    /// Both, one after the other; the summary takes the faster of each mode.
    Both,
}

mod modes;
mod prepare;
mod server;

use modes::*;
use prepare::*;
use server::*;

fn rate(events: usize, seconds: f64) -> f64 {
    events as f64 / seconds.max(1e-9)
}

/// One design's two modes and its check.
#[derive(Debug)]
struct DesignResult {
    design: Design,
    one: ModeResult,
    batch: ModeResult,
    agreement: Json,
    request_bytes: usize,
}

#[allow(clippy::too_many_arguments)]
fn run_design(
    design: Design,
    con: &mut redis::Connection,
    sha: &str,
    pack: &Arc<Pack>,
    events: &[Event],
    a: &Args,
    want: &mut Option<Vec<Vec<Option<Option<i64>>>>>,
) -> anyhow::Result<(DesignResult, Census)> {
    let (p, census) = match design {
        Design::Script => prepare(pack, events, design, encode_script(sha)),
        _ => prepare(pack, events, Design::Commands, encode_commands),
    };
    let keep = a.verify.min(events.len());
    let (one, got) = per_event(con, &p, keep)?;
    let batch = batched(con, &p, a.batch)?;
    if one.checksum != batch.checksum {
        println!(
            "note: the {design:?} design's two modes read different values (checksums {} / {})",
            one.checksum, batch.checksum
        );
    }
    // The ops (and so sekimori's readings) are the same in both designs.
    let want = want.get_or_insert_with(|| sekimori_readings(pack, &events[..keep], &p));
    let agreement = agreement(pack, &p, want, &got);
    let n = events.len();
    let per = |x: u64| x as f64 / n.max(1) as f64;
    let (p50, p99, p999) = one.latency_us;
    let (readings, equal) = (
        agreement["readings"].as_u64().unwrap_or(0),
        agreement["equal"].as_u64().unwrap_or(0),
    );
    let how = match design {
        Design::Script => "one EVALSHA of a Lua script per event",
        _ => "plain commands, one pipeline per event",
    };
    println!(
        "redis {how}: per-event {:.0} events/s ({:.2} s; round trip p50 {p50} us, p99 {p99} us, p999 {p999} us); \
         batched by {} {:.0} events/s ({:.2} s); {:.1} Redis commands per event; {:.0} B requested per event; used_memory {:.0} MB; \
         readings equal to sekimori's on the first {keep} events: {equal} of {readings} ({:.2}%)",
        rate(n, one.seconds),
        one.seconds,
        a.batch,
        rate(n, batch.seconds),
        batch.seconds,
        per(one.commands),
        p.wire.len() as f64 / n.max(1) as f64,
        one.used_memory as f64 / 1e6,
        100.0 * equal as f64 / readings.max(1) as f64,
    );
    Ok((
        DesignResult {
            design,
            one,
            batch,
            agreement,
            request_bytes: p.wire.len(),
        },
        census,
    ))
}

fn design_json(r: &DesignResult, n: usize, batch: usize) -> Json {
    let (p50, p99, p999) = r.one.latency_us;
    json!({
        "redis_commands_per_event": r.one.commands as f64 / n.max(1) as f64,
        "request_bytes_per_event": r.request_bytes as f64 / n.max(1) as f64,
        "per_event": {
            "events": n, "seconds": r.one.seconds, "events_per_s": rate(n, r.one.seconds),
            "round_trip_us": {"p50": p50, "p99": p99, "p999": p999},
            "used_memory_bytes": r.one.used_memory,
        },
        "batched": {
            "events": n, "batch": batch, "seconds": r.batch.seconds,
            "events_per_s": rate(n, r.batch.seconds), "used_memory_bytes": r.batch.used_memory,
        },
        "agreement": r.agreement,
    })
}

/// What one run of the baseline measured, in events per second.
#[derive(Clone, Copy, Debug)]
pub struct Outcome {
    /// Events run on both sides.
    pub events: usize,
    /// sekimori's `Engine::decide` over the decoded events, in process.
    pub engine_per_s: f64,
    /// Redis, one round trip per event (the faster design).
    pub redis_per_event_per_s: f64,
    /// Redis, pipelines of `--batch` events (the faster design).
    pub redis_batched_per_s: f64,
}

/// Runs the benchmark: prints its numbers and, with `--out`, writes `redis.json`.
pub fn run(a: Args) -> anyhow::Result<()> {
    measure(a).map(drop)
}

/// Runs the benchmark as [`run`] does, and returns its rates (`sekimori
/// bench http --redis` sets them beside the HTTP paths' in the same run).
pub fn measure(a: Args) -> anyhow::Result<Outcome> {
    if a.batch == 0 {
        bail!("--batch must be at least 1");
    }
    // Start the server first: a missing redis-server fails before the world is simulated.
    let server = Server::start()?;
    let mut con = server.connect().context("connecting to redis-server")?;
    let version = info_field(&mut con, "server", "redis_version")?;
    let sha: String = redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg(SCRIPT)
        .query(&mut con)?;

    let limit = a.source.limit.unwrap_or(DEFAULT_LIMIT);
    let mut lines = Source {
        limit: None,
        ..a.source.clone()
    }
    .lines()?;
    let world_events = lines.len();
    lines.truncate(limit);
    let events = decode_all(&lines)?;
    drop(lines);
    let n = events.len();
    let pack = Arc::new(
        sekimori_rules::compile(sekimori_rules::embedded::default_pack()?)
            .map_err(|e| anyhow!("the default pack does not compile: {e:?}"))?,
    );
    println!(
        "redis baseline: {}, the first {n} of its {world_events} events on both sides (--limit {limit}); redis-server {version} on a unix socket, no persistence",
        a.source.describe()
    );

    let mut engine = Engine::new(pack.clone());
    let start = Instant::now();
    let mut refused = 0u64;
    for e in &events {
        let d = engine.decide(e);
        refused += u64::from(d.action != sekimori_rules::Action::Allow);
    }
    let seki_s = start.elapsed().as_secs_f64();
    std::hint::black_box(refused);
    drop(engine);
    let seki = rate(n, seki_s);
    println!(
        "sekimori: Engine::decide over {n} decoded events: {seki:.0} events/s ({seki_s:.2} s; counters, risk profiles, rules, decision record)"
    );

    let designs: &[Design] = match a.design {
        Design::Both => &[Design::Script, Design::Commands],
        Design::Script => &[Design::Script],
        Design::Commands => &[Design::Commands],
    };
    let mut want = None;
    let mut results = Vec::new();
    let mut census = Census::default();
    for &d in designs {
        let (r, c) = run_design(d, &mut con, &sha, &pack, &events, &a, &mut want)?;
        results.push(r);
        census = c;
    }
    drop(con);
    drop(server);
    let per = |x: u64| x as f64 / n.max(1) as f64;
    println!(
        "prepared (untimed, same for every design): per event {:.2} counters updated + {:.2} read only; {:.2} risk features skipped (a learned profile, not a counter); {:.2} with a null key; {} events without counters not sent",
        per(census.updates),
        per(census.read_only),
        per(census.risk_skipped),
        per(census.no_key),
        census.empty_events
    );
    let best = |f: fn(&DesignResult) -> f64| {
        results
            .iter()
            .map(|r| (f(r), r.design))
            .fold((0.0, Design::Script), |b, x| if x.0 > b.0 { x } else { b })
    };
    let (r1, d1) = best(|r| 1.0 / r.one.seconds);
    let (rb, db) = best(|r| 1.0 / r.batch.seconds);
    let (r1, rb) = (r1 * n as f64, rb * n as f64);
    println!("best Redis design: per-event {d1:?}, batched {db:?}");
    println!(
        "sekimori: {seki:.0} events/s; redis per-event: {r1:.0} events/s; redis batched: {rb:.0} events/s; ratio X/Y = {:.1}x, X/Z = {:.1}x",
        seki / r1,
        seki / rb
    );

    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let doc = json!({
            "source": a.source.describe(),
            "world_events": world_events,
            "events": n,
            "events_sent_to_redis": n - usize::try_from(census.empty_events).unwrap_or(0),
            "redis_version": version,
            "transport": "unix socket, --save '' --appendonly no",
            "ops_per_event": {
                "updated": per(census.updates),
                "read_only": per(census.read_only),
                "total": per(census.updates + census.read_only),
                "risk_skipped": per(census.risk_skipped),
                "null_key": per(census.no_key),
            },
            "sekimori": {"events": n, "seconds": seki_s, "events_per_s": seki},
            "designs": results
                .iter()
                .map(|r| (format!("{:?}", r.design).to_lowercase(), design_json(r, n, a.batch)))
                .collect::<serde_json::Map<_, _>>(),
            "redis_per_event": {"design": format!("{d1:?}").to_lowercase(), "events_per_s": r1},
            "redis_batched": {"design": format!("{db:?}").to_lowercase(), "events_per_s": rb},
            "ratio_per_event": seki / r1,
            "ratio_batched": seki / rb,
        });
        let path = dir.join("redis.json");
        std::fs::write(&path, serde_json::to_string_pretty(&doc)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
        println!("wrote {}", path.display());
    }
    Ok(Outcome {
        events: n,
        engine_per_s: seki,
        redis_per_event_per_s: r1,
        redis_batched_per_s: rb,
    })
}
