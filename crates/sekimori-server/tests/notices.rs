//! Holder notices and hold alerts over the signed webhook (`--notify-url`),
//! received by a local axum server and verified with `sekimori_notify::verify`.

mod common;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::post;
use common::Harness;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &[u8] = b"whsec_server_test";

type Hits = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A webhook receiver on 127.0.0.1 that records every request and answers 200.
async fn receiver() -> (String, Hits) {
    let hits: Hits = Arc::default();
    async fn hook(State(hits): State<Hits>, headers: HeaderMap, body: Bytes) -> StatusCode {
        hits.lock().expect("hits").push((headers, body));
        StatusCode::OK
    }
    let router = axum::Router::new()
        .route("/hook", post(hook))
        .with_state(Arc::clone(&hits));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await });
    (format!("http://{addr}/hook"), hits)
}

/// The secret file, with the trailing newline an editor leaves.
fn secret_file(dir: &tempfile::TempDir) -> PathBuf {
    let path = dir.path().join("notify.secret");
    std::fs::write(&path, [SECRET, b"\n"].concat()).expect("secret");
    path
}

async fn notified(url: String, secret: PathBuf) -> Harness {
    Harness::with_config(move |c| {
        c.notify_url = Some(url);
        c.notify_secret_file = Some(secret);
    })
    .await
}

fn now_unix() -> i64 {
    sekimori_server::ledger::wall_clock_ms() / 1000
}

/// Waits until `n` notices arrived; returns them (verified) by id.
async fn notices(hits: &Hits, n: usize) -> std::collections::BTreeMap<String, Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while hits.lock().expect("hits").len() < n {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {n} notices"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut out = std::collections::BTreeMap::new();
    for (headers, body) in hits.lock().expect("hits").iter() {
        let header = headers
            .get("sekimori-signature")
            .and_then(|v| v.to_str().ok())
            .expect("signed");
        sekimori_notify::verify(SECRET, header, body, now_unix(), 300).expect("verifies");
        let notice: Value = serde_json::from_slice(body).expect("json");
        let id = headers
            .get("sekimori-notice-id")
            .and_then(|v| v.to_str().ok())
            .expect("id header");
        assert_eq!(notice["id"], json!(id));
        out.insert(id.to_string(), notice);
    }
    out
}

fn charge(id: &str, account: &str) -> Value {
    json!({"id": id, "type": "charge", "service": "wallet", "at": "2026-11-20T00:00:00Z",
           "account": account, "amount_minor": 5000, "currency": "JPY",
           "source": {"kind": "bank", "bank_code": "0001", "branch": "002", "number": "0000003",
                      "holder_name": "ﾔﾏﾀﾞ ﾀﾛｳ"}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_and_holds_are_notified_signed_after_they_are_durable() {
    let (url, hits) = receiver().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let h = notified(url, secret_file(&tmp)).await.with_metrics().await;

    let (_, c) = h.event(charge("ch-1", "acct-7")).await;
    let login = json!({"id": "lg-1", "type": "login.attempt", "service": "wallet",
        "at": "2026-11-20T00:00:30Z", "account": "acct-7", "factor": "passkey", "result": "success"});
    assert_eq!(h.event(login).await.0, StatusCode::OK);
    let not_me = json!({"id": "nm-1", "type": "report.not_me", "service": "wallet",
        "at": "2026-11-20T00:01:00Z", "account": "acct-7", "note": "not me"});
    let (_, n) = h.event(not_me).await;
    assert_eq!(n["decision"]["action"], json!("freeze"));
    // An event the freeze answers does not alert again: the hold was there.
    let (_, again) = h.event(charge("ch-2", "acct-7")).await;
    assert_eq!(again["decision"]["action"], json!("freeze"));
    let halt = json!({"hold": {"scope": "asset", "key": "XEM"}, "action": "halt",
                      "reason": "hot wallet drained"});
    let (s, placed) = h
        .call(Method::POST, "/v1/holds", Some(&h.admin), halt)
        .await;
    assert_eq!(s, StatusCode::OK, "{placed}");
    let out = json!({"id": "wd-1", "type": "withdrawal", "service": "wallet",
        "at": "2026-11-20T00:02:00Z", "account": "acct-8", "amount_minor": 700, "currency": "JPY",
        "destination": {"kind": "bank", "bank_code": "0005", "branch": "123", "number": "7654321"}});
    let (s, batch) = h
        .call(
            Method::POST,
            "/v1/events/batch",
            Some(&h.ingest),
            json!({"events": [out]}),
        )
        .await;
    assert_eq!(
        (s, batch["accepted"].as_u64()),
        (StatusCode::OK, Some(1)),
        "{batch}"
    );

    let got = notices(&hits, 6).await;
    assert_eq!(
        got["ch-1"],
        json!({"id": "ch-1", "kind": "charge", "account": "acct-7", "service": "wallet",
               "at": "2026-11-20T00:00:00.000Z", "action": c["decision"]["action"],
               "summary": {"amount_minor": 5000, "currency": "JPY",
                           "source": "bank:0001-002-0000003"}})
    );
    assert_eq!(got["nm-1"]["kind"], json!("report.not_me"));
    assert_eq!(got["nm-1"]["action"], json!("freeze"));
    assert!(
        got["nm-1"]["summary"].get("note").is_none(),
        "free text is not sent"
    );
    let alert = &got["nm-1:hold:account:acct-7"];
    assert_eq!(
        (
            &alert["kind"],
            &alert["action"],
            &alert["account"],
            &alert["at"]
        ),
        (
            &json!("hold.placed"),
            &json!("freeze"),
            &json!("acct-7"),
            &json!("2026-11-20T00:01:00.000Z")
        )
    );
    assert_eq!(
        alert["summary"]["hold"],
        json!({"service": "wallet", "scope": "account", "key": "acct-7"})
    );
    assert_eq!(alert["summary"]["rule"], json!("holder_says_not_me"));
    assert_eq!(got["ch-2"]["action"], json!("freeze"));
    let api = got
        .iter()
        .find(|(id, _)| id.starts_with("api:") && id.ends_with(":hold:asset:XEM"))
        .map(|(_, n)| n)
        .expect("the operator's halt is alerted");
    assert_eq!(
        (
            &api["kind"],
            &api["action"],
            &api["at"],
            &api["summary"]["by"]
        ),
        (
            &json!("hold.placed"),
            &json!("halt"),
            &placed["since"],
            &json!("admin")
        )
    );
    assert_eq!(
        got["wd-1"]["summary"],
        json!({"amount_minor": 700, "currency": "JPY", "destination": "bank:0005-123-7654321"}),
        "the batch route notifies too"
    );
    assert_eq!(got.len(), 6, "no notice for a login: {:?}", got.keys());

    // The receiver records a request before it answers: wait for the answers.
    let notifier = h.app.notices.as_ref().expect("on");
    let deadline = Instant::now() + Duration::from_secs(10);
    while notifier.stats().delivered < 6 {
        assert!(Instant::now() < deadline, "{:?}", notifier.stats());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(notifier.stats().dead_lettered, 0);
    let (s, text) = h
        .call_raw(Method::GET, "/metrics", Some(&h.read), Value::Null)
        .await;
    let text = String::from_utf8(text).expect("utf8");
    assert_eq!(s, StatusCode::OK);
    assert!(
        text.contains("sekimori_notices_delivered_total 6"),
        "{text}"
    );
    assert!(
        text.contains("sekimori_notices_dead_lettered_total 0"),
        "{text}"
    );
    assert!(!text.contains("whsec"), "the secret is never shown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undelivered_notices_go_to_the_dead_letter_log_at_shutdown() {
    // Nothing listens here: every attempt is refused and waits for a retry.
    let url = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}/hook", l.local_addr().expect("addr"))
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let h = notified(url, secret_file(&tmp)).await;
    let (s, _) = h.event(charge("ch-1", "acct-1")).await;
    assert_eq!(
        s,
        StatusCode::OK,
        "a dead webhook never holds up a decision"
    );
    h.app.shutdown_notices(Duration::from_millis(200)).await;
    let (s, _) = h.event(charge("ch-2", "acct-1")).await;
    assert_eq!(s, StatusCode::OK);
    let path = h.dir.path().join("notices-dead-letter.jsonl");
    let letters = sekimori_notify::read_dead_letters(&path).expect("dead letters");
    let ids: Vec<&str> = letters.iter().map(|l| l.notice.id.as_str()).collect();
    assert_eq!(ids, ["ch-1", "ch-2"]);
    assert_eq!(letters[1].last_error, "server_shutting_down");
}

#[tokio::test]
async fn the_webhook_needs_both_flags_and_a_non_empty_secret() {
    let tmp = tempfile::tempdir().expect("tmp");
    let empty = tmp.path().join("empty");
    std::fs::write(&empty, "\n").expect("write");
    let secret = secret_file(&tmp);
    let cases: [(Option<&str>, Option<PathBuf>, &str); 4] = [
        (
            Some("http://127.0.0.1:9/h"),
            None,
            "needs --notify-secret-file",
        ),
        (None, Some(secret.clone()), "needs --notify-url"),
        (Some("http://127.0.0.1:9/h"), Some(empty), "is empty"),
        (Some("https://example.com/h"), Some(secret), "http://"),
    ];
    for (url, file, want) in cases {
        let data = tempfile::tempdir().expect("data");
        let mut config = common::config(data.path(), None);
        config.notify_url = url.map(String::from);
        config.notify_secret_file = file;
        let err = tokio::task::spawn_blocking(move || sekimori_server::open_app(&config))
            .await
            .expect("join")
            .expect_err("refused");
        let msg = format!("{err:#}");
        assert!(msg.contains(want), "{msg}");
        assert!(!msg.contains("whsec"), "{msg}");
    }
}
