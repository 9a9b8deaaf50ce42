//! Step-up, secret checks and ASN enrichment over HTTP, in process, and
//! step-up that cannot be forged (`trust`, issue 12), adding a factor
//! (`enroll`) and `/v1/stepup/verify` under attack (`verify`): one test
//! binary, a module per behaviour under test.

#[path = "../common/mod.rs"]
mod common;

mod support;

mod asn;
// Was the `stepup_enroll` test binary.
mod enroll;
mod malformed;
mod otp_relay;
mod passkeys;
mod restart;
mod secrets;
mod totp;
mod transaction;
// Was the `stepup_verify` test binary.
mod verify;

// Was the `stepup_trust` test binary.
mod trust;
