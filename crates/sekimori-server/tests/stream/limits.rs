//! Limits: overload sheds per event and stores nothing; stream places
//! per tenant; a stream needs a body.

use crate::common::{pin_failure, Harness};
use crate::support::*;
use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode};
use sekimori_server::keys::{create_key_for, Scope};
use serde_json::{json, Value};
use std::time::Duration;
use tower::ServiceExt;

#[tokio::test]
async fn overload_answers_engine_busy_per_event_and_stores_nothing() {
    let h = Harness::with_config(|c| c.time_budget_ms = Some(1000)).await;
    let (tx, status, mut body) = open_stream(&h, &h.ingest).await;
    assert_eq!(status, StatusCode::OK);
    // A first event goes through.
    tx.send(Ok(Bytes::from(ndjson(&[pin_failure("b-0", "acct-3", 0)]))))
        .expect("send");
    let mut have = Vec::new();
    let first = read_answers(&mut body, &mut have, 1).await;
    assert_eq!(first[0]["decision"]["event_id"], json!("b-0"));
    // The engine is held past the budget while 30 more arrive (a stalled
    // engine looks the same to the stream).
    let held = h.app.ledger.lock().await;
    let burst: Vec<Value> = (1..=30)
        .map(|i| pin_failure(&format!("b-{i}"), "acct-3", i))
        .collect();
    tx.send(Ok(Bytes::from(ndjson(&burst)))).expect("send");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    drop(held);
    let answers = read_answers(&mut body, &mut have, 31).await;
    for a in &answers[1..] {
        assert_eq!(code(a), (Some("engine_busy"), None), "{a}");
        assert_eq!(a["error"]["type"], json!("rate_limited"));
    }
    // Not decided, not stored: sent again with the same ids they are decided now.
    for i in 1..=30 {
        assert_eq!(logged_action(&h, &format!("b-{i}")).await, None);
    }
    tx.send(Ok(Bytes::from(ndjson(&burst)))).expect("send");
    drop(tx);
    let answers = read_answers(&mut body, &mut have, 61).await;
    for (i, a) in answers[31..].iter().enumerate() {
        assert_eq!(
            a["decision"]["event_id"],
            json!(format!("b-{}", i + 1)),
            "{a}"
        );
        assert_eq!(a["duplicate"], json!(false));
    }

    // At most MAX_STREAMS_PER_TENANT streams of one key that speaks for
    // every service: one more is refused before it starts, while another
    // key still gets a place.
    use sekimori_server::app::{MAX_STREAMS, MAX_STREAMS_PER_TENANT};
    let mut open = Vec::new();
    for _ in 0..MAX_STREAMS_PER_TENANT {
        let (tx, status, body) = open_stream(&h, &h.ingest).await;
        assert_eq!(status, StatusCode::OK);
        open.push((tx, body));
    }
    let (_tx, status, body) = open_stream(&h, &h.ingest).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let bytes = axum::body::to_bytes(body, usize::MAX).await.expect("body");
    assert_eq!(lines(&bytes)[0]["error"]["code"], json!("engine_busy"));
    // Keys that speak for every service fill all places but one, over
    // several keys; the last is kept for a service that holds none.
    let mut keys = Vec::new();
    while open.len() < MAX_STREAMS - 1 {
        let name = format!("streamer-{}", keys.len());
        let key = create_key_for(h.dir.path(), &name, vec![Scope::Ingest], None)
            .expect("key")
            .1;
        for _ in 0..MAX_STREAMS_PER_TENANT.min(MAX_STREAMS - 1 - open.len()) {
            let (tx, status, body) = open_stream(&h, &key).await;
            assert_eq!(status, StatusCode::OK);
            open.push((tx, body));
        }
        keys.push(key);
    }
    let late = create_key_for(h.dir.path(), "late", vec![Scope::Ingest], None)
        .expect("key")
        .1;
    let (_tx, status, _) = open_stream(&h, &late).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "the kept place");
    let services = Some(vec!["bank".to_string()]);
    let bank = create_key_for(h.dir.path(), "bank-late", vec![Scope::Ingest], services)
        .expect("key")
        .1;
    let (bank_tx, status, bank_body) = open_stream(&h, &bank).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "a service holding none gets the kept place"
    );
    open.push((bank_tx, bank_body));
    let (_tx, status, body) = open_stream(&h, &late).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let bytes = axum::body::to_bytes(body, usize::MAX).await.expect("body");
    assert_eq!(lines(&bytes)[0]["error"]["code"], json!("engine_busy"));
    // Closing one makes room (the kept place again: for a service that
    // holds none).
    let (tx, body) = open.pop().expect("one");
    drop(tx);
    let _ = axum::body::to_bytes(body, usize::MAX).await;
    let exchange = Some(vec!["exchange".to_string()]);
    let exchange = create_key_for(h.dir.path(), "exchange", vec![Scope::Ingest], exchange)
        .expect("key")
        .1;
    let mut admitted = false;
    for _ in 0..100 {
        let (_tx, status, _) = open_stream(&h, &exchange).await;
        if status == StatusCode::OK {
            admitted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(admitted, "a closed stream gives its place back");
}

/// The attacker's review (F7): places were counted per key name, so a
/// tenant with four keys held all eight for ever. Now they are counted per
/// service: one tenant with many keys holds at most
/// MAX_STREAMS_PER_TENANT, tenants acting together leave one place, and
/// another tenant's stream is admitted and answered.
#[tokio::test]
async fn one_tenant_with_many_keys_cannot_starve_another_tenants_stream() {
    use sekimori_server::app::{MAX_STREAMS, MAX_STREAMS_PER_TENANT};
    let h = Harness::new().await;
    let bound = |name: &str, service: &str| {
        create_key_for(
            h.dir.path(),
            name,
            vec![Scope::Ingest],
            Some(vec![service.to_string()]),
        )
        .expect("key")
        .1
    };
    let mut open = Vec::new();
    // The attacker's tenant: eight keys, each trying twice.
    let mut admitted = 0;
    for k in 0..MAX_STREAMS {
        let key = bound(&format!("mallory-{k}"), "mallory");
        for _ in 0..2 {
            let (tx, status, body) = open_stream(&h, &key).await;
            if status == StatusCode::OK {
                admitted += 1;
                open.push((tx, body));
            } else {
                assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
            }
        }
    }
    assert_eq!(admitted, MAX_STREAMS_PER_TENANT, "per tenant, not per key");
    // A key speaking for the attacker's service and another is counted
    // against both: no way round the bound.
    let both = create_key_for(
        h.dir.path(),
        "mallory-and-friend",
        vec![Scope::Ingest],
        Some(vec!["friend".to_string(), "mallory".to_string()]),
    )
    .expect("key")
    .1;
    let (_tx, status, _) = open_stream(&h, &both).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Accomplice tenants fill what they can: every place but one.
    let mut t = 0;
    loop {
        let key = bound(&format!("accomplice-{t}"), &format!("accomplice-{t}"));
        let mut got = 0;
        for _ in 0..MAX_STREAMS_PER_TENANT {
            let (tx, status, body) = open_stream(&h, &key).await;
            if status == StatusCode::OK {
                got += 1;
                open.push((tx, body));
            }
        }
        t += 1;
        if got < MAX_STREAMS_PER_TENANT {
            break;
        }
    }
    assert_eq!(open.len(), MAX_STREAMS - 1, "one place kept");
    // The victim's first stream is admitted, and answered.
    let victim = bound("bank-ingest", "bank");
    let (tx, status, mut body) = open_stream(&h, &victim).await;
    assert_eq!(status, StatusCode::OK, "the victim's stream is not starved");
    tx.send(Ok(Bytes::from(ndjson(&[pin_failure("v-1", "acct-v", 1)]))))
        .expect("send");
    let mut have = Vec::new();
    let answers = read_answers(&mut body, &mut have, 1).await;
    assert_eq!(answers[0]["decision"]["event_id"], json!("v-1"));
    drop(open);
}

#[tokio::test]
async fn a_stream_with_no_body_is_refused_before_it_starts() {
    let h = Harness::new().await;
    let req = Request::builder()
        .method(Method::POST)
        .uri("/v1/events/stream")
        .header("authorization", format!("Bearer {}", h.ingest))
        .header("content-type", "application/x-ndjson")
        .body(Body::empty())
        .expect("request");
    let resp = h.router.clone().oneshot(req).await.expect("infallible");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body");
    let body: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(code(&body).0, Some("invalid_json"));
}
