//! Where the honest friction comes from: runs one world under sekimori and
//! writes, for every honest login or money action that was challenged or
//! refused in the measured period, one JSON line with the event, the verdict,
//! the enforced rules behind it and the features those rules read. For
//! tuning a pack (which rule, on which addresses and profiles); the
//! scorecard's "friction by rule" table gives only the counts. The run's
//! scorecard (sekimori's row, as `examples/card ... sekimori` writes it) is
//! written beside the trace, so one run gives both.
//!
//! ```text
//! cargo run --release -p sekimori-sim --example friction -- \
//!     SIZE WORLD SEED RULES_DIR OUT_DIR [SCENARIOS|all] [observed|unanswered]
//! ```
//!
//! The last argument is the warm-up (`sekimori_sim::Warmup`): `observed`
//! (the default: the services import their admitted logins and mark the
//! history's observed) or `unanswered` (the simulator before that, kept to
//! measure it).
//!
//! writes `OUT_DIR/friction.jsonl`, `scorecard.md` and `scorecard.json`.

use sekimori_engine::{Decision, Engine};
use sekimori_rules::Action;
use sekimori_sim::sim::Origin;
use sekimori_sim::{
    Baseline, Config, Defender, Scorecard, Size, Verdict, Warmup, WorldKind, SCENARIOS,
};
use serde_json::{json, Value as Json};
use std::io::Write;
use std::sync::Arc;

/// The engine, its last decision that was not an allow, and the trace file.
struct Traced {
    engine: Engine,
    last: Option<Decision>,
    out: std::io::BufWriter<std::fs::File>,
    lines: u64,
}

impl Defender for Traced {
    fn decide(&mut self, event: &sekimori_event::Event) -> Verdict {
        let d = self.engine.decide(event);
        let v = Verdict {
            action: d.action,
            methods: d.methods.clone(),
        };
        self.last = (d.action != Action::Allow).then_some(d);
        v
    }

    /// The enforced rules behind the last decision, for the scorecard's
    /// friction by rule (as the library's sekimori defender names them).
    fn rules(&self) -> Vec<String> {
        self.last.as_ref().map_or_else(Vec::new, |d| {
            enforced(d).into_iter().map(str::to_string).collect()
        })
    }

    fn observed(&mut self, origin: Origin, event: &Json, verdict: &Verdict) {
        let (Origin::Honest, Some(d)) = (origin, self.last.take()) else {
            return;
        };
        if verdict.action == Action::Allow {
            return;
        }
        let rules = enforced(&d);
        let line =
            json!({"event": event, "action": d.action, "rules": rules, "features": d.features});
        let _ = writeln!(self.out, "{line}");
        self.lines += 1;
    }
}

/// The enforced (not shadow) rules of a decision that did not allow.
fn enforced(d: &Decision) -> Vec<&str> {
    d.reasons
        .iter()
        .filter(|r| !r.shadow && r.action.verdict().is_some_and(|a| a != Action::Allow))
        .map(|r| r.rule.as_str())
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 5 {
        return Err("usage: friction SIZE WORLD SEED RULES_DIR OUT_DIR [SCENARIOS]".into());
    }
    let size = Size::parse(&args[0]).ok_or("size: small, medium or large")?;
    let kind = WorldKind::parse(&args[1]).ok_or("world: dense or sparse")?;
    let seed: u64 = args[2].parse()?;
    let source = sekimori_rules::load_pack(std::path::Path::new(&args[3]))?;
    let pack = Arc::new(sekimori_rules::compile(source).map_err(|e| format!("{e:?}"))?);
    let scenarios: Vec<String> = match args.get(5).filter(|s| s.as_str() != "all") {
        Some(s) => s.split(',').map(str::to_string).collect(),
        None => SCENARIOS.iter().map(|s| s.to_string()).collect(),
    };
    let out = std::path::PathBuf::from(&args[4]);
    let warmup = match args.get(6) {
        Some(w) => Warmup::parse(w).ok_or("warm-up: observed or unanswered")?,
        None => Warmup::Observed,
    };
    std::fs::create_dir_all(&out)?;
    let defender = Traced {
        engine: Engine::new(Arc::clone(&pack)),
        last: None,
        out: std::io::BufWriter::new(std::fs::File::create(out.join("friction.jsonl"))?),
        lines: 0,
    };
    let config = Config {
        size,
        seed,
        scenarios,
        pack,
    };
    let started = std::time::Instant::now();
    let mut shown = 0;
    let r = sekimori_sim::run_warmed(
        &config,
        kind,
        warmup,
        Baseline::Sekimori,
        Box::new(defender),
        None,
        &mut |f| {
            let pct = (f * 100.0) as i32;
            if pct >= shown + 5 {
                shown = pct;
                eprintln!("{pct}% after {} s", started.elapsed().as_secs());
            }
        },
    )?;
    eprintln!("done in {:.0} s", started.elapsed().as_secs_f64());
    let mut card = Scorecard::new(
        seed,
        size,
        format!("{} {}", config.pack.name(), config.pack.version()),
    );
    card.world = kind;
    card.add(Baseline::Sekimori, &config.scenarios, &r.score);
    std::fs::write(out.join("scorecard.md"), card.markdown())?;
    std::fs::write(
        out.join("scorecard.json"),
        serde_json::to_string_pretty(&card)? + "\n",
    )?;
    Ok(())
}
