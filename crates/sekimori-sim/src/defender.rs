//! Who answers the events: sekimori itself (the same `Engine` the server
//! runs, fed events decoded by the same `decode_value`), or a baseline that
//! stands for what a service would have had instead.

use sekimori_engine::Engine;
use sekimori_event::{Body, Event, MfaMethod, Outcome};
use sekimori_rules::{Action, Pack};
use std::collections::HashMap;
use std::sync::Arc;

/// The part of a decision the simulated services act on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub action: Action,
    pub methods: Vec<MfaMethod>,
}

impl Verdict {
    pub fn allow() -> Verdict {
        Verdict {
            action: Action::Allow,
            methods: Vec::new(),
        }
    }

    fn deny() -> Verdict {
        Verdict {
            action: Action::Deny,
            methods: Vec::new(),
        }
    }
}

pub trait Defender {
    fn decide(&mut self, event: &Event) -> Verdict;

    /// The enforced rules behind the last decision when it was not an
    /// allow (names, pack order), for the scorecard's friction by rule. A
    /// defender that cannot tell (a baseline, a server over HTTP) says none.
    fn rules(&self) -> Vec<String> {
        Vec::new()
    }

    /// A label the service or an analyst learnt about one of its events, as
    /// a real service posts it (`POST /v1/labels`, or the ledger's append
    /// behind it). The in-process engine keeps nothing from labels.
    fn label(&mut self, _label: &crate::labels::Label) {}

    /// What became of the last decision in the measured period: whose event
    /// it was (ground truth, which never enters an event) and the verdict
    /// the service acted on. For diagnostic defenders (`examples/friction`);
    /// the defenders here keep nothing.
    fn observed(
        &mut self,
        _origin: crate::sim::Origin,
        _event: &serde_json::Value,
        _verdict: &Verdict,
    ) {
    }
}

/// Which defender a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Baseline {
    /// The services' own controls at the time of the incidents, nothing more.
    None,
    /// An account lockout (Active Directory, CIS benchmark policy): per account only.
    PerAccountLockout,
    /// fail2ban's sshd jail defaults: failed logins per address, a timed ban.
    PerIpBucket,
    /// sekimori with a rule pack.
    Sekimori,
}

impl Baseline {
    pub const ALL: [Baseline; 4] = [
        Baseline::None,
        Baseline::PerAccountLockout,
        Baseline::PerIpBucket,
        Baseline::Sekimori,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Baseline::None => "none",
            Baseline::PerAccountLockout => "per-account-lockout",
            Baseline::PerIpBucket => "per-ip-bucket",
            Baseline::Sekimori => "sekimori",
        }
    }

    pub fn defender(self, pack: &Arc<Pack>) -> Box<dyn Defender> {
        match self {
            Baseline::None => Box::new(AllowAll),
            Baseline::PerAccountLockout => Box::new(Lockout::default()),
            Baseline::PerIpBucket => Box::new(IpBucket::default()),
            Baseline::Sekimori => Box::new(Sekimori(Engine::new(Arc::clone(pack)), Vec::new())),
        }
    }
}

struct AllowAll;

impl Defender for AllowAll {
    fn decide(&mut self, _: &Event) -> Verdict {
        Verdict::allow()
    }
}

/// The engine, and the enforced rules behind its last decision.
struct Sekimori(Engine, Vec<String>);

impl Defender for Sekimori {
    fn decide(&mut self, event: &Event) -> Verdict {
        let d = self.0.decide(event);
        self.1.clear();
        if d.action != Action::Allow {
            self.1.extend(
                d.reasons
                    .iter()
                    .filter(|r| !r.shadow && r.action.verdict().is_some_and(|a| a != Action::Allow))
                    .map(|r| r.rule.clone()),
            );
        }
        Verdict {
            action: d.action,
            methods: d.methods,
        }
    }

    fn rules(&self) -> Vec<String> {
        self.1.clone()
    }
}

/// An account lockout as Active Directory enforces it with the CIS
/// benchmark's policy (Account lockout threshold 5 invalid logon attempts,
/// Account lockout duration 15 minutes, Reset account lockout counter after
/// 15 minutes): the fifth failure within 15 minutes of the one before locks
/// the account for 15 minutes, during which every login to it is refused,
/// the right password too; a success resets the count.
#[derive(Default)]
struct Lockout {
    accounts: HashMap<String, LockState>,
}

#[derive(Default)]
struct LockState {
    failures: u32,
    last_failure_ms: i64,
    locked_until_ms: i64,
}

pub const LOCKOUT_THRESHOLD: u32 = 5;
pub const LOCKOUT_MS: i64 = 15 * 60_000;
pub const LOCKOUT_RESET_MS: i64 = 15 * 60_000;

impl Defender for Lockout {
    fn decide(&mut self, event: &Event) -> Verdict {
        let Body::LoginAttempt(login) = &event.body else {
            return Verdict::allow();
        };
        let s = self.accounts.entry(login.account.clone()).or_default();
        if event.at_ms < s.locked_until_ms {
            return Verdict::deny();
        }
        if login.result == Outcome::Success {
            s.failures = 0;
            return Verdict::allow();
        }
        if event.at_ms - s.last_failure_ms >= LOCKOUT_RESET_MS {
            s.failures = 0;
        }
        s.failures += 1;
        s.last_failure_ms = event.at_ms;
        if s.failures >= LOCKOUT_THRESHOLD {
            s.locked_until_ms = event.at_ms + LOCKOUT_MS;
            s.failures = 0;
        }
        Verdict::allow()
    }
}

/// fail2ban's `sshd` jail with its defaults (`maxretry = 5`, `findtime =
/// 10m`, `bantime = 10m`), watching the services' failed logins: the fifth
/// failure from one address within 10 minutes bans the address for 10
/// minutes, and a banned address gets nothing through (a firewall drop: every
/// event from it is refused, whoever is behind it).
#[derive(Default)]
struct IpBucket {
    ips: HashMap<std::net::IpAddr, BanState>,
}

#[derive(Default)]
struct BanState {
    failures: std::collections::VecDeque<i64>,
    banned_until_ms: i64,
}

pub const BAN_MAXRETRY: usize = 5;
pub const BAN_FINDTIME_MS: i64 = 10 * 60_000;
pub const BAN_MS: i64 = 10 * 60_000;

impl Defender for IpBucket {
    fn decide(&mut self, event: &Event) -> Verdict {
        let Some(ip) = event.actor.ip else {
            return Verdict::allow();
        };
        let s = self.ips.entry(ip).or_default();
        if event.at_ms < s.banned_until_ms {
            return Verdict::deny();
        }
        let failed = matches!(&event.body, Body::LoginAttempt(l) if l.result == Outcome::Failure);
        if failed {
            while s
                .failures
                .front()
                .is_some_and(|&t| event.at_ms - t >= BAN_FINDTIME_MS)
            {
                s.failures.pop_front();
            }
            s.failures.push_back(event.at_ms);
            if s.failures.len() >= BAN_MAXRETRY {
                s.banned_until_ms = event.at_ms + BAN_MS;
                s.failures.clear();
            }
        }
        Verdict::allow()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn login(at_s: i64, account: &str, ip: &str, ok: bool) -> Event {
        let mut e = json!({"id": format!("e{at_s}{account}{ip}"), "type": "login.attempt",
            "at": sekimori_event::format_rfc3339_ms(1_782_259_200_000 + at_s * 1000),
            "service": "s", "account": account, "actor": {"ip": ip}, "factor": "password",
            "secret_fp": format!("k1:{}", "0".repeat(64)), "result": if ok { "success" } else { "failure" }});
        if !ok {
            e["failure_reason"] = json!("bad_secret");
        }
        sekimori_event::decode_value(e).expect("valid")
    }

    #[test]
    fn the_lockout_locks_at_the_fifth_failure_for_fifteen_minutes() {
        let mut d = Lockout::default();
        for i in 0..4 {
            assert_eq!(
                d.decide(&login(i * 60, "a", "10.0.0.1", false)),
                Verdict::allow()
            );
        }
        assert_eq!(
            d.decide(&login(300, "a", "10.0.0.2", false)),
            Verdict::allow()
        );
        // Locked: the holder's right password is refused too, until 15 min.
        assert_eq!(
            d.decide(&login(400, "a", "10.0.0.3", true)),
            Verdict::deny()
        );
        assert_eq!(
            d.decide(&login(300 + 899, "a", "10.0.0.3", true)),
            Verdict::deny()
        );
        assert_eq!(
            d.decide(&login(300 + 900, "a", "10.0.0.3", true)),
            Verdict::allow()
        );
        // Failures 15 minutes apart never add up.
        for i in 0..10 {
            let at = 2_000 + i * 900;
            assert_eq!(
                d.decide(&login(at, "b", "10.0.0.1", false)),
                Verdict::allow()
            );
        }
    }

    #[test]
    fn fail2ban_bans_an_address_at_five_failures_in_ten_minutes() {
        let mut d = IpBucket::default();
        for i in 0..4 {
            let account = format!("u{i}");
            assert_eq!(
                d.decide(&login(i * 100, &account, "10.0.0.9", false)),
                Verdict::allow()
            );
        }
        assert_eq!(
            d.decide(&login(500, "u5", "10.0.0.9", false)),
            Verdict::allow()
        );
        // Banned: everyone behind the address, for 10 minutes.
        assert_eq!(
            d.decide(&login(501, "honest", "10.0.0.9", true)),
            Verdict::deny()
        );
        assert_eq!(
            d.decide(&login(1_099, "honest", "10.0.0.9", true)),
            Verdict::deny()
        );
        assert_eq!(
            d.decide(&login(1_100, "honest", "10.0.0.9", true)),
            Verdict::allow()
        );
        assert_eq!(
            d.decide(&login(1_100, "x", "10.0.0.8", true)),
            Verdict::allow()
        );
        // Four failures every ten minutes stay under it.
        for i in 0..20 {
            let at = 5_000 + i * 150;
            assert_eq!(
                d.decide(&login(at, "v", "10.0.0.7", false)),
                Verdict::allow()
            );
        }
    }
}
