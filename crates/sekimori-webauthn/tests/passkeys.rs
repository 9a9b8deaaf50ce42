//! End-to-end ceremonies against a software passkey (webauthn-authenticator-rs's
//! `SoftPasskey`, which runs the client-side WebAuthn algorithm: origin / rp_id checks,
//! clientDataJSON, authenticatorData with an incrementing counter, P-256 signatures).

use sekimori_webauthn::{
    AuthState, Error, Passkey, Passkeys, PublicKeyCredential, RequestChallengeResponse, TxDigest,
    Url, WebauthnError,
};
use serde::{de::DeserializeOwned, Serialize};
use webauthn_authenticator_rs::{softpasskey::SoftPasskey, WebauthnAuthenticator};

const RP_ID: &str = "sekimori.example";
const ORIGIN: &str = "https://sekimori.example";
const ACCOUNT: &str = "acct-42";

const TX_A: TxDigest = [0xA1; 32];
const TX_B: TxDigest = [0xB2; 32];

fn rp() -> Passkeys {
    Passkeys::new(RP_ID, ORIGIN, "Sekimori Bank").expect("valid rp")
}

fn url(s: &str) -> Url {
    Url::parse(s).expect("url")
}

/// The user's device: a soft passkey that reports user verification.
fn device() -> SoftPasskey {
    SoftPasskey::new(true)
}

/// What the server's store does: serialize on put, deserialize on take.
fn stored<T: Serialize + DeserializeOwned>(value: &T) -> T {
    let json = serde_json::to_string(value).expect("serialize");
    serde_json::from_str(&json).expect("deserialize")
}

/// What the HTTP layer does with browser JSON.
fn over_the_wire<T: Serialize + DeserializeOwned>(value: &T) -> T {
    stored(value)
}

/// Register one passkey for ACCOUNT on `dev`, through JSON as the browser would.
fn register(rp: &Passkeys, dev: &mut SoftPasskey) -> Passkey {
    let (ccr, state) = rp
        .start_register(ACCOUNT, "alice", &[])
        .expect("start register");
    let state = stored(&state);
    let response = dev
        .do_registration(url(ORIGIN), over_the_wire(&ccr))
        .expect("authenticator registers");
    let passkey = rp
        .finish_register(state, &over_the_wire(&response))
        .expect("registration verifies");
    // Passkeys are stored by the server too.
    stored(&passkey)
}

/// Start a step-up and have the device sign it at `origin`.
fn assert_at(
    rp: &Passkeys,
    dev: &mut SoftPasskey,
    passkeys: &[Passkey],
    tx: Option<TxDigest>,
    origin: &str,
) -> (AuthState, PublicKeyCredential) {
    let (rcr, state) = rp.start_auth(ACCOUNT, passkeys, tx).expect("start auth");
    let state = stored(&state);
    let response = dev
        .do_authentication(url(origin), over_the_wire(&rcr))
        .expect("authenticator signs");
    (state, over_the_wire(&response))
}

fn assert_tx(
    rp: &Passkeys,
    dev: &mut SoftPasskey,
    passkeys: &[Passkey],
    tx: Option<TxDigest>,
) -> (AuthState, PublicKeyCredential) {
    assert_at(rp, dev, passkeys, tx, ORIGIN)
}

fn is_webauthn(err: &Error, expected: &WebauthnError) -> bool {
    matches!(err, Error::Webauthn(e) if std::mem::discriminant(e) == std::mem::discriminant(expected))
}

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
    let rp = rp();
    let mut dev = device();
    let passkeys = vec![register(&rp, &mut dev)];
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
fn assertion_bound_to_tx_a_approves_a_and_not_b() {
    let rp = rp();
    let mut dev = device();
    let mut passkeys = vec![register(&rp, &mut dev)];
    let (state, response) = assert_tx(&rp, &mut dev, &passkeys, Some(TX_A));
    assert_eq!(state.tx_digest(), Some(&TX_A));

    // Two copies of the stored state, to try the same assertion both ways.
    let copy_for_b = stored(&state);
    let copy_for_none = stored(&state);

    let err = rp
        .finish_auth(copy_for_b, &response, Some(TX_B), &mut passkeys)
        .expect_err("an assertion for A must not approve B");
    assert!(
        matches!(&err, Error::TransactionMismatch { bound, presented }
            if *bound == "a1".repeat(32) && *presented == "b2".repeat(32)),
        "{err:?}"
    );
    assert!(err.is_rejection());

    let err = rp
        .finish_auth(copy_for_none, &response, None, &mut passkeys)
        .expect_err("an assertion for A is not a plain step-up");
    assert!(matches!(err, Error::TransactionMismatch { .. }), "{err:?}");

    // The rejections did not touch the counter: the genuine finish still succeeds.
    let outcome = rp
        .finish_auth(state, &response, Some(TX_A), &mut passkeys)
        .expect("the assertion approves A");
    assert_eq!(outcome.tx_digest, Some(TX_A));
}

#[test]
fn assertion_for_a_presented_against_a_ceremony_for_b_fails_the_challenge() {
    let rp = rp();
    let mut dev = device();
    let mut passkeys = vec![register(&rp, &mut dev)];
    let (_state_a, response_a) = assert_tx(&rp, &mut dev, &passkeys, Some(TX_A));
    // The attacker opens a ceremony for B and submits the signature the user gave for A.
    let (_rcr_b, state_b) = rp
        .start_auth(ACCOUNT, &passkeys, Some(TX_B))
        .expect("start B");
    let err = rp
        .finish_auth(state_b, &response_a, Some(TX_B), &mut passkeys)
        .expect_err("A's assertion signs A's challenge only");
    assert!(
        is_webauthn(&err, &WebauthnError::MismatchedChallenge),
        "{err:?}"
    );
}

#[test]
fn plain_ceremony_does_not_approve_a_transaction() {
    let rp = rp();
    let mut dev = device();
    let mut passkeys = vec![register(&rp, &mut dev)];
    let (state, response) = assert_tx(&rp, &mut dev, &passkeys, None);
    let err = rp
        .finish_auth(state, &response, Some(TX_A), &mut passkeys)
        .expect_err("login step-up is not a payment approval");
    assert!(
        matches!(&err, Error::TransactionMismatch { bound, .. } if bound == "none"),
        "{err:?}"
    );
}

#[test]
fn tampered_signature_is_rejected() {
    let rp = rp();
    let mut dev = device();
    let mut passkeys = vec![register(&rp, &mut dev)];
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
    let rp = rp();
    let mut dev = device();
    let mut passkeys = vec![register(&rp, &mut dev)];
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
fn wrong_origin_is_rejected() {
    let rp = rp();
    let mut dev = device();
    let mut passkeys = vec![register(&rp, &mut dev)];
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
    let rp = rp();
    let mut dev = device();
    let mut passkeys = vec![register(&rp, &mut dev)];
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

#[test]
fn replay_against_a_new_ceremony_is_rejected() {
    let rp = rp();
    let mut dev = device();
    let mut passkeys = vec![register(&rp, &mut dev)];
    let (state, response) = assert_tx(&rp, &mut dev, &passkeys, Some(TX_A));
    rp.finish_auth(state, &response, Some(TX_A), &mut passkeys)
        .expect("first use");
    // The store deleted the state; the attacker starts a fresh ceremony for the same tx.
    let (_rcr, fresh) = rp
        .start_auth(ACCOUNT, &passkeys, Some(TX_A))
        .expect("start");
    let err = rp
        .finish_auth(fresh, &response, Some(TX_A), &mut passkeys)
        .expect_err("replayed assertion");
    assert!(
        is_webauthn(&err, &WebauthnError::MismatchedChallenge),
        "{err:?}"
    );
}

#[test]
fn replay_with_a_state_the_store_failed_to_delete_is_rejected_by_the_counter() {
    let rp = rp();
    let mut dev = device();
    let mut passkeys = vec![register(&rp, &mut dev)];
    let (state, response) = assert_tx(&rp, &mut dev, &passkeys, Some(TX_A));
    let leaked = stored(&state);
    let outcome = rp
        .finish_auth(state, &response, Some(TX_A), &mut passkeys)
        .expect("first use");
    assert!(outcome.passkey_changed);
    // webauthn-rs alone would accept this (the state holds the counter as it was at start);
    // the check against the *current* stored passkey does not.
    let err = rp
        .finish_auth(leaked, &response, Some(TX_A), &mut passkeys)
        .expect_err("replay");
    assert!(
        matches!(
            err,
            Error::CounterNotIncreased {
                stored: 1,
                presented: 1
            }
        ),
        "{err:?}"
    );
}

#[test]
fn out_of_order_older_assertion_is_rejected_by_the_counter() {
    // Two ceremonies signed in order (counters 1 and 2); once 2 is accepted, 1 can no
    // longer be (it is indistinguishable from a cloned authenticator).
    let rp = rp();
    let mut dev = device();
    let mut passkeys = vec![register(&rp, &mut dev)];
    let (state1, response1) = assert_tx(&rp, &mut dev, &passkeys, None);
    let (state2, response2) = assert_tx(&rp, &mut dev, &passkeys, None);
    rp.finish_auth(state2, &response2, None, &mut passkeys)
        .expect("newer assertion");
    let err = rp
        .finish_auth(state1, &response1, None, &mut passkeys)
        .expect_err("older assertion");
    assert!(
        matches!(
            err,
            Error::CounterNotIncreased {
                stored: 2,
                presented: 1
            }
        ),
        "{err:?}"
    );
}

#[test]
fn passkey_removed_between_start_and_finish_is_rejected() {
    let rp = rp();
    let mut dev = device();
    let passkeys = vec![register(&rp, &mut dev)];
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

#[test]
fn states_and_passkeys_survive_json_and_postcard() {
    let rp = rp();
    let mut dev = device();
    let passkey = register(&rp, &mut dev);

    // A bare Passkey needs a self-describing format (postcard cannot decode it) ...
    let pk_bytes = postcard::to_stdvec(&passkey).expect("passkey to postcard");
    assert!(postcard::from_bytes::<Passkey>(&pk_bytes).is_err());
    // ... which the `as_json_string` adapter provides inside a postcard record.
    #[derive(Serialize, serde::Deserialize)]
    struct Record {
        #[serde(with = "sekimori_webauthn::as_json_string")]
        passkey: Passkey,
    }
    let bytes = postcard::to_stdvec(&Record { passkey }).expect("record to postcard");
    let record: Record = postcard::from_bytes(&bytes).expect("record from postcard");
    let mut passkeys = vec![record.passkey];

    let (rcr, state) = rp
        .start_auth(ACCOUNT, &passkeys, Some(TX_A))
        .expect("start");
    let json = serde_json::to_value(&state).expect("json");
    assert_eq!(json["tx_digest"], "a1".repeat(32));
    assert_eq!(json["account_id"], ACCOUNT);

    // The states wrap webauthn-rs's part as JSON text, so binary formats work too.
    let bytes = postcard::to_stdvec(&state).expect("state to postcard");
    let state: AuthState = postcard::from_bytes(&bytes).expect("state from postcard");
    let response = dev
        .do_authentication(url(ORIGIN), rcr)
        .expect("authenticator signs");
    rp.finish_auth(state, &response, Some(TX_A), &mut passkeys)
        .expect("verifies after postcard round trip");
}

#[test]
fn corrupted_stored_digest_is_refused_on_load() {
    let rp = rp();
    let mut dev = device();
    let passkeys = vec![register(&rp, &mut dev)];
    let (_, state) = rp
        .start_auth(ACCOUNT, &passkeys, Some(TX_A))
        .expect("start");
    let mut json = serde_json::to_value(&state).expect("json");
    json["tx_digest"] = serde_json::Value::from("a1a1");
    assert!(serde_json::from_value::<AuthState>(json).is_err());
}
