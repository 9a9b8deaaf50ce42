//! A transaction-bound assertion approves its own transaction only.

use crate::support::*;
use sekimori_webauthn::{Error, WebauthnError};

#[test]
fn assertion_bound_to_tx_a_approves_a_and_not_b() {
    let (rp, mut dev, mut passkeys) = enrolled();
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
    let (rp, mut dev, mut passkeys) = enrolled();
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
    let (rp, mut dev, mut passkeys) = enrolled();
    let (state, response) = assert_tx(&rp, &mut dev, &passkeys, None);
    let err = rp
        .finish_auth(state, &response, Some(TX_A), &mut passkeys)
        .expect_err("login step-up is not a payment approval");
    assert!(
        matches!(&err, Error::TransactionMismatch { bound, .. } if bound == "none"),
        "{err:?}"
    );
}
