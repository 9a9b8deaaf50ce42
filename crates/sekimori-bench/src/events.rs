//! The input of the benchmarks: a simulator world's events as JSON lines, in
//! the order the world sent them (the order a live service would see).
//!
//! The world is the undefended one (`--baseline none`): open loop, so every
//! engine or baseline measured gets exactly the same events.

use anyhow::{anyhow, Context};
use sekimori_sim::{Baseline, Config, Size};
use std::io::BufRead;
use std::path::Path;
use std::sync::Arc;

/// Where the events come from: a JSONL file, or a simulator world.
#[derive(clap::Args, Debug, Clone)]
pub struct Source {
    /// Simulator world size: small, medium or large.
    #[arg(long, default_value = "medium")]
    pub size: String,
    /// Simulator seed.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Read the events from this JSONL file instead of simulating
    /// (`sekimori simulate --baseline none --events FILE` writes one).
    #[arg(long)]
    pub events: Option<std::path::PathBuf>,
    /// Use only the first N events.
    #[arg(long)]
    pub limit: Option<usize>,
}

impl Source {
    /// A short description for reports: `medium seed 7` or the file name.
    pub fn describe(&self) -> String {
        match &self.events {
            Some(p) => format!("file {}", p.display()),
            None => format!("simulator world {} seed {}", self.size, self.seed),
        }
    }

    /// The events as JSON lines.
    pub fn lines(&self) -> anyhow::Result<Vec<String>> {
        let mut lines = match &self.events {
            Some(p) => read_lines(p)?,
            None => simulate(&self.size, self.seed)?,
        };
        if let Some(n) = self.limit {
            lines.truncate(n);
        }
        Ok(lines)
    }
}

/// Reads a JSONL file, skipping blank lines.
pub fn read_lines(path: &Path) -> anyhow::Result<Vec<String>> {
    let f = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut out = Vec::new();
    for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.with_context(|| format!("{}:{}: cannot read", path.display(), i + 1))?;
        if !line.trim().is_empty() {
            out.push(line);
        }
    }
    Ok(out)
}

/// Runs the undefended simulator world and returns every event it sent.
pub fn simulate(size: &str, seed: u64) -> anyhow::Result<Vec<String>> {
    let size = Size::parse(size).ok_or_else(|| anyhow!("--size is small, medium or large"))?;
    let pack = sekimori_rules::compile(sekimori_rules::embedded::default_pack()?)
        .map_err(|e| anyhow!("the default pack does not compile: {e:?}"))?;
    let config = Config {
        size,
        seed,
        scenarios: sekimori_sim::SCENARIOS
            .iter()
            .map(|s| s.to_string())
            .collect(),
        pack: Arc::new(pack),
    };
    let mut lines = Vec::new();
    let mut sink = |e: &serde_json::Value| lines.push(e.to_string());
    sekimori_sim::run_streaming(
        &config,
        Baseline::None,
        Baseline::None.defender(&config.pack),
        Some(&mut sink),
        &mut |_| {},
    )?;
    Ok(lines)
}

/// Decodes every line; the error names the line.
pub fn decode_all(lines: &[String]) -> anyhow::Result<Vec<sekimori_event::Event>> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            sekimori_event::decode(l.as_bytes()).map_err(|e| anyhow!("event {}: {e}", i + 1))
        })
        .collect()
}
