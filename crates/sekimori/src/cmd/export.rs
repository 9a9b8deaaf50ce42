//! The durable log as JSONL: one entry a line, in log order. Before each pack
//! entry, a `pack_source` line carries that pack's full source, so an export
//! is self-contained and `import` rebuilds the same state. The last line is
//! the file's MAC (`export_sign`): `import` refuses a file whose MAC is
//! missing or does not hold before it applies anything.

use anyhow::{anyhow, bail, Context};
use sekimori_engine::Entry;
use sekimori_ledger::{pack_record, wait, Durable, Ledger};
use sekimori_rules::{compile, Pack, PackSource};
use sekimori_store::{Store, StoreError};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[path = "export_sign.rs"]
mod sign;

#[derive(clap::Args)]
pub struct ExportArgs {
    #[arg(long)]
    data: Option<PathBuf>,
    /// Output file (JSONL). Its last line is a MAC over every line
    /// (HMAC-SHA256 under a key derived from the step-up key), which
    /// `import` checks before it applies anything.
    #[arg(long)]
    out: PathBuf,
    /// The step-up master key the file is signed under (default:
    /// `stepup.key` in --data). The import needs the same key.
    #[arg(long, value_name = "FILE")]
    stepup_key: Option<PathBuf>,
    /// Binds the export to this replicated shard (its MAC key is the
    /// shard's): `import --shard` must then name the same shard.
    #[arg(long, value_name = "NAME")]
    shard: Option<String>,
    /// Writes no MAC (when the step-up key is not at hand): `import`
    /// refuses such a file unless it is given `--unsigned` too.
    #[arg(long)]
    unsigned: bool,
}

#[derive(clap::Args)]
pub struct ImportArgs {
    /// A JSONL file written by `sekimori export`. Its MAC line must hold
    /// over every line before it, under the step-up key (see
    /// --stepup-key): an edited, dropped or added line, a cut file or a
    /// file signed under another key or shard is refused before anything
    /// is imported.
    file: PathBuf,
    /// An empty (or missing) data directory to fill.
    #[arg(long)]
    data: Option<PathBuf>,
    /// The replicated shard the log is of: its analyst records
    /// (`analyst/...`) are imported only when their MAC holds under the
    /// shard's key (from the step-up key) and each raises its rev by one.
    /// Without it, no analyst record is imported. A file exported with
    /// `--shard` must be imported with the same one or none.
    #[arg(long, value_name = "NAME")]
    shard: Option<String>,
    /// The step-up master key the export was signed under (and the
    /// shard's, for --shard): default `stepup.key` in --data, copied there
    /// beforehand; never created by an import.
    #[arg(long, value_name = "FILE")]
    stepup_key: Option<PathBuf>,
    /// Imports without checking the file's MAC (a file written unsigned,
    /// or before exports were signed): every pack, list, hold, lift and
    /// step-up record in it is trusted as written. Said loudly.
    #[arg(long)]
    unsigned: bool,
}

/// Checks an analyst record: its rev when its MAC holds under the shard's key.
type AnalystCheck = sekimori_workbench::analyst_log::AnalystCheck;

/// The check of the shard's analyst records an import applies (`None`:
/// no shard named, no analyst record imported).
fn analyst_check(
    a: &ImportArgs,
    master: Option<&sekimori_server::stepup::key::MasterKey>,
    dir: &std::path::Path,
) -> anyhow::Result<Option<AnalystCheck>> {
    let Some(shard) = &a.shard else {
        return Ok(None);
    };
    let owned;
    let master = match master {
        Some(m) => m,
        None => {
            owned = sign::master_key(
                dir,
                a.stepup_key.as_deref(),
                "to check the shard's analyst records",
            )?;
            &owned
        }
    };
    use sekimori_workbench::analyst_log::{derive, shard_key, verifier};
    Ok(Some(
        verifier(&shard_key(&derive(master, "key/v1"), &sign::stream(shard))).0,
    ))
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
    let mut mac = if a.unsigned {
        None
    } else {
        let master = sign::master_key(
            &dir,
            a.stepup_key.as_deref(),
            "to sign the export (or pass --unsigned)",
        )?;
        let stream = a.shard.as_deref().map(sign::stream);
        Some(sekimori_workbench::analyst_log::ExportMac::new(
            &master,
            stream.as_deref(),
        ))
    };
    let mut out = BufWriter::new(
        std::fs::File::create(&a.out).with_context(|| format!("creating {}", a.out.display()))?,
    );
    let mut line = |out: &mut BufWriter<std::fs::File>, bytes: &[u8]| -> std::io::Result<()> {
        if let Some(m) = mac.as_mut() {
            m.line(bytes);
        }
        out.write_all(bytes)?;
        out.write_all(b"\n")
    };
    let mut n = 0u64;
    for row in store.scan_from(1)? {
        let (seq, bytes) = row?;
        let entry = Entry::from_bytes(&bytes).map_err(|e| anyhow!("entry {seq}: {e}"))?;
        if let Entry::Pack { version, .. } = &entry {
            let record = pack_record(&store, version)?
                .ok_or_else(|| anyhow!("pack {version} is not stored"))?;
            let source =
                json!({"entry": "pack_source", "version": version, "source": record.source});
            line(&mut out, source.to_string().as_bytes())?;
        }
        if bytes.contains(&b'\n') || bytes.starts_with(sign::MAC_PREFIX) {
            bail!("entry {seq} cannot be written as one line");
        }
        line(&mut out, &bytes)?;
        n += 1;
    }
    let signed = mac.is_some();
    if let Some(m) = mac {
        writeln!(out, "{}", sign::mac_line(a.shard.as_deref(), m))?;
    }
    out.flush()?;
    out.get_ref().sync_all()?;
    eprintln!(
        "{n} log entries -> {}{}",
        a.out.display(),
        if signed {
            ", signed (import checks it with the same stepup.key)"
        } else {
            "; UNSIGNED (--unsigned): import refuses it unless given --unsigned too"
        }
    );
    Ok(ExitCode::SUCCESS)
}

pub fn import(a: ImportArgs) -> anyhow::Result<ExitCode> {
    let dir = crate::data_dir(a.data.clone());
    let store = Arc::new(open(&dir)?);
    if store.last_seq()? > 0 {
        bail!(
            "{} already holds a log; import needs an empty data directory",
            dir.display()
        );
    }
    // The whole file is checked before any line is applied.
    let (master, signed) = if a.unsigned {
        let warning = format!(
            "--unsigned: {} is imported WITHOUT checking its MAC: every pack, list, hold, lift and step-up record in it is trusted as written",
            a.file.display()
        );
        eprintln!("WARNING: {warning}");
        tracing::warn!("{warning}");
        (None, None)
    } else {
        let master = sign::master_key(
            &dir,
            a.stepup_key.as_deref(),
            "to check the export's MAC (the source's; or pass --unsigned to trust the file as it is)",
        )?;
        let signed = sign::verify(&a.file, &master, a.shard.as_deref())?;
        (Some(master), Some(signed))
    };
    let mut again = master
        .as_ref()
        .zip(signed.as_ref())
        .map(|(m, s)| sign::again(m, s));
    let mut sources: HashMap<String, PackSource> = HashMap::new();
    let mut ledger: Option<Ledger> = None;
    let mut pending: Vec<Durable> = Vec::new();
    let (mut events, mut mismatches) = (0u64, 0u64);
    let mut analyst_revs: HashMap<String, u64> = HashMap::new();
    let check = analyst_check(&a, master.as_ref(), &dir)?;
    let mut refused = 0u64;
    sign::each_line(&a.file, |n, line| {
        let at = || format!("{}:{n}", a.file.display());
        if line.starts_with(sign::MAC_PREFIX) {
            return Ok(());
        }
        if let Some(m) = again.as_mut() {
            m.line(line);
        }
        let value: Value = serde_json::from_slice(line).with_context(at)?;
        if value["entry"] == "pack_source" {
            let source: PackSource =
                serde_json::from_value(value["source"].clone()).with_context(at)?;
            sources.insert(source.pack.version.clone(), source);
            return Ok(());
        }
        let entry: Entry = serde_json::from_value(value).with_context(at)?;
        let entry = guard_analysts(
            entry,
            &mut analyst_revs,
            check.as_ref(),
            &mut refused,
            &at(),
        );
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
        Ok(())
    })?;
    pending.into_iter().try_for_each(wait)?;
    if let (Some(m), Some(s)) = (again, signed.as_ref()) {
        if !m.verify(&s.mac) {
            bail!(
                "{} changed while it was imported (its MAC no longer holds): {} is incomplete; delete it and import again",
                a.file.display(),
                dir.display()
            );
        }
    }
    if let Some(mut l) = ledger {
        wait(l.snapshot())?;
    }
    eprintln!(
        "{events} events imported into {}; {mismatches} decisions differ from the export",
        dir.display()
    );
    if refused > 0 {
        eprintln!(
            "{refused} analyst record writes not imported{}",
            if check.is_none() {
                ": pass --shard (and the shard's stepup.key) to check their MACs"
            } else {
                " (MAC or rev refused; see above)"
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The guard a follower applies, for an import: an analyst record
/// (`analyst/...`, a replicated shard's) is written only when its MAC holds
/// under the shard's key (`check`: the workbench's verifier, the follower's
/// own) and its rev is exactly one above the rev the import holds for its
/// key. A forged record, an old record replayed into the log, a deletion or
/// a rev pushed out of reach is dropped from the entry, with a message and
/// counted in `refused`, so an imported log never makes, promotes or rolls
/// back an analyst. Without `check` (no shard named) no analyst record is
/// imported.
fn guard_analysts(
    entry: Entry,
    revs: &mut HashMap<String, u64>,
    check: Option<&AnalystCheck>,
    refused: &mut u64,
    at: &str,
) -> Entry {
    let Entry::StepUp { what, writes } = entry else {
        return entry;
    };
    let writes = writes
        .into_iter()
        .filter(|(key, value)| {
            if !key.starts_with("analyst/") {
                return true;
            }
            let Some(check) = check else {
                *refused += 1;
                return false;
            };
            let held = revs.get(key).copied().unwrap_or(0);
            match value.as_deref().and_then(|v| check(key, v.as_bytes())) {
                Some(rev) if Some(rev) == held.checked_add(1) => {
                    revs.insert(key.clone(), rev);
                    true
                }
                _ => {
                    *refused += 1;
                    eprintln!(
                        "{at}: analyst record {key} does not verify or does not raise its rev by one: not imported"
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

    /// An import takes an analyst record only when its MAC holds and only
    /// one rev up: a forged record is refused, and the record from before a
    /// disable, replayed later in the log, is not written back.
    #[test]
    fn an_imported_log_never_rolls_an_analyst_back() {
        let mut revs = HashMap::new();
        let mut refused = 0;
        // Stands in for the shard's MAC check: "ok" verifies.
        let check: AnalystCheck = Arc::new(|_: &str, v: &[u8]| {
            let v: Value = serde_json::from_slice(v).ok()?;
            (v["mac"] == "ok").then(|| v["rev"].as_u64()).flatten()
        });
        let kept = |e: Entry| match e {
            Entry::StepUp { writes, .. } => writes.into_iter().map(|(k, _)| k).collect::<Vec<_>>(),
            _ => unreachable!(),
        };
        let mut guard = |e: Entry, check: Option<&AnalystCheck>| {
            kept(guard_analysts(e, &mut revs, check, &mut refused, "t"))
        };
        let first = stepup(&[
            ("analyst/ken", Some(r#"{"rev":1,"mac":"ok"}"#)),
            ("totp/x", Some("{}")),
        ]);
        assert_eq!(guard(first, Some(&check)), ["analyst/ken", "totp/x"]);
        let forged = stepup(&[("analyst/ken", Some(r#"{"rev":2,"mac":"00"}"#))]);
        assert!(guard(forged, Some(&check)).is_empty(), "a forged record");
        let disabled = stepup(&[("analyst/ken", Some(r#"{"rev":2,"mac":"ok"}"#))]);
        assert_eq!(guard(disabled, Some(&check)), ["analyst/ken"]);
        let replayed = stepup(&[
            ("analyst/ken", Some(r#"{"rev":1,"mac":"ok"}"#)),
            ("analyst/ken", None),
            (
                "analyst/ken",
                Some(r#"{"rev":18446744073709551615,"mac":"ok"}"#),
            ),
        ]);
        assert!(guard(replayed, Some(&check)).is_empty());
        // No shard named: no analyst record at all; the rest as it is.
        let unchecked = stepup(&[
            ("analyst/ken", Some(r#"{"rev":3,"mac":"ok"}"#)),
            ("totp/x", Some("{}")),
        ]);
        assert_eq!(guard(unchecked, None), ["totp/x"]);
        assert_eq!(revs["analyst/ken"], 2);
        assert_eq!(refused, 5);
    }
}
