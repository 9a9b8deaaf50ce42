//! Findings of the attacker's review on four eyes: an admin cannot be both
//! eyes with an account they made, two supervisors an admin just made are
//! not four eyes, and no analyst can be named as the operator.

use super::*;
use harness::log_entries;
use sekimori_engine::Entry;

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
