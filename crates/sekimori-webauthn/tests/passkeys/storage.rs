//! States and passkeys as the server stores them: JSON and postcard, and a
//! corrupted stored digest refused on load.

use crate::support::*;
use sekimori_webauthn::{AuthState, Passkey};
use serde::Serialize;
use webauthn_authenticator_rs::WebauthnAuthenticator;

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
    let (rp, _dev, passkeys) = enrolled();
    let (_, state) = rp
        .start_auth(ACCOUNT, &passkeys, Some(TX_A))
        .expect("start");
    let mut json = serde_json::to_value(&state).expect("json");
    json["tx_digest"] = serde_json::Value::from("a1a1");
    assert!(serde_json::from_value::<AuthState>(json).is_err());
}
