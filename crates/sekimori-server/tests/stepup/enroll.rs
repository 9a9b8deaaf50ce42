//! Adding a factor: the first one (onboarding) needs no proof; any further
//! one needs a step-up of a factor the account has that passed within 5
//! minutes, used up; every enrollment is a `credential.change` in the log,
//! and a factor is stored only when the engine allows that change.

use crate::common::Harness;
use crate::support::{at, enroll_on as enroll, error, totp_code, T0_MS};
use axum::http::{Method, StatusCode};
use serde_json::{json, Value};

/// A TOTP verification at `seconds`; its answer.
async fn pass_totp(h: &Harness, account: &str, seed: &[u8], seconds: i64) -> Value {
    let body = json!({"account": account, "at": at(seconds), "method": "totp",
        "code": totp_code(seed, seconds), "actor": {"device": "d-holder"}});
    let (s, b) = h.post("/v1/stepup/verify", body).await;
    assert_eq!(
        (s, &b["result"]),
        (StatusCode::OK, &json!("success")),
        "{b}"
    );
    b
}

/// The number of `credential.change` events logged so far.
fn changes_logged(h: &Harness) -> usize {
    let mut n = 0;
    let mut seq = 1;
    while let Some(bytes) = h.app.store.get(seq).expect("read") {
        if let sekimori_engine::Entry::Event { event, .. } =
            sekimori_engine::Entry::from_bytes(&bytes).expect("entry")
        {
            n += usize::from(event["type"] == "credential.change");
        }
        seq += 1;
    }
    n
}

#[tokio::test]
async fn adding_a_factor_needs_a_recent_pass_of_one_the_account_has_and_is_logged() {
    let h = Harness::new().await;
    let ms = |s: i64| T0_MS + s * 1000;
    // Onboarding: the first factor needs no proof, and is logged.
    let (s, b) = enroll(&h, "totp", "mia", 0, ms(0), None).await;
    assert_eq!((s, &b["enrolled"]), (StatusCode::OK, &json!(true)), "{b}");
    let seed = sekimori_stepup::seed_from_otpauth_uri(b["otpauth_uri"].as_str().expect("uri"))
        .expect("seed")
        .expose()
        .to_vec();
    let first = h.logged_event(b["event_id"].as_str().expect("id")).await;
    assert_eq!(
        (&first["type"], &first["credential"], &first["attrs"]),
        (
            &json!("credential.change"),
            &json!("otp_seed"),
            &json!({"change": "enroll", "method": "totp", "by": "holder", "first": true})
        )
    );
    let logged = changes_logged(&h);

    // Whoever holds the session cannot add their own device without a proof,
    for proof in [None, Some("stepup-00000000000000000000000000000000")] {
        let (s, b) = enroll(&h, "ocra", "mia", 5, ms(5), proof).await;
        assert_eq!(
            (s, error(&b)),
            (
                StatusCode::FORBIDDEN,
                (Some("proof_required"), Some("proof_event"))
            ),
            "{b}"
        );
        assert!(b.get("device_key_hex").is_none());
    }
    // nor a passkey.
    let (s, b) = h
        .post_on(
            "/v1/stepup/webauthn/register/start",
            json!({"account": "mia", "user_name": "Mia", "at": at(5)}),
            Some(ms(5)),
        )
        .await;
    assert_eq!(error(&b).0, Some("proof_required"), "{s} {b}");
    assert_eq!(
        changes_logged(&h),
        logged,
        "a refused enrollment logs nothing"
    );
    // Nothing was stored: no device to challenge.
    let (s, b) = h
        .post_on(
            "/v1/stepup/tx/challenge",
            json!({"account": "mia", "at": at(6),
               "transaction": {"amount_minor": 1, "currency": "JPY", "payee": "account:x"}}),
            Some(ms(6)),
        )
        .await;
    assert_eq!(
        (s, error(&b).0),
        (StatusCode::CONFLICT, Some("not_enrolled")),
        "{b}"
    );

    // A pass older than 5 minutes by the server clock is no proof.
    let old = pass_totp(&h, "mia", &seed, 30).await["event_id"].clone();
    let (s, b) = enroll(&h, "ocra", "mia", 40, ms(30) + 300_000, old.as_str()).await;
    assert_eq!(
        (s, error(&b).0),
        (StatusCode::FORBIDDEN, Some("proof_required")),
        "{b}"
    );
    // A fresh one is, once.
    let proof = pass_totp(&h, "mia", &seed, 90).await["event_id"].clone();
    let (s, b) = enroll(&h, "ocra", "mia", 95, ms(95), proof.as_str()).await;
    assert_eq!((s, &b["enrolled"]), (StatusCode::OK, &json!(true)), "{b}");
    assert_eq!(b["device_key_hex"].as_str().map(str::len), Some(64), "{b}");
    let change = h.logged_event(b["event_id"].as_str().expect("id")).await;
    assert_eq!(
        change["attrs"],
        json!({"change": "enroll", "method": "txsign", "by": "holder", "first": false,
               "proof_event": proof})
    );
    let (s, b) = h
        .post_on(
            "/v1/stepup/webauthn/register/start",
            json!({"account": "mia", "user_name": "Mia", "at": at(96), "proof_event": proof}),
            Some(ms(96)),
        )
        .await;
    assert_eq!(
        (s, error(&b).0),
        (StatusCode::FORBIDDEN, Some("proof_required")),
        "used: {b}"
    );
    let proof = pass_totp(&h, "mia", &seed, 120).await["event_id"].clone();
    let (s, b) = h
        .post_on(
            "/v1/stepup/webauthn/register/start",
            json!({"account": "mia", "user_name": "Mia", "at": at(121), "proof_event": proof}),
            Some(ms(121)),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
}

#[tokio::test]
async fn a_factor_is_stored_only_when_the_engine_allows_the_change() {
    let h = Harness::new().await;
    let ms = |s: i64| T0_MS + s * 1000;
    let (s, b) = enroll(&h, "totp", "noa", 0, ms(0), None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let seed = sekimori_stepup::seed_from_otpauth_uri(b["otpauth_uri"].as_str().expect("uri"))
        .expect("seed")
        .expose()
        .to_vec();
    let proof = pass_totp(&h, "noa", &seed, 30).await["event_id"].clone();
    // A takeover signal: the operator freezes the account.
    let admin = h.admin.clone();
    let (s, b) = h
        .call(
            Method::POST,
            "/v1/holds",
            Some(&admin),
            json!({"hold": {"service": "bank", "scope": "account", "key": "noa"},
                   "action": "freeze", "reason": "holder says not me"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, b) = enroll(&h, "ocra", "noa", 35, ms(35), proof.as_str()).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    assert_eq!(b["enrolled"], false, "{b}");
    assert_ne!(b["decision"]["action"], "allow", "{b}");
    assert!(b.get("device_key_hex").is_none(), "no key leaves: {b}");
    let change = h.logged_event(b["event_id"].as_str().expect("id")).await;
    assert_eq!(change["type"], "credential.change");
    // Nothing stored, and the proof is not used up by a refused change.
    let (s, b) = h
        .post_on(
            "/v1/stepup/tx/challenge",
            json!({"account": "noa", "at": at(36),
               "transaction": {"amount_minor": 1, "currency": "JPY", "payee": "account:x"}}),
            Some(ms(36)),
        )
        .await;
    assert_eq!(
        (s, error(&b).0),
        (StatusCode::CONFLICT, Some("not_enrolled")),
        "{b}"
    );
    let record = h.app.stepup.load("bank", "noa").await.expect("record");
    assert!(
        record
            .record
            .passes
            .iter()
            .any(|p| p.event_id == proof && !p.used),
        "the proof stays unused"
    );
}
