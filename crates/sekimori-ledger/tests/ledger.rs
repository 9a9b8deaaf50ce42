//! The ledger restores from the log alone when its snapshot is unusable; a
//! replica applying the log entry by entry reaches the same state.

use sekimori_ledger::{wait, Ledger};
use sekimori_rules::compile;
use sekimori_rules::embedded::default_pack;
use sekimori_store::{Op, Store};
use std::sync::Arc;

#[test]
fn an_unusable_snapshot_falls_back_to_the_whole_log() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Arc::new(Store::open(dir.path()).expect("store"));
    let pack = Arc::new(compile(default_pack().expect("pack")).expect("compiles"));
    let mut ledger = Ledger::open(Arc::clone(&store), Arc::clone(&pack), 1_000_000).expect("opens");
    for i in 0..20 {
        let event = sekimori_event::decode_value(serde_json::json!({
            "id": format!("e{i}"), "type": "report.not_me", "at": "2026-01-01T00:00:00Z",
            "service": "w", "account": format!("a{}", i % 3)}))
        .expect("event");
        wait(ledger.decide(&sekimori_engine::Prepared::new(event)).1).expect("durable");
    }
    let digest = ledger.engine().state_digest();
    let last = store.last_seq().expect("seq");
    let garbage = format!("{}\nnot a snapshot", pack.version()).into_bytes();
    store
        .submit_blocking(Op::Snapshot {
            seq: last,
            bytes: garbage,
        })
        .expect("written");
    drop(ledger);
    let again = Ledger::open(Arc::clone(&store), pack, 1_000_000).expect("reopens from the log");
    assert_eq!(again.engine().state_digest(), digest);
    assert_eq!(
        again.engine().holds().list().count(),
        3,
        "the freezes are back"
    );
}

#[test]
fn a_replica_applying_the_log_in_order_reaches_the_ledgers_state() {
    use sekimori_ledger::{Log, Replica};
    let dir = tempfile::tempdir().expect("tmp");
    let store = Arc::new(Store::open(dir.path()).expect("store"));
    let pack = Arc::new(compile(default_pack().expect("pack")).expect("compiles"));
    let mut ledger = Ledger::open(Arc::clone(&store), Arc::clone(&pack), 1_000_000).expect("opens");
    for i in 0..30 {
        let event = sekimori_event::decode_value(serde_json::json!({
            "id": format!("e{i}"), "type": "report.not_me", "at": "2026-01-01T00:00:00Z",
            "service": "w", "account": format!("a{}", i % 4)}))
        .expect("event");
        wait(ledger.decide(&sekimori_engine::Prepared::new(event)).1).expect("durable");
    }
    let log: &dyn Log = store.as_ref();
    assert_eq!(log.last_seq().expect("last"), ledger.next_seq() - 1);
    let mut replica = Replica::empty();
    let rows: Vec<_> = log
        .read_from(1)
        .expect("read")
        .map(|r| r.expect("row"))
        .collect();
    // Out of order is refused: an entry may not skip one.
    assert!(replica.apply(&store, 2, &rows[1].1).is_err());
    for (seq, bytes) in &rows {
        replica.apply(&store, *seq, bytes).expect("applies");
    }
    assert_eq!(replica.mismatches, 0);
    assert_eq!(replica.last_seq(), ledger.next_seq() - 1);
    assert_eq!(
        replica.engine().expect("engine").state_digest(),
        ledger.engine().state_digest()
    );
    // A replay of an entry already applied is refused too.
    assert!(replica.apply(&store, rows[0].0, &rows[0].1).is_err());
}

#[test]
fn step_up_records_are_log_entries_written_with_their_records_and_imported_back() {
    use sekimori_engine::Entry;
    let dir = tempfile::tempdir().expect("tmp");
    let store = Arc::new(Store::open(dir.path()).expect("store"));
    let pack = Arc::new(compile(default_pack().expect("pack")).expect("compiles"));
    let mut ledger = Ledger::open(Arc::clone(&store), Arc::clone(&pack), 1_000_000).expect("opens");
    let record = br#"{"state":{"challenges":{"c1":{"failures":0}}}}"#.to_vec();
    let writes = vec![
        ("tenant/bank/carol".to_string(), Some(record.clone())),
        ("account/carol".to_string(), None),
    ];
    wait(ledger.append_stepup("issued", writes).expect("appends")).expect("durable");
    assert_eq!(
        store.stepup("tenant/bank/carol").expect("read"),
        Some(record.clone()),
        "the record is written with its entry"
    );
    let last = store.last_seq().expect("seq");
    let entry = Entry::from_bytes(&store.get(last).expect("read").expect("entry")).expect("entry");
    let Entry::StepUp { what, writes } = &entry else {
        panic!("not a step-up entry: {entry:?}");
    };
    assert_eq!(what, "issued");
    assert_eq!(writes[1], ("account/carol".to_string(), None));
    // Not UTF-8: refused, nothing logged.
    let bad = vec![("tenant/bank/x".to_string(), Some(vec![0xff, 0xfe]))];
    assert!(ledger.append_stepup("issued", bad).is_err());
    assert_eq!(ledger.next_seq(), last + 1);
    // An import (a fresh store) appends the entry through the audit path
    // and gets the same record; the engine's state is unchanged by it.
    let dir2 = tempfile::tempdir().expect("tmp");
    let store2 = Arc::new(Store::open(dir2.path()).expect("store"));
    let mut imported = Ledger::open(Arc::clone(&store2), pack, 1_000_000).expect("opens");
    let digest = imported.engine().state_digest();
    wait(imported.append_audit(&entry).expect("audit")).expect("durable");
    assert_eq!(
        store2.stepup("tenant/bank/carol").expect("read"),
        Some(record)
    );
    assert_eq!(imported.engine().state_digest(), digest);
}
