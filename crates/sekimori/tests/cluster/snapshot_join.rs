//! A node joining from the object store's snapshot (the stream trimmed
//! behind it), end to end: it serves the analysts as the stream left them
//! after the snapshot (an analyst disabled since), and an object planted by
//! anyone who can write the bucket but holds no `stepup.key` (unsigned, or
//! a genuine one edited: the attacker's review F4) is refused: a fresh node
//! cannot join from it and says why, a node whose own log reaches the
//! stream follows the stream instead.
//!
//! Skips, saying so, when nats-server is not installed.

use crate::analysts::{call, create, sign_in, signed_in, wait_adopted, Steps};
use crate::check::{login, Stream};
use crate::common::ANALYST_PASSWORD;
use crate::harness::{ack, nats_available, shared_key, shared_stepup_key, Nats, Node};
use crate::{serial, test_dir, wait_leader};
use serde_json::json;
use std::time::{Duration, Instant};

const FLAGS: [&str; 4] = ["--snapshot-every", "40", "--trim-margin", "5"];

/// A fresh node of the shard: the API keys and the step-up key copied, no log.
fn fresh(dir: &std::path::Path, name: &str, from: &Node) -> Node {
    let node = Node::new(dir, name);
    std::fs::create_dir_all(&node.data).expect("dir");
    std::fs::copy(from.data.join("keys.json"), node.data.join("keys.json")).expect("keys");
    shared_stepup_key(&node.data);
    node
}

/// Waits for a snapshot object covering `seq`; returns its bytes and seq.
fn object_covering(stream: &Stream, seq: u64) -> (Vec<u8>, u64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(bytes) = stream.object() {
            let object = sekimori_ledger::jetstream::follow::parse_snapshot_object(&bytes)
                .expect("the object parses");
            if object.seq >= seq {
                return (bytes, object.seq);
            }
        }
        assert!(Instant::now() < deadline, "no snapshot covering {seq}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The signed object's seq field (format 4: mark, 32-byte MAC, then the seq).
const SEQ_AT: usize = 8 + 32;

#[test]
fn a_node_joins_only_from_a_signed_snapshot_and_serves_the_newer_analysts() {
    if !nats_available() {
        eprintln!(
            "SKIPPED a_node_joins_only_from_a_signed_snapshot...: nats-server is not on PATH \
             (Debian: apt-get install -y nats-server; .ci/run installs it)"
        );
        return;
    }
    let _one = serial();
    let dir = test_dir();
    let nats = Nats::start(dir.path());
    let mut nodes: Vec<Node> = (0..2)
        .map(|i| Node::new(dir.path(), &format!("s{i}")))
        .collect();
    let key = shared_key(&nodes.iter().collect::<Vec<_>>());
    for node in &mut nodes {
        node.start(&nats.urls(), &FLAGS);
    }
    let stream = Stream::connect(&nats.urls());
    let l = wait_leader(&nodes, Duration::from_secs(30));
    let mut steps = Steps(Default::default());
    let root_uri = crate::common::users_create(&nodes[l].data, "root", "admin");
    wait_adopted(&nodes[l]);
    let root = signed_in(&nodes[l], "root", ANALYST_PASSWORD, &root_uri, &mut steps);
    let mallory_uri = create(&nodes[l], &root, "mallory", "supervisor");
    signed_in(
        &nodes[l],
        "mallory",
        ANALYST_PASSWORD,
        &mallory_uri,
        &mut steps,
    );

    // A snapshot that holds mallory enabled, the stream trimmed behind it.
    let made = stream.last_seq();
    let agent = crate::harness::agent();
    for n in 0..45 {
        ack(&agent, &nodes[l].url(), &key, &login(&format!("j-{n}"), n));
    }
    let (before, before_seq) = object_covering(&stream, made);
    // The leader purges once the object is uploaded: a moment after it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while stream.first_seq() <= 1 {
        assert!(
            Instant::now() < deadline,
            "the stream is trimmed behind the snapshot"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // After it, mallory is disabled (in the stream's tail, not the object).
    call(&nodes[l], "/v1/analysts/mallory/disable", &root, json!({}));
    let (s, _) = sign_in(
        &nodes[l],
        "mallory",
        ANALYST_PASSWORD,
        &steps.code(&mallory_uri),
    );
    assert_eq!(s, 401, "mallory is disabled on the leader");
    let last = stream.last_seq();
    assert!(last > before_seq);
    let (again, _) = object_covering(&stream, 0);
    assert_eq!(again, before, "no snapshot after the disable");

    // The attack (F4 on a fresh node): the genuine object, claiming the
    // stream's last seq, so a node joining from it would skip the disable
    // and serve mallory enabled. Unsigned (the format before), and signed
    // with the genuine MAC left over changed bytes.
    let mut unsigned = b"SKSNAP3\n".to_vec();
    unsigned.extend(&before[SEQ_AT..]);
    unsigned[8..16].copy_from_slice(&last.to_le_bytes());
    let mut edited = before.clone();
    edited[SEQ_AT..SEQ_AT + 8].copy_from_slice(&last.to_le_bytes());
    for (i, (planted, why)) in [(unsigned, "not signed"), (edited, "does not verify")]
        .into_iter()
        .enumerate()
    {
        stream.plant(planted);
        let mut node = fresh(dir.path(), &format!("p{i}"), &nodes[0]);
        let (exited, log) = node.run_until_exit(&nats.urls(), &FLAGS, Duration::from_secs(60));
        assert!(exited, "a fresh node joined from a planted object: {log}");
        assert!(
            log.contains("cannot join the shard") && log.contains(why),
            "the refusal says why ({why}): {log}"
        );
    }
    // A follower restarting with its own log (the stream holds what
    // follows it) refuses the planted object and follows the stream.
    let f = 1 - l;
    nodes[f].kill();
    nodes[f].start(&nats.urls(), &FLAGS);
    crate::harness::wait_applied(&nodes, &stream);
    let status = nodes[f].status().expect("status");
    assert_eq!(status["joined_from"], json!(null), "{status}");
    assert!(nodes[f].log_text().contains("snapshot does not verify"));

    // The genuine object back: a fresh node joins from it (the stream
    // starts past its empty log), applies the tail, and once it leads,
    // serves mallory disabled.
    stream.plant(before);
    let mut joined = fresh(dir.path(), "s2", &nodes[0]);
    joined.start(&nats.urls(), &FLAGS);
    let status = joined.status().expect("status");
    assert_eq!(status["joined_from"], json!(before_seq), "{status}");
    nodes.push(joined);
    crate::harness::wait_applied(&nodes, &stream);
    nodes[0].kill();
    nodes[1].kill();
    assert_eq!(wait_leader(&nodes, Duration::from_secs(30)), 2);
    let (s, b) = sign_in(
        &nodes[2],
        "mallory",
        ANALYST_PASSWORD,
        &steps.code(&mallory_uri),
    );
    assert_eq!(s, 401, "mallory, disabled after the snapshot: {b}");
    signed_in(&nodes[2], "root", ANALYST_PASSWORD, &root_uri, &mut steps);
}
