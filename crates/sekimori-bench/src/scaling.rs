//! `sekimori bench scaling`: how the engine's cost grows with the number of
//! rules and with the number of tracked entities.
//!
//! Rules: the default pack's features with its rules cycled to 10, 100 and
//! 1,000 (the copies are renamed and marked shadow, so each is evaluated like
//! the original and the decisions stay the default pack's), over the same
//! events; decode is not timed.
//!
//! Entities: the synthetic traffic of `bench memory` (a login and a transfer
//! per new account, each from its own device, address and payee), timed in
//! segments, so the rate at 10 k, 100 k, 1 M ... tracked entities shows.

use crate::events::{decode_all, Source};
use anyhow::{anyhow, Context};
use sekimori_engine::Engine;
use sekimori_rules::PackSource;
use serde_json::json;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Options of `sekimori bench scaling`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub source: Source,
    /// Rule counts, comma-separated.
    #[arg(long, default_value = "10,100,1000", value_delimiter = ',')]
    pub rules: Vec<usize>,
    /// Entity counts at which the rate is taken, comma-separated, ascending.
    #[arg(long, default_value = "10000,100000,1000000", value_delimiter = ',')]
    pub entities: Vec<u64>,
    /// Write `scaling.json` and `scaling-rules.png`, `scaling-entities.png` here.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// The default pack with its rules cycled to `n`: copies renamed and shadow.
pub fn pack_with_rules(n: usize) -> anyhow::Result<PackSource> {
    let mut source = sekimori_rules::embedded::default_pack()?;
    let originals = std::mem::take(&mut source.rules);
    if originals.is_empty() {
        return Err(anyhow!("the default pack has no rules"));
    }
    source.rules = (0..n)
        .map(|i| {
            let mut r = originals[i % originals.len()].clone();
            if i >= originals.len() {
                r.name = format!("{}_copy_{}", r.name, i / originals.len());
                r.shadow = true;
            }
            r
        })
        .collect();
    // The pack's tests name the original rules only.
    source.tests.clear();
    // A cut pack may have lost the rules that step a type up, which a
    // `challenge` fallback needs; hold those types for review instead.
    for action in source.settings.fallback.values_mut() {
        if *action == sekimori_rules::Action::Challenge {
            *action = sekimori_rules::Action::Review;
        }
    }
    Ok(source)
}

/// Runs the benchmark.
pub fn run(a: Args) -> anyhow::Result<()> {
    let lines = a.source.lines()?;
    let events = decode_all(&lines)?;
    drop(lines);
    let n = events.len();
    println!("rules ({}, {n} events, decide only):", a.source.describe());
    let mut by_rules = Vec::new();
    for &count in &a.rules {
        let pack = sekimori_rules::compile(pack_with_rules(count)?)
            .map_err(|e| anyhow!("{count} rules: the pack does not compile: {e:?}"))?;
        let mut engine = Engine::new(Arc::new(pack));
        let start = Instant::now();
        let mut fired = 0usize;
        for e in &events {
            fired += engine.decide(e).reasons.len();
        }
        let s = start.elapsed().as_secs_f64();
        let rate = n as f64 / s;
        println!("  {count:>5} rules: {rate:>10.0} events/s ({s:.1} s; {fired} reasons)");
        by_rules
            .push(json!({"rules": count, "seconds": s, "events_per_s": rate, "reasons": fired}));
    }
    println!("tracked entities (default pack, a login and a transfer per new entity):");
    let mut by_entities = Vec::new();
    let mut engine = Engine::new(crate::replay::pack(None)?);
    let mut next = 0u64;
    for &upto in &a.entities {
        // Grow to `upto` entities (untimed), then time a stretch of new ones.
        while next < upto {
            decide_entity(&mut engine, next)?;
            next += 1;
        }
        let stretch = (upto / 10).clamp(1_000, 100_000);
        let (rate, windows) = stretch_rate(&mut engine, next, stretch)?;
        next += stretch;
        println!("  {upto:>9} entities: {rate:>10.0} events/s ({windows} tracked windows)");
        by_entities
            .push(json!({"entities": upto, "events_per_s": rate, "tracked_windows": windows}));
    }
    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let doc = json!({"source": a.source.describe(), "events": n,
                         "by_rules": by_rules, "by_entities": by_entities});
        std::fs::write(
            dir.join("scaling.json"),
            serde_json::to_string_pretty(&doc)? + "\n",
        )?;
        let pts = |v: &[serde_json::Value], x: &str| -> Vec<(f64, f64)> {
            v.iter()
                .map(|r| {
                    (
                        r[x].as_f64().unwrap_or(0.0),
                        r["events_per_s"].as_f64().unwrap_or(0.0),
                    )
                })
                .collect()
        };
        crate::plot::lines(
            &dir.join("scaling-rules.png"),
            "Replay throughput against the number of rules",
            "rules",
            "events/s",
            true,
            false,
            &[("decide only, 1 core".to_string(), pts(&by_rules, "rules"))],
        )?;
        crate::plot::lines(
            &dir.join("scaling-entities.png"),
            "Replay throughput against tracked entities",
            "tracked entities",
            "events/s",
            true,
            false,
            &[(
                "decide only, 1 core".to_string(),
                pts(&by_entities, "entities"),
            )],
        )?;
    }
    Ok(())
}

fn decide_entity(engine: &mut Engine, i: u64) -> anyhow::Result<()> {
    for e in crate::memory::entity_events(i) {
        let event = sekimori_event::decode_value(e).map_err(|e| anyhow!("{e}"))?;
        engine.decide(&event);
    }
    Ok(())
}

/// Decides the new entities `first..first + count`, pre-decoded, and times
/// only the deciding: (events/s, tracked windows after).
fn stretch_rate(engine: &mut Engine, first: u64, count: u64) -> anyhow::Result<(f64, usize)> {
    let mut events = Vec::with_capacity(usize::try_from(count * 2).unwrap_or(0));
    for i in first..first + count {
        for e in crate::memory::entity_events(i) {
            events.push(sekimori_event::decode_value(e).map_err(|e| anyhow!("{e}"))?);
        }
    }
    let start = Instant::now();
    for e in &events {
        engine.decide(e);
    }
    let s = start.elapsed().as_secs_f64();
    Ok((events.len() as f64 / s, engine.window_footprint().0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rule_counts_compile_and_copies_are_shadow() {
        let default = sekimori_rules::embedded::default_pack().expect("default pack");
        let own = default.rules.iter().filter(|r| !r.shadow).count();
        for n in [10, 100, 2 * default.rules.len()] {
            let source = pack_with_rules(n).expect("pack");
            assert_eq!(source.rules.len(), n);
            let pack = sekimori_rules::compile(source).expect("compiles");
            let enforced = pack.rules.iter().filter(|r| !r.shadow).count();
            // Copies never enforce: at most the default pack's own rules do.
            assert!(
                enforced <= own.min(n) && enforced > 0,
                "{enforced} of {own}"
            );
        }
    }
}
