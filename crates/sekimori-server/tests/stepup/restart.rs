//! Step-up state (used steps, challenges, ceremonies, sealed seeds)
//! survives a restart.

use crate::common::Harness;
use crate::passkeys::{passkey_assertion, register_passkey, verify_passkey};
use crate::support::{at, enroll_totp, error, totp_code, verify_totp};
use crate::transaction::{device_code, tx_challenge, verify_tx};
use axum::http::StatusCode;
use serde_json::json;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;

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
