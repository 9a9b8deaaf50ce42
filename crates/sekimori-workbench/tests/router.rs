//! The workbench in process: pages and API over a real store and engine.

/// Part 4's bulk actions, search, a case's links and page errors.
#[path = "router_parts/actions.rs"]
mod actions;
/// Part 4's admin actions on analysts: disable and reset.
#[path = "router_parts/analyst_admin.rs"]
mod analyst_admin;
/// The analysts page's passkeys: names, dates, removal with a reason.
#[path = "router_parts/analyst_passkeys.rs"]
mod analyst_passkeys;
/// The same through the REST API.
#[path = "router_parts/api.rs"]
mod api;
/// The attacker's review's findings on bounds: index, catch-up, claims.
#[path = "router_parts/bounds.rs"]
mod bounds;
/// The attacker's review's findings on four eyes.
#[path = "router_parts/four_eyes.rs"]
mod four_eyes;
mod harness;
#[path = "router_parts/held_past_cap.rs"]
mod held_past_cap;
/// Part 4's holds: placed from a case, lifted by two supervisors.
#[path = "router_parts/holds.rs"]
mod holds;
/// Part 4's list items from a case, with an expiry.
#[path = "router_parts/lists.rs"]
mod lists;
/// Part 5's rule-quality page.
#[path = "router_parts/quality.rs"]
mod quality;
/// The attacker's review's findings on sign-in, cookies and notices.
#[path = "router_parts/security.rs"]
mod security;
#[path = "router_parts/sign_in_oracle.rs"]
mod sign_in_oracle;

use axum::http::StatusCode;
use harness::{hidden, set_cookie_line, Bench, LABEL_KEY};
use sekimori_workbench::analysts::Role;
use sekimori_workbench::sessions::IDLE_MS;
use sekimori_workbench::CLAIM_MS;
use serde_json::json;

/// A password reset, then a transfer of 95% of the balance: held for review.
async fn held_transfer(b: &Bench) -> String {
    b.event(
        json!({"id": "reset-1", "type": "credential.change", "service": "netbank",
        "account": "acct-900", "credential": "password", "channel": "email_link",
        "at": "2026-11-23T03:00:00Z"}),
    )
    .await;
    b.event(json!({"id": "xfer-1", "type": "transfer", "service": "netbank",
        "account": "acct-900", "amount_minor": 950000, "currency": "JPY",
        "balance_before_minor": 1000000, "at": "2026-11-23T04:00:00Z",
        "destination": {"kind": "bank", "bank_code": "0009", "branch": "200", "number": "7100001"}}))
        .await
}

/// The transfer's case id.
async fn transfer_case(b: &Bench) -> u64 {
    held_transfer(b).await;
    b.wb.sync()
        .await
        .expect("index")
        .case_of_event("netbank", "xfer-1")
        .expect("case")
}

fn case_ids(page: &str) -> Vec<u64> {
    page.split(r#"data-case=""#)
        .skip(1)
        .filter_map(|s| s.split('"').next()?.parse().ok())
        .collect()
}

#[tokio::test]
async fn a_held_transfer_is_worked_from_queue_to_decline_and_close() {
    let b = Bench::new();
    assert_eq!(b.brute_force().await, "deny");
    assert_eq!(held_transfer(&b).await, "review");
    let uri = b.analyst("aiko", Role::Analyst);
    let (cookie, csrf) = b.sign_in("aiko", &uri).await;

    let (status, _, queue) = b.get("/ui/queue", &cookie).await;
    assert_eq!(status, StatusCode::OK);
    let ids = case_ids(&queue);
    assert_eq!(
        ids.len(),
        2,
        "the brute force's case and the transfer's: {queue}"
    );
    assert!(
        queue.contains("JPY 950,000"),
        "money at risk with its currency"
    );
    assert!(queue.contains("acct-900") && queue.contains("acct-008"));
    // The held money comes first.
    let (_, _, first) = b.get(&format!("/ui/cases/{}", ids[0]), &cookie).await;
    assert!(
        first.contains("xfer-1"),
        "the transfer's case leads the queue"
    );

    let (status, headers, _) = b.post_form("/ui/next", &cookie, &[("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let at = headers["location"].to_str().expect("location").to_string();
    assert_eq!(at, format!("/ui/cases/{}", ids[0]));
    let (_, _, page) = b.get(&at, &cookie).await;
    assert!(page.contains("drain_after_credential_change"), "the rule");
    assert!(page.contains("balance_peak_24h"), "the feature values");
    assert!(page.contains("credential.change"), "the account's timeline");
    assert!(
        page.contains(r#"value="decline""#),
        "the held event can be declined"
    );
    assert!(
        !page.contains(r#"value="approve""#),
        "only supervisors approve (four eyes)"
    );

    let (status, _, body) = b
        .post_form(
            &format!("{at}/decide"),
            &cookie,
            &[
                ("csrf", &csrf),
                ("event_id", "xfer-1"),
                ("outcome", "decline"),
                ("reason", "holder did not make it"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    let notices = b.host.notices.lock().expect("lock").clone();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].kind, "review.declined");
    assert_eq!(notices[0].service, "netbank");
    assert_eq!(notices[0].summary["event_id"], "xfer-1");
    // Declined once: not again.
    let (status, _, _) = b
        .post_form(
            &format!("{at}/decide"),
            &cookie,
            &[
                ("csrf", &csrf),
                ("event_id", "xfer-1"),
                ("outcome", "decline"),
                ("reason", "x"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Closing needs a note; then every event is labelled and "next" follows.
    let (status, _, _) = b
        .post_form(
            &format!("{at}/close"),
            &cookie,
            &[
                ("csrf", &csrf),
                ("disposition", "confirmed_fraud"),
                ("note", "  "),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, headers, _) = b
        .post_form(
            &format!("{at}/close"),
            &cookie,
            &[
                ("csrf", &csrf),
                ("disposition", "confirmed_fraud"),
                ("note", "holder confirmed by phone"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers["location"],
        format!("/ui/cases/{}", ids[1]).as_str(),
        "auto-advance"
    );
    let (_, _, closed) = b.get(&at, &cookie).await;
    assert!(closed.contains("Confirmed fraud") && closed.contains("xfer-1: confirmed_fraud"));

    // The log holds it all, and a fresh index from the log agrees.
    let again = Bench::reopen(&b);
    let index = again.catch_up().expect("index");
    let case = index.case(ids[0]).expect("case");
    assert!(!case.is_open());
    assert_eq!(
        case.events[0].outcome.as_ref().map(|o| o.approved),
        Some(false)
    );
    assert!(case
        .history
        .iter()
        .any(|h| h.what == "decline xfer-1" && h.by == "aiko"));
}

#[tokio::test]
async fn every_post_needs_the_sessions_csrf_token() {
    let b = Bench::new();
    held_transfer(&b).await;
    let uri = b.analyst("aiko", Role::Analyst);
    let (cookie, csrf) = b.sign_in("aiko", &uri).await;
    for (path, form) in [
        ("/ui/next", vec![]),
        ("/ui/logout", vec![]),
        ("/ui/prefs", vec![("lang", "ja"), ("tz", "UTC")]),
    ] {
        let mut bad = form.clone();
        bad.push(("csrf", "0000"));
        let (status, _, _) = b.post_form(path, &cookie, &bad).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path} with a wrong token");
        let (status, _, page) = b.post_form(path, &cookie, &form).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} without a token");
        assert!(page.contains("required field is missing"), "{page}");
    }
    let (status, _, _) = b.post_form("/ui/next", &cookie, &[("csrf", &csrf)]).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "the right token works");
    // Sign-in needs its own pre-session token too.
    let code = sekimori_workbench::testing::totp_code(&uri, b.now());
    let (status, _, _) = b
        .post_form(
            "/ui/login",
            "sekimori_signin=abc",
            &[
                ("csrf", "abd"),
                ("lang", "en"),
                ("login", "aiko"),
                ("password", harness::PASSWORD),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn sessions_end_when_idle_and_everywhere() {
    let b = Bench::new();
    let uri = b.analyst("aiko", Role::Analyst);
    let (cookie, csrf) = b.sign_in("aiko", &uri).await;
    let (status, _, _) = b.get("/ui/queue", &cookie).await;
    assert_eq!(status, StatusCode::OK);
    b.advance(IDLE_MS + 1);
    let (status, headers, _) = b.get("/ui/queue", &cookie).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "idle session expired");
    assert_eq!(headers["location"], "/ui/login");

    let (a, _) = b.sign_in("aiko", &uri).await;
    let (c, csrf_c) = b.sign_in("aiko", &uri).await;
    let _ = csrf;
    let (status, _, _) = b
        .post_form("/ui/logout-everywhere", &c, &[("csrf", &csrf_c)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    for cookie in [&a, &c] {
        let (status, _, _) = b.get("/ui/queue", cookie).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "signed out everywhere");
    }
}

#[tokio::test]
async fn the_session_cookie_is_httponly_strict_and_never_the_stored_form() {
    let b = Bench::new();
    let uri = b.analyst("aiko", Role::Analyst);
    let (_, headers, page) = b.get("/ui/login", "").await;
    let pre = harness::set_cookie(&headers, "sekimori_signin").expect("pre cookie");
    let csrf = hidden(&page, "csrf").expect("csrf");
    let code = sekimori_workbench::testing::totp_code(&uri, b.now());
    let (_, headers, _) = b
        .post_form(
            "/ui/login",
            &format!("sekimori_signin={pre}"),
            &[
                ("csrf", &csrf),
                ("lang", "en"),
                ("login", "aiko"),
                ("password", harness::PASSWORD),
                ("code", &code),
            ],
        )
        .await;
    let line = set_cookie_line(&headers, "sekimori_session").expect("cookie");
    assert!(
        line.contains("HttpOnly") && line.contains("SameSite=Strict"),
        "{line}"
    );
    assert!(!line.contains("Secure"), "loopback http: not Secure");
    let token = harness::set_cookie(&headers, "sekimori_session").expect("token");
    let stored = std::fs::read_to_string(b.dir.path().join("analysts.json")).expect("file");
    assert!(!stored.contains(&token) && !stored.contains(harness::PASSWORD));
    // A wrong code is the same refusal as a wrong password.
    let (_, headers, page) = b.get("/ui/login", "").await;
    let pre = harness::set_cookie(&headers, "sekimori_signin").expect("pre cookie");
    let csrf = hidden(&page, "csrf").expect("csrf");
    let (status, _, body) = b
        .post_form(
            "/ui/login",
            &format!("sekimori_signin={pre}"),
            &[
                ("csrf", &csrf),
                ("lang", "en"),
                ("login", "aiko"),
                ("password", harness::PASSWORD),
                ("code", "000000"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("Sign-in failed"));
}

#[tokio::test]
async fn a_claim_hides_the_case_from_others_for_an_hour() {
    let b = Bench::new();
    held_transfer(&b).await;
    let ua = b.analyst("aiko", Role::Analyst);
    let ub = b.analyst("bo", Role::Analyst);
    let (ca, csrf_a) = b.sign_in("aiko", &ua).await;
    let (cb, csrf_b) = b.sign_in("bo", &ub).await;
    let (_, _, q) = b.get("/ui/queue", &cb).await;
    let id = case_ids(&q)[0];
    let (status, _, _) = b
        .post_form(&format!("/ui/cases/{id}/claim"), &ca, &[("csrf", &csrf_a)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, q) = b.get("/ui/queue", &cb).await;
    assert!(
        case_ids(&q).is_empty(),
        "hidden from bo while aiko holds it"
    );
    let (_, _, q) = b.get("/ui/queue", &ca).await;
    assert_eq!(case_ids(&q), vec![id], "aiko still sees her own");
    let (status, _, _) = b
        .post_form(&format!("/ui/cases/{id}/claim"), &cb, &[("csrf", &csrf_b)])
        .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, _, _) = b
        .post_form(
            &format!("/ui/cases/{id}/close"),
            &cb,
            &[
                ("csrf", &csrf_b),
                ("disposition", "legitimate"),
                ("note", "mine now"),
            ],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "no closing someone else's case"
    );
    b.advance(CLAIM_MS);
    let (cb, csrf_b) = b.sign_in("bo", &ub).await;
    let (_, _, q) = b.get("/ui/queue", &cb).await;
    assert_eq!(case_ids(&q), vec![id], "the claim lapsed after 60 minutes");
    let (status, _, _) = b
        .post_form(&format!("/ui/cases/{id}/claim"), &cb, &[("csrf", &csrf_b)])
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn pages_speak_japanese_and_show_times_in_the_analysts_zone() {
    let b = Bench::new();
    held_transfer(&b).await;
    let (_, _, login) = b.get("/ui/login?lang=ja", "").await;
    assert!(login.contains(r#"lang="ja""#) && login.contains("サインイン"));
    let uri = b.analyst("aiko", Role::Analyst);
    let (cookie, csrf) = b.sign_in("aiko", &uri).await;
    let (_, _, q) = b.get("/ui/queue", &cookie).await;
    assert!(q.contains("Queue") && q.contains("Money at risk"));
    let (status, _, _) = b
        .post_form(
            "/ui/prefs",
            &cookie,
            &[("csrf", &csrf), ("lang", "ja"), ("tz", "Asia/Tokyo")],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, _, q) = b.get("/ui/queue", &cookie).await;
    assert!(q.contains("キュー") && q.contains("リスク金額") && q.contains("JPY 950,000"));
    let id = case_ids(&q)[0];
    let (_, _, page) = b.get(&format!("/ui/cases/{id}"), &cookie).await;
    assert!(page.contains("2026-11-23 13:00:00 JST"), "04:00Z in Tokyo");
    b.post_form(
        "/ui/prefs",
        &cookie,
        &[("csrf", &csrf), ("lang", "en"), ("tz", "UTC")],
    )
    .await;
    let (_, _, page) = b.get(&format!("/ui/cases/{id}"), &cookie).await;
    assert!(page.contains("2026-11-23 04:00:00 UTC"));
    let (status, _, _) = b
        .post_form(
            "/ui/prefs",
            &cookie,
            &[("csrf", &csrf), ("lang", "fr"), ("tz", "UTC")],
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_queue_filters_by_service_rule_action_and_age() {
    let b = Bench::new();
    b.brute_force().await;
    held_transfer(&b).await;
    let uri = b.analyst("aiko", Role::Analyst);
    let (cookie, _) = b.sign_in("aiko", &uri).await;
    let count = |q: String| case_ids(&q).len();
    let (_, _, q) = b.get("/ui/queue?action=review", &cookie).await;
    assert_eq!(count(q), 1);
    let (_, _, q) = b
        .get("/ui/queue?rule=secret_tried_across_accounts", &cookie)
        .await;
    assert_eq!(count(q), 1);
    let (_, _, q) = b.get("/ui/queue?service=qr-pay", &cookie).await;
    assert_eq!(count(q), 0);
    let (_, _, q) = b.get("/ui/queue?min_age_hours=10000", &cookie).await;
    assert_eq!(count(q), 0);
    let (_, _, q) = b
        .get("/ui/queue?service=&rule=&action=&min_age_hours=", &cookie)
        .await;
    assert_eq!(count(q), 2, "empty fields are 'any'");
    let (status, _, _) = b.get("/ui/queue?action=fly", &cookie).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (_, headers, _) = b.get("/ui/assets/htmx.min.js", &cookie).await;
    assert_eq!(headers["content-type"], "text/javascript");
}

#[tokio::test]
async fn the_case_page_draws_accounts_that_share_a_device() {
    let b = Bench::new();
    b.event(
        json!({"id": "l-1", "type": "login.attempt", "service": "netbank",
        "at": "2026-11-23T01:00:00Z", "actor": {"ip": "203.0.113.77", "device": "d-77"},
        "account": "acct-901", "factor": "password", "result": "success"}),
    )
    .await;
    b.event(
        json!({"id": "l-2", "type": "login.attempt", "service": "netbank",
        "at": "2026-11-23T02:30:00Z", "actor": {"ip": "203.0.113.78", "device": "d-77"},
        "account": "acct-900", "factor": "password", "result": "success"}),
    )
    .await;
    held_transfer(&b).await;
    let uri = b.analyst("aiko", Role::Analyst);
    let (cookie, csrf) = b.sign_in("aiko", &uri).await;
    let (_, _, q) = b.get("/ui/queue", &cookie).await;
    let id = case_ids(&q)[0];
    let (_, _, page) = b.get(&format!("/ui/cases/{id}"), &cookie).await;
    assert!(page.contains("<svg") && page.contains("acct-901"), "{page}");
    assert!(page.contains("device:d-77"));
    assert!(
        !page.contains("acct-008"),
        "no link without a shared device or address"
    );
    b.post_form(
        &format!("/ui/cases/{id}/claim"),
        &cookie,
        &[("csrf", &csrf)],
    )
    .await;
    let close = [
        ("csrf", csrf.as_str()),
        ("disposition", "confirmed_fraud"),
        ("note", "takeover"),
    ];
    let (status, _, _) = b
        .post_form(&format!("/ui/cases/{id}/close"), &cookie, &close)
        .await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "a case holding a payment is not closed around it"
    );
    b.post_form(
        &format!("/ui/cases/{id}/decide"),
        &cookie,
        &[
            ("csrf", &csrf),
            ("event_id", "xfer-1"),
            ("outcome", "decline"),
            ("reason", "takeover"),
        ],
    )
    .await;
    b.post_form(&format!("/ui/cases/{id}/close"), &cookie, &close)
        .await;
    let index = b.wb.catch_up().expect("index");
    assert_eq!(index.standing("netbank", "acct-900"), "fraud");
    assert_eq!(index.standing("netbank", "acct-901"), "clean");
    assert_eq!(
        index.linked("netbank", "acct-901", 10),
        vec![("acct-900".to_string(), "device:d-77".to_string())]
    );
}
