//! The REST API does what the pages do; services post labels.

use super::*;

#[tokio::test]
async fn the_api_does_what_the_pages_do() {
    let b = Bench::new();
    held_transfer(&b).await;
    let admin = b.analyst("root", Role::Admin);
    let token = b.api_sign_in("root", &admin).await;
    let (status, _) = b.api("GET", "/v1/cases", "", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = b.api("GET", "/v1/cases", &token, None).await;
    assert_eq!(status, StatusCode::OK);
    let id = body["cases"][0]["id"].as_u64().expect("id");
    assert_eq!(body["cases"][0]["money_at_risk"]["JPY"], 950000);
    let (status, body) = b.api("POST", "/v1/cases/next", &token, None).await;
    assert_eq!((status, body["case"].as_u64()), (StatusCode::OK, Some(id)));
    // Four eyes: releasing money takes two distinct supervisors.
    let approve = json!({"event_id": "xfer-1", "outcome": "approve", "reason": "holder confirmed"});
    let decide = format!("/v1/cases/{id}/decide");
    let (status, _) = b.api("POST", &decide, &token, Some(approve.clone())).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        b.host.notices.lock().expect("lock").is_empty(),
        "one approval releases nothing"
    );
    let (status, _) = b.api("POST", &decide, &token, Some(approve.clone())).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "not twice by the same supervisor"
    );
    let (status, _) = b
        .api("POST", &format!("/v1/cases/{id}/release"), &token, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let analyst = b.analyst("bo", Role::Analyst);
    let bo = b.api_sign_in("bo", &analyst).await;
    let (status, _) = b.api("POST", &decide, &bo, Some(approve.clone())).await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "an analyst does not release money"
    );
    let second = b.analyst("mei", Role::Supervisor);
    let mei = b.api_sign_in("mei", &second).await;
    let (status, _) = b.api("POST", &decide, &mei, Some(approve)).await;
    assert_eq!(status, StatusCode::OK);
    let notices = b.host.notices.lock().expect("lock").clone();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].kind, "review.approved");
    let (status, _) = b
        .api("POST", &format!("/v1/cases/{id}/claim"), &token, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = b
        .api(
            "POST",
            &format!("/v1/cases/{id}/notes"),
            &token,
            Some(json!({"note": "called the holder"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = b.api("GET", &format!("/v1/cases/{id}"), &token, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["case"]["notes"][0]["why"], "called the holder");
    assert!(body["decisions"][0][1]["reasons"].is_array());
    let (status, _) = b
        .api(
            "POST",
            &format!("/v1/cases/{id}/close"),
            &token,
            Some(json!({"disposition": "legitimate", "note": "the holder's own transfer"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    // An admin creates an analyst through the API; the seed is in the answer only.
    let (status, body) = b
        .api(
            "POST",
            "/v1/analysts",
            &token,
            Some(json!({"login": "ken", "role": "supervisor", "password": harness::PASSWORD})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["otpauth_uri"]
        .as_str()
        .is_some_and(|u| u.starts_with("otpauth://totp/")));
    let ken = b
        .api_sign_in("ken", body["otpauth_uri"].as_str().expect("uri"))
        .await;
    let (status, _) = b
        .api(
            "POST",
            "/v1/analysts",
            &ken,
            Some(json!({"login": "x", "role": "admin", "password": "another long password"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "only admins create analysts");
    let (status, body) = b
        .api(
            "POST",
            "/v1/analysts",
            &token,
            Some(json!({"login": "y", "role": "king", "password": "x"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["path"], "role");
    let (status, body) = b
        .api(
            "POST",
            &format!("/v1/cases/{id}/notes"),
            &token,
            Some(json!({})),
        )
        .await;
    assert_eq!(
        (status, body["error"]["path"].as_str()),
        (StatusCode::BAD_REQUEST, Some("note"))
    );
    // Sign out everywhere ends the API session too.
    let (status, _) = b
        .api("POST", "/v1/workbench/sessions/end-all", &token, None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = b.api("GET", "/v1/cases", &token, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn services_post_labels_with_their_api_key() {
    let b = Bench::new();
    held_transfer(&b).await;
    let label = json!({"service": "netbank", "event_id": "xfer-1", "label": "chargeback"});
    let (status, _) = b
        .api("POST", "/v1/labels", "sk_wrong", Some(label.clone()))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = b.api("POST", "/v1/labels", LABEL_KEY, Some(label)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = b
        .api(
            "POST",
            "/v1/labels",
            LABEL_KEY,
            Some(json!({"service": "netbank", "event_id": "xfer-1", "label": "fraud"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["path"], "label");
    // A disposition is an analyst's verdict: a key cannot post one.
    let (status, body) = b
        .api(
            "POST",
            "/v1/labels",
            LABEL_KEY,
            Some(json!({"service": "netbank", "event_id": "xfer-1", "label": "legitimate"})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["path"], "label");
    let (status, _) = b
        .api(
            "POST",
            "/v1/labels",
            LABEL_KEY,
            Some(json!({"service": "netbank", "event_id": "never-sent", "label": "dispute"})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let index = b.wb.catch_up().expect("index");
    assert_eq!(
        index.labels("netbank", "xfer-1"),
        &[("chargeback".to_string(), "key:labels".to_string())]
    );
}

/// Every body is a JSON object: an array, which serde would read as the
/// values of a struct's fields (or of a tagged body's variant), is refused
/// at its path, at the top and inside.
#[tokio::test]
async fn arrays_are_refused_where_objects_belong() {
    let b = Bench::new();
    let admin = b.analyst("root", Role::Admin);
    let root = b.api_sign_in("root", &admin).await;
    for (path, body) in [
        ("/v1/cases/bulk", json!(["claim", [1]])),
        ("/v1/cases/bulk", json!([])),
        ("/v1/labels", json!([1, 2])),
        ("/v1/workbench/sessions", json!(["root", "pw", "000000"])),
    ] {
        let (status, answer) = b.api("POST", path, &root, Some(body.clone())).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path} {body}: {answer}");
        assert_eq!(answer["error"]["code"], "invalid_value", "{answer}");
    }
}

/// `GET /v1/quality`: `/ui/quality`'s report as JSON, per service or for
/// one, for supervisors; bad queries are 400 at their field.
#[tokio::test]
async fn rule_quality_per_service_over_the_api() {
    let b = Bench::new();
    held_transfer(&b).await;
    b.event(json!({"id": "xfer-1", "type": "transfer", "service": "shop",
        "account": "acct-1", "amount_minor": 500, "currency": "JPY",
        "at": "2026-11-23T05:00:00Z",
        "destination": {"kind": "bank", "bank_code": "0009", "branch": "200", "number": "7100002"}}))
        .await;
    let label = json!({"service": "netbank", "event_id": "xfer-1", "label": "chargeback"});
    let (status, _) = b.api("POST", "/v1/labels", LABEL_KEY, Some(label)).await;
    assert_eq!(status, StatusCode::OK);
    let sue = b.analyst("sue", Role::Supervisor);
    let sue = b.api_sign_in("sue", &sue).await;
    let bo = b.analyst("bo", Role::Analyst);
    let bo = b.api_sign_in("bo", &bo).await;
    let window = "/v1/quality?from=2026-11-23&to=2026-11-24";

    let (status, _) = b.api("GET", window, "", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, body) = b.api("GET", window, &bo, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");

    let (status, all) = b.api("GET", window, &sue, None).await;
    assert_eq!(status, StatusCode::OK, "{all}");
    assert_eq!(all["service"], serde_json::Value::Null);
    assert_eq!(all["window"]["events"], 3);
    let services: Vec<&str> = all["services"]
        .as_array()
        .expect("services")
        .iter()
        .filter_map(|s| s["service"].as_str())
        .collect();
    assert_eq!(services, ["netbank", "shop"]);
    // netbank's held transfer is caught and charged back; the shop's
    // transfer of the same id is allowed and unlabelled.
    let netbank = &all["services"][0]["packs"][0];
    assert_eq!(
        (&netbank["true_positives"], &netbank["precision_bp"]),
        (&json!(1), &json!(10_000))
    );
    let shop = &all["services"][1]["packs"][0];
    assert_eq!(
        (&shop["events"], &shop["labelled_fraud"], &shop["caught"]),
        (&json!(1), &json!(0), &json!(0))
    );

    let (status, one) = b
        .api("GET", &format!("{window}&service=shop"), &sue, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(
        (&one["service"], &one["window"]["events"]),
        (&json!("shop"), &json!(1))
    );
    assert_eq!(
        one["labels"]["by_label"],
        json!({}),
        "netbank's label is not the shop's"
    );
    assert_eq!(one["services"].as_array().map(Vec::len), Some(1));

    for (query, path) in [
        ("from=yesterday&to=2026-11-24", "from"),
        ("from=2026-11-24&to=2026-11-23", "to"),
        ("to=2026-11-24", "from"),
    ] {
        let (status, body) = b
            .api("GET", &format!("/v1/quality?{query}"), &sue, None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{query}: {body}");
        assert_eq!(
            (&body["error"]["code"], &body["error"]["path"]),
            (&json!("invalid_value"), &json!(path)),
            "{query}"
        );
        assert!(!body.to_string().contains("yesterday"), "never the value");
    }
    let long = "s".repeat(300);
    let (status, body) = b
        .api("GET", &format!("{window}&service={long}"), &sue, None)
        .await;
    assert_eq!(
        (status, &body["error"]["path"]),
        (StatusCode::BAD_REQUEST, &json!("service"))
    );
    let (status, body) = b
        .api(
            "GET",
            &format!("{window}&candidate=no-such-version"),
            &sue,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
}
