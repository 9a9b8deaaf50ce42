//! Part 4's actions from a case: holds (four eyes to lift), list items
//! with an expiry, bulk actions with per-item results, search, and the
//! admin's disable / reset of analysts; through the API and the pages.

use super::*;
use harness::log_entries;
use sekimori_engine::{Entry, HoldKey};

/// The transfer's case id.
async fn transfer_case(b: &Bench) -> u64 {
    held_transfer(b).await;
    b.wb.sync()
        .await
        .expect("index")
        .case_of_event("netbank", "xfer-1")
        .expect("case")
}

fn engine_holds(b: &Bench) -> Vec<HoldKey> {
    let g = b.host.engine.lock().expect("lock");
    g.0.holds().list().map(|(k, _)| k.clone()).collect()
}

#[tokio::test]
async fn holds_are_placed_from_a_case_and_lifted_by_two_supervisors() {
    let b = Bench::new();
    let id = transfer_case(&b).await;
    let analyst = b.analyst("aiko", Role::Analyst);
    let aiko = b.api_sign_in("aiko", &analyst).await;
    let place = format!("/v1/cases/{id}/holds");
    // A halt stops a whole scope: supervisors only.
    let (status, _) = b
        .api(
            "POST",
            &place,
            &aiko,
            Some(json!({"scope": "bank", "key": "0009", "reason": "mule bank"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = b
        .api(
            "POST",
            &place,
            &aiko,
            Some(json!({"scope": "account", "key": "acct-900", "reason": "takeover suspected"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["action"], "freeze");
    let frozen = HoldKey::account("netbank", "acct-900");
    assert!(engine_holds(&b).contains(&frozen), "the engine holds it");
    let (status, _) = b
        .api(
            "POST",
            &place,
            &aiko,
            Some(json!({"scope": "account", "key": "acct-900", "reason": "again"})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "one hold per key");
    // Logged through the ledger as the service API does, with who and why.
    let placed = log_entries(&b).into_iter().any(|(_, e)| {
        matches!(e, Entry::Place { by, reason, .. } if by == "analyst:aiko" && reason == "takeover suspected")
    });
    assert!(placed, "Entry::Place by the analyst");

    let lift = format!("/v1/cases/{id}/holds/lift");
    let body = json!({"scope": "account", "key": "acct-900", "reason": "holder verified"});
    let (status, _) = b.api("POST", &lift, &aiko, Some(body.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "analysts do not lift");
    let one = b.analyst("sup1", Role::Supervisor);
    let sup1 = b.api_sign_in("sup1", &one).await;
    let (status, got) = b.api("POST", &lift, &sup1, Some(body.clone())).await;
    assert_eq!(
        (status, got["outcome"].as_str()),
        (StatusCode::OK, Some("requested"))
    );
    assert!(
        engine_holds(&b).contains(&frozen),
        "one supervisor lifts nothing"
    );
    let (status, _) = b.api("POST", &lift, &sup1, Some(body.clone())).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "not the same supervisor twice"
    );
    let (_, holds) = b.api("GET", &place, &sup1, None).await;
    assert_eq!(holds["holds"][0]["lift_requested_by"], "sup1");
    let two = b.analyst("sup2", Role::Supervisor);
    let sup2 = b.api_sign_in("sup2", &two).await;
    let (status, got) = b.api("POST", &lift, &sup2, Some(body)).await;
    assert_eq!(
        (status, got["outcome"].as_str()),
        (StatusCode::OK, Some("lifted"))
    );
    assert!(!engine_holds(&b).contains(&frozen));
    let lifted = log_entries(&b)
        .into_iter()
        .any(|(_, e)| matches!(e, Entry::Lift { by, .. } if by == "analyst:sup2"));
    assert!(lifted);
    let history: Vec<String> =
        b.wb.index()
            .case(id)
            .expect("case")
            .history
            .iter()
            .map(|h| h.what.clone())
            .collect();
    assert!(
        history
            .iter()
            .any(|h| h.starts_with("place freeze on account acct-900")),
        "{history:?}"
    );
    assert!(
        history.iter().any(|h| h.contains("asked by sup1")),
        "{history:?}"
    );

    // The page: the section, labelled controls, and a place form that works.
    let (cookie, csrf) = b.sign_in("aiko", &analyst).await;
    let (_, _, page) = b.get(&format!("/ui/cases/{id}"), &cookie).await;
    assert!(page.contains(r#"id="holds""#) && page.contains(r#"for="hold-reason""#));
    let (status, _, body) = b
        .post_form(
            &format!("/ui/cases/{id}/hold"),
            &cookie,
            &[
                ("csrf", &csrf),
                ("scope", "account"),
                ("key", "acct-900"),
                ("reason", "again, by page"),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER, "{body}");
    assert!(engine_holds(&b).contains(&frozen));
}

#[tokio::test]
async fn a_list_item_added_from_a_case_expires() {
    let b = Bench::new();
    let id = transfer_case(&b).await;
    let uri = b.analyst("sup1", Role::Supervisor);
    let sup = b.api_sign_in("sup1", &uri).await;
    let add = format!("/v1/cases/{id}/lists");
    let item = json!({"list": "blocked_ips", "item": "198.51.100.99",
                      "expires_in_hours": 2, "reason": "the mule's proxy"});
    let (status, body) = b.api("POST", &add, &sup, Some(item)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let listed = |b: &Bench| {
        let g = b.host.engine.lock().expect("lock");
        g.0.list("blocked_ips")
            .expect("declared")
            .contains("198.51.100.99")
    };
    assert!(listed(&b));
    let (status, body) = b
        .api(
            "POST",
            &add,
            &sup,
            Some(
                json!({"list": "no_such_list", "item": "x", "expires_in_hours": 2, "reason": "r"}),
            ),
        )
        .await;
    assert_eq!(
        (status, body["error"]["path"].as_str()),
        (StatusCode::BAD_REQUEST, Some("list")),
        "{body}"
    );
    // A list that configures the pack (here, which services share customers)
    // is never the workbench's: one supervisor would join tenants.
    let (status, body) = b
        .api(
            "POST",
            &add,
            &sup,
            Some(json!({"list": "linked_services", "item": "evil-tenant",
                        "expires_in_hours": 2, "reason": "r"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["path"].as_str()),
        (StatusCode::BAD_REQUEST, Some("list")),
        "{body}"
    );
    assert!(!b
        .host
        .engine
        .lock()
        .expect("lock")
        .0
        .list("linked_services")
        .expect("declared")
        .contains("evil-tenant"));
    let (status, body) = b
        .api(
            "POST",
            &add,
            &sup,
            Some(json!({"list": "blocked_ips", "item": "x", "expires_in_hours": 0, "reason": "r"})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["path"].as_str()),
        (StatusCode::BAD_REQUEST, Some("expires_in_hours"))
    );
    assert_eq!(b.wb.expire_list_items().await.expect("sweep"), 0, "not yet");
    b.advance(2 * 3_600_000 + 1);
    assert_eq!(b.wb.expire_list_items().await.expect("sweep"), 1);
    assert!(!listed(&b), "taken off at its expiry");
    let expired = log_entries(&b).into_iter().any(|(_, e)| {
        matches!(&e, Entry::List { by, items, .. } if by == "workbench:expiry" && items.is_empty())
    });
    assert!(expired, "the removal is a list entry through the ledger");
}

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
async fn an_admin_disables_and_resets_analysts() {
    let b = Bench::new();
    let admin = b.analyst("root", Role::Admin);
    let root = b.api_sign_in("root", &admin).await;
    let a = b.analyst("aiko", Role::Analyst);
    let aiko = b.api_sign_in("aiko", &a).await;
    let (status, body) = b
        .api("POST", "/v1/analysts/aiko/disable", &root, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["sessions_ended"], 1);
    let (status, _) = b.api("GET", "/v1/cases", &aiko, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "signed out");
    let code = sekimori_workbench::testing::totp_code(&a, b.now());
    let (status, _) = b
        .api(
            "POST",
            "/v1/workbench/sessions",
            "",
            Some(json!({"login": "aiko", "password": harness::PASSWORD, "code": code})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "a disabled analyst cannot sign in"
    );
    let (status, _) = b.api("POST", "/v1/analysts/aiko/enable", &root, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = b
        .api(
            "POST",
            "/v1/analysts/aiko/reset",
            &root,
            Some(json!({"password": "a brand new password"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let uri = body["otpauth_uri"].as_str().expect("uri").to_string();
    b.advance(30_000);
    let code = sekimori_workbench::testing::totp_code(&uri, b.now());
    let (status, _) = b
        .api(
            "POST",
            "/v1/workbench/sessions",
            "",
            Some(json!({"login": "aiko", "password": "a brand new password", "code": code})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "the new enrolment signs in");
    let (status, _) = b
        .api("POST", "/v1/analysts/root/disable", &root, None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "not one's own account");
    let (status, _) = b
        .api(
            "POST",
            "/v1/analysts/root/disable",
            &aiko_token(&b, &uri).await,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

async fn aiko_token(b: &Bench, uri: &str) -> String {
    b.advance(30_000);
    let code = sekimori_workbench::testing::totp_code(uri, b.now());
    let (_, body) = b
        .api(
            "POST",
            "/v1/workbench/sessions",
            "",
            Some(json!({"login": "aiko", "password": "a brand new password", "code": code})),
        )
        .await;
    body["token"].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn an_analyst_disabled_by_the_cli_loses_their_sessions() {
    let b = Bench::new();
    let a = b.analyst("aiko", Role::Analyst);
    let aiko = b.api_sign_in("aiko", &a).await;
    // As `sekimori users disable` does: analysts.json, not the server.
    b.wb.analysts().set_disabled("aiko", true).expect("disable");
    let mut status = StatusCode::OK;
    for _ in 0..40 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        status = b.api("GET", "/v1/cases", &aiko, None).await.0;
        if status == StatusCode::UNAUTHORIZED {
            break;
        }
    }
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the running server ended the session"
    );
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

#[tokio::test]
async fn a_lift_asked_for_ends_when_the_hold_is_replaced() {
    use sekimori_workbench::Host;
    let b = Bench::new();
    let id = transfer_case(&b).await;
    let frozen = HoldKey::account("netbank", "acct-900");
    let place = |by: &str| {
        b.host.place_hold(
            frozen.clone(),
            sekimori_rules::Action::Freeze,
            by.into(),
            "operator".into(),
        )
    };
    assert!(place("key:ops").await.expect("placed"));
    let one = b.analyst("sup1", Role::Supervisor);
    let sup1 = b.api_sign_in("sup1", &one).await;
    let lift = format!("/v1/cases/{id}/holds/lift");
    let body = json!({"scope": "account", "key": "acct-900", "reason": "verified"});
    let (_, got) = b.api("POST", &lift, &sup1, Some(body.clone())).await;
    assert_eq!(got["outcome"], "requested");
    // The operator lifts it and places a new one through the service API.
    let lifted = b
        .host
        .lift_hold(frozen.clone(), "key:ops".into(), "x".into())
        .await;
    assert!(lifted.expect("lifted"));
    assert!(place("key:ops").await.expect("placed again"));
    let two = b.analyst("sup2", Role::Supervisor);
    let sup2 = b.api_sign_in("sup2", &two).await;
    let (_, got) = b.api("POST", &lift, &sup2, Some(body)).await;
    assert_eq!(
        got["outcome"], "requested",
        "the old request does not lift the new hold"
    );
    assert!(engine_holds(&b).contains(&frozen));
    // Another account's freeze is not this case's business.
    let other = HoldKey::account("netbank", "acct-555");
    let placed = b
        .host
        .place_hold(
            other,
            sekimori_rules::Action::Freeze,
            "key:ops".into(),
            "elsewhere".into(),
        )
        .await;
    assert!(placed.expect("placed"));
    let (_, holds) = b
        .api("GET", &format!("/v1/cases/{id}/holds"), &sup2, None)
        .await;
    let keys: Vec<&str> = holds["holds"]
        .as_array()
        .expect("holds")
        .iter()
        .filter_map(|h| h["hold"]["key"].as_str())
        .collect();
    assert_eq!(keys, ["acct-900"], "{holds}");
}

/// The attacker's review (second round, finding 3): an address the
/// operator blocked, added again from a case for an hour, stayed blocked
/// for an hour only: the expiry took the operator's entry off.
#[tokio::test]
async fn an_expiry_never_lifts_the_operators_own_entry() {
    use sekimori_workbench::Host;
    let b = Bench::new();
    let id = transfer_case(&b).await;
    b.host
        .edit_list(
            "blocked_ips".into(),
            vec!["203.0.113.9".into()],
            Vec::new(),
            "key:ops".into(),
        )
        .await
        .expect("the operator's PUT");
    let uri = b.analyst("sup1", Role::Supervisor);
    let sup = b.api_sign_in("sup1", &uri).await;
    let add = format!("/v1/cases/{id}/lists");
    for item in ["203.0.113.9", "203.0.113.10"] {
        let body = json!({"list": "blocked_ips", "item": item,
                          "expires_in_hours": 1, "reason": "the scanner"});
        let (status, body) = b.api("POST", &add, &sup, Some(body)).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    b.advance(3_600_000 + 1);
    assert_eq!(
        b.wb.expire_list_items().await.expect("sweep"),
        1,
        "only the workbench's own"
    );
    let g = b.host.engine.lock().expect("lock");
    let list = g.0.list("blocked_ips").expect("declared");
    assert!(list.contains("203.0.113.9"), "the operator's entry stays");
    assert!(
        !list.contains("203.0.113.10"),
        "the workbench's own expires"
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
