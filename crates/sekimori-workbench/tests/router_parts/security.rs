//! Findings of the attacker's review, each with the test that failed
//! before its fix: sign-in lockout as a denial of service, enumeration,
//! `__Host-` cookies, the forwarded address behind a trusted proxy, and a
//! decision's notice sent again after a restart. The four-eyes findings
//! and the bounds (case index, catch-up, claims) have their own modules.

use super::*;
use harness::log_entries;
use sekimori_engine::Entry;

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
