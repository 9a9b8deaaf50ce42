//! The discrete-event loop. Actors (honest people, attackers) act at event
//! times; each action is an event sent to the defender, and the actor acts on
//! the answer. Ground truth (who attacks, what was stolen) stays here.

use crate::defender::{Defender, Verdict};
use crate::ids::Ids;
use crate::integration::WorldKind;
use crate::labels::Labeller;
use crate::rng::Rng;
use crate::score::Score;
use crate::world::World;
use hmac::{Hmac, Mac};
use sekimori_event::{format_rfc3339_ms, MfaMethod};
use sekimori_rules::Action;
use serde_json::{json, Value as Json};
use sha2::Sha256;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Who caused an event. Never sent: only the simulator knows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    Honest,
    Attack(&'static str),
}

/// One actor: acts at its next time and says when it wants to act again.
pub trait Actor {
    fn step(&mut self, ctx: &mut Ctx<'_>) -> Option<i64>;
}

/// The services' HMAC key for secret fingerprints (the simulator plays the services).
const FP_KEY: &[u8] = b"sekimori-sim service fingerprint key";

/// What an actor may do during its step.
pub struct Ctx<'a> {
    pub now_ms: i64,
    pub world: &'a mut World,
    pub score: &'a mut Score,
    defender: &'a mut dyn Defender,
    ids: &'a mut Ids,
    sink: Option<&'a mut (dyn FnMut(&Json) + 'a)>,
    /// Offset of the last event sent in this step: a challenge follows it.
    last_offset_ms: i64,
    /// Id of the last event sent: a challenge names it (`for_event`).
    last_event_id: String,
    /// What services and analysts will learn about the events, later.
    labels: Option<&'a mut Labeller>,
    /// Whether the services mark the history's admitted logins observed.
    observe: bool,
}

/// The services of one group that share their customers' ID (7iD: the
/// wallet and the QR payment app). Their integrations send that ID as the
/// event's `customer`, so a reset at one and a purchase at the other are one
/// person's; every other service is a tenant of its own.
pub const GROUP_ID_SERVICES: &[&str] = &["wallet", "qr-pay"];

/// Adds `customer` to an event of a group service that names an account.
fn link_group_id(event: &mut Json) {
    let grouped = event["service"]
        .as_str()
        .is_some_and(|s| GROUP_ID_SERVICES.contains(&s));
    if let (true, Some(account)) = (grouped, event["account"].as_str()) {
        event["customer"] = json!(account.to_string());
    }
}

impl Ctx<'_> {
    /// Sends one event `offset_ms` after now and returns the verdict.
    pub fn send(&mut self, origin: Origin, offset_ms: i64, event: Json) -> Verdict {
        let mut event = match self.world.kind {
            WorldKind::Dense => event,
            WorldKind::Sparse => match crate::integration::sparse(event) {
                Some(e) => e,
                // Not something this integration has: nothing is sent.
                None => return Verdict::allow(),
            },
        };
        if event["type"] == "login.attempt" && event["result"] == "success" {
            if let Some(account) = event["account"].as_str() {
                // Someone has logged in to it: it has a history now.
                if !self.world.logged_in.contains(account) {
                    self.world.logged_in.insert(account.to_string());
                }
            }
        }
        self.last_offset_ms = offset_ms;
        let at = self.now_ms + offset_ms;
        if self.observe
            && at < self.world.start_ms
            && event["type"] == "login.attempt"
            && event["result"] == "success"
        {
            // Observation: the service enforces none of sekimori's decisions
            // yet, and tells it which logins its own authentication admitted
            // (docs/rules.md, "Observation and history import").
            event["attrs"][sekimori_engine::OBSERVED_ATTR] = json!(true);
        }
        let id = self.ids.event();
        self.last_event_id.clone_from(&id);
        event["id"] = json!(id);
        event["at"] = json!(format_rfc3339_ms(at));
        link_group_id(&mut event);
        if let Some(sink) = self.sink.as_deref_mut() {
            sink(&event);
        }
        let verdict = match sekimori_event::decode_value(event.clone()) {
            Ok(e) => self.defender.decide(&e),
            Err(e) => {
                self.score.invalid_events.push(format!("{e}: {event}"));
                Verdict::allow()
            }
        };
        let honest_success = origin == Origin::Honest
            && event["type"] == "login.attempt"
            && event["result"] == "success";
        if at < self.world.start_ms {
            if honest_success {
                let imported = at < self.world.history_ms;
                self.score
                    .warmup
                    .login(&event, verdict.action, true, imported);
            }
            // History: the defender sees everything but enforces nothing yet.
            return Verdict::allow();
        }
        if honest_success {
            self.score
                .warmup
                .login(&event, verdict.action, false, false);
        }
        let rules = self.defender.rules();
        self.score.observe(origin, &event, &verdict, &rules, at);
        self.defender.observed(origin, &event, &verdict);
        if let Some(labels) = self.labels.as_deref_mut() {
            let label = labels.observe(origin, &event, &verdict, at);
            self.score.rule_labels(origin, &rules, label);
        }
        verdict
    }

    /// The keyed fingerprint the service sends instead of the secret.
    pub fn fingerprint(&self, secret: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(FP_KEY)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(secret.as_bytes());
        format!("k1:{}", hex::encode(mac.finalize().into_bytes()))
    }

    /// Whether the action goes through: allowed, or a challenge the actor passes.
    /// Honest people pass 93% of challenges (the rest give up); an attacker
    /// passes only with a factor the scenario gives it. The service reports the
    /// challenge and its result.
    pub fn goes_through(
        &mut self,
        origin: Origin,
        verdict: &Verdict,
        account: &str,
        service: &str,
        rng: &mut Rng,
        has_factor: &dyn Fn(MfaMethod) -> bool,
    ) -> bool {
        match verdict.action {
            Action::Allow => true,
            Action::Challenge => {
                let usable = verdict.methods.iter().copied().find(|m| has_factor(*m));
                let (method, passed) = match (origin, usable) {
                    (Origin::Honest, _) => (
                        verdict.methods.first().copied().unwrap_or(MfaMethod::Totp),
                        rng.chance(0.93),
                    ),
                    (Origin::Attack(_), Some(m)) => (m, true),
                    (Origin::Attack(scenario), None) => {
                        let at = self.now_ms + self.last_offset_ms;
                        self.score.blocked(scenario, at);
                        (
                            verdict.methods.first().copied().unwrap_or(MfaMethod::Totp),
                            false,
                        )
                    }
                };
                if origin == Origin::Honest {
                    self.score.warmup.stepups_answered += 1;
                    self.score.warmup.stepups_passed += u64::from(passed);
                }
                let after = self.last_offset_ms;
                let challenge_id = format!("ch-{:012x}", rng.u64() >> 16);
                let base = json!({"service": service, "account": account, "method": method,
            "challenge_id": challenge_id, "for_event": self.last_event_id});
                let mut c = base.clone();
                c["type"] = json!("mfa.challenge");
                self.send(origin, after + 1_000, c);
                let mut r = base;
                r["type"] = json!("mfa.result");
                r["result"] = json!(if passed { "success" } else { "failure" });
                self.send(origin, after + 30_000, r);
                passed
            }
            _ => false,
        }
    }
}

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("now_ms", &self.now_ms)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Sim<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sim")
            .field("actors", &self.actors.len())
            .finish_non_exhaustive()
    }
}

/// Where a run hands each event it sends.
pub type Sink<'w> = Box<dyn FnMut(&Json) + 'w>;

/// A world, a defender, and the actors that live in it.
pub struct Sim<'w> {
    world: &'w mut World,
    defender: Box<dyn Defender>,
    actors: Vec<Box<dyn Actor>>,
    queue: BinaryHeap<Reverse<(i64, u64, usize)>>,
    ids: Ids,
    pub score: Score,
    /// Sees every event sent, in order, when set.
    pub sink: Option<Sink<'w>>,
    /// Posts labels to the defender as they are learnt, when set.
    pub labels: Option<Labeller>,
    /// The services mark the history's admitted logins observed
    /// (`attrs.sekimori_observed`), as services switching sekimori on do.
    pub observe: bool,
}

impl<'w> Sim<'w> {
    pub fn new(world: &'w mut World, defender: Box<dyn Defender>) -> Sim<'w> {
        Sim {
            world,
            defender,
            actors: Vec::new(),
            queue: BinaryHeap::new(),
            ids: Ids::default(),
            score: Score::default(),
            sink: None,
            labels: None,
            observe: true,
        }
    }

    pub fn add(&mut self, first_at_ms: i64, actor: Box<dyn Actor>) {
        let seq = self.actors.len() as u64;
        self.queue
            .push(Reverse((first_at_ms, seq, self.actors.len())));
        self.actors.push(actor);
    }

    /// Runs until the world's end time; `progress` is told each event time reached.
    pub fn run(&mut self, progress: &mut dyn FnMut(i64)) {
        let mut seq = self.actors.len() as u64;
        while let Some(Reverse((at, _, idx))) = self.queue.pop() {
            if at > self.world.end_ms {
                break;
            }
            progress(at);
            self.deliver_labels(at);
            let mut ctx = Ctx {
                now_ms: at,
                world: self.world,
                score: &mut self.score,
                defender: self.defender.as_mut(),
                ids: &mut self.ids,
                sink: self.sink.as_deref_mut().map(|s| s as &mut dyn FnMut(&Json)),
                last_offset_ms: 0,
                last_event_id: String::new(),
                labels: self.labels.as_mut(),
                observe: self.observe,
            };
            if let Some(next) = self.actors[idx].step(&mut ctx) {
                seq += 1;
                self.queue.push(Reverse((next.max(at + 1), seq, idx)));
            }
        }
        // Chargebacks and late reports keep coming after the last event.
        self.deliver_labels(i64::MAX);
    }

    /// Posts every label learnt by `now_ms`, in time order.
    fn deliver_labels(&mut self, now_ms: i64) {
        let Some(labeller) = self.labels.as_mut() else {
            return;
        };
        for (label, wrong) in labeller.due(now_ms) {
            self.score.label(&label, wrong);
            self.defender.label(&label);
        }
    }
}
