//! Signing in with a passkey over the API: registered and used once, with
//! a login typed or discoverable; a wrong origin, a removed passkey and a
//! disabled analyst refused; a ceremony expires in server time and
//! failures back off.

use super::*;

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
    let admin = session(&b, "root", Role::Admin).await;
    let bo = session(&b, "bo", Role::Analyst).await;
    let (status, body) = remove_passkeys(&b, &bo, json!({"login": "aiko"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "role_required");
    let (ceremony, options, _) = start(&b, Some("aiko")).await;
    let credential = sign(&mut dev, options, RP_ORIGIN);
    let (status, body) = remove_passkeys(&b, &admin, json!({"login": "aiko"})).await;
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
