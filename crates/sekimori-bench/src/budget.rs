//! `sekimori bench budget`: a flood of fresh entities through the real
//! engine and the default pack under a memory budget (`--max-memory`), with
//! the resident set (`/proc/self/statm`) and the engine's accounted bytes
//! sampled along the way, against the budget.
//!
//! Each entity is one account that logs in once from its own device and
//! address and sends one transfer to its own payee (the traffic of `bench
//! memory`'s engine totals, where 1 M entities took 3.4 GB unbounded). In
//! the last tenth of the flood a reverse brute force tries one PIN against a
//! new account every `--spray-gap` entities; the bench reports whether the
//! engine still denied it (the budget must not blind the rules). A slow
//! password guess on one account (one a minute of event time, the pack
//! challenges the 10th within 15 minutes), two guesses in before the flood
//! begins and one every 3,000 entities (60 s) through it, reports the guess
//! first challenged or refused: the flood must not reset its counter.
//! Between two guesses the flood brings 3,000 entities; a budget that holds
//! fewer (`--max-memory 8MiB` holds about 1,500) is the test.
//!
//! Run it in a release build: `cargo run --release -p sekimori -- bench
//! budget --entities 1000000 --max-memory 512MiB --out DIR`.

use crate::memory::{entity_events, rss_bytes};
use anyhow::{anyhow, Context};
use sekimori_engine::{Engine, MEMORY_KINDS};
use sekimori_rules::Action;
use serde_json::{json, Value as Json};
use std::path::PathBuf;
use std::time::Instant;

/// Options of `sekimori bench budget`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Fresh entities in the flood.
    #[arg(long, default_value_t = 1_000_000)]
    pub entities: u64,
    /// `--max-memory`, bytes (e.g. 536870912 for 512 MiB); the engine's
    /// accounted budget is three fifths of it, as in `serve`.
    #[arg(long, default_value_t = 512 << 20)]
    pub max_memory: u64,
    /// Flood entities between two attempts of the reverse brute force.
    #[arg(long, default_value_t = 1_000)]
    pub spray_gap: u64,
    /// Write `budget.json` here.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

const T0: i64 = 1_780_000_000_000;

/// One attempt of the reverse brute force: one PIN against account `n`.
fn spray(n: u64, at_ms: i64) -> anyhow::Result<sekimori_event::Event> {
    sekimori_event::decode_value(json!({
        "id": format!("spray-{n}"), "type": "login.attempt",
        "at": sekimori_event::format_rfc3339_ms(at_ms),
        "service": "bank", "account": format!("victim-{n}"), "factor": "pin",
        "result": "failure",
        "secret_fp": "k1:81dc9bdb52d04dc20036dbd8313ed055aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "actor": {"ip": format!("198.51.100.{}", n % 200), "device": format!("bot-{n}")}}))
    .map_err(|e| anyhow!("{e}"))
}

/// One guess of the slow attack: a new password on one account.
fn guess(n: u64, at_ms: i64) -> anyhow::Result<sekimori_event::Event> {
    sekimori_event::decode_value(json!({
        "id": format!("guess-{n}"), "type": "login.attempt",
        "at": sekimori_event::format_rfc3339_ms(at_ms),
        "service": "bank", "account": "slow-victim", "factor": "password",
        "result": "failure", "secret_fp": format!("k1:{:064x}", 0xdead_0000u64 + n),
        "actor": {"ip": "203.0.113.7", "device": "guesser"}}))
    .map_err(|e| anyhow!("{e}"))
}

/// Entities between two guesses of the slow attack: 60 s of the flood's
/// event time (an entity every 20 ms).
const GUESS_GAP: u64 = 3_000;
/// A guess the pack challenges (10 failures on one account in 15 minutes).
const GUESS_STOPPED_ALONE: u64 = 10;

/// Runs the benchmark.
pub fn run(a: Args) -> anyhow::Result<()> {
    let at_start = rss_bytes()?;
    let pack = crate::replay::pack(None)?;
    let packed = rss_bytes()?;
    // The decoder builds its tables (the secret-name automata) on its first
    // event, once per process: a floor like the compiled pack's, not state.
    for e in entity_events(a.entities) {
        sekimori_event::decode_value(e).map_err(|e| anyhow!("{e}"))?;
    }
    let before = rss_bytes()?;
    let mut engine = Engine::new(pack);
    // As `serve --max-memory`: the engine accounts three fifths of it.
    engine.set_memory_budget(Some(sekimori_server::engine_budget(a.max_memory)));
    let built = rss_bytes()?.saturating_sub(before);
    let mb = |b: u64| b as f64 / 1e6;
    eprintln!(
        "process resident {:.1} MB at start, +{:.1} MB the compiled pack, +{:.1} MB the decoder's first event; the empty engine +{:.1} MB",
        mb(at_start),
        mb(packed.saturating_sub(at_start)),
        mb(before.saturating_sub(packed)),
        mb(built)
    );
    let start = Instant::now();
    let step = (a.entities / 20).max(1);
    // The resident set is read 10 times between two printed samples, so
    // the peak is not missed between them.
    let probe = (step / 10).max(1);
    let spray_from = a.entities - a.entities / 10;
    let (mut curve, mut peak_rss, mut peak_accounted) = (Vec::new(), 0u64, 0u64);
    let (mut sprays, mut denied_from) = (0u64, None);
    let mut events = 0u64;
    // The slow attack is two guesses in when the flood begins.
    let (mut guesses, mut guess_stopped) = (0u64, None);
    let mut slow = |engine: &mut Engine, at: i64| -> anyhow::Result<()> {
        let d = engine.decide(&guess(guesses, at)?);
        guesses += 1;
        if d.action >= Action::Challenge && guess_stopped.is_none() {
            guess_stopped = Some(guesses);
        }
        Ok(())
    };
    slow(&mut engine, T0 - 120_000)?;
    slow(&mut engine, T0 - 60_000)?;
    events += 2;
    for i in 0..a.entities {
        if i > 0 && i.is_multiple_of(GUESS_GAP) {
            slow(&mut engine, T0 + i64::try_from(i * 2).unwrap_or(0) * 10 - 1)?;
            events += 1;
        }
        for e in entity_events(i) {
            let event = sekimori_event::decode_value(e).map_err(|e| anyhow!("{e}"))?;
            engine.decide(&event);
            events += 1;
        }
        if i >= spray_from && (i - spray_from).is_multiple_of(a.spray_gap.max(1)) {
            // Entity i's events are 10 ms apart from entity i+1's.
            let at = T0 + i64::try_from(i * 2 + 1).unwrap_or(0) * 10 + 5;
            let d = engine.decide(&spray(sprays, at)?);
            events += 1;
            if d.action == Action::Deny && denied_from.is_none() {
                denied_from = Some(sprays + 1);
            }
            sprays += 1;
        }
        let m = engine.memory();
        peak_accounted = peak_accounted.max(m.accounted_bytes);
        if i < 3 {
            let rss = rss_bytes()?.saturating_sub(before);
            eprintln!(
                "{:>9} entities: {:>6.1} MB resident, {:>6.1} MB accounted",
                i + 1,
                mb(rss),
                mb(m.accounted_bytes)
            );
        }
        if (i + 1).is_multiple_of(probe) {
            peak_rss = peak_rss.max(rss_bytes()?.saturating_sub(before));
        }
        if (i + 1).is_multiple_of(step) {
            let rss = rss_bytes()?.saturating_sub(before);
            peak_rss = peak_rss.max(rss);
            // The windows' real footprint: tables at their capacities and
            // every state at its capacity (the stores' own estimate).
            let (_, windows) = engine.window_footprint();
            eprintln!(
                "{:>9} entities: {:>6} MB resident, {:>6} MB accounted, {:>6} MB in windows' tables and states, budget {} MB",
                i + 1,
                rss / 1_000_000,
                m.accounted_bytes / 1_000_000,
                windows / 1_000_000,
                a.max_memory / 1_000_000
            );
            curve.push(json!({"entities": i + 1, "rss_bytes": rss,
                              "accounted_bytes": m.accounted_bytes,
                              "window_estimated_bytes": windows}));
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    let m = engine.memory();
    let rss = rss_bytes()?.saturating_sub(before);
    let evicted: serde_json::Map<String, Json> = MEMORY_KINDS
        .iter()
        .zip(m.evicted)
        .map(|(k, n)| ((*k).to_string(), Json::from(n)))
        .collect();
    let result = json!({
        "entities": a.entities, "events": events, "seconds": seconds,
        "events_per_second": events as f64 / seconds,
        "budget_bytes": a.max_memory,
        "accounted_bytes": m.accounted_bytes, "peak_accounted_bytes": peak_accounted,
        "rss_bytes": rss, "peak_rss_bytes": peak_rss, "rss_before_engine_bytes": before,
        "rss_at_start_bytes": at_start, "rss_after_pack_bytes": packed,
        "rss_empty_engine_bytes": built,
        "peak_rss_over_budget": peak_rss as f64 / a.max_memory as f64,
        "budget_runs": m.runs, "evicted": evicted,
        "spray_attempts": sprays, "spray_denied_from_attempt": denied_from,
        "slow_guesses": guesses, "slow_stopped_from_guess": guess_stopped,
        "slow_stopped_from_guess_without_flood": GUESS_STOPPED_ALONE,
        "curve": curve,
    });
    println!(
        "{} entities ({} events) in {:.0} s, {:.0} events/s, under a budget of {} MB:",
        a.entities,
        events,
        seconds,
        events as f64 / seconds,
        a.max_memory / 1_000_000
    );
    println!(
        "  process resident before the engine was built (binary, compiled pack, decoder's tables): {} MB (the state's resident set below is over it)",
        before / 1_000_000
    );
    println!(
        "  accounted {} MB (peak {} MB); resident {} MB (peak {} MB, {:.2} of the budget); {} budget runs",
        m.accounted_bytes / 1_000_000,
        peak_accounted / 1_000_000,
        rss / 1_000_000,
        peak_rss / 1_000_000,
        peak_rss as f64 / a.max_memory as f64,
        m.runs
    );
    println!("  evicted: {}", Json::Object(evicted.clone()));
    match denied_from {
        Some(n) => println!("  reverse brute force: {sprays} attempts, denied from attempt {n}"),
        None => println!("  reverse brute force: {sprays} attempts, NEVER denied"),
    }
    match guess_stopped {
        Some(n) => println!(
            "  slow password guess (1/min on one account): {guesses} guesses, challenged from guess {n} \
             ({GUESS_STOPPED_ALONE} without the flood)"
        ),
        None => println!(
            "  slow password guess (1/min on one account): {guesses} guesses, NEVER challenged \
             ({GUESS_STOPPED_ALONE} without the flood)"
        ),
    }
    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join("budget.json");
        std::fs::write(&path, serde_json::to_string_pretty(&result)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_flood_runs_within_its_budget() {
        run(Args {
            entities: 3_100,
            max_memory: 1 << 20,
            spray_gap: 5,
            out: None,
        })
        .expect("runs");
    }
}
