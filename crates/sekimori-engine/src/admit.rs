//! Admissions that wait for a step-up. A feature declared `counts: allowed`
//! grants something (an allow-list entry, an accepted request, an approval),
//! so it counts an event only once the event is admitted: at once when it is
//! decided `allow`; when it is decided `challenge`, only after the step-up
//! passes. The challenged event's updates are parked here, keyed by its
//! account and id, until the `mfa.result` that names it (`for_event`):
//!
//! - from the same service and account, with `result: success`, with one of
//!   the methods the challenge offered, within 15 minutes of the challenged
//!   event, and not itself refused (no freeze or deny in force): the updates
//!   apply, at the time of the `mfa.result` (the entry exists from the moment
//!   its step-up passed);
//! - a failed, expired or mismatched result unparks it and applies nothing;
//!   so does no result at all (the entry expires).
//!
//! Everything is event time and ordered maps: a replay of the same events
//! parks and settles the same admissions, and the snapshot carries them.
//!
//! **Caps.** Parking is bounded per account ([`MAX_PARKED_PER_ACCOUNT`]),
//! per service ([`MAX_PARKED_PER_SERVICE`]) and in all ([`MAX_PARKED`]):
//! past a cap the oldest admission *of the account, or of the service,
//! that is over it* goes (it grants nothing, the fail-closed way), so one
//! account's or one tenant's stream of challenged events pushes out only
//! its own. At the overall cap the service holding the most goes first
//! (ties: the smaller service hash). The service is the high half of the
//! subject key ([`Subject`]), so the snapshot form is unchanged.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How long a challenged event waits for its step-up result (the same as a
/// login parked for the risk profiles).
pub(crate) const PENDING_MS: i64 = crate::risk::PENDING_MS;
/// Parked admissions in all; past this the oldest of the service holding
/// the most go first (and grant nothing).
pub(crate) const MAX_PARKED: usize = 100_000;
/// Parked admissions of one service; past this its own oldest go first.
pub(crate) const MAX_PARKED_PER_SERVICE: usize = MAX_PARKED / 4;
/// Parked admissions of one account; past this its own oldest go first.
pub(crate) const MAX_PARKED_PER_ACCOUNT: usize = 16;

/// Who a parked admission belongs to: `key` is the hash of the service in
/// its high 64 bits and of (service, account) in its low 64 (so the caps
/// can tell services apart); `legacy` is the full (service, account) hash
/// that snapshots before the per-service caps keyed admissions by, tried
/// when settling so an admission parked before an upgrade still settles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Subject {
    pub key: u128,
    pub legacy: u128,
}

impl Subject {
    /// The subject of `account` at `service`.
    pub fn of(service: &str, account: &str) -> Option<Subject> {
        let legacy = crate::view::key_hash(&[
            serde_json::Value::from(service),
            serde_json::Value::from(account),
        ])?;
        let service = u128::from(xxhash_rust::xxh3::xxh3_64(service.as_bytes()));
        Some(Subject {
            key: (service << 64) | (legacy & u128::from(u64::MAX)),
            legacy,
        })
    }
}

impl From<u128> for Subject {
    /// A subject known by one key only (legacy callers and tests).
    fn from(key: u128) -> Subject {
        Subject { key, legacy: key }
    }
}

/// The service part of a subject key.
fn service_of(subject: u128) -> u64 {
    (subject >> 64) as u64
}

/// The value of one parked update (the serializable form of `ObsValue`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Value {
    None,
    Int(i64),
    Hash(u64),
}

impl From<sekimori_window::ObsValue> for Value {
    fn from(v: sekimori_window::ObsValue) -> Value {
        match v {
            sekimori_window::ObsValue::None => Value::None,
            sekimori_window::ObsValue::Int(i) => Value::Int(i),
            sekimori_window::ObsValue::Hash(h) => Value::Hash(h),
        }
    }
}

impl From<Value> for sekimori_window::ObsValue {
    fn from(v: Value) -> sekimori_window::ObsValue {
        match v {
            Value::None => sekimori_window::ObsValue::None,
            Value::Int(i) => sekimori_window::ObsValue::Int(i),
            Value::Hash(h) => sekimori_window::ObsValue::Hash(h),
        }
    }
}

/// One update a challenged event would make: (feature spec digest, key, value).
pub(crate) type Update = (u64, u128, Value);

/// A challenged event's `counts: allowed` updates.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Parked {
    pub at_ms: i64,
    /// The methods the challenge offered.
    pub methods: Vec<sekimori_event::MfaMethod>,
    pub updates: Vec<Update>,
}

/// Every parked admission. Snapshots are postcard: a new field here means a
/// new snapshot version (see `state.rs`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Admissions {
    /// (subject: the hash of service and account, event-id hash) -> updates.
    parked: BTreeMap<(u128, u64), Parked>,
    /// The same keys in event-time order, for expiry and the cap.
    by_time: BTreeSet<(i64, u128, u64)>,
    /// Accounted bytes of everything parked, kept up to date; not
    /// serialized ([`Admissions::recount`] after a restore).
    #[serde(skip)]
    bytes: u64,
    /// The keys of `by_time` per service (the subject's high half), for the
    /// per-service cap; derived, rebuilt by [`Admissions::recount`].
    #[serde(skip)]
    by_service: BTreeMap<u64, BTreeSet<(i64, u128, u64)>>,
}

impl Parked {
    /// Accounted bytes of one parked admission: its entries in both maps
    /// and its vectors, from their lengths.
    fn accounted(&self) -> u64 {
        let entry = (16 + 8 + std::mem::size_of::<Parked>()) * 3 / 2 + 8;
        // Its key in `by_time` and in its service's set.
        let by_time = 2 * ((8 + 16 + 8) * 3 / 2 + 8);
        (entry + by_time + self.methods.len() + self.updates.len() * std::mem::size_of::<Update>())
            as u64
    }
}

impl Admissions {
    pub fn is_empty(&self) -> bool {
        self.parked.is_empty()
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.parked.len()
    }

    /// Recomputes the accounted bytes and the per-service index (after a
    /// restore).
    pub fn recount(&mut self) {
        self.bytes = self.parked.values().map(Parked::accounted).sum();
        self.by_service.clear();
        for &k in &self.by_time {
            self.by_service
                .entry(service_of(k.1))
                .or_default()
                .insert(k);
        }
    }

    /// Accounted bytes of everything parked: O(1).
    pub fn accounted_bytes(&self) -> u64 {
        self.bytes
    }

    /// Calls `f(at_ms, bytes)` for every parked admission (any order).
    pub fn for_each_age(&self, mut f: impl FnMut(i64, u64)) {
        for p in self.parked.values() {
            f(p.at_ms, p.accounted());
        }
    }

    /// Forgets every admission parked at or before `at_ms` (a memory
    /// budget's eviction: it grants nothing, the fail-closed way); returns
    /// (admissions, bytes) forgotten.
    pub fn evict_through(&mut self, at_ms: i64) -> (u64, u64) {
        let (mut n, before) = (0, self.bytes);
        while let Some(&(t, s, e)) = self.by_time.first() {
            if t > at_ms {
                break;
            }
            self.by_time.pop_first();
            self.forget(s, e);
            n += 1;
        }
        (n, before.saturating_sub(self.bytes))
    }

    /// Unparks one admission: from the map and both indexes.
    fn forget(&mut self, subject: u128, event: u64) -> Option<Parked> {
        let p = self.parked.remove(&(subject, event))?;
        self.bytes = self.bytes.saturating_sub(p.accounted());
        let k = (p.at_ms, subject, event);
        self.by_time.remove(&k);
        let service = service_of(subject);
        if let Some(set) = self.by_service.get_mut(&service) {
            set.remove(&k);
            if set.is_empty() {
                self.by_service.remove(&service);
            }
        }
        Some(p)
    }

    /// The oldest admission of `subject` when it holds at least `cap`.
    fn account_over(&self, subject: u128, cap: usize) -> Option<(u128, u64)> {
        let mine = self.parked.range((subject, 0)..=(subject, u64::MAX));
        let (mut n, mut oldest) = (0usize, None::<(i64, u64)>);
        for (&(_, e), p) in mine {
            n += 1;
            if oldest.is_none_or(|o| (p.at_ms, e) < o) {
                oldest = Some((p.at_ms, e));
            }
        }
        oldest.filter(|_| n >= cap).map(|(_, e)| (subject, e))
    }

    /// The oldest admission of `service` when it holds at least `cap`.
    fn service_over(&self, service: u64, cap: usize) -> Option<(u128, u64)> {
        let set = self.by_service.get(&service)?;
        (set.len() >= cap)
            .then(|| set.first().map(|&(_, s, e)| (s, e)))
            .flatten()
    }

    /// The oldest admission of the service holding the most (ties: the
    /// smaller service hash).
    fn largest_oldest(&self) -> Option<(u128, u64)> {
        let (_, set) = self
            .by_service
            .iter()
            .max_by_key(|(service, set)| (set.len(), std::cmp::Reverse(**service)))?;
        set.first().map(|&(_, s, e)| (s, e))
    }

    /// Parks a challenged event's updates until its step-up result arrives.
    /// `horizon_ms`: admissions parked before it can no longer settle.
    /// `subject` is a [`Subject::key`]: its service is its high half. Past
    /// a cap, room is made from the account, then the service, then the
    /// largest service (see the module docs).
    pub fn park(&mut self, subject: u128, event: u64, parked: Parked, horizon_ms: i64) {
        self.expire(horizon_ms);
        self.forget(subject, event);
        if let Some((s, e)) = self.account_over(subject, MAX_PARKED_PER_ACCOUNT) {
            self.forget(s, e);
        }
        if let Some((s, e)) = self.service_over(service_of(subject), MAX_PARKED_PER_SERVICE) {
            self.forget(s, e);
        }
        if self.parked.len() >= MAX_PARKED {
            if let Some((s, e)) = self.largest_oldest() {
                self.forget(s, e);
            }
        }
        let k = (parked.at_ms, subject, event);
        self.bytes += parked.accounted();
        self.parked.insert((subject, event), parked);
        self.by_time.insert(k);
        self.by_service
            .entry(service_of(subject))
            .or_default()
            .insert(k);
    }

    /// A step-up result for `subject` names the challenged event `event`:
    /// it is unparked, and its updates are returned if the step-up passed
    /// with one of the offered methods within [`PENDING_MS`] after it.
    pub fn settle(
        &mut self,
        subject: impl Into<Subject>,
        event: u64,
        method: sekimori_event::MfaMethod,
        passed: bool,
        at_ms: i64,
        horizon_ms: i64,
    ) -> Vec<Update> {
        self.expire(horizon_ms);
        let subject = subject.into();
        let found = self
            .forget(subject.key, event)
            .or_else(|| self.forget(subject.legacy, event));
        let Some(parked) = found else {
            return Vec::new();
        };
        let elapsed = at_ms.saturating_sub(parked.at_ms);
        if passed && (0..=PENDING_MS).contains(&elapsed) && parked.methods.contains(&method) {
            parked.updates
        } else {
            Vec::new()
        }
    }

    /// Forgets admissions parked before `horizon_ms`: their step-up can no
    /// longer arrive in time.
    fn expire(&mut self, horizon_ms: i64) {
        while let Some(&(at_ms, s, e)) = self.by_time.first() {
            if at_ms >= horizon_ms {
                break;
            }
            self.by_time.pop_first();
            self.forget(s, e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sekimori_event::MfaMethod;

    /// A subject of service `service`, account `account`.
    fn sub(service: u64, account: u64) -> Subject {
        let key = (u128::from(service) << 64) | u128::from(account);
        Subject { key, legacy: key }
    }

    fn parked(at_ms: i64) -> Parked {
        Parked {
            at_ms,
            methods: vec![MfaMethod::Totp, MfaMethod::Webauthn],
            updates: vec![(7, 9, Value::None)],
        }
    }

    #[test]
    fn only_a_passed_step_up_in_time_with_an_offered_method_admits() {
        let mut a = Admissions::default();
        a.park(1, 10, parked(0), 0);
        // Another account's result naming the same event settles nothing.
        assert!(a
            .settle(sub(0, 2), 10, MfaMethod::Totp, true, 5, 0)
            .is_empty());
        assert_eq!(a.len(), 1);
        // A failure unparks it: a later success grants nothing.
        assert!(a
            .settle(sub(0, 1), 10, MfaMethod::Totp, false, 5, 0)
            .is_empty());
        assert!(a
            .settle(sub(0, 1), 10, MfaMethod::Totp, true, 6, 0)
            .is_empty());
        // A method the challenge did not offer, or too late: nothing.
        a.park(1, 11, parked(0), 0);
        assert!(a
            .settle(sub(0, 1), 11, MfaMethod::Sms, true, 5, 0)
            .is_empty());
        a.park(1, 12, parked(0), 0);
        assert!(a
            .settle(sub(0, 1), 12, MfaMethod::Totp, true, PENDING_MS + 1, 0)
            .is_empty());
        a.park(1, 13, parked(0), 0);
        assert_eq!(
            a.settle(sub(0, 1), 13, MfaMethod::Webauthn, true, PENDING_MS, 0),
            vec![(7, 9, Value::None)]
        );
        assert!(a.is_empty());
    }

    #[test]
    fn parked_admissions_expire_and_are_capped() {
        let mut a = Admissions::default();
        a.park(1, 1, parked(0), 0);
        a.park(1, 2, parked(100), 0);
        a.park(1, 3, parked(200), 101);
        assert_eq!(a.len(), 1, "parked before the horizon are forgotten");
        // Many services, many accounts: the overall cap holds.
        for i in 0..(MAX_PARKED as u64 + 5) {
            a.park(sub(i % 8, i).key, 100 + i, parked(1_000 + i as i64), 0);
        }
        assert_eq!(a.len(), MAX_PARKED);
        assert_eq!(a.by_time.len(), MAX_PARKED);
        assert_eq!(
            a.by_service.values().map(BTreeSet::len).sum::<usize>(),
            MAX_PARKED
        );
        assert!(a
            .settle(sub(0, 1), 3, MfaMethod::Totp, true, 300, 0)
            .is_empty());
    }

    #[test]
    fn one_account_or_one_service_pushes_out_only_its_own() {
        let mut a = Admissions::default();
        // Another tenant's holder is waiting for a step-up.
        a.park(sub(2, 7).key, 1, parked(0), 0);
        // One account parks many: only its own oldest go.
        for i in 0..100u64 {
            a.park(sub(1, 1).key, 10 + i, parked(1 + i as i64), 0);
        }
        let mine = |a: &Admissions, s: Subject| {
            a.parked
                .range((s.key, 0)..=(s.key, u64::MAX))
                .map(|(k, _)| k.1)
                .collect::<Vec<_>>()
        };
        assert_eq!(mine(&a, sub(1, 1)), (94..110).collect::<Vec<_>>());
        // One tenant parks past its share across accounts: its own go.
        for i in 0..(MAX_PARKED_PER_SERVICE as u64 + 100) {
            a.park(sub(1, 1_000 + i).key, 5, parked(200 + i as i64), 0);
        }
        assert_eq!(a.by_service[&1].len(), MAX_PARKED_PER_SERVICE);
        assert_eq!(a.len(), MAX_PARKED_PER_SERVICE + 1);
        // The other tenant's admission still settles.
        assert_eq!(
            a.settle(sub(2, 7), 1, MfaMethod::Totp, true, 5, 0),
            vec![(7, 9, Value::None)]
        );
        // The indexes agree after all that.
        let mut again = a.clone();
        again.recount();
        assert_eq!(again, a);
    }

    #[test]
    fn an_admission_parked_under_the_legacy_key_still_settles() {
        let mut a = Admissions::default();
        let s = Subject::of("exchange", "x-1").expect("a key");
        assert_ne!(s.key, s.legacy);
        a.park(s.legacy, 1, parked(0), 0);
        assert_eq!(
            a.settle(s, 1, MfaMethod::Totp, true, 5, 0),
            vec![(7, 9, Value::None)]
        );
    }
}
