//! Signing in with a passkey alone (the workbench's analysts): a ceremony
//! that names no account up front, so a discoverable passkey (one the
//! authenticator keeps with its user handle) signs in without a login, and
//! a non-discoverable one signs in once the caller lists its credential ids
//! (`allow`, from a login the user typed). User verification is required
//! either way (PIN or biometric), so the passkey is two factors in one.
//!
//! The flow, and what the caller must do:
//!
//! 1. [`Passkeys::start_sign_in`] returns the JSON for
//!    `navigator.credentials.get()` and a [`SignInState`]. Keep the state
//!    server-side, bound to the client (a pre-session cookie) with a short
//!    expiry, and **take** it (single use) before finishing.
//! 2. [`SignInResponse::of`] reads which credential signed (and the user
//!    handle, when the authenticator returned one) *before* any signature
//!    work, so the caller can find the account that holds the credential.
//! 3. [`Passkeys::finish_sign_in`] checks the user handle (when present)
//!    against the account's, then has webauthn-rs verify the assertion
//!    (challenge, origin, rp_id hash, user verification, signature) against
//!    that one stored passkey, then checks the signature counter and
//!    updates the passkey in place: persist it when
//!    [`SignInOutcome::passkey_changed`].

use crate::{
    CreationChallengeResponse, Error, Passkey, Passkeys, PublicKeyCredential,
    RequestChallengeResponse, Result,
};
use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{Credential, CredentialID, DiscoverableAuthentication, Uuid};

/// An in-progress passkey sign-in. Store it server-side and take it
/// (delete it) before finishing; deliberately not `Clone`.
#[derive(Debug, Serialize, Deserialize)]
pub struct SignInState {
    ceremony_id: String,
    #[serde(with = "crate::as_json_string")]
    inner: DiscoverableAuthentication,
}

impl SignInState {
    /// Hex of this ceremony's random challenge.
    pub fn ceremony_id(&self) -> &str {
        &self.ceremony_id
    }
}

/// Which credential an assertion names, read before it is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInResponse {
    /// The credential's id (`rawId`).
    pub credential_id: CredentialID,
    /// The WebAuthn user handle, when the authenticator returned one (a
    /// discoverable passkey does): must be the account's
    /// ([`Passkeys::user_handle`]).
    pub user_handle: Option<Uuid>,
}

impl SignInResponse {
    /// Reads the credential id and user handle of `response`. A user
    /// handle that is not 16 bytes (not one this crate issued) is refused.
    pub fn of(response: &PublicKeyCredential) -> Result<SignInResponse> {
        let user_handle = match response.response.user_handle.as_ref() {
            None => None,
            Some(h) if h.as_slice().is_empty() => None,
            Some(h) => Some(Uuid::from_slice(h.as_slice()).map_err(|_| Error::UnknownCredential)?),
        };
        Ok(SignInResponse {
            credential_id: response.raw_id.clone(),
            user_handle,
        })
    }
}

/// A verified passkey sign-in.
#[derive(Debug, Clone)]
pub struct SignInOutcome {
    /// The ceremony (hex challenge) that was completed.
    pub ceremony_id: String,
    /// The credential that signed.
    pub credential_id: CredentialID,
    /// The signature counter the authenticator reported (0 for most synced passkeys).
    pub counter: u32,
    /// Always true: the ceremony requires user verification.
    pub user_verified: bool,
    /// True when the stored passkey was updated (counter or backup flags) and must be
    /// persisted.
    pub passkey_changed: bool,
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl Passkeys {
    /// [`Passkeys::start_register`] asking the authenticator to keep the
    /// passkey discoverable if it can (`residentKey: "preferred"`), so it
    /// signs in without a login typed; one that cannot still registers a
    /// passkey (signed in with the login typed). User verification stays
    /// required.
    pub fn start_register_discoverable(
        &self,
        account_id: &str,
        user_name: &str,
        existing: &[Passkey],
    ) -> Result<(CreationChallengeResponse, crate::RegState)> {
        let handle = Self::user_handle(account_id);
        self.start_register_discoverable_as(handle, account_id, user_name, existing)
    }

    /// [`Passkeys::start_register_discoverable`] with the user handle
    /// given (a workbench analyst's: [`Passkeys::analyst_handle`]).
    pub fn start_register_discoverable_as(
        &self,
        user_handle: Uuid,
        account_id: &str,
        user_name: &str,
        existing: &[Passkey],
    ) -> Result<(CreationChallengeResponse, crate::RegState)> {
        let (ccr, state) = self.start_register_as(user_handle, account_id, user_name, existing)?;
        let mut v = serde_json::to_value(&ccr).map_err(|e| Error::Config(e.to_string()))?;
        v["publicKey"]["authenticatorSelection"]["residentKey"] = "preferred".into();
        v["publicKey"]["authenticatorSelection"]["requireResidentKey"] = false.into();
        let ccr = serde_json::from_value(v).map_err(|e| Error::Config(e.to_string()))?;
        Ok((ccr, state))
    }

    /// Starts a passkey sign-in. With `allow` empty the browser offers the
    /// discoverable passkeys it holds for this relying party (no login
    /// typed); otherwise it is asked for one of these credentials (a login
    /// was typed: pass its passkeys' ids, or stand-ins for a login without
    /// any, so the answer does not tell whether the login exists). The
    /// options ask for a modal dialog (no conditional mediation).
    pub fn start_sign_in(
        &self,
        allow: &[CredentialID],
    ) -> Result<(RequestChallengeResponse, SignInState)> {
        let (mut rcr, inner) = self.webauthn.start_discoverable_authentication()?;
        rcr.mediation = None;
        // webauthn-rs's own serde form of `allowCredentials` (its type is
        // not exported): `{"type": "public-key", "id": <base64url>}`.
        let listed: Vec<serde_json::Value> = allow
            .iter()
            .map(|id| serde_json::json!({"type": "public-key", "id": b64url(id)}))
            .collect();
        rcr.public_key.allow_credentials = serde_json::from_value(listed.into())
            .map_err(|e| Error::Config(format!("allowCredentials: {e}")))?;
        let state = SignInState {
            ceremony_id: hex::encode(&rcr.public_key.challenge),
            inner,
        };
        Ok((rcr, state))
    }

    /// Finishes a sign-in against `passkey`, the stored passkey whose id is
    /// the response's (found by the caller from [`SignInResponse::of`]),
    /// held by the account whose user handle is `account_handle`. A user
    /// handle in the response that is not the account's is refused before
    /// any signature work; webauthn-rs then verifies the assertion; a
    /// signature counter that did not increase (either side non-zero) is
    /// refused (a replay or a cloned authenticator). `passkey` is updated
    /// in place.
    pub fn finish_sign_in(
        &self,
        state: SignInState,
        response: &PublicKeyCredential,
        account_handle: Uuid,
        passkey: &mut Passkey,
    ) -> Result<SignInOutcome> {
        let presented = SignInResponse::of(response)?;
        if presented.user_handle.is_some_and(|h| h != account_handle) {
            return Err(Error::UnknownCredential);
        }
        if &presented.credential_id != passkey.cred_id() {
            return Err(Error::UnknownCredential);
        }
        let result = self.webauthn.finish_discoverable_authentication_v2(
            response,
            state.inner,
            &*passkey,
        )?;
        let stored_counter = Credential::from(passkey.clone()).counter;
        if (result.counter() > 0 || stored_counter > 0) && result.counter() <= stored_counter {
            return Err(Error::CounterNotIncreased {
                stored: stored_counter,
                presented: result.counter(),
            });
        }
        let passkey_changed = passkey.update_credential(&result).unwrap_or(false);
        Ok(SignInOutcome {
            ceremony_id: state.ceremony_id,
            credential_id: result.cred_id().clone(),
            counter: result.counter(),
            user_verified: result.user_verified(),
            passkey_changed,
        })
    }
}
