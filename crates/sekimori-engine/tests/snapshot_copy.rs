//! The ledger's snapshot copy (issue 12 part 1) is copy-on-write: events
//! decided after `Engine::snapshot_copy` must not leak into it, its bytes
//! are the snapshot as of the copy, and restoring them gives that state.

use sekimori_engine::Engine;
use sekimori_event::{decode_value, format_rfc3339_ms, Event};
use sekimori_rules::{compile, load_pack, Pack};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;

const T0: i64 = 1_767_225_600_000;

fn default_pack() -> Arc<Pack> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/default");
    Arc::new(compile(load_pack(&dir).expect("loads")).expect("compiles"))
}

/// Logins (failed and successful, so risk profiles learn) and transfers of
/// `accounts` accounts from a few devices and networks.
fn events(from: u64, to: u64, accounts: u64) -> Vec<Event> {
    (from..to)
        .map(|i| {
            let at = format_rfc3339_ms(T0 + i as i64 * 1_000);
            let a = i % accounts;
            let actor = json!({"ip": format!("10.0.{}.{}", i % 3, a % 50), "device": format!("d{}", i % 5)});
            let v = match i % 3 {
                0 => json!({"id": format!("e{i}"), "type": "transfer", "at": at, "service": "bank",
                    "account": format!("u{a}"), "amount_minor": 1000 + i, "currency": "JPY",
                    "actor": actor, "destination": {"kind": "bank", "bank_code": "0001",
                    "branch": "100", "number": format!("{:07}", i % 40)}}),
                r => json!({"id": format!("e{i}"), "type": "login.attempt", "at": at,
                    "service": "bank", "account": format!("u{a}"), "factor": "password",
                    "result": if r == 1 { "success" } else { "failure" },
                    "secret_fp": format!("k1:{:064x}", a), "actor": actor}),
            };
            decode_value(v).expect("valid event")
        })
        .collect()
}

#[test]
fn a_copy_is_the_state_at_the_copy_whatever_is_decided_after_it() {
    let pack = default_pack();
    let mut engine = Engine::new(Arc::clone(&pack));
    for e in events(0, 600, 80) {
        engine.decide(&e);
    }
    let bytes_then = engine.snapshot();
    let digest_then = engine.state_digest();
    let copy = engine.snapshot_copy();
    // Known and new accounts, devices and payees after the copy.
    for e in events(600, 1_200, 200) {
        engine.decide(&e);
    }
    assert_ne!(engine.state_digest(), digest_then, "the engine moved on");
    let copied = copy.to_bytes();
    assert!(copied == bytes_then, "later decisions leaked into the copy");
    let restored = Engine::restore(Arc::clone(&pack), &copied).expect("restores");
    assert_eq!(restored.state_digest(), digest_then);
    assert_eq!(restored.snapshot(), bytes_then);
    // The engine and its copy's restore decide the same from here on.
    let mut restored = restored;
    let mut replayed = Engine::restore(pack, &bytes_then).expect("restores");
    for e in events(1_200, 1_300, 90) {
        assert_eq!(restored.decide(&e), replayed.decide(&e));
    }
    assert_eq!(restored.state_digest(), replayed.state_digest());
}
