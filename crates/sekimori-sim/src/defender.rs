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
}

/// Which defender a run uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Baseline {
    /// The services' own controls at the time of the incidents, nothing more.
    None,
    /// Keycloak's default brute-force detection: per account only.
    PerAccountLockout,
    /// A CrowdSec-style leaky bucket of failed logins per IP.
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
            Baseline::Sekimori => Box::new(Sekimori(Engine::new(Arc::clone(pack)))),
        }
    }
}

struct AllowAll;

impl Defender for AllowAll {
    fn decide(&mut self, _: &Event) -> Verdict {
        Verdict::allow()
    }
}

struct Sekimori(Engine);

impl Defender for Sekimori {
    fn decide(&mut self, event: &Event) -> Verdict {
        let d = self.0.decide(event);
        Verdict {
            action: d.action,
            methods: d.methods,
        }
    }
}

/// Keycloak defaults: 30 failures lock the account for 15 minutes; the count
/// resets after 12 hours without failure.
#[derive(Default)]
struct Lockout {
    accounts: HashMap<String, (u32, i64, i64)>, // failures, last failure, locked until
}

const LOCKOUT_FAILURES: u32 = 30;
const LOCKOUT_MS: i64 = 15 * 60_000;
const LOCKOUT_RESET_MS: i64 = 12 * 3_600_000;

impl Defender for Lockout {
    fn decide(&mut self, event: &Event) -> Verdict {
        let Body::LoginAttempt(login) = &event.body else {
            return Verdict::allow();
        };
        let entry = self
            .accounts
            .entry(login.account.clone())
            .or_insert((0, 0, 0));
        if event.at_ms < entry.2 {
            return Verdict::deny();
        }
        if login.result == Outcome::Success {
            *entry = (0, 0, 0);
            return Verdict::allow();
        }
        if event.at_ms - entry.1 > LOCKOUT_RESET_MS {
            entry.0 = 0;
        }
        entry.0 += 1;
        entry.1 = event.at_ms;
        if entry.0 >= LOCKOUT_FAILURES {
            entry.2 = event.at_ms + LOCKOUT_MS;
            entry.0 = 0;
        }
        Verdict::allow()
    }
}

/// CrowdSec's ssh-bf shape: a bucket of 5 failed logins per IP leaking one
/// every 10 s; overflow bans the IP for 4 hours (every event from it).
#[derive(Default)]
struct IpBucket {
    ips: HashMap<String, (f64, i64, i64)>, // level, last update, banned until
}

impl Defender for IpBucket {
    fn decide(&mut self, event: &Event) -> Verdict {
        let Some(ip) = event.actor.ip else {
            return Verdict::allow();
        };
        let entry = self
            .ips
            .entry(ip.to_string())
            .or_insert((0.0, event.at_ms, 0));
        if event.at_ms < entry.2 {
            return Verdict::deny();
        }
        let failed = matches!(&event.body, Body::LoginAttempt(l) if l.result == Outcome::Failure);
        if failed {
            let leaked = (event.at_ms - entry.1).max(0) as f64 / 10_000.0;
            entry.0 = (entry.0 - leaked).max(0.0) + 1.0;
            entry.1 = event.at_ms;
            if entry.0 > 5.0 {
                entry.2 = event.at_ms + 4 * 3_600_000;
                entry.0 = 0.0;
            }
        }
        Verdict::allow()
    }
}
