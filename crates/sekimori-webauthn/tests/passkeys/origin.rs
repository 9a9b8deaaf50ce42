//! The origin: a sibling origin, a registration elsewhere, and a phishing
//! site relaying our challenge are refused.

use crate::support::*;
use sekimori_webauthn::{Error, WebauthnError};
use webauthn_authenticator_rs::WebauthnAuthenticator;

#[test]
fn wrong_origin_is_rejected() {
    let (rp, mut dev, mut passkeys) = enrolled();
    // A sibling origin that the browser would allow for this rp_id (rp_id is a suffix of
    // its host), but that is not our configured origin: the signed clientDataJSON names it.
    let (state, response) = assert_at(
        &rp,
        &mut dev,
        &passkeys,
        Some(TX_A),
        "https://promo.sekimori.example",
    );
    let err = rp
        .finish_auth(state, &response, Some(TX_A), &mut passkeys)
        .expect_err("wrong origin");
    assert!(
        is_webauthn(&err, &WebauthnError::InvalidRPOrigin),
        "{err:?}"
    );
}

#[test]
fn registration_from_wrong_origin_is_rejected() {
    let rp = rp();
    let mut dev = device();
    let (ccr, state) = rp.start_register(ACCOUNT, "alice", &[]).expect("start");
    let response = dev
        .do_registration(url("https://promo.sekimori.example"), ccr)
        .expect("client allows a subdomain of the rp_id");
    let err = rp
        .finish_register(state, &response)
        .expect_err("wrong origin");
    assert!(
        is_webauthn(&err, &WebauthnError::InvalidRPOrigin),
        "{err:?}"
    );
}

#[test]
fn phishing_site_cannot_get_or_relay_an_assertion() {
    let (rp, mut dev, mut passkeys) = enrolled();
    let (rcr, state) = rp
        .start_auth(ACCOUNT, &passkeys, Some(TX_A))
        .expect("start");

    // 1. The look-alike site relays our challenge unchanged: the browser refuses, because
    //    our rp_id is not the phishing page's domain.
    let refused = dev.do_authentication(url("https://sekimori-login.example"), stored(&rcr));
    assert!(refused.is_err(), "browser must refuse a foreign rp_id");

    // 2. It rewrites rp_id to its own domain so the browser goes along (our soft
    //    authenticator even signs: real ones would not find a credential scoped to another
    //    rp_id). The signed clientDataJSON carries the phishing origin, so we reject.
    let mut relayed = stored(&rcr);
    relayed.public_key.rp_id = "sekimori-login.example".to_owned();
    let response = dev
        .do_authentication(url("https://sekimori-login.example"), relayed)
        .expect("lax soft authenticator signs");
    let tampered_origin = stored(&state);
    let err = rp
        .finish_auth(state, &response, Some(TX_A), &mut passkeys)
        .expect_err("relayed assertion");
    assert!(
        is_webauthn(&err, &WebauthnError::InvalidRPOrigin),
        "{err:?}"
    );

    // 3. Rewriting the origin in clientDataJSON back to ours breaks the signature (and the
    //    rp_id hash in authenticatorData is still the phishing domain's).
    let mut forged = response;
    let cdj = String::from_utf8(forged.response.client_data_json.clone()).expect("utf8");
    let cdj = cdj.replace("https://sekimori-login.example", ORIGIN);
    forged.response.client_data_json = cdj.into_bytes();
    let err = rp
        .finish_auth(tampered_origin, &forged, Some(TX_A), &mut passkeys)
        .expect_err("forged origin");
    assert!(matches!(err, Error::Webauthn(_)), "{err:?}");
}
