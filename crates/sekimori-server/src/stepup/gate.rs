//! The bound on `/v1/stepup/verify`: verifications in flight per API key and
//! per (service, account). A verification past either bound is refused at
//! once (`stepup_busy`), before anything is read or ingested: every admitted
//! one costs a record write and an engine decision, so the bound on the
//! requests in flight (each waits for its fsync and the engine) is also a
//! bound on their rate.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Verifications one API key may have in flight.
pub const MAX_VERIFY_PER_KEY: usize = 64;
/// Verifications one (service, account) may have in flight (a person
/// answers one challenge at a time; two allow a double submit).
pub const MAX_VERIFY_PER_ACCOUNT: usize = 2;

type Counts = Arc<Mutex<HashMap<String, usize>>>;

/// Counts the verifications in flight.
#[derive(Debug, Default)]
pub struct VerifyGate {
    counts: Counts,
}

/// One admitted verification; leaving frees its places.
#[derive(Debug)]
pub struct VerifyPermit {
    counts: Counts,
    keys: [String; 2],
}

impl VerifyGate {
    /// Admits a verification by key `key_name` for (service, account), or
    /// `None` when either is at its bound.
    pub fn enter(&self, key_name: &str, service: &str, account: &str) -> Option<VerifyPermit> {
        let keys = [
            format!("key/{key_name}"),
            format!("account/{service}/{account}"),
        ];
        let mut map = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        let full = |k: &str, max: usize| map.get(k).copied().unwrap_or(0) >= max;
        if full(&keys[0], MAX_VERIFY_PER_KEY) || full(&keys[1], MAX_VERIFY_PER_ACCOUNT) {
            return None;
        }
        for k in &keys {
            *map.entry(k.clone()).or_default() += 1;
        }
        Some(VerifyPermit {
            counts: Arc::clone(&self.counts),
            keys,
        })
    }
}

impl Drop for VerifyPermit {
    fn drop(&mut self) {
        let mut map = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        for k in &self.keys {
            if let Some(n) = map.get_mut(k) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    map.remove(k);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_per_account_and_per_key_and_frees_on_drop() {
        let gate = VerifyGate::default();
        let a = gate.enter("k", "bank", "ann").expect("first");
        let _b = gate.enter("k", "bank", "ann").expect("second");
        assert!(gate.enter("k", "bank", "ann").is_none(), "account full");
        assert!(gate.enter("other", "bank", "ann").is_none(), "for any key");
        drop(a);
        let _c = gate.enter("k", "bank", "ann").expect("freed");
        let held: Vec<_> = (0..MAX_VERIFY_PER_KEY - 2)
            .map(|i| gate.enter("k", "bank", &format!("a{i}")).expect("room"))
            .collect();
        assert!(gate.enter("k", "bank", "zed").is_none(), "key full");
        assert!(gate.enter("k2", "bank", "zed").is_some(), "another key");
        drop(held);
        assert!(gate.enter("k", "bank", "zed").is_some());
    }
}
