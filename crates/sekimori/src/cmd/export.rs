//! The durable log as JSONL: one entry a line, in log order. Before each pack
//! entry, a `pack_source` line carries that pack's full source, so an export
//! is self-contained and `import` rebuilds the same state.

use anyhow::{anyhow, bail, Context};
use sekimori_engine::Entry;
use sekimori_ledger::{pack_record, wait, Durable, Ledger};
use sekimori_rules::{compile, Pack, PackSource};
use sekimori_store::{Store, StoreError};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(clap::Args)]
pub struct ExportArgs {
    #[arg(long)]
    data: Option<PathBuf>,
    /// Output file (JSONL).
    #[arg(long)]
    out: PathBuf,
}

#[derive(clap::Args)]
pub struct ImportArgs {
    /// A JSONL file written by `sekimori export`.
    file: PathBuf,
    /// An empty (or missing) data directory to fill.
    #[arg(long)]
    data: Option<PathBuf>,
}

fn open(dir: &std::path::Path) -> anyhow::Result<Store> {
    Store::open(dir).map_err(|e| match e {
        StoreError::Locked { .. } => anyhow!("{} is in use: stop the server first", dir.display()),
        other => anyhow!("opening {}: {other}", dir.display()),
    })
}

pub fn export(a: ExportArgs) -> anyhow::Result<ExitCode> {
    let dir = crate::data_dir(a.data);
    let store = open(&dir)?;
    let mut out = BufWriter::new(
        std::fs::File::create(&a.out).with_context(|| format!("creating {}", a.out.display()))?,
    );
    let mut n = 0u64;
    for row in store.scan_from(1)? {
        let (seq, bytes) = row?;
        let entry = Entry::from_bytes(&bytes).map_err(|e| anyhow!("entry {seq}: {e}"))?;
        if let Entry::Pack { version, .. } = &entry {
            let record = pack_record(&store, version)?
                .ok_or_else(|| anyhow!("pack {version} is not stored"))?;
            writeln!(
                out,
                "{}",
                json!({"entry": "pack_source", "version": version, "source": record.source})
            )?;
        }
        out.write_all(&bytes)?;
        out.write_all(b"\n")?;
        n += 1;
    }
    out.flush()?;
    eprintln!("{n} log entries -> {}", a.out.display());
    Ok(ExitCode::SUCCESS)
}

pub fn import(a: ImportArgs) -> anyhow::Result<ExitCode> {
    let dir = crate::data_dir(a.data);
    let store = Arc::new(open(&dir)?);
    if store.last_seq()? > 0 {
        bail!(
            "{} already holds a log; import needs an empty data directory",
            dir.display()
        );
    }
    let input =
        std::fs::File::open(&a.file).with_context(|| format!("opening {}", a.file.display()))?;
    let mut sources: HashMap<String, PackSource> = HashMap::new();
    let mut ledger: Option<Ledger> = None;
    let mut pending: Vec<Durable> = Vec::new();
    let (mut events, mut mismatches) = (0u64, 0u64);
    for (i, line) in std::io::BufReader::new(input).lines().enumerate() {
        let at = || format!("{}:{}", a.file.display(), i + 1);
        let line = line.with_context(at)?;
        let value: Value = serde_json::from_str(&line).with_context(at)?;
        if value["entry"] == "pack_source" {
            let source: PackSource =
                serde_json::from_value(value["source"].clone()).with_context(at)?;
            sources.insert(source.pack.version.clone(), source);
            continue;
        }
        let entry: Entry = serde_json::from_value(value).with_context(at)?;
        match (&entry, ledger.as_mut()) {
            (
                Entry::Pack {
                    version,
                    memory_budget,
                    ..
                },
                None,
            ) => {
                let mut l = Ledger::open(
                    Arc::clone(&store),
                    pack(&sources, version).with_context(at)?,
                    100_000,
                )?;
                // The memory budget the log was decided under (0: none).
                if let Some(bytes) = memory_budget {
                    pending.extend(l.set_memory_budget((*bytes > 0).then_some(*bytes)));
                }
                ledger = Some(l);
            }
            (
                Entry::Pack {
                    version,
                    memory_budget,
                    ..
                },
                Some(l),
            ) => {
                pending.push(l.publish(&pack(&sources, version).with_context(at)?, "import")?);
                if let Some(bytes) = memory_budget {
                    pending.extend(l.set_memory_budget((*bytes > 0).then_some(*bytes)));
                }
            }
            (_, None) => bail!("{}: an entry before any rule pack", at()),
            (Entry::Event { event, decision }, Some(l)) => {
                let e = sekimori_event::decode_value(event.clone())
                    .map_err(|e| anyhow!("{}: {e}", at()))?;
                let (again, durable) = l.decide(&sekimori_engine::Prepared::new(e));
                mismatches += u64::from(&again != decision);
                pending.push(durable);
                events += 1;
            }
            (Entry::List { name, items, by }, Some(l)) => pending.push(
                l.set_list(name, items.iter().cloned().collect(), by)
                    .map_err(|e| anyhow!("{}: {e}", at()))?,
            ),
            (
                Entry::Place {
                    hold,
                    action,
                    by,
                    reason,
                    at: placed_at,
                },
                Some(l),
            ) => {
                let at_ms = sekimori_event::parse_rfc3339_ms(placed_at)
                    .ok_or_else(|| anyhow!("{}: `at` is not RFC 3339", at()))?;
                let placed = l
                    .place(hold.clone(), *action, by, reason, at_ms)
                    .map_err(|e| anyhow!("{}: {e}", at()))?;
                pending.extend(placed);
            }
            (Entry::Lift { hold, by, reason }, Some(l)) => {
                pending.extend(l.lift(hold.clone(), by, reason))
            }
            // The workbench's audit entries (issue 14) and step-up records
            // (issue 15): in place, through the ledger (the engine keeps no
            // state from them; the ledger writes the step-up records back).
            (Entry::Analyst { .. } | Entry::Label { .. } | Entry::StepUp { .. }, Some(l)) => {
                pending.push(
                    l.append_audit(&entry)
                        .map_err(|e| anyhow!("{}: {e}", at()))?,
                )
            }
        }
        if pending.len() >= 4096 {
            pending.drain(..).try_for_each(wait)?;
        }
    }
    pending.into_iter().try_for_each(wait)?;
    if let Some(mut l) = ledger {
        wait(l.snapshot())?;
    }
    eprintln!(
        "{events} events imported into {}; {mismatches} decisions differ from the export",
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn pack(sources: &HashMap<String, PackSource>, version: &str) -> anyhow::Result<Arc<Pack>> {
    let source = sources
        .get(version)
        .cloned()
        .ok_or_else(|| anyhow!("no pack_source line for pack {version}"))?;
    compile(source)
        .map(Arc::new)
        .map_err(|e| anyhow!("pack {version} does not compile: {e:?}"))
}
