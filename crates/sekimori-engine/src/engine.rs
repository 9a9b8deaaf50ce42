//! The engine: state plus the live pack; one event in, one decision out.

use crate::decision::{Decision, EvalError, HoldKey, PackRef, Reason};
use crate::features::{FeatureValues, Layout, Scratch};
use crate::holds::{Hold, Holds};
use crate::state::State;
use crate::view::{account_of, scope_value, Prepared};
use sekimori_event::{format_rfc3339_ms, Event};
use sekimori_rules::{combine, Action, EventRef, ListValues, Pack, RuleAction, Vars, Verdict};
use std::collections::BTreeSet;
use std::sync::Arc;

/// The deterministic decision engine. It does no I/O and reads no clock: the
/// same pack and the same events in the same order give the same decisions and
/// the same state, byte for byte. Callers serialise access (`&mut self`), which
/// makes each event's read-and-update of every feature atomic.
#[derive(Debug)]
pub struct Engine {
    pack: Arc<Pack>,
    state: State,
    /// Pack lists with the items added through the API, as CEL values.
    lists: ListValues,
    /// Accounted bytes of the API list items (pinned: never evicted).
    list_bytes: u64,
    /// The pack's feature names (shared by every decision's record) and
    /// each event type's reads and record slots.
    layout: Layout,
    /// The feature step's per-decision buffers, reused.
    scratch: Scratch,
    /// The rules that fired (indices into the pack), reused.
    fired: Vec<usize>,
}

/// Accounted bytes of the API-managed list items.
fn list_bytes(state: &State) -> u64 {
    state
        .api_lists
        .values()
        .flatten()
        .map(|item| item.len() as u64 + 64)
        .sum()
}

/// The engine's state as of one moment ([`Engine::snapshot_copy`]), owned
/// and independent of the engine: serialise it on another thread.
#[derive(Debug)]
pub struct StateCopy(State);

impl StateCopy {
    /// The snapshot bytes, as [`Engine::snapshot`] gives them.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }
}

impl Engine {
    pub fn new(pack: Arc<Pack>) -> Engine {
        let mut state = State::default();
        state.sync_stores(&pack);
        let lists = state.list_values(&pack);
        Engine {
            layout: Layout::new(&pack),
            pack,
            state,
            lists,
            list_bytes: 0,
            scratch: Scratch::default(),
            fired: Vec::new(),
        }
    }

    /// Rebuilds an engine from a snapshot taken under the same pack.
    pub fn restore(pack: Arc<Pack>, snapshot: &[u8]) -> Result<Engine, String> {
        let mut state = State::from_bytes(snapshot)?;
        state.sync_stores(&pack);
        let lists = state.list_values(&pack);
        let list_bytes = list_bytes(&state);
        Ok(Engine {
            layout: Layout::new(&pack),
            pack,
            state,
            lists,
            list_bytes,
            scratch: Scratch::default(),
            fired: Vec::new(),
        })
    }

    pub fn pack(&self) -> &Arc<Pack> {
        &self.pack
    }

    /// Swaps the pack. Features whose spec is unchanged keep their state; the
    /// others start empty. Holds are kept, and so are API list items of the lists the new pack still declares.
    pub fn set_pack(&mut self, pack: Arc<Pack>) {
        self.state.sync_stores(&pack);
        self.lists = self.state.list_values(&pack);
        self.list_bytes = list_bytes(&self.state);
        self.layout = Layout::new(&pack);
        self.pack = pack;
    }

    /// Sets the memory budget of the engine's state, in bytes (`None`:
    /// unbounded, only each feature's `max_keys` caps). Lowering it evicts
    /// at once. The budget changes decisions, so it is decision state: in
    /// snapshots, and logged (`Entry::Pack`'s `memory_budget`) so a replay
    /// uses the value the live engine used from the same point on.
    pub fn set_memory_budget(&mut self, bytes: Option<u64>) {
        self.state.budget.bytes = bytes;
        self.state.enforce_budget(self.list_bytes);
    }

    /// The memory budget in bytes, `None` when unbounded.
    pub fn memory_budget(&self) -> Option<u64> {
        self.state.budget.bytes
    }

    /// The memory accounting: accounted bytes (cheap: one read per store),
    /// the budget and the evictions so far per kind (see [`crate::MEMORY_KINDS`]).
    pub fn memory(&self) -> crate::MemoryStats {
        let pinned = self.state.pinned_bytes(self.list_bytes);
        let b = &self.state.budget;
        crate::MemoryStats {
            budget_bytes: b.bytes,
            accounted_bytes: self.state.evictable_bytes() + pinned,
            pinned_bytes: pinned,
            evicted: b.evicted,
            evicted_bytes: b.evicted_bytes,
            runs: b.runs,
        }
    }

    /// Replaces the API-managed items of a list declared by the pack.
    pub fn set_list(&mut self, name: &str, items: BTreeSet<String>) -> Result<(), String> {
        if !self.pack.lists.contains_key(name) {
            return Err(format!("the live pack declares no list `{name}`"));
        }
        self.state.api_lists.insert(name.to_string(), items);
        self.lists = self.state.list_values(&self.pack);
        self.list_bytes = list_bytes(&self.state);
        Ok(())
    }

    /// The effective items of a list (pack items and API items).
    pub fn list(&self, name: &str) -> Option<BTreeSet<String>> {
        let base = self.pack.lists.get(name)?;
        let api = self.state.api_lists.get(name);
        Some(
            base.iter()
                .chain(api.into_iter().flatten())
                .cloned()
                .collect(),
        )
    }

    pub fn lift_hold(&mut self, key: &HoldKey) -> bool {
        self.state.holds.lift(key)
    }

    /// Places an operator's hold (the API's kill switch): `freeze` on an
    /// account, `halt` on a service, asset, wallet or bank. An existing hold
    /// on the key is kept, not overwritten: `Ok(false)`. `at_ms` is the
    /// request time the log entry carries, never a clock read here.
    pub fn place_hold(
        &mut self,
        key: HoldKey,
        action: Action,
        by: &str,
        reason: &str,
        at_ms: i64,
    ) -> Result<bool, String> {
        if !key.fits(action) {
            return Err(format!(
                "a {} hold cannot be `{action:?}`: freeze holds an account, halt a service, asset, wallet or bank",
                key.scope_name()
            ));
        }
        let hold = Hold::operator(action, by, reason, at_ms);
        Ok(self.state.holds.place(key, hold))
    }

    pub fn holds(&self) -> &Holds {
        &self.state.holds
    }

    /// The newest event time seen (milliseconds), `None` before the first event.
    pub fn watermark_ms(&self) -> Option<i64> {
        (self.state.events > 0).then_some(self.state.watermark_ms)
    }

    pub fn events_applied(&self) -> u64 {
        self.state.events
    }

    /// How much the feature windows hold: (tracked (key, feature) windows,
    /// the stores' own estimate of their bytes). Risk profiles not included.
    pub fn window_footprint(&self) -> (usize, usize) {
        self.state
            .stores
            .values()
            .fold((0, 0), |(n, b), s| (n + s.len(), b + s.approx_bytes()))
    }

    /// Serialises the state for a snapshot.
    pub fn snapshot(&self) -> Vec<u8> {
        self.state.to_bytes()
    }

    /// A copy of the state as of now, to serialise elsewhere (off whatever
    /// lock guards the engine): [`StateCopy::to_bytes`] gives exactly the
    /// bytes [`Engine::snapshot`] gave at the time of the copy. The copy is
    /// a clone that shares the big per-key maps (feature windows, risk
    /// profiles and population values) as copy-on-write shards: it copies
    /// pointers, and a later write clones only the shard it touches, so
    /// nothing decided after the copy reaches it.
    pub fn snapshot_copy(&self) -> StateCopy {
        StateCopy(self.state.clone())
    }

    /// Order-independent digest of all state: equal digests, equal engines.
    pub fn state_digest(&self) -> u64 {
        self.state.digest()
    }

    /// Decides one event and updates all state it touches.
    /// The pack's expressions read the typed event through their compiled
    /// accessors; no JSON is built unless one falls back to the interpreter.
    pub fn decide(&mut self, event: &Event) -> Decision {
        self.decide_typed(&EventRef::new(event))
    }

    /// [`Engine::decide`] for an event prepared beforehand (its canonical
    /// JSON built for the log): the same decision, byte for byte.
    pub fn decide_prepared(&mut self, prepared: &Prepared) -> Decision {
        self.decide(prepared.event())
    }

    fn decide_typed(&mut self, view: &EventRef<'_>) -> Decision {
        let event = view.event();
        let late = self
            .state
            .advance(event.at_ms, self.pack.settings.lateness_ms);
        let effective_ms = self
            .state
            .effective_time(event.at_ms, self.pack.settings.lateness_ms);
        let plan = self.pack.plan(event.kind);
        let layout = self.layout.kind(event.kind);
        let mut errors = Vec::new();
        let mut values = FeatureValues::compute(
            std::mem::take(&mut self.scratch),
            &self.pack,
            &self.layout,
            layout,
            &mut self.state,
            plan,
            &self.lists,
            view,
            effective_ms,
            &mut errors,
        );
        let vars = Vars::typed(view, values.slots(), &self.pack.features, &self.lists);
        let mut reasons = self.state.holds.covering(event);
        let mut fired = std::mem::take(&mut self.fired);
        fired.clear();
        for &i in &plan.rules {
            let rule = &self.pack.rules[i];
            match rule.when.eval_bool(&vars) {
                Ok(true) => fired.push(i),
                Ok(false) => {}
                Err(e) => errors.push(EvalError {
                    source: format!("rule {}", rule.name),
                    error: e,
                }),
            }
        }
        let rules = &self.pack.rules;
        let enforced = || fired.iter().map(|&i| &rules[i]).filter(|r| !r.shadow);
        let held = reasons.iter().filter_map(|r| r.action.verdict()).max();
        // `flag` rules take no part (combine leaves them out); a guard's
        // verdict is never overridden by an allow.
        let combined = combine(enforced().map(|r| Verdict {
            action: r.action,
            methods: &r.methods,
            guard: r.guard,
        }));
        let action = held.map_or(combined.action, |h| h.max(combined.action));
        let methods = if action == Action::Challenge {
            combined.methods
        } else {
            Vec::new()
        };
        if combined.no_common_method {
            errors.push(EvalError {
                source: "decision".into(),
                error: "challenges named no common method; escalated to review".into(),
            });
        }
        let score = enforced().map(|r| r.score).sum();
        // Observation (issue 13; see `observe`): what is learned, not what is decided.
        let teaches = held.is_none()
            && enforced().all(|r| r.action != RuleAction::Challenge || r.learn_when_observed);
        for &i in &fired {
            reasons.push(self.place_holds(i, event, &mut errors));
        }
        self.fired = fired;
        let deferred = std::mem::take(&mut values.deferred);
        let learned = crate::observe::learn_as(event, action, teaches);
        let parked = FeatureValues::commit(deferred, learned, &self.pack, &mut self.state);
        self.settle_admissions(event, learned, &methods, parked, effective_ms);
        self.settle_risk(
            event,
            view,
            learned,
            &methods,
            std::mem::take(&mut values.learn),
        );
        let (features, scratch) =
            values.into_record(&self.layout.names, self.layout.kind(event.kind));
        self.scratch = scratch;
        self.state.events += 1;
        // After the decision and every update it made: the next event
        // decides within the budget.
        self.state.enforce_budget(self.list_bytes);
        Decision {
            event_id: event.id.clone(),
            event_type: event.kind.as_str().to_string(),
            at: format_rfc3339_ms(event.at_ms),
            action,
            methods,
            score,
            reasons,
            features,
            pack: PackRef {
                name: self.pack.name().into(),
                version: self.pack.version().into(),
            },
            late,
            errors,
        }
    }

    /// `counts: allowed` updates of a challenged event wait for its step-up
    /// (see `admit`): parked here, and applied when an `mfa.result` that
    /// passed names the event.
    fn settle_admissions(
        &mut self,
        event: &Event,
        action: Action,
        methods: &[sekimori_event::MfaMethod],
        parked: Vec<crate::admit::Update>,
        effective_ms: i64,
    ) {
        let horizon_ms = self
            .state
            .watermark_ms
            .saturating_sub(self.pack.settings.lateness_ms)
            .saturating_sub(crate::admit::PENDING_MS);
        let subject = account_of(event)
            .and_then(|account| crate::admit::Subject::of(&event.service, account));
        if !parked.is_empty() {
            // An event without an account cannot be named by a step-up: its
            // updates are dropped.
            if let Some(subject) = subject {
                let parked = crate::admit::Parked {
                    at_ms: event.at_ms,
                    methods: methods.to_vec(),
                    updates: parked,
                };
                let id = xxhash_rust::xxh3::xxh3_64(event.id.as_bytes());
                self.state
                    .admissions
                    .park(subject.key, id, parked, horizon_ms);
            }
        }
        let sekimori_event::Body::MfaResult(r) = &event.body else {
            return;
        };
        let (Some(for_event), Some(subject)) = (&r.for_event, subject) else {
            return;
        };
        if self.state.admissions.is_empty() {
            return;
        }
        let for_event = xxhash_rust::xxh3::xxh3_64(for_event.as_bytes());
        // A result that is itself refused (a freeze or deny in force) admits nothing.
        let passed = r.result == sekimori_event::MfaOutcome::Success && action < Action::Review;
        let updates = self.state.admissions.settle(
            subject,
            for_event,
            r.method,
            passed,
            event.at_ms,
            horizon_ms,
        );
        FeatureValues::admit(updates, effective_ms, &mut self.state);
    }

    /// Teaches risk profiles after the decision: an allowed event at once, a
    /// challenged one when its step-up passes (see `risk`). An `mfa.result`
    /// settles the account's parked login in every risk feature.
    fn settle_risk(
        &mut self,
        event: &Event,
        view: &EventRef<'_>,
        action: Action,
        methods: &[sekimori_event::MfaMethod],
        learn: Vec<(usize, u128, crate::risk::Values)>,
    ) {
        for (fi, subject, values) in learn {
            let Some(store) = self.state.risk.get_mut(&self.pack.features[fi].spec_digest) else {
                continue;
            };
            match action {
                Action::Allow => store.learn(subject, &values, 1, event.at_ms),
                Action::Challenge => store.hold(
                    subject,
                    crate::risk::Parked {
                        event: xxhash_rust::xxh3::xxh3_64(event.id.as_bytes()),
                        at_ms: event.at_ms,
                        methods: methods.to_vec(),
                        values,
                    },
                ),
                _ => {}
            }
        }
        let sekimori_event::Body::MfaResult(r) = &event.body else {
            return;
        };
        let Some(for_event) = &r.for_event else {
            return; // a step-up that names no event teaches nothing
        };
        let for_event = xxhash_rust::xxh3::xxh3_64(for_event.as_bytes());
        // A result that is itself refused (a freeze or deny in force) teaches nothing.
        let passed = r.result == sekimori_event::MfaOutcome::Success && action < Action::Review;
        let vars = Vars::typed(view, &[], &self.pack.features, &self.lists);
        for f in self.pack.features.iter().filter(|f| f.risk.is_some()) {
            let subject = crate::view::key_hash_parts(f.key.iter().map(|k| k.eval_part(&vars)));
            let (Ok(Some(subject)), Some(store)) =
                (subject, self.state.risk.get_mut(&f.spec_digest))
            else {
                continue;
            };
            store.settle(subject, for_event, r.method, passed, event.at_ms);
        }
    }

    /// The reason for a fired rule; an enforced freeze or halt also places its hold.
    fn place_holds(&mut self, i: usize, event: &Event, errors: &mut Vec<EvalError>) -> Reason {
        let rule = &self.pack.rules[i];
        let verdict = rule.action.verdict();
        let key = match (verdict, rule.halt) {
            (Some(Action::Freeze), _) => {
                account_of(event).map(|a| HoldKey::account(event.service.as_str(), a))
            }
            (Some(Action::Halt), Some(scope)) => scope_value(event, scope)
                .map(|v| HoldKey::for_halt(event.service.as_str(), scope, v)),
            _ => None,
        };
        let holds = matches!(verdict, Some(Action::Freeze | Action::Halt));
        if key.is_none() && holds {
            errors.push(EvalError {
                source: format!("rule {}", rule.name),
                error: "this event has no value for the hold's scope; nothing was held".into(),
            });
        }
        if let (Some(k), Some(action), false) = (&key, verdict, rule.shadow) {
            let hold = Hold {
                action,
                rule: rule.name.clone(),
                event_id: event.id.clone(),
                since_ms: event.at_ms,
                by: None,
                reason: None,
            };
            self.state.holds.place(k.clone(), hold);
        }
        Reason {
            rule: rule.name.clone(),
            action: rule.action,
            score: rule.score,
            reason: rule.reason.clone(),
            shadow: rule.shadow,
            methods: rule.methods.clone(),
            hold: key,
        }
    }
}
