//! Entity profiles (`aggregate: amounts`, `hours`) through the engine with
//! the default pack: what they read, that they learn only what was
//! admitted, and that they survive snapshots, copies and the memory budget.

use sekimori_engine::Engine;
use sekimori_event::{decode_value, Event};
use sekimori_rules::{compile, load_pack, Pack};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const H: i64 = 3_600_000;

fn default_pack() -> Arc<Pack> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/default");
    Arc::new(compile(load_pack(&dir).expect("loads")).expect("compiles"))
}

fn ev(v: Value) -> Event {
    decode_value(v).expect("valid event")
}

/// A transfer of `amount` yen from `account` to an old payee (named 30 days
/// before), at `at_ms`.
fn transfer(id: &str, account: &str, amount: i64, at_ms: i64, payee: &str) -> Event {
    ev(
        json!({"id": id, "type": "transfer", "service": "netbank", "account": account,
        "at": sekimori_event::format_rfc3339_ms(at_ms), "amount_minor": amount, "currency": "JPY",
        "destination": {"kind": "bank", "bank_code": "0005", "branch": "100", "number": payee}}),
    )
}

/// Many accounts paying their usual amounts at their usual hours.
fn honest_stream(accounts: usize, days: i64) -> Vec<Event> {
    let mut out = Vec::new();
    for d in 0..days {
        for a in 0..accounts {
            let at = T0 + d * 24 * H + (a as i64 % 12) * H;
            let amount = 5_000 + (a as i64 % 7) * 1_000 + d * 10;
            out.push(transfer(
                &format!("e{d}-{a}"),
                &format!("acct-{a}"),
                amount,
                at,
                &format!("{:07}", a),
            ));
        }
    }
    out
}

fn decide_all(engine: &mut Engine, events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| serde_json::to_string(&engine.decide(e)).expect("json"))
        .collect()
}

#[test]
fn profiles_read_the_history_before_the_event() {
    let mut engine = Engine::new(default_pack());
    let mut last = Value::Null;
    for i in 0..6 {
        let d = engine.decide(&transfer(
            &format!("t{i}"),
            "a-1",
            10_000,
            T0 + i * 24 * H,
            "0000001",
        ));
        assert_eq!(d.features["payer_amounts"]["history"], json!(i), "{i}");
        last = serde_json::to_value(&d.features).expect("json");
    }
    assert_eq!(last["payer_amounts"]["percentile"], json!(5_000));
    assert_eq!(last["money_hours"]["history"], json!(5));
    // Far above the usual, to a new payee: the unusual-amount rule.
    let d = engine.decide(&transfer("big", "a-1", 190_000, T0 + 6 * 24 * H, "0009999"));
    assert_eq!(d.features["payer_amounts"]["percentile"], json!(10_000));
    assert!(
        d.features["payer_amounts"]["ratio"]
            .as_i64()
            .expect("ratio")
            >= 150_000
    );
    assert!(
        d.reasons
            .iter()
            .any(|r| r.rule == "unusual_amount_to_new_counterparty"),
        "{:?}",
        d.reasons
    );
    // It was challenged and never passed: the history did not learn it.
    let d = engine.decide(&transfer("next", "a-1", 10_000, T0 + 7 * 24 * H, "0000001"));
    assert_eq!(d.features["payer_amounts"]["history"], json!(6));
}

#[test]
fn a_passed_step_up_teaches_the_history() {
    let mut engine = Engine::new(default_pack());
    for i in 0..6 {
        engine.decide(&transfer(
            &format!("t{i}"),
            "a-2",
            10_000,
            T0 + i * 24 * H,
            "0000001",
        ));
    }
    let at = T0 + 6 * 24 * H;
    let d = engine.decide(&transfer("big", "a-2", 190_000, at, "0009999"));
    assert_eq!(d.action, sekimori_rules::Action::Challenge);
    engine.decide(&ev(
        json!({"id": "m1", "type": "mfa.result", "service": "netbank", "account": "a-2",
        "at": sekimori_event::format_rfc3339_ms(at + 60_000), "method": "txsign",
        "result": "success", "challenge_id": "c-big", "for_event": "big"}),
    ));
    let d = engine.decide(&transfer("after", "a-2", 10_000, at + 120_000, "0000001"));
    assert_eq!(d.features["payer_amounts"]["history"], json!(7));
}

#[test]
fn snapshot_and_restore_keep_profiles_and_the_digest() {
    let p = default_pack();
    let events = honest_stream(40, 8);
    let mut whole = Engine::new(Arc::clone(&p));
    let expected = decide_all(&mut whole, &events);
    let half = events.len() / 2;
    let mut first = Engine::new(Arc::clone(&p));
    let mut got = decide_all(&mut first, &events[..half]);
    let copy = first.snapshot_copy();
    let mut second = Engine::restore(Arc::clone(&p), &first.snapshot()).expect("restores");
    assert_eq!(second.state_digest(), first.state_digest());
    assert_eq!(
        second.memory().accounted_bytes,
        first.memory().accounted_bytes
    );
    got.extend(decide_all(&mut second, &events[half..]));
    assert_eq!(got, expected);
    assert_eq!(second.state_digest(), whole.state_digest());
    // The copy taken midway still serializes the state as of the copy.
    let from_copy = Engine::restore(Arc::clone(&p), &copy.to_bytes()).expect("restores");
    assert_eq!(
        from_copy.state_digest(),
        Engine::restore(p, &first.snapshot())
            .expect("restores")
            .state_digest()
    );
}

#[test]
fn profiles_are_in_the_memory_budget() {
    let p = default_pack();
    let events = honest_stream(300, 3);
    let mut engine = Engine::new(Arc::clone(&p));
    decide_all(&mut engine, &events[..300]);
    let small = engine.memory().accounted_bytes;
    decide_all(&mut engine, &events[300..]);
    let used = engine.memory().accounted_bytes;
    assert!(used > small);
    let budget = used / 2;
    engine.set_memory_budget(Some(budget));
    let m = engine.memory();
    assert!(
        m.accounted_bytes <= budget,
        "{} > {budget}",
        m.accounted_bytes
    );
    assert!(
        m.evicted[1] > 0,
        "windows and profiles were evicted: {:?}",
        m.evicted
    );
    // Restoring the evicted state gives the same digest.
    let back = Engine::restore(p, &engine.snapshot()).expect("restores");
    assert_eq!(back.state_digest(), engine.state_digest());
}
