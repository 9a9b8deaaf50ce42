//! `export` writes the log as JSONL, signed; `import` rebuilds an identical
//! engine, and refuses, whole, a file whose MAC does not hold (attacker's
//! review F2: an export kept in a backup bucket, edited).

mod common;

use common::{agent, create_key, login, post, run, Server};
use sekimori_ledger::Ledger;
use sekimori_rules::compile;
use sekimori_store::Store;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn s(p: &Path) -> &str {
    p.to_str().expect("utf8")
}

/// A stopped server's data directory after 200 logins, a list edit, a
/// freeze placed and lifted and another placed.
fn served(dir: &Path) -> PathBuf {
    let (data, log) = (dir.join("data"), dir.join("server.log"));
    let key = create_key(&data, "ingest,read,admin");
    let server = Server::start(&data, &log, &[]);
    let a = agent();
    let send = |range: std::ops::Range<u64>| {
        for n in range {
            let url = format!("{}/v1/events", server.url);
            post(&a, &url, &key, &login(&format!("e{n}"), n)).expect("answer");
        }
    };
    send(0..120);
    let list = serde_json::json!({"items": ["198.51.100.3"]});
    let mut resp = a
        .put(format!("{}/v1/lists/blocked_ips", server.url))
        .header("authorization", &format!("Bearer {key}"))
        .send_json(&list)
        .expect("put");
    assert_eq!(
        resp.status().as_u16(),
        200,
        "{:?}",
        resp.body_mut().read_to_string()
    );
    for (account, lift) in [("acct-3", true), ("acct-4", false)] {
        let hold = serde_json::json!({"scope": "account", "key": account});
        let freeze = serde_json::json!({"hold": hold,
            "action": "freeze", "reason": "holder reported a stolen phone"});
        let (status, placed) =
            post(&a, &format!("{}/v1/holds", server.url), &key, &freeze).expect("answer");
        assert_eq!(status, 200, "{placed}");
        if lift {
            let body = serde_json::json!({"hold": hold, "reason": "the phone was found"});
            let (status, lifted) =
                post(&a, &format!("{}/v1/holds/lift", server.url), &key, &body).expect("answer");
            assert_eq!(status, 200, "{lifted}");
        }
    }
    send(120..200);
    let running = run(&["export", "--data", s(&data), "--out", "/dev/null"]);
    assert!(String::from_utf8_lossy(&running.stderr).contains("stop the server first"));
    server.kill();
    data
}

fn export(data: &Path, out: &Path, extra: &[&str]) {
    let mut args = vec!["export", "--data", s(data), "--out", s(out)];
    args.extend(extra);
    let o = run(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

/// Runs `import`; its success and its messages.
fn import(file: &Path, into: &Path, extra: &[&str]) -> (bool, String) {
    let mut args = vec!["import", s(file), "--data", s(into)];
    args.extend(extra);
    let o = run(&args);
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn digest(d: &Path) -> u64 {
    let pack = Arc::new(
        compile(sekimori_rules::embedded::default_pack().expect("pack")).expect("compiles"),
    );
    let store = Arc::new(Store::open(d).expect("open"));
    Ledger::open(store, pack, 1_000_000)
        .expect("restore")
        .engine()
        .state_digest()
}

#[test]
fn export_then_import_rebuilds_the_same_state() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = served(dir.path());
    let dump = dir.path().join("log.jsonl");
    export(&data, &dump, &[]);
    let text = std::fs::read_to_string(&dump).expect("dump");
    let last = text.lines().last().expect("lines");
    assert!(last.starts_with(r#"{"entry":"mac""#), "{last}");
    let copy = dir.path().join("copy");
    let key = data.join("stepup.key");
    let (ok, msg) = import(&dump, &copy, &["--stepup-key", s(&key)]);
    assert!(
        ok && msg.contains("200 events imported") && msg.contains("0 decisions differ"),
        "{msg}"
    );
    assert_eq!(digest(&data), digest(&copy));
    let (ok, again) = import(&dump, &copy, &["--stepup-key", s(&key)]);
    assert!(
        !ok && again.contains("needs an empty data directory"),
        "{again}"
    );
}

/// From the attacker's side: whoever can write the export file (a backup
/// bucket) but holds no `stepup.key` cannot make an import trust an edited
/// pack, a dropped hold lift, a cut file, another key's or shard's file;
/// each is refused before anything is imported (the same directory then
/// takes the genuine file), with a message that names what is wrong.
#[test]
fn an_edited_cut_or_foreign_export_is_refused_whole() {
    let dir = tempfile::tempdir().expect("tmp");
    let data = served(dir.path());
    let key = data.join("stepup.key");
    let genuine = dir.path().join("log.jsonl");
    export(&data, &genuine, &[]);
    let text = std::fs::read_to_string(&genuine).expect("dump");
    let lines: Vec<&str> = text.lines().collect();
    let forged = |name: &str, lines: &[String]| {
        let path = dir.path().join(name);
        std::fs::write(&path, lines.join("\n") + "\n").expect("write");
        path
    };
    let owned = |lines: &[&str]| lines.iter().map(|l| l.to_string()).collect::<Vec<_>>();
    let target = dir.path().join("target");
    let refused = |file: &Path, extra: &[&str], why: &str| {
        let mut args = vec!["--stepup-key", s(&key)];
        args.extend(extra);
        let (ok, msg) = import(file, &target, &args);
        assert!(!ok, "{} was imported: {msg}", file.display());
        assert!(
            msg.contains(why) && msg.contains("nothing imported"),
            "{msg}"
        );
        let store = Store::open(&target).expect("open");
        assert_eq!(store.last_seq().expect("seq"), 0, "a partial import");
    };

    // A pack that lets more through: its source edited in place (a deny
    // made a review), in every line that carries it.
    let edited: Vec<String> = lines
        .iter()
        .map(|l| match l.contains(r#""entry":"pack_source""#) {
            true => l.replacen(r#""deny""#, r#""review""#, 1),
            false => l.to_string(),
        })
        .collect();
    assert_ne!(edited, owned(&lines), "the edit changes the pack");
    let edited_pack = forged("pack.jsonl", &edited);
    refused(&edited_pack, &[], "the MAC does not hold");

    // The hold's lift dropped (the freeze would stay in force), and a
    // forged lift of the other hold added.
    let lift = lines
        .iter()
        .position(|l| l.contains(r#""entry":"lift""#))
        .expect("a lift");
    let mut dropped = owned(&lines);
    let lifted = dropped.remove(lift);
    refused(
        &forged("dropped.jsonl", &dropped),
        &[],
        "lines were dropped or added",
    );
    let mut added = owned(&lines);
    added.insert(added.len() - 1, lifted.replace("acct-3", "acct-4"));
    refused(
        &forged("added.jsonl", &added),
        &[],
        "lines were dropped or added",
    );
    // Cut short: no MAC line, or lines after it.
    refused(
        &forged("cut.jsonl", &owned(&lines[..lines.len() / 2])),
        &[],
        "has no MAC line",
    );
    let mut appended = owned(&lines);
    appended.push(lifted.replace("acct-3", "acct-4"));
    refused(
        &forged("appended.jsonl", &appended),
        &[],
        "a line after the MAC line",
    );
    // Signed under another stepup.key (a forger's own), or for a shard
    // other than the one named.
    let other = dir.path().join("other.key");
    std::fs::write(&other, "42".repeat(32)).expect("key");
    let (ok, msg) = import(&genuine, &target, &["--stepup-key", s(&other)]);
    assert!(
        !ok && msg.contains("signed under another stepup.key"),
        "{msg}"
    );
    let bank = dir.path().join("bank.jsonl");
    export(&data, &bank, &["--shard", "bank"]);
    refused(
        &bank,
        &["--shard", "card"],
        "is an export of shard bank, not of card",
    );
    // No key at hand: refused, saying which key it needs.
    let (ok, msg) = import(&genuine, &target, &[]);
    assert!(
        !ok && msg.contains("stepup.key") && msg.contains("--unsigned"),
        "{msg}"
    );

    // An export written without a key (`--unsigned`) has no MAC line.
    let unsigned = dir.path().join("unsigned.jsonl");
    export(&data, &unsigned, &["--unsigned"]);
    assert!(!std::fs::read_to_string(&unsigned)
        .expect("unsigned")
        .contains(r#"{"entry":"mac""#));
    refused(&unsigned, &[], "has no MAC line");

    // The genuine files import into the directory every refusal left empty.
    let (ok, msg) = import(
        &bank,
        &target,
        &["--stepup-key", s(&key), "--shard", "bank"],
    );
    assert!(ok && msg.contains("0 decisions differ"), "{msg}");
    assert_eq!(digest(&data), digest(&target));

    // `--unsigned` trusts a file as it is, loudly: the edited pack imports
    // (and the engine then decides with it).
    let trusting = dir.path().join("trusting");
    let (ok, msg) = import(&edited_pack, &trusting, &["--unsigned"]);
    assert!(
        ok && msg.contains("WARNING") && msg.contains("WITHOUT checking its MAC"),
        "{msg}"
    );
}
