//! The MAC of an exported log (after the attacker's review, F2): `export`
//! writes it as the file's last line, `{"entry":"mac",...}`, and `import`
//! checks the whole file against it before it applies any line. The MAC
//! itself (`sekimori_workbench::analyst_log::ExportMac`) is HMAC-SHA256
//! under a key derived from `stepup.key` (and the shard's stream, when the
//! export names one) with a label of its own, over every line in order
//! and their number.

use anyhow::{anyhow, bail, Context};
use sekimori_server::stepup::key::{self, MasterKey};
use sekimori_workbench::analyst_log::ExportMac;
use serde_json::{json, Value};
use std::io::BufRead;
use std::path::Path;

/// How the MAC line starts, as `export` writes it (the line is recognised
/// by it, and no log entry starts so).
pub const MAC_PREFIX: &[u8] = br#"{"entry":"mac""#;
/// The MAC line's format.
const FORMAT: u64 = 1;

/// The step-up master key at `explicit`, or `stepup.key` in `dir`; read,
/// never created. `why` says what it is needed for.
pub fn master_key(dir: &Path, explicit: Option<&Path>, why: &str) -> anyhow::Result<MasterKey> {
    let path = explicit
        .map(Path::to_path_buf)
        .unwrap_or_else(|| dir.join(key::KEY_FILE));
    if !path.is_file() {
        bail!(
            "{}: the step-up key is needed {why} (copy it there, or pass --stepup-key FILE)",
            path.display()
        );
    }
    let master = key::load_or_create(dir, Some(&path))?;
    key::check(&master)?;
    Ok(master)
}

/// The stream a shard's export is bound to.
pub fn stream(shard: &str) -> String {
    format!("SEKIMORI_{shard}")
}

/// The MAC line of an export of `lines` lines signed with `mac`.
pub fn mac_line(shard: Option<&str>, mac: ExportMac) -> String {
    let lines = mac.lines();
    let mac = mac.finish();
    json!({"entry": "mac", "format": FORMAT, "shard": shard, "lines": lines,
        "mac": hex(&mac)})
    .to_string()
}

/// What a MAC line says.
pub struct Signed {
    pub shard: Option<String>,
    pub lines: u64,
    pub mac: Vec<u8>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

fn parse_mac_line(line: &[u8]) -> Option<Signed> {
    let v: Value = serde_json::from_slice(line).ok()?;
    if v["entry"] != "mac" || v["format"].as_u64() != Some(FORMAT) {
        return None;
    }
    let shard = match &v["shard"] {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        _ => return None,
    };
    Some(Signed {
        shard,
        lines: v["lines"].as_u64()?,
        mac: unhex(v["mac"].as_str()?)?,
    })
}

/// Calls `f` with each line of `file` (without its newline) and its
/// number, from 1.
pub fn each_line(
    file: &Path,
    mut f: impl FnMut(usize, &[u8]) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let input = std::fs::File::open(file).with_context(|| format!("opening {}", file.display()))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, input);
    let mut line = Vec::new();
    let mut n = 0;
    loop {
        line.clear();
        let read = reader
            .read_until(b'\n', &mut line)
            .with_context(|| format!("reading {}", file.display()))?;
        if read == 0 {
            return Ok(());
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        n += 1;
        f(n, &line)?;
    }
}

/// Checks the whole of `file` against its MAC line under `master`, before
/// anything is imported: the MAC line must be there, last, name the shard
/// `shard` names (if any), count the lines before it and hold over them.
/// Each refusal names what is wrong.
pub fn verify(file: &Path, master: &MasterKey, shard: Option<&str>) -> anyhow::Result<Signed> {
    let name = file.display();
    let mut signed: Option<(usize, Signed)> = None;
    // The MAC's key depends on the shard the MAC line names, which comes
    // last: the lines are hashed under the node's key as they come, and
    // read again under a shard's when the line names one.
    let mut node = ExportMac::new(master, None);
    each_line(file, |n, line| {
        if let Some((at, _)) = &signed {
            bail!("{name}:{n}: a line after the MAC line (line {at}): the file was appended to; refused, nothing imported");
        }
        if line.starts_with(MAC_PREFIX) {
            let s = parse_mac_line(line).ok_or_else(|| {
                anyhow!("{name}:{n}: the MAC line does not parse; refused, nothing imported")
            })?;
            signed = Some((n, s));
            return Ok(());
        }
        node.line(line);
        Ok(())
    })?;
    let Some((_, signed)) = signed else {
        bail!(
            "{name} has no MAC line: it was cut short, or written unsigned (`export --unsigned`, or a release before exports were signed); refused, nothing imported (`import --unsigned` trusts a file as it is)"
        );
    };
    if let (Some(named), Some(theirs)) = (shard, signed.shard.as_deref()) {
        if named != theirs {
            bail!(
                "{name} is an export of shard {theirs}, not of {named}; refused, nothing imported"
            );
        }
    }
    let count = node.lines();
    if count != signed.lines {
        bail!(
            "{name} holds {count} lines before its MAC line, which was written over {}: lines were dropped or added; refused, nothing imported",
            signed.lines
        );
    }
    let holds = match signed.shard.as_deref() {
        None => node.verify(&signed.mac),
        Some(_) => {
            let mut m = again(master, &signed);
            each_line(file, |_, line| {
                if !line.starts_with(MAC_PREFIX) {
                    m.line(line);
                }
                Ok(())
            })?;
            m.verify(&signed.mac)
        }
    };
    if !holds {
        bail!(
            "{name}: the MAC does not hold: a line was edited, or the file was signed under another stepup.key{}; refused, nothing imported",
            if signed.shard.is_some() { " or for another shard" } else { "" }
        );
    }
    Ok(signed)
}

/// The MAC a second reading of the lines must give (the file must not
/// change between the check and the import).
pub fn again(master: &MasterKey, signed: &Signed) -> ExportMac {
    ExportMac::new(master, signed.shard.as_deref().map(stream).as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    /// An export's MAC (`sekimori export` / `import`): every line, their
    /// boundaries, order and number, the key and the shard it is bound to.
    #[test]
    fn the_export_mac_binds_every_line_the_count_the_key_and_the_shard() {
        let mac_of = |key: &[u8; 32], stream: Option<&str>, lines: &[&[u8]]| {
            let mut m = ExportMac::new(key, stream);
            for l in lines {
                m.line(l);
            }
            assert_eq!(m.lines(), lines.len() as u64);
            m.finish()
        };
        let check = |key: &[u8; 32], stream: Option<&str>, lines: &[&[u8]], mac: &[u8]| {
            let mut m = ExportMac::new(key, stream);
            for l in lines {
                m.line(l);
            }
            m.verify(mac)
        };
        let lines: [&[u8]; 3] = [b"pack", b"lift", b"event"];
        let mac = mac_of(&KEY, None, &lines);
        assert!(check(&KEY, None, &lines, &mac));
        assert!(
            !check(&KEY, None, &[b"pack", b"event"], &mac),
            "a line dropped"
        );
        assert!(!check(&KEY, None, &[b"pack", b"lift"], &mac), "cut short");
        assert!(!check(&KEY, None, &[b"pack", b"lifT", b"event"], &mac));
        assert!(!check(&KEY, None, &[b"lift", b"pack", b"event"], &mac));
        assert!(!check(&KEY, None, &[b"pac", b"klift", b"event"], &mac));
        assert!(!check(&KEY, None, &lines, &mac[..31]));
        assert!(!check(&[8; 32], None, &lines, &mac), "another stepup.key");
        let bank = mac_of(&KEY, Some("SEKIMORI_bank"), &lines);
        assert!(check(&KEY, Some("SEKIMORI_bank"), &lines, &bank));
        assert!(!check(&KEY, Some("SEKIMORI_card"), &lines, &bank));
        assert!(
            !check(&KEY, None, &lines, &bank),
            "a shard's is not the node's"
        );
        // Never any other MAC of the shard: its own label.
        use sekimori_workbench::analyst_log::{derive, shard_key, verifier};
        let (_, sign, _) = verifier(&shard_key(&derive(&KEY, "key/v1"), "SEKIMORI_bank"));
        assert_ne!(sign(&lines), bank);
    }
}
