//! The pages' passkeys: registration and sign-in through `/ui`, with the
//! CSRF token and the pre-session cookie binding the ceremony.

use super::*;
use axum::body::Body;
use axum::http::{header, Request};
use harness::set_cookie;

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
