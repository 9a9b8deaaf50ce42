//! Passkey ceremonies in progress, in memory (a restart forgets them; the
//! browser starts again). Each is kept under a random handle (32 bytes,
//! hex) given to the client, bound to what the client holds (the session
//! token, or the sign-in page's pre-session cookie; only its SHA-256 is
//! kept), expires [`CEREMONY_MS`] after its start in server time, and is
//! taken once: [`Ceremonies::take`] removes it whatever happens next, so an
//! assertion or attestation is never accepted twice.
//!
//! Starting a sign-in needs no session, so the map is bounded per client
//! address as well as in all: one address keeps at most
//! [`MAX_PER_CLIENT`] ceremonies (its oldest goes), and when the map is
//! full the oldest ceremony of the address holding the most goes. A flood
//! from a few addresses therefore evicts only its own ceremonies, never
//! the one an analyst is finishing.

use rand::RngCore;
use sekimori_webauthn::{RegState, SignInState};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;

/// How long a ceremony may take (server time); browsers give up after the
/// options' own timeout, which is shorter.
pub const CEREMONY_MS: i64 = 5 * 60_000;
/// The most ceremonies at once.
pub const MAX_CEREMONIES: usize = 10_000;
/// The most ceremonies of one client address.
pub const MAX_PER_CLIENT: usize = 16;

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
    /// The client address it was started from (`None`: unknown).
    client: Option<String>,
}

/// Every ceremony in progress, by handle, and how many each client holds.
#[derive(Debug, Default)]
struct Map {
    slots: HashMap<String, Slot>,
    per_client: HashMap<String, usize>,
}

impl Map {
    fn remove(&mut self, handle: &str) -> Option<Slot> {
        let slot = self.slots.remove(handle)?;
        if let Some(c) = &slot.client {
            if let Some(n) = self.per_client.get_mut(c) {
                *n -= 1;
                if *n == 0 {
                    self.per_client.remove(c);
                }
            }
        }
        Some(slot)
    }

    /// The oldest ceremony of `client` (any client: `None`).
    fn oldest_of(&self, client: Option<&str>) -> Option<String> {
        self.slots
            .iter()
            .filter(|(_, s)| client.is_none() || s.client.as_deref() == client)
            .min_by(|a, b| (a.1.started_ms, a.0).cmp(&(b.1.started_ms, b.0)))
            .map(|(k, _)| k.clone())
    }

    /// Makes room for one ceremony of `client`.
    fn make_room(&mut self, client: Option<&str>, now_ms: i64) {
        if let Some(c) = client {
            while self.per_client.get(c).copied().unwrap_or(0) >= MAX_PER_CLIENT {
                match self.oldest_of(Some(c)) {
                    Some(k) => drop(self.remove(&k)),
                    None => break,
                }
            }
        }
        if self.slots.len() < MAX_CEREMONIES {
            return;
        }
        let expired: Vec<String> = self
            .slots
            .iter()
            .filter(|(_, s)| !live(s, now_ms))
            .map(|(k, _)| k.clone())
            .collect();
        for k in expired {
            self.remove(&k);
        }
        while self.slots.len() >= MAX_CEREMONIES {
            // The client holding the most (ties: the smallest address), or
            // any when no client holds more than one.
            let top = self
                .per_client
                .iter()
                .filter(|(_, n)| **n > 1)
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|(c, _)| c.clone());
            match self.oldest_of(top.as_deref()) {
                Some(k) => drop(self.remove(&k)),
                None => break,
            }
        }
    }
}

/// Every ceremony in progress, by handle.
#[derive(Debug, Default)]
pub struct Ceremonies {
    map: Mutex<Map>,
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

fn live(slot: &Slot, now_ms: i64) -> bool {
    now_ms >= slot.started_ms && now_ms < slot.started_ms.saturating_add(CEREMONY_MS)
}

impl Ceremonies {
    fn lock(&self) -> std::sync::MutexGuard<'_, Map> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps `pending`, bound to `binding`; returns its handle. Counted
    /// against the request's client address ([`crate::web::client`]).
    pub fn put(&self, binding: &str, pending: Pending, now_ms: i64) -> String {
        self.put_from(crate::web::client(), Some(binding), pending, now_ms)
    }

    /// Keeps `pending` bound to its own handle (an API client holds
    /// nothing else: the random handle is its proof); take it with the
    /// handle as the binding.
    pub fn put_self_bound(&self, pending: Pending, now_ms: i64) -> String {
        self.put_from(crate::web::client(), None, pending, now_ms)
    }

    /// Keeps `pending` for `client`, bound to `binding` (its own handle:
    /// `None`); returns its handle.
    pub fn put_from(
        &self,
        client: Option<String>,
        binding: Option<&str>,
        pending: Pending,
        now_ms: i64,
    ) -> String {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        let handle = hex::encode(bytes);
        let binding = binding.unwrap_or(&handle);
        let mut map = self.lock();
        map.make_room(client.as_deref(), now_ms);
        if let Some(c) = &client {
            *map.per_client.entry(c.clone()).or_default() += 1;
        }
        map.slots.insert(
            handle.clone(),
            Slot {
                bound: digest(binding),
                started_ms: now_ms,
                pending,
                client,
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
        self.lock().slots.len()
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

    #[test]
    fn a_flood_from_a_few_addresses_evicts_only_its_own_ceremonies() {
        let c = Ceremonies::default();
        let analyst = c.put_from(
            Some("198.51.100.7".into()),
            Some("cookie-a"),
            sign_in(),
            1_000,
        );
        // One address: never more than MAX_PER_CLIENT.
        for _ in 0..100 {
            c.put_from(Some("203.0.113.1".into()), None, sign_in(), 2_000);
        }
        assert_eq!(c.len(), 1 + MAX_PER_CLIENT);
        // Many addresses fill the map: the analyst's older ceremony stays.
        let mut i = 0u32;
        while c.len() < MAX_CEREMONIES {
            let addr = format!("10.{}.{}.0", i / 256, i % 256);
            c.put_from(Some(addr.clone()), None, sign_in(), 3_000);
            c.put_from(Some(addr), None, sign_in(), 3_000);
            i += 1;
        }
        for _ in 0..1_000 {
            c.put_from(Some("203.0.113.2".into()), None, sign_in(), 4_000);
        }
        assert!(c.len() <= MAX_CEREMONIES);
        assert!(c.take(&analyst, "cookie-a", 5_000).is_some());
    }
}
