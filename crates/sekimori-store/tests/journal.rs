//! The write-ahead journal and the overlay seen from outside: an acknowledged
//! op is readable at once, whatever the applier has committed; a clean close
//! leaves no journal; a snapshot is committed before it is answered.

use sekimori_store::{EventKey, Op, Store, JOURNAL_PREFIX};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Bytes written to the journal segments of `dir` (a segment is zero-filled
/// ahead: what counts is up to its last byte that is not zero).
fn journal_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry"))
        .filter(|e| e.file_name().to_string_lossy().starts_with(JOURNAL_PREFIX))
        .map(|e| {
            let bytes = std::fs::read(e.path()).expect("segment");
            bytes
                .iter()
                .rposition(|&b| b != 0)
                .map_or(0, |p| p as u64 + 1)
        })
        .sum()
}

fn append_op(seq: u64) -> Op {
    Op::Append {
        seq,
        event: Some(EventKey::new("svc", format!("e{seq}"))),
        bytes: format!("record {seq}").into_bytes(),
    }
}

#[test]
fn every_acknowledged_op_is_readable_at_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(dir.path()).expect("open"));
    let acked = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    // A reader checks the newest acknowledged seq (in the overlay) and an
    // older one (likely moving into the database meanwhile), without pause.
    let reader = {
        let (store, acked, stop) = (store.clone(), acked.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut checks = 0u64;
            while !stop.load(Ordering::Acquire) {
                let last = acked.load(Ordering::Acquire);
                for seq in [last, last / 2, last.saturating_sub(3)] {
                    if seq == 0 {
                        continue;
                    }
                    let found = store.seq_of_service_event("svc", &format!("e{seq}"));
                    assert_eq!(found.expect("read"), Some(seq), "index of acked {seq}");
                    let record = store.get(seq).expect("read");
                    assert_eq!(record, Some(format!("record {seq}").into_bytes()));
                    assert!(store.last_seq().expect("last") >= seq);
                    checks += 1;
                }
            }
            checks
        })
    };
    let mut in_flight = std::collections::VecDeque::new();
    for seq in 1..=3_000u64 {
        in_flight.push_back((seq, store.submit(append_op(seq))));
        if in_flight.len() >= 8 {
            let (done, rx) = in_flight.pop_front().expect("one");
            rx.blocking_recv().expect("answer").expect("durable");
            acked.store(done, Ordering::Release);
        }
    }
    while let Some((done, rx)) = in_flight.pop_front() {
        rx.blocking_recv().expect("answer").expect("durable");
        acked.store(done, Ordering::Release);
    }
    stop.store(true, Ordering::Release);
    assert!(reader.join().expect("reader") > 0);
    let seqs: Vec<u64> = store
        .scan_from(1)
        .expect("scan")
        .map(|r| r.expect("row").0)
        .collect();
    assert_eq!(seqs, (1..=3_000).collect::<Vec<_>>(), "a scan has no hole");
    let stats = store.stats();
    assert_eq!(stats.ops, 3_000);
    assert!(stats.checkpoints >= 1, "the applier committed");
    assert!(
        stats.checkpoints < stats.commits,
        "one durable commit covers many group commits: {stats:?}"
    );
}

#[test]
fn a_clean_close_leaves_no_journal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    for seq in 1..=10 {
        store.submit_blocking(append_op(seq)).expect("append");
    }
    assert!(journal_bytes(dir.path()) > 0, "the appends were journaled");
    drop(store);
    assert_eq!(journal_bytes(dir.path()), 0, "a clean close applies all");
    let left: Vec<String> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("journal"))
        .collect();
    assert!(left.is_empty(), "no journal file is left: {left:?}");
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(store.last_seq().expect("last"), 10);
    assert_eq!(store.get(10).expect("get"), Some(b"record 10".to_vec()));
}

#[test]
fn a_large_op_skips_the_journal_and_many_small_ones_do_not() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let big = sekimori_store::DIRECT_BATCH_BYTES;
    store
        .submit_blocking(Op::PutPack {
            version: "big".into(),
            bytes: vec![1; big],
        })
        .expect("pack");
    assert!(
        journal_bytes(dir.path()) < 1024,
        "the large op was not journaled"
    );
    assert_eq!(store.pack("big").expect("pack").map(|p| p.len()), Some(big));
    // 64 ops of 32 KB in flight together: one batch of 2 MB, journaled.
    let rxs: Vec<_> = (1..=64u64)
        .map(|seq| {
            store.submit(Op::Append {
                seq,
                event: None,
                bytes: vec![2; 32 * 1024],
            })
        })
        .collect();
    for rx in rxs {
        rx.blocking_recv().expect("answer").expect("durable");
    }
    let journaled = journal_bytes(dir.path());
    assert!(
        journaled >= 64 * 32 * 1024,
        "small ops are journaled: {journaled} bytes, {:?}",
        store.stats()
    );
}

#[test]
fn deletions_and_listings_see_the_overlay() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let stepup = |entries: Vec<(&str, Option<&str>)>| Op::StepUp {
        entries: entries
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.map(|v| v.as_bytes().to_vec())))
            .collect(),
    };
    store
        .submit_blocking(stepup(vec![
            ("a/1", Some("x")),
            ("a/2", Some("y")),
            ("b/1", Some("z")),
        ]))
        .expect("put");
    store
        .submit_blocking(stepup(vec![("a/1", None)]))
        .expect("delete");
    // Whether or not the applier has run, the delete is seen.
    assert_eq!(store.stepup("a/1").expect("read"), None);
    assert_eq!(store.stepup_keys("a/").expect("keys"), ["a/2"]);
    let all: Vec<String> = store
        .stepups()
        .expect("all")
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(all, ["a/2", "b/1"]);
    drop(store);
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(store.stepup_keys("").expect("keys"), ["a/2", "b/1"]);
}

#[test]
fn held_in_the_overlay_an_acknowledged_op_is_read_and_survives_a_failed_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    store.submit_blocking(append_op(1)).expect("append");
    let hold = store.hold_applier();
    for seq in 2..=4 {
        store.submit_blocking(append_op(seq)).expect("append");
    }
    store
        .submit_blocking(Op::StepUp {
            entries: vec![("k".into(), Some(b"v".to_vec()))],
        })
        .expect("stepup");
    // Nothing of 2..=4 can be in the database: the applier is held.
    assert_eq!(store.get(4).expect("get"), Some(b"record 4".to_vec()));
    assert_eq!(store.last_seq().expect("last"), 4);
    assert_eq!(
        store.seq_of_service_event("svc", "e3").expect("index"),
        Some(3)
    );
    assert_eq!(store.seqs_of_event("e2").expect("index"), vec![2]);
    assert_eq!(store.stepup_keys("").expect("keys"), ["k"]);
    let seqs: Vec<u64> = store
        .scan_from(1)
        .expect("scan")
        .map(|r| r.expect("row").0)
        .collect();
    assert_eq!(seqs, [1, 2, 3, 4]);
    // The database commit fails: the store fails, the reads go on.
    store.fail_next_apply();
    drop(hold);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !store.is_failed() {
        assert!(
            std::time::Instant::now() < deadline,
            "the applier never failed"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert!(
        store.submit_blocking(append_op(5)).is_err(),
        "a failed store refuses"
    );
    assert_eq!(store.get(3).expect("get"), Some(b"record 3".to_vec()));
    drop(store);
    assert!(
        journal_bytes(dir.path()) > 0,
        "a failed store keeps its journal"
    );
    let store = Store::open(dir.path()).expect("reopen");
    assert!(store.stats().replayed >= 1, "{:?}", store.stats());
    assert_eq!(store.last_seq().expect("last"), 4);
    assert_eq!(store.stepup("k").expect("stepup"), Some(b"v".to_vec()));
    store.submit_blocking(append_op(5)).expect("writes again");
}

#[test]
fn a_snapshot_is_not_answered_before_its_database_commit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    store.submit_blocking(append_op(1)).expect("append");
    let hold = store.hold_applier();
    let mut rx = store.submit(Op::Snapshot {
        seq: 1,
        bytes: vec![9; 64],
    });
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(
        matches!(
            rx.try_recv(),
            Err(tokio::sync::oneshot::error::TryRecvError::Empty)
        ),
        "a snapshot was answered while the applier was held"
    );
    drop(hold);
    rx.blocking_recv().expect("answer").expect("durable");
    assert_eq!(store.snapshot().expect("snapshot"), Some((1, vec![9; 64])));
}

#[test]
fn the_stores_own_meta_keys_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    for key in ["journal_batch", sekimori_store::META_FORMAT_VERSION] {
        let put = store.submit_blocking(Op::PutMeta {
            key: key.into(),
            bytes: b"0".to_vec(),
        });
        assert!(
            matches!(put, Err(sekimori_store::StoreError::Reserved(ref k)) if k == key),
            "{key}: {put:?}"
        );
    }
    assert!(!store.is_failed(), "a refused op does not fail the store");
    store.submit_blocking(append_op(1)).expect("append");
}
