//! The relying party, the user's soft passkey, and what the server's store
//! and the HTTP layer do to what passes through them.

use sekimori_webauthn::{
    AuthState, Error, Passkey, Passkeys, PublicKeyCredential, TxDigest, Url, WebauthnError,
};
use serde::{de::DeserializeOwned, Serialize};
use webauthn_authenticator_rs::{softpasskey::SoftPasskey, WebauthnAuthenticator};

pub const RP_ID: &str = "sekimori.example";

pub const ORIGIN: &str = "https://sekimori.example";

pub const ACCOUNT: &str = "acct-42";

pub const TX_A: TxDigest = [0xA1; 32];
pub const TX_B: TxDigest = [0xB2; 32];

pub fn rp() -> Passkeys {
    Passkeys::new(RP_ID, ORIGIN, "Sekimori Bank").expect("valid rp")
}

pub fn url(s: &str) -> Url {
    Url::parse(s).expect("url")
}

/// The user's device: a soft passkey that reports user verification.
pub fn device() -> SoftPasskey {
    SoftPasskey::new(true)
}

/// What the server's store does: serialize on put, deserialize on take.
pub fn stored<T: Serialize + DeserializeOwned>(value: &T) -> T {
    let json = serde_json::to_string(value).expect("serialize");
    serde_json::from_str(&json).expect("deserialize")
}

/// What the HTTP layer does with browser JSON.
pub fn over_the_wire<T: Serialize + DeserializeOwned>(value: &T) -> T {
    stored(value)
}

/// Register one passkey for ACCOUNT on `dev`, through JSON as the browser would.
pub fn register(rp: &Passkeys, dev: &mut SoftPasskey) -> Passkey {
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

/// The relying party, the user's device, and the one passkey registered on
/// it for ACCOUNT (the setup most tests start from).
pub fn enrolled() -> (Passkeys, SoftPasskey, Vec<Passkey>) {
    let rp = rp();
    let mut dev = device();
    let passkeys = vec![register(&rp, &mut dev)];
    (rp, dev, passkeys)
}

/// Start a step-up and have the device sign it at `origin`.
pub fn assert_at(
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

pub fn assert_tx(
    rp: &Passkeys,
    dev: &mut SoftPasskey,
    passkeys: &[Passkey],
    tx: Option<TxDigest>,
) -> (AuthState, PublicKeyCredential) {
    assert_at(rp, dev, passkeys, tx, ORIGIN)
}

pub fn is_webauthn(err: &Error, expected: &WebauthnError) -> bool {
    matches!(err, Error::Webauthn(e) if std::mem::discriminant(e) == std::mem::discriminant(expected))
}
