//! Replays: against a new ceremony, with a state the store failed to
//! delete, and an older assertion after a newer one.

use crate::support::*;
use sekimori_webauthn::{Error, WebauthnError};

#[test]
fn replay_against_a_new_ceremony_is_rejected() {
    let (rp, mut dev, mut passkeys) = enrolled();
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
    let (rp, mut dev, mut passkeys) = enrolled();
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
    let (rp, mut dev, mut passkeys) = enrolled();
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
