//! Sign-in back-off, in memory (a restart forgets it), keyed so that an
//! attacker's failures never lock the real analyst out from their own
//! address:
//!
//! - per (login, client address): [`PAIR_FREE_FAILURES`] free, then
//!   2^n seconds (at most an hour) before the next attempt is checked;
//! - per client address, any login: [`ADDRESS_FREE_FAILURES`] free, then
//!   the same back-off (one address spraying many logins);
//! - per login, any address: past [`LOGIN_SLOW_AFTER`] failures each
//!   attempt from an address that never signed in as this login waits
//!   [`LOGIN_SLOW_STEP_MS`] per failure beyond (at most
//!   [`LOGIN_SLOW_MAX_MS`]) before its check. A ceiling that slows and
//!   never refuses: a distributed guess costs time, the analyst is never
//!   locked out, and their own known addresses skip the wait.
//!
//! Counters are forgotten [`FORGET_AFTER_MS`] after their last failure; each
//! map holds at most [`MAX_TRACKED`] keys (past it the stalest go). The
//! typed login is a key whether or not such an analyst exists, so a 429
//! tells nothing about which logins exist.
//!
//! The client address is the connection's peer (axum's `ConnectInfo`), an
//! IPv6 address as its /64. When the server does not give it, only the
//! per-login slow-down applies.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

pub const PAIR_FREE_FAILURES: u32 = 5;
pub const ADDRESS_FREE_FAILURES: u32 = 20;
pub const LOGIN_SLOW_AFTER: u32 = 20;
pub const LOGIN_SLOW_STEP_MS: u64 = 100;
pub const LOGIN_SLOW_MAX_MS: u64 = 2_000;
pub const MAX_WAIT_MS: i64 = 3_600_000;
pub const FORGET_AFTER_MS: i64 = 3_600_000;
pub const MAX_TRACKED: usize = 100_000;
/// Addresses remembered per login as having signed in.
pub const KNOWN_ADDRESSES: usize = 8;
/// The longest typed login kept as a key (bytes).
const MAX_KEY: usize = 128;

/// The key of a client address: an IPv4 address, or an IPv6 /64.
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let net = u128::from(v6) & !u128::from(u64::MAX);
                format!("{}/64", std::net::Ipv6Addr::from(net))
            }
        },
    }
}

/// What to do with a sign-in attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Check it, after waiting this long (the per-login slow-down).
    Go { delay_ms: u64 },
    /// Refuse it unchecked (429): this address is backing off.
    Wait,
}

#[derive(Clone, Copy, Debug, Default)]
struct Count {
    failures: u32,
    last_ms: i64,
}

impl Count {
    fn current(&self, now_ms: i64) -> u32 {
        if now_ms - self.last_ms >= FORGET_AFTER_MS {
            0
        } else {
            self.failures
        }
    }

    fn backing_off(&self, free: u32, now_ms: i64) -> bool {
        let n = self.current(now_ms);
        if n < free {
            return false;
        }
        let wait = (1000i64 << (n - free).min(12)).min(MAX_WAIT_MS);
        now_ms < self.last_ms.saturating_add(wait)
    }

    fn fail(&mut self, now_ms: i64) {
        self.failures = self.current(now_ms).saturating_add(1);
        self.last_ms = now_ms;
    }
}

#[derive(Debug, Default)]
struct Inner {
    pair: HashMap<(String, String), Count>,
    addr: HashMap<String, Count>,
    login: HashMap<String, Count>,
    known: HashMap<String, VecDeque<String>>,
}

/// The sign-in back-off of one workbench.
#[derive(Debug, Default)]
pub struct Throttle {
    inner: Mutex<Inner>,
}

fn key(login: &str) -> String {
    let mut end = login.len().min(MAX_KEY);
    while !login.is_char_boundary(end) {
        end -= 1;
    }
    login[..end].to_string()
}

fn bound<K: Clone + Eq + std::hash::Hash>(map: &mut HashMap<K, Count>, now_ms: i64) {
    if map.len() < MAX_TRACKED {
        return;
    }
    map.retain(|_, c| now_ms - c.last_ms < FORGET_AFTER_MS);
    while map.len() >= MAX_TRACKED {
        let stalest = map
            .iter()
            .min_by_key(|(_, c)| c.last_ms)
            .map(|(k, _)| k.clone());
        match stalest {
            Some(k) => map.remove(&k),
            None => break,
        };
    }
}

impl Throttle {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether to check an attempt for `login` from `addr` now.
    pub fn check(&self, login: &str, addr: Option<&str>, now_ms: i64) -> Verdict {
        let login = key(login);
        let g = self.lock();
        if let Some(a) = addr {
            let pair = g.pair.get(&(login.clone(), a.to_string()));
            if pair.is_some_and(|c| c.backing_off(PAIR_FREE_FAILURES, now_ms))
                || g.addr
                    .get(a)
                    .is_some_and(|c| c.backing_off(ADDRESS_FREE_FAILURES, now_ms))
            {
                return Verdict::Wait;
            }
            if g.known
                .get(&login)
                .is_some_and(|k| k.iter().any(|x| x == a))
            {
                return Verdict::Go { delay_ms: 0 };
            }
        }
        let n = g.login.get(&login).map_or(0, |c| c.current(now_ms));
        let over = u64::from(n.saturating_sub(LOGIN_SLOW_AFTER));
        Verdict::Go {
            delay_ms: (over * LOGIN_SLOW_STEP_MS).min(LOGIN_SLOW_MAX_MS),
        }
    }

    /// Counts a failed attempt.
    pub fn failed(&self, login: &str, addr: Option<&str>, now_ms: i64) {
        let login = key(login);
        let mut g = self.lock();
        if let Some(a) = addr {
            bound(&mut g.pair, now_ms);
            bound(&mut g.addr, now_ms);
            g.pair
                .entry((login.clone(), a.to_string()))
                .or_default()
                .fail(now_ms);
            g.addr.entry(a.to_string()).or_default().fail(now_ms);
        }
        bound(&mut g.login, now_ms);
        g.login.entry(login).or_default().fail(now_ms);
    }

    /// A signed-in analyst: their address's pair counter is cleared and
    /// the address is remembered as theirs (it skips the slow-down).
    pub fn succeeded(&self, login: &str, addr: Option<&str>) {
        let Some(a) = addr else { return };
        let login = key(login);
        let mut g = self.lock();
        g.pair.remove(&(login.clone(), a.to_string()));
        if g.known.len() >= MAX_TRACKED && !g.known.contains_key(&login) {
            return;
        }
        let known = g.known.entry(login).or_default();
        if !known.iter().any(|x| x == a) {
            if known.len() >= KNOWN_ADDRESSES {
                known.pop_front();
            }
            known.push_back(a.to_string());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_attackers_failures_do_not_lock_the_analyst_out_of_their_address() {
        let t = Throttle::default();
        let now = 1_000_000;
        let (home, attacker) = (Some("192.0.2.10"), Some("203.0.113.7"));
        for _ in 0..50 {
            assert!(matches!(
                t.check("aiko", attacker, now),
                Verdict::Go { .. } | Verdict::Wait
            ));
            t.failed("aiko", attacker, now);
        }
        assert_eq!(t.check("aiko", attacker, now), Verdict::Wait);
        // From home: checked, only slowed by the login's ceiling.
        match t.check("aiko", home, now) {
            Verdict::Go { delay_ms } => assert!(delay_ms <= LOGIN_SLOW_MAX_MS && delay_ms > 0),
            Verdict::Wait => panic!("the analyst's own address is locked out"),
        }
        // Once signed in from home, home skips the slow-down.
        t.succeeded("aiko", home);
        assert_eq!(t.check("aiko", home, now), Verdict::Go { delay_ms: 0 });
        // The attacker's back-off ends after its wait.
        assert_ne!(t.check("aiko", attacker, now + MAX_WAIT_MS), Verdict::Wait);
    }

    #[test]
    fn one_address_spraying_many_logins_backs_off() {
        let t = Throttle::default();
        let now = 5_000;
        for i in 0..ADDRESS_FREE_FAILURES {
            t.failed(&format!("user{i}"), Some("198.51.100.1"), now);
        }
        assert_eq!(t.check("someone", Some("198.51.100.1"), now), Verdict::Wait);
        assert_ne!(t.check("someone", Some("198.51.100.2"), now), Verdict::Wait);
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().expect("ip");
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().expect("ip");
        assert_eq!(address_key(a), address_key(b));
        let m: IpAddr = "::ffff:192.0.2.1".parse().expect("ip");
        assert_eq!(address_key(m), "192.0.2.1");
    }
}
