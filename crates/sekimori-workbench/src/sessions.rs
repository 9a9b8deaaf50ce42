//! Analyst sessions, in memory: a restart signs everyone out. The token is
//! 32 random bytes (hex, prefixed `ws_`), handed to the browser in a cookie
//! (or to a REST client as a bearer token); only its SHA-256 is kept. A
//! session ends at [`IDLE_MS`] without a request or [`ABSOLUTE_MS`] after
//! sign-in, both in server time, and with "sign out everywhere". Each
//! session has its own CSRF token, checked on every form POST.

use crate::analysts::Role;
use crate::i18n::Locale;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;

/// The session cookie's name over plain HTTP on loopback.
pub const SESSION_COOKIE: &str = "sekimori_session";
/// The session cookie's name when cookies are `Secure`: the `__Host-`
/// prefix makes a browser refuse it unless it is Secure, `Path=/` and
/// without a `Domain`, so a sibling subdomain cannot set or shadow it.
pub const SECURE_SESSION_COOKIE: &str = "__Host-sekimori_session";
/// A session unused this long ends (server time).
pub const IDLE_MS: i64 = 30 * 60_000;
/// A session ends this long after sign-in, used or not.
pub const ABSOLUTE_MS: i64 = 12 * 3_600_000;
/// The most sessions at once; past it the oldest is ended.
pub const MAX_SESSIONS: usize = 10_000;
/// The most sessions one analyst holds; past it their oldest is ended.
pub const MAX_SESSIONS_PER_ANALYST: usize = 16;

/// One signed-in analyst.
#[derive(Clone, Debug)]
pub struct Session {
    pub login: String,
    pub role: Role,
    /// The token every form of this session carries.
    pub csrf: String,
    pub created_ms: i64,
    pub last_ms: i64,
    pub locale: Locale,
    /// An IANA zone name (`Asia/Tokyo`).
    pub tz: String,
}

/// Every live session, by the SHA-256 of its token.
#[derive(Debug, Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Session>>,
}

fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Starts a session; returns its token (shown once, never stored).
    pub fn create(
        &self,
        login: &str,
        role: Role,
        locale: Locale,
        tz: &str,
        now_ms: i64,
    ) -> (String, Session) {
        let token = format!("ws_{}", random_hex(32));
        let session = Session {
            login: login.into(),
            role,
            csrf: random_hex(32),
            created_ms: now_ms,
            last_ms: now_ms,
            locale,
            tz: tz.into(),
        };
        let mut map = self.lock();
        map.retain(|_, s| alive(s, now_ms));
        let mut mine: Vec<(String, i64)> = map
            .iter()
            .filter(|(_, s)| s.login == login)
            .map(|(k, s)| (k.clone(), s.created_ms))
            .collect();
        mine.sort_by_key(|(_, at)| *at);
        while mine.len() >= MAX_SESSIONS_PER_ANALYST {
            map.remove(&mine.remove(0).0);
        }
        if map.len() >= MAX_SESSIONS {
            let oldest = map
                .iter()
                .min_by_key(|(k, s)| (s.created_ms, (*k).clone()))
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                map.remove(&k);
            }
        }
        map.insert(digest(&token), session.clone());
        (token, session)
    }

    /// The live session of `token`, touched (its idle time restarts); an
    /// expired one is removed.
    pub fn get(&self, token: &str, now_ms: i64) -> Option<Session> {
        let key = digest(token);
        let mut map = self.lock();
        let s = map.get_mut(&key)?;
        if !alive(s, now_ms) {
            map.remove(&key);
            return None;
        }
        s.last_ms = now_ms.max(s.last_ms);
        Some(s.clone())
    }

    /// Changes the session's language and time zone.
    pub fn set_prefs(&self, token: &str, locale: Locale, tz: &str) {
        if let Some(s) = self.lock().get_mut(&digest(token)) {
            s.locale = locale;
            s.tz = tz.into();
        }
    }

    /// Ends one session.
    pub fn end(&self, token: &str) {
        self.lock().remove(&digest(token));
    }

    /// Ends every session of `login`; returns how many.
    pub fn end_all(&self, login: &str) -> usize {
        let mut map = self.lock();
        let before = map.len();
        map.retain(|_, s| s.login != login);
        before - map.len()
    }
}

fn alive(s: &Session, now_ms: i64) -> bool {
    now_ms < s.last_ms.saturating_add(IDLE_MS) && now_ms < s.created_ms.saturating_add(ABSOLUTE_MS)
}

/// Whether two tokens are equal, in constant time.
pub fn same_token(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_idle_and_absolute_and_end_everywhere() {
        let s = Sessions::default();
        let t0 = 1_000_000;
        let (tok, _) = s.create("aiko", Role::Analyst, Locale::En, "UTC", t0);
        assert!(tok.starts_with("ws_"));
        assert!(s.get(&tok, t0 + IDLE_MS - 1).is_some());
        // Touched at t0 + IDLE - 1: alive until twice the idle time.
        assert!(s.get(&tok, t0 + 2 * IDLE_MS - 2).is_some());
        assert!(s.get(&tok, t0 + 3 * IDLE_MS).is_none(), "idle expiry");
        assert!(s.get(&tok, t0).is_none(), "removed for good");

        let (tok, _) = s.create("aiko", Role::Analyst, Locale::En, "UTC", t0);
        let mut now = t0;
        while now < t0 + ABSOLUTE_MS - IDLE_MS {
            now += IDLE_MS / 2;
            assert!(s.get(&tok, now).is_some());
        }
        assert!(s.get(&tok, t0 + ABSOLUTE_MS).is_none(), "absolute expiry");

        let (a, _) = s.create("aiko", Role::Analyst, Locale::En, "UTC", t0);
        let (b, _) = s.create("aiko", Role::Analyst, Locale::En, "UTC", t0);
        let (c, _) = s.create("bo", Role::Analyst, Locale::En, "UTC", t0);
        assert_eq!(s.end_all("aiko"), 2);
        assert!(s.get(&a, t0).is_none() && s.get(&b, t0).is_none());
        assert!(s.get(&c, t0).is_some());
    }

    #[test]
    fn one_analyst_holds_a_bounded_number_of_sessions() {
        let s = Sessions::default();
        let first = s.create("aiko", Role::Analyst, Locale::En, "UTC", 1).0;
        for i in 0..MAX_SESSIONS_PER_ANALYST as i64 {
            s.create("aiko", Role::Analyst, Locale::En, "UTC", 2 + i);
        }
        assert!(s.get(&first, 100).is_none(), "the oldest went");
        assert!(same_token("abc", "abc") && !same_token("abc", "abd") && !same_token("a", "ab"));
    }
}
