//! Part 4's actions over cases: bulk actions with per-item results,
//! search, the links a case page draws between accounts, and page errors
//! in the analyst's language; through the API and the pages. Holds, list
//! items and the admin's actions on analysts have their own modules.

use super::*;

#[tokio::test]
async fn bulk_actions_answer_per_case() {
    let b = Bench::new();
    b.brute_force().await;
    let id = transfer_case(&b).await;
    let other =
        b.wb.index()
            .cases()
            .map(|c| c.id)
            .find(|c| *c != id)
            .expect("case");
    let a = b.analyst("aiko", Role::Analyst);
    let aiko = b.api_sign_in("aiko", &a).await;
    let (status, body) = b
        .api(
            "POST",
            "/v1/cases/bulk",
            &aiko,
            Some(json!({"cases": [id, other, 999_999], "action": "claim"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let r = &body["results"];
    assert_eq!(
        (r[0]["ok"].as_bool(), r[1]["ok"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(
        (r[2]["ok"].as_bool(), r[2]["code"].as_str()),
        (Some(false), Some("not_found"))
    );
    let (status, body) = b
        .api(
            "POST",
            "/v1/cases/bulk",
            &aiko,
            Some(json!({"cases": [id], "action": "close", "note": "x"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["path"].as_str()),
        (StatusCode::BAD_REQUEST, Some("disposition"))
    );
    // Through the queue page's form: the held transfer cannot be closed
    // around its decision, the other case closes.
    let (cookie, csrf) = b.sign_in("aiko", &a).await;
    let (_, _, queue) = b.get("/ui/queue", &cookie).await;
    assert!(queue.contains(r#"form="bulk-form""#) && queue.contains(r#"for="bulk-action""#));
    let body = format!(
        "csrf={csrf}&case={id}&case={other}&action=close&disposition=false_positive&note=typos"
    );
    let req = axum::http::Request::post("/ui/queue/bulk")
        .header(axum::http::header::COOKIE, &cookie)
        .header(
            axum::http::header::CONTENT_TYPE,
            "application/x-www-form-urlencoded",
        )
        .body(axum::body::Body::from(body))
        .expect("request");
    let (status, _, page) = b.send(req).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(
        page.contains(&format!(r#"data-case="{id}" data-ok="false""#)),
        "{page}"
    );
    assert!(
        page.contains(&format!(r#"data-case="{other}" data-ok="true""#)),
        "{page}"
    );
    assert!(!b.wb.index().case(other).expect("case").is_open());
    assert!(b.wb.index().case(id).expect("case").is_open());
}

#[tokio::test]
async fn search_finds_cases_by_account_device_address_payee_and_event() {
    let b = Bench::new();
    b.brute_force().await;
    let id = transfer_case(&b).await;
    let a = b.analyst("aiko", Role::Analyst);
    let aiko = b.api_sign_in("aiko", &a).await;
    for (q, kind) in [
        ("acct-900", "account"),
        ("xfer-1", "event"),
        ("0009-200-7100001", "payee"),
    ] {
        let (status, body) = b
            .api("GET", &format!("/v1/search?q={q}"), &aiko, None)
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["hits"][0]["case"].as_u64(), Some(id), "{q}: {body}");
        assert_eq!(body["hits"][0]["matched"], kind);
    }
    let (_, body) = b.api("GET", "/v1/search?q=198.51.100.8", &aiko, None).await;
    assert_eq!(body["hits"][0]["entity"], "acct-008", "by address: {body}");
    let (_, body) = b
        .api("GET", "/v1/search?q=nothing-like-it", &aiko, None)
        .await;
    assert_eq!(body["hits"].as_array().map(Vec::len), Some(0));
    let (status, body) = b
        .api("GET", "/v1/search?q=x&kind=colour", &aiko, None)
        .await;
    assert_eq!(
        (status, body["error"]["path"].as_str()),
        (StatusCode::BAD_REQUEST, Some("kind"))
    );
    let (cookie, _) = b.sign_in("aiko", &a).await;
    let (_, _, queue) = b.get("/ui/queue", &cookie).await;
    assert!(queue.contains(r#"role="search""#) && queue.contains(r#"for="search-q""#));
    let (status, _, page) = b.get("/ui/search?q=acct-900", &cookie).await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains(&format!(r#"data-case="{id}""#)), "{page}");
}

#[tokio::test]
async fn accounts_are_linked_by_a_shared_secret_and_a_shared_bank_account() {
    let b = Bench::new();
    b.brute_force().await;
    b.event(json!({"id": "t-777", "type": "transfer", "service": "netbank",
        "account": "acct-777", "amount_minor": 1000, "currency": "JPY",
        "at": "2026-11-23T03:30:00Z",
        "destination": {"kind": "bank", "bank_code": "0009", "branch": "200", "number": "7100001"}}))
        .await;
    let id = transfer_case(&b).await;
    let uri = b.analyst("aiko", Role::Analyst);
    let (cookie, _) = b.sign_in("aiko", &uri).await;
    let (_, _, page) = b.get(&format!("/ui/cases/{id}"), &cookie).await;
    assert!(
        page.contains("acct-777") && page.contains("bank:0009-200-7100001"),
        "paid the same bank account"
    );
    let brute =
        b.wb.index()
            .case_of_event("netbank", "tour-8")
            .expect("case");
    let (_, _, page) = b.get(&format!("/ui/cases/{brute}"), &cookie).await;
    assert!(
        page.contains("acct-001") && page.contains("secret:k1:81dc9bdb"),
        "the same PIN tried on both"
    );
}

/// Pages show errors in the analyst's language; the API keeps its stable
/// English code and message.
#[tokio::test]
async fn page_errors_are_in_the_analysts_language_and_the_api_stays_english() {
    let b = Bench::new();
    held_transfer(&b).await;
    let uri = b.analyst("aiko", Role::Analyst);
    let (cookie, csrf) = b.sign_in("aiko", &uri).await;
    let (status, _, en) = b.get("/ui/quality", &cookie).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(en.contains("this needs the supervisor role"), "{en}");
    b.post_form(
        "/ui/prefs",
        &cookie,
        &[("csrf", &csrf), ("lang", "ja"), ("tz", "Asia/Tokyo")],
    )
    .await;
    let (status, _, ja) = b.get("/ui/quality", &cookie).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(ja.contains("スーパーバイザーの権限が必要です"), "{ja}");
    assert!(!ja.contains("this needs the"), "{ja}");
    let (status, _, ja) = b.get("/ui/cases/999999", &cookie).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(ja.contains("ケースが見つかりません"), "{ja}");
    // A wrong CSRF token on a form, in Japanese too.
    let (status, _, ja) = b
        .post_form(
            "/ui/prefs",
            &cookie,
            &[("csrf", "wrong"), ("lang", "en"), ("tz", "UTC")],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(ja.contains("CSRF トークン"), "{ja}");

    let token = b.api_sign_in("aiko", &uri).await;
    let (status, body) = b.api("GET", "/v1/cases/999999", &token, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "not_found");
    assert_eq!(body["error"]["message"], "no such case");
}
