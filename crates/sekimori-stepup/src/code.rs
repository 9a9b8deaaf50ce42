//! SMS and e-mail one-time codes: six random digits, stored only as an
//! HMAC-SHA-256 under a key derived from the master key, single use, 5
//! minutes (by the request's `at` and by the server clock, see
//! [`crate::time`]), 5 failures. Delivery is the server's business.

use hmac::{Hmac, Mac};
use rand::{CryptoRng, Rng};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::time::{check_window, Now, TimeRefusal};

/// How long a sent code stays valid.
pub const OTP_TTL_MS: i64 = 5 * 60 * 1000;
/// Failures after which a sent code is dead.
pub const OTP_MAX_FAILURES: u8 = 5;
/// Codes an account may have open at once.
pub const MAX_OPEN_OTPS: usize = 5;

const KEY_DOMAIN: &[u8] = b"sekimori-otp-key-v1";
const HASH_DOMAIN: &[u8] = b"sekimori-otp-v1";

/// The channel a code goes out on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A text message.
    Sms,
    /// An e-mail.
    Email,
}

impl Channel {
    /// `sms` or `email`.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Email => "email",
        }
    }
}

/// A sent code, as stored: its hash, never the code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingOtp {
    /// Where it went.
    pub channel: Channel,
    /// Hex HMAC-SHA-256 of (account, challenge id, code).
    pub hash: String,
    /// The request's `at` at issue.
    pub issued_at_ms: i64,
    /// `issued_at_ms + 5 min`.
    pub expires_at_ms: i64,
    /// Wrong codes so far.
    pub failures: u8,
    /// Answered correctly once.
    pub used: bool,
    /// The server clock at issue (0 in records written before it was kept: expired).
    #[serde(default)]
    pub issued_server_ms: i64,
    /// Once found expired, expired for good.
    #[serde(default)]
    pub expired: bool,
}

impl PendingOtp {
    /// Whether the code can no longer succeed at `now`.
    pub fn is_dead(&self, now: impl Into<Now>) -> bool {
        self.used
            || self.expired
            || self.failures >= OTP_MAX_FAILURES
            || check_window(
                self.issued_at_ms,
                self.issued_server_ms,
                OTP_TTL_MS,
                now.into(),
            ) == Err(TimeRefusal::Expired)
    }
}

/// Why a code was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OtpRefusal {
    /// Already answered.
    Used,
    /// Dead after 5 wrong codes.
    TooManyFailures,
    /// Past 5 minutes (by `at` or the server clock).
    Expired,
    /// The request's `at` is before the code was sent.
    BeforeIssue,
    /// Wrong code (counted).
    WrongCode,
}

/// Keys the code hashes; derived from the step-up master key.
pub struct OtpHasher {
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for OtpHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtpHasher(<redacted>)")
    }
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length.
    <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!())
}

fn push(m: &mut Hmac<Sha256>, s: &[u8]) {
    m.update(&u32::try_from(s.len()).unwrap_or(u32::MAX).to_be_bytes());
    m.update(s);
}

impl OtpHasher {
    /// The hasher of a master key.
    pub fn new(master: &[u8; 32]) -> OtpHasher {
        let mut m = mac(master);
        m.update(KEY_DOMAIN);
        let mut key = Zeroizing::new([0u8; 32]);
        key.copy_from_slice(&m.finalize().into_bytes());
        OtpHasher { key }
    }

    fn keyed(&self, account: &str, challenge_id: &str, code: &str) -> Hmac<Sha256> {
        let mut m = mac(self.key.as_ref());
        m.update(HASH_DOMAIN);
        m.update(&[0]);
        push(&mut m, account.as_bytes());
        push(&mut m, challenge_id.as_bytes());
        push(&mut m, code.as_bytes());
        m
    }

    /// A fresh six-digit code from `rng` and its stored form.
    pub fn issue(
        &self,
        account: &str,
        challenge_id: &str,
        channel: Channel,
        now: impl Into<Now>,
        rng: &mut impl CryptoRng,
    ) -> (Zeroizing<String>, PendingOtp) {
        let now = now.into();
        let code = Zeroizing::new(format!("{:06}", rng.random_range(0..1_000_000u32)));
        let hash = hex::encode(
            self.keyed(account, challenge_id, &code)
                .finalize()
                .into_bytes(),
        );
        let pending = PendingOtp {
            channel,
            hash,
            issued_at_ms: now.at_ms,
            expires_at_ms: now.at_ms.saturating_add(OTP_TTL_MS),
            failures: 0,
            used: false,
            issued_server_ms: now.server_ms,
            expired: false,
        };
        (code, pending)
    }

    /// Checks `code` (constant time); success marks the code used, a wrong
    /// code counts a failure, an expiry is for good.
    pub fn verify(
        &self,
        account: &str,
        challenge_id: &str,
        pending: &mut PendingOtp,
        code: &str,
        now: impl Into<Now>,
    ) -> Result<(), OtpRefusal> {
        if pending.used {
            return Err(OtpRefusal::Used);
        }
        if pending.failures >= OTP_MAX_FAILURES {
            return Err(OtpRefusal::TooManyFailures);
        }
        if pending.expired {
            return Err(OtpRefusal::Expired);
        }
        match check_window(
            pending.issued_at_ms,
            pending.issued_server_ms,
            OTP_TTL_MS,
            now.into(),
        ) {
            Ok(()) => {}
            Err(TimeRefusal::BeforeIssue) => return Err(OtpRefusal::BeforeIssue),
            Err(TimeRefusal::Expired) => {
                pending.expired = true;
                return Err(OtpRefusal::Expired);
            }
        }
        let stored = hex::decode(&pending.hash).unwrap_or_default();
        let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
        if !well_formed
            || self
                .keyed(account, challenge_id, code)
                .verify_slice(&stored)
                .is_err()
        {
            pending.failures = pending.failures.saturating_add(1);
            return Err(OtpRefusal::WrongCode);
        }
        pending.used = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn a_code_verifies_once_for_its_account_and_challenge_only() {
        let h = OtpHasher::new(&[7; 32]);
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let (code, mut p) = h.issue("alice", "c1", Channel::Sms, 1_000, &mut rng);
        assert_eq!(code.len(), 6);
        assert!(!p.hash.contains(code.as_str()));
        let mut other = p.clone();
        assert_eq!(
            h.verify("bob", "c1", &mut other, &code, 2_000),
            Err(OtpRefusal::WrongCode)
        );
        assert_eq!(
            h.verify("alice", "c2", &mut other, &code, 2_000),
            Err(OtpRefusal::WrongCode)
        );
        let mut late = p.clone();
        assert_eq!(
            h.verify("alice", "c1", &mut late, &code, 1_000 + OTP_TTL_MS),
            Err(OtpRefusal::Expired)
        );
        // expired for good: an older `at` does not revive it
        assert_eq!(
            h.verify("alice", "c1", &mut late, &code, 2_000),
            Err(OtpRefusal::Expired)
        );
        assert_eq!(
            h.verify("alice", "c1", &mut p.clone(), &code, 999),
            Err(OtpRefusal::BeforeIssue)
        );
        // the server clock past the lifetime, `at` young
        assert_eq!(
            h.verify(
                "alice",
                "c1",
                &mut p.clone(),
                &code,
                Now::new(2_000, 1_000 + OTP_TTL_MS)
            ),
            Err(OtpRefusal::Expired)
        );
        assert_eq!(h.verify("alice", "c1", &mut p, &code, 2_000), Ok(()));
        assert_eq!(
            h.verify("alice", "c1", &mut p, &code, 2_000),
            Err(OtpRefusal::Used)
        );
    }

    #[test]
    fn five_failures_kill_a_code() {
        let h = OtpHasher::new(&[7; 32]);
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let (code, mut p) = h.issue("alice", "c1", Channel::Email, 0, &mut rng);
        let wrong = if code.as_str() == "000000" {
            "000001"
        } else {
            "000000"
        };
        for _ in 0..OTP_MAX_FAILURES {
            assert_eq!(
                h.verify("alice", "c1", &mut p, wrong, 1),
                Err(OtpRefusal::WrongCode)
            );
        }
        assert_eq!(
            h.verify("alice", "c1", &mut p, &code, 1),
            Err(OtpRefusal::TooManyFailures)
        );
        assert!(p.is_dead(1));
    }
}
