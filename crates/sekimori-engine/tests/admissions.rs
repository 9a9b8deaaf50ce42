//! `flag` rules in decisions, and `counts: allowed` updates that wait for a
//! challenged event's step-up (the allow-list entry of a payee.add exists
//! only once its step-up passed), across snapshots and replays.

use sekimori_engine::{Engine, Entry};
use sekimori_event::{decode_value, format_rfc3339_ms, Event};
use sekimori_rules::{compile, load_pack, Action, Pack, PackSource, RuleAction};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;

const DAY_MS: i64 = 86_400_000;
const T0: i64 = 1_767_225_600_000;

fn default_pack() -> Arc<Pack> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/default");
    Arc::new(compile(load_pack(&dir).expect("loads")).expect("compiles"))
}

fn ev(v: Value) -> Event {
    decode_value(v).expect("valid event")
}

fn payee_add(id: &str, account: &str, address: &str, at_ms: i64) -> Event {
    ev(
        json!({"id": id, "type": "payee.add", "service": "exchange", "account": account,
              "at": format_rfc3339_ms(at_ms),
              "destination": {"kind": "crypto", "address": address, "network": "bitcoin"}}),
    )
}

fn mfa_result(id: &str, account: &str, for_event: &str, result: &str, at_ms: i64) -> Event {
    ev(
        json!({"id": id, "type": "mfa.result", "service": "exchange", "account": account,
              "method": "totp", "challenge_id": format!("c-{id}"), "for_event": for_event,
              "result": result, "at": format_rfc3339_ms(at_ms)}),
    )
}

fn request(id: &str, account: &str, address: &str, at_ms: i64) -> Event {
    ev(
        json!({"id": id, "type": "withdrawal.request", "service": "exchange", "request_id": id,
              "account": account, "amount_minor": 2_000_000, "currency": "BTC",
              "at": format_rfc3339_ms(at_ms),
              "destination": {"kind": "crypto", "address": address}}),
    )
}

/// Two holders add addresses under a step-up: one passes, one never answers.
/// Two and a half days later, only the passed one is listed.
fn story() -> Vec<Event> {
    vec![
        payee_add("p1", "x-1", "bc1qholder", T0),
        payee_add("p2", "x-2", "bc1qthief", T0 + 10_000),
        mfa_result("m1", "x-1", "p1", "success", T0 + 30_000),
        request("r1", "x-1", "bc1qholder", T0 + 2 * DAY_MS + 12 * 3_600_000),
        request(
            "r2",
            "x-2",
            "bc1qthief",
            T0 + 2 * DAY_MS + 12 * 3_600_000 + 1_000,
        ),
    ]
}

fn run(engine: &mut Engine, events: &[Event]) -> Vec<String> {
    events
        .iter()
        .map(|e| serde_json::to_string(&engine.decide(e)).expect("json"))
        .collect()
}

#[test]
fn only_a_passed_step_up_lists_an_address() {
    let mut engine = Engine::new(default_pack());
    let events = story();
    let decisions: Vec<_> = events.iter().map(|e| engine.decide(e)).collect();
    assert_eq!(
        decisions[0].action,
        Action::Challenge,
        "a new payee steps up"
    );
    assert_eq!(decisions[1].action, Action::Challenge);
    assert_eq!(decisions[3].action, Action::Allow, "{:?}", decisions[3]);
    assert_eq!(
        decisions[3].features["address_listed_at"],
        json!(T0 + 30_000),
        "listed when the step-up passed"
    );
    assert_eq!(decisions[4].action, Action::Review);
    assert_eq!(decisions[4].features["address_listed_at"], Value::Null);
}

#[test]
fn a_parked_admission_survives_a_snapshot_and_replays_the_same() {
    let p = default_pack();
    let events = story();
    let mut whole = Engine::new(Arc::clone(&p));
    let expected = run(&mut whole, &events);
    assert!(
        expected[3].contains(r#""action":"allow""#),
        "{}",
        expected[3]
    );
    assert!(
        expected[4].contains("address_not_yet_locked_in"),
        "{}",
        expected[4]
    );
    // Snapshot while both payee.adds wait for their step-ups.
    let mut first = Engine::new(Arc::clone(&p));
    let mut got = run(&mut first, &events[..2]);
    let snapshot = first.snapshot();
    let mut second = Engine::restore(Arc::clone(&p), &snapshot).expect("restores");
    assert_eq!(second.state_digest(), first.state_digest());
    got.extend(run(&mut second, &events[2..]));
    assert_eq!(got, expected);
    assert_eq!(second.state_digest(), whole.state_digest());
    // A replay of the log gives the same decisions and state.
    let mut replayed = Engine::new(Arc::clone(&p));
    for (e, d) in events.iter().zip(&expected) {
        let entry = Entry::Event {
            event: serde_json::to_value(e).expect("json"),
            decision: serde_json::from_str(d).expect("decision"),
        };
        replayed
            .replay_entry(&entry, &mut |_| Err("no pack change".into()))
            .expect("replays");
    }
    assert_eq!(replayed.state_digest(), whole.state_digest());
}

#[test]
fn a_late_or_refused_step_up_admits_nothing() {
    let p = default_pack();
    // Too late: 16 minutes after the challenge.
    let mut engine = Engine::new(Arc::clone(&p));
    engine.decide(&payee_add("p1", "x-1", "bc1qholder", T0));
    engine.decide(&mfa_result("m1", "x-1", "p1", "success", T0 + 16 * 60_000));
    let d = engine.decide(&request("r1", "x-1", "bc1qholder", T0 + 3 * DAY_MS));
    assert_eq!(
        (d.action, &d.features["address_listed_at"]),
        (Action::Review, &Value::Null)
    );
    // Refused: the account is frozen when the step-up result arrives.
    let mut engine = Engine::new(p);
    engine.decide(&payee_add("p1", "x-1", "bc1qholder", T0));
    engine.decide(&ev(
        json!({"id": "n1", "type": "report.not_me", "service": "exchange",
                             "account": "x-1", "at": format_rfc3339_ms(T0 + 10_000)}),
    ));
    let d = engine.decide(&mfa_result("m1", "x-1", "p1", "success", T0 + 20_000));
    assert_eq!(d.action, Action::Freeze);
    let d = engine.decide(&request("r1", "x-1", "bc1qholder", T0 + 3 * DAY_MS));
    assert_eq!(d.features["address_listed_at"], Value::Null);
}

/// A pack with a deny rule, a flag and (optionally) an allow on transfers.
fn flag_pack(with_allow: bool) -> Arc<Pack> {
    let mut rules = vec![
        json!({"name": "big", "on": ["transfer"], "when": "event.amount_minor >= 1000",
               "action": "deny", "score": 70, "reason": "Too big."}),
        json!({"name": "note", "on": ["transfer"], "when": "event.amount_minor >= 500",
               "action": "flag", "score": 5, "reason": "Worth a look."}),
    ];
    if with_allow {
        rules.push(
            json!({"name": "vip", "on": ["transfer"], "when": "event.account == 'vip'",
                          "action": "allow", "reason": "Allow-listed."}),
        );
    }
    let source: PackSource = serde_json::from_value(json!({
        "pack": {"name": "t", "version": "1"}, "rules": rules
    }))
    .expect("shape");
    Arc::new(compile(source).expect("compiles"))
}

fn transfer(id: &str, account: &str, amount: i64) -> Event {
    ev(
        json!({"id": id, "type": "transfer", "service": "bank", "account": account,
              "amount_minor": amount, "currency": "JPY", "at": format_rfc3339_ms(T0),
              "destination": {"kind": "account", "account": "b-2"}}),
    )
}

#[test]
fn a_flag_adds_its_reason_and_score_and_decides_nothing() {
    let mut engine = Engine::new(flag_pack(false));
    let d = engine.decide(&transfer("t1", "a-1", 600));
    assert_eq!((d.action, d.score), (Action::Allow, 5));
    assert_eq!(d.reasons.len(), 1);
    assert_eq!(d.reasons[0].action, RuleAction::Flag);
    let json = serde_json::to_value(&d).expect("json");
    assert_eq!(json["action"], "allow");
    assert_eq!(json["reasons"][0]["action"], "flag");
    // Beside a deny, a flag leaves the deny (an allow would override it).
    let d = engine.decide(&transfer("t2", "a-1", 2_000));
    assert_eq!((d.action, d.score), (Action::Deny, 75));
    let mut engine = Engine::new(flag_pack(true));
    let d = engine.decide(&transfer("t3", "vip", 2_000));
    assert_eq!(
        d.action,
        Action::Allow,
        "no guard here: the allow-list works"
    );
    // A decision logged with a flag reason reads back the same.
    let back: sekimori_engine::Decision =
        serde_json::from_value(serde_json::to_value(&d).expect("json")).expect("decision");
    assert_eq!(back, d);
}
