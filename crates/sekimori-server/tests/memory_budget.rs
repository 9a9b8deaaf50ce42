//! The memory budget through the ledger: a change is logged with the live
//! pack, a restart (from the log alone, or from a snapshot and the log after
//! it) rebuilds the same evicted state, and restarting with the same budget
//! logs nothing.

use sekimori_engine::{Entry, Prepared};
use sekimori_rules::compile;
use sekimori_server::embedded::default_pack;
use sekimori_server::ledger::{wait, Ledger};
use sekimori_store::Store;
use std::sync::Arc;

fn login(i: u64) -> Prepared {
    let at = sekimori_event::format_rfc3339_ms(1_767_225_600_000 + i as i64 * 10);
    let event = sekimori_event::decode_value(serde_json::json!({
        "id": format!("e{i}"), "type": "login.attempt", "at": at, "service": "bank",
        "account": format!("user-{i}"), "factor": "password", "result": "failure",
        "secret_fp": format!("k1:{:064x}", i),
        "actor": {"ip": format!("10.0.{}.{}", (i >> 8) & 255, i & 255),
                  "device": format!("dev-{i}")}}))
    .expect("event");
    Prepared::new(event)
}

fn feed(ledger: &mut Ledger, from: u64, to: u64) {
    for i in from..to {
        wait(ledger.decide(&login(i)).1).expect("durable");
    }
}

#[test]
fn a_budget_change_is_logged_and_a_restart_rebuilds_the_same_state() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Arc::new(Store::open(dir.path()).expect("store"));
    let pack = Arc::new(compile(default_pack().expect("pack")).expect("compiles"));
    let mut ledger = Ledger::open(Arc::clone(&store), Arc::clone(&pack), 1_000_000).expect("opens");
    feed(&mut ledger, 0, 300);
    let budget = 256 << 10;
    wait(
        ledger
            .set_memory_budget(Some(budget))
            .expect("a change is logged"),
    )
    .expect("durable");
    assert!(
        ledger.set_memory_budget(Some(budget)).is_none(),
        "unchanged: nothing logged"
    );
    let last = store.last_seq().expect("seq");
    let entry = Entry::from_bytes(&store.get(last).expect("read").expect("entry")).expect("entry");
    assert!(
        matches!(entry, Entry::Pack { memory_budget: Some(b), .. } if b == budget),
        "{entry:?}"
    );
    feed(&mut ledger, 300, 1_200);
    let memory = ledger.engine().memory();
    assert!(
        memory.runs > 0 && memory.accounted_bytes <= budget,
        "{memory:?}"
    );
    let digest = ledger.engine().state_digest();
    drop(ledger);

    // From the log alone: the budget applies where it was logged.
    let mut again =
        Ledger::open(Arc::clone(&store), Arc::clone(&pack), 1_000_000).expect("reopens");
    assert_eq!(again.replay_mismatches, 0);
    assert_eq!(again.engine().state_digest(), digest);
    assert_eq!(again.engine().memory_budget(), Some(budget));
    assert!(again.set_memory_budget(Some(budget)).is_none());

    // From a snapshot and the log after it.
    wait(again.snapshot()).expect("snapshot");
    feed(&mut again, 1_200, 1_500);
    let digest = again.engine().state_digest();
    drop(again);
    let mut third = Ledger::open(Arc::clone(&store), pack, 1_000_000).expect("reopens");
    assert_eq!(third.replay_mismatches, 0);
    assert_eq!(third.engine().state_digest(), digest);
    // Lifting the budget is a change too (logged as 0).
    wait(third.set_memory_budget(None).expect("logged")).expect("durable");
    assert_eq!(third.engine().memory_budget(), None);
}
