//! Findings of the attacker's review, each with the test that failed
//! before its fix: sign-in lockout as a denial of service, an admin as both
//! eyes, the bounded case index, the catch-up off the async workers, and
//! the smaller ones (enumeration, claims, control characters).

use super::*;
use harness::log_entries;
use sekimori_engine::Entry;
use std::sync::Arc;

const HOME: &str = "192.0.2.10";
const ATTACKER: &str = "203.0.113.7";

async fn sign_in_from(b: &Bench, from: &str, login: &str, password: &str, uri: &str) -> StatusCode {
    let code = sekimori_workbench::testing::totp_code(uri, b.now());
    let (status, _) = b
        .api_from(
            Some(from),
            "POST",
            "/v1/workbench/sessions",
            "",
            Some(json!({"login": login, "password": password, "code": code})),
        )
        .await;
    status
}

#[tokio::test]
async fn an_attackers_failed_sign_ins_do_not_lock_the_analyst_out() {
    let b = Bench::new();
    let uri = b.analyst("aiko", Role::Analyst);
    let mut last = StatusCode::OK;
    for _ in 0..8 {
        last = sign_in_from(&b, ATTACKER, "aiko", "not the password", &uri).await;
    }
    assert_eq!(
        last,
        StatusCode::TOO_MANY_REQUESTS,
        "the attacker's address backs off"
    );
    // The analyst, from their own address, right away.
    let status = sign_in_from(&b, HOME, "aiko", harness::PASSWORD, &uri).await;
    assert_eq!(status, StatusCode::OK, "the analyst is not locked out");

    // Every failed check is logged: who was tried, from where; never the password.
    let failed: Vec<Entry> = log_entries(&b)
        .into_iter()
        .map(|(_, e)| e)
        .filter(|e| matches!(e, Entry::Analyst { act, .. } if act["type"] == "sign_in_failed"))
        .collect();
    assert!(failed.len() >= 5, "{} failures logged", failed.len());
    let Entry::Analyst { by, act, .. } = &failed[0] else {
        unreachable!()
    };
    assert_eq!(by, "anonymous");
    assert_eq!(act["login"], "aiko");
    assert_eq!(act["address"], ATTACKER);
    let all = format!("{:?}", log_entries(&b));
    assert!(!all.contains("not the password") && !all.contains(harness::PASSWORD));
}

#[tokio::test]
async fn unknown_logins_answer_as_known_ones_do() {
    let b = Bench::new();
    let uri = b.analyst("aiko", Role::Analyst);
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..7 {
        known.push(sign_in_from(&b, "198.51.100.1", "aiko", "wrong password!", &uri).await);
        unknown.push(sign_in_from(&b, "198.51.100.2", "ghost", "wrong password!", &uri).await);
    }
    assert_eq!(known, unknown, "a 401 or a 429 tells nothing of the login");
    assert_eq!(known[6], StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn an_admin_cannot_be_both_eyes_with_an_account_they_made() {
    let b = Bench::new();
    held_transfer(&b).await;
    let admin = b.analyst("root", Role::Admin);
    let root = b.api_sign_in("root", &admin).await;
    let (status, body) = b
        .api(
            "POST",
            "/v1/analysts",
            &root,
            Some(json!({"login": "root2", "role": "supervisor", "password": harness::PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let root2 = b
        .api_sign_in("root2", body["otpauth_uri"].as_str().expect("uri"))
        .await;
    let (_, body) = b.api("GET", "/v1/cases", &root, None).await;
    let id = body["cases"][0]["id"].as_u64().expect("case");
    let decide = format!("/v1/cases/{id}/decide");
    let approve = json!({"event_id": "xfer-1", "outcome": "approve", "reason": "fine"});
    let (status, _) = b.api("POST", &decide, &root, Some(approve.clone())).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = b.api("POST", &decide, &root2, Some(approve.clone())).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        b.host.notices.lock().expect("lock").is_empty(),
        "nothing released"
    );
    // A week later the account is no longer fresh... but an independent
    // supervisor can approve now.
    let sup = b.analyst("mei", Role::Supervisor);
    let mei = b.api_sign_in("mei", &sup).await;
    let (status, body) = b.api("POST", &decide, &mei, Some(approve)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(b.host.notices.lock().expect("lock").len(), 1);
    // The approvers' roles are in the log.
    let roles: Vec<String> = log_entries(&b)
        .into_iter()
        .filter_map(|(_, e)| match e {
            Entry::Analyst { by, act, .. } if act["type"] == "approve" => {
                Some(format!("{by}:{}", act["role"].as_str().unwrap_or("?")))
            }
            _ => None,
        })
        .collect();
    assert_eq!(roles, ["root:admin", "mei:supervisor"]);
}

/// A failed PIN on a new account: the tour's brute force goes on (deny).
async fn one_more_guess(b: &Bench, n: u32) -> String {
    b.event(json!({
        "id": format!("more-{n}"), "type": "login.attempt",
        "at": format!("2026-11-23T02:01:{:02}Z", n % 60), "service": "netbank",
        "actor": {"ip": format!("198.51.100.{}", 100 + n)}, "account": format!("acct-1{n:02}"),
        "factor": "pin", "result": "failure",
        "secret_fp": "k1:81dc9bdb52d04dc20036dbd8313ed055aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}))
        .await
}

#[tokio::test]
async fn a_full_case_index_evicts_closed_cases_and_never_drops_a_held_one() {
    let b = Bench::with_cap(3);
    b.brute_force().await;
    assert_eq!(one_more_guess(&b, 1).await, "deny");
    assert_eq!(one_more_guess(&b, 2).await, "deny");
    let full = b.wb.sync().await.expect("index").len();
    assert_eq!(full, 3, "the brute force's cases fill it");
    assert_eq!(one_more_guess(&b, 3).await, "deny");
    {
        let index = b.wb.sync().await.expect("index");
        assert_eq!(
            (index.len(), index.overflow),
            (3, 1),
            "a deny is refused, counted"
        );
    }
    let uri = b.analyst("aiko", Role::Analyst);
    let token = b.api_sign_in("aiko", &uri).await;
    let oldest = b.wb.index().cases().next().expect("case").id;
    let close = json!({"disposition": "false_positive", "note": "a typo storm"});
    let (status, body) = b
        .api(
            "POST",
            &format!("/v1/cases/{oldest}/close"),
            &token,
            Some(close),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let terms_before = b.wb.index().term_count();
    assert_eq!(held_transfer_of(&b, 900).await, "review");
    {
        let index = b.wb.sync().await.expect("index");
        assert_eq!(
            (index.len(), index.evicted),
            (3, 1),
            "the closed case made room"
        );
        assert!(index.case(oldest).is_none());
        assert!(index.search("tour-8", None, 10).is_empty());
        // Its terms (account, address) went; the new case's (account,
        // payee) came: event ids are found through the event map.
        assert_eq!(
            index.term_count(),
            terms_before,
            "the evicted case left the search index"
        );
    }
    // Nothing closed is left: a held payment still opens (the reserve).
    assert_eq!(held_transfer_of(&b, 901).await, "review");
    let index = b.wb.sync().await.expect("index");
    assert_eq!(index.len(), 4, "a held payment opens past the cap");
    assert!(index.case_of_event("netbank", "xfer-900").is_some());
    assert!(index.case_of_event("netbank", "xfer-901").is_some());
    assert_eq!(index.overflow, 1);
}

/// A password reset, then a transfer of 95% of the balance of `acct-{n}`.
async fn held_transfer_of(b: &Bench, n: u32) -> String {
    b.event(
        json!({"id": format!("reset-{n}"), "type": "credential.change", "service": "netbank",
        "account": format!("acct-{n}"), "credential": "password", "channel": "email_link",
        "at": "2026-11-23T03:00:00Z"}),
    )
    .await;
    b.event(json!({"id": format!("xfer-{n}"), "type": "transfer", "service": "netbank",
        "account": format!("acct-{n}"), "amount_minor": 950000, "currency": "JPY",
        "balance_before_minor": 1000000, "at": "2026-11-23T04:00:00Z",
        "destination": {"kind": "bank", "bank_code": "0009", "branch": "200", "number": "7100001"}}))
    .await
}

#[tokio::test]
async fn catching_up_a_long_log_leaves_the_async_workers_free() {
    let b = Bench::new();
    // Entries the index has not seen: labels straight into the log.
    // Written from another thread while this one (the runtime's only one)
    // blocks, so the workbench's background catch-up cannot read them first.
    let host = Arc::clone(&b.host);
    std::thread::spawn(move || {
        let pending: Vec<_> = (0..3_000)
            .map(|i| {
                host.submit(
                    None,
                    &Entry::Label {
                        service: "netbank".into(),
                        event_id: format!("e-{i}"),
                        label: "dispute".into(),
                        by: "key:x".into(),
                        at: "2026-12-05T09:00:00Z".into(),
                        note: String::new(),
                    },
                )
            })
            .collect();
        for p in pending {
            p.blocking_recv().expect("written").expect("durable");
        }
    })
    .join()
    .expect("writer");
    // A read that may not wait applies a bounded number on its own thread.
    let inline = b.wb.catch_up().expect("index").last_seq;
    assert!(inline < 3_000, "bounded inline catch-up: {inline}");
    let order = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (w, o) = (Arc::clone(&b.wb), Arc::clone(&order));
    let sync = tokio::spawn(async move {
        let last = w.sync().await.expect("sync").last_seq;
        o.lock().expect("lock").push("sync");
        last
    });
    let o = Arc::clone(&order);
    let other = tokio::spawn(async move { o.lock().expect("lock").push("other") });
    other.await.expect("other");
    assert_eq!(sync.await.expect("sync"), 3_000);
    assert_eq!(
        *order.lock().expect("lock"),
        ["other", "sync"],
        "another task ran while the log was read (a one-thread runtime)"
    );
}

#[tokio::test]
async fn claims_are_bounded_and_notes_refuse_control_characters() {
    let b = Bench::new();
    b.brute_force().await;
    let uri = b.analyst("aiko", Role::Analyst);
    let token = b.api_sign_in("aiko", &uri).await;
    let ids: Vec<u64> =
        b.wb.sync()
            .await
            .expect("index")
            .cases()
            .map(|c| c.id)
            .collect();
    let (status, body) = b
        .api(
            "POST",
            &format!("/v1/cases/{}/notes", ids[0]),
            &token,
            Some(json!({"note": "looks fine\u{1b}[2J\u{202e}"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["path"], "note");
    let (status, _) = b
        .api(
            "POST",
            &format!("/v1/cases/{}/notes", ids[0]),
            &token,
            Some(json!({"note": "line one\r\nline two"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        b.wb.index().case(ids[0]).expect("case").notes[0].why,
        "line one\nline two"
    );
}

#[tokio::test]
async fn secure_cookies_carry_the_host_prefix() {
    let b = Bench::secure();
    let uri = b.analyst("aiko", Role::Analyst);
    let (_, headers, page) = b.get("/ui/login", "").await;
    let pre = harness::set_cookie_line(&headers, "__Host-sekimori_signin").expect("pre cookie");
    assert!(
        pre.contains("; Path=/;") && pre.contains("; Secure"),
        "{pre}"
    );
    let pre_value = harness::set_cookie(&headers, "__Host-sekimori_signin").expect("value");
    let csrf = harness::hidden(&page, "csrf").expect("csrf");
    let code = sekimori_workbench::testing::totp_code(&uri, b.now());
    let (status, headers, _) = b
        .post_form(
            "/ui/login",
            &format!("__Host-sekimori_signin={pre_value}"),
            &[
                ("csrf", &csrf),
                ("lang", "en"),
                ("login", "aiko"),
                ("password", harness::PASSWORD),
                ("code", &code),
            ],
        )
        .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let line = harness::set_cookie_line(&headers, "__Host-sekimori_session").expect("session");
    assert!(line.contains("; Path=/;") && line.contains("; Secure") && !line.contains("Domain"));
    let token = harness::set_cookie(&headers, "__Host-sekimori_session").expect("token");
    let (status, _, _) = b
        .get("/ui/queue", &format!("__Host-sekimori_session={token}"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = b
        .get("/ui/queue", &format!("sekimori_session={token}"))
        .await;
    assert_eq!(
        status,
        StatusCode::SEE_OTHER,
        "the unprefixed name is not read"
    );
}

#[tokio::test]
async fn one_analyst_cannot_claim_the_whole_queue() {
    let b = Bench::new();
    b.brute_force().await;
    let limit = sekimori_workbench::actions::MAX_CLAIMS_PER_ANALYST;
    for n in 1..=limit as u32 {
        assert_eq!(one_more_guess(&b, n).await, "deny");
    }
    let ids: Vec<u64> =
        b.wb.sync()
            .await
            .expect("index")
            .cases()
            .map(|c| c.id)
            .collect();
    assert!(ids.len() > limit, "{} cases", ids.len());
    let uri = b.analyst("aiko", Role::Analyst);
    let token = b.api_sign_in("aiko", &uri).await;
    let claim = |id: u64| format!("/v1/cases/{id}/claim");
    for id in &ids[..limit] {
        let (status, body) = b.api("POST", &claim(*id), &token, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, _) = b.api("POST", &claim(ids[limit]), &token, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "past the claim limit");
    // Renewing one's own claim is not a new one.
    let (status, _) = b.api("POST", &claim(ids[0]), &token, None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = b
        .api(
            "POST",
            &format!("/v1/cases/{}/release", ids[0]),
            &token,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = b.api("POST", &claim(ids[limit]), &token, None).await;
    assert_eq!(status, StatusCode::OK, "room again after a release");
}

#[tokio::test]
async fn outcomes_are_notified_again_after_a_restart_with_the_same_id() {
    let b = Bench::new();
    held_transfer(&b).await;
    let uri = b.analyst("aiko", Role::Analyst);
    let token = b.api_sign_in("aiko", &uri).await;
    let id =
        b.wb.sync()
            .await
            .expect("index")
            .case_of_event("netbank", "xfer-1")
            .expect("case");
    let (status, _) = b
        .api(
            "POST",
            &format!("/v1/cases/{id}/decide"),
            &token,
            Some(json!({"event_id": "xfer-1", "outcome": "decline", "reason": "not the holder"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(b.host.notices.lock().expect("lock").len(), 1);
    // A crash may have lost the queued notice: a restart sends it again.
    let _again = Bench::reopen(&b);
    let notices = b.host.notices.lock().expect("lock").clone();
    assert_eq!(notices.len(), 2, "notified again at start");
    assert_eq!(
        notices[0].id, notices[1].id,
        "the same id: the service drops a repeat"
    );
    assert_eq!(notices[1].kind, "review.declined");
    // A day later it is not sent again.
    b.advance(sekimori_workbench::resend::RESEND_WINDOW_MS + 1);
    let _later = Bench::reopen(&b);
    assert_eq!(b.host.notices.lock().expect("lock").len(), 2);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_address_is_the_clients() {
    let b = Bench::behind_proxy();
    let uri = b.analyst("aiko", Role::Analyst);
    let attempt = |from: &'static str, password: &'static str| {
        let code = sekimori_workbench::testing::totp_code(&uri, b.now());
        let req = axum::http::Request::post("/v1/workbench/sessions")
            .header(axum::http::header::CONTENT_TYPE, "application/json")
            // A client's own header, then the proxy's appended entry.
            .header("x-forwarded-for", format!("10.9.9.9, {from}"))
            .body(axum::body::Body::from(
                json!({"login": "aiko", "password": password, "code": code}).to_string(),
            ))
            .expect("request");
        b.send(req)
    };
    let mut last = StatusCode::OK;
    for _ in 0..7 {
        last = attempt(ATTACKER, "not the password").await.0;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(attempt(HOME, harness::PASSWORD).await.0, StatusCode::OK);
    let logged = log_entries(&b)
        .into_iter()
        .any(|(_, e)| matches!(e, Entry::Analyst { act, .. } if act["address"] == ATTACKER));
    assert!(logged, "the proxy's entry is the address logged");
}

/// The attacker's review (second round): an admin made two supervisors
/// through the API and had them approve a held transfer one after the
/// other; neither had made the other, so both counted. An account an
/// analyst made or reset in the last days is never the second eyes.
#[tokio::test]
async fn two_supervisors_an_admin_just_made_are_not_four_eyes() {
    let b = Bench::new();
    held_transfer(&b).await;
    let admin = b.analyst("root", Role::Admin);
    let root = b.api_sign_in("root", &admin).await;
    let mut tokens = Vec::new();
    for login in ["p1", "p2"] {
        let (status, body) = b
            .api(
                "POST",
                "/v1/analysts",
                &root,
                Some(json!({"login": login, "role": "supervisor", "password": harness::PASSWORD})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let uri = body["otpauth_uri"].as_str().expect("uri").to_string();
        tokens.push(b.api_sign_in(login, &uri).await);
    }
    let (_, body) = b.api("GET", "/v1/cases", &root, None).await;
    let id = body["cases"][0]["id"].as_u64().expect("case");
    let decide = format!("/v1/cases/{id}/decide");
    let approve = json!({"event_id": "xfer-1", "outcome": "approve", "reason": "fine"});
    let (status, _) = b
        .api("POST", &decide, &tokens[0], Some(approve.clone()))
        .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "the first eyes may be anyone with the role"
    );
    let (status, body) = b
        .api("POST", &decide, &tokens[1], Some(approve.clone()))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(
        b.host.notices.lock().expect("lock").is_empty(),
        "nothing released"
    );
    // A supervisor the operator made (sekimori users create) is the
    // second eyes; a disabled first approver is not counted as the first.
    let sup = b.analyst("mei", Role::Supervisor);
    let mei = b.api_sign_in("mei", &sup).await;
    let (status, body) = b.api("POST", "/v1/analysts/p1/disable", &root, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = b.api("POST", &decide, &mei, Some(approve.clone())).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(b.host.notices.lock().expect("lock").is_empty());
    let (status, body) = b.api("POST", "/v1/analysts/p1/enable", &root, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = b.api("POST", &decide, &mei, Some(approve)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(b.host.notices.lock().expect("lock").len(), 1);
}

/// The operator's mark as an account's maker is not a login an admin can
/// take: accounts made by an analyst named `cli` would pass for the
/// operator's and be trusted as second eyes at once.
#[tokio::test]
async fn no_analyst_can_be_named_as_the_operator() {
    let b = Bench::new();
    let admin = b.analyst("root", Role::Admin);
    let root = b.api_sign_in("root", &admin).await;
    for login in ["cli", "CLI"] {
        let (status, body) = b
            .api(
                "POST",
                "/v1/analysts",
                &root,
                Some(json!({"login": login, "role": "admin", "password": harness::PASSWORD})),
            )
            .await;
        assert_eq!(
            (status, body["error"]["path"].as_str()),
            (StatusCode::BAD_REQUEST, Some("login")),
            "{body}"
        );
    }
}
