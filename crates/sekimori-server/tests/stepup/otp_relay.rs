//! SMS / e-mail codes through the signed OTP webhook.

use crate::common::{self, Harness};
use crate::support::{at, error};
use axum::http::StatusCode;
use serde_json::{json, Value};

/// The secret the test relay shares with the server.
const RELAY_SECRET: &[u8] = b"relay-secret-for-tests";

/// A webhook receiver on 127.0.0.1: the codes it was sent (only those whose
/// `Sekimori-Signature` verifies under [`RELAY_SECRET`]; others get 401), and
/// a route that fails.
async fn webhook() -> (String, tokio::sync::mpsc::UnboundedReceiver<Value>) {
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    let app = axum::Router::new()
        .route(
            "/otp",
            axum::routing::post(
                move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                    let tx = tx.clone();
                    async move {
                        let signature = headers
                            .get(sekimori_notify::SIGNATURE_HEADER)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default();
                        let now = std::time::SystemTime::now()
                            .duration_since(std::time::UNIX_EPOCH)
                            .map_or(0, |d| d.as_secs() as i64);
                        if sekimori_notify::verify(RELAY_SECRET, signature, &body, now, 300)
                            .is_err()
                        {
                            return StatusCode::UNAUTHORIZED;
                        }
                        let _ = tx.send(serde_json::from_slice(&body).unwrap_or(Value::Null));
                        StatusCode::NO_CONTENT
                    }
                },
            ),
        )
        .route(
            "/down",
            axum::routing::post(|| async { StatusCode::SERVICE_UNAVAILABLE }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), rx)
}

/// A harness whose codes go to `url`, signed with `secret`.
async fn with_relay(url: String, secret: &[u8]) -> (Harness, tempfile::NamedTempFile) {
    let file = tempfile::NamedTempFile::new().expect("secret file");
    std::fs::write(file.path(), secret).expect("write secret");
    let path = file.path().to_path_buf();
    let h = Harness::with_config(|c| {
        c.otp_webhook = Some(url);
        c.otp_webhook_secret_file = Some(path);
    })
    .await;
    (h, file)
}

fn send(account: &str, channel: &str, seconds: i64) -> Value {
    json!({"account": account, "channel": channel, "at": at(seconds), "service": "bank",
           "actor": {"ip": "198.51.100.7"}})
}

fn verify_otp(account: &str, method: &str, id: &Value, code: &str, seconds: i64) -> Value {
    json!({"account": account, "at": at(seconds), "method": method, "challenge_id": id,
           "code": code, "service": "bank"})
}

#[tokio::test]
async fn sms_codes_go_through_the_webhook_and_verify_once() {
    let h = Harness::new().await;
    let (s, b) = h.post("/v1/stepup/otp/send", send("ivy", "sms", 0)).await;
    assert_eq!(
        (s, error(&b).0),
        (StatusCode::CONFLICT, Some("no_otp_sender"))
    );

    let (base, mut sent) = webhook().await;
    let url = format!("{base}/otp");
    // A server with another secret: the relay refuses its unsigned-for-it code.
    let (h, _secret) = with_relay(url.clone(), b"not-the-relay-secret").await;
    let (s, b) = h.post("/v1/stepup/otp/send", send("ivy", "sms", 0)).await;
    assert_eq!(
        (s.as_u16(), error(&b).0),
        (502, Some("otp_delivery_failed")),
        "{b}"
    );
    let (h, _secret) = with_relay(url, RELAY_SECRET).await;
    let (s, b) = h.post("/v1/stepup/otp/send", send("ivy", "sms", 0)).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["sent"], true);
    assert_eq!(b["decision"]["event_type"], "mfa.challenge");
    let id = b["challenge_id"].clone();
    let message = sent.recv().await.expect("the webhook got the code");
    assert_eq!(
        (
            &message["account"],
            &message["channel"],
            &message["challenge_id"]
        ),
        (&json!("ivy"), &json!("sms"), &id)
    );
    assert_eq!(message["expires_at"], json!(at(300)));
    let code = message["code"].as_str().expect("code").to_string();
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()));

    let wrong = if code == "000000" { "000001" } else { "000000" };
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_otp("ivy", "sms", &id, wrong, 10),
        )
        .await;
    assert_eq!(b["reason_code"], "wrong_code");
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_otp("ivy", "email", &id, &code, 10),
        )
        .await;
    assert_eq!(
        b["reason_code"], "unknown_challenge",
        "an SMS code is not an e-mail code"
    );
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_otp("ivy", "sms", &id, &code, 20),
        )
        .await;
    assert_eq!(
        (&b["result"], &b["strong"]),
        (&json!("success"), &json!(false)),
        "{b}"
    );
    let event = h.logged_event(b["event_id"].as_str().expect("id")).await;
    assert_eq!(
        (&event["method"], &event["result"]),
        (&json!("sms"), &json!("success"))
    );
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_otp("ivy", "sms", &id, &code, 30),
        )
        .await;
    assert_eq!(b["reason_code"], "used");

    // An e-mail code, answered too late.
    let (_, b) = h
        .post("/v1/stepup/otp/send", send("ivy", "email", 100))
        .await;
    let id = b["challenge_id"].clone();
    let code = sent.recv().await.expect("code")["code"]
        .as_str()
        .expect("code")
        .to_string();
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_otp("ivy", "email", &id, &code, 400),
        )
        .await;
    assert_eq!(b["reason_code"], "expired");

    // A failing webhook is reported, without the code.
    let url = format!("{base}/down");
    let (h, _secret) = with_relay(url, RELAY_SECRET).await;
    let (s, b) = h.post("/v1/stepup/otp/send", send("ivy", "sms", 0)).await;
    assert_eq!(
        (s.as_u16(), error(&b).0),
        (502, Some("otp_delivery_failed")),
        "{b}"
    );
}

/// Codes go out signed: a server with a code relay and no secret to sign
/// with does not start.
#[test]
fn an_otp_webhook_without_a_secret_does_not_start() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = common::config(dir.path(), None);
    c.otp_webhook = Some("http://127.0.0.1:9/otp".into());
    let refused = sekimori_server::open_app(&c).expect_err("refused");
    assert!(
        refused.to_string().contains("--otp-webhook-secret-file"),
        "{refused}"
    );
}
