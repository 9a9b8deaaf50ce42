//! `sekimori bench replay`: a simulator world's events through the embedded
//! engine and a rule pack (the default one unless `--rules`), timed.
//!
//! Three passes over the same JSON lines, each with a fresh engine:
//! 1. one core, the whole path: decode a line, decide it;
//! 2. one core, split: decode every line (timed), then decide every decoded
//!    event (timed): the engine's own rate, without the JSON parser;
//! 3. two cores: one thread decodes and prepares (builds each event's JSON),
//!    the other decides, batches between them over a bounded channel. The
//!    engine itself is one thread by design (its `&mut self` makes each
//!    event's read-and-update atomic), so the second core can only take the
//!    work that needs no engine.
//!
//! Every pass must reach the same decisions (their actions are tallied and
//! compared), so no pass can skip work.
//!
//! The decide-only pass also times each decision alone ([`Tail`]): one
//! slow decision holds the engine's lock, and every event queued behind it
//! waits, so the slowest decisions bound a server's tail latency more than
//! the mean does.

use crate::events::Source;
use anyhow::{anyhow, bail, Context};
use sekimori_engine::{Engine, Prepared};
use sekimori_event::Event;
use sekimori_rules::{Action, Pack};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc::sync_channel;
use std::sync::Arc;
use std::time::Instant;

/// Options of `sekimori bench replay`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub source: Source,
    /// Rule-pack directory (default: the embedded default pack).
    #[arg(long)]
    pub rules: Option<PathBuf>,
    /// Write `replay.json` here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Only decide every event once (untimed) and print the decision
    /// digest: the check that a change to the engine left every decision
    /// byte-identical.
    #[arg(long)]
    pub digest_only: bool,
}

/// What one pass measured.
#[derive(Debug, Clone)]
pub struct Pass {
    pub seconds: f64,
    pub actions: BTreeMap<String, u64>,
}

/// The time of each decision alone (the decide-only pass): its
/// distribution, and the slowest decisions by position in the input.
#[derive(Debug, Clone)]
pub struct Tail {
    /// Nanoseconds a decision, 1 ns to 100 s, three significant digits.
    pub histogram: hdrhistogram::Histogram<u64>,
    /// The [`SLOWEST`] slowest decisions: (nanoseconds, the event's index
    /// in the input, type), slowest first.
    pub slowest: Vec<(u64, usize, &'static str)>,
    /// Decisions over 1 ms, counted exactly (the histogram's buckets round).
    pub over_1ms: u64,
}

/// How many of the slowest decisions a [`Tail`] names.
pub const SLOWEST: usize = 10;

impl Tail {
    fn new() -> Tail {
        Tail {
            histogram: hdrhistogram::Histogram::new_with_bounds(1, 100_000_000_000, 3)
                .expect("static histogram bounds are valid"),
            slowest: Vec::with_capacity(SLOWEST + 1),
            over_1ms: 0,
        }
    }

    fn record(&mut self, ns: u64, index: usize, kind: &'static str) {
        self.histogram.saturating_record(ns.max(1));
        self.over_1ms += u64::from(ns > 1_000_000);
        let last = self.slowest.last().map_or(0, |s| s.0);
        if self.slowest.len() < SLOWEST || ns > last {
            let at = self.slowest.partition_point(|s| s.0 >= ns);
            self.slowest.insert(at, (ns, index, kind));
            self.slowest.truncate(SLOWEST);
        }
    }

    fn quantile_us(&self, q: f64) -> f64 {
        self.histogram.value_at_quantile(q) as f64 / 1e3
    }

    fn line(&self) -> String {
        format!(
            "p50 {:.1} µs, p99 {:.1} µs, p99.9 {:.1} µs, p99.99 {:.1} µs, max {:.1} µs; over 1 ms: {}",
            self.quantile_us(0.5),
            self.quantile_us(0.99),
            self.quantile_us(0.999),
            self.quantile_us(0.9999),
            self.histogram.max() as f64 / 1e3,
            self.over_1ms
        )
    }

    fn json(&self) -> serde_json::Value {
        json!({
            "p50_us": self.quantile_us(0.5),
            "p99_us": self.quantile_us(0.99),
            "p999_us": self.quantile_us(0.999),
            "p9999_us": self.quantile_us(0.9999),
            "max_us": self.histogram.max() as f64 / 1e3,
            "over_1ms": self.over_1ms,
            "slowest": self.slowest.iter().map(|(ns, i, kind)| {
                json!({"us": *ns as f64 / 1e3, "event": i + 1, "type": kind})
            }).collect::<Vec<_>>(),
        })
    }
}

impl Pass {
    fn rate(&self, n: usize) -> f64 {
        n as f64 / self.seconds.max(1e-9)
    }
}

/// Events decoded and sent to the deciding thread at a time.
const BATCH: usize = 1024;

/// Compiles the pack at `dir`, or the embedded default pack.
pub fn pack(dir: Option<&std::path::Path>) -> anyhow::Result<Arc<Pack>> {
    let source = match dir {
        Some(d) => sekimori_rules::load_pack(d)
            .with_context(|| format!("loading rule pack {}", d.display()))?,
        None => sekimori_rules::embedded::default_pack()?,
    };
    let pack = sekimori_rules::compile(source)
        .map_err(|e| anyhow!("the rule pack does not compile: {e:?}"))?;
    Ok(Arc::new(pack))
}

fn tally(actions: &mut BTreeMap<String, u64>, a: Action) {
    *actions.entry(format!("{a:?}").to_lowercase()).or_default() += 1;
}

fn decode(i: usize, line: &str) -> anyhow::Result<Event> {
    sekimori_event::decode(line.as_bytes()).map_err(|e| anyhow!("event {}: {e}", i + 1))
}

/// SHA-256 over every decision's JSON (one line each, in event order), with
/// a fresh engine: two builds that print the same digest for the same events
/// and pack decided every event byte for byte the same. Untimed.
pub fn digest(pack: &Arc<Pack>, lines: &[String]) -> anyhow::Result<String> {
    use sha2::{Digest, Sha256};
    let mut engine = Engine::new(Arc::clone(pack));
    let mut hasher = Sha256::new();
    let mut buf = Vec::with_capacity(4096);
    for (i, line) in lines.iter().enumerate() {
        let event = decode(i, line)?;
        buf.clear();
        serde_json::to_writer(&mut buf, &engine.decide(&event))?;
        buf.push(b'\n');
        hasher.update(&buf);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// Pass 1: decode and decide, line by line, on this thread.
pub fn one_core(pack: &Arc<Pack>, lines: &[String]) -> anyhow::Result<Pass> {
    let mut engine = Engine::new(Arc::clone(pack));
    let mut actions = BTreeMap::new();
    let start = Instant::now();
    for (i, line) in lines.iter().enumerate() {
        let event = decode(i, line)?;
        tally(&mut actions, engine.decide(&event).action);
    }
    Ok(Pass {
        seconds: start.elapsed().as_secs_f64(),
        actions,
    })
}

/// Pass 2: decode everything (first number), then decide everything
/// (second), each decision timed alone (third).
pub fn split(pack: &Arc<Pack>, lines: &[String]) -> anyhow::Result<(f64, Pass, Tail)> {
    let start = Instant::now();
    let events: Vec<Event> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| decode(i, l))
        .collect::<anyhow::Result<_>>()?;
    let decode_s = start.elapsed().as_secs_f64();
    let mut engine = Engine::new(Arc::clone(pack));
    let mut actions = BTreeMap::new();
    let mut tail = Tail::new();
    let start = Instant::now();
    for (i, event) in events.iter().enumerate() {
        let took = Instant::now();
        let action = engine.decide(event).action;
        let ns = u64::try_from(took.elapsed().as_nanos()).unwrap_or(u64::MAX);
        tail.record(ns, i, event.kind.as_str());
        tally(&mut actions, action);
    }
    let seconds = start.elapsed().as_secs_f64();
    drop(events);
    Ok((decode_s, Pass { seconds, actions }, tail))
}

/// Pass 3: a preparing thread feeds the deciding one. The first thread
/// decodes each line and builds its JSON ([`Prepared`]: pure work that needs
/// no engine); the second only decides. Spent batches go back to the first
/// thread to be freed there, where they were allocated.
pub fn two_cores(pack: &Arc<Pack>, lines: &[String]) -> anyhow::Result<Pass> {
    let (tx, rx) = sync_channel::<anyhow::Result<Vec<Prepared>>>(16);
    let (spent_tx, spent_rx) = sync_channel::<Vec<Prepared>>(16);
    let start = Instant::now();
    std::thread::scope(|s| {
        s.spawn(move || {
            for (b, chunk) in lines.chunks(BATCH).enumerate() {
                let batch = chunk
                    .iter()
                    .enumerate()
                    .map(|(i, l)| decode(b * BATCH + i, l).map(Prepared::new))
                    .collect::<anyhow::Result<Vec<_>>>();
                let failed = batch.is_err();
                if tx.send(batch).is_err() || failed {
                    return;
                }
                while let Ok(spent) = spent_rx.try_recv() {
                    drop(spent);
                }
            }
            drop(tx);
            for spent in spent_rx {
                drop(spent);
            }
        });
        let mut engine = Engine::new(Arc::clone(pack));
        let mut actions = BTreeMap::new();
        for batch in rx {
            let batch = batch?;
            for prepared in &batch {
                tally(&mut actions, engine.decide_prepared(prepared).action);
            }
            // A full return channel means the other thread is busy: free here.
            drop(spent_tx.try_send(batch));
        }
        drop(spent_tx);
        Ok(Pass {
            seconds: start.elapsed().as_secs_f64(),
            actions,
        })
    })
}

/// Prints (to stderr) the expressions that left the compiled path in the
/// digest pass, the most frequent first: what to compile next.
fn report_fallbacks(pack: &Pack, n: usize) {
    let counts = sekimori_rules::fallback_counts(pack);
    let runs: u64 = counts.iter().map(|c| c.interpreted).sum();
    let views: u64 = counts.iter().map(|c| c.view_reads).sum();
    eprintln!(
        "fallbacks over {n} decisions: {runs} interpreter runs, {views} view reads, in {} expressions",
        counts.len()
    );
    for c in counts.iter().take(20) {
        eprintln!(
            "  {:>9} run {:>9} view  {}{}: {}",
            c.interpreted,
            c.view_reads,
            c.place,
            if c.fast { "" } else { " (not compiled)" },
            c.source.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
}

fn thousands(x: f64) -> String {
    let s = format!("{:.0}", x.max(0.0));
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Runs the benchmark; the last line printed ends in `N events/s`.
pub fn run(a: Args) -> anyhow::Result<()> {
    let pack = pack(a.rules.as_deref())?;
    eprintln!("generating the events ({})...", a.source.describe());
    let t = Instant::now();
    let lines = a.source.lines()?;
    let n = lines.len();
    if n == 0 {
        bail!("no events");
    }
    let bytes: usize = lines.iter().map(|l| l.len() + 1).sum();
    eprintln!(
        "{n} events ({:.0} MB of JSON) in {:.1} s; pack {} {}: {} features, {} rules",
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64(),
        pack.name(),
        pack.version(),
        pack.features.len(),
        pack.rules.len()
    );
    let digest = digest(&pack, &lines)?;
    println!("decision digest (sha-256 of every decision's JSON): {digest}");
    report_fallbacks(&pack, n);
    if a.digest_only {
        return Ok(());
    }
    let one = one_core(&pack, &lines)?;
    println!(
        "1 core, decode + decide:   {:>10} events/s ({:.1} s)",
        thousands(one.rate(n)),
        one.seconds
    );
    let (decode_s, decide, tail) = split(&pack, &lines)?;
    println!(
        "1 core, decode only:       {:>10} events/s ({:.1} s, {:.0} MB/s)",
        thousands(n as f64 / decode_s),
        decode_s,
        bytes as f64 / 1e6 / decode_s
    );
    println!(
        "1 core, decide only:       {:>10} events/s ({:.1} s, {:.2} µs an event)",
        thousands(decide.rate(n)),
        decide.seconds,
        decide.seconds * 1e6 / n as f64
    );
    println!("1 core, each decision alone: {}", tail.line());
    println!(
        "  slowest (event number, type, µs): {}",
        tail.slowest
            .iter()
            .map(|(ns, i, kind)| format!("{} {kind} {:.0}", i + 1, *ns as f64 / 1e3))
            .collect::<Vec<_>>()
            .join("; ")
    );
    let two = two_cores(&pack, &lines)?;
    println!(
        "2 cores, decode+prepare ∥ decide: {:>10} events/s ({:.1} s)",
        thousands(two.rate(n)),
        two.seconds
    );
    if one.actions != decide.actions || one.actions != two.actions {
        bail!(
            "the passes disagree: {:?} / {:?} / {:?}",
            one.actions,
            decide.actions,
            two.actions
        );
    }
    println!("decisions (every pass): {:?}", one.actions);
    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let doc = json!({
            "source": a.source.describe(),
            "events": n,
            "json_bytes": bytes,
            "pack": {"name": pack.name(), "version": pack.version(),
                     "features": pack.features.len(), "rules": pack.rules.len()},
            "one_core": {"seconds": one.seconds, "events_per_s": one.rate(n)},
            "decode_only": {"seconds": decode_s, "events_per_s": n as f64 / decode_s},
            "decide_only": {"seconds": decide.seconds, "events_per_s": decide.rate(n),
                            "each_decision": tail.json()},
            "two_cores": {"seconds": two.seconds, "events_per_s": two.rate(n)},
            "actions": one.actions,
            "decision_digest": digest,
        });
        let path = dir.join("replay.json");
        std::fs::write(&path, serde_json::to_string_pretty(&doc)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    println!(
        "replay {} ({n} events, pack {} {}): 1 core {} events/s; 2 cores {} events/s",
        a.source.describe(),
        pack.name(),
        pack.version(),
        thousands(one.rate(n)),
        thousands(two.rate(n))
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines() -> Vec<String> {
        (0..300)
            .map(|i| {
                json!({"id": format!("e{i}"), "type": "login.attempt",
                       "at": sekimori_event::format_rfc3339_ms(1_780_000_000_000 + i * 1000),
                       "service": "bank", "account": format!("a{}", i % 7), "factor": "password",
                       "secret_fp": format!("k1:{:064x}", i % 11),
                       "result": if i % 3 == 0 { "failure" } else { "success" },
                       "actor": {"ip": format!("198.51.100.{}", i % 5), "device": "d1"}})
                .to_string()
            })
            .collect()
    }

    #[test]
    fn every_pass_reaches_the_same_decisions() {
        let pack = pack(None).expect("default pack");
        let lines = lines();
        let one = one_core(&pack, &lines).expect("one core");
        let (_, split, tail) = split(&pack, &lines).expect("split");
        let two = two_cores(&pack, &lines).expect("two cores");
        assert_eq!(one.actions.values().sum::<u64>(), 300);
        // Every decision was timed alone, and the slowest are named.
        assert_eq!(tail.histogram.len(), 300);
        assert_eq!(tail.slowest.len(), SLOWEST);
        assert!(tail.slowest.windows(2).all(|w| w[0].0 >= w[1].0));
        assert!(tail
            .slowest
            .iter()
            .all(|s| s.1 < 300 && s.2 == "login.attempt"));
        assert_eq!(one.actions, split.actions);
        assert_eq!(one.actions, two.actions);
        let d = digest(&pack, &lines).expect("digest");
        assert_eq!(d.len(), 64);
        assert_eq!(d, digest(&pack, &lines).expect("digest again"));
    }

    #[test]
    fn a_bad_line_is_named() {
        let pack = pack(None).expect("default pack");
        let mut lines = lines();
        lines[0] = "{\"type\": \"nope\"}".into();
        let err = two_cores(&pack, &lines).expect_err("bad line").to_string();
        assert!(err.contains("event 1"), "{err}");
        assert!(one_core(&pack, &lines).is_err());
    }

    #[test]
    fn the_tail_keeps_the_slowest_in_order() {
        let mut t = Tail::new();
        for (i, ns) in [
            5u64, 900, 3, 2_000_000, 40, 1_000_001, 7, 8, 9, 10, 11, 12, 1,
        ]
        .into_iter()
        .enumerate()
        {
            t.record(ns, i, "x");
        }
        let kept: Vec<u64> = t.slowest.iter().map(|s| s.0).collect();
        assert_eq!(kept, [2_000_000, 1_000_001, 900, 40, 12, 11, 10, 9, 8, 7]);
        assert_eq!(t.slowest[0].1, 3);
        assert_eq!(t.over_1ms, 2);
        // Exactly: 1 ms itself, and what the histogram's bucket rounds to it, is not over.
        let mut exact = Tail::new();
        for ns in [999_990, 1_000_000] {
            exact.record(ns, 0, "x");
        }
        assert_eq!(exact.over_1ms, 0);
        exact.record(1_000_001, 1, "x");
        assert_eq!(exact.over_1ms, 1);
        assert_eq!(t.histogram.len(), 13);
    }

    #[test]
    fn numbers_get_separators() {
        assert_eq!(thousands(1234567.4), "1,234,567");
        assert_eq!(thousands(999.0), "999");
    }
}
