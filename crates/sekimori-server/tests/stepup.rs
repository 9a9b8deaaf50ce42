//! Step-up, secret checks and ASN enrichment over HTTP, in process.

mod common;

use axum::http::{Method, StatusCode};
use common::Harness;
use sekimori_stepup::{device_response, Algorithm, Transaction};
use sekimori_webauthn::{CreationChallengeResponse, RequestChallengeResponse, Url};
use serde_json::{json, Value};
use webauthn_authenticator_rs::{softpasskey::SoftPasskey, WebauthnAuthenticator};

/// 2026-11-18T...: a fixed time in the past, so every run computes the same codes.
const T0_MS: i64 = 1_795_000_000_000;

fn at(seconds: i64) -> String {
    sekimori_event::format_rfc3339_ms(T0_MS + seconds * 1000)
}

impl Harness {
    /// Posts a step-up request as service `bank` (unless it names one), with
    /// the server's step-up clock pinned at the request's `at`.
    async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let at = body["at"]
            .as_str()
            .and_then(sekimori_event::parse_rfc3339_ms);
        self.post_on(path, body, at).await
    }

    /// The same with the server clock at `server_ms` (when given).
    async fn post_on(
        &self,
        path: &str,
        mut body: Value,
        server_ms: Option<i64>,
    ) -> (StatusCode, Value) {
        if let Some(ms) = server_ms {
            self.app.stepup.clock.set(ms);
        }
        if path.starts_with("/v1/stepup/") && body.is_object() && body.get("service").is_none() {
            body["service"] = json!("bank");
        }
        self.call(Method::POST, path, Some(&self.ingest), body)
            .await
    }

    /// The durable decision of an event (waits, boundedly, when it was
    /// answered past the time budget and is still being written).
    async fn durable_decision(&self, id: &str) -> Value {
        for _ in 0..1000 {
            let (s, b) = self
                .call(
                    Method::GET,
                    &format!("/v1/decisions/{id}"),
                    Some(&self.read),
                    Value::Null,
                )
                .await;
            if s == StatusCode::OK {
                return b["decision"].clone();
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("no durable decision for {id}");
    }
}

fn error(b: &Value) -> (Option<&str>, Option<&str>) {
    (b["error"]["code"].as_str(), b["error"]["path"].as_str())
}

/// RFC 4648 base32 without padding (the otpauth `secret`).
fn seed_of(uri: &str) -> Vec<u8> {
    sekimori_stepup::seed_from_otpauth_uri(uri)
        .expect("seed")
        .expose()
        .to_vec()
}

fn totp_code(seed: &[u8], seconds: i64) -> String {
    let unix = u64::try_from(T0_MS / 1000 + seconds).expect("positive");
    sekimori_stepup::totp(Algorithm::Sha1, seed, unix, 30, 6).expect("totp")
}

async fn enroll_totp(h: &Harness, account: &str) -> Vec<u8> {
    let (s, b) = h
        .post(
            "/v1/stepup/totp/enroll",
            json!({"account": account, "at": at(0)}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let uri = b["otpauth_uri"].as_str().expect("uri");
    assert!(uri.starts_with("otpauth://totp/sekimori:"), "{uri}");
    seed_of(uri)
}

fn verify_totp(account: &str, code: &str, seconds: i64) -> Value {
    json!({"account": account, "at": at(seconds), "method": "totp", "code": code,
           "service": "bank", "actor": {"device": "d-1", "ip": "203.0.113.5"}})
}

#[tokio::test]
async fn totp_enroll_verify_and_replay() {
    let h = Harness::new().await;
    let seed = enroll_totp(&h, "alice").await;
    let (s, b) = h
        .post(
            "/v1/stepup/totp/enroll",
            json!({"account": "alice", "at": at(1)}),
        )
        .await;
    assert_eq!(
        (s, error(&b)),
        (StatusCode::CONFLICT, (Some("already_enrolled"), None))
    );

    let code = totp_code(&seed, 60);
    let (s, b) = h
        .post("/v1/stepup/verify", verify_totp("alice", &code, 60))
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["result"], "success");
    assert_eq!(b["strong"], true);
    assert!(b.get("reason_code").is_none());
    let event_id = b["event_id"].as_str().expect("event id");
    assert!(event_id.starts_with("stepup-"));
    assert_eq!(b["decision"]["event_type"], "mfa.result");
    let logged = h.durable_decision(event_id).await;
    assert_eq!(logged["event_type"], "mfa.result");
    let event = h.logged_event(event_id).await;
    assert_eq!(
        (
            &event["method"],
            &event["result"],
            &event["service"],
            &event["account"]
        ),
        (
            &json!("totp"),
            &json!("success"),
            &json!("bank"),
            &json!("alice")
        )
    );
    assert_eq!(event["actor"]["device"], "d-1");
    assert!(
        !event.to_string().contains(&code),
        "the code is never logged"
    );

    // The same code again, even a step later: refused as a replay.
    let (_, b) = h
        .post("/v1/stepup/verify", verify_totp("alice", &code, 70))
        .await;
    assert_eq!(
        (&b["result"], &b["reason_code"]),
        (&json!("failure"), &json!("replayed"))
    );
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let (_, b) = h
        .post("/v1/stepup/verify", verify_totp("alice", wrong, 90))
        .await;
    assert_eq!(b["reason_code"], "wrong_code");
    let failed = h.logged_event(b["event_id"].as_str().expect("id")).await;
    assert_eq!(failed["result"], "failure");
    let (_, b) = h
        .post("/v1/stepup/verify", verify_totp("bob", &code, 90))
        .await;
    assert_eq!(error(&b), (Some("not_enrolled"), Some("method")), "{b}");
}

fn tx(payee: &str) -> Value {
    json!({"amount_minor": 250_000, "currency": "JPY", "payee": payee})
}

fn device_code(key: &[u8], account: &str, payee: &str, challenge_id: &str) -> String {
    let tx = Transaction {
        account: account.into(),
        amount_minor: 250_000,
        currency: "JPY".into(),
        payee: payee.into(),
    };
    let nonce: [u8; 16] = hex::decode(challenge_id)
        .expect("hex")
        .try_into()
        .expect("16 bytes");
    device_response(key, &tx, &nonce).expect("ocra")
}

fn verify_tx(account: &str, challenge: &str, code: &str, payee: &str, seconds: i64) -> Value {
    json!({"account": account, "at": at(seconds), "method": "txsign", "challenge_id": challenge,
           "code": code, "transaction": tx(payee), "service": "bank"})
}

async fn enroll_ocra(h: &Harness, account: &str) -> Vec<u8> {
    let (s, b) = h
        .post(
            "/v1/stepup/ocra/enroll",
            json!({"account": account, "at": at(0)}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["suite"], "OCRA-1:HOTP-SHA256-8:QH64");
    hex::decode(b["device_key_hex"].as_str().expect("key")).expect("hex")
}

async fn tx_challenge(h: &Harness, account: &str, payee: &str, seconds: i64) -> String {
    let (s, b) = h
        .post(
            "/v1/stepup/tx/challenge",
            json!({"account": account, "at": at(seconds), "transaction": tx(payee)}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["question"].as_str().map(str::len), Some(64));
    assert_eq!(b["expires_at"], json!(at(seconds + 300)));
    b["challenge_id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn transaction_signing_is_bound_to_amount_and_payee_and_single_use() {
    let h = Harness::new().await;
    let (s, b) = h
        .post(
            "/v1/stepup/tx/challenge",
            json!({"account": "carol", "at": at(0), "transaction": tx("bank:0001-123-4567890")}),
        )
        .await;
    assert_eq!(
        (s, error(&b)),
        (
            StatusCode::CONFLICT,
            (Some("not_enrolled"), Some("account"))
        )
    );
    let key = enroll_ocra(&h, "carol").await;
    let (s, b) = h
        .post(
            "/v1/stepup/ocra/enroll",
            json!({"account": "carol", "at": at(1)}),
        )
        .await;
    assert_eq!(
        (s, error(&b).0),
        (StatusCode::CONFLICT, Some("already_enrolled"))
    );

    let payee = "bank:0001-123-4567890";
    let id = tx_challenge(&h, "carol", payee, 10).await;
    let code = device_code(&key, "carol", payee, &id);
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_tx("carol", &id, &code, "bank:0009-999-0000001", 20),
        )
        .await;
    assert_eq!(
        (&b["result"], &b["reason_code"]),
        (&json!("failure"), &json!("tx_changed"))
    );
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_tx("carol", &id, &code, payee, 30),
        )
        .await;
    assert_eq!(b["result"], "success", "{b}");
    assert_eq!(b["challenge_id"], json!(id));
    let event = h.logged_event(b["event_id"].as_str().expect("id")).await;
    assert_eq!(
        (&event["method"], &event["challenge_id"]),
        (&json!("txsign"), &json!(id))
    );
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_tx("carol", &id, &code, payee, 40),
        )
        .await;
    assert_eq!(b["reason_code"], "used");

    // Another challenge answered too late, and one never issued to this account.
    let late = tx_challenge(&h, "carol", payee, 100).await;
    let code = device_code(&key, "carol", payee, &late);
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_tx("carol", &late, &code, payee, 400),
        )
        .await;
    assert_eq!(
        (&b["result"], &b["reason_code"]),
        (&json!("failure"), &json!("expired"))
    );
    assert_eq!(
        h.logged_event(b["event_id"].as_str().expect("id")).await["result"],
        "expired"
    );
    enroll_ocra(&h, "dave").await;
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_tx("dave", &id, &code, payee, 40),
        )
        .await;
    assert_eq!(b["reason_code"], "unknown_challenge");

    // Five failures kill a challenge.
    let id = tx_challenge(&h, "carol", payee, 500).await;
    for i in 0..5 {
        let (_, b) = h
            .post(
                "/v1/stepup/verify",
                verify_tx("carol", &id, "00000000", payee, 501 + i),
            )
            .await;
        assert_eq!(b["reason_code"], "wrong_code");
    }
    let code = device_code(&key, "carol", payee, &id);
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_tx("carol", &id, &code, payee, 510),
        )
        .await;
    assert_eq!(b["reason_code"], "too_many_failures");
}

const ORIGIN: &str = "http://localhost:7878";

async fn register_passkey(h: &Harness, dev: &mut SoftPasskey, account: &str, proof: Option<&str>) {
    let mut start = json!({"account": account, "user_name": "Alice", "at": at(0)});
    if let Some(p) = proof {
        start["proof_event"] = json!(p);
    }
    let (s, b) = h.post("/v1/stepup/webauthn/register/start", start).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let options: CreationChallengeResponse =
        serde_json::from_value(b["options"].clone()).expect("creation options");
    let credential = dev
        .do_registration(Url::parse(ORIGIN).expect("url"), options)
        .expect("the authenticator registers");
    let (s, b) = h
        .post(
            "/v1/stepup/webauthn/register/finish",
            json!({"account": account, "ceremony_id": b["ceremony_id"], "at": at(5),
                   "credential": serde_json::to_value(&credential).expect("json")}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["passkeys"], 1);
}

/// Starts a step-up and has the device sign it; returns (ceremony id, credential JSON).
async fn passkey_assertion(
    h: &Harness,
    dev: &mut SoftPasskey,
    account: &str,
    transaction: Option<Value>,
) -> (String, Value) {
    let mut body = json!({"account": account, "at": at(10)});
    if let Some(t) = transaction {
        body["transaction"] = t;
    }
    let (s, b) = h.post("/v1/stepup/webauthn/auth/start", body).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let options: RequestChallengeResponse =
        serde_json::from_value(b["options"].clone()).expect("request options");
    let credential = dev
        .do_authentication(Url::parse(ORIGIN).expect("url"), options)
        .expect("the authenticator signs");
    (
        b["ceremony_id"].as_str().expect("id").to_string(),
        serde_json::to_value(&credential).expect("json"),
    )
}

fn verify_passkey(account: &str, ceremony: &str, credential: &Value, payee: Option<&str>) -> Value {
    let mut body = json!({"account": account, "at": at(20), "method": "webauthn",
        "challenge_id": ceremony, "credential": credential, "service": "bank"});
    if let Some(p) = payee {
        body["transaction"] = tx(p);
    }
    body
}

#[tokio::test]
async fn passkey_register_and_transaction_bound_step_up_round_trip() {
    let h = Harness::new().await;
    let (s, b) = h
        .post(
            "/v1/stepup/webauthn/auth/start",
            json!({"account": "erin", "at": at(0)}),
        )
        .await;
    assert_eq!(
        (s, error(&b).0),
        (StatusCode::CONFLICT, Some("not_enrolled"))
    );
    let mut dev = SoftPasskey::new(true);
    register_passkey(&h, &mut dev, "erin", None).await;

    let payee = "bank:0001-123-4567890";
    let (ceremony, credential) = passkey_assertion(&h, &mut dev, "erin", Some(tx(payee))).await;
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_passkey("erin", &ceremony, &credential, Some(payee)),
        )
        .await;
    assert_eq!(
        (&b["result"], &b["strong"]),
        (&json!("success"), &json!(true)),
        "{b}"
    );
    // The ceremony was consumed: the same assertion cannot be used again.
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_passkey("erin", &ceremony, &credential, Some(payee)),
        )
        .await;
    assert_eq!(b["reason_code"], "unknown_challenge");

    // An assertion for one payee does not approve another.
    let (ceremony, credential) = passkey_assertion(&h, &mut dev, "erin", Some(tx(payee))).await;
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_passkey(
                "erin",
                &ceremony,
                &credential,
                Some("bank:0009-999-0000001"),
            ),
        )
        .await;
    assert_eq!(b["reason_code"], "tx_changed");

    // A plain step-up (no transaction) works too, and is the account's only.
    let (ceremony, credential) = passkey_assertion(&h, &mut dev, "erin", None).await;
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_passkey("frank", &ceremony, &credential, None),
        )
        .await;
    // frank has no passkey: refused before anything is checked or logged
    assert_eq!(error(&b), (Some("not_enrolled"), Some("method")), "{b}");
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_passkey("erin", &ceremony, &credential, None),
        )
        .await;
    assert_eq!(b["result"], "success", "{b}");
}

#[tokio::test]
async fn a_registration_answer_is_single_use_and_checked() {
    let h = Harness::new().await;
    let (_, b) = h
        .post(
            "/v1/stepup/webauthn/register/start",
            json!({"account": "gina", "user_name": "Gina", "at": at(0)}),
        )
        .await;
    let options: CreationChallengeResponse =
        serde_json::from_value(b["options"].clone()).expect("options");
    let mut dev = SoftPasskey::new(true);
    let credential = dev
        .do_registration(Url::parse("http://localhost:9999").expect("url"), options)
        .expect("registers");
    let finish = json!({"account": "gina", "ceremony_id": b["ceremony_id"], "at": at(5),
        "credential": serde_json::to_value(&credential).expect("json")});
    let (s, e) = h
        .post("/v1/stepup/webauthn/register/finish", finish.clone())
        .await;
    assert_eq!(
        (s, error(&e)),
        (
            StatusCode::BAD_REQUEST,
            (Some("invalid_credential"), Some("credential"))
        )
    );
    let (s, e) = h.post("/v1/stepup/webauthn/register/finish", finish).await;
    assert_eq!(
        (s, error(&e)),
        (
            StatusCode::NOT_FOUND,
            (Some("challenge_not_found"), Some("ceremony_id"))
        )
    );
}

#[tokio::test]
async fn step_up_state_survives_a_restart() {
    let h = Harness::new().await;
    let seed = enroll_totp(&h, "hana").await;
    // Each further factor is added with a pass of one the account has.
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_totp("hana", &totp_code(&seed, 0), 0),
        )
        .await;
    let (s, b) = h
        .post(
            "/v1/stepup/ocra/enroll",
            json!({"account": "hana", "at": at(0), "proof_event": b["event_id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let key = hex::decode(b["device_key_hex"].as_str().expect("key")).expect("hex");
    let payee = "bank:0001-123-4567890";
    let proof_id = tx_challenge(&h, "hana", payee, 0).await;
    let code = device_code(&key, "hana", payee, &proof_id);
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_tx("hana", &proof_id, &code, payee, 0),
        )
        .await;
    assert_eq!(b["result"], "success", "{b}");
    let id = tx_challenge(&h, "hana", payee, 10).await;
    let mut dev = SoftPasskey::new(true);
    register_passkey(&h, &mut dev, "hana", b["event_id"].as_str()).await;
    let (ceremony, credential) = passkey_assertion(&h, &mut dev, "hana", None).await;
    let first = totp_code(&seed, 30);
    let (_, b) = h
        .post("/v1/stepup/verify", verify_totp("hana", &first, 30))
        .await;
    assert_eq!(b["result"], "success");

    let h = h.restart().await;
    let (_, b) = h
        .post("/v1/stepup/verify", verify_totp("hana", &first, 40))
        .await;
    assert_eq!(b["reason_code"], "replayed", "the used step is remembered");
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_totp("hana", &totp_code(&seed, 90), 90),
        )
        .await;
    assert_eq!(b["result"], "success", "{b}");
    let code = device_code(&key, "hana", payee, &id);
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_tx("hana", &id, &code, payee, 60),
        )
        .await;
    assert_eq!(b["result"], "success", "{b}");
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_passkey("hana", &ceremony, &credential, None),
        )
        .await;
    assert_eq!(b["result"], "success", "{b}");
    let (_, b) = h
        .post(
            "/v1/stepup/totp/enroll",
            json!({"account": "hana", "at": at(100)}),
        )
        .await;
    assert_eq!(error(&b).0, Some("already_enrolled"));
    let key_file = h.dir.path().join("stepup.key");
    assert_eq!(std::fs::read(&key_file).expect("key").len(), 32);
    let raw = std::fs::read(h.dir.path().join("sekimori.redb")).expect("db");
    assert!(
        !raw.windows(seed.len()).any(|w| w == seed.as_slice()),
        "the seed is stored sealed only"
    );
}

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

#[tokio::test]
async fn malformed_step_up_bodies_get_4xx_with_code_and_path() {
    let h = Harness::new().await;
    enroll_totp(&h, "jun").await;
    let ok = verify_totp("jun", "123456", 0);
    let with = |f: &dyn Fn(&mut Value)| {
        let mut b = ok.clone();
        f(&mut b);
        b
    };
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            with(&|b| {
                if let Some(m) = b.as_object_mut() {
                    m.remove("method");
                }
            }),
            400,
            "missing_field",
            "method",
        ),
        (
            with(&|b| b["code"] = json!(123456)),
            400,
            "invalid_type",
            "code",
        ),
        (
            with(&|b| b["method"] = json!("carrier-pigeon")),
            400,
            "invalid_value",
            "method",
        ),
        (
            with(&|b| b["method"] = json!("push")),
            400,
            "invalid_value",
            "method",
        ),
        (
            with(&|b| b["extra"] = json!(1)),
            400,
            "unknown_field",
            "extra",
        ),
        (
            with(&|b| b["transaction"] = tx("p")),
            400,
            "unknown_field",
            "transaction",
        ),
        (
            with(&|b| b["at"] = json!("yesterday")),
            400,
            "invalid_value",
            "at",
        ),
        (
            with(&|b| b["at"] = json!("2999-01-01T00:00:00Z")),
            422,
            "event_in_future",
            "at",
        ),
        (
            with(&|b| b["service"] = json!("Bad Service")),
            400,
            "invalid_value",
            "service",
        ),
        (
            with(&|b| b["account"] = json!("")),
            400,
            "invalid_value",
            "account",
        ),
        (
            with(&|b| b["actor"] = json!({"ip": "999.1.1.1"})),
            400,
            "invalid_value",
            "actor.ip",
        ),
        (
            with(&|b| b["method"] = json!("txsign")),
            400,
            "missing_field",
            "challenge_id",
        ),
        (
            json!({"account": "jun", "at": at(0), "method": "txsign", "challenge_id": "00",
                   "code": "1", "service": "bank"}),
            400,
            "missing_field",
            "transaction",
        ),
        (
            json!({"account": "jun", "at": at(0), "method": "txsign", "challenge_id": "00",
                   "code": "1", "service": "bank",
                   "transaction": {"amount_minor": 1, "currency": "yen", "payee": "p"}}),
            400,
            "invalid_value",
            "transaction.currency",
        ),
        (
            json!({"account": "jun", "at": at(0), "method": "txsign", "challenge_id": "00",
                   "code": "1", "service": "bank",
                   "transaction": {"amount_minor": 1.5, "currency": "JPY", "payee": "p"}}),
            400,
            "invalid_type",
            "transaction.amount_minor",
        ),
    ];
    for (body, status, code, path) in cases {
        let (s, b) = h.post("/v1/stepup/verify", body.clone()).await;
        assert_eq!(
            (s.as_u16(), error(&b)),
            (status, (Some(code), Some(path))),
            "{body} -> {b}"
        );
        assert!(
            !b.to_string().contains("123456"),
            "a code is never echoed: {b}"
        );
    }
    let (s, b) = h
        .call(
            Method::POST,
            "/v1/stepup/totp/enroll",
            Some(&h.read),
            json!({"account": "x", "at": at(0)}),
        )
        .await;
    assert_eq!(
        (s, error(&b).0),
        (StatusCode::FORBIDDEN, Some("insufficient_scope"))
    );
    let (s, b) = h
        .post(
            "/v1/stepup/totp/enroll",
            json!({"account": "a:b", "at": at(0)}),
        )
        .await;
    assert_eq!(
        (s, error(&b)),
        (
            StatusCode::BAD_REQUEST,
            (Some("invalid_value"), Some("account"))
        )
    );
    let (s, b) = h
        .post(
            "/v1/stepup/tx/challenge",
            json!({"account": "jun", "at": at(0)}),
        )
        .await;
    assert_eq!(
        (s, error(&b)),
        (
            StatusCode::BAD_REQUEST,
            (Some("missing_field"), Some("transaction"))
        )
    );
    let (s, b) = h
        .post(
            "/v1/stepup/webauthn/register/finish",
            json!({"account": "jun", "ceremony_id": "00", "at": at(0), "credential": {"id": 5}}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    assert_eq!(error(&b).1.map(|p| p.starts_with("credential")), Some(true));
    let (s, b) = h.post("/v1/stepup/verify", json!([1, 2])).await;
    assert_eq!(
        (s, error(&b).0),
        (StatusCode::BAD_REQUEST, Some("invalid_type"))
    );
}

#[tokio::test]
async fn secrets_check_breached_strong_and_pin() {
    let h = Harness::new().await;
    let check = |body: Value| h.post("/v1/secrets/check", body);

    // "password": SHA-1 5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8.
    let (s, b) = check(json!({"kind": "password", "sha1_prefix": "5baa6"})).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(
        (&b["mode"], &b["prefix"]),
        (&json!("range"), &json!("5BAA6"))
    );
    let suffixes: Vec<&str> = b["suffixes"]
        .as_array()
        .expect("suffixes")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        suffixes
            .iter()
            .any(|l| l.starts_with("1E4C9B93F3F0682250B6CF8331B7EE68FD8:")),
        "{suffixes:?}"
    );

    let (s, b) = check(json!({"kind": "password", "secret": "password"})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["verdict"], "reject");
    assert!(b["codes"]
        .as_array()
        .expect("codes")
        .contains(&json!("breached")));

    let (s, b) = check(json!({"kind": "password",
        "secret": "quartz-Lantern-97-ferry-Marmot!", "user_inputs": ["kai"]}))
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (&b["verdict"], &b["pwned_count"]),
        (&json!("ok"), &json!(0)),
        "{b}"
    );

    let (s, b) = check(json!({"kind": "pin", "secret": "1234"})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(b["verdict"], "reject");
    assert!(b["codes"]
        .as_array()
        .expect("codes")
        .contains(&json!("sequential")));

    let cases = [
        (
            json!({"kind": "password", "sha1_prefix": "5BAAZ"}),
            "invalid_prefix",
            "sha1_prefix",
        ),
        (
            json!({"kind": "password", "sha1_prefix": "5BAA6", "secret": "x"}),
            "ambiguous",
            "secret",
        ),
        (json!({"kind": "password"}), "missing_secret", "secret"),
        (
            json!({"kind": "pin", "secret": "12a4"}),
            "invalid_pin",
            "secret",
        ),
        (
            json!({"kind": "pin", "secret": "2580", "birth_date": "1990-13-45"}),
            "invalid_birth_date",
            "birth_date",
        ),
        (
            json!({"kind": "pin", "secret": 7391}),
            "invalid_type",
            "secret",
        ),
        (
            json!({"kind": "pin", "secret": "7391", "note": "x"}),
            "unknown_field",
            "note",
        ),
        (
            json!({"kind": "token", "secret": "7391"}),
            "invalid_value",
            "kind",
        ),
        (json!({"secret": "7391"}), "missing_field", "kind"),
    ];
    for (body, code, path) in cases {
        let (s, b) = check(body.clone()).await;
        assert_eq!(
            (s, error(&b)),
            (StatusCode::BAD_REQUEST, (Some(code), Some(path))),
            "{body}"
        );
        assert!(
            !b.to_string().contains("7391"),
            "a secret is never echoed: {b}"
        );
    }

    let (s, text) = {
        let (status, bytes) = h
            .call_raw(
                Method::GET,
                "/v1/secrets/range/5BAA6",
                Some(&h.ingest),
                Value::Null,
            )
            .await;
        (status, String::from_utf8(bytes).expect("utf8"))
    };
    assert_eq!(s, StatusCode::OK);
    assert!(text.contains("1E4C9B93F3F0682250B6CF8331B7EE68FD8:"));
    assert!(text
        .split("\r\n")
        .all(|l| l.len() > 36 && l.as_bytes()[35] == b':'));
    let (s, b) = h
        .call(
            Method::GET,
            "/v1/secrets/range/xyz",
            Some(&h.ingest),
            Value::Null,
        )
        .await;
    assert_eq!(
        (s, error(&b)),
        (
            StatusCode::BAD_REQUEST,
            (Some("invalid_prefix"), Some("prefix"))
        )
    );
}

#[tokio::test]
async fn a_breach_corpus_flag_replaces_the_shipped_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    let corpus = dir.path().join("corpus.txt");
    // SHA-1 of "sekimori-test-secret".
    let sha = {
        use sha1::Digest;
        hex::encode_upper(sha1::Sha1::digest(b"sekimori-test-secret"))
    };
    std::fs::write(&corpus, format!("{sha}:42\n")).expect("write");
    let h = Harness::with_config(|c| c.breach_corpus = Some(corpus)).await;
    let (_, b) = h
        .post(
            "/v1/secrets/check",
            json!({"kind": "password", "secret": "sekimori-test-secret"}),
        )
        .await;
    assert_eq!(b["pwned_count"], 42, "{b}");
    let (_, b) = h
        .post(
            "/v1/secrets/check",
            json!({"kind": "password", "sha1_prefix": "5BAA6"}),
        )
        .await;
    assert_eq!(b["suffixes"], json!([]));
}

#[tokio::test]
async fn asn_is_filled_from_the_ip_before_the_event_is_logged() {
    let db = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../data/asn/sekimori-test-asn.mmdb"
    );
    let h = Harness::with_config(|c| c.asn_db = Some(db.into())).await;
    let mut e = common::pin_failure("asn-1", "kai", 0);
    e["actor"] = json!({"ip": "100.64.1.2"});
    let (s, b) = h.event(e).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(h.logged_event("asn-1").await["actor"]["asn"], 9605);

    // A sender's own ASN is kept; an address outside the database stays without.
    let mut given = common::pin_failure("asn-2", "kai", 1);
    given["actor"] = json!({"ip": "100.64.1.2", "asn": 1});
    let mut unknown = common::pin_failure("asn-3", "kai", 2);
    unknown["actor"] = json!({"ip": "8.8.8.8"});
    let mut kddi = common::pin_failure("asn-4", "kai", 3);
    kddi["actor"] = json!({"ip": "100.65.0.9"});
    let (s, b) = h
        .call(
            Method::POST,
            "/v1/events/batch",
            Some(&h.ingest),
            json!({"events": [given, unknown, kddi]}),
        )
        .await;
    assert_eq!((s, &b["accepted"]), (StatusCode::OK, &json!(3)), "{b}");
    assert_eq!(h.logged_event("asn-2").await["actor"]["asn"], 1);
    assert!(h.logged_event("asn-3").await["actor"].get("asn").is_none());
    assert_eq!(h.logged_event("asn-4").await["actor"]["asn"], 2516);

    // The server's own mfa.result events are enriched the same way.
    let seed = enroll_totp(&h, "kai").await;
    let (_, b) = h
        .post(
            "/v1/stepup/verify",
            verify_totp("kai", &totp_code(&seed, 10), 10),
        )
        .await;
    let event = h.logged_event(b["event_id"].as_str().expect("id")).await;
    assert_eq!(event["actor"]["asn"], 64498);

    // Without the database nothing is added.
    let h = Harness::new().await;
    let mut e = common::pin_failure("asn-5", "kai", 0);
    e["actor"] = json!({"ip": "100.64.1.2"});
    h.event(e).await;
    assert!(h.logged_event("asn-5").await["actor"].get("asn").is_none());
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
