//! TOTP throttling (NIST SP 800-63B 5.2.2): the back-off after consecutive
//! failures, per client and per account, and the lock after 100.

use serde::{Deserialize, Serialize};

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
