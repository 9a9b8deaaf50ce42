//! HOTP (RFC 4226) and TOTP (RFC 6238).
//!
//! * [`hotp`] is built on the RustCrypto `hmac` crate directly: HMAC over the 8-byte
//!   big-endian counter, then the RFC 4226 §5.3 dynamic truncation ([`dynamic_truncate`]),
//!   shared with OCRA. A unit test cross-checks it against `totp-rs` configured with a
//!   one-second step (so its "time" is the counter).
//! * [`totp`] delegates to `totp-rs` (`TOTP::new_unchecked`, which accepts the RFC's
//!   32- and 64-byte seeds that `TOTP::new` would refuse as "too short"/"too long").
//!
//! Time is always passed in (seconds or event-time milliseconds); nothing here reads a clock.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha1::Sha1;
use sha2::{Sha256, Sha512};

use crate::error::OtpError;

/// The HMAC hash function of an OTP or OCRA computation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Algorithm {
    /// HMAC-SHA-1 (the RFC 4226 default and what authenticator apps support).
    Sha1,
    /// HMAC-SHA-256.
    Sha256,
    /// HMAC-SHA-512.
    Sha512,
}

impl Algorithm {
    /// The name used in otpauth URIs and OCRA suites: `SHA1`, `SHA256` or `SHA512`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }

    /// Parses `SHA1`, `SHA256` or `SHA512` (exact, upper case).
    pub fn from_name(name: &str) -> Option<Algorithm> {
        match name {
            "SHA1" => Some(Algorithm::Sha1),
            "SHA256" => Some(Algorithm::Sha256),
            "SHA512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }

    /// Output length of the hash in bytes (20, 32 or 64).
    pub fn output_len(self) -> usize {
        match self {
            Algorithm::Sha1 => 20,
            Algorithm::Sha256 => 32,
            Algorithm::Sha512 => 64,
        }
    }

    /// Plain (unkeyed) hash of `data`, as used for the OCRA PIN hash.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest;
        match self {
            Algorithm::Sha1 => Sha1::digest(data).to_vec(),
            Algorithm::Sha256 => Sha256::digest(data).to_vec(),
            Algorithm::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    /// HMAC of the concatenation of `parts` under `key`.
    pub fn hmac(self, key: &[u8], parts: &[&[u8]]) -> Result<Vec<u8>, OtpError> {
        fn run<M: Mac + hmac::digest::KeyInit>(
            key: &[u8],
            parts: &[&[u8]],
        ) -> Result<Vec<u8>, OtpError> {
            let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key)
                .map_err(|_| OtpError::InvalidKey)?;
            for part in parts {
                mac.update(part);
            }
            Ok(mac.finalize().into_bytes().to_vec())
        }
        match self {
            Algorithm::Sha1 => run::<Hmac<Sha1>>(key, parts),
            Algorithm::Sha256 => run::<Hmac<Sha256>>(key, parts),
            Algorithm::Sha512 => run::<Hmac<Sha512>>(key, parts),
        }
    }

    pub(crate) fn to_totp_rs(self) -> totp_rs::Algorithm {
        match self {
            Algorithm::Sha1 => totp_rs::Algorithm::SHA1,
            Algorithm::Sha256 => totp_rs::Algorithm::SHA256,
            Algorithm::Sha512 => totp_rs::Algorithm::SHA512,
        }
    }
}

/// RFC 4226 §5.3 dynamic truncation: the low 4 bits of the last byte pick an offset,
/// the 4 bytes there (big-endian) with the top bit cleared are the 31-bit result.
pub fn dynamic_truncate(mac: &[u8]) -> Result<u32, OtpError> {
    let last = mac.last().ok_or(OtpError::InvalidKey)?;
    let offset = usize::from(last & 0x0f);
    let window: [u8; 4] = mac
        .get(offset..offset + 4)
        .and_then(|s| s.try_into().ok())
        .ok_or(OtpError::InvalidKey)?;
    Ok(u32::from_be_bytes(window) & 0x7fff_ffff)
}

/// Formats the truncated value as exactly `digits` decimal digits (zero-padded),
/// i.e. `value mod 10^digits`. Accepts 1..=10 digits (OCRA allows up to 10).
pub(crate) fn format_digits(value: u32, digits: u8) -> String {
    let modulus = 10u64.pow(u32::from(digits));
    let width = usize::from(digits);
    format!("{:0width$}", u64::from(value) % modulus)
}

fn check_otp_digits(digits: u8) -> Result<(), OtpError> {
    if (6..=8).contains(&digits) {
        Ok(())
    } else {
        Err(OtpError::InvalidDigits(digits))
    }
}

/// HOTP (RFC 4226): `Truncate(HMAC-alg(key, counter as 8-byte big-endian)) mod 10^digits`.
///
/// `digits` must be 6..=8.
pub fn hotp(
    algorithm: Algorithm,
    key: &[u8],
    counter: u64,
    digits: u8,
) -> Result<String, OtpError> {
    check_otp_digits(digits)?;
    let mac = algorithm.hmac(key, &[&counter.to_be_bytes()])?;
    Ok(format_digits(dynamic_truncate(&mac)?, digits))
}

/// TOTP (RFC 6238) at `unix_seconds` with a time step of `step_seconds` and `T0 = 0`,
/// computed by `totp-rs`. `digits` must be 6..=8 and `step_seconds` > 0.
pub fn totp(
    algorithm: Algorithm,
    key: &[u8],
    unix_seconds: u64,
    step_seconds: u64,
    digits: u8,
) -> Result<String, OtpError> {
    check_otp_digits(digits)?;
    if step_seconds == 0 {
        return Err(OtpError::InvalidStep);
    }
    let engine = totp_engine(algorithm, key, step_seconds, digits);
    Ok(engine.generate(unix_seconds))
}

/// The TOTP code for time-step number `step` (i.e. `T = step`, time `step * step_seconds`).
pub(crate) fn totp_at_step(
    algorithm: Algorithm,
    key: &[u8],
    step: u64,
    step_seconds: u64,
    digits: u8,
) -> Result<String, OtpError> {
    let time = step
        .checked_mul(step_seconds)
        .ok_or(OtpError::TimeOutOfRange)?;
    totp(algorithm, key, time, step_seconds, digits)
}

fn totp_engine(algorithm: Algorithm, key: &[u8], step_seconds: u64, digits: u8) -> totp_rs::TOTP {
    // skew is unused: verification windows are handled by the caller (see `totp_verifier`).
    totp_rs::TOTP::new_unchecked(
        algorithm.to_totp_rs(),
        usize::from(digits),
        0,
        step_seconds,
        key.to_vec(),
    )
}

/// Converts event-time milliseconds into whole Unix seconds; negative times are refused.
pub fn unix_seconds(now_ms: i64) -> Result<u64, OtpError> {
    u64::try_from(now_ms.div_euclid(1000)).map_err(|_| OtpError::TimeOutOfRange)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hotp_matches_totp_rs_with_unit_step() {
        let key = b"12345678901234567890";
        for alg in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
            for counter in [0u64, 1, 7, 1 << 33, u64::MAX / 3] {
                for digits in 6..=8 {
                    let ours = hotp(alg, key, counter, digits).expect("hotp");
                    let theirs = totp_engine(alg, key, 1, digits).generate(counter);
                    assert_eq!(ours, theirs, "{alg:?} counter {counter} digits {digits}");
                }
            }
        }
    }

    #[test]
    fn digits_out_of_range_are_refused() {
        assert_eq!(
            hotp(Algorithm::Sha1, b"k", 0, 5),
            Err(OtpError::InvalidDigits(5))
        );
        assert_eq!(
            hotp(Algorithm::Sha1, b"k", 0, 9),
            Err(OtpError::InvalidDigits(9))
        );
        assert_eq!(
            totp(Algorithm::Sha1, b"k", 0, 0, 6),
            Err(OtpError::InvalidStep)
        );
    }

    #[test]
    fn negative_time_is_refused() {
        assert_eq!(unix_seconds(-1), Err(OtpError::TimeOutOfRange));
        assert_eq!(unix_seconds(1999), Ok(1));
    }

    #[test]
    fn algorithm_names_round_trip() {
        for alg in [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512] {
            assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
            assert_eq!(alg.digest(b"").len(), alg.output_len());
        }
        assert_eq!(Algorithm::from_name("sha1"), None);
    }
}
