//! Invalid packs are rejected with the part and the problem named: names,
//! references, sizes and shapes, every problem at once, YAML errors by file
//! and line. (Expressions: `expressions.rs`; guards, flags and fallbacks:
//! `guards.rs`; profiles and named conditions: `profiles.rs`.)

mod common;

use common::{base, check, tempfile_dir};
use sekimori_rules::{compile, load_pack, PackSource};
use serde_json::json;

#[test]
fn the_base_pack_compiles() {
    let src: PackSource = serde_json::from_value(base()).expect("shape");
    let pack = compile(src).expect("valid");
    assert_eq!(
        pack.plan(sekimori_event::EventKind::LoginAttempt).rules,
        vec![0]
    );
    assert!(pack
        .plan(sekimori_event::EventKind::Transfer)
        .rules
        .is_empty());
}

#[test]
fn rejections_name_the_part_and_the_problem() {
    check(
        |v| v["rules"][0]["when"] = json!("features.nope > 1"),
        "rule `guess`",
        "unknown feature `nope`",
    );
    check(
        |v| v["rules"][0]["when"] = json!("features.fails_15m >"),
        "rule `guess`",
        "does not parse",
    );
    check(
        |v| v["rules"][0]["when"] = json!("event.amount_minor > 5"),
        "rule `guess`",
        "unknown field `event.amount_minor`",
    );
    check(
        |v| v["rules"][0]["when"] = json!("event.actor.shoe > 5"),
        "rule `guess`",
        "unknown field `event.actor.shoe`",
    );
    check(
        |v| v["rules"][0]["when"] = json!("wallet.x == 1"),
        "rule `guess`",
        "unknown variable `wallet`",
    );
    check(
        |v| v["rules"][0]["when"] = json!("event.account in lists.nope"),
        "rule `guess`",
        "unknown list `nope`",
    );
    check(
        |v| v["rules"][0]["when"] = json!("1 + ".repeat(1100) + "1"),
        "rule `guess`",
        "longer than 4096 bytes",
    );
    check(
        |v| v["rules"][0]["when"] = json!(vec!["event.account == 'x'"; 150].join(" || ")),
        "rule `guess`",
        "more than 512 nodes",
    );
    check(
        |v| v["rules"][0]["on"] = json!(["login.teleport"]),
        "rule `guess`",
        "unknown event type `login.teleport`",
    );
    check(
        |v| v["rules"][0]["methods"] = json!([]),
        "rule `guess`",
        "must list its `methods`",
    );
    check(
        |v| v["rules"][0]["action"] = json!("halt"),
        "rule `guess`",
        "`methods` is only for challenge",
    );
    check(
        |v| v["rules"][0]["name"] = json!("Bad Name"),
        "rule `Bad Name`",
        "name must match",
    );
    check(
        |v| v["rules"][0]["score"] = json!(5000),
        "rule `guess`",
        "score must be 0 to 1000",
    );
    check(
        |v| v["features"][0]["window"] = json!("91d"),
        "feature `fails_15m`",
        "between 1s and 90d",
    );
    check(
        |v| v["features"][0]["window"] = json!("15 minutes"),
        "feature `fails_15m`",
        "unknown unit",
    );
    check(
        |v| v["features"][0]["aggregate"] = json!("sum"),
        "feature `fails_15m`",
        "needs `of`",
    );
    check(
        |v| v["features"][0]["filter"] = json!("features.fails_15m > 1"),
        "feature `fails_15m`",
        "features may not read features",
    );
    check(
        |v| v["features"][0]["key"] = json!([]),
        "feature `fails_15m`",
        "1 to 4 parts",
    );
    check(
        |v| v["settings"] = json!({"fallback": {"login.attempt": "halt"}}),
        "settings",
        "fallback for `login.attempt`",
    );
    check(
        |v| v["pack"]["version"] = json!("has space"),
        "pack",
        "version must be",
    );
    check(
        |v| v["tests"] = json!([{"name": "x", "events": [{}], "expect": {"fired": ["ghost"]}}]),
        "test `x`",
        "unknown rule `ghost`",
    );
}

#[test]
fn brackets_inside_strings_do_not_count_as_nesting() {
    let mut v = base();
    v["rules"][0]["when"] = json!(format!("event.account != '{}' && ((true))", "(".repeat(60)));
    compile(serde_json::from_value(v).expect("shape")).expect("valid");
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut v = base();
    v["rules"][0]["when"] = json!("features.nope > 1");
    v["features"][0]["window"] = json!("91d");
    let Err(errs) = compile(serde_json::from_value(v).expect("shape")) else {
        panic!("rejected")
    };
    assert!(errs.len() >= 2, "{errs:#?}");
}

#[test]
fn yaml_errors_name_file_and_line() {
    let dir = tempfile_dir();
    std::fs::write(
        dir.join("pack.yaml"),
        "pack:\n  name: t\n  version: 1\nrules:\n  - name: [unclosed\n",
    )
    .expect("write");
    let err = load_pack(&dir).expect_err("bad yaml").to_string();
    assert!(err.contains("pack.yaml") && err.contains("line"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
