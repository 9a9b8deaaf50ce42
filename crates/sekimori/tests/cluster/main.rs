//! The replicated log (issue 15), end to end: a three-node NATS cluster
//! (JetStream, R3) on loopback ports and sekimori nodes of one shard.
//! Every test fails, clearly, when `nats-server` is not installed.
#![cfg(feature = "cluster")]

mod analyst;
mod analysts;
mod check;
#[path = "../common/mod.rs"]
mod common;
mod forged_entry;
mod harness;
mod replicated;
mod snapshot_join;

use check::{login, Clients, Stream};
use harness::{ack, shared_key, Nats, Node};
use std::time::{Duration, Instant};

const ROUNDS: usize = 20;

/// One cluster at a time: each test runs three NATS servers and up to four
/// sekimori nodes, and two cores cannot run several such clusters at once
/// without starving their leases.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub(crate) fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn leader(nodes: &[Node]) -> Option<usize> {
    nodes.iter().position(|n| {
        n.status()
            .is_some_and(|s| s["role"] == "leader" && s["log"] == "ok")
    })
}

pub(crate) fn wait_leader(nodes: &[Node], within: Duration) -> usize {
    let deadline = Instant::now() + within;
    loop {
        if let Some(i) = leader(nodes) {
            return i;
        }
        assert!(Instant::now() < deadline, "no leader within {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub(crate) fn start_nodes(dir: &std::path::Path, nats: &Nats, n: usize) -> (Vec<Node>, String) {
    let mut nodes: Vec<Node> = (0..n).map(|i| Node::new(dir, &format!("s{i}"))).collect();
    let key = shared_key(&nodes.iter().collect::<Vec<_>>());
    for node in &mut nodes {
        node.start(&nats.urls(), &["--snapshot-every", "50"]);
    }
    (nodes, key)
}

#[test]
fn failover_keeps_every_acknowledged_event_once_with_one_decision() {
    let _one = serial();
    let dir = test_dir();
    let nats = Nats::start(dir.path());
    let (mut nodes, key) = start_nodes(dir.path(), &nats, 3);
    let stream = Stream::connect(&nats.urls());
    let clients = Clients::new(nodes.iter().map(Node::url).collect(), key);
    let mut failovers = Vec::new();
    let mut seed = 0x5eed_u64;
    for round in 0..ROUNDS {
        let old = wait_leader(&nodes, Duration::from_secs(30));
        let running = clients.start(round, 3);
        // A random moment into the round's traffic.
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(Duration::from_millis(200 + (seed >> 33) % 800));
        nodes[old].kill();
        let killed = Instant::now();
        let new = wait_leader(&nodes, Duration::from_secs(30));
        assert_ne!(new, old);
        failovers.push(killed.elapsed());
        std::thread::sleep(Duration::from_millis(300));
        running.stop();
        let t = Instant::now();
        nodes[old].start(&nats.urls(), &["--snapshot-every", "50"]);
        let restarted = t.elapsed();
        let acked = clients.acknowledged();
        assert!(!acked.is_empty(), "round {round}: nothing was acknowledged");
        let t = Instant::now();
        stream.check_round(round, &acked, &clients.decisions(), &nodes);
        eprintln!(
            "round {round}: {} acknowledged, restart {restarted:?}, check {:?}",
            acked.len(),
            t.elapsed()
        );
    }
    let max = failovers.iter().max().expect("rounds");
    eprintln!("failover (kill to a leader serving): max {max:?}, all {failovers:?}");
    assert!(*max < Duration::from_secs(10), "a failover took {max:?}");
}

#[test]
fn without_quorum_the_leader_acknowledges_nothing_and_resumes_when_it_returns() {
    let _one = serial();
    let dir = test_dir();
    let mut nats = Nats::start(dir.path());
    let (mut nodes, key) = start_nodes(dir.path(), &nats, 2);
    let stream = Stream::connect(&nats.urls());
    let l = wait_leader(&nodes, Duration::from_secs(30));
    let agent = harness::agent();
    let url = format!("{}/v1/events", nodes[l].url());
    for n in 0..20 {
        ack(&agent, &nodes[l].url(), &key, &login(&format!("q-{n}"), n));
    }
    nats.kill_node(1);
    nats.kill_node(2);
    // Quorum lost: an event is decided but never acknowledged, and the
    // leader says why.
    let (s, b) = harness::post(&agent, &url, &key, &login("q-lost", 100)).expect("answers");
    assert!(
        s != 200 || b["durable"] == serde_json::json!(false),
        "acknowledged without a quorum: {s} {b}"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let status = nodes[l].status().expect("status");
        if status["log"] == "no_quorum" {
            break;
        }
        assert!(Instant::now() < deadline, "{status}");
        std::thread::sleep(Duration::from_millis(50));
    }
    nats.start_node(1);
    nats.start_node(2);
    // The same event again: once the stream takes it, acknowledged, once.
    // (The lease may have expired meanwhile and moved: whichever node leads.)
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut at = l;
    let decision = loop {
        let url = format!("{}/v1/events", nodes[at].url());
        match harness::post(&agent, &url, &key, &login("q-lost", 100)) {
            Some((200, b)) if b["durable"] == serde_json::json!(true) => {
                break b["decision"].clone()
            }
            Some((200, _)) | Some((429, _)) => {}
            _ => at = (at + 1) % nodes.len(),
        }
        assert!(Instant::now() < deadline, "never resumed");
        std::thread::sleep(Duration::from_millis(100));
    };
    // A leader deposed meanwhile has exited: its supervisor starts it again.
    for n in nodes.iter_mut() {
        if n.exited() {
            n.start(&nats.urls(), &["--snapshot-every", "50"]);
        }
    }
    let mut acked: Vec<String> = (0..20).map(|n| format!("q-{n}")).collect();
    acked.push("q-lost".into());
    let decisions = [("q-lost".to_string(), vec![decision])]
        .into_iter()
        .collect();
    stream.check_round(0, &acked.into_iter().collect(), &decisions, &nodes);
}

#[test]
fn a_deposed_leader_cannot_append_after_another_took_the_lease() {
    let _one = serial();
    let dir = test_dir();
    let nats = Nats::start(dir.path());
    let (mut nodes, key) = start_nodes(dir.path(), &nats, 2);
    let stream = Stream::connect(&nats.urls());
    let old = wait_leader(&nodes, Duration::from_secs(30));
    let agent = harness::agent();
    for n in 0..10 {
        ack(
            &agent,
            &nodes[old].url(),
            &key,
            &login(&format!("p-{n}"), n),
        );
    }
    // Cut the old leader off (frozen: no renewals, no appends) until the
    // other node has taken the lease and appended.
    let pid = nodes[old].child.as_ref().expect("running").id();
    signal(pid, "STOP");
    let new = wait_leader(&nodes, Duration::from_secs(30));
    assert_ne!(new, old);
    ack(&agent, &nodes[new].url(), &key, &login("p-new", 50));
    let before = stream.last_seq();
    signal(pid, "CONT");
    // The old leader, back, is sent an event: it is never acknowledged, the
    // stream holds nothing of it, and the old leader stops leading.
    let old_url = format!("{}/v1/events", nodes[old].url());
    let answer = harness::post(&agent, &old_url, &key, &login("p-old", 60));
    if let Some((s, b)) = &answer {
        assert!(
            *s != 200 || b["durable"] != serde_json::json!(true),
            "the deposed leader acknowledged: {b}"
        );
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while !nodes[old].exited() {
        assert!(Instant::now() < deadline, "the deposed leader kept serving");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(stream.last_seq(), before, "the deposed leader appended");
    assert!(!stream.event_ids().contains("p-old"));
}

#[test]
fn a_new_node_joins_from_the_snapshot_and_the_tail() {
    let _one = serial();
    let dir = test_dir();
    let nats = Nats::start(dir.path());
    let (mut nodes, key) = start_nodes(dir.path(), &nats, 1);
    let stream = Stream::connect(&nats.urls());
    let l = wait_leader(&nodes, Duration::from_secs(30));
    let agent = harness::agent();
    let mut acked = std::collections::BTreeSet::new();
    for n in 0..130 {
        let id = format!("j-{n}");
        ack(&agent, &nodes[l].url(), &key, &login(&id, n));
        acked.insert(id);
    }
    // Snapshots every 50 events: the object store holds one by now.
    let snap = stream.snapshot_seq_within(Duration::from_secs(20));
    assert!(snap >= 50, "snapshot at {snap}");
    let mut joiner = Node::new(dir.path(), "s-join");
    std::fs::create_dir_all(&joiner.data).expect("dir");
    std::fs::copy(
        nodes[0].data.join("keys.json"),
        joiner.data.join("keys.json"),
    )
    .expect("keys");
    harness::shared_stepup_key(&joiner.data);
    joiner.start(&nats.urls(), &["--snapshot-every", "50"]);
    let status = joiner.status().expect("status");
    let joined = status["joined_from"]
        .as_u64()
        .expect("joined from a snapshot");
    assert!(joined >= 50 && joined < stream.last_seq(), "{status}");
    nodes.push(joiner);
    stream.check_round(0, &acked, &Default::default(), &nodes);
}

/// A temporary directory; kept (and named) when SEKIMORI_KEEP_TEST_DIRS is set.
pub(crate) fn test_dir() -> tempfile::TempDir {
    let mut dir = tempfile::tempdir().expect("tmp");
    if std::env::var_os("SEKIMORI_KEEP_TEST_DIRS").is_some() {
        dir.disable_cleanup(true);
        eprintln!("test directory {}", dir.path().display());
    }
    dir
}

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .expect("kill runs")
        .success();
    assert!(ok, "kill -{sig} {pid}");
}
