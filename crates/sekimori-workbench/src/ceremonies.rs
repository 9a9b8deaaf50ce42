//! Passkey ceremonies in progress, in memory (a restart forgets them; the
//! browser starts again). Each is kept under a random handle (32 bytes,
//! hex) given to the client, bound to what the client holds (the session
//! token, or the sign-in page's pre-session cookie; only its SHA-256 is
//! kept), expires [`CEREMONY_MS`] after its start in server time, and is
//! taken once: [`Ceremonies::take`] removes it whatever happens next, so an
//! assertion or attestation is never accepted twice.

use rand::RngCore;
use sekimori_webauthn::{RegState, SignInState};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;

/// How long a ceremony may take (server time); browsers give up after the
/// options' own timeout, which is shorter.
pub const CEREMONY_MS: i64 = 5 * 60_000;
/// The most ceremonies at once; past it the oldest is dropped.
pub const MAX_CEREMONIES: usize = 10_000;

/// What a ceremony will finish.
#[derive(Debug)]
pub enum Pending {
    /// A passkey being registered for `login`, to be called `name`.
    Register {
        login: String,
        name: String,
        state: RegState,
    },
    /// A passkey sign-in; `hint` is the login typed, if any.
    SignIn {
        hint: Option<String>,
        state: SignInState,
    },
}

#[derive(Debug)]
struct Slot {
    bound: [u8; 32],
    started_ms: i64,
    pending: Pending,
}

/// Every ceremony in progress, by handle.
#[derive(Debug, Default)]
pub struct Ceremonies {
    map: Mutex<HashMap<String, Slot>>,
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

fn live(slot: &Slot, now_ms: i64) -> bool {
    now_ms >= slot.started_ms && now_ms < slot.started_ms.saturating_add(CEREMONY_MS)
}

impl Ceremonies {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Slot>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps `pending`, bound to `binding`; returns its handle.
    pub fn put(&self, binding: &str, pending: Pending, now_ms: i64) -> String {
        self.put_bound(Some(binding), pending, now_ms)
    }

    /// Keeps `pending` bound to its own handle (an API client holds
    /// nothing else: the random handle is its proof); take it with the
    /// handle as the binding.
    pub fn put_self_bound(&self, pending: Pending, now_ms: i64) -> String {
        self.put_bound(None, pending, now_ms)
    }

    fn put_bound(&self, binding: Option<&str>, pending: Pending, now_ms: i64) -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let handle = hex::encode(bytes);
        let binding = binding.unwrap_or(&handle);
        let mut map = self.lock();
        map.retain(|_, s| live(s, now_ms));
        while map.len() >= MAX_CEREMONIES {
            let oldest = map
                .iter()
                .min_by_key(|(k, s)| (s.started_ms, (*k).clone()))
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => map.remove(&k),
                None => break,
            };
        }
        map.insert(
            handle.clone(),
            Slot {
                bound: digest(binding),
                started_ms: now_ms,
                pending,
            },
        );
        handle
    }

    /// Takes the ceremony `handle` for good: `None` when there is none,
    /// it expired, or it is bound to something else than `binding` (it is
    /// removed all the same).
    pub fn take(&self, handle: &str, binding: &str, now_ms: i64) -> Option<Pending> {
        use subtle::ConstantTimeEq;
        let slot = self.lock().remove(handle)?;
        let bound: bool = slot.bound.ct_eq(&digest(binding)).into();
        (bound && live(&slot, now_ms)).then_some(slot.pending)
    }

    /// Ceremonies kept now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sekimori_webauthn::Passkeys;

    fn sign_in() -> Pending {
        let rp = Passkeys::new("localhost", "http://localhost:7878", "t").expect("rp");
        let (_, state) = rp.start_sign_in(&[]).expect("start");
        Pending::SignIn { hint: None, state }
    }

    #[test]
    fn a_ceremony_is_taken_once_by_its_binding_before_it_expires() {
        let c = Ceremonies::default();
        let h = c.put("cookie-a", sign_in(), 1_000);
        assert!(c.take(&h, "cookie-b", 1_000).is_none(), "another binding");
        assert!(
            c.take(&h, "cookie-a", 1_000).is_none(),
            "removed by the wrong try"
        );
        let h = c.put("cookie-a", sign_in(), 1_000);
        assert!(c.take(&h, "cookie-a", 1_000).is_some());
        assert!(c.take(&h, "cookie-a", 1_000).is_none(), "single use");
        let h = c.put("cookie-a", sign_in(), 1_000);
        assert!(
            c.take(&h, "cookie-a", 1_000 + CEREMONY_MS).is_none(),
            "expired"
        );
        let h = c.put("cookie-a", sign_in(), 1_000);
        assert!(c.take(&h, "cookie-a", 999).is_none(), "clock went back");
        assert!(c.is_empty());
    }
}
