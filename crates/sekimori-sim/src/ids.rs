//! Identifiers and client fingerprints. Honest people and attackers draw from
//! the same generators, so no id, device or user agent gives an attacker away.

use crate::rng::Rng;

const USER_AGENTS: &[&str] = &[
    "Wallet/5.2 (iPhone; iOS 18.1)",
    "Wallet/5.2 (iPhone; iOS 17.6)",
    "Wallet/5.1 (Android 15; Pixel 8)",
    "Wallet/5.1 (Android 14; SH-54D)",
    "Wallet/5.0 (Android 13; SO-51C)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) Mobile Safari/604.1",
];

/// Hands out event ids in sending order, and fresh device ids.
#[derive(Debug, Default)]
pub struct Ids {
    events: u64,
}

impl Ids {
    pub fn event(&mut self) -> String {
        self.events += 1;
        format!("ev-{:09}", self.events)
    }
}

/// A new service account id: a prefix and 8 opaque hex digits, the same for
/// everyone who signs up, honest or not.
pub fn account(rng: &mut Rng, prefix: &str) -> String {
    format!("{prefix}-{:08x}", rng.u64() >> 32)
}

/// A bitcoin address: 128 random bits behind the `bc1q` prefix.
pub fn btc_address(rng: &mut Rng) -> String {
    format!("bc1q{:016x}{:016x}", rng.u64(), rng.u64())
}

/// A new device: an opaque id and a user agent, as any client gets.
pub fn device(rng: &mut Rng) -> (String, String) {
    (
        format!("dev-{:012x}", rng.u64() >> 16),
        rng.pick(USER_AGENTS).to_string(),
    )
}
