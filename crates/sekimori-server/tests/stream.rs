//! Issue 16 part 4: `POST /v1/events/stream`. Answers come in the order of
//! the lines, one per non-blank line; a bad line is answered with its error
//! and the stream goes on; each line is checked against the key as a single
//! event is; overload answers `engine_busy` per event (never a decision the
//! engine did not make); a client that goes away mid-stream loses nothing it
//! was answered, and what it sent in full is decided and logged.

mod common;

use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode};
use common::{pin_failure, Harness};
use hyper::body::{Body as HttpBody, Frame};
use sekimori_server::keys::{create_key_for, Scope};
use serde_json::{json, Value};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::mpsc;
use tower::ServiceExt;

/// A request body fed by the test, frame by frame; an `Err` breaks it off
/// as a client that goes away does.
struct Feed(mpsc::UnboundedReceiver<Result<Bytes, std::io::Error>>);

impl HttpBody for Feed {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.0.poll_recv(cx).map(|o| o.map(|r| r.map(Frame::data)))
    }
}

/// Starts a stream whose body the returned sender feeds.
async fn open_stream(
    h: &Harness,
    key: &str,
) -> (
    mpsc::UnboundedSender<Result<Bytes, std::io::Error>>,
    StatusCode,
    Body,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let req = Request::builder()
        .method(Method::POST)
        .uri("/v1/events/stream")
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/x-ndjson")
        .body(Body::new(Feed(rx)))
        .expect("request");
    let resp = h.router.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    (tx, status, resp.into_body())
}

/// Sends `text` as the whole body; the answer lines.
async fn stream(h: &Harness, key: &str, text: String) -> (StatusCode, Vec<Value>) {
    let (tx, status, body) = open_stream(h, key).await;
    tx.send(Ok(Bytes::from(text))).expect("send");
    drop(tx);
    let bytes = tokio::time::timeout(
        Duration::from_secs(60),
        axum::body::to_bytes(body, usize::MAX),
    )
    .await
    .expect("the stream ends")
    .expect("body");
    (status, lines(&bytes))
}

fn lines(bytes: &[u8]) -> Vec<Value> {
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("each answer line is JSON"))
        .collect()
}

/// Reads answer lines from `body` until there are `n` of them.
async fn read_answers(body: &mut Body, have: &mut Vec<u8>, n: usize) -> Vec<Value> {
    loop {
        let done = lines(have);
        if done.len() >= n {
            return done;
        }
        let frame = tokio::time::timeout(
            Duration::from_secs(60),
            std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)),
        )
        .await
        .expect("an answer within 60 s")
        .expect("the stream is still open")
        .expect("frame");
        if let Ok(data) = frame.into_data() {
            have.extend_from_slice(&data);
        }
    }
}

fn ndjson(events: &[Value]) -> String {
    events.iter().map(|e| format!("{e}\n")).collect()
}

fn code(b: &Value) -> (Option<&str>, Option<&str>) {
    (b["error"]["code"].as_str(), b["error"]["path"].as_str())
}

async fn logged_action(h: &Harness, id: &str) -> Option<String> {
    let (s, b) = h
        .call(
            Method::GET,
            &format!("/v1/decisions/{id}"),
            Some(&h.read),
            Value::Null,
        )
        .await;
    (s == StatusCode::OK).then(|| {
        b["decision"]["action"]
            .as_str()
            .expect("action")
            .to_string()
    })
}

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
