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
use crate::time::Now;

/// Seed length drawn at enrollment (160 bits, RFC 4226 §4 recommendation).
pub const TOTP_SEED_LEN: usize = 20;

/// Accepted clock drift in steps on either side of the current one. The
/// same allowance bounds the request's `at` against the server clock: a
/// verification whose `|at - server| > TOTP_WINDOW * step` is refused
/// ([`TotpError::ClockSkew`]).
pub const TOTP_WINDOW: u64 = 1;
/// Consecutive failures (of one client, or of the account) tolerated before
/// the back-off starts.
pub const TOTP_MAX_FAILURES: u32 = 5;
/// The first back-off, after [`TOTP_MAX_FAILURES`] failures; it doubles with
/// every further failure up to [`TOTP_BACKOFF_MAX_MS`] (server time).
pub const TOTP_LOCK_MS: i64 = 60_000;
/// The longest back-off.
pub const TOTP_BACKOFF_MAX_MS: i64 = 60 * 60_000;
/// Consecutive failures of the account (from every client) after which the
/// enrollment refuses every code until it is reset (NIST SP 800-63B 5.2.2:
/// at most 100 consecutive failed attempts per account).
pub const TOTP_LOCK_AFTER: u32 = 100;
/// Clients remembered per enrollment (those that passed are kept first).
pub const TOTP_MAX_CLIENTS: usize = 32;

/// The back-off after `failures` consecutive failures (0 below
/// [`TOTP_MAX_FAILURES`]).
pub fn totp_backoff_ms(failures: u32) -> i64 {
    if failures < TOTP_MAX_FAILURES {
        return 0;
    }
    let doublings = (failures - TOTP_MAX_FAILURES).min(16);
    TOTP_LOCK_MS
        .saturating_mul(1i64 << doublings)
        .min(TOTP_BACKOFF_MAX_MS)
}

/// One client's standing with an enrollment (a client is the request's
/// device, else its IP, hashed).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TotpClient {
    /// Consecutive failures of this client.
    pub failures: u32,
    /// Server time of its last failure.
    pub last_failure_ms: i64,
    /// It passed before for this account: the account-wide back-off does
    /// not apply to it (its own back-off does).
    pub familiar: bool,
    /// Server time it was last seen (for eviction).
    pub last_seen_ms: i64,
}

/// The stored name of a client: SHA-256 of its kind and id, 16 bytes hex.
pub fn client_key(device: Option<&str>, ip: Option<&str>) -> Option<String> {
    use sha2::{Digest, Sha256};
    let (kind, id) = match (device, ip) {
        (Some(d), _) => ("device", d),
        (None, Some(ip)) => ("ip", ip),
        (None, None) => return None,
    };
    let mut h = Sha256::new();
    h.update(b"sekimori-totp-client-v1\0");
    h.update(kind.as_bytes());
    h.update([0u8]);
    h.update(id.as_bytes());
    Some(hex::encode(&h.finalize()[..16]))
}

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
    /// Consecutive failed verifications of the account (every client) since
    /// the last success. From [`TOTP_MAX_FAILURES`] on, clients that never
    /// passed wait [`totp_backoff_ms`] after the last failure; from
    /// [`TOTP_LOCK_AFTER`] on every code is refused until a reset.
    pub failed_attempts: u32,
    /// Server time of the last failed verification.
    #[serde(default)]
    pub last_failure_ms: i64,
    /// Per-client standing, by [`client_key`]; at most [`TOTP_MAX_CLIENTS`].
    #[serde(default)]
    pub clients: std::collections::BTreeMap<String, TotpClient>,
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
                clients: Default::default(),
            },
            uri,
        ))
    }

    /// Verifies `code` at `now` for an anonymous client (see
    /// [`verify_from`](Self::verify_from)).
    pub fn verify(
        &mut self,
        sealer: &Sealer,
        binding: &str,
        code: &str,
        now: impl Into<Now>,
    ) -> Result<u64, TotpError> {
        self.verify_from(sealer, binding, code, now, None)
    }

    /// Verifies `code` at `now` from `client` (a [`client_key`]). On success
    /// records the matched step (so the code cannot be used again), clears
    /// the failure counts and marks the client familiar; returns the step.
    ///
    /// Refused without looking at the code (and without counting a
    /// failure): [`TotpError::ClockSkew`] when `at` is more than the window
    /// from the server clock; [`TotpError::Locked`] from [`TOTP_LOCK_AFTER`]
    /// consecutive failures; [`TotpError::Throttled`] while the client's own
    /// back-off runs, or the account's for a client that never passed. A
    /// wrong, malformed or replayed code counts one failure for the client
    /// and the account. Back-offs are in server time.
    pub fn verify_from(
        &mut self,
        sealer: &Sealer,
        binding: &str,
        code: &str,
        now: impl Into<Now>,
        client: Option<&str>,
    ) -> Result<u64, TotpError> {
        let now = now.into();
        let allowance_ms = i64::try_from(TOTP_WINDOW.saturating_mul(self.params.step_seconds))
            .unwrap_or(i64::MAX)
            .saturating_mul(1000);
        if now.skew_ms() > allowance_ms {
            return Err(TotpError::ClockSkew);
        }
        if self.failed_attempts >= TOTP_LOCK_AFTER {
            return Err(TotpError::Locked);
        }
        let standing = client.and_then(|c| self.clients.get(c)).cloned();
        let familiar = standing.as_ref().is_some_and(|c| c.familiar);
        let backing_off = |failures: u32, last_failure_ms: i64| {
            let wait = totp_backoff_ms(failures);
            wait > 0 && now.server_ms < last_failure_ms.saturating_add(wait)
        };
        if standing
            .as_ref()
            .is_some_and(|c| backing_off(c.failures, c.last_failure_ms))
        {
            return Err(TotpError::Throttled);
        }
        if !familiar && backing_off(self.failed_attempts, self.last_failure_ms) {
            return Err(TotpError::Throttled);
        }
        let result = self.check(sealer, binding, code, now.at_ms);
        match &result {
            Ok(step) => {
                self.last_used_step = Some(*step);
                self.failed_attempts = 0;
                if let Some(c) = self.client_mut(client, now.server_ms) {
                    c.failures = 0;
                    c.familiar = true;
                }
            }
            Err(TotpError::MalformedCode | TotpError::WrongCode | TotpError::Replayed) => {
                self.failed_attempts = self.failed_attempts.saturating_add(1);
                self.last_failure_ms = self.last_failure_ms.max(now.server_ms);
                if let Some(c) = self.client_mut(client, now.server_ms) {
                    c.failures = c.failures.saturating_add(1);
                    c.last_failure_ms = c.last_failure_ms.max(now.server_ms);
                }
            }
            Err(_) => {}
        }
        result
    }

    /// Clears the failure counts and back-offs (an operator's reset); the
    /// clients that passed stay familiar.
    pub fn reset_throttle(&mut self) {
        self.failed_attempts = 0;
        self.last_failure_ms = 0;
        self.clients.retain(|_, c| c.familiar);
        for c in self.clients.values_mut() {
            c.failures = 0;
            c.last_failure_ms = 0;
        }
    }

    /// The client's standing, created if new (evicting, when full, the
    /// least recently seen client that never passed, else the least
    /// recently seen).
    fn client_mut(&mut self, client: Option<&str>, server_ms: i64) -> Option<&mut TotpClient> {
        let key = client?;
        if !self.clients.contains_key(key) && self.clients.len() >= TOTP_MAX_CLIENTS {
            let victim = self
                .clients
                .iter()
                .min_by_key(|(k, c)| (c.familiar, c.last_seen_ms, (*k).clone()))
                .map(|(k, _)| k.clone());
            if let Some(v) = victim {
                self.clients.remove(&v);
            }
        }
        let c = self.clients.entry(key.to_string()).or_default();
        c.last_seen_ms = c.last_seen_ms.max(server_ms);
        Some(c)
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
