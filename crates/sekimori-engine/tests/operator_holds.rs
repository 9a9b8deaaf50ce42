//! Holds an operator places (the API's kill switch): placement, refusal of a
//! second hold, snapshots and replay of `Entry::Place`.

use sekimori_engine::{Engine, Entry, HoldKey, HoldScope};
use sekimori_event::decode_value;
use sekimori_rules::{compile, load_pack, Action, Pack};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;

fn pack() -> Arc<Pack> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/default");
    Arc::new(compile(load_pack(&dir).expect("loads")).expect("compiles"))
}

fn asset(code: &str) -> HoldKey {
    HoldKey {
        service: "w".into(),
        scope: HoldScope::Asset,
        key: code.into(),
    }
}

fn charge(id: &str, currency: &str) -> sekimori_event::Event {
    decode_value(
        json!({"id": id, "type": "charge", "service": "w", "at": "2026-01-01T00:00:00Z",
        "account": "a1", "amount_minor": 100, "currency": currency,
        "source": {"kind": "bank", "bank_code": "0001", "branch": "001", "number": "0000001"}}),
    )
    .expect("valid")
}

#[test]
fn an_operator_halt_answers_every_covered_event_until_lifted() {
    let mut engine = Engine::new(pack());
    let at = 1_767_225_600_000;
    assert_eq!(
        engine.place_hold(asset("XEM"), Action::Halt, "ops", "hot wallet drained", at),
        Ok(true)
    );
    assert_eq!(
        engine.place_hold(asset("XEM"), Action::Halt, "ops2", "again", at + 1),
        Ok(false),
        "an existing hold is not overwritten"
    );
    let hold = engine.holds().get(&asset("XEM")).expect("in force");
    assert_eq!(
        (hold.by.as_deref(), hold.reason.as_deref(), hold.since_ms),
        (Some("ops"), Some("hot wallet drained"), at)
    );
    let d = engine.decide(&charge("c1", "XEM"));
    assert_eq!(d.action, Action::Halt);
    assert_eq!(d.reasons[0].rule, "hold.asset_halted");
    assert!(
        d.reasons[0].reason.contains("operator `ops`"),
        "{:?}",
        d.reasons
    );
    assert_eq!(engine.decide(&charge("c2", "JPY")).action, Action::Allow);
    assert!(engine.lift_hold(&asset("XEM")));
    assert_eq!(engine.decide(&charge("c3", "XEM")).action, Action::Allow);
}

#[test]
fn freeze_is_for_accounts_and_halt_for_the_rest() {
    let mut engine = Engine::new(pack());
    assert!(engine
        .place_hold(asset("BTC"), Action::Freeze, "ops", "x", 0)
        .is_err());
    assert!(engine
        .place_hold(HoldKey::account("w", "a1"), Action::Halt, "ops", "x", 0)
        .is_err());
    assert!(engine
        .place_hold(asset("BTC"), Action::Deny, "ops", "x", 0)
        .is_err());
    assert_eq!(engine.holds().list().count(), 0);
    assert_eq!(
        engine.place_hold(HoldKey::account("w", "a1"), Action::Freeze, "ops", "x", 0),
        Ok(true)
    );
}

#[test]
fn a_logged_placement_replays_and_survives_a_snapshot() {
    let p = pack();
    let entry = Entry::Place {
        hold: asset("XEM"),
        action: Action::Halt,
        by: "ops".into(),
        reason: "drain".into(),
        at: "2026-01-01T00:00:00.000Z".into(),
    };
    let entry = Entry::from_bytes(&entry.to_bytes()).expect("round trip");
    let mut live = Engine::new(Arc::clone(&p));
    let mut loader = |_: &str| -> Result<Arc<Pack>, String> { Err("no packs".into()) };
    live.replay_entry(&entry, &mut loader).expect("replays");
    let decided = live.decide(&charge("c1", "XEM"));
    let mut again = Engine::new(Arc::clone(&p));
    again.replay_entry(&entry, &mut loader).expect("replays");
    assert_eq!(again.decide(&charge("c1", "XEM")), decided);
    assert_eq!(again.state_digest(), live.state_digest());
    let restored = Engine::restore(p, &live.snapshot()).expect("restores");
    assert_eq!(restored.state_digest(), live.state_digest());
    let hold = restored.holds().get(&asset("XEM")).expect("kept");
    assert_eq!(hold.reason.as_deref(), Some("drain"));
    let bad = Entry::Place {
        hold: asset("XEM"),
        action: Action::Halt,
        by: "ops".into(),
        reason: "drain".into(),
        at: "yesterday".into(),
    };
    assert!(Engine::new(pack()).replay_entry(&bad, &mut loader).is_err());
}

/// Issue 12.2: services are tenants. A "not me" at one service freezes that
/// service's account only; a wallet.outflow at one service halts only its
/// wallet; a hold of every service (`*`, the operator's) covers them all.
#[test]
fn holds_stay_within_their_service() {
    let mut engine = Engine::new(pack());
    let ev = |v: serde_json::Value| decode_value(v).expect("valid");
    let not_me = ev(
        json!({"id": "n1", "type": "report.not_me", "at": "2026-01-01T00:00:00Z",
        "service": "qr-pay", "account": "cust-42"}),
    );
    assert_eq!(engine.decide(&not_me).action, Action::Freeze);
    let login = |id: &str, service: &str| {
        ev(
            json!({"id": id, "type": "login.attempt", "at": "2026-01-01T00:01:00Z",
            "service": service, "account": "cust-42", "factor": "passkey", "result": "success",
            "actor": {"ip": "198.51.100.7", "device": "d1"}}),
        )
    };
    assert_eq!(engine.decide(&login("l1", "qr-pay")).action, Action::Freeze);
    for (id, other) in [("l2", "exchange"), ("l3", "netbank")] {
        let d = engine.decide(&login(id, other));
        assert!(
            d.reasons.iter().all(|r| r.rule != "hold.account_frozen"),
            "{other}'s cust-42 is another customer: {d:?}"
        );
    }
    // An outflow nothing explains halts that service's wallet, not another's.
    let outflow = |id: &str, service: &str| {
        ev(
            json!({"id": id, "type": "wallet.outflow", "at": "2026-01-01T00:02:00Z",
            "service": service, "wallet": "hot-1", "stage": "signing", "amount_minor": 5,
            "currency": "XEM", "address": "NADDR", "request_id": id}),
        )
    };
    assert_eq!(engine.decide(&outflow("o1", "qr-pay")).action, Action::Halt);
    let held = engine
        .holds()
        .list()
        .map(|(k, _)| k.clone())
        .collect::<Vec<_>>();
    assert!(held.iter().all(|k| k.service == "qr-pay"), "{held:?}");
    // The operator's hold of every service covers every service.
    engine
        .place_hold(
            HoldKey::account("*", "cust-42"),
            Action::Freeze,
            "ops",
            "court order",
            1_767_225_700_000,
        )
        .expect("fits");
    assert_eq!(
        engine.decide(&login("l4", "netbank")).action,
        Action::Freeze
    );
}
