//! The passkey operations' summaries and descriptions, checked against
//! what `web/passkeys.rs`, `analyst_passkeys.rs` and `ceremonies.rs` do
//! (the handlers' doc comments in `web/api_passkeys.rs` say less; these
//! replace them in the document). Limits come from the code's constants.

use crate::analyst_passkeys::{MAX_PASSKEYS_PER_ANALYST, MAX_PASSKEY_NAME};
use crate::ceremonies::CEREMONY_MS;
use crate::web::passkeys::REGISTER_FRESH_MS;
use serde_json::{json, Value};

/// (method, path, summary, description) of every passkey operation.
pub(super) fn texts() -> Vec<(&'static str, &'static str, &'static str, String)> {
    let minutes = CEREMONY_MS / 60_000;
    let fresh = REGISTER_FRESH_MS / 60_000;
    vec![
        (
            "post",
            "/v1/workbench/passkeys/sign-in/start",
            "Start a passkey sign-in (no session needed)",
            format!(
                "Starts a passkey sign-in, user verification required. Answers a `ceremony` \
                 handle (the client's only proof of the ceremony: keep it private) and the \
                 options for `navigator.credentials.get()`; finish within {minutes} minutes of \
                 server time, once. With `login` (trimmed; at most 64 characters, else 400 \
                 `invalid_value` at `login`) the options' `allowCredentials` list that \
                 analyst's passkeys; a login that has none, is disabled or does not exist gets \
                 stand-in ids instead, keyed by the login and shaped like stored ones (how \
                 many, how long), the same after a restart and on every node, so the answer \
                 does not tell which logins have passkeys. Without `login` (or blank) the \
                 list is empty and the authenticator offers its discoverable passkeys. The \
                 password sign-in's back-off applies (keyed by the client's address and the \
                 login typed, or one key for every sign-in without a login): 429 \
                 `sign_in_throttled` while backing off, and a login being slowed down answers \
                 later. 404 `not_found` when passkeys are off (no relying party)."
            ),
        ),
        (
            "post",
            "/v1/workbench/passkeys/sign-in/finish",
            "Finish a passkey sign-in: a session token",
            "Finishes a passkey sign-in with the `ceremony` of `sign-in/start` and the \
             credential `navigator.credentials.get()` gave; answers a session token, as a \
             password sign-in does, and logs the sign-in. The ceremony is taken at once (a \
             second finish with it fails whatever the first's outcome): an unknown, used or \
             expired one is 400 `invalid_value` at `ceremony`. A refused assertion (wrong \
             origin or challenge, no user verification, a replay or a counter that did not \
             move, an unknown or removed passkey, a passkey not of the login typed, a \
             disabled analyst) is 401 `sign_in_failed`, counted by the back-off and logged as \
             a failed sign-in. 429 `sign_in_throttled` while the client backs off, or when \
             the check waited too long for a place among the sign-in checks in flight. 404 \
             `not_found` when passkeys are off."
                .to_string(),
        ),
        (
            "get",
            "/v1/workbench/passkeys",
            "The signed-in analyst's passkeys",
            "The signed-in analyst's own passkeys: each one's credential id (hex), name and \
             date added; never key material."
                .to_string(),
        ),
        (
            "post",
            "/v1/workbench/passkeys/register/start",
            "Start registering a passkey",
            format!(
                "Starts registering a passkey for the signed-in analyst, bound to this \
                 session; answers a `ceremony` and the options for \
                 `navigator.credentials.create()` (a discoverable passkey preferred, user \
                 verification required, the analyst's passkeys excluded); finish within \
                 {minutes} minutes, once. `name`: at most {MAX_PASSKEY_NAME} printable \
                 characters, blank for `passkey` (else 400 `invalid_value` at `name`). 409 \
                 `conflict` when the session was signed in more than {fresh} minutes ago \
                 (sign in again first) or the analyst has {MAX_PASSKEYS_PER_ANALYST} passkeys \
                 already. 404 `not_found` when passkeys are off."
            ),
        ),
        (
            "post",
            "/v1/workbench/passkeys/register/finish",
            "Finish registering a passkey",
            format!(
                "Finishes a registration this session started: a ceremony that is unknown, \
                 used, expired or another session's is 400 `invalid_value` at `ceremony`; an \
                 attestation that does not verify (origin, challenge, user verification) 400 \
                 `invalid_value` at `credential`. 409 `conflict` for a passkey registered \
                 already (to any analyst) or past {MAX_PASSKEYS_PER_ANALYST} passkeys; 403 \
                 `role_required` for an analyst disabled meanwhile; 404 `not_found` when \
                 passkeys are off. The registration is logged (`passkey_registered`: the \
                 login, the credential id, its name)."
            ),
        ),
        (
            "post",
            "/v1/workbench/passkeys/remove",
            "Remove an analyst's passkey, or all (admins)",
            "An admin removes `login`'s passkey `id`, or all of them (no `id`); answers how \
             many went. The analyst's sessions end (unless it is the admin's own account) \
             and the removal is logged (`passkeys_removed`, reason `admin`; the analysts page \
             also asks why and logs it as the entry's `why`). 403 `role_required` for anyone \
             but an admin; 404 `not_found` for an unknown analyst or passkey id."
                .to_string(),
        ),
    ]
}

/// Puts [`texts`] into the document.
pub(super) fn describe(v: &mut Value) {
    for (method, path, summary, description) in texts() {
        let op = &mut v["paths"][path][method];
        if op.is_object() {
            op["summary"] = json!(summary);
            op["description"] = json!(description);
        }
    }
}
