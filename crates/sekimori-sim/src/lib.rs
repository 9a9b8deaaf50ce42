//! The closed-loop world simulator.
//!
//! A world of honest people (carrier CGNAT addresses, typos, paydays,
//! cigarette buyers, crypto withdrawals) and of attackers replaying the seed
//! incidents is built from a seed. Every action is an event sent to a
//! defender — sekimori's own `Engine`, through the same `decode_value` and
//! `decide` the server uses, or a baseline — and the actor acts on the answer:
//! a denied charge moves no money, an honest person passes most challenges, an
//! attacker only those its scenario gives it the factor for, a halt stops the
//! drain. Ground truth never leaves the simulator: it is tallied in [`Score`]
//! and written to its own file.

pub mod attack;
pub mod chart;
mod data;
pub mod defender;
pub mod desk;
mod honest;
mod ids;
pub mod import;
pub mod integration;
pub mod labels;
mod life;
mod neobank;
mod net;
pub mod report;
mod rng;
pub mod score;
pub mod sim;
pub mod world;

pub use attack::SCENARIOS;
pub use defender::{Baseline, Defender, Verdict};
pub use integration::WorldKind;
pub use labels::Label;
pub use report::Scorecard;
pub use score::Score;
pub use world::Size;

use sekimori_rules::Pack;
use serde_json::Value as Json;
use std::sync::Arc;

/// One run's settings.
#[derive(Debug, Clone)]
pub struct Config {
    pub size: Size,
    pub seed: u64,
    pub scenarios: Vec<String>,
    pub pack: Arc<Pack>,
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("unknown scenario `{0}`; known: {known}", known = SCENARIOS.join(", "))]
    UnknownScenario(String),
}

/// The outcome of one baseline's run.
#[derive(Debug)]
pub struct Run {
    pub baseline: Baseline,
    pub score: Score,
    /// Every event sent, when asked for.
    pub sent: Option<Vec<Json>>,
}

/// Runs one baseline over a fresh world. `progress` gets the fraction of
/// simulated time done.
pub fn run(
    config: &Config,
    baseline: Baseline,
    record: bool,
    progress: &mut dyn FnMut(f64),
) -> Result<Run, SimError> {
    run_with(
        config,
        baseline,
        baseline.defender(&config.pack),
        record,
        progress,
    )
}

/// Runs a world against a given defender, e.g. a sekimori server over HTTP.
pub fn run_with(
    config: &Config,
    baseline: Baseline,
    defender: Box<dyn Defender>,
    record: bool,
    progress: &mut dyn FnMut(f64),
) -> Result<Run, SimError> {
    if !record {
        return run_streaming(config, baseline, defender, None, progress);
    }
    let sent = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let keep = std::rc::Rc::clone(&sent);
    let mut sink = move |e: &Json| keep.borrow_mut().push(e.clone());
    let mut run = run_streaming(config, baseline, defender, Some(&mut sink), progress)?;
    run.sent = Some(sent.take());
    Ok(run)
}

/// The same, handing every event to `sink` as it is sent (so a large run
/// can be written out without holding it in memory).
pub fn run_streaming(
    config: &Config,
    baseline: Baseline,
    defender: Box<dyn Defender>,
    sink: Option<&mut dyn FnMut(&Json)>,
    progress: &mut dyn FnMut(f64),
) -> Result<Run, SimError> {
    run_streaming_in(config, WorldKind::Dense, baseline, defender, sink, progress)
}

/// The same in a world of the given kind (`--world sparse`).
pub fn run_streaming_in(
    config: &Config,
    kind: WorldKind,
    baseline: Baseline,
    defender: Box<dyn Defender>,
    sink: Option<&mut dyn FnMut(&Json)>,
    progress: &mut dyn FnMut(f64),
) -> Result<Run, SimError> {
    run_warmed(
        config,
        kind,
        Warmup::Observed,
        baseline,
        defender,
        sink,
        progress,
    )
}

/// How the services warm sekimori up before the measured period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Warmup {
    /// As a service switching it on: the history's successful logins are
    /// marked observed (admitted by the service's own authentication), and
    /// each service first imports four weeks of its admitted logins
    /// ([`import`]).
    #[default]
    Observed,
    /// The simulator before issue 13's warm-up (kept to measure it): no
    /// import, and the history's logins unmarked, so a login the engine
    /// would have challenged there is never learned.
    Unanswered,
}

impl Warmup {
    pub fn parse(s: &str) -> Option<Warmup> {
        match s {
            "observed" => Some(Warmup::Observed),
            "unanswered" => Some(Warmup::Unanswered),
            _ => None,
        }
    }
}

/// The same with a given warm-up.
pub fn run_warmed(
    config: &Config,
    kind: WorldKind,
    warmup: Warmup,
    baseline: Baseline,
    defender: Box<dyn Defender>,
    sink: Option<&mut dyn FnMut(&Json)>,
    progress: &mut dyn FnMut(f64),
) -> Result<Run, SimError> {
    let mut rng = rng::Rng::new(config.seed);
    let mut world = world::World::build_kind(config.size, kind, &mut rng);
    let people = honest::spawn(&world, &mut rng);
    let mut attackers = Vec::new();
    for name in &config.scenarios {
        attackers.extend(
            attack::spawn(name, &world, config.seed)
                .ok_or_else(|| SimError::UnknownScenario(name.clone()))?,
        );
    }
    let (start, span) = (
        world.history_ms,
        (world.end_ms - world.history_ms).max(1) as f64,
    );
    let labeller = labels::Labeller::new(config.seed, &world);
    // The services' import of their admitted logins, before the history.
    let import = import::Import::new(&world, config.seed);
    let mut sim = sim::Sim::new(&mut world, defender);
    sim.observe = warmup == Warmup::Observed;
    sim.labels = Some(labeller);
    if let Some(sink) = sink {
        sim.sink = Some(Box::new(sink));
    }
    for (at, person) in people {
        sim.add(at, Box::new(person));
    }
    for (at, attacker) in attackers {
        sim.add(at, attacker);
    }
    if let (Warmup::Observed, Some(first)) = (warmup, import.first_ms()) {
        sim.add(first, Box::new(import));
    }
    sim.add(start, Box::new(desk::Desk::new(rng.fork("custody-desk"))));
    sim.run(&mut |at| progress((at - start) as f64 / span));
    Ok(Run {
        baseline,
        score: std::mem::take(&mut sim.score),
        sent: None,
    })
}

/// Runs every baseline and builds the scorecard.
pub fn scorecard(config: &Config, on_run: impl FnMut(&Run)) -> Result<Scorecard, SimError> {
    scorecard_in(config, WorldKind::Dense, on_run)
}

/// The same in a world of the given kind.
pub fn scorecard_in(
    config: &Config,
    kind: WorldKind,
    mut on_run: impl FnMut(&Run),
) -> Result<Scorecard, SimError> {
    let rule_pack = format!("{} {}", config.pack.name(), config.pack.version());
    let mut card = Scorecard::new(config.seed, config.size, rule_pack);
    card.world = kind;
    for baseline in Baseline::ALL {
        let defender = baseline.defender(&config.pack);
        let r = run_streaming_in(config, kind, baseline, defender, None, &mut |_| {})?;
        card.add(baseline, &config.scenarios, &r.score);
        on_run(&r);
    }
    Ok(card)
}
