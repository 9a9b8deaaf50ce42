//! TOTP enrollment and verification for one account.
//!
//! * Enrollment draws a random 20-byte seed, seals it (see [`Sealer`]) and hands the
//!   `otpauth://` URI back exactly once ([`OtpauthUri`]); afterwards only the sealed seed is
//!   stored and there is no way to read the seed back out through this API.
//! * Verification accepts the code of the current time step and of one step either side
//!   ([`TOTP_WINDOW`]), compares in constant time, and applies the replay rule: the enrollment
//!   remembers the last accepted step and refuses any code whose step is `<=` it
//!   ([`TotpError::Replayed`]). So a code is accepted at most once, and after a code of step
//!   `s` is used, older codes (still inside the window) are refused too.
//! * The current step is `floor(now_ms / 1000) / step_seconds` from the event time the caller
//!   passes in, so replaying a log of events decides exactly as the live run did.

use std::fmt;

use rand::CryptoRng;
use serde::{Deserialize, Serialize};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use crate::error::{OtpError, StepUpError, TotpError};
use crate::otp::{totp_at_step, unix_seconds, Algorithm};
use crate::secret::{SealedSecret, Sealer, SecretBytes};

/// Seed length drawn at enrollment (160 bits, RFC 4226 §4 recommendation).
pub const TOTP_SEED_LEN: usize = 20;

/// Accepted clock drift in steps on either side of the current one.
pub const TOTP_WINDOW: u64 = 1;
/// Consecutive failures after which an enrollment refuses every code for
/// [`TOTP_LOCK_MS`] after the last failure (RFC 4226 section 7.3: throttle,
/// so that guessing a 6-digit code stays out of reach).
pub const TOTP_MAX_FAILURES: u32 = 5;
/// How long the throttle lasts after the last failure, in event time.
pub const TOTP_LOCK_MS: i64 = 15 * 60_000;

/// TOTP parameters of an enrollment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpParams {
    /// HMAC hash (authenticator apps generally only support SHA-1).
    pub algorithm: Algorithm,
    /// Code length, 6..=8.
    pub digits: u8,
    /// Step length in seconds (normally 30).
    pub step_seconds: u64,
}

impl Default for TotpParams {
    /// SHA-1, 6 digits, 30-second steps: what every authenticator app understands.
    fn default() -> Self {
        TotpParams {
            algorithm: Algorithm::Sha1,
            digits: 6,
            step_seconds: 30,
        }
    }
}

impl TotpParams {
    fn validate(&self) -> Result<(), OtpError> {
        if !(6..=8).contains(&self.digits) {
            return Err(OtpError::InvalidDigits(self.digits));
        }
        if self.step_seconds == 0 {
            return Err(OtpError::InvalidStep);
        }
        Ok(())
    }

    /// The time-step number for event time `now_ms`.
    pub fn step_at(&self, now_ms: i64) -> Result<u64, OtpError> {
        if self.step_seconds == 0 {
            return Err(OtpError::InvalidStep);
        }
        Ok(unix_seconds(now_ms)? / self.step_seconds)
    }
}

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

/// One account's TOTP enrollment as stored: the sealed seed and the replay state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpEnrollment {
    /// Code parameters.
    pub params: TotpParams,
    /// The seed, sealed under the binding given at creation.
    pub sealed_seed: SealedSecret,
    /// The last accepted time step; codes of this step or earlier are refused.
    pub last_used_step: Option<u64>,
    /// Event time of enrollment.
    pub enrolled_at_ms: i64,
    /// Failed verifications since the last success. From [`TOTP_MAX_FAILURES`] on, every code
    /// is refused until [`TOTP_LOCK_MS`] after the last failure.
    pub failed_attempts: u32,
    /// Event time of the last failed verification.
    #[serde(default)]
    pub last_failure_ms: i64,
}

impl TotpEnrollment {
    /// Creates an enrollment: draws a [`TOTP_SEED_LEN`]-byte seed from `rng`, seals it under
    /// `binding`, and returns the enrollment plus the provisioning URI labelled
    /// `issuer:account`. The URI is the only time the seed leaves this crate.
    pub fn create(
        sealer: &Sealer,
        binding: &str,
        issuer: &str,
        account: &str,
        params: TotpParams,
        now_ms: i64,
        rng: &mut impl CryptoRng,
    ) -> Result<(TotpEnrollment, OtpauthUri), StepUpError> {
        let seed = SecretBytes::random(TOTP_SEED_LEN, rng);
        let uri = otpauth_uri(issuer, account, &seed, &params)?;
        let sealed_seed = sealer.seal(binding, &seed, rng)?;
        Ok((
            TotpEnrollment {
                params,
                sealed_seed,
                last_used_step: None,
                enrolled_at_ms: now_ms,
                failed_attempts: 0,
                last_failure_ms: 0,
            },
            uri,
        ))
    }

    /// Verifies `code` at event time `now_ms`. On success records the matched step (so the
    /// code cannot be used again) and returns it. Every refusal increments `failed_attempts`.
    pub fn verify(
        &mut self,
        sealer: &Sealer,
        binding: &str,
        code: &str,
        now_ms: i64,
    ) -> Result<u64, TotpError> {
        let throttled = self.failed_attempts >= TOTP_MAX_FAILURES
            && now_ms.saturating_sub(self.last_failure_ms) < TOTP_LOCK_MS;
        let result = if throttled {
            Err(TotpError::Throttled)
        } else {
            self.check(sealer, binding, code, now_ms)
        };
        match result {
            Ok(step) => {
                self.last_used_step = Some(step);
                self.failed_attempts = 0;
            }
            Err(
                TotpError::MalformedCode
                | TotpError::WrongCode
                | TotpError::Replayed
                | TotpError::Throttled,
            ) => {
                self.failed_attempts = self.failed_attempts.saturating_add(1);
                self.last_failure_ms = self.last_failure_ms.max(now_ms);
            }
            Err(_) => {}
        }
        result
    }

    fn check(
        &self,
        sealer: &Sealer,
        binding: &str,
        code: &str,
        now_ms: i64,
    ) -> Result<u64, TotpError> {
        let p = self.params;
        if code.len() != usize::from(p.digits) || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TotpError::MalformedCode);
        }
        let now_step = p.step_at(now_ms)?;
        let seed = sealer.open(binding, &self.sealed_seed)?;
        let mut found = Choice::from(0u8);
        let mut matched = 0u64;
        // ascending, so `matched` ends on the latest matching step; no early exit.
        let first = now_step.saturating_sub(TOTP_WINDOW);
        let last = now_step.saturating_add(TOTP_WINDOW);
        for step in first..=last {
            let expected = Zeroizing::new(totp_at_step(
                p.algorithm,
                seed.expose(),
                step,
                p.step_seconds,
                p.digits,
            )?);
            let eq = expected.as_bytes().ct_eq(code.as_bytes());
            matched = u64::conditional_select(&matched, &step, eq);
            found |= eq;
        }
        if !bool::from(found) {
            return Err(TotpError::WrongCode);
        }
        match self.last_used_step {
            Some(used) if matched <= used => Err(TotpError::Replayed),
            _ => Ok(matched),
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otp::totp;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    const T0_MS: i64 = 1_700_000_000_000; // step 56_666_666, 20 s into it

    fn seed_from_uri(uri: &OtpauthUri) -> Vec<u8> {
        seed_from_otpauth_uri(uri.expose())
            .expect("seed")
            .expose()
            .to_vec()
    }

    fn setup() -> (Sealer, TotpEnrollment, Vec<u8>) {
        let mut rng = ChaCha20Rng::seed_from_u64(42);
        let sealer = Sealer::new(&[9u8; 32]);
        let (enr, uri) = TotpEnrollment::create(
            &sealer,
            "totp/alice",
            "Sekimori Bank",
            "alice@example.com",
            TotpParams::default(),
            T0_MS,
            &mut rng,
        )
        .expect("create");
        let seed = seed_from_uri(&uri);
        assert_eq!(seed.len(), TOTP_SEED_LEN);
        (sealer, enr, seed)
    }

    fn code_at(seed: &[u8], ms: i64) -> String {
        totp(Algorithm::Sha1, seed, (ms / 1000) as u64, 30, 6).expect("totp")
    }

    #[test]
    fn uri_format_and_redaction() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let seed = SecretBytes::random(20, &mut rng);
        let uri = otpauth_uri(
            "Sekimori Bank",
            "alice@example.com",
            &seed,
            &TotpParams::default(),
        )
        .expect("uri");
        let text = uri.expose();
        assert!(text.starts_with("otpauth://totp/Sekimori%20Bank:alice%40example.com?secret="));
        assert!(text.ends_with("&issuer=Sekimori%20Bank&algorithm=SHA1&digits=6&period=30"));
        assert_eq!(format!("{uri:?}"), "OtpauthUri(<redacted>)");
        assert_eq!(
            otpauth_uri("A:B", "alice", &seed, &TotpParams::default()),
            Err(StepUpError::InvalidLabel)
        );
        assert_eq!(
            otpauth_uri("A", "", &seed, &TotpParams::default()),
            Err(StepUpError::InvalidLabel)
        );
    }

    #[test]
    fn accepts_current_and_adjacent_steps_only() {
        let (sealer, enr, seed) = setup();
        for (offset_steps, ok) in [(-2i64, false), (-1, true), (0, true), (1, true), (2, false)] {
            let mut e = enr.clone();
            let code = code_at(&seed, T0_MS + offset_steps * 30_000);
            let r = e.verify(&sealer, "totp/alice", &code, T0_MS);
            assert_eq!(r.is_ok(), ok, "offset {offset_steps}: {r:?}");
        }
    }

    #[test]
    fn code_is_single_use_and_older_steps_are_refused_after() {
        let (sealer, mut enr, seed) = setup();
        let now_code = code_at(&seed, T0_MS);
        let prev_code = code_at(&seed, T0_MS - 30_000);
        let step = enr
            .verify(&sealer, "totp/alice", &now_code, T0_MS)
            .expect("first use");
        assert_eq!(enr.last_used_step, Some(step));
        assert_eq!(
            enr.verify(&sealer, "totp/alice", &now_code, T0_MS),
            Err(TotpError::Replayed)
        );
        assert_eq!(
            enr.verify(&sealer, "totp/alice", &now_code, T0_MS + 29_000),
            Err(TotpError::Replayed)
        );
        assert_eq!(
            enr.verify(&sealer, "totp/alice", &prev_code, T0_MS),
            Err(TotpError::Replayed)
        );
        assert_eq!(enr.failed_attempts, 3);
        let next_code = code_at(&seed, T0_MS + 30_000);
        assert!(enr
            .verify(&sealer, "totp/alice", &next_code, T0_MS + 30_000)
            .is_ok());
        assert_eq!(enr.failed_attempts, 0);
    }

    #[test]
    fn wrong_and_malformed_codes() {
        let (sealer, mut enr, seed) = setup();
        let good = code_at(&seed, T0_MS);
        let mut wrong = good.clone().into_bytes();
        wrong[0] = if wrong[0] == b'9' { b'0' } else { wrong[0] + 1 };
        let wrong = String::from_utf8(wrong).expect("utf8");
        // the flipped code may by chance be valid for an adjacent step; astronomically unlikely
        assert_eq!(
            enr.verify(&sealer, "totp/alice", &wrong, T0_MS),
            Err(TotpError::WrongCode)
        );
        assert_eq!(
            enr.verify(&sealer, "totp/alice", "12345", T0_MS),
            Err(TotpError::MalformedCode)
        );
        assert_eq!(
            enr.verify(&sealer, "totp/alice", "12345a", T0_MS),
            Err(TotpError::MalformedCode)
        );
        assert_eq!(enr.failed_attempts, 3);
        // sealed seed bound to its account
        assert!(matches!(
            enr.verify(&sealer, "totp/bob", &good, T0_MS),
            Err(TotpError::Seal(_))
        ));
        assert!(enr.verify(&sealer, "totp/alice", &good, T0_MS).is_ok());
    }

    #[test]
    fn time_zero_window_does_not_underflow() {
        let (sealer, mut enr, seed) = setup();
        let code = code_at(&seed, 0);
        assert_eq!(enr.verify(&sealer, "totp/alice", &code, 10_000), Ok(0));
        assert!(matches!(
            enr.verify(&sealer, "totp/alice", &code, -1),
            Err(TotpError::Otp(OtpError::TimeOutOfRange))
        ));
    }
}
