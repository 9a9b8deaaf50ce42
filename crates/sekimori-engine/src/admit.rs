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

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How long a challenged event waits for its step-up result (the same as a
/// login parked for the risk profiles).
pub(crate) const PENDING_MS: i64 = crate::risk::PENDING_MS;
/// Parked admissions in all; past this the oldest go first (and grant nothing).
pub(crate) const MAX_PARKED: usize = 100_000;

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
}

impl Parked {
    /// Accounted bytes of one parked admission: its entries in both maps
    /// and its vectors, from their lengths.
    fn accounted(&self) -> u64 {
        let entry = (16 + 8 + std::mem::size_of::<Parked>()) * 3 / 2 + 8;
        let by_time = (8 + 16 + 8) * 3 / 2 + 8;
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

    /// Recomputes the accounted bytes (after a restore).
    pub fn recount(&mut self) {
        self.bytes = self.parked.values().map(Parked::accounted).sum();
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

    fn forget(&mut self, subject: u128, event: u64) -> Option<Parked> {
        let p = self.parked.remove(&(subject, event))?;
        self.bytes = self.bytes.saturating_sub(p.accounted());
        Some(p)
    }

    /// Parks a challenged event's updates until its step-up result arrives.
    /// `horizon_ms`: admissions parked before it can no longer settle.
    pub fn park(&mut self, subject: u128, event: u64, parked: Parked, horizon_ms: i64) {
        self.expire(horizon_ms);
        let at_ms = parked.at_ms;
        self.bytes += parked.accounted();
        if let Some(old) = self.parked.insert((subject, event), parked) {
            self.by_time.remove(&(old.at_ms, subject, event));
            self.bytes = self.bytes.saturating_sub(old.accounted());
        }
        self.by_time.insert((at_ms, subject, event));
        while self.parked.len() > MAX_PARKED {
            let Some((_, s, e)) = self.by_time.pop_first() else {
                break;
            };
            self.forget(s, e);
        }
    }

    /// A step-up result for `subject` names the challenged event `event`:
    /// it is unparked, and its updates are returned if the step-up passed
    /// with one of the offered methods within [`PENDING_MS`] after it.
    pub fn settle(
        &mut self,
        subject: u128,
        event: u64,
        method: sekimori_event::MfaMethod,
        passed: bool,
        at_ms: i64,
        horizon_ms: i64,
    ) -> Vec<Update> {
        self.expire(horizon_ms);
        let Some(parked) = self.forget(subject, event) else {
            return Vec::new();
        };
        self.by_time.remove(&(parked.at_ms, subject, event));
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
        assert!(a.settle(2, 10, MfaMethod::Totp, true, 5, 0).is_empty());
        assert_eq!(a.len(), 1);
        // A failure unparks it: a later success grants nothing.
        assert!(a.settle(1, 10, MfaMethod::Totp, false, 5, 0).is_empty());
        assert!(a.settle(1, 10, MfaMethod::Totp, true, 6, 0).is_empty());
        // A method the challenge did not offer, or too late: nothing.
        a.park(1, 11, parked(0), 0);
        assert!(a.settle(1, 11, MfaMethod::Sms, true, 5, 0).is_empty());
        a.park(1, 12, parked(0), 0);
        assert!(a
            .settle(1, 12, MfaMethod::Totp, true, PENDING_MS + 1, 0)
            .is_empty());
        a.park(1, 13, parked(0), 0);
        assert_eq!(
            a.settle(1, 13, MfaMethod::Webauthn, true, PENDING_MS, 0),
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
        for i in 0..(MAX_PARKED as u64 + 5) {
            a.park(2, 100 + i, parked(1_000 + i as i64), 0);
        }
        assert_eq!(a.len(), MAX_PARKED);
        assert_eq!(a.by_time.len(), MAX_PARKED);
        assert!(a.settle(1, 3, MfaMethod::Totp, true, 300, 0).is_empty());
    }
}
