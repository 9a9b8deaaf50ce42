//! Crash durability: a child process appends and acknowledges; the parent SIGKILLs it and
//! checks that every acknowledged record survived.

use sekimori_store::{Op, Store, StoreError};
use std::collections::{HashSet, VecDeque};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use tokio::sync::oneshot::Receiver;

/// When set, `crash_child_writer` acts as the writer child, on this directory.
const CHILD_ENV: &str = "SEKIMORI_STORE_CRASH_CHILD_DIR";
const ROUNDS: usize = 5;
const ACKS_PER_ROUND: usize = 300;
/// Appends the child keeps in flight, so that the writer batches.
const IN_FLIGHT: usize = 32;

fn record(seq: u64) -> Vec<u8> {
    format!("crash record {seq}").into_bytes()
}

/// Not a test of its own: the child half of `acknowledged_appends_survive_sigkill`.
#[test]
fn crash_child_writer() {
    let Some(dir) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let store = Store::open(Path::new(&dir)).expect("child open");
    let mut next = store.last_seq().expect("child last_seq") + 1;
    let mut pending: VecDeque<(u64, Receiver<Result<(), StoreError>>)> = VecDeque::new();
    let mut out = std::io::stdout().lock();
    // libtest has printed "test crash_child_writer ... " without a newline: end that line.
    writeln!(out).expect("stdout");
    // Bounded so that an orphaned child cannot run forever.
    for _ in 0..1_000_000 {
        while pending.len() < IN_FLIGHT {
            let op = Op::Append {
                seq: next,
                event: Some(sekimori_store::EventKey::new("s", format!("evt-{next}"))),
                bytes: record(next),
            };
            pending.push_back((next, store.submit(op)));
            next += 1;
        }
        let Some((seq, rx)) = pending.pop_front() else {
            break;
        };
        rx.blocking_recv()
            .expect("writer answered")
            .expect("append durable");
        writeln!(out, "ACK {seq}").expect("stdout");
        out.flush().expect("flush");
    }
}

/// Runs one child until it has acknowledged `ACKS_PER_ROUND` seqs, then SIGKILLs it.
fn run_child_and_kill(dir: &Path) -> Vec<u64> {
    let exe = std::env::current_exe().expect("current_exe");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "crash_child_writer",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("child stdout");
    let mut acks = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("read child stdout");
        if let Some(seq) = line.strip_prefix("ACK ") {
            acks.push(seq.trim().parse::<u64>().expect("seq"));
            if acks.len() >= ACKS_PER_ROUND {
                break;
            }
        }
    }
    // SIGKILL on unix: no destructor, no flush, no clean close of the database.
    child.kill().expect("kill child");
    child.wait().expect("reap child");
    assert_eq!(acks.len(), ACKS_PER_ROUND, "child stopped early");
    acks
}

/// Reopens the store and checks the log is contiguous from 1 and holds every ack.
/// Returns the last seq and how many journaled batches the open replayed.
fn verify(dir: &Path, acked: &HashSet<u64>) -> (u64, u64) {
    let store = Store::open(dir).expect("reopen after kill");
    let replayed = store.stats().replayed;
    let last = store.last_seq().expect("last_seq");
    let mut expected = 1;
    for row in store.scan_from(0).expect("scan") {
        let (seq, bytes) = row.expect("row");
        assert_eq!(seq, expected, "log is not contiguous");
        assert_eq!(bytes, record(seq), "record {seq} corrupted");
        expected += 1;
    }
    assert_eq!(expected - 1, last, "scan and last_seq disagree");
    for &seq in acked {
        assert!(seq <= last, "acknowledged seq {seq} lost (last {last})");
        let by_event = store.seq_of_event(&format!("evt-{seq}")).expect("index");
        assert_eq!(by_event, Some(seq), "event index of {seq}");
    }
    (last, replayed)
}

#[cfg(unix)]
#[test]
fn acknowledged_appends_survive_sigkill() {
    if std::env::var_os(CHILD_ENV).is_some() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut acked = HashSet::new();
    let mut last = 0;
    let mut replayed_total = 0;
    for round in 0..ROUNDS {
        let acks = run_child_and_kill(dir.path());
        assert_eq!(acks.first().copied(), Some(last + 1), "round {round} start");
        let newest = std::fs::read_dir(dir.path())
            .expect("dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| {
                p.file_name().is_some_and(|n| {
                    n.to_string_lossy()
                        .starts_with(sekimori_store::JOURNAL_PREFIX)
                })
            })
            .max()
            .expect("a journal segment");
        if round % 2 == 1 {
            // A torn append at the end: a header that promises 16 bytes with
            // a checksum they do not match (round 1), or less than a header
            // (round 3).
            // Segments are zero-filled ahead: the records end at the last
            // byte that is not zero (a record's last byte is a digit here).
            use std::os::unix::fs::FileExt as _;
            let written = std::fs::read(&newest)
                .expect("segment")
                .iter()
                .rposition(|&b| b != 0)
                .map_or(0, |p| p as u64 + 1);
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(&newest)
                .expect("journal");
            let mut torn = Vec::new();
            if round % 4 == 1 {
                torn.extend(16u32.to_le_bytes());
                torn.extend(u64::MAX.to_le_bytes());
                torn.extend(0u64.to_le_bytes());
                torn.extend([0xab; 16]);
            } else {
                torn.extend([0xab; 13]);
            }
            file.write_all_at(&torn, written).expect("tear");
        }
        for seq in acks {
            assert!(acked.insert(seq), "seq {seq} acknowledged twice");
        }
        let (seen, replayed) = verify(dir.path(), &acked);
        last = seen;
        replayed_total += replayed;
    }
    assert!(acked.len() >= ROUNDS * ACKS_PER_ROUND);
    // The kills landed while the journal held batches the database did not
    // (the applier commits every 5 ms): recovery replayed them.
    assert!(replayed_total > 0, "no open replayed the journal");
}
