//! `sekimori`: the one binary. Each subcommand is a thin shell over the
//! library crates; errors are reported with their cause and exit code 1.

mod cmd;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "sekimori",
    version,
    about = "Real-time fraud and account-takeover defense engine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the decision server with its embedded store.
    Serve(Box<cmd::serve::Args>),
    /// Decide a JSONL event log offline with a fresh engine; deterministic.
    Replay(cmd::replay::Args),
    /// Test, check or publish a rule pack.
    #[command(subcommand)]
    Rules(cmd::rules::Command),
    /// Create, list or revoke API keys (works while the server runs).
    #[command(subcommand)]
    Keys(cmd::keys::Command),
    /// Create or list the workbench's analysts (works while the server runs).
    #[command(subcommand)]
    Users(cmd::users::Command),
    /// Benchmarks: replay, http, memory, scaling, ingest, redis.
    #[cfg(feature = "bench")]
    #[command(subcommand)]
    Bench(cmd::bench::Command),
    /// Run the world simulator: every scenario against every baseline.
    #[cfg(feature = "simulate")]
    Simulate(cmd::simulate::Args),
    /// Write the durable log as JSONL (stop the server first).
    Export(cmd::export::ExportArgs),
    /// Rebuild an empty data directory from an exported JSONL log.
    Import(cmd::export::ImportArgs),
    /// Rule quality from the log's labels, and a candidate pack over a window.
    Backtest(cmd::backtest::Args),
}

/// mimalloc instead of the system allocator: decisions allocate many small,
/// short-lived values, and glibc's malloc spent a quarter of the replay
/// profile in its free lists (see bench/results/).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Where the server keeps its data unless told otherwise.
pub const DEFAULT_DATA_DIR: &str = "./sekimori-data";

pub fn data_dir(d: Option<PathBuf>) -> PathBuf {
    d.unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR))
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SEKIMORI_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(a) => cmd::serve::run(*a),
        Command::Replay(a) => cmd::replay::run(a),
        Command::Rules(c) => cmd::rules::run(c),
        Command::Keys(c) => cmd::keys::run(c),
        Command::Users(c) => cmd::users::run(c),
        #[cfg(feature = "bench")]
        Command::Bench(c) => cmd::bench::run(c),
        #[cfg(feature = "simulate")]
        Command::Simulate(a) => cmd::simulate::run(a),
        Command::Export(a) => cmd::export::export(a),
        Command::Import(a) => cmd::export::import(a),
        Command::Backtest(a) => cmd::backtest::run_cmd(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
