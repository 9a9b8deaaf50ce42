//! What every step-up test uses: the fixed time, posting as a service
//! with the step-up clock pinned, error fields, TOTP codes.

use crate::common::Harness;
use axum::http::{Method, StatusCode};
use sekimori_stepup::{device_response, Algorithm, Transaction};
use serde_json::{json, Value};

/// 2026-11-18T...: a fixed time in the past, so every run computes the same codes.
pub const T0_MS: i64 = 1_795_000_000_000;

pub fn at(seconds: i64) -> String {
    sekimori_event::format_rfc3339_ms(T0_MS + seconds * 1000)
}

impl Harness {
    /// Posts a step-up request as service `bank` (unless it names one), with
    /// the server's step-up clock pinned at the request's `at`.
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        let at = body["at"]
            .as_str()
            .and_then(sekimori_event::parse_rfc3339_ms);
        self.post_on(path, body, at).await
    }

    /// The same with the server clock at `server_ms` (when given).
    pub async fn post_on(
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
    pub async fn durable_decision(&self, id: &str) -> Value {
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

pub fn error(b: &Value) -> (Option<&str>, Option<&str>) {
    (b["error"]["code"].as_str(), b["error"]["path"].as_str())
}

/// RFC 4648 base32 without padding (the otpauth `secret`).
pub fn seed_of(uri: &str) -> Vec<u8> {
    sekimori_stepup::seed_from_otpauth_uri(uri)
        .expect("seed")
        .expose()
        .to_vec()
}

pub fn totp_code(seed: &[u8], seconds: i64) -> String {
    let unix = u64::try_from(T0_MS / 1000 + seconds).expect("positive");
    sekimori_stepup::totp(Algorithm::Sha1, seed, unix, 30, 6).expect("totp")
}

/// Enrolls TOTP for `account` of service `bank`; returns the seed.
pub async fn enroll_totp(h: &Harness, account: &str) -> Vec<u8> {
    enroll_totp_for(h, "bank", account).await
}

/// Enrolls TOTP for `account` of `service` at `at(0)`; returns the seed.
pub async fn enroll_totp_for(h: &Harness, service: &str, account: &str) -> Vec<u8> {
    let (s, b) = h
        .post(
            "/v1/stepup/totp/enroll",
            json!({"account": account, "at": at(0), "service": service}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let uri = b["otpauth_uri"].as_str().expect("uri");
    assert!(uri.starts_with("otpauth://totp/sekimori:"), "{uri}");
    seed_of(uri)
}

/// A code the verifier refuses at `seconds`.
pub fn wrong_code(seed: &[u8], seconds: i64) -> &'static str {
    // The verifier accepts the step before and after too: a code that is
    // none of the three. Avoiding this step's only, a run of a hundred
    // failures drew a neighbour's code about once in 5,000 (2026-12-07).
    let valid = [seconds - 30, seconds, seconds + 30].map(|s| totp_code(seed, s));
    ["000000", "111111", "222222", "333333"]
        .into_iter()
        .find(|c| !valid.iter().any(|v| v == c))
        .unwrap_or("444444")
}

/// Enrolls `method` for `account` of service `bank` at `seconds`, the
/// server's step-up clock at `server_ms`, with a proof when given.
pub async fn enroll_on(
    h: &Harness,
    method: &str,
    account: &str,
    seconds: i64,
    server_ms: i64,
    proof: Option<&str>,
) -> (StatusCode, Value) {
    let mut body = json!({"account": account, "at": at(seconds), "service": "bank"});
    if let Some(p) = proof {
        body["proof_event"] = json!(p);
    }
    let path = format!("/v1/stepup/{method}/enroll");
    h.post_on(&path, body, Some(server_ms)).await
}

pub fn verify_totp(account: &str, code: &str, seconds: i64) -> Value {
    json!({"account": account, "at": at(seconds), "method": "totp", "code": code,
           "service": "bank", "actor": {"device": "d-1", "ip": "203.0.113.5"}})
}

/// The amount (JPY minor units) of the transaction most tests sign.
pub const AMOUNT_MINOR: i64 = 250_000;

pub fn tx(payee: &str) -> Value {
    tx_json(AMOUNT_MINOR, payee)
}

pub fn tx_json(amount_minor: i64, payee: &str) -> Value {
    json!({"amount_minor": amount_minor, "currency": "JPY", "payee": payee})
}

/// The device's OCRA answer to challenge `challenge_id` for the transaction.
pub fn sign(
    key: &[u8],
    account: &str,
    amount_minor: i64,
    payee: &str,
    challenge_id: &str,
) -> String {
    let tx = Transaction {
        account: account.into(),
        amount_minor,
        currency: "JPY".into(),
        payee: payee.into(),
    };
    let nonce: [u8; 16] = hex::decode(challenge_id)
        .expect("hex")
        .try_into()
        .expect("16 bytes");
    device_response(key, &tx, &nonce).expect("ocra")
}
