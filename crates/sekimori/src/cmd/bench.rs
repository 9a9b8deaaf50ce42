//! `sekimori bench ...`: the project's own benchmarks (crate `sekimori-bench`).

use sekimori_bench::{
    budget, devset, http_load, ingest, memory, overload, redis_baseline, replay, scaling,
};
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Replay throughput: a simulator world through the embedded engine with
    /// the default pack, on one core and on two.
    Replay(replay::Args),
    /// HTTP decision latency under an open-loop load (p50/p99/p999 per rate).
    Http(http_load::Args),
    /// Memory per tracked (entity, feature) window; totals at 1 M and 10 M entities.
    Memory(memory::Args),
    /// A flood of fresh entities under a memory budget: resident set and
    /// accounted bytes against the budget, evictions, and whether a reverse
    /// brute force during the flood is still denied.
    Budget(budget::Args),
    /// Cost growth: events/s against the number of rules and of tracked entities.
    Scaling(scaling::Args),
    /// Durable ingest throughput (group commit into the embedded store).
    Ingest(ingest::Args),
    /// The same windowed counters kept in a local redis-server, same events.
    Redis(redis_baseline::Args),
    /// A batch flood at several times capacity beside a single-event brute
    /// force: shedding, single-decision latency, answers against the log.
    Overload(overload::Args),
    /// The dev set's real SSH attacker log (Cowrie, 2017) through the pack,
    /// beside honest controls: when each busy address and password was stopped.
    Cowrie(devset::Args),
}

pub fn run(c: Command) -> anyhow::Result<ExitCode> {
    match c {
        Command::Replay(a) => replay::run(a)?,
        Command::Http(a) => http_load::run(a)?,
        Command::Memory(a) => memory::run(a)?,
        Command::Budget(a) => budget::run(a)?,
        Command::Scaling(a) => scaling::run(a)?,
        Command::Ingest(a) => ingest::run(a)?,
        Command::Redis(a) => redis_baseline::run(a)?,
        Command::Overload(a) => overload::run(a)?,
        Command::Cowrie(a) => devset::run(a)?,
    }
    Ok(ExitCode::SUCCESS)
}
