//! What the shard's log carries besides events, across failovers: step-up
//! records (a challenge issued by one leader is completed on the next, and
//! its code is used once), and the stream trimmed behind snapshots.

use crate::check::{login, Stream};
use crate::harness::{self, ack, agent, post, Nats, Node};
use crate::{serial, start_nodes, test_dir, wait_leader};
use sekimori_engine::Entry;
use sekimori_server::stepup::domain::{device_response, Transaction};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PAYEE: &str = "bank:0001-123-4567890";

/// The wall clock now, RFC 3339 (step-up requests are checked against it).
fn now() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis();
    sekimori_event::format_rfc3339_ms(i64::try_from(ms).expect("ms"))
}

fn tx() -> Value {
    json!({"amount_minor": 250_000, "currency": "JPY", "payee": PAYEE})
}

/// Posts `body` to `path` on whichever node leads (a follower or a dead
/// node answers 503 or nothing: the next one is tried; nothing else is
/// retried, so a verification is never sent twice).
fn on_leader(nodes: &[Node], key: &str, path: &str, body: &Value) -> (u16, Value) {
    let agent = agent();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut at = 0;
    loop {
        let url = format!("{}{path}", nodes[at].url());
        if nodes[at].child.is_some() {
            match post(&agent, &url, key, body) {
                Some((503, _)) | None => {}
                Some(answer) => return answer,
            }
        }
        at = (at + 1) % nodes.len();
        assert!(Instant::now() < deadline, "no leader answered {path}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The code the account's device shows for challenge `id`.
fn device_code(device_key: &[u8], account: &str, id: &str) -> String {
    let tx = Transaction {
        account: account.into(),
        amount_minor: 250_000,
        currency: "JPY".into(),
        payee: PAYEE.into(),
    };
    let nonce: [u8; 16] = hex(id).try_into().expect("16 bytes");
    device_response(device_key, &tx, &nonce).expect("ocra")
}

fn verify(nodes: &[Node], key: &str, account: &str, id: &str, code: &str) -> Value {
    let body = json!({"service": "bank", "account": account, "at": now(), "method": "txsign",
                      "challenge_id": id, "code": code, "transaction": tx()});
    let (s, b) = on_leader(nodes, key, "/v1/stepup/verify", &body);
    assert_eq!(s, 200, "{b}");
    b
}

fn all_applied(nodes: &[Node], stream: &Stream) {
    harness::wait_applied(nodes, stream);
}

/// The `what` of every step-up entry in the stream, in order.
fn stepup_entries(stream: &Stream) -> Vec<String> {
    stream
        .records()
        .into_iter()
        .filter_map(|(_, r)| match Entry::from_bytes(&r.bytes) {
            Ok(Entry::StepUp { what, writes }) => {
                assert_eq!(
                    r.stepup.len(),
                    writes.len(),
                    "the record carries the writes"
                );
                Some(what)
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_step_up_challenge_outlives_its_leader_and_its_code_is_used_once() {
    let _one = serial();
    let dir = test_dir();
    let nats = Nats::start(dir.path());
    let (mut nodes, key) = start_nodes(dir.path(), &nats, 2);
    let stream = Stream::connect(&nats.urls());
    let first = wait_leader(&nodes, Duration::from_secs(30));
    let (s, b) = on_leader(
        &nodes,
        &key,
        "/v1/stepup/ocra/enroll",
        &json!({"service": "bank", "account": "carol", "at": now()}),
    );
    assert_eq!(s, 200, "{b}");
    let device = hex(b["device_key_hex"].as_str().expect("device key"));
    let (s, b) = on_leader(
        &nodes,
        &key,
        "/v1/stepup/tx/challenge",
        &json!({"service": "bank", "account": "carol", "at": now(), "transaction": tx()}),
    );
    assert_eq!(s, 200, "{b}");
    let id = b["challenge_id"].as_str().expect("id").to_string();
    // A wrong code on the first leader: counted there, and in the log.
    let b = verify(&nodes, &key, "carol", &id, "00000000");
    assert_eq!(b["reason_code"], "wrong_code", "{b}");

    // The leader dies with the challenge open; the follower leads.
    all_applied(&nodes, &stream);
    nodes[first].kill();
    let second = wait_leader(&nodes, Duration::from_secs(30));
    assert_ne!(second, first);
    let code = device_code(&device, "carol", &id);
    let b = verify(&nodes, &key, "carol", &id, &code);
    assert_eq!(
        (&b["result"], &b["challenge_id"]),
        (&json!("success"), &json!(id)),
        "the challenge issued by the dead leader does not verify on the new one: {b}"
    );

    // The first node comes back as a follower and applies what the second
    // logged; the second dies; the code, sent again, was used.
    nodes[first].start(&nats.urls(), &["--snapshot-every", "50"]);
    all_applied(&nodes, &stream);
    nodes[second].kill();
    assert_eq!(wait_leader(&nodes, Duration::from_secs(30)), first);
    let b = verify(&nodes, &key, "carol", &id, &code);
    assert_eq!(
        (&b["result"], &b["reason_code"]),
        (&json!("failure"), &json!("used")),
        "a used code verified again after a failover: {b}"
    );

    // The changes are entries of the stream: enrolled, issued, failed,
    // then passed with the challenge consumed.
    let whats = stepup_entries(&stream);
    for want in ["enrolled", "issued", "failed", "passed"] {
        assert!(
            whats.iter().any(|w| w.split(',').any(|x| x == want)),
            "no `{want}` step-up entry in {whats:?}"
        );
    }
    assert!(whats.iter().any(|w| w.contains("consumed")), "{whats:?}");
    nodes[second].start(&nats.urls(), &["--snapshot-every", "50"]);
    stream.check_round(0, &Default::default(), &Default::default(), &nodes);
}

#[test]
fn the_stream_is_trimmed_behind_the_snapshot_and_a_new_node_joins_from_it() {
    let _one = serial();
    let dir = test_dir();
    let nats = Nats::start(dir.path());
    let mut nodes = vec![Node::new(dir.path(), "s0")];
    let key = harness::shared_key(&nodes.iter().collect::<Vec<_>>());
    let flags = ["--snapshot-every", "50", "--trim-margin", "20"];
    nodes[0].start(&nats.urls(), &flags);
    let stream = Stream::connect(&nats.urls());
    wait_leader(&nodes, Duration::from_secs(30));
    // A challenge issued before anything is trimmed: its record reaches the
    // new node through the snapshot, not through the (trimmed) entries.
    let (s, b) = on_leader(
        &nodes,
        &key,
        "/v1/stepup/ocra/enroll",
        &json!({"service": "bank", "account": "dora", "at": now()}),
    );
    assert_eq!(s, 200, "{b}");
    let device = hex(b["device_key_hex"].as_str().expect("device key"));
    let (s, b) = on_leader(
        &nodes,
        &key,
        "/v1/stepup/tx/challenge",
        &json!({"service": "bank", "account": "dora", "at": now(), "transaction": tx()}),
    );
    assert_eq!(s, 200, "{b}");
    let id = b["challenge_id"].as_str().expect("id").to_string();
    let agent = agent();
    let mut last_decision = Value::Null;
    for n in 0..130 {
        last_decision = ack(&agent, &nodes[0].url(), &key, &login(&format!("t-{n}"), n));
    }
    // Snapshots every 50 events; behind the object store's, the stream
    // keeps 20 entries.
    let deadline = Instant::now() + Duration::from_secs(30);
    let (snap, first) = loop {
        let snap = stream.snapshot_seq_within(Duration::from_secs(20));
        let first = stream.first_seq();
        if first > 1 {
            break (snap, first);
        }
        assert!(Instant::now() < deadline, "never trimmed (snapshot {snap})");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        first <= snap + 1 - 20,
        "trimmed past the margin: first {first}, snapshot {snap}"
    );
    assert!(first > 50, "trimmed only to {first} (snapshot {snap})");

    // A new node starts from the snapshot and the stream's tail.
    let mut joiner = Node::new(dir.path(), "s-join");
    std::fs::create_dir_all(&joiner.data).expect("dir");
    std::fs::copy(
        nodes[0].data.join("keys.json"),
        joiner.data.join("keys.json"),
    )
    .expect("keys");
    harness::shared_stepup_key(&joiner.data);
    joiner.start(&nats.urls(), &flags);
    let status = joiner.status().expect("status");
    let joined = status["joined_from"]
        .as_u64()
        .expect("joined from a snapshot");
    assert!(
        joined + 1 >= first,
        "joined from {joined}, stream from {first}"
    );
    nodes.push(joiner);
    all_applied(&nodes, &stream);
    let (a, b) = (
        nodes[0].status().expect("leader"),
        nodes[1].status().expect("joiner"),
    );
    assert_eq!(
        (&a["applied_seq"], &a["state_digest"]),
        (&b["applied_seq"], &b["state_digest"]),
        "the joiner's state differs from the leader's"
    );

    // It leads once the first node dies: the early challenge verifies on
    // it, and an event still in the stream is answered as a duplicate.
    nodes[0].kill();
    assert_eq!(wait_leader(&nodes, Duration::from_secs(30)), 1);
    let b = verify(
        &nodes,
        &key,
        "dora",
        &id,
        &device_code(&device, "dora", &id),
    );
    assert_eq!(b["result"], "success", "{b}");
    let again = ack(&agent, &nodes[1].url(), &key, &login("t-129", 129));
    assert_eq!(again, last_decision);
}
