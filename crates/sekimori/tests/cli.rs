//! The CLI: replay determinism, line-numbered errors, rule-pack commands.

mod common;

use common::run;
use std::path::Path;

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/events");
const DEFAULT_PACK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules/default");

fn log_of_all_examples(dir: &Path) -> std::path::PathBuf {
    let mut lines: Vec<String> = Vec::new();
    for f in ["accounts.jsonl", "money.jsonl", "custody.jsonl"] {
        lines.extend(
            std::fs::read_to_string(Path::new(EXAMPLES).join(f))
                .expect("read")
                .lines()
                .map(String::from),
        );
    }
    for n in 0..2000 {
        lines.push(common::login(&format!("g{n}"), n * 7).to_string());
    }
    let path = dir.join("events.jsonl");
    std::fs::write(&path, lines.join("\n") + "\n").expect("write");
    path
}

#[test]
fn replay_twice_gives_byte_identical_decisions() {
    let dir = tempfile::tempdir().expect("tmp");
    let events = log_of_all_examples(dir.path());
    let (a, b) = (dir.path().join("a.jsonl"), dir.path().join("b.jsonl"));
    for out in [&a, &b] {
        let o = run(&[
            "replay",
            events.to_str().expect("utf8"),
            "--out",
            out.to_str().expect("utf8"),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let (a, b) = (std::fs::read(a).expect("a"), std::fs::read(b).expect("b"));
    assert_eq!(a, b);
    let decisions = String::from_utf8(a).expect("utf8");
    assert_eq!(decisions.lines().count(), 2019);
    assert!(
        decisions.contains("\"secret_tried_across_accounts\""),
        "the generated spray is caught"
    );
}

#[test]
fn replay_names_the_bad_line() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("bad.jsonl");
    let mut bad = common::login("x2", 2);
    bad["actor"]["ip"] = serde_json::json!("not-an-ip");
    std::fs::write(&path, format!("{}\n{}\n", common::login("x1", 1), bad)).expect("write");
    let o = run(&[
        "replay",
        path.to_str().expect("utf8"),
        "--out",
        dir.path().join("o").to_str().expect("utf8"),
    ]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("bad.jsonl:2:") && err.contains("actor.ip"),
        "{err}"
    );
}

#[test]
fn rules_test_and_check() {
    let o = run(&["rules", "test", DEFAULT_PACK]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{out}");
    assert!(out.contains(" passed, 0 failed"), "{out}");

    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(
        dir.path().join("pack.yaml"),
        "pack: {name: t, version: '1'}\nrules:\n  - {name: bad_rule, on: [transfer], when: 'features.ghost > 1', action: deny, reason: r}\n",
    )
    .expect("write");
    let o = run(&["rules", "check", dir.path().to_str().expect("utf8")]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("rule `bad_rule`") && err.contains("unknown feature `ghost`"),
        "{err}"
    );
}

#[test]
fn simulate_writes_the_scorecard_files() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = dir.path().join("sim");
    let args = [
        "simulate",
        "--size",
        "small",
        "--seed",
        "2",
        "--scenario",
        "docomo-koza,zaif",
        "--out",
    ];
    let o = run(&[&args[..], &[out.to_str().expect("utf8")]].concat());
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("scorecard.json")).expect("json"))
            .expect("parses");
    assert_eq!(
        card["rows"].as_array().map(Vec::len),
        Some(8),
        "2 scenarios x 4 baselines"
    );
    assert_eq!(card["honest"].as_array().map(Vec::len), Some(4));
    for f in [
        "scorecard.md",
        "timing.json",
        "ground_truth.jsonl",
        "stolen.png",
        "loss-zaif.png",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    let again = dir.path().join("again");
    let o = run(&[&args[..], &[again.to_str().expect("utf8")]].concat());
    assert!(o.status.success());
    for f in [
        "scorecard.json",
        "scorecard.md",
        "ground_truth.jsonl",
        "stolen.png",
        "loss-zaif.png",
    ] {
        let (a, b) = (
            std::fs::read(out.join(f)).expect("first"),
            std::fs::read(again.join(f)).expect("second"),
        );
        assert!(a == b, "{f} differs between two runs with the same seed");
    }
    let bad = run(&[
        "simulate",
        "--scenario",
        "nope",
        "--out",
        out.to_str().expect("utf8"),
    ]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown scenario `nope`"));
}
