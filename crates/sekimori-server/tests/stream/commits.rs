//! Answers as commits land: a line is answered once the group commit that
//! holds its entry is durable, without waiting for the rest of its chunk,
//! and never before; a commit that fails answers every event of its group
//! `store_failed` (never a decision) and nothing more is accepted.

use crate::common::{pin_failure, Harness};
use crate::support::*;
use axum::body::{Body, Bytes};
use axum::http::{Method, StatusCode};
use hyper::body::Body as HttpBody;
use serde_json::{json, Value};
use std::pin::Pin;
use std::time::Duration;

/// Waits until the ledger has handed `n` more entries to the log than at
/// `from` (decided and queued for their commit).
async fn wait_decided(h: &Harness, from: u64, n: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while h.app.ledger.lock().await.next_seq() < from + n {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not decided in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Whatever answer bytes arrive within `wait`.
async fn more(body: &mut Body, have: &mut Vec<u8>, wait: Duration) {
    while let Ok(Some(Ok(frame))) = tokio::time::timeout(
        wait,
        std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)),
    )
    .await
    {
        if let Ok(data) = frame.into_data() {
            have.extend_from_slice(&data);
        }
    }
}

fn events(prefix: &str, n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            pin_failure(
                &format!("{prefix}-{i}"),
                &format!("acct-{prefix}{}", i % 5),
                i as i64,
            )
        })
        .collect()
}

/// 64 lines in one frame are one chunk. With commits held, all 64 are
/// decided and queued and none is answered; one commit of the oldest 20
/// entries is let through: exactly those 20 are answered (durable, as
/// logged), the other 44 not, until their commit lands too.
#[tokio::test]
async fn a_line_is_answered_when_its_commit_lands_not_after_its_chunk() {
    let h = Harness::new().await;
    let events = events("c", 64);
    let seq = h.app.ledger.lock().await.next_seq();
    let before = h.app.store.stats();
    let hold = h.app.store.hold_commits();
    let (tx, status, mut body) = open_stream(&h, &h.ingest).await;
    assert_eq!(status, StatusCode::OK);
    tx.send(Ok(Bytes::from(ndjson(&events)))).expect("send");
    wait_decided(&h, seq, 64).await;
    let mut have = Vec::new();
    more(&mut body, &mut have, Duration::from_millis(300)).await;
    assert!(have.is_empty(), "an answer came while its commit was held");

    hold.let_through(20);
    let first = tokio::time::timeout(
        Duration::from_secs(20),
        read_answers(&mut body, &mut have, 20),
    )
    .await
    .expect("the first commit's 20 lines are answered before the rest of their chunk lands");
    more(&mut body, &mut have, Duration::from_millis(300)).await;
    let first_only = lines(&have);
    assert_eq!(
        first_only.len(),
        20,
        "answered beyond the landed commit: {}",
        first_only.len()
    );
    let stats = h.app.store.stats();
    assert_eq!(
        (stats.commits - before.commits, stats.ops - before.ops),
        (1, 20)
    );
    for (a, e) in first.iter().zip(&events) {
        assert_eq!(a["decision"]["event_id"], e["id"], "{a}");
        assert_eq!(a["durable"], json!(true), "{a}");
        let id = e["id"].as_str().expect("id");
        assert_eq!(
            logged_action(&h, id).await,
            a["decision"]["action"].as_str().map(String::from),
            "{id}"
        );
    }

    drop(hold);
    let all = read_answers(&mut body, &mut have, 64).await;
    for (a, e) in all.iter().zip(&events) {
        assert_eq!(a["decision"]["event_id"], e["id"], "{a}");
        assert_eq!(a["durable"], json!(true), "{a}");
    }
    assert_eq!(h.app.store.stats().ops - before.ops, 64);
    drop(tx);
}

/// A group commit that fails (a failed fsync) fails every event of its
/// group: each line is answered `store_failed`, none with a decision, none
/// is logged; the server then refuses single events and new lines alike.
#[tokio::test]
async fn a_failed_commit_answers_every_event_of_its_group_store_failed() {
    let h = Harness::new().await;
    let events = events("f", 30);
    let seq = h.app.ledger.lock().await.next_seq();
    let hold = h.app.store.hold_commits();
    let (tx, status, mut body) = open_stream(&h, &h.ingest).await;
    assert_eq!(status, StatusCode::OK);
    tx.send(Ok(Bytes::from(ndjson(&events)))).expect("send");
    wait_decided(&h, seq, 30).await;
    h.app.store.fail_next_commit();
    drop(hold);
    let mut have = Vec::new();
    let answers = read_answers(&mut body, &mut have, 30).await;
    for a in &answers {
        assert_eq!(code(a), (Some("store_failed"), None), "{a}");
        assert!(a.get("decision").is_none(), "{a}");
    }
    for e in &events {
        let id = e["id"].as_str().expect("id");
        assert_eq!(logged_action(&h, id).await, None, "{id} was logged");
    }
    assert!(h.app.store.is_failed() && !h.app.is_ready());

    // A new line on the same stream, and a single event: refused, not decided.
    let late = pin_failure("f-late", "acct-f0", 31);
    tx.send(Ok(Bytes::from(ndjson(std::slice::from_ref(&late)))))
        .expect("send");
    let answers = read_answers(&mut body, &mut have, 31).await;
    assert_eq!(
        code(&answers[30]),
        (Some("store_failed"), None),
        "{}",
        answers[30]
    );
    let (s, b) = h
        .call(
            Method::POST,
            "/v1/events",
            Some(&h.ingest),
            pin_failure("f-single", "acct-f0", 32),
        )
        .await;
    assert_ne!(s, StatusCode::OK, "{b}");
    assert!(b.get("decision").is_none(), "{b}");
    assert_eq!(logged_action(&h, "f-single").await, None);
    drop(tx);
}

/// Lines answered early leave a chunk's duplicates intact: the repeat of a
/// chunk's first line, 200 lines (many parts and commits) later in the same
/// chunk, answers the original decision and is not decided again, though
/// the original's commit landed and its answer went out long before.
#[tokio::test]
async fn a_repeat_late_in_a_chunk_answers_the_original_after_its_commit_landed() {
    let h = Harness::new().await;
    let mut events = events("d", 200);
    events.push(events[0].clone());
    let before = h.app.store.stats();
    let (status, answers) = stream(&h, &h.ingest, ndjson(&events)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(answers.len(), 201);
    let (first, last) = (&answers[0], &answers[200]);
    assert_eq!(first["duplicate"], json!(false), "{first}");
    assert_eq!(last["duplicate"], json!(true), "{last}");
    assert_eq!(last["decision"], first["decision"]);
    assert_eq!(h.app.store.stats().ops - before.ops, 200, "decided twice");
}
