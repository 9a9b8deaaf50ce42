//! The ledger restores from the log alone when its snapshot is unusable.

use sekimori_rules::compile;
use sekimori_server::embedded::default_pack;
use sekimori_server::ledger::{wait, Ledger};
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
