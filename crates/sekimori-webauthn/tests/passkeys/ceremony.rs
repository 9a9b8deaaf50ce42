//! The ceremonies themselves: register then step up, the ceremony id is the
//! challenge, a second registration excludes the first, user handles, and
//! the relying party's configuration.

use crate::support::*;
use sekimori_webauthn::{Error, Passkeys, RequestChallengeResponse};

#[test]
fn acceptance_register_then_step_up_round_trip() {
    let rp = rp();
    let mut dev = device();
    let passkey = register(&rp, &mut dev);
    let mut passkeys = vec![passkey];

    // Plain step-up (no transaction).
    let (state, response) = assert_tx(&rp, &mut dev, &passkeys, None);
    let ceremony = state.ceremony_id().to_owned();
    assert_eq!(state.account_id(), ACCOUNT);
    let outcome = rp
        .finish_auth(state, &response, None, &mut passkeys)
        .expect("assertion verifies");
    assert_eq!(outcome.account_id, ACCOUNT);
    assert_eq!(outcome.ceremony_id, ceremony);
    assert_eq!(outcome.tx_digest, None);
    assert_eq!(&outcome.credential_id, passkeys[0].cred_id());
    assert!(outcome.user_verified);
    assert_eq!(outcome.counter, 1);
    assert!(outcome.passkey_changed, "counter 0 -> 1 must be persisted");

    // A second step-up with the updated passkey works and advances the counter.
    let (state, response) = assert_tx(&rp, &mut dev, &passkeys, Some(TX_A));
    let outcome = rp
        .finish_auth(state, &response, Some(TX_A), &mut passkeys)
        .expect("second assertion verifies");
    assert_eq!(outcome.counter, 2);
    assert_eq!(outcome.tx_digest, Some(TX_A));
}

#[test]
fn ceremony_id_is_the_challenge_in_the_browser_json() {
    let (rp, _dev, passkeys) = enrolled();
    let (rcr, state) = rp.start_auth(ACCOUNT, &passkeys, None).expect("start");
    let challenge: &RequestChallengeResponse = &rcr;
    let hex: String = challenge
        .public_key
        .challenge
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(state.ceremony_id(), hex);
    assert_eq!(challenge.public_key.challenge.len(), 32);
    assert_eq!(challenge.public_key.rp_id, RP_ID);
}

#[test]
fn second_registration_excludes_existing_credentials() {
    let rp = rp();
    let mut dev = device();
    let existing = vec![register(&rp, &mut dev)];
    let (ccr, state) = rp
        .start_register(ACCOUNT, "alice", &existing)
        .expect("start");
    let excluded = ccr
        .public_key
        .exclude_credentials
        .as_ref()
        .expect("excludeCredentials present");
    assert_eq!(excluded.len(), 1);
    assert_eq!(&excluded[0].id, existing[0].cred_id());
    assert_eq!(state.account_id(), ACCOUNT);
    assert_eq!(state.user_handle(), Passkeys::user_handle(ACCOUNT));
    assert_eq!(
        ccr.public_key.user.id.as_slice(),
        Passkeys::user_handle(ACCOUNT).as_bytes()
    );
}

#[test]
fn user_handle_is_stable_and_per_account() {
    let a1 = Passkeys::user_handle("acct-1");
    assert_eq!(a1, Passkeys::user_handle("acct-1"));
    assert_ne!(a1, Passkeys::user_handle("acct-2"));
    assert_eq!(a1.get_version_num(), 8);
}

#[test]
fn no_passkeys_means_no_ceremony() {
    let err = rp()
        .start_auth(ACCOUNT, &[], Some(TX_A))
        .expect_err("nothing to assert with");
    assert!(matches!(err, Error::NoCredentials), "{err:?}");
}

#[test]
fn bad_relying_party_configuration_is_refused() {
    for (rp_id, origin) in [
        ("sekimori.example", "not a url"),
        ("other.example", "https://sekimori.example"),
    ] {
        let err = Passkeys::new(rp_id, origin, "x").expect_err("invalid config");
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        assert!(!err.is_rejection());
    }
    let rp = Passkeys::new("localhost", "http://localhost:8080", "dev").expect("localhost ok");
    assert_eq!(rp.rp_id(), "localhost");
    assert_eq!(rp.origin().as_str(), "http://localhost:8080/");
}
