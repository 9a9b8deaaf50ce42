//! The `otpauth://` provisioning URI of a TOTP enrollment (Key URI format).

use std::fmt;

use zeroize::Zeroizing;

use crate::error::StepUpError;
use crate::secret::SecretBytes;
use crate::totp_verifier::TotpParams;

/// The `otpauth://totp/...` provisioning URI. It contains the seed, so it is zeroized on
/// drop and its `Debug` prints `<redacted>`; show it to the user once (QR code) and drop it.
#[derive(Clone, PartialEq, Eq)]
pub struct OtpauthUri(Zeroizing<String>);

impl OtpauthUri {
    /// The URI text.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OtpauthUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtpauthUri(<redacted>)")
    }
}

/// RFC 3986 percent-encoding of everything but unreserved characters.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Checks an otpauth label part: non-empty, no `:` (the issuer/account separator), no control characters.
pub(crate) fn check_label(s: &str) -> Result<(), StepUpError> {
    if s.is_empty() || s.contains(':') || s.chars().any(char::is_control) {
        return Err(StepUpError::InvalidLabel);
    }
    Ok(())
}

/// Builds the Key-URI-format provisioning URI
/// `otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=A&digits=D&period=P`
/// (label parts percent-encoded, base32 without padding via `totp-rs`).
pub fn otpauth_uri(
    issuer: &str,
    account: &str,
    seed: &SecretBytes,
    params: &TotpParams,
) -> Result<OtpauthUri, StepUpError> {
    check_label(issuer)?;
    check_label(account)?;
    params.validate()?;
    let engine = totp_rs::TOTP::new_unchecked(
        params.algorithm.to_totp_rs(),
        usize::from(params.digits),
        0,
        params.step_seconds,
        seed.expose().to_vec(),
    );
    let secret = Zeroizing::new(engine.get_secret_base32());
    let issuer = percent_encode(issuer);
    let uri = format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm={alg}&digits={digits}&period={period}",
        account = percent_encode(account),
        secret = secret.as_str(),
        alg = params.algorithm.name(),
        digits = params.digits,
        period = params.step_seconds,
    );
    Ok(OtpauthUri(Zeroizing::new(uri)))
}

/// The seed in an `otpauth://` URI, decoded as an authenticator app decodes
/// it (for reference clients and tests); `None` without a valid `secret`.
pub fn seed_from_otpauth_uri(uri: &str) -> Option<SecretBytes> {
    let secret = uri
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("secret="))?;
    totp_rs::Secret::Encoded(secret.to_string())
        .to_bytes()
        .ok()
        .map(SecretBytes::new)
}
