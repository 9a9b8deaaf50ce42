//! Answers: in order, durable before written, one per line, checked as
//! single events are.

use crate::common::{pin_failure, Harness};
use crate::support::*;
use axum::body::Bytes;
use axum::http::StatusCode;
use hyper::body::Body as HttpBody;
use sekimori_server::keys::{create_key_for, Scope};
use serde_json::{json, Value};
use std::pin::Pin;
use std::time::Duration;

#[tokio::test]
async fn answers_in_order_a_bad_line_in_the_middle_does_not_end_the_stream() {
    let h = Harness::new().await;
    let mut text = String::new();
    let mut want: Vec<Result<String, (&str, &str)>> = Vec::new();
    for i in 0..40 {
        // The same account throughout, so later answers depend on earlier
        // decisions: the engine saw the lines in order.
        text.push_str(&format!(
            "{}\n",
            pin_failure(&format!("s-{i}"), "acct-1", i)
        ));
        want.push(Ok(format!("s-{i}")));
        match i {
            9 => {
                text.push_str("{\"id\": \"broken\", \n");
                want.push(Err(("invalid_json", "")));
            }
            19 => {
                let mut bad = pin_failure("s-bad", "acct-1", 19);
                bad["amount_minor"] = json!(5);
                text.push_str(&format!("{bad}\r\n\n   \n"));
                want.push(Err(("unknown_field", "amount_minor")));
            }
            29 => {
                text.push_str(&format!("{}\n", "x".repeat(70_000)));
                want.push(Err(("too_large", "")));
            }
            _ => {}
        }
    }
    // An id sent before: its original decision, marked a duplicate.
    text.push_str(&format!("{}", pin_failure("s-3", "acct-1", 3)));
    want.push(Ok("s-3".into()));
    let (status, answers) = stream(&h, &h.ingest, text).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answers.len(), want.len(), "one answer per non-blank line");
    for (got, want) in answers.iter().zip(&want) {
        match want {
            Ok(id) => {
                assert_eq!(got["decision"]["event_id"], json!(id), "{got}");
                // A duplicate of an id still in flight (decided in the same
                // chunk, not yet fsynced) says so, as on the single path.
                if got["duplicate"] != json!(true) {
                    assert_eq!(got["durable"], json!(true), "{got}");
                }
            }
            Err((c, p)) => {
                let (gc, gp) = code(got);
                assert_eq!(gc, Some(*c), "{got}");
                assert_eq!(gp.unwrap_or_default(), *p, "{got}");
            }
        }
    }
    assert_eq!(answers.last().expect("last")["duplicate"], json!(true));
    // Every answer is the decision the log holds; the repeated failures
    // escalated, so the order mattered.
    let mut actions = Vec::new();
    for a in answers.iter().filter(|a| a.get("decision").is_some()) {
        let id = a["decision"]["event_id"].as_str().expect("id");
        let logged = logged_action(&h, id).await.expect("logged");
        assert_eq!(a["decision"]["action"], json!(logged), "{id}");
        actions.push(logged);
    }
    assert_eq!(
        actions[0], "allow",
        "a first failure is allowed: {actions:?}"
    );
    assert_ne!(
        actions[39], "allow",
        "the 40th failure in 40 s is not: {actions:?}"
    );
    // The same events one by one, on a fresh server, decide the same.
    let single = Harness::new().await;
    for (i, want) in actions.iter().take(40).enumerate() {
        let (s, b) = single
            .event(pin_failure(&format!("s-{i}"), "acct-1", i as i64))
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(b["decision"]["action"], json!(want), "s-{i}");
    }
}

#[tokio::test]
async fn each_line_is_checked_against_the_key_as_a_single_event_is() {
    let h = Harness::new().await;
    let services = Some(vec!["bank".to_string()]);
    let bank = create_key_for(h.dir.path(), "bank-only", vec![Scope::Ingest], services)
        .expect("key")
        .1;
    let mut other = pin_failure("o-2", "acct-2", 2);
    other["service"] = json!("exchange");
    let mfa = json!({"id": "o-3", "type": "mfa.result", "service": "bank",
        "at": "2026-11-20T00:02:00Z", "account": "acct-2", "method": "totp",
        "challenge_id": "c-1", "result": "success"});
    let text = ndjson(&[
        pin_failure("o-1", "acct-2", 1),
        other,
        mfa,
        pin_failure("o-4", "acct-2", 4),
    ]);
    let (status, answers) = stream(&h, &bank, text).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answers.len(), 4);
    assert_eq!(answers[0]["decision"]["event_id"], json!("o-1"));
    assert_eq!(
        code(&answers[1]),
        (Some("service_not_permitted"), Some("service"))
    );
    assert_eq!(
        code(&answers[2]),
        (Some("stepup_scope_required"), Some("type"))
    );
    assert_eq!(answers[3]["decision"]["event_id"], json!("o-4"));
    // The refused lines never reached the log.
    assert_eq!(logged_action(&h, "o-2").await, None);
    assert_eq!(logged_action(&h, "o-3").await, None);

    // No key, a key without the ingest scope: the stream never starts.
    let (_, status, _) = open_stream(&h, "sk_nope").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (_, status, _) = open_stream(&h, &h.read).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

/// Group commit never acknowledges early: while the store's commits are
/// held, 30 lines are decided and none is answered (nor committed); once
/// released they are answered, each durable and logged as answered, and
/// their entries went to disk together (a few commits, not 30).
#[tokio::test]
async fn no_line_is_answered_before_its_event_is_durable() {
    let h = Harness::new().await;
    let events: Vec<Value> = (0..30)
        .map(|i| pin_failure(&format!("g-{i}"), &format!("acct-g{}", i % 4), i))
        .collect();
    let before = h.app.store.stats();
    let hold = h.app.store.hold_commits();
    let (tx, status, mut body) = open_stream(&h, &h.ingest).await;
    assert_eq!(status, StatusCode::OK);
    tx.send(Ok(Bytes::from(ndjson(&events)))).expect("send");
    let early = tokio::time::timeout(
        Duration::from_millis(500),
        std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)),
    )
    .await;
    assert!(early.is_err(), "an answer came while its commit was held");
    // (The store's applier may commit earlier batches meanwhile: it
    // answers nobody.)
    let held = h.app.store.stats();
    assert_eq!(
        (held.commits, held.ops),
        (before.commits, before.ops),
        "nothing committed while held"
    );
    drop(hold);
    let mut have = Vec::new();
    let answers = read_answers(&mut body, &mut have, 30).await;
    let after = h.app.store.stats();
    for (a, e) in answers.iter().zip(&events) {
        assert_eq!(a["decision"]["event_id"], e["id"], "{a}");
        assert_eq!(a["durable"], json!(true), "{a}");
        let id = e["id"].as_str().expect("id");
        assert_eq!(
            logged_action(&h, id).await,
            a["decision"]["action"].as_str().map(String::from),
            "{id}"
        );
    }
    assert_eq!(after.ops - before.ops, 30);
    assert!(
        after.commits - before.commits <= 3,
        "30 held entries took {} commits",
        after.commits - before.commits
    );
}

/// Duplicates are found whether the first is already in the log (looked up
/// for the whole chunk at once) or still in flight in the same chunk, and
/// answer the original decision; the first of each is decided once.
#[tokio::test]
async fn duplicates_in_the_log_and_in_the_same_chunk_answer_the_original() {
    let h = Harness::new().await;
    let (s, first) = h.event(pin_failure("x-1", "acct-x", 1)).await;
    assert_eq!(s, StatusCode::OK);
    let text = ndjson(&[
        pin_failure("x-1", "acct-x", 1),
        pin_failure("y-1", "acct-x", 2),
        pin_failure("y-1", "acct-x", 2),
        pin_failure("y-2", "acct-x", 3),
        pin_failure("x-1", "acct-x", 1),
    ]);
    let (status, answers) = stream(&h, &h.ingest, text).await;
    assert_eq!(status, StatusCode::OK);
    let ids: Vec<_> = answers
        .iter()
        .map(|a| a["decision"]["event_id"].clone())
        .collect();
    assert_eq!(
        ids,
        [
            json!("x-1"),
            json!("y-1"),
            json!("y-1"),
            json!("y-2"),
            json!("x-1")
        ]
    );
    let dup: Vec<_> = answers.iter().map(|a| a["duplicate"].clone()).collect();
    assert_eq!(
        dup,
        [
            json!(true),
            json!(false),
            json!(true),
            json!(false),
            json!(true)
        ]
    );
    // The logged one's original, durable; the in-flight one's, not yet.
    assert_eq!(answers[0]["decision"], first["decision"]);
    assert_eq!(answers[0]["durable"], json!(true));
    assert_eq!(answers[4]["decision"], first["decision"]);
    assert_eq!(answers[2]["decision"], answers[1]["decision"]);
    // Decided once: the same id on the single path answers that original.
    let (_, again) = h.event(pin_failure("y-1", "acct-x", 2)).await;
    assert_eq!(again["duplicate"], json!(true));
    assert_eq!(again["decision"], answers[1]["decision"]);
}
