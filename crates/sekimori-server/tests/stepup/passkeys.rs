//! Passkeys: registration and a transaction-bound step-up round trip.

use crate::common::Harness;
use crate::support::{at, error, tx};
use axum::http::StatusCode;
use sekimori_webauthn::{CreationChallengeResponse, RequestChallengeResponse, Url};
use serde_json::{json, Value};
use webauthn_authenticator_rs::{softpasskey::SoftPasskey, WebauthnAuthenticator};

pub const ORIGIN: &str = "http://localhost:7878";

pub async fn register_passkey(
    h: &Harness,
    dev: &mut SoftPasskey,
    account: &str,
    proof: Option<&str>,
) {
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
pub async fn passkey_assertion(
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

pub fn verify_passkey(
    account: &str,
    ceremony: &str,
    credential: &Value,
    payee: Option<&str>,
) -> Value {
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
