use anyhow::{anyhow, Context};
use sekimori_engine::run_pack_tests;
use sekimori_rules::{compile, Pack};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Compile the pack and run its inline test cases.
    Test { pack: PathBuf },
    /// Compile the pack only: names, types, windows, CEL, references.
    Check { pack: PathBuf },
    /// Publish the pack to a running server (it validates and tests it too).
    Publish {
        pack: PathBuf,
        #[arg(long, default_value = "http://127.0.0.1:7878")]
        url: String,
        /// An admin-scoped API key (or set SEKIMORI_API_KEY).
        #[arg(long, env = "SEKIMORI_API_KEY", hide_env_values = true)]
        key: String,
    },
}

pub fn run(c: Command) -> anyhow::Result<ExitCode> {
    match c {
        Command::Check { pack } => {
            let p = compiled(&pack)?;
            lint(&pack, &p);
            println!(
                "ok: {} {} ({} features, {} rules, {} lists)",
                p.name(),
                p.version(),
                p.features.len(),
                p.rules.len(),
                p.lists.len()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Test { pack } => test(pack),
        Command::Publish { pack, url, key } => publish(pack, &url, &key),
    }
}

/// Prints the pack's lint warnings (they do not fail the check), each with
/// the file that declares the rule or feature.
fn lint(path: &Path, pack: &Pack) {
    let files = sekimori_rules::rule_files(path);
    for l in sekimori_rules::lint(&pack.source) {
        match files.get(&l.location) {
            Some(file) => eprintln!("warning: {}: {l}", file.display()),
            None => eprintln!("warning: {l}"),
        }
    }
}

/// Loads and compiles a pack, listing every problem on failure.
fn compiled(path: &Path) -> anyhow::Result<Pack> {
    compile(super::pack_source(Some(path))?).map_err(|e| {
        anyhow!(
            "{} is invalid:\n{}",
            path.display(),
            super::replay::list(&e)
        )
    })
}

fn test(path: PathBuf) -> anyhow::Result<ExitCode> {
    let pack = compiled(&path)?;
    let outcomes = run_pack_tests(&Arc::new(pack));
    let mut failed = 0;
    for o in &outcomes {
        if o.passed() {
            println!("ok     {}", o.name);
        } else {
            failed += 1;
            println!("FAILED {}", o.name);
            for f in &o.failures {
                println!("         {f}");
            }
        }
    }
    println!("{} passed, {} failed", outcomes.len() - failed, failed);
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn publish(path: PathBuf, url: &str, key: &str) -> anyhow::Result<ExitCode> {
    let source = super::pack_source(Some(&path))?;
    let endpoint = format!("{}/v1/packs", url.trim_end_matches('/'));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut resp = agent
        .post(&endpoint)
        .header("authorization", &format!("Bearer {key}"))
        .send_json(&source)
        .with_context(|| format!("POST {endpoint}"))?;
    let status = resp.status();
    let body: serde_json::Value = resp.body_mut().read_json().unwrap_or_default();
    println!("{}", serde_json::to_string_pretty(&body)?);
    Ok(if status.is_success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
