//! Issue 12: step-up that cannot be forged. The server clock bounds every
//! challenge, a transaction code vouches only for its own transaction's
//! event, a stranger cannot lock the holder out of TOTP, enrollments are
//! removed with a second factor or by an operator, and records are kept per
//! (service, account).

mod for_event;
mod lockout;
mod removal;
mod server_clock;
mod services;

use crate::common::Harness;
use crate::support::enroll_on;
pub use crate::support::{at, enroll_totp_for, sign, totp_code, tx_json, wrong_code, T0_MS};
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

/// The server clock at the first request: a fortnight later.
pub const S0_MS: i64 = T0_MS + 14 * 86_400_000;

/// Posts with the key `key`, the server's step-up clock at `server_ms`.
pub async fn post(h: &Harness, path: &str, body: Value, server_ms: i64) -> (StatusCode, Value) {
    h.app.stepup.clock.set(server_ms);
    let key = h.ingest.clone();
    h.call(Method::POST, path, Some(&key), body).await
}

pub fn error(b: &Value) -> Option<&str> {
    b["error"]["code"].as_str()
}

pub fn payee_a() -> &'static str {
    "bank:0009-456-7654321"
}

pub async fn enroll_ocra(h: &Harness, account: &str) -> Vec<u8> {
    let (s, b) = post(
        h,
        "/v1/stepup/ocra/enroll",
        json!({"account": account, "at": at(0), "service": "bank"}),
        S0_MS,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    hex::decode(b["device_key_hex"].as_str().expect("key")).expect("hex")
}

/// Enrolls at `seconds` (the server clock with it), with a proof when given.
pub async fn enroll_at(
    h: &Harness,
    method: &str,
    account: &str,
    seconds: i64,
    proof: Option<&str>,
) -> (StatusCode, Value) {
    enroll_on(h, method, account, seconds, T0_MS + seconds * 1000, proof).await
}

pub async fn challenge(
    h: &Harness,
    account: &str,
    amount_minor: i64,
    payee: &str,
    for_event: Option<&str>,
    seconds: i64,
    server_ms: i64,
) -> (StatusCode, Value) {
    let mut body = json!({"account": account, "at": at(seconds), "service": "bank",
        "transaction": tx_json(amount_minor, payee)});
    if let Some(e) = for_event {
        body["for_event"] = json!(e);
    }
    post(h, "/v1/stepup/tx/challenge", body, server_ms).await
}

#[allow(clippy::too_many_arguments)]
pub fn verify_tx(
    account: &str,
    id: &str,
    code: &str,
    amount_minor: i64,
    payee: &str,
    seconds: i64,
    for_event: Option<&str>,
) -> Value {
    let mut body = json!({"account": account, "at": at(seconds), "method": "txsign",
        "challenge_id": id, "code": code, "transaction": tx_json(amount_minor, payee),
        "service": "bank"});
    if let Some(e) = for_event {
        body["for_event"] = json!(e);
    }
    body
}

pub fn verify_totp(account: &str, code: &str, seconds: i64, device: &str) -> Value {
    json!({"account": account, "at": at(seconds), "method": "totp", "code": code,
        "service": "bank", "actor": {"device": device, "ip": "203.0.113.5"}})
}
