//! Analyst entries (the workbench's actions and labels) in a replicated
//! shard: taken on the leader through the workbench's REST API, they are
//! entries of the stream that the follower applies, and the case is still
//! claimed and closed, with its disposition, on the next leader.

use crate::check::Stream;
use crate::common::get;
use crate::harness::{self, ack, agent, post, Nats, Node};
use crate::{serial, start_nodes, test_dir, wait_leader};
use sekimori_engine::Entry;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const PASSWORD: &str = crate::common::ANALYST_PASSWORD;

/// `sekimori users create` in the first node's data directory; the other
/// nodes get the same analysts file and seal key, as an operator copies
/// them (whichever node leads adopts the analyst into the shard's log;
/// the others find it there). Returns the analyst's TOTP URI.
fn analyst(nodes: &[Node], login: &str) -> String {
    let uri = crate::common::users_create(&nodes[0].data, login, "admin");
    for n in &nodes[1..] {
        for f in ["analysts.json", "analysts.key"] {
            std::fs::copy(nodes[0].data.join(f), n.data.join(f)).expect("copy");
        }
    }
    uri
}

/// Signs in on `node` with a TOTP code of a time step not used before
/// (`used`: the steps used so far); the session's bearer token.
fn sign_in(node: &Node, uri: &str, used: &mut Vec<i64>) -> String {
    let mut now = sekimori_workbench::system_clock()();
    while used.contains(&(now / 30_000)) {
        now += 30_000;
    }
    used.push(now / 30_000);
    let code = sekimori_workbench::testing::totp_code(uri, now);
    let (s, b) = post(
        &agent(),
        &format!("{}/v1/workbench/sessions", node.url()),
        "",
        &json!({"login": "aiko", "password": PASSWORD, "code": code}),
    )
    .expect("answer");
    assert_eq!(s, 200, "{b}");
    b["token"].as_str().expect("token").to_string()
}

fn case(node: &Node, token: &str, id: u64) -> Value {
    let (s, b) = get(&agent(), &format!("{}/v1/cases/{id}", node.url()), token);
    assert_eq!(s, 200, "{b}");
    b
}

#[test]
fn an_analysts_actions_reach_the_follower_and_survive_failover() {
    let _one = serial();
    let dir = test_dir();
    let nats = Nats::start(dir.path());
    let (mut nodes, key) = start_nodes(dir.path(), &nats, 2);
    let stream = Stream::connect(&nats.urls());
    let uri = analyst(&nodes, "aiko");
    let first = wait_leader(&nodes, Duration::from_secs(30));
    // A cluster node adopts the pending analyst into the shard's log.
    crate::analysts::wait_adopted(&nodes[first]);
    let a = agent();
    // One PIN tried across eight accounts: a case.
    for i in 1..=8 {
        let e = json!({"id": format!("tour-{i}"), "type": "login.attempt",
            "at": format!("2026-11-23T02:00:0{i}Z"), "service": "bank",
            "actor": {"ip": format!("198.51.100.{i}")}, "account": format!("acct-00{i}"),
            "factor": "pin", "result": "failure",
            "secret_fp": "k1:81dc9bdb52d04dc20036dbd8313ed055aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"});
        ack(&a, &nodes[first].url(), &key, &e);
    }
    let mut used = Vec::new();
    let token = sign_in(&nodes[first], &uri, &mut used);
    let (s, cases) = get(&a, &format!("{}/v1/cases", nodes[first].url()), &token);
    assert_eq!(s, 200, "{cases}");
    let id = cases["cases"][0]["id"].as_u64().expect("a case");
    let url = |what: &str| format!("{}/v1/cases/{id}/{what}", nodes[first].url());
    let (s, b) = post(&a, &url("claim"), &token, &json!({})).expect("answer");
    assert_eq!(s, 200, "{b}");
    let (s, b) = post(
        &a,
        &url("close"),
        &token,
        &json!({"disposition": "confirmed_fraud", "note": "one PIN across eight accounts"}),
    )
    .expect("answer");
    assert_eq!(s, 200, "{b}");

    // The actions and labels are entries of the stream, and the follower
    // has applied every one.
    let (mut acts, mut labels) = (0, 0);
    for (_, r) in stream.records() {
        match Entry::from_bytes(&r.bytes) {
            // The operator's adoption of the pending analyst is `cli`'s.
            Ok(Entry::Analyst { by, .. }) if by == "cli" => {}
            Ok(Entry::Analyst { by, .. }) => {
                assert_eq!(by, "aiko");
                acts += 1;
            }
            Ok(Entry::Label { label, .. }) => {
                assert_eq!(label, "confirmed_fraud");
                labels += 1;
            }
            _ => {}
        }
    }
    assert!(acts >= 2, "claim and close are logged: {acts}");
    assert!(labels >= 1, "the disposition labels the case's events");
    let last = stream.last_seq();
    let follower = 1 - first;
    let deadline = Instant::now() + Duration::from_secs(30);
    while nodes[follower]
        .status()
        .is_none_or(|s| s["applied_seq"].as_u64() < Some(last))
    {
        assert!(
            Instant::now() < deadline,
            "the follower never applied {last}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // The leader dies: on the next one the case is closed, with its
    // disposition and its history, and cannot be closed again.
    nodes[first].kill();
    assert_eq!(wait_leader(&nodes, Duration::from_secs(30)), follower);
    let token = sign_in(&nodes[follower], &uri, &mut used);
    let c = case(&nodes[follower], &token, id);
    let text = c.to_string();
    assert!(text.contains("confirmed_fraud"), "{text}");
    assert!(text.contains("one PIN across eight accounts"), "{text}");
    let (s, b) = post(
        &a,
        &format!("{}/v1/cases/{id}/close", nodes[follower].url()),
        &token,
        &json!({"disposition": "legitimate", "note": "again"}),
    )
    .expect("answer");
    assert_eq!(s, 409, "a case closed on the old leader closes again: {b}");
    nodes[first].start(&nats.urls(), &["--snapshot-every", "50"]);
    harness::wait_applied(&nodes, &stream);
    stream.check_round(0, &Default::default(), &Default::default(), &nodes);
}
