//! A stream's life: a client gone mid-stream, a key revoked mid-stream.

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
async fn a_client_gone_mid_stream_loses_nothing_it_was_answered() {
    let h = Harness::new().await;
    let (tx, status, mut body) = open_stream(&h, &h.ingest).await;
    assert_eq!(status, StatusCode::OK);
    let first: Vec<Value> = (0..50)
        .map(|i| pin_failure(&format!("d-{i}"), &format!("acct-d{}", i % 7), i))
        .collect();
    tx.send(Ok(Bytes::from(ndjson(&first)))).expect("send");
    let mut have = Vec::new();
    let answered = read_answers(&mut body, &mut have, 20).await;
    // 10 more whole lines and half of one, then the connection breaks and
    // the client stops reading.
    let more: Vec<Value> = (50..60)
        .map(|i| pin_failure(&format!("d-{i}"), "acct-d9", i))
        .collect();
    let mut tail = ndjson(&more);
    let half = pin_failure("d-60", "acct-d9", 60).to_string();
    tail.push_str(&half[..half.len() / 2]);
    tx.send(Ok(Bytes::from(tail))).expect("send");
    tx.send(Err(std::io::Error::other("connection reset")))
        .expect("send");
    drop(body);
    // Every answered event is durable with the answered decision.
    for a in &answered {
        let id = a["decision"]["event_id"].as_str().expect("id");
        assert_eq!(a["durable"], json!(true));
        assert_eq!(
            logged_action(&h, id).await,
            a["decision"]["action"].as_str().map(String::from),
            "{id}"
        );
    }
    // What was sent in full is decided and logged (answered or not); the
    // broken-off line is not.
    for i in 0..60 {
        let id = format!("d-{i}");
        let mut found = false;
        for _ in 0..500 {
            if logged_action(&h, &id).await.is_some() {
                found = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(found, "{id} logged");
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(logged_action(&h, "d-60").await, None);
    // A client that retries the whole stream gets the originals back.
    let (_, answers) = stream(&h, &h.ingest, ndjson(&first)).await;
    assert_eq!(answers.len(), 50);
    assert!(answers.iter().all(|a| a["duplicate"] == json!(true)));
}

#[tokio::test]
async fn a_key_revoked_mid_stream_has_its_next_lines_refused_and_the_stream_ends() {
    use sekimori_server::keys::revoke_key;
    use sekimori_server::routes::stream::KEY_RECHECK;
    let h = Harness::new().await;
    let (record, key) =
        create_key_for(h.dir.path(), "short-lived", vec![Scope::Ingest], None).expect("key");
    let (tx, status, mut body) = open_stream(&h, &key).await;
    assert_eq!(status, StatusCode::OK);
    tx.send(Ok(Bytes::from(ndjson(&[pin_failure("r-1", "acct-r", 1)]))))
        .expect("send");
    let mut have = Vec::new();
    let first = read_answers(&mut body, &mut have, 1).await;
    assert_eq!(first[0]["decision"]["event_id"], json!("r-1"));
    // The operator revokes the key while the stream is open.
    revoke_key(h.dir.path(), &record.id).expect("revoke");
    tokio::time::sleep(KEY_RECHECK + Duration::from_millis(200)).await;
    let next = [
        pin_failure("r-2", "acct-r", 2),
        pin_failure("r-3", "acct-r", 3),
    ];
    tx.send(Ok(Bytes::from(ndjson(&next)))).expect("send");
    let answers = read_answers(&mut body, &mut have, 3).await;
    assert_eq!(code(&answers[1]).0, Some("invalid_api_key"));
    assert_eq!(code(&answers[2]).0, Some("invalid_api_key"));
    // The stream ends: no more lines are read, nothing more is answered.
    let rest = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            match std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
                None => return true,
                Some(Ok(f)) if f.data_ref().is_some_and(|d| !d.is_empty()) => return false,
                Some(_) => {}
            }
        }
    })
    .await
    .expect("the stream ends");
    assert!(rest, "no answer after the refusals");
    assert_eq!(logged_action(&h, "r-2").await, None);
    assert_eq!(logged_action(&h, "r-3").await, None);
}
