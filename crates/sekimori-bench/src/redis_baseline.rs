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

/// One counter of one event, as the engine would touch it.
#[derive(Debug)]
struct Spec {
    feature: usize,
    key: Vec<u8>,
    aggregate: Aggregate,
    /// 0 read, 1 add then read, 2 read then add (`counts: allowed | unrefused`).
    mode: i64,
    /// `now - W`: members at or before it are out of the window.
    cutoff: i64,
    /// `W` in ms, 0 for an `ever` window.
    window: i64,
    /// The event's value: the amount (sum, min, max) or the value hash
    /// (distinct count); empty otherwise.
    value: Vec<u8>,
}

/// How a reading is made of its reply.
#[derive(Clone, Copy, Debug)]
enum Reduce {
    /// An integer or a numeric string; nil is `missing`.
    Int { missing: Option<i64> },
    /// `id:amount` members: their sum, minimum or maximum.
    Members(Aggregate),
    /// A member that is itself a number (time, or the value of an `ever` min / max).
    FirstMember,
    /// A previous value, kept when it is after `cutoff`.
    After(i64),
    /// A previous value, else this event's time (`SET NX GET`).
    OrNow(i64),
}

/// One counter operation in the prepared requests.
#[derive(Debug)]
struct Op {
    /// Index into `Pack::features`, for the agreement check.
    feature: u16,
    /// Whether the event's rules read this feature.
    read: bool,
    /// Which of the event's replies holds the reading (commands design).
    reply: u16,
    reduce: Reduce,
}

/// Aggregate codes the script knows.
fn code(a: Aggregate) -> i64 {
    match a {
        Aggregate::Count => 1,
        Aggregate::Sum => 2,
        Aggregate::DistinctCount { .. } => 3,
        Aggregate::Min => 4,
        Aggregate::Max => 5,
        Aggregate::FirstSeen => 6,
        Aggregate::LastSeen => 7,
        Aggregate::Graph => 8,
    }
}

/// Every event's counter work, ready to send.
#[derive(Debug)]
struct Prepared {
    design: Design,
    /// The RESP-encoded requests of every event, back to back; an event
    /// with no counter work has an empty slice and is not sent.
    wire: Vec<u8>,
    /// `wire[starts[i]..starts[i + 1]]` is event `i`'s request.
    starts: Vec<usize>,
    /// Replies each event's request gets.
    replies: Vec<u16>,
    /// The ops of every event, in order.
    ops: Vec<Op>,
    /// `ops[op_starts[i]..op_starts[i + 1]]` are event `i`'s ops.
    op_starts: Vec<usize>,
}

/// What preparation found, design aside.
#[derive(Debug, Default)]
struct Census {
    updates: u64,
    read_only: u64,
    risk_skipped: u64,
    no_key: u64,
    empty_events: u64,
}

/// xxh3-128 of the key parts joined by U+001F, `None` when a part is null:
/// the engine's `view::key_hash` (not public), reimplemented.
fn key_hash(parts: &[Json]) -> Option<u128> {
    if parts.iter().any(Json::is_null) {
        return None;
    }
    let joined: Vec<String> = parts.iter().map(text).collect();
    Some(xxhash_rust::xxh3::xxh3_128(
        joined.join("\u{1f}").as_bytes(),
    ))
}

/// Strings raw, anything else as JSON (the engine's `view::text`).
fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn feature_key(f: &Feature, vars: &Vars<'_>) -> Option<u128> {
    let parts: Result<Vec<Json>, String> = f.key.iter().map(|k| k.eval(vars)).collect();
    key_hash(&parts.ok()?)
}

/// The value this event adds, `None` when the filter rejects it or the
/// value is null or unusable, as in the engine.
fn observation(f: &Feature, vars: &Vars<'_>) -> Option<Vec<u8>> {
    if let Some(filter) = &f.filter {
        if !filter.eval_bool(vars).ok()? {
            return None;
        }
    }
    match (f.config.aggregate, &f.of) {
        (Aggregate::Sum | Aggregate::Min | Aggregate::Max, Some(of)) => {
            Some(of.eval(vars).ok()?.as_i64()?.to_string().into_bytes())
        }
        (Aggregate::DistinctCount { .. }, Some(of)) => match of.eval(vars).ok()? {
            Json::Null => None,
            v => Some(
                xxhash_rust::xxh3::xxh3_64(text(&v).as_bytes())
                    .to_le_bytes()
                    .to_vec(),
            ),
        },
        _ => Some(Vec::new()),
    }
}

/// The counters of every event, worked out the way the engine does
/// (watermark, lateness clamp, plan, key, filter, `of`), and encoded by
/// `encode` (which gets the event's sequence number, clamped time,
/// watermark and specs).
fn prepare(
    pack: &Pack,
    events: &[Event],
    design: Design,
    mut encode: impl FnMut(usize, i64, i64, &[Spec], &mut Prepared),
) -> (Prepared, Census) {
    let mut p = Prepared {
        design,
        wire: Vec::new(),
        starts: Vec::with_capacity(events.len() + 1),
        replies: Vec::with_capacity(events.len()),
        ops: Vec::new(),
        op_starts: Vec::with_capacity(events.len() + 1),
    };
    let mut c = Census::default();
    let lateness = pack.settings.lateness_ms;
    let no_features = Json::Object(serde_json::Map::new());
    let mut watermark = i64::MIN;
    let mut specs = Vec::new();
    for (seq, event) in events.iter().enumerate() {
        watermark = if seq == 0 {
            event.at_ms
        } else {
            watermark.max(event.at_ms)
        };
        let at = event.at_ms.max(watermark.saturating_sub(lateness));
        let view = event_view(event);
        let vars = Vars::new(&view, &no_features, &pack.list_values);
        let plan = pack.plan(event.kind);
        specs.clear();
        let only_reads = plan.reads.iter().filter(|fi| !plan.updates.contains(fi));
        let all = plan
            .updates
            .iter()
            .map(|&fi| (fi, true))
            .chain(only_reads.map(|&fi| (fi, false)));
        for (fi, update) in all {
            let f = &pack.features[fi];
            if f.risk.is_some() {
                c.risk_skipped += 1;
                continue;
            }
            let Some(key) = feature_key(f, &vars) else {
                c.no_key += 1;
                continue;
            };
            let obs = if update { observation(f, &vars) } else { None };
            let mode: i64 = match (&obs, f.counts) {
                (None, _) => 0,
                (Some(_), Counts::All) => 1,
                (Some(_), _) => 2,
            };
            if update {
                c.updates += 1;
            } else {
                c.read_only += 1;
            }
            let (cutoff, window) = match f.config.window {
                Window::Sliding { length_ms, .. } => (watermark - length_ms, length_ms),
                Window::Ever => (i64::MIN, 0),
            };
            let mut k = format!("{fi}:").into_bytes();
            k.extend_from_slice(&key.to_le_bytes());
            specs.push(Spec {
                feature: fi,
                key: k,
                aggregate: f.config.aggregate,
                mode,
                cutoff,
                window,
                value: obs.unwrap_or_default(),
            });
        }
        p.starts.push(p.wire.len());
        p.op_starts.push(p.ops.len());
        if specs.is_empty() {
            c.empty_events += 1;
            p.replies.push(0);
            continue;
        }
        let first_op = p.ops.len();
        encode(seq, at, watermark, &specs, &mut p);
        for (op, s) in p.ops[first_op..].iter_mut().zip(&specs) {
            op.feature =
                u16::try_from(s.feature).expect("a pack has at most a few hundred features");
            op.read = plan.reads.contains(&s.feature);
        }
    }
    p.starts.push(p.wire.len());
    p.op_starts.push(p.ops.len());
    (p, c)
}

fn op(reply: usize, reduce: Reduce) -> Op {
    Op {
        feature: 0,
        read: false,
        reply: u16::try_from(reply).expect("an event has at most a few hundred commands"),
        reduce,
    }
}

/// The script design: one `EVALSHA` per event.
fn encode_script(sha: &str) -> impl FnMut(usize, i64, i64, &[Spec], &mut Prepared) + '_ {
    move |seq, at, now, specs, p| {
        let mut cmd = redis::cmd("EVALSHA");
        cmd.arg(sha).arg(specs.len());
        for s in specs {
            cmd.arg(&s.key[..]);
        }
        cmd.arg(at).arg(now).arg(seq);
        for (i, s) in specs.iter().enumerate() {
            cmd.arg(code(s.aggregate)).arg(s.mode);
            cmd.arg(s.cutoff.max(0)).arg(s.window).arg(&s.value[..]);
            p.ops.push(op(i, Reduce::Int { missing: None }));
        }
        cmd.write_packed_command(&mut p.wire);
        p.replies.push(1);
    }
}

/// The commands design: all of an event's commands in one pipeline.
fn encode_commands(seq: usize, at: i64, _now: i64, specs: &[Spec], p: &mut Prepared) {
    let mut n = 0usize;
    let mut emit = |c: &mut redis::Cmd, wire: &mut Vec<u8>| {
        c.write_packed_command(wire);
        n += 1;
        n - 1
    };
    for s in specs {
        let k = &s.key[..];
        let w = &mut p.wire;
        let (read_cmd, reduce) = read_command(s);
        let mut reading = None;
        if s.window > 0 && s.aggregate != Aggregate::LastSeen {
            emit(
                redis::cmd("ZREMRANGEBYSCORE")
                    .arg(k)
                    .arg("-inf")
                    .arg(s.cutoff),
                w,
            );
        }
        if s.aggregate == Aggregate::LastSeen
            || (s.window == 0 && s.aggregate == Aggregate::FirstSeen)
        {
            // One command reads the old value and writes the new one.
            let mut c = if s.mode == 0 {
                redis::cmd("GET")
            } else {
                redis::cmd("SET")
            };
            c.arg(k);
            if s.mode > 0 {
                c.arg(at);
                if s.window > 0 {
                    c.arg("PX").arg(s.window);
                }
                if s.aggregate == Aggregate::FirstSeen {
                    c.arg("NX");
                }
                c.arg("GET");
            }
            let i = emit(&mut c, w);
            let reduce = match (s.aggregate, s.mode) {
                (Aggregate::FirstSeen, 1) => Reduce::OrNow(at),
                _ => Reduce::After(s.cutoff),
            };
            p.ops.push(op(i, reduce));
            continue;
        }
        if s.mode == 2 {
            reading = Some(emit(&mut read_cmd.clone(), w));
        }
        if s.mode > 0 {
            let member: Vec<u8> = match s.aggregate {
                Aggregate::Count => seq.to_string().into_bytes(),
                Aggregate::DistinctCount { .. } => s.value.clone(),
                Aggregate::FirstSeen => at.to_string().into_bytes(),
                _ if s.window == 0 => s.value.clone(),
                _ => format!("{seq}:")
                    .into_bytes()
                    .into_iter()
                    .chain(s.value.iter().copied())
                    .collect(),
            };
            match (s.aggregate, s.window) {
                (Aggregate::Count, 0) => {
                    let i = emit(redis::cmd("INCR").arg(k), w);
                    reading = reading.or(Some(i));
                }
                (Aggregate::Sum, 0) => {
                    let i = emit(redis::cmd("INCRBY").arg(k).arg(&s.value[..]), w);
                    reading = reading.or(Some(i));
                }
                (Aggregate::DistinctCount { .. }, 0) => {
                    emit(redis::cmd("SADD").arg(k).arg(&member[..]), w);
                }
                (Aggregate::DistinctCount { .. }, _) => {
                    emit(
                        redis::cmd("ZADD").arg(k).arg("GT").arg(at).arg(&member[..]),
                        w,
                    );
                }
                (Aggregate::Min | Aggregate::Max, 0) => {
                    emit(
                        redis::cmd("ZADD").arg(k).arg(&s.value[..]).arg(&member[..]),
                        w,
                    );
                }
                _ => {
                    emit(redis::cmd("ZADD").arg(k).arg(at).arg(&member[..]), w);
                }
            }
            if s.window > 0 {
                emit(redis::cmd("PEXPIRE").arg(k).arg(s.window), w);
            }
        }
        let i = match reading {
            Some(i) => i,
            None => emit(&mut read_cmd.clone(), w),
        };
        p.ops.push(op(i, reduce));
    }
    p.replies
        .push(u16::try_from(n).expect("an event has at most a few hundred commands"));
}

/// The command that reads a counter (commands design), and how.
fn read_command(s: &Spec) -> (redis::Cmd, Reduce) {
    let k = &s.key[..];
    let zero = Reduce::Int { missing: Some(0) };
    match (s.aggregate, s.window) {
        (Aggregate::Count | Aggregate::Sum, 0) => (redis::cmd("GET").arg(k).clone(), zero),
        (Aggregate::DistinctCount { .. }, 0) => (redis::cmd("SCARD").arg(k).clone(), zero),
        (Aggregate::Min, 0) => (
            redis::cmd("ZRANGE").arg(k).arg(0).arg(0).clone(),
            Reduce::FirstMember,
        ),
        (Aggregate::Max, 0) => (
            redis::cmd("ZRANGE").arg(k).arg(-1).arg(-1).clone(),
            Reduce::FirstMember,
        ),
        (Aggregate::Count | Aggregate::DistinctCount { .. }, _) => {
            (redis::cmd("ZCARD").arg(k).clone(), zero)
        }
        (Aggregate::FirstSeen, _) => (
            redis::cmd("ZRANGE").arg(k).arg(0).arg(0).clone(),
            Reduce::FirstMember,
        ),
        (a, _) => (
            redis::cmd("ZRANGE").arg(k).arg(0).arg(-1).clone(),
            Reduce::Members(a),
        ),
    }
}

/// The readings of one event, from its replies.
fn readings(design: Design, replies: Vec<Value>, ops: &[Op]) -> anyhow::Result<Vec<Option<i64>>> {
    if design == Design::Script {
        let [reply] =
            <[Value; 1]>::try_from(replies).map_err(|_| anyhow!("one reply per EVALSHA"))?;
        return redis::from_redis_value(reply).map_err(|e| anyhow!("the script's reply: {e}"));
    }
    let int = |v: &Value| -> anyhow::Result<Option<i64>> {
        redis::from_redis_value_ref(v).map_err(|e| anyhow!("a reply: {e}"))
    };
    let mut out = Vec::with_capacity(ops.len());
    for o in ops {
        let v = replies
            .get(usize::from(o.reply))
            .ok_or_else(|| anyhow!("a reply short"))?;
        out.push(match o.reduce {
            Reduce::Int { missing } => int(v)?.or(missing),
            Reduce::After(cutoff) => int(v)?.filter(|&t| t > cutoff),
            Reduce::OrNow(at) => Some(int(v)?.unwrap_or(at)),
            Reduce::FirstMember => {
                let m: Vec<Vec<u8>> =
                    redis::from_redis_value_ref(v).map_err(|e| anyhow!("a reply: {e}"))?;
                m.first()
                    .and_then(|b| std::str::from_utf8(b).ok()?.parse().ok())
            }
            Reduce::Members(a) => {
                let m: Vec<Vec<u8>> =
                    redis::from_redis_value_ref(v).map_err(|e| anyhow!("a reply: {e}"))?;
                let values = m.iter().filter_map(|b| {
                    let s = std::str::from_utf8(b).ok()?;
                    s.rsplit_once(':')?.1.parse::<i64>().ok()
                });
                match a {
                    Aggregate::Min => values.min(),
                    Aggregate::Max => values.max(),
                    _ => Some(values.fold(0i64, i64::saturating_add)),
                }
            }
        });
    }
    Ok(out)
}

/// A `redis-server` of our own on a unix socket in a temp dir, no
/// persistence; killed when dropped.
struct Server {
    child: Child,
    socket: PathBuf,
    /// Holds the socket and the log; removed after the server is killed.
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn start() -> anyhow::Result<Server> {
        let dir = tempfile::tempdir().context("creating a temp dir for redis-server")?;
        let socket = dir.path().join("redis.sock");
        let log = dir.path().join("redis.log");
        let child = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(&socket)
            .args([
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--daemonize", "no", "--databases", "1", "--dir"])
            .arg(dir.path())
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match child {
            Ok(c) => c,
            Err(e) if e.kind() == ErrorKind::NotFound => bail!(
                "redis-server is not on PATH: install it with `{INSTALL_HINT}` (or bench/redis/install.sh)"
            ),
            Err(e) => return Err(e).context("starting redis-server"),
        };
        let mut server = Server {
            child,
            socket,
            _dir: dir,
        };
        server.wait_ready(&log)?;
        Ok(server)
    }

    fn wait_ready(&mut self, log: &Path) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().context("watching redis-server")? {
                let log = std::fs::read_to_string(log).unwrap_or_default();
                bail!("redis-server exited at start ({status}):\n{log}");
            }
            if let Ok(mut con) = self.connect() {
                if redis::cmd("PING").query::<String>(&mut con).is_ok() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "redis-server did not answer on {} within 10 s",
                    self.socket.display()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn connect(&self) -> anyhow::Result<redis::Connection> {
        let client = redis::Client::open(redis::ConnectionAddr::Unix(self.socket.clone()))?;
        Ok(client.get_connection()?)
    }
}

/// One `INFO` field, as text.
fn info_field(con: &mut redis::Connection, section: &str, field: &str) -> anyhow::Result<String> {
    let info: String = redis::cmd("INFO").arg(section).query(con)?;
    info.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
        .ok_or_else(|| anyhow!("INFO {section} has no {field}"))
}

/// Data commands run since the last `CONFIG RESETSTAT` (inside scripts too).
fn data_commands(con: &mut redis::Connection) -> anyhow::Result<u64> {
    let info: String = redis::cmd("INFO").arg("commandstats").query(con)?;
    let admin = ["evalsha", "info", "config", "flushall", "ping", "script"];
    let mut total = 0;
    for line in info.lines() {
        let Some((name, rest)) = line
            .strip_prefix("cmdstat_")
            .and_then(|l| l.split_once(':'))
        else {
            continue;
        };
        if admin.iter().any(|a| name.starts_with(a)) {
            continue;
        }
        let calls = rest
            .split(',')
            .find_map(|kv| kv.strip_prefix("calls="))
            .and_then(|c| c.parse::<u64>().ok())
            .ok_or_else(|| anyhow!("cannot read INFO commandstats line `{line}`"))?;
        total += calls;
    }
    Ok(total)
}

/// One timed Redis mode's numbers.
#[derive(Debug)]
struct ModeResult {
    seconds: f64,
    commands: u64,
    used_memory: u64,
    checksum: i64,
    /// Round trip p50, p99, p999 in microseconds (per-event mode).
    latency_us: (u64, u64, u64),
}

/// Clears the server and its counters before a mode.
fn reset(con: &mut redis::Connection) -> anyhow::Result<()> {
    redis::cmd("FLUSHALL").arg("SYNC").query::<()>(con)?;
    redis::cmd("CONFIG").arg("RESETSTAT").query::<()>(con)?;
    Ok(())
}

fn finish(
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
fn per_event(
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
fn batched(con: &mut redis::Connection, p: &Prepared, batch: usize) -> anyhow::Result<ModeResult> {
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
fn sekimori_readings(
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
fn agreement(
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

/// Runs the benchmark: prints its numbers and, with `--out`, writes `redis.json`.
pub fn run(a: Args) -> anyhow::Result<()> {
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
    Ok(())
}
