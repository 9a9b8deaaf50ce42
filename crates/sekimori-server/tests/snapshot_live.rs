//! A snapshot is serialised off the ledger lock while events keep being
//! decided; it must still be exactly the state as of its seq, so a restore
//! from it and the log tail rebuilds the live engine, decision for decision.

use sekimori_engine::{Decision, Prepared};
use sekimori_rules::compile;
use sekimori_server::embedded::default_pack;
use sekimori_server::ledger::{wait, Ledger};
use sekimori_store::Store;
use serde_json::json;
use std::sync::Arc;

/// Logins of a few accounts from one secret and a few addresses, with
/// repeats, so that counters, risk profiles and holds all move.
fn event(i: i64) -> Prepared {
    let failure = i % 3 != 0;
    let e = sekimori_event::decode_value(json!({
        "id": format!("e{i}"), "type": "login.attempt", "service": "bank",
        "at": sekimori_event::format_rfc3339_ms(1_795_000_000_000 + i * 1000),
        "account": format!("acct-{}", i % 7), "factor": "pin",
        "result": if failure { "failure" } else { "success" },
        "secret_fp": format!("k1:{}", "cd".repeat(32)),
        "actor": {"ip": format!("203.0.113.{}", i % 5), "device": format!("d-{}", i % 4)}}))
    .expect("event");
    Prepared::new(e)
}

fn decide_all(ledger: &mut Ledger, from: i64, to: i64) -> Vec<Decision> {
    (from..to)
        .map(|i| {
            let (d, durable) = ledger.decide(&event(i));
            wait(durable).expect("durable");
            d
        })
        .collect()
}

#[test]
fn a_snapshot_taken_while_events_arrive_restores_the_same_state_and_decisions() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Arc::new(Store::open(dir.path()).expect("store"));
    let pack = Arc::new(compile(default_pack().expect("pack")).expect("compiles"));
    let mut live = Ledger::open(Arc::clone(&store), Arc::clone(&pack), 1_000_000).expect("opens");
    decide_all(&mut live, 0, 300);
    let at_snapshot = live.engine().state_digest();
    let seq = store.last_seq().expect("seq");
    // The snapshot is written by its own thread while the ledger goes on.
    let written = live.snapshot();
    decide_all(&mut live, 300, 600);
    wait(written).expect("snapshot durable");
    let (snap_seq, _) = store.snapshot().expect("read").expect("a snapshot");
    assert_eq!(
        snap_seq, seq,
        "the snapshot is tagged with the seq it was taken at"
    );
    let digest = live.engine().state_digest();
    assert_ne!(digest, at_snapshot, "the later events changed the state");
    drop(live);

    // Snapshot + tail: the same state as the live engine, no replay mismatch.
    let mut restored =
        Ledger::open(Arc::clone(&store), Arc::clone(&pack), 1_000_000).expect("restores");
    assert_eq!(restored.replay_mismatches, 0);
    assert_eq!(restored.engine().state_digest(), digest);
    assert_eq!(restored.engine().events_applied(), 600);

    // And the same decisions from here on as an engine that never restarted.
    let mut reference = sekimori_engine::Engine::new(Arc::clone(&pack));
    for i in 0..600 {
        reference.decide(event(i).event());
    }
    assert_eq!(reference.state_digest(), digest);
    let after = decide_all(&mut restored, 600, 700);
    let want: Vec<Decision> = (600..700)
        .map(|i| reference.decide(event(i).event()))
        .collect();
    assert_eq!(after, want);
    assert_eq!(restored.engine().state_digest(), reference.state_digest());
}

#[test]
fn periodic_snapshots_while_deciding_restore_the_same_state() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Arc::new(Store::open(dir.path()).expect("store"));
    let pack = Arc::new(compile(default_pack().expect("pack")).expect("compiles"));
    // A snapshot every 37 events, each written while the next ones are decided.
    let mut live = Ledger::open(Arc::clone(&store), Arc::clone(&pack), 37).expect("opens");
    decide_all(&mut live, 0, 500);
    let digest = live.engine().state_digest();
    drop(live);
    // Let the last snapshot thread finish: then the snapshot is the newest one written.
    let mut snap = store.snapshot().expect("read");
    for _ in 0..500 {
        std::thread::sleep(std::time::Duration::from_millis(10));
        let now = store.snapshot().expect("read");
        if now == snap && now.is_some() {
            break;
        }
        snap = now;
    }
    let (snap_seq, _) = snap.expect("periodic snapshots were written");
    assert!(
        snap_seq > 1 && snap_seq < store.last_seq().expect("seq"),
        "{snap_seq}"
    );
    let restored = Ledger::open(Arc::clone(&store), pack, 37).expect("restores");
    assert_eq!(restored.replay_mismatches, 0);
    assert_eq!(restored.engine().state_digest(), digest);
}
