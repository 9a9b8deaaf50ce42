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

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use harness::passkeys::register;
use harness::{set_cookie, Bench, RP_ORIGIN};
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
    let uri = b.analyst(login, role);
    let bearer = b.api_sign_in(login, &uri).await;
    register(b, &bearer, dev, "laptop").await;
    bearer
}

#[tokio::test]
async fn a_passkey_registers_and_signs_in_alone_once() {
    let b = Bench::new();
    let mut dev = SoftPasskey::new(true);
    let bearer = with_passkey(&b, "aiko", Role::Analyst, &mut dev).await;
    // Only from a session signed in within the last ten minutes.
    b.advance(sekimori_workbench::web::REGISTER_FRESH_MS);
    let (status, body) = b
        .api(
            "POST",
            "/v1/workbench/passkeys/register/start",
            &bearer,
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, list) = b.api("GET", "/v1/workbench/passkeys", &bearer, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["passkeys"].as_array().map(Vec::len), Some(1));
    assert_eq!(list["passkeys"][0]["name"], "laptop");
    // Public keys and counters only: no private key, no seed in the record.
    let stored = std::fs::read_to_string(b.dir.path().join("analysts.json")).expect("file");
    assert!(stored.contains("\"passkeys\"") && stored.contains("\"counter\""));
    assert!(!stored.to_lowercase().contains("private"));

    let (ceremony, options, raw) = start(&b, Some("aiko")).await;
    assert_eq!(raw["publicKey"]["userVerification"], "required");
    assert_eq!(
        raw["publicKey"]["allowCredentials"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
    let credential = sign(&mut dev, options, RP_ORIGIN);
    let (status, signed) = finish(&b, &ceremony, &credential).await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    assert_eq!(signed["login"], "aiko");
    let token = signed["token"].as_str().expect("token");
    let (status, _) = b.api("GET", "/v1/cases", token, None).await;
    assert_eq!(status, StatusCode::OK, "the passkey's session works");

    // The same assertion again: its ceremony is used up...
    let (status, again) = finish(&b, &ceremony, &credential).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{again}");
    assert_eq!(again["error"]["code"], "invalid_value");
    assert_eq!(again["error"]["path"], "ceremony");
    // ...and under a fresh ceremony its challenge is not the one asked for.
    let (fresh, _, _) = start(&b, Some("aiko")).await;
    let (status, replayed) = finish(&b, &fresh, &credential).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{replayed}");
    assert_eq!(replayed["error"]["code"], "sign_in_failed");
}

#[tokio::test]
async fn a_discoverable_passkey_signs_in_without_a_login() {
    let b = Bench::new();
    let mut dev = SoftPasskey::new(true);
    with_passkey(&b, "aiko", Role::Supervisor, &mut dev).await;
    let id = {
        let (c, o, _) = start(&b, Some("aiko")).await;
        let cred = sign(&mut dev, o, RP_ORIGIN);
        assert_eq!(finish(&b, &c, &cred).await.0, StatusCode::OK);
        cred["rawId"].clone()
    };
    let (ceremony, _, raw) = start(&b, None).await;
    assert_eq!(raw["publicKey"]["allowCredentials"], json!([]));
    // A discoverable authenticator picks its own credential and returns
    // the user handle it was registered with.
    let mut picked = raw.clone();
    picked["publicKey"]["allowCredentials"] = json!([{"type": "public-key", "id": id}]);
    let options = serde_json::from_value(picked).expect("options");
    let mut credential = sign(&mut dev, options, RP_ORIGIN);
    // The analysts' own handle; a step-up customer's handle for the same
    // name (another domain) is not hers.
    let customer = sekimori_webauthn::Passkeys::user_handle("aiko");
    let handle = sekimori_webauthn::Passkeys::analyst_handle("aiko");
    assert_ne!(handle, customer);
    let mut as_customer = credential.clone();
    as_customer["response"]["userHandle"] = json!(b64url(customer.as_bytes()));
    credential["response"]["userHandle"] = json!(b64url(handle.as_bytes()));
    let (status, signed) = finish(&b, &ceremony, &credential).await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    assert_eq!(signed["role"], "supervisor");
    let (ceremony, _, _) = start(&b, None).await;
    assert_eq!(
        finish(&b, &ceremony, &as_customer).await.0,
        StatusCode::UNAUTHORIZED,
        "the customer's handle"
    );

    // Claiming another analyst's user handle: refused.
    b.analyst("bo", Role::Admin);
    let (ceremony, _, raw) = start(&b, None).await;
    let mut picked = raw.clone();
    picked["publicKey"]["allowCredentials"] = json!([{"type": "public-key", "id": id}]);
    let mut credential = sign(
        &mut dev,
        serde_json::from_value(picked).expect("options"),
        RP_ORIGIN,
    );
    credential["response"]["userHandle"] = json!(b64url(
        sekimori_webauthn::Passkeys::analyst_handle("bo").as_bytes()
    ));
    assert_eq!(
        finish(&b, &ceremony, &credential).await.0,
        StatusCode::UNAUTHORIZED
    );
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

#[tokio::test]
async fn a_wrong_origin_a_removed_passkey_and_a_disabled_analyst_are_refused() {
    let b = Bench::new();
    let mut dev = SoftPasskey::new(true);
    with_passkey(&b, "aiko", Role::Analyst, &mut dev).await;

    // Signed at a look-alike origin.
    let (ceremony, options, _) = start(&b, Some("aiko")).await;
    let credential = sign(&mut dev, options, "http://localhost:7879");
    let (status, body) = finish(&b, &ceremony, &credential).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "sign_in_failed");

    // An analyst cannot remove passkeys; an admin can.
    let admin_uri = b.analyst("root", Role::Admin);
    let admin = b.api_sign_in("root", &admin_uri).await;
    let other_uri = b.analyst("bo", Role::Analyst);
    let bo = b.api_sign_in("bo", &other_uri).await;
    let (status, body) = b
        .api(
            "POST",
            "/v1/workbench/passkeys/remove",
            &bo,
            Some(json!({"login": "aiko"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "role_required");
    let (ceremony, options, _) = start(&b, Some("aiko")).await;
    let credential = sign(&mut dev, options, RP_ORIGIN);
    let (status, body) = b
        .api(
            "POST",
            "/v1/workbench/passkeys/remove",
            &admin,
            Some(json!({"login": "aiko"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["removed"], 1);
    let (status, body) = finish(&b, &ceremony, &credential).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "removed: {body}");

    // A disabled analyst's passkey.
    let mut dev2 = SoftPasskey::new(true);
    with_passkey(&b, "chie", Role::Analyst, &mut dev2).await;
    let (ceremony, options, _) = start(&b, Some("chie")).await;
    let credential = sign(&mut dev2, options, RP_ORIGIN);
    let (status, _) = b
        .api("POST", "/v1/analysts/chie/disable", &admin, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = finish(&b, &ceremony, &credential).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "disabled: {body}");
    // And a sign-in started for a disabled login looks like any other.
    let (_, _, raw) = start(&b, Some("chie")).await;
    let (_, _, unknown) = start(&b, Some("nobody")).await;
    assert_eq!(
        raw["publicKey"]["allowCredentials"]
            .as_array()
            .map(Vec::len),
        unknown["publicKey"]["allowCredentials"]
            .as_array()
            .map(Vec::len)
    );
}

/// A JSON POST of the pages: cookie and `x-csrf-token`.
async fn page_json(
    b: &Bench,
    path: &str,
    cookie: &str,
    csrf: &str,
    body: Value,
) -> (StatusCode, axum::http::HeaderMap, Value) {
    let req = Request::post(path)
        .header(header::COOKIE, cookie)
        .header("x-csrf-token", csrf)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    let (status, headers, text) = b.send(req).await;
    (
        status,
        headers,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn the_pages_register_and_sign_in_with_csrf_and_a_bound_ceremony() {
    let b = Bench::new();
    let uri = b.analyst("aiko", Role::Analyst);
    let (cookie, csrf) = b.sign_in("aiko", &uri).await;
    let (status, _, page) = b.get("/ui/passkeys", &cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("passkey-register") && page.contains("/ui/assets/passkey.js"));

    let mut dev = SoftPasskey::new(true);
    let (status, _, body) = page_json(&b, "/ui/passkeys/start", &cookie, "wrong", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "csrf_failed");
    let (status, _, started) = page_json(
        &b,
        "/ui/passkeys/start",
        &cookie,
        &csrf,
        json!({"name": "phone"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let options = serde_json::from_value(started["options"].clone()).expect("options");
    let credential = dev
        .do_registration(url(RP_ORIGIN), options)
        .expect("registers");
    let (status, _, done) = page_json(
        &b,
        "/ui/passkeys/finish",
        &cookie,
        &csrf,
        json!({"ceremony": started["ceremony"], "credential": credential}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let (_, _, page) = b.get("/ui/passkeys", &cookie).await;
    assert!(page.contains("phone"));

    // Sign in on the page: the pre-session cookie is the CSRF token and the
    // ceremony's binding.
    let (_, headers, login_page) = b.get("/ui/login", "").await;
    assert!(login_page.contains("passkey-sign-in"));
    let pre = set_cookie(&headers, "sekimori_signin").expect("pre cookie");
    let pre_cookie = format!("sekimori_signin={pre}");
    let (status, _, body) = page_json(
        &b,
        "/ui/login/passkey/start",
        &pre_cookie,
        "forged",
        json!({}),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, _, started) = page_json(
        &b,
        "/ui/login/passkey/start",
        &pre_cookie,
        &pre,
        json!({"login": "aiko"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    let options = serde_json::from_value(started["options"].clone()).expect("options");
    let credential = sign(&mut dev, options, RP_ORIGIN);
    let finish_body =
        json!({"ceremony": started["ceremony"], "credential": credential, "lang": "ja"});
    // Another browser's pre-session cannot finish it (and uses it up).
    let (_, headers2, _) = b.get("/ui/login", "").await;
    let pre2 = set_cookie(&headers2, "sekimori_signin").expect("pre cookie");
    let (status, _, body) = page_json(
        &b,
        "/ui/login/passkey/finish",
        &format!("sekimori_signin={pre2}"),
        &pre2,
        finish_body.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["path"], "ceremony");
    let (status, _, body) = page_json(
        &b,
        "/ui/login/passkey/finish",
        &pre_cookie,
        &pre,
        finish_body,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "used up: {body}");

    let (_, _, started) = page_json(
        &b,
        "/ui/login/passkey/start",
        &pre_cookie,
        &pre,
        json!({"login": "aiko"}),
    )
    .await;
    let options = serde_json::from_value(started["options"].clone()).expect("options");
    let credential = sign(&mut dev, options, RP_ORIGIN);
    let (status, headers, body) = page_json(
        &b,
        "/ui/login/passkey/finish",
        &pre_cookie,
        &pre,
        json!({"ceremony": started["ceremony"], "credential": credential, "lang": "ja"}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["redirect"], "/ui/queue");
    let token = set_cookie(&headers, "sekimori_session").expect("session cookie");
    let (status, _, queue) = b
        .get("/ui/queue", &format!("sekimori_session={token}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        queue.contains("lang=\"ja\""),
        "the locale chosen on the page"
    );
}

#[tokio::test]
async fn a_ceremony_expires_in_server_time_and_failures_back_off() {
    let b = Bench::new();
    let mut dev = SoftPasskey::new(true);
    with_passkey(&b, "aiko", Role::Analyst, &mut dev).await;
    let (ceremony, options, _) = start(&b, Some("aiko")).await;
    let credential = sign(&mut dev, options, RP_ORIGIN);
    b.advance(sekimori_workbench::ceremonies::CEREMONY_MS);
    let (status, body) = finish(&b, &ceremony, &credential).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "expired: {body}");

    // Wrong-origin assertions from one address: the back-off of the
    // password path (five free, then 429 before anything is checked).
    let mut last = StatusCode::OK;
    for _ in 0..8 {
        let (status, started) = b
            .api_from(
                Some("203.0.113.9"),
                "POST",
                "/v1/workbench/passkeys/sign-in/start",
                "",
                Some(json!({"login": "aiko"})),
            )
            .await;
        last = status;
        if status != StatusCode::OK {
            assert_eq!(started["error"]["code"], "sign_in_throttled");
            break;
        }
        let options = serde_json::from_value(started["options"].clone()).expect("options");
        let credential = sign(&mut dev, options, "http://localhost:7879");
        let (status, _) = b
            .api_from(
                Some("203.0.113.9"),
                "POST",
                "/v1/workbench/passkeys/sign-in/finish",
                "",
                Some(json!({"ceremony": started["ceremony"], "credential": credential})),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    // Another address still signs in.
    let (ceremony, options, _) = start(&b, Some("aiko")).await;
    let credential = sign(&mut dev, options, RP_ORIGIN);
    assert_eq!(finish(&b, &ceremony, &credential).await.0, StatusCode::OK);
}
