//! Preparation (not timed): the counters each event updates and reads, encoded as RESP.

use super::*;

/// One counter of one event, as the engine would touch it.
#[derive(Debug)]
pub(super) struct Spec {
    pub(super) feature: usize,
    pub(super) key: Vec<u8>,
    pub(super) aggregate: Aggregate,
    /// 0 read, 1 add then read, 2 read then add (`counts: allowed | unrefused`).
    pub(super) mode: i64,
    /// `now - W`: members at or before it are out of the window.
    pub(super) cutoff: i64,
    /// `W` in ms, 0 for an `ever` window.
    pub(super) window: i64,
    /// The event's value: the amount (sum, min, max) or the value hash
    /// (distinct count); empty otherwise.
    pub(super) value: Vec<u8>,
}

/// How a reading is made of its reply.
#[derive(Clone, Copy, Debug)]
pub(super) enum Reduce {
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
pub(super) struct Op {
    /// Index into `Pack::features`, for the agreement check.
    pub(super) feature: u16,
    /// Whether the event's rules read this feature.
    pub(super) read: bool,
    /// Which of the event's replies holds the reading (commands design).
    pub(super) reply: u16,
    pub(super) reduce: Reduce,
}

/// Aggregate codes the script knows.
pub(super) fn code(a: Aggregate) -> i64 {
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
pub(super) struct Prepared {
    pub(super) design: Design,
    /// The RESP-encoded requests of every event, back to back; an event
    /// with no counter work has an empty slice and is not sent.
    pub(super) wire: Vec<u8>,
    /// `wire[starts[i]..starts[i + 1]]` is event `i`'s request.
    pub(super) starts: Vec<usize>,
    /// Replies each event's request gets.
    pub(super) replies: Vec<u16>,
    /// The ops of every event, in order.
    pub(super) ops: Vec<Op>,
    /// `ops[op_starts[i]..op_starts[i + 1]]` are event `i`'s ops.
    pub(super) op_starts: Vec<usize>,
}

/// What preparation found, design aside.
#[derive(Debug, Default)]
pub(super) struct Census {
    pub(super) updates: u64,
    pub(super) read_only: u64,
    pub(super) risk_skipped: u64,
    pub(super) no_key: u64,
    pub(super) empty_events: u64,
}

/// xxh3-128 of the key parts joined by U+001F, `None` when a part is null:
/// the engine's `view::key_hash` (not public), reimplemented.
pub(super) fn key_hash(parts: &[Json]) -> Option<u128> {
    if parts.iter().any(Json::is_null) {
        return None;
    }
    let joined: Vec<String> = parts.iter().map(text).collect();
    Some(xxhash_rust::xxh3::xxh3_128(
        joined.join("\u{1f}").as_bytes(),
    ))
}

/// Strings raw, anything else as JSON (the engine's `view::text`).
pub(super) fn text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        other => other.to_string(),
    }
}

pub(super) fn feature_key(f: &Feature, vars: &Vars<'_>) -> Option<u128> {
    let parts: Result<Vec<Json>, String> = f.key.iter().map(|k| k.eval(vars)).collect();
    key_hash(&parts.ok()?)
}

/// The value this event adds, `None` when the filter rejects it or the
/// value is null or unusable, as in the engine.
pub(super) fn observation(f: &Feature, vars: &Vars<'_>) -> Option<Vec<u8>> {
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
pub(super) fn prepare(
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

pub(super) fn op(reply: usize, reduce: Reduce) -> Op {
    Op {
        feature: 0,
        read: false,
        reply: u16::try_from(reply).expect("an event has at most a few hundred commands"),
        reduce,
    }
}

/// The script design: one `EVALSHA` per event.
pub(super) fn encode_script(sha: &str) -> impl FnMut(usize, i64, i64, &[Spec], &mut Prepared) + '_ {
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
pub(super) fn encode_commands(seq: usize, at: i64, _now: i64, specs: &[Spec], p: &mut Prepared) {
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
pub(super) fn read_command(s: &Spec) -> (redis::Cmd, Reduce) {
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
pub(super) fn readings(
    design: Design,
    replies: Vec<Value>,
    ops: &[Op],
) -> anyhow::Result<Vec<Option<i64>>> {
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
