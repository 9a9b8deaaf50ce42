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

use rand::CryptoRng;
use serde::{Deserialize, Serialize};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};
use zeroize::Zeroizing;

use crate::error::{OtpError, StepUpError, TotpError};
use crate::otp::{totp_at_step, unix_seconds, Algorithm};
use crate::secret::{SealedSecret, Sealer, SecretBytes};
use crate::time::Now;
pub use crate::totp_throttle::{
    client_key, totp_backoff_ms, TotpClient, TOTP_BACKOFF_MAX_MS, TOTP_LOCK_AFTER, TOTP_LOCK_MS,
    TOTP_MAX_CLIENTS, TOTP_MAX_FAILURES,
};
pub(crate) use crate::totp_uri::check_label;
pub use crate::totp_uri::{otpauth_uri, seed_from_otpauth_uri, OtpauthUri};

/// Seed length drawn at enrollment (160 bits, RFC 4226 §4 recommendation).
pub const TOTP_SEED_LEN: usize = 20;

/// Accepted clock drift in steps on either side of the current one. The
/// same allowance bounds the request's `at` against the server clock: a
/// verification whose `|at - server| > TOTP_WINDOW * step` is refused
/// ([`TotpError::ClockSkew`]).
pub const TOTP_WINDOW: u64 = 1;

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
    pub(crate) fn validate(&self) -> Result<(), OtpError> {
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
        if let Some((refusal, _)) = self.refusal(now, client) {
            return Err(refusal);
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

    /// Whether a code from `client` at `now` would be refused unchecked:
    /// [`TotpError::Locked`] from [`TOTP_LOCK_AFTER`] consecutive failures,
    /// [`TotpError::Throttled`] (with the server time it ends) while the
    /// client's own back-off runs, or the account's for a client that never
    /// passed (a familiar client skips the account's back-off). `None`: the
    /// code would be checked.
    pub fn refusal(&self, now: Now, client: Option<&str>) -> Option<(TotpError, Option<i64>)> {
        if self.failed_attempts >= TOTP_LOCK_AFTER {
            return Some((TotpError::Locked, None));
        }
        let standing = client.and_then(|c| self.clients.get(c));
        let until = |failures: u32, last_failure_ms: i64| {
            let wait = totp_backoff_ms(failures);
            let end = last_failure_ms.saturating_add(wait);
            (wait > 0 && now.server_ms < end).then_some(end)
        };
        if let Some(end) = standing.and_then(|c| until(c.failures, c.last_failure_ms)) {
            return Some((TotpError::Throttled, Some(end)));
        }
        let familiar = standing.is_some_and(|c| c.familiar);
        if !familiar {
            if let Some(end) = until(self.failed_attempts, self.last_failure_ms) {
                return Some((TotpError::Throttled, Some(end)));
            }
        }
        None
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
