//! Engine behaviour: determinism, restore, pack swaps, lists, holds, test runner.

use sekimori_engine::{run_pack_tests, Engine, HoldKey};
use sekimori_event::{decode_value, Event};
use sekimori_rules::{compile, load_pack, Action, Pack, PackSource};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

fn default_source() -> PackSource {
    load_pack(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/default")).expect("loads")
}

fn pack(source: PackSource) -> Arc<Pack> {
    Arc::new(compile(source).expect("compiles"))
}

fn ev(v: Value) -> Event {
    decode_value(v).expect("valid event")
}

/// A stream of failed PIN logins: `n` accounts, one shared secret, one per 10 s.
fn spray(n: usize) -> Vec<Event> {
    (0..n)
        .map(|i| {
            ev(json!({"id": format!("s{i}"), "type": "login.attempt", "service": "bank",
                "at": sekimori_event::format_rfc3339_ms(1_767_225_600_000 + i as i64 * 10_000),
                "account": format!("acct-{}", i % 13), "factor": "pin", "result": "failure",
                "secret_fp": format!("k1:{}", "ab".repeat(32)), "actor": {"ip": format!("203.0.113.{}", i % 200)}}))
        })
        .collect()
}

fn decide_all(engine: &mut Engine, events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| serde_json::to_string(&engine.decide(e)).expect("json"))
        .collect()
}

#[test]
fn same_events_same_decisions_byte_for_byte() {
    let p = pack(default_source());
    let events = spray(300);
    let a = decide_all(&mut Engine::new(Arc::clone(&p)), &events);
    let b = decide_all(&mut Engine::new(p), &events);
    assert_eq!(a, b);
    assert!(
        a.iter().any(|d| d.contains("secret_tried_across_accounts")),
        "the spray is caught"
    );
}

#[test]
fn snapshot_restore_equals_uninterrupted_run() {
    let p = pack(default_source());
    let events = spray(400);
    let mut whole = Engine::new(Arc::clone(&p));
    let expected = decide_all(&mut whole, &events);
    let mut first = Engine::new(Arc::clone(&p));
    let mut got = decide_all(&mut first, &events[..150]);
    let mut second = Engine::restore(Arc::clone(&p), &first.snapshot()).expect("restores");
    assert_eq!(second.state_digest(), first.state_digest());
    got.extend(decide_all(&mut second, &events[150..]));
    assert_eq!(got, expected);
    assert_eq!(second.state_digest(), whole.state_digest());
}

#[test]
fn counts_advance_by_exactly_one_per_event() {
    let p = pack(default_source());
    let mut engine = Engine::new(p);
    for (i, e) in spray(13).iter().enumerate() {
        let d = engine.decide(e);
        assert_eq!(d.features["accounts_failing_per_secret_1h"], json!(i + 1));
    }
}

#[test]
fn pack_swap_keeps_unchanged_features_and_resets_changed_ones() {
    let src = default_source();
    let mut engine = Engine::new(pack(src.clone()));
    for e in spray(5) {
        engine.decide(&e);
    }
    let mut changed = src;
    changed.pack.version = "2".into();
    let f = changed
        .features
        .iter_mut()
        .find(|f| f.name == "login_failures_per_account_15m")
        .expect("feature");
    f.window = "30m".into();
    engine.set_pack(pack(changed));
    let d = engine.decide(&spray(6)[5]);
    assert_eq!(
        d.features["accounts_failing_per_secret_1h"],
        json!(6),
        "unchanged feature kept its state"
    );
    assert_eq!(
        d.features["login_failures_per_account_15m"],
        json!(1),
        "changed feature started empty"
    );
    assert_eq!(d.pack.version, "2");
}

#[test]
fn api_list_items_take_effect_and_holds_stick_until_lifted() {
    let mut engine = Engine::new(pack(default_source()));
    let login = |id: &str, ip: &str| {
        ev(
            json!({"id": id, "type": "login.attempt", "at": "2026-01-01T00:00:00Z", "service": "w",
            "account": "a1", "factor": "passkey", "result": "success", "actor": {"ip": ip}}),
        )
    };
    assert_eq!(
        engine.decide(&login("l1", "198.51.100.1")).action,
        Action::Allow
    );
    engine
        .set_list("blocked_ips", ["198.51.100.1".to_string()].into())
        .expect("declared list");
    assert_eq!(
        engine.decide(&login("l2", "198.51.100.1")).action,
        Action::Deny
    );
    assert!(engine.set_list("no_such_list", Default::default()).is_err());

    let not_me = ev(
        json!({"id": "n1", "type": "report.not_me", "at": "2026-01-01T00:01:00Z",
        "service": "w", "account": "a1"}),
    );
    assert_eq!(engine.decide(&not_me).action, Action::Freeze);
    let d = engine.decide(&login("l3", "198.51.100.9"));
    assert_eq!(d.action, Action::Freeze);
    assert_eq!(d.reasons[0].rule, "hold.account_frozen");
    assert!(engine.lift_hold(&HoldKey::account("w", "a1")));
    assert_eq!(
        engine.decide(&login("l4", "198.51.100.9")).action,
        Action::Allow
    );
}

#[test]
fn a_wrong_expectation_fails_the_pack_test() {
    let mut src = default_source();
    let t = src
        .tests
        .iter_mut()
        .find(|t| t.name == "ten_failures_challenge")
        .expect("test");
    t.expect.action = Some(Action::Allow);
    let outcomes = run_pack_tests(&pack(src));
    let o = outcomes
        .iter()
        .find(|o| o.name == "ten_failures_challenge")
        .expect("ran");
    assert!(!o.passed());
    assert!(
        o.failures[0].contains("expected action Allow, got Challenge"),
        "{:?}",
        o.failures
    );
}

#[test]
fn late_events_are_clamped_and_flagged() {
    let mut engine = Engine::new(pack(default_source()));
    let events = spray(40);
    for e in &events[10..40] {
        assert!(!engine.decide(e).late);
    }
    let d = engine.decide(&events[0]);
    assert!(d.late, "400 s behind with 5 min lateness is late");
    assert!(!engine.decide(&events[39]).late);
}

#[test]
fn snapshots_carry_holds_and_api_lists() {
    let p = pack(default_source());
    let mut engine = Engine::new(Arc::clone(&p));
    let plain_digest = engine.state_digest();
    let not_me = ev(
        json!({"id": "n1", "type": "report.not_me", "at": "2026-01-01T00:00:00Z", "service": "w", "account": "v1"}),
    );
    engine.decide(&not_me);
    engine
        .set_list("blocked_ips", ["198.51.100.77".to_string()].into())
        .expect("list");
    let mut restored = Engine::restore(Arc::clone(&p), &engine.snapshot())
        .expect("a snapshot with a hold restores");
    assert_eq!(restored.state_digest(), engine.state_digest());
    let mut without_hold = Engine::new(p);
    without_hold.decide(&ev(json!({"id": "n1", "type": "report.not_me", "at": "2026-01-01T00:00:00Z", "service": "w", "account": "other"})));
    assert_ne!(
        without_hold.state_digest(),
        engine.state_digest(),
        "holds are part of the digest"
    );
    assert_ne!(plain_digest, engine.state_digest());
    let later = ev(
        json!({"id": "x", "type": "login.attempt", "at": "2026-01-01T00:01:00Z", "service": "w",
        "account": "v1", "factor": "passkey", "result": "success"}),
    );
    assert_eq!(
        restored.decide(&later).action,
        Action::Freeze,
        "the hold survives the snapshot"
    );
}

/// Every example event (one of each type), twice over so that state is read.
fn example_events() -> Vec<Event> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/events");
    let mut out = Vec::new();
    for name in ["accounts.jsonl", "money.jsonl", "custody.jsonl"] {
        let text = std::fs::read_to_string(dir.join(name)).expect("examples");
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            out.push(sekimori_event::decode(line.as_bytes()).expect("valid example"));
        }
    }
    let again: Vec<Event> = out
        .iter()
        .map(|e| {
            let mut e = e.clone();
            e.id = format!("{}-again", e.id);
            e
        })
        .collect();
    out.extend(again);
    out
}

#[test]
fn a_prepared_event_is_decided_as_the_event_itself() {
    let events = example_events();
    assert!(events.len() >= 38, "{} examples", events.len());
    let p = pack(default_source());
    let (mut plain, mut prepared) = (Engine::new(Arc::clone(&p)), Engine::new(p));
    let mut actions = std::collections::BTreeSet::new();
    for e in &events {
        let ready = sekimori_engine::Prepared::new(e.clone());
        assert_eq!(ready.canonical(), &e.to_json(), "{}", e.id);
        assert_eq!(ready.view(), &sekimori_engine::event_view(e), "{}", e.id);
        let a = plain.decide(e);
        actions.insert(a.action);
        let b = prepared.decide_prepared(&ready);
        let json = |d| serde_json::to_string(&d).expect("json");
        assert_eq!(json(a), json(b), "{}", e.id);
    }
    assert_eq!(plain.state_digest(), prepared.state_digest());
    assert!(
        actions.len() > 1,
        "the examples reach one action only: {actions:?}"
    );
}
