//! `sekimori backtest`: rule quality of the logged decisions over a window,
//! and, with `--rules`, a candidate pack replayed over the same window
//! (docs/backtest.md). Reads the data directory and adds nothing to its log
//! (opening it replays what a crash left in the journal, as a start does);
//! redb locks its file, so the server must be stopped (or give a copy).

use anyhow::{anyhow, bail};
use sekimori_backtest::{run, text, Request, Window};
use sekimori_rules::compile;
use sekimori_store::{Store, StoreError};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct Args {
    /// The data directory (default ./sekimori-data). Stop the server first,
    /// or give a copy of the directory: the store is locked while it runs.
    #[arg(long)]
    data: Option<PathBuf>,
    /// A candidate rule-pack directory to replay over the window. Without
    /// it, only the rule quality of the logged decisions is reported.
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Start of the window (event time, inclusive): RFC 3339 or YYYY-MM-DD.
    #[arg(long)]
    from: String,
    /// End of the window (exclusive).
    #[arg(long)]
    to: String,
    /// Only this service's events and labels (its own precision, recall and
    /// friction); without it, every service together and a per-service
    /// breakdown.
    #[arg(long)]
    service: Option<String>,
    /// The whole report as JSON instead of tables.
    #[arg(long)]
    json: bool,
    /// How many changed events to list.
    #[arg(long, default_value_t = 20)]
    sample: usize,
    /// How many rows of each rule table to print (JSON has every rule).
    #[arg(long, default_value_t = 40)]
    rule_rows: usize,
}

pub fn run_cmd(a: Args) -> anyhow::Result<ExitCode> {
    let window = Window::parse(&a.from, &a.to)?;
    let candidate = match &a.rules {
        Some(p) => Some(Arc::new(compile(super::pack_source(Some(p))?).map_err(
            |e| anyhow!("rule pack does not compile:\n{}", super::replay::list(&e)),
        )?)),
        None => None,
    };
    let dir = crate::data_dir(a.data);
    if !dir.is_dir() {
        bail!("{} is not a data directory", dir.display());
    }
    let store = Store::open(&dir).map_err(|e| match e {
        StoreError::Locked { .. } => anyhow!(
            "{} is in use: stop the server first, or backtest a copy of it",
            dir.display()
        ),
        other => anyhow!("opening {}: {other}", dir.display()),
    })?;
    if store.last_seq()? == 0 {
        bail!("{} holds no log", dir.display());
    }
    let report = run(
        &store,
        &Request {
            window,
            candidate,
            sample: a.sample,
            service: a.service,
        },
    )?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", text::render(&report, a.rule_rows));
    }
    Ok(ExitCode::SUCCESS)
}
