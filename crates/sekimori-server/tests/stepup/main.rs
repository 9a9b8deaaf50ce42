//! Step-up, secret checks and ASN enrichment over HTTP, in process, and
//! step-up that cannot be forged (`trust`, issue 12): one test binary, a
//! module per behaviour under test.

#[path = "../common/mod.rs"]
mod common;

mod support;

mod asn;
mod malformed;
mod otp_relay;
mod passkeys;
mod restart;
mod secrets;
mod totp;
mod transaction;

// Was the `stepup_trust` test binary.
mod trust;
