//! Passkey sign-in (`signin`) against a software passkey: with a login's
//! credentials listed, and discoverable (nothing listed, the user handle
//! returned); replays, a wrong origin, another account's handle refused.

use crate::support::{over_the_wire, url};
use sekimori_webauthn::{
    Error, Passkey, Passkeys, PublicKeyCredential, RequestChallengeResponse, SignInResponse,
    SignInState,
};
use serde_json::Value;
use webauthn_authenticator_rs::{softpasskey::SoftPasskey, WebauthnAuthenticator};

const RP_ID: &str = "localhost";
const ORIGIN: &str = "http://localhost:7878";

fn rp() -> Passkeys {
    Passkeys::new(RP_ID, ORIGIN, "sekimori").expect("valid rp")
}

fn register(rp: &Passkeys, dev: &mut SoftPasskey, login: &str) -> Passkey {
    let (ccr, state) = rp
        .start_register_discoverable(login, login, &[])
        .expect("start");
    let json = serde_json::to_value(&ccr).expect("json");
    assert_eq!(
        json["publicKey"]["authenticatorSelection"]["residentKey"],
        "preferred"
    );
    assert_eq!(
        json["publicKey"]["authenticatorSelection"]["userVerification"],
        "required"
    );
    let response = dev
        .do_registration(url(ORIGIN), over_the_wire(&ccr))
        .expect("registers");
    rp.finish_register(over_the_wire(&state), &over_the_wire(&response))
        .expect("verifies")
}

/// The options with `allowCredentials` set to `id`, as a discoverable
/// authenticator would pick its own credential (the soft passkey needs it
/// listed to find its key).
fn pick(rcr: &RequestChallengeResponse, id: &Passkey) -> RequestChallengeResponse {
    let mut v = serde_json::to_value(rcr).expect("json");
    v["publicKey"]["allowCredentials"] =
        serde_json::json!([{"type": "public-key", "id": base64url(id.cred_id())}]);
    serde_json::from_value(v).expect("options")
}

fn sign(
    dev: &mut SoftPasskey,
    rcr: RequestChallengeResponse,
    origin: &str,
    handle: Option<&str>,
) -> PublicKeyCredential {
    let response = dev
        .do_authentication(url(origin), rcr)
        .expect("authenticator signs");
    let mut v = serde_json::to_value(&response).expect("json");
    if let Some(login) = handle {
        let h = Passkeys::user_handle(login);
        v["response"]["userHandle"] = serde_json::json!(base64url(h.as_bytes()));
    }
    serde_json::from_value(v).expect("credential")
}

fn base64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

fn start(rp: &Passkeys, allow: &[&Passkey]) -> (RequestChallengeResponse, SignInState) {
    let ids: Vec<_> = allow.iter().map(|p| p.cred_id().clone()).collect();
    let (rcr, state) = rp.start_sign_in(&ids).expect("start");
    (over_the_wire(&rcr), over_the_wire(&state))
}

#[test]
fn a_listed_passkey_signs_in_once_and_its_counter_moves() {
    let rp = rp();
    let mut dev = SoftPasskey::new(true);
    let mut pk = register(&rp, &mut dev, "aiko");
    let (rcr, state) = start(&rp, &[&pk]);
    let json = serde_json::to_value(&rcr).expect("json");
    assert_eq!(json["publicKey"]["userVerification"], "required");
    assert!(json.get("mediation").is_none_or(Value::is_null));
    let response = sign(&mut dev, rcr, ORIGIN, None);
    let seen = SignInResponse::of(&response).expect("reads");
    assert_eq!(&seen.credential_id, pk.cred_id());
    assert_eq!(seen.user_handle, None);
    let out = rp
        .finish_sign_in(state, &response, Passkeys::user_handle("aiko"), &mut pk)
        .expect("signs in");
    assert!(out.user_verified && out.passkey_changed);
    assert_eq!(out.counter, 1);

    // The same assertion against a new ceremony: another challenge.
    let (_, state) = start(&rp, &[&pk]);
    let err = rp
        .finish_sign_in(state, &response, Passkeys::user_handle("aiko"), &mut pk)
        .expect_err("replay refused");
    assert!(matches!(err, Error::Webauthn(_)), "{err}");
}

#[test]
fn a_discoverable_passkey_signs_in_with_its_user_handle_only_for_its_account() {
    let rp = rp();
    let mut dev = SoftPasskey::new(true);
    let mut pk = register(&rp, &mut dev, "aiko");
    let (rcr, state) = start(&rp, &[]);
    let json = serde_json::to_value(&rcr).expect("json");
    assert_eq!(json["publicKey"]["allowCredentials"], serde_json::json!([]));
    let response = sign(&mut dev, pick(&rcr, &pk), ORIGIN, Some("aiko"));
    assert_eq!(
        SignInResponse::of(&response).expect("reads").user_handle,
        Some(Passkeys::user_handle("aiko"))
    );
    // Presented as another account's: refused before any signature work.
    let mut other = pk.clone();
    let err = rp
        .finish_sign_in(state, &response, Passkeys::user_handle("bo"), &mut other)
        .expect_err("not bo's");
    assert!(matches!(err, Error::UnknownCredential), "{err}");

    let (rcr, state) = start(&rp, &[]);
    let response = sign(&mut dev, pick(&rcr, &pk), ORIGIN, Some("aiko"));
    rp.finish_sign_in(state, &response, Passkeys::user_handle("aiko"), &mut pk)
        .expect("signs in");
}

#[test]
fn a_wrong_origin_or_another_passkey_is_refused() {
    let rp = rp();
    let mut dev = SoftPasskey::new(true);
    let mut pk = register(&rp, &mut dev, "aiko");
    let (rcr, state) = start(&rp, &[&pk]);
    let response = sign(&mut dev, rcr, "http://localhost:9999", None);
    let err = rp
        .finish_sign_in(state, &response, Passkeys::user_handle("aiko"), &mut pk)
        .expect_err("wrong origin");
    assert!(matches!(err, Error::Webauthn(_)), "{err}");

    let mut dev2 = SoftPasskey::new(true);
    let mut pk2 = register(&rp, &mut dev2, "aiko");
    let (rcr, state) = start(&rp, &[&pk]);
    let response = sign(&mut dev, rcr, ORIGIN, None);
    let err = rp
        .finish_sign_in(state, &response, Passkeys::user_handle("aiko"), &mut pk2)
        .expect_err("the response is not pk2's");
    assert!(matches!(err, Error::UnknownCredential), "{err}");
}
