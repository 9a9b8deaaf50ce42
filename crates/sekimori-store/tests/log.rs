//! Log round trips, paging, group commit and the sequence invariant.

use sekimori_store::{Op, Store, StoreError, SCAN_CHUNK};
use tokio::sync::oneshot::Receiver;

fn append(seq: u64) -> Op {
    Op::Append {
        seq,
        event: Some(sekimori_store::EventKey::new("s", format!("evt-{seq}"))),
        bytes: record(seq),
    }
}

fn record(seq: u64) -> Vec<u8> {
    format!("record {seq}").into_bytes()
}

fn wait(rx: Receiver<Result<(), StoreError>>) -> Result<(), StoreError> {
    rx.blocking_recv().expect("writer answered")
}

/// Appends `from..=to` without waiting between submits, then waits for all.
fn append_range(store: &Store, from: u64, to: u64) {
    let rxs: Vec<_> = (from..=to).map(|s| store.submit(append(s))).collect();
    for rx in rxs {
        wait(rx).expect("append durable");
    }
}

fn scan(store: &Store, from: u64) -> Vec<(u64, Vec<u8>)> {
    store
        .scan_from(from)
        .expect("scan")
        .collect::<Result<Vec<_>, _>>()
        .expect("scan rows")
}

#[test]
fn empty_store_reads_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    assert_eq!(store.last_seq().expect("last"), 0);
    assert_eq!(store.get(1).expect("get"), None);
    assert_eq!(store.seq_of_event("nope").expect("idx"), None);
    assert!(scan(&store, 0).is_empty());
    assert_eq!(store.snapshot().expect("snap"), None);
    assert!(store.packs().expect("packs").is_empty());
    assert_eq!(store.data_dir(), dir.path());
}

#[test]
fn append_reopen_round_trip() {
    let dir = tempfile::tempdir().expect("tempdir");
    let n = 5_000u64;
    {
        let store = Store::open(dir.path()).expect("open");
        append_range(&store, 1, n);
        store
            .submit_blocking(Op::Append {
                seq: n + 1,
                event: None,
                bytes: vec![],
            })
            .expect("append without id");
        assert_eq!(store.last_seq().expect("last"), n + 1);
    }
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(store.last_seq().expect("last"), n + 1);
    assert_eq!(store.get(1).expect("get"), Some(record(1)));
    assert_eq!(store.get(n).expect("get"), Some(record(n)));
    assert_eq!(store.get(n + 1).expect("get"), Some(vec![]));
    assert_eq!(store.get(n + 2).expect("get"), None);
    assert_eq!(store.seq_of_event("evt-4321").expect("idx"), Some(4321));
    assert_eq!(
        store.seq_of_event(&format!("evt-{}", n + 1)).expect("idx"),
        None
    );

    let all = scan(&store, 1);
    assert_eq!(all.len() as u64, n + 1);
    for (i, (seq, bytes)) in all.iter().take(n as usize).enumerate() {
        assert_eq!(*seq, i as u64 + 1);
        assert_eq!(*bytes, record(*seq));
    }
    // From 0 is the same as from 1; appends continue where the log ends.
    assert_eq!(scan(&store, 0).len() as u64, n + 1);
    append_range(&store, n + 2, n + 2);
    assert_eq!(store.last_seq().expect("last"), n + 2);
}

#[test]
fn scan_pages_across_chunk_boundaries() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let n = (SCAN_CHUNK * 3 + 17) as u64;
    append_range(&store, 1, n);
    let chunk = SCAN_CHUNK as u64;
    for from in [1, 2, chunk - 1, chunk, chunk + 1, 2 * chunk + 1, n - 1, n] {
        let rows = scan(&store, from);
        let seqs: Vec<u64> = rows.iter().map(|(s, _)| *s).collect();
        let expected: Vec<u64> = (from..=n).collect();
        assert_eq!(seqs, expected, "scan from {from}");
        assert!(rows.iter().all(|(s, b)| *b == record(*s)));
    }
    assert!(scan(&store, n + 1).is_empty());
    assert!(scan(&store, u64::MAX).is_empty());
}

#[test]
fn group_commit_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let n = 2_000u64;
    append_range(&store, 1, n);
    let stats = store.stats();
    assert_eq!(stats.ops, n);
    assert!(
        stats.commits < n,
        "expected fewer commits than ops, got {stats:?}"
    );
    drop(store);
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(store.last_seq().expect("last"), n);
    assert_eq!(scan(&store, 1).len() as u64, n);
}

/// Group commit never answers early: while commits are held, 500 appends
/// queue and not one receiver resolves; released, they all go in one or a
/// few transactions (one fsync for many), and each resolves only then.
#[test]
fn nothing_resolves_before_its_commit_and_many_share_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    append_range(&store, 1, 1);
    let before = store.stats();
    let hold = store.hold_commits();
    let mut rxs: Vec<_> = (2..=501).map(|s| store.submit(append(s))).collect();
    std::thread::sleep(std::time::Duration::from_millis(200));
    for rx in &mut rxs {
        assert!(
            matches!(
                rx.try_recv(),
                Err(tokio::sync::oneshot::error::TryRecvError::Empty)
            ),
            "an append resolved while commits were held"
        );
    }
    // (The applier may still commit batch 1 meanwhile: it answers nobody.)
    let held = store.stats();
    assert_eq!(
        (held.commits, held.ops),
        (before.commits, before.ops),
        "nothing committed while held"
    );
    assert_eq!(store.last_seq().expect("last"), 1);
    drop(hold);
    for rx in rxs {
        wait(rx).expect("append durable");
    }
    let after = store.stats();
    assert_eq!(after.ops - before.ops, 500);
    assert!(
        after.commits - before.commits <= 2,
        "500 held appends took {} commits",
        after.commits - before.commits
    );
    assert_eq!(store.last_seq().expect("last"), 501);
}

fn is_pending(rx: &mut Receiver<Result<(), StoreError>>) -> bool {
    matches!(
        rx.try_recv(),
        Err(tokio::sync::oneshot::error::TryRecvError::Empty)
    )
}

/// The hold's `let_through` (what the server's tests use to land one
/// commit of a chunk before the next): exactly the oldest `n` queued ops
/// commit, in one transaction; the rest stay unresolved until released.
#[test]
fn a_commit_let_through_takes_the_oldest_ops_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let before = store.stats();
    let hold = store.hold_commits();
    let mut rxs: Vec<_> = (1..=10).map(|s| store.submit(append(s))).collect();
    std::thread::sleep(std::time::Duration::from_millis(100));
    hold.let_through(4);
    let rest = rxs.split_off(4);
    for rx in rxs {
        wait(rx).expect("let through: durable");
    }
    assert_eq!(store.last_seq().expect("last"), 4);
    let mut rest = rest;
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(rest.iter_mut().all(is_pending), "a held append resolved");
    assert_eq!(store.stats().commits - before.commits, 1);
    assert_eq!(store.stats().ops - before.ops, 4);
    drop(hold);
    for rx in rest {
        wait(rx).expect("released: durable");
    }
    assert_eq!(store.last_seq().expect("last"), 10);
}

/// A group commit that fails (as a failed fsync would) fails every op of
/// its batch: none resolves Ok, none is on disk after a reopen, and the
/// store takes nothing more.
#[test]
fn a_failed_commit_fails_every_op_of_its_batch() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    append_range(&store, 1, 3);
    let hold = store.hold_commits();
    let rxs: Vec<_> = (4..=23).map(|s| store.submit(append(s))).collect();
    std::thread::sleep(std::time::Duration::from_millis(100));
    store.fail_next_commit();
    drop(hold);
    for rx in rxs {
        assert!(wait(rx).is_err(), "an op of a failed commit resolved Ok");
    }
    assert!(store.is_failed());
    assert!(wait(store.submit(append(4))).is_err());
    assert_eq!(store.last_seq().expect("last"), 3);
    drop(store);
    let store = Store::open(dir.path()).expect("reopen");
    assert_eq!(store.last_seq().expect("last"), 3);
    assert_eq!(store.seq_of_event("evt-4").expect("idx"), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_resolves_in_async_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = std::sync::Arc::new(Store::open(dir.path()).expect("open"));
    let rxs: Vec<_> = (1..=100).map(|s| store.submit(append(s))).collect();
    for rx in rxs {
        rx.await.expect("answered").expect("durable");
    }
    assert_eq!(store.last_seq().expect("last"), 100);
}

#[test]
fn sequence_gap_and_repeat_are_rejected() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    append_range(&store, 1, 2);
    let gap = store.submit_blocking(append(4));
    assert!(
        matches!(
            gap,
            Err(StoreError::Sequence {
                expected: 3,
                got: 4
            })
        ),
        "{gap:?}"
    );
    let repeat = store.submit_blocking(Op::Append {
        seq: 2,
        event: Some(sekimori_store::EventKey::new("s", "other")),
        bytes: b"overwrite".to_vec(),
    });
    assert!(
        matches!(
            repeat,
            Err(StoreError::Sequence {
                expected: 3,
                got: 2
            })
        ),
        "{repeat:?}"
    );
    let zero = store.submit_blocking(append(0));
    assert!(matches!(zero, Err(StoreError::Sequence { .. })), "{zero:?}");
    // Nothing was written, and the store still accepts the right seq.
    assert_eq!(store.last_seq().expect("last"), 2);
    assert_eq!(store.get(4).expect("get"), None);
    assert_eq!(store.get(2).expect("get"), Some(record(2)));
    assert_eq!(store.seq_of_event("other").expect("idx"), None);
    assert_eq!(store.seq_of_event("evt-4").expect("idx"), None);
    assert!(!store.is_failed());
    store.submit_blocking(append(3)).expect("next seq accepted");
}

#[test]
fn sequence_violation_inside_a_batch_spares_the_others() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("open");
    let ok1 = store.submit(append(1));
    let bad = store.submit(append(1));
    let ok2 = store.submit(append(2));
    let meta = store.submit(Op::PutMeta {
        key: "k".into(),
        bytes: b"v".to_vec(),
    });
    wait(ok1).expect("first");
    assert!(matches!(wait(bad), Err(StoreError::Sequence { .. })));
    wait(ok2).expect("second");
    wait(meta).expect("meta");
    assert_eq!(scan(&store, 1).len(), 2);
    assert_eq!(store.meta("k").expect("meta"), Some(b"v".to_vec()));
}
