//! A tampered assertion, another account's passkey, or one removed
//! mid-ceremony is refused.

use crate::support::*;
use sekimori_webauthn::{Error, WebauthnError};
use webauthn_authenticator_rs::WebauthnAuthenticator;

#[test]
fn tampered_signature_is_rejected() {
    let (rp, mut dev, mut passkeys) = enrolled();
    let (state, mut response) = assert_tx(&rp, &mut dev, &passkeys, Some(TX_A));
    let last = response.response.signature.len() - 2;
    response.response.signature[last] ^= 0x01;
    let err = rp
        .finish_auth(state, &response, Some(TX_A), &mut passkeys)
        .expect_err("tampered signature");
    assert!(matches!(err, Error::Webauthn(_)), "{err:?}");
    assert!(err.is_rejection());
}

#[test]
fn tampered_authenticator_data_is_rejected() {
    let (rp, mut dev, mut passkeys) = enrolled();
    let (state, mut response) = assert_tx(&rp, &mut dev, &passkeys, None);
    // Bump the big-endian counter (bytes 33..37) so it looks fresh: the signature covers it.
    response.response.authenticator_data[36] ^= 0x40;
    let err = rp
        .finish_auth(state, &response, None, &mut passkeys)
        .expect_err("tampered authenticatorData");
    assert!(
        is_webauthn(&err, &WebauthnError::AuthenticationFailure),
        "{err:?}"
    );
}

#[test]
fn passkey_removed_between_start_and_finish_is_rejected() {
    let (rp, mut dev, passkeys) = enrolled();
    let (state, response) = assert_tx(&rp, &mut dev, &passkeys, None);
    let err = rp
        .finish_auth(state, &response, None, &mut [])
        .expect_err("revoked passkey");
    assert!(matches!(err, Error::UnknownCredential), "{err:?}");
}

#[test]
fn another_accounts_passkey_is_not_accepted() {
    let rp = rp();
    let mut alice_dev = device();
    let mut mallory_dev = device();
    let mut alice = vec![register(&rp, &mut alice_dev)];
    let mallory = vec![register(&rp, &mut mallory_dev)];
    // Mallory's device signs a challenge issued for Alice's passkeys: it has no allowed
    // credential, so it cannot; and signing with its own key for a ceremony that only
    // allows Alice's credential is rejected by the server.
    let (rcr, state) = rp.start_auth(ACCOUNT, &alice, None).expect("start");
    assert!(mallory_dev
        .do_authentication(url(ORIGIN), stored(&rcr))
        .is_err());
    let (_, mallory_response) = assert_tx(&rp, &mut mallory_dev, &mallory, None);
    let err = rp
        .finish_auth(state, &mallory_response, None, &mut alice)
        .expect_err("foreign credential");
    assert!(
        is_webauthn(&err, &WebauthnError::CredentialNotFound),
        "{err:?}"
    );
}
