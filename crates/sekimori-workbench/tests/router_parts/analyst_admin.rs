//! Part 4's admin actions on analysts: disable and reset from the
//! workbench, and a disable by the CLI ends the analyst's sessions.

use super::*;

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
