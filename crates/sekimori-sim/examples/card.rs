//! A scorecard without the `sekimori` binary (and so without the server it
//! links): for tuning a rule pack against the simulator while the rest of
//! the workspace is mid-change. The official scorecards come from
//! `sekimori simulate`, which writes the same `scorecard.md` from the same
//! library.
//!
//! ```text
//! cargo run --release -p sekimori-sim --example card -- \
//!     SIZE WORLD SEED RULES_DIR OUT_DIR [SCENARIOS|all] [BASELINES|all] [observed|unanswered]
//! cargo run --release -p sekimori-sim --example card -- test RULES_DIR
//! ```
//!
//! `test` runs the pack's inline tests, as `sekimori rules test` does.

use sekimori_sim::{Baseline, Config, Scorecard, Size, Warmup, WorldKind, SCENARIOS};
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() == 2 && args[0] == "test" {
        return pack_tests(&args[1]);
    }
    if args.len() < 5 {
        return Err("usage: card SIZE WORLD SEED RULES_DIR OUT_DIR [SCENARIOS] [BASELINES]".into());
    }
    let size = Size::parse(&args[0]).ok_or("size: small, medium or large")?;
    let kind = WorldKind::parse(&args[1]).ok_or("world: dense or sparse")?;
    let seed: u64 = args[2].parse()?;
    let source = sekimori_rules::load_pack(std::path::Path::new(&args[3]))?;
    let pack = sekimori_rules::compile(source).map_err(|e| format!("{e:?}"))?;
    let out = std::path::PathBuf::from(&args[4]);
    let list = |i: usize| args.get(i).filter(|s| s.as_str() != "all");
    let scenarios: Vec<String> = match list(5) {
        Some(s) => s.split(',').map(str::to_string).collect(),
        None => SCENARIOS.iter().map(|s| s.to_string()).collect(),
    };
    let baselines: Vec<Baseline> = match list(6) {
        Some(s) => s
            .split(',')
            .map(|n| Baseline::ALL.into_iter().find(|b| b.name() == n))
            .collect::<Option<_>>()
            .ok_or("unknown baseline")?,
        None => Baseline::ALL.to_vec(),
    };
    let warmup = match args.get(7) {
        Some(w) => Warmup::parse(w).ok_or("warm-up: observed or unanswered")?,
        None => Warmup::Observed,
    };
    let config = Config {
        size,
        seed,
        scenarios,
        pack: Arc::new(pack),
    };
    let mut card = Scorecard::new(
        seed,
        size,
        format!("{} {}", config.pack.name(), config.pack.version()),
    );
    card.world = kind;
    for baseline in baselines {
        let started = std::time::Instant::now();
        let mut shown = 0;
        let r = sekimori_sim::run_warmed(
            &config,
            kind,
            warmup,
            baseline,
            baseline.defender(&config.pack),
            None,
            &mut |f| {
                let pct = (f * 100.0) as i32;
                if pct >= shown + 5 {
                    shown = pct;
                    let s = started.elapsed().as_secs();
                    eprintln!("{}: {pct}% after {s} s", baseline.name());
                }
            },
        )?;
        eprintln!(
            "{}: {:.0} s",
            baseline.name(),
            started.elapsed().as_secs_f64()
        );
        card.add(baseline, &config.scenarios, &r.score);
    }
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("scorecard.md"), card.markdown())?;
    std::fs::write(
        out.join("scorecard.json"),
        serde_json::to_string_pretty(&card)? + "\n",
    )?;
    eprintln!("-> {}", out.display());
    Ok(())
}

fn pack_tests(dir: &str) -> Result<(), Box<dyn std::error::Error>> {
    let source = sekimori_rules::load_pack(std::path::Path::new(dir))?;
    let pack = sekimori_rules::compile(source).map_err(|e| format!("{e:?}"))?;
    let outcomes = sekimori_engine::run_pack_tests(&Arc::new(pack));
    let failed: Vec<_> = outcomes.iter().filter(|o| !o.passed()).collect();
    for o in &failed {
        println!("FAILED {}", o.name);
        for f in &o.failures {
            println!("         {f}");
        }
    }
    println!(
        "{} passed, {} failed",
        outcomes.len() - failed.len(),
        failed.len()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err("pack tests failed".into())
    }
}
