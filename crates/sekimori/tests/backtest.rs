//! `sekimori backtest` over a data directory written through the ledger, as
//! `serve` (and `simulate --data`) write it: rule quality from the labels,
//! and a candidate pack directory replayed over the window.

use sekimori_engine::{Entry, Prepared};
use sekimori_ledger::{wait, Ledger};
use sekimori_rules::{compile, load_pack};
use sekimori_store::Store;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

fn sekimori(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sekimori"))
        .args(args)
        .output()
        .expect("runs")
}

/// A pack directory: a deny over 100,000 and a challenge over 10,000.
fn write_pack(dir: &Path, version: &str, with_challenge: bool) {
    std::fs::create_dir_all(dir).expect("dir");
    std::fs::write(
        dir.join("pack.yaml"),
        format!("pack:\n  name: t\n  version: \"{version}\"\n"),
    )
    .expect("write");
    let mut rules = String::from(
        "rules:\n  - name: big\n    on: [transfer]\n    when: event.amount_minor >= 100000\n    action: deny\n    reason: big\n",
    );
    if with_challenge {
        rules.push_str("  - name: medium\n    on: [transfer]\n    when: event.amount_minor >= 10000\n    action: challenge\n    methods: [totp]\n    reason: medium\n");
    }
    std::fs::write(dir.join("rules.yaml"), rules).expect("write");
}

/// 2026-03-01: five transfers; labels: a fraud (200,000), b legitimate
/// (50,000), c fraud (20,000), d fraud (5,000, missed), e none (1,000).
fn write_log(data: &Path, pack_dir: &Path) {
    let pack = Arc::new(compile(load_pack(pack_dir).expect("loads")).expect("compiles"));
    let store = Arc::new(Store::open(data).expect("store"));
    let mut ledger = Ledger::open(Arc::clone(&store), pack, 1_000_000).expect("opens");
    for (i, (id, amount)) in [
        ("a", 200_000),
        ("b", 50_000),
        ("c", 20_000),
        ("d", 5_000),
        ("e", 1_000),
    ]
    .iter()
    .enumerate()
    {
        let e = sekimori_event::decode_value(serde_json::json!({
            "id": id, "type": "transfer", "service": "bank",
            "at": format!("2026-03-01T10:0{i}:00Z"), "account": format!("acct-{id}"),
            "amount_minor": amount, "currency": "JPY",
            "destination": {"kind": "account", "account": "p-1"}}))
        .expect("valid");
        wait(ledger.decide(&Prepared::new(e)).1).expect("durable");
    }
    for (id, label) in [
        ("a", "chargeback"),
        ("b", "customer_confirmed"),
        ("c", "confirmed_fraud"),
        ("d", "customer_denied"),
    ] {
        let entry = Entry::Label {
            service: "bank".into(),
            event_id: id.into(),
            label: label.into(),
            by: "key:test".into(),
            at: "2026-03-20T00:00:00Z".into(),
            note: String::new(),
        };
        wait(ledger.append_audit(&entry).expect("audit")).expect("durable");
    }
}

fn json(o: &Output) -> Value {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).expect("json")
}

#[test]
fn backtest_prints_both_packs_precision_and_recall() {
    let dir = tempfile::tempdir().expect("tmp");
    let (data, stored, cand) = (
        dir.path().join("data"),
        dir.path().join("stored"),
        dir.path().join("cand"),
    );
    write_pack(&stored, "1", true);
    write_pack(&cand, "2", false);
    write_log(&data, &stored);
    let d = data.to_str().expect("utf8");
    let window = ["--from", "2026-03-01", "--to", "2026-03-02"];

    // Rule quality alone: caught a b c; fraud a c d; TP a c, FP b, missed d.
    let q = json(&sekimori(
        &[&["backtest", "--data", d, "--json"][..], &window[..]].concat(),
    ));
    let p = &q["quality"]["packs"][0];
    assert_eq!(p["version"], "1");
    assert_eq!(
        (&p["true_positives"], &p["false_positives"], &p["misses"]),
        (&Value::from(2), &Value::from(1), &Value::from(1))
    );
    assert_eq!(
        (&p["precision_bp"], &p["recall_bp"]),
        (&Value::from(6_666), &Value::from(6_666))
    );
    assert!(q["backtest"].is_null());

    // The candidate without the challenge lets b and c through.
    let args = [
        &[
            "backtest",
            "--data",
            d,
            "--rules",
            cand.to_str().expect("utf8"),
            "--json",
        ][..],
        &window[..],
    ]
    .concat();
    let first = sekimori(&args);
    let b = &json(&first)["backtest"];
    assert_eq!(
        (&b["decided"], &b["changed"]),
        (&Value::from(5), &Value::from(2))
    );
    let ids: Vec<&str> = b["sample"]
        .as_array()
        .expect("sample")
        .iter()
        .map(|c| c["event_id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["b", "c"]);
    // Candidate: caught a only; TP a, FP 0, missed c d.
    assert_eq!(b["candidate"]["precision_bp"], 10_000);
    assert_eq!(b["candidate"]["recall_bp"], 3_333);
    assert_eq!(b["logged"]["precision_bp"], 6_666);
    // Deterministic, byte for byte.
    assert_eq!(sekimori(&args).stdout, first.stdout);

    // The table names both packs with their precision and recall.
    let text = sekimori(
        &[
            &[
                "backtest",
                "--data",
                d,
                "--rules",
                cand.to_str().expect("utf8"),
            ][..],
            &window[..],
        ]
        .concat(),
    );
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("precision") && text.contains("recall"),
        "{text}"
    );
    let logged = text
        .lines()
        .find(|l| l.starts_with("logged "))
        .expect("logged row");
    assert!(logged.contains("66.66%"), "{logged}");
    let candidate = text
        .lines()
        .find(|l| l.starts_with("2 "))
        .expect("candidate row");
    assert!(
        candidate.contains("100.00%") && candidate.contains("33.33%"),
        "{candidate}"
    );
}

#[test]
fn backtest_refuses_what_it_cannot_read() {
    let dir = tempfile::tempdir().expect("tmp");
    let missing = dir.path().join("nothing-here");
    let o = sekimori(&[
        "backtest",
        "--data",
        missing.to_str().expect("utf8"),
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-02",
    ]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a data directory"));
    assert!(!missing.exists(), "nothing is created");
    let o = sekimori(&[
        "backtest",
        "--data",
        dir.path().to_str().expect("utf8"),
        "--from",
        "2026-03-02",
        "--to",
        "2026-03-01",
    ]);
    assert!(!o.status.success());
}
