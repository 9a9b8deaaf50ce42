//! Helpers for tests (this crate's and the end-to-end browser test): the
//! code an authenticator app shows for a provisioning URI.

/// The TOTP code of `otpauth_uri` at `now_ms` (SHA-1, 6 digits, 30 s: the
/// parameters every analyst is enrolled with). Empty when the URI has no seed.
pub fn totp_code(otpauth_uri: &str, now_ms: i64) -> String {
    let Some(seed) = sekimori_stepup::totp_uri::seed_from_otpauth_uri(otpauth_uri) else {
        return String::new();
    };
    let secs = u64::try_from(now_ms / 1000).unwrap_or(0);
    sekimori_stepup::totp(sekimori_stepup::Algorithm::Sha1, seed.expose(), secs, 30, 6)
        .unwrap_or_default()
}
