//! SMS and e-mail one-time codes: six random digits, stored only as an
//! HMAC-SHA-256 under a key derived from the master key, single use, 5
//! minutes, 5 failures; delivered by a POST to the operator's webhook.

use hmac::{Hmac, Mac};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::time::Duration;
use zeroize::Zeroizing;

/// How long a sent code stays valid (event time).
pub const OTP_TTL_MS: i64 = 5 * 60 * 1000;
/// Failures after which a sent code is dead.
pub const OTP_MAX_FAILURES: u8 = 5;
/// Codes an account may have open at once.
pub const MAX_OPEN_OTPS: usize = 5;
/// How long the webhook may take.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

const KEY_DOMAIN: &[u8] = b"sekimori-otp-key-v1";
const HASH_DOMAIN: &[u8] = b"sekimori-otp-v1";

/// The channel a code goes out on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Sms,
    Email,
}

impl Channel {
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
    pub channel: Channel,
    /// Hex HMAC-SHA-256 of (account, challenge id, code).
    pub hash: String,
    pub issued_at_ms: i64,
    pub expires_at_ms: i64,
    pub failures: u8,
    pub used: bool,
}

impl PendingOtp {
    pub fn is_dead(&self, now_ms: i64) -> bool {
        self.used || self.failures >= OTP_MAX_FAILURES || now_ms >= self.expires_at_ms
    }
}

/// Why a code was refused (the `reason_code` strings).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OtpRefusal {
    Used,
    TooManyFailures,
    Expired,
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

    /// A fresh six-digit code and its stored form.
    pub fn issue(
        &self,
        account: &str,
        challenge_id: &str,
        channel: Channel,
        now_ms: i64,
    ) -> (Zeroizing<String>, PendingOtp) {
        let code = Zeroizing::new(format!("{:06}", rand::rng().random_range(0..1_000_000u32)));
        let hash = hex::encode(
            self.keyed(account, challenge_id, &code)
                .finalize()
                .into_bytes(),
        );
        let pending = PendingOtp {
            channel,
            hash,
            issued_at_ms: now_ms,
            expires_at_ms: now_ms.saturating_add(OTP_TTL_MS),
            failures: 0,
            used: false,
        };
        (code, pending)
    }

    /// Checks `code` (constant time); success marks the code used, a wrong
    /// code counts a failure.
    pub fn verify(
        &self,
        account: &str,
        challenge_id: &str,
        pending: &mut PendingOtp,
        code: &str,
        now_ms: i64,
    ) -> Result<(), OtpRefusal> {
        if pending.used {
            return Err(OtpRefusal::Used);
        }
        if pending.failures >= OTP_MAX_FAILURES {
            return Err(OtpRefusal::TooManyFailures);
        }
        if now_ms >= pending.expires_at_ms {
            return Err(OtpRefusal::Expired);
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

/// Posts one code to the webhook (blocking: run it in `spawn_blocking`).
/// Errors name neither the code nor the URL.
pub fn deliver(url: &str, body: &serde_json::Value) -> Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(WEBHOOK_TIMEOUT))
        .http_status_as_error(true)
        .build()
        .into();
    match agent.post(url).send_json(body) {
        Ok(_) => Ok(()),
        Err(ureq::Error::StatusCode(status)) => Err(format!("the webhook answered {status}")),
        Err(e) => Err(format!(
            "the webhook could not be reached: {}",
            error_kind(&e)
        )),
    }
}

fn error_kind(e: &ureq::Error) -> &'static str {
    match e {
        ureq::Error::Timeout(_) => "timeout",
        ureq::Error::Io(_) => "connection failed",
        ureq::Error::HostNotFound => "host not found",
        ureq::Error::ConnectionFailed => "connection failed",
        _ => "request failed",
    }
}

/// Checks a `--otp-webhook` URL at start: plain `http://` (this build has no
/// TLS client; point it at a local relay that holds the provider's
/// credentials).
pub fn check_webhook_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("--otp-webhook must be an http:// URL (a local relay to the SMS / e-mail provider; this build has no TLS client)")?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err("--otp-webhook has no host".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_verifies_once_for_its_account_and_challenge_only() {
        let h = OtpHasher::new(&[7; 32]);
        let (code, mut p) = h.issue("alice", "c1", Channel::Sms, 1_000);
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
        assert_eq!(h.verify("alice", "c1", &mut p, &code, 2_000), Ok(()));
        assert_eq!(
            h.verify("alice", "c1", &mut p, &code, 2_000),
            Err(OtpRefusal::Used)
        );
    }

    #[test]
    fn five_failures_kill_a_code() {
        let h = OtpHasher::new(&[7; 32]);
        let (code, mut p) = h.issue("alice", "c1", Channel::Email, 0);
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

    #[test]
    fn webhook_urls_are_plain_http() {
        assert!(check_webhook_url("http://127.0.0.1:9000/otp").is_ok());
        assert!(check_webhook_url("https://sms.example/otp").is_err());
        assert!(check_webhook_url("http://").is_err());
    }
}
