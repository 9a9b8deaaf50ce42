//! End-to-end ceremonies against a software passkey (webauthn-authenticator-rs's
//! `SoftPasskey`, which runs the client-side WebAuthn algorithm: origin / rp_id checks,
//! clientDataJSON, authenticatorData with an incrementing counter, P-256 signatures).
//! One test binary, a module per behaviour under test.

mod support;

mod ceremony;
mod origin;
mod replay;
// Passkey sign-in (`signin`) on its own relying party: was the `sign_in` test binary.
mod sign_in;
mod storage;
mod tampering;
mod transaction;
