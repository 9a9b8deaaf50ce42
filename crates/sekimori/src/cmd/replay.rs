use anyhow::{anyhow, Context};
use indicatif::{ProgressBar, ProgressStyle};
use sekimori_engine::Engine;
use sekimori_rules::compile;
use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct Args {
    /// The events, one JSON object a line.
    file: PathBuf,
    /// Where to write the decisions, one a line, in input order.
    #[arg(long)]
    out: PathBuf,
    /// Rule-pack directory (default: the embedded default pack).
    #[arg(long)]
    rules: Option<PathBuf>,
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let source = super::pack_source(a.rules.as_deref())?;
    let pack =
        compile(source).map_err(|errs| anyhow!("rule pack does not compile:\n{}", list(&errs)))?;
    let mut engine = Engine::new(Arc::new(pack));
    let input =
        std::fs::File::open(&a.file).with_context(|| format!("opening {}", a.file.display()))?;
    let size = input.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = ProgressBar::new(size).with_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {per_sec} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let out =
        std::fs::File::create(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let mut out = BufWriter::new(out);
    let mut n = 0u64;
    for (i, line) in std::io::BufReader::new(input).lines().enumerate() {
        let line = line.with_context(|| format!("{}:{}: cannot read", a.file.display(), i + 1))?;
        bar.inc(line.len() as u64 + 1);
        if line.trim().is_empty() {
            continue;
        }
        let event = sekimori_event::decode(line.as_bytes())
            .map_err(|e| anyhow!("{}:{}: {e}", a.file.display(), i + 1))?;
        serde_json::to_writer(&mut out, &engine.decide(&event))?;
        out.write_all(b"\n")?;
        n += 1;
    }
    out.flush()?;
    bar.finish_and_clear();
    eprintln!("{n} events decided -> {}", a.out.display());
    Ok(ExitCode::SUCCESS)
}

pub fn list(errs: &[sekimori_rules::PackError]) -> String {
    errs.iter()
        .map(|e| format!("  {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}
