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
    let mut analyst_revs: HashMap<String, u64> = HashMap::new();
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
        let entry = guard_analysts(entry, &mut analyst_revs, &at());
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

/// The rev guard a follower applies, for an import: an analyst record
/// (`analyst/...`, a replicated shard's) is written only when its rev is
/// exactly one above the rev the import holds for its key (an old record
/// replayed into the log, a deletion or a rev pushed out of reach is
/// dropped from the entry, with a warning), so an imported log never
/// rolls an analyst back. The MAC is checked by whoever reads the record
/// (an import holds no shard key).
fn guard_analysts(entry: Entry, revs: &mut HashMap<String, u64>, at: &str) -> Entry {
    let Entry::StepUp { what, writes } = entry else {
        return entry;
    };
    let rev_of = |v: &Option<String>| {
        v.as_deref()
            .and_then(|v| serde_json::from_str::<Value>(v).ok())
            .and_then(|v| v["rev"].as_u64())
    };
    let writes = writes
        .into_iter()
        .filter(|(key, value)| {
            if !key.starts_with("analyst/") {
                return true;
            }
            let held = revs.get(key).copied().unwrap_or(0);
            match rev_of(value) {
                Some(rev) if Some(rev) == held.checked_add(1) => {
                    revs.insert(key.clone(), rev);
                    true
                }
                _ => {
                    eprintln!(
                        "{at}: analyst record {key} does not raise its rev by one: not imported"
                    );
                    false
                }
            }
        })
        .collect();
    Entry::StepUp { what, writes }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn stepup(writes: &[(&str, Option<&str>)]) -> Entry {
        Entry::StepUp {
            what: "analyst".into(),
            writes: writes
                .iter()
                .map(|(k, v)| (k.to_string(), v.map(String::from)))
                .collect(),
        }
    }

    /// An import takes an analyst record only one rev up: the record from
    /// before a disable, replayed later in the log, is not written back.
    #[test]
    fn an_imported_log_never_rolls_an_analyst_back() {
        let mut revs = HashMap::new();
        let kept = |e: Entry| match e {
            Entry::StepUp { writes, .. } => writes.into_iter().map(|(k, _)| k).collect::<Vec<_>>(),
            _ => unreachable!(),
        };
        let first = stepup(&[
            ("analyst/ken", Some(r#"{"rev":1}"#)),
            ("totp/x", Some("{}")),
        ]);
        assert_eq!(
            kept(guard_analysts(first, &mut revs, "t")),
            ["analyst/ken", "totp/x"]
        );
        let disabled = stepup(&[("analyst/ken", Some(r#"{"rev":2}"#))]);
        assert_eq!(
            kept(guard_analysts(disabled, &mut revs, "t")),
            ["analyst/ken"]
        );
        let replayed = stepup(&[
            ("analyst/ken", Some(r#"{"rev":1}"#)),
            ("analyst/ken", None),
            ("analyst/ken", Some(r#"{"rev":18446744073709551615}"#)),
        ]);
        assert!(kept(guard_analysts(replayed, &mut revs, "t")).is_empty());
        assert_eq!(revs["analyst/ken"], 2);
    }
}
