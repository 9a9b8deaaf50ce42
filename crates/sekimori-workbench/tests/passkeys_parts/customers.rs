//! Analysts' and step-up customers' passkeys share the server's relying
//! party (`--rp-id`): an analyst's user handle is in a domain of its own
//! (`Passkeys::analyst_handle`), and a customer's step-up passkey, even
//! one of an account named as an analyst and held by the same
//! authenticator, never signs in to the workbench.

use super::*;

/// Offers `credential_id` (base64url) for a workbench sign-in started
/// with `login` typed (or none): the client chooses what it signs with.
async fn offer(
    b: &Bench,
    dev: &mut SoftPasskey,
    login: Option<&str>,
    credential_id: &str,
) -> StatusCode {
    let (ceremony, _, raw) = start(b, login).await;
    let mut picked = raw.clone();
    picked["publicKey"]["allowCredentials"] = json!([{"type": "public-key", "id": credential_id}]);
    let credential = sign(
        dev,
        serde_json::from_value(picked).expect("options"),
        RP_ORIGIN,
    );
    finish(b, &ceremony, &credential).await.0
}

#[tokio::test]
async fn a_step_up_customers_passkey_never_signs_in_to_the_workbench() {
    let b = Bench::new();
    let mut dev = SoftPasskey::new(true);
    with_passkey(&b, "aiko", Role::Admin, &mut dev).await;
    // The same authenticator registers a step-up passkey for customer
    // account `aiko`, as the step-up routes do (the account's handle).
    let rp = harness::relying_party();
    let (options, state) = rp.start_register("aiko", "aiko", &[]).expect("starts");
    assert_eq!(
        state.user_handle(),
        sekimori_webauthn::Passkeys::user_handle("aiko")
    );
    assert_ne!(
        state.user_handle(),
        sekimori_webauthn::Passkeys::analyst_handle("aiko"),
        "a customer's handle is never an analyst's"
    );
    let credential = dev
        .do_registration(url(RP_ORIGIN), options)
        .expect("registers");
    let customer = rp
        .finish_register(state, &credential)
        .expect("a customer's passkey");
    let id = b64url(customer.cred_id());

    // Offered for the analyst's login, or with none typed: refused.
    assert_eq!(
        offer(&b, &mut dev, Some("aiko"), &id).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        offer(&b, &mut dev, None, &id).await,
        StatusCode::UNAUTHORIZED
    );
    // The analyst's own passkey, on the same authenticator, still signs in.
    let (ceremony, options, _) = start(&b, Some("aiko")).await;
    let credential = sign(&mut dev, options, RP_ORIGIN);
    let (status, signed) = finish(&b, &ceremony, &credential).await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    assert_eq!(signed["login"], "aiko");
}

/// A passkey registered before analysts had their own handle (under the
/// login's account-style handle) keeps signing in with that handle, and
/// only with it.
#[tokio::test]
async fn a_passkey_registered_under_the_old_handle_still_signs_in() {
    let b = Bench::new();
    b.analyst("aiko", Role::Analyst);
    let mut dev = SoftPasskey::new(true);
    let rp = harness::relying_party();
    let (options, state) = rp
        .start_register_discoverable("aiko", "aiko", &[])
        .expect("starts");
    let credential = dev
        .do_registration(url(RP_ORIGIN), options)
        .expect("registers");
    let passkey = rp.finish_register(state, &credential).expect("verifies");
    let id = b64url(passkey.cred_id());
    b.wb.analysts()
        .add_passkey("aiko", passkey, "old laptop", b.now())
        .expect("stored");
    // As a file written before the flag existed.
    let path = b.dir.path().join("analysts.json");
    let file = std::fs::read_to_string(&path).expect("analysts.json");
    assert!(file.contains("\"analyst_handle\": true"));
    std::fs::write(
        &path,
        file.replace(",\n        \"analyst_handle\": true", ""),
    )
    .expect("rewritten");
    assert!(!std::fs::read_to_string(&path)
        .expect("analysts.json")
        .contains("analyst_handle"));

    let sign_with = |handle: sekimori_webauthn::Uuid, dev: &mut SoftPasskey, raw: Value| {
        let mut picked = raw;
        picked["publicKey"]["allowCredentials"] = json!([{"type": "public-key", "id": id}]);
        let mut credential = sign(
            dev,
            serde_json::from_value(picked).expect("options"),
            RP_ORIGIN,
        );
        credential["response"]["userHandle"] = json!(b64url(handle.as_bytes()));
        credential
    };
    let (ceremony, _, raw) = start(&b, None).await;
    let wrong = sign_with(
        sekimori_webauthn::Passkeys::analyst_handle("aiko"),
        &mut dev,
        raw,
    );
    assert_eq!(
        finish(&b, &ceremony, &wrong).await.0,
        StatusCode::UNAUTHORIZED,
        "not the handle it was registered under"
    );
    let (ceremony, _, raw) = start(&b, None).await;
    let old = sign_with(
        sekimori_webauthn::Passkeys::user_handle("aiko"),
        &mut dev,
        raw,
    );
    let (status, signed) = finish(&b, &ceremony, &old).await;
    assert_eq!(status, StatusCode::OK, "{signed}");
    assert_eq!(signed["login"], "aiko");
}
