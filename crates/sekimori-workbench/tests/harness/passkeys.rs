//! Passkeys from a software authenticator (webauthn-authenticator-rs's
//! `SoftPasskey`, which runs WebAuthn's client side: origin,
//! clientDataJSON, counter, P-256 signature) against a [`Bench`].

use super::{Bench, RP_ORIGIN};
use axum::http::StatusCode;
use sekimori_webauthn::{CreationChallengeResponse, Url};
use serde_json::{json, Value};
use webauthn_authenticator_rs::{softpasskey::SoftPasskey, WebauthnAuthenticator};

/// Registers a passkey named `name` on `dev` for the analyst of `bearer`
/// over the API; returns its description (`id`, `name`, `created_at`).
pub async fn register(b: &Bench, bearer: &str, dev: &mut SoftPasskey, name: &str) -> Value {
    let (status, started) = b
        .api(
            "POST",
            "/v1/workbench/passkeys/register/start",
            bearer,
            Some(json!({"name": name})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let options: CreationChallengeResponse =
        serde_json::from_value(started["options"].clone()).expect("creation options");
    let credential = dev
        .do_registration(Url::parse(RP_ORIGIN).expect("url"), options)
        .expect("the authenticator registers");
    let (status, done) = b
        .api(
            "POST",
            "/v1/workbench/passkeys/register/finish",
            bearer,
            Some(json!({"ceremony": started["ceremony"], "credential": credential})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    done["passkey"].clone()
}
