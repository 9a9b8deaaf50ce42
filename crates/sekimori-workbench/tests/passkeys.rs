//! Analysts' passkeys through the router, with a software authenticator
//! (webauthn-authenticator-rs's `SoftPasskey`, which runs the client side
//! of WebAuthn: origin, clientDataJSON, counter, P-256 signature):
//! register, sign in (a login typed, or discoverable), a replayed
//! assertion, a wrong origin, a removed passkey and a disabled analyst
//! refused; the pages' CSRF and ceremony binding; the back-off.

/// Registrations and removals in the audit trail.
#[path = "passkeys_parts/audit.rs"]
mod audit;
/// Concurrent finishes: the in-flight bound and the back-off.
#[path = "passkeys_parts/burst.rs"]
mod burst;
/// Step-up customers' passkeys on the same relying party.
#[path = "passkeys_parts/customers.rs"]
mod customers;
/// Stand-in ids shaped as the stored ones.
#[path = "passkeys_parts/enumeration.rs"]
mod enumeration;
mod harness;
/// The pages: CSRF and the pre-session binding of a ceremony.
#[path = "passkeys_parts/pages.rs"]
mod pages;
/// API sign-in: once, discoverable, the refusals, expiry and back-off.
#[path = "passkeys_parts/sign_in.rs"]
mod sign_in;

use axum::http::StatusCode;
use harness::passkeys::register;
use harness::{Bench, RP_ORIGIN};
use sekimori_webauthn::{PublicKeyCredential, RequestChallengeResponse, Url};
use sekimori_workbench::analysts::Role;
use serde_json::{json, Value};
use webauthn_authenticator_rs::{softpasskey::SoftPasskey, WebauthnAuthenticator};

fn url(s: &str) -> Url {
    Url::parse(s).expect("url")
}

/// Starts an API sign-in (`login` typed or not); returns the ceremony and
/// the options.
async fn start(b: &Bench, login: Option<&str>) -> (String, RequestChallengeResponse, Value) {
    let body = match login {
        Some(l) => json!({"login": l}),
        None => json!({}),
    };
    let (status, started) = b
        .api(
            "POST",
            "/v1/workbench/passkeys/sign-in/start",
            "",
            Some(body),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let options = serde_json::from_value(started["options"].clone()).expect("request options");
    (
        started["ceremony"].as_str().expect("ceremony").to_string(),
        options,
        started["options"].clone(),
    )
}

fn sign(dev: &mut SoftPasskey, options: RequestChallengeResponse, origin: &str) -> Value {
    let credential: PublicKeyCredential = dev
        .do_authentication(url(origin), options)
        .expect("the authenticator signs");
    serde_json::to_value(credential).expect("json")
}

async fn finish(b: &Bench, ceremony: &str, credential: &Value) -> (StatusCode, Value) {
    b.api(
        "POST",
        "/v1/workbench/passkeys/sign-in/finish",
        "",
        Some(json!({"ceremony": ceremony, "credential": credential})),
    )
    .await
}

/// An analyst with a passkey on `dev`; returns their API session.
async fn with_passkey(b: &Bench, login: &str, role: Role, dev: &mut SoftPasskey) -> String {
    let bearer = session(b, login, role).await;
    register(b, &bearer, dev, "laptop").await;
    bearer
}

/// An API session of a new analyst `login` with `role`.
async fn session(b: &Bench, login: &str, role: Role) -> String {
    let uri = b.analyst(login, role);
    b.api_sign_in(login, &uri).await
}

/// Removes passkeys as `bearer` (`body`: the login, and an id or none for all).
async fn remove_passkeys(b: &Bench, bearer: &str, body: Value) -> (StatusCode, Value) {
    b.api("POST", "/v1/workbench/passkeys/remove", bearer, Some(body))
        .await
}

/// Resets `login`'s credentials to `password` as the admin `bearer`.
async fn reset(b: &Bench, bearer: &str, login: &str, password: &str) -> (StatusCode, Value) {
    let path = format!("/v1/analysts/{login}/reset");
    b.api("POST", &path, bearer, Some(json!({"password": password})))
        .await
}

fn b64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}
