//! Labels as services and analysts learn them: late, partial and sometimes
//! wrong. The simulator plays the services, so it knows who caused each
//! event (`Origin`); what it posts is only what a real service would have
//! learnt by then, through the same path a service uses (the defender's
//! [`Defender::label`](crate::Defender::label): `POST /v1/labels` or the
//! ledger's append behind it), never the ground truth itself.
//!
//! - **The victim's "not me"** (`customer_denied`, 1-10 days later): money
//!   that left a real customer's account for an attacker, or a sign-in the
//!   attacker made to it (the "new sign-in" notice; half of victims answer).
//! - **Chargebacks** (14-60 days later): a fraudulent charge or purchase
//!   funded from a real customer's bank account or wallet, 85% of the time;
//!   and friendly fraud, an honest customer disputing their own purchase
//!   (1 in 2,000).
//! - **"It was me"** (`customer_confirmed`, within a day): an honest customer
//!   whose payment was refused calls the service, 30% of the time.
//! - **Analysts' dispositions** (1-48 hours later): a case opens for every
//!   event held for review, frozen or halted; analysts work 80% of them and
//!   get 6% of fraud wrong (`legitimate`) and 4% of honest events wrong
//!   (`confirmed_fraud`); some end `unable_to_verify`.
//!
//! Labels are delivered in time order between the events; those due after
//! the world's last event are delivered after it, as an operator who looks
//! two months later would find them.

use crate::defender::Verdict;
use crate::rng::Rng;
use crate::sim::Origin;
use crate::world::World;
use sekimori_rules::Action;
use serde_json::Value as Json;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// One label, as a service posts it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Label {
    /// When it is learnt (event time of the world).
    pub at_ms: i64,
    pub service: String,
    pub event_id: String,
    /// `chargeback`, `customer_denied`, `customer_confirmed`, or an
    /// analyst's disposition (`confirmed_fraud`, `false_positive`,
    /// `legitimate`, `unable_to_verify`).
    pub label: &'static str,
    /// Who says so: `key:<service>` for a service, `analyst-sim` for a
    /// disposition.
    pub by: String,
}

/// A label and, for the scorecard only (never sent), whether it says the
/// opposite of the truth (`unable_to_verify` says nothing).
pub type Learnt = (Label, bool);

/// Decides which labels each event will get, and hands them out when due.
#[derive(Debug)]
pub struct Labeller {
    rng: Rng,
    /// Accounts of real customers (bank logins, wallets, exchange, broker,
    /// neobank): money taken from them has someone to complain.
    customers: HashSet<String>,
    pending: BinaryHeap<Reverse<(i64, u64, Learnt)>>,
    n: u64,
    /// The label the last observed event will get.
    scheduled: Option<&'static str>,
}

const MONEY: &[&str] = &["charge", "purchase", "transfer", "withdrawal"];

/// What a label says: fraud (`true`), legitimate (`false`), or nothing.
pub fn says_fraud(label: &str) -> Option<bool> {
    match label {
        "chargeback" | "customer_denied" | "confirmed_fraud" => Some(true),
        "customer_confirmed" | "legitimate" | "false_positive" => Some(false),
        _ => None,
    }
}

impl Labeller {
    pub fn new(seed: u64, world: &World) -> Labeller {
        let mut customers = HashSet::new();
        for a in &world.accounts {
            customers.insert(a.login_id(&world.banks));
        }
        for p in &world.people {
            for id in [&p.wallet, &p.exchange, &p.broker, &p.neobank]
                .into_iter()
                .flatten()
            {
                customers.insert(id.clone());
            }
        }
        Labeller {
            rng: Rng::keyed(seed, "labels"),
            customers,
            pending: BinaryHeap::new(),
            n: 0,
            scheduled: None,
        }
    }

    fn post(&mut self, at_ms: i64, event: &Json, label: &'static str, by: String, fraud: bool) {
        self.n += 1;
        self.scheduled = Some(label);
        let l = Label {
            at_ms,
            service: event["service"].as_str().unwrap_or_default().to_string(),
            event_id: event["id"].as_str().unwrap_or_default().to_string(),
            label,
            by,
        };
        let wrong = says_fraud(label).is_some_and(|f| f != fraud);
        self.pending.push(Reverse((at_ms, self.n, (l, wrong))));
    }

    fn service_key(event: &Json) -> String {
        format!("key:{}", event["service"].as_str().unwrap_or_default())
    }

    /// Whether the money or the account of `event` is a real customer's.
    fn customer_behind(&self, event: &Json) -> bool {
        let own = event["account"]
            .as_str()
            .is_some_and(|a| self.customers.contains(a));
        let source = &event["source"];
        let funded = source["kind"] == "bank"
            && match (
                source["bank_code"].as_str(),
                source["branch"].as_str(),
                source["number"].as_str(),
            ) {
                (Some(c), Some(b), Some(n)) => self.customers.contains(&format!("{c}-{b}-{n}")),
                _ => false,
            };
        own || funded
    }

    /// Schedules what will be learnt about one decided event, and says
    /// which label it will get (if any).
    pub fn observe(
        &mut self,
        origin: Origin,
        event: &Json,
        verdict: &Verdict,
        at_ms: i64,
    ) -> Option<&'static str> {
        self.scheduled = None;
        self.schedule(origin, event, verdict, at_ms);
        self.scheduled.take()
    }

    fn schedule(&mut self, origin: Origin, event: &Json, verdict: &Verdict, at_ms: i64) {
        let kind = event["type"].as_str().unwrap_or_default();
        let fraud = matches!(origin, Origin::Attack(_));
        let action = verdict.action;
        // A case opens: an analyst works most of them within two days.
        if matches!(action, Action::Review | Action::Freeze | Action::Halt) {
            if self.rng.chance(0.8) {
                let delay = HOUR + self.rng.range(0, 47 * HOUR as u64) as i64;
                let x = self.rng.range(0, 100);
                let label = match (fraud, x) {
                    (true, 0..=5) => "legitimate",
                    (true, 6..=9) => "unable_to_verify",
                    (true, _) => "confirmed_fraud",
                    (false, 0..=3) => "confirmed_fraud",
                    (false, 4..=9) => "unable_to_verify",
                    (false, _) => "false_positive",
                };
                self.post(at_ms + delay, event, label, "analyst-sim".into(), fraud);
            }
            return;
        }
        let through = matches!(action, Action::Allow | Action::Challenge);
        let money = MONEY.contains(&kind);
        let card = matches!(kind, "charge" | "purchase");
        if fraud && through && (money || is_success_login(event)) {
            if !self.customer_behind(event) {
                return; // the attacker's own accounts: nobody complains
            }
            let (p, lo, hi, label) = if card {
                (0.85, 14 * DAY, 60 * DAY, "chargeback")
            } else if money {
                (0.75, DAY, 10 * DAY, "customer_denied")
            } else {
                (0.5, DAY, 5 * DAY, "customer_denied")
            };
            if self.rng.chance(p) {
                let delay = self.rng.range(lo as u64, hi as u64) as i64;
                self.post(at_ms + delay, event, label, Self::service_key(event), true);
            }
        } else if !fraud && card && action == Action::Allow {
            if self.rng.chance(0.0005) {
                let delay = self.rng.range(14 * DAY as u64, 60 * DAY as u64) as i64;
                self.post(
                    at_ms + delay,
                    event,
                    "chargeback",
                    Self::service_key(event),
                    false,
                );
            }
        } else if !fraud && money && action == Action::Deny && self.rng.chance(0.3) {
            let delay = self.rng.range(10 * 60_000, DAY as u64) as i64;
            self.post(
                at_ms + delay,
                event,
                "customer_confirmed",
                Self::service_key(event),
                false,
            );
        }
    }

    /// The labels learnt by `now_ms`, in time order.
    pub fn due(&mut self, now_ms: i64) -> Vec<Learnt> {
        let mut out = Vec::new();
        while self
            .pending
            .peek()
            .is_some_and(|Reverse((at, _, _))| *at <= now_ms)
        {
            if let Some(Reverse((_, _, l))) = self.pending.pop() {
                out.push(l);
            }
        }
        out
    }

    /// Every label still to come, in time order.
    pub fn rest(&mut self) -> Vec<Learnt> {
        self.due(i64::MAX)
    }
}

fn is_success_login(event: &Json) -> bool {
    event["type"] == "login.attempt" && event["result"] == "success"
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::Size;
    use serde_json::json;

    fn verdict(action: Action) -> Verdict {
        Verdict {
            action,
            methods: Vec::new(),
        }
    }

    #[test]
    fn labels_come_late_in_time_order_and_only_where_someone_would_know() {
        let world = World::build(Size::Small, &mut Rng::new(1));
        let victim = world.accounts[0].login_id(&world.banks);
        let mut l = Labeller::new(1, &world);
        let at = world.start_ms;
        for i in 0..400 {
            let e = json!({"id": format!("a{i}"), "type": "transfer", "service": "netbank", "account": victim});
            l.observe(Origin::Attack("x"), &e, &verdict(Action::Allow), at + i);
            // The attacker's own account: nobody to say "not me".
            let own = json!({"id": format!("m{i}"), "type": "transfer", "service": "netbank", "account": "mule-1"});
            l.observe(Origin::Attack("x"), &own, &verdict(Action::Allow), at + i);
            let held = json!({"id": format!("h{i}"), "type": "transfer", "service": "netbank", "account": victim});
            l.observe(Origin::Honest, &held, &verdict(Action::Review), at + i);
        }
        assert!(l.due(at + 1000).is_empty(), "nothing is known at once");
        let learnt = l.rest();
        let all: Vec<Label> = learnt.iter().map(|(x, _)| x.clone()).collect();
        assert!(all.windows(2).all(|w| w[0].at_ms <= w[1].at_ms));
        let denied = all.iter().filter(|x| x.label == "customer_denied").count();
        assert!((250..350).contains(&denied), "{denied} of 400 at 75%");
        assert!(all.iter().all(|x| !x.event_id.starts_with('m')));
        assert!(all
            .iter()
            .filter(|x| x.label == "customer_denied")
            .all(|x| x.at_ms >= at + DAY));
        // Analysts: 80% worked, and some honest events called fraud.
        let dispositions: Vec<&Learnt> = learnt
            .iter()
            .filter(|(x, _)| x.by == "analyst-sim")
            .collect();
        assert!((280..360).contains(&dispositions.len()));
        assert!(learnt
            .iter()
            .filter(|(x, _)| x.by != "analyst-sim")
            .all(|(_, w)| !w));
        let wrong = dispositions.iter().filter(|(_, w)| *w).count();
        assert!(wrong > 0 && wrong < 40, "{wrong}");
        assert!(dispositions.iter().all(|(x, _)| x.at_ms >= at + HOUR));
    }
}
