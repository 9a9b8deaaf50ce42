//! The memory budget: the engine's state as a whole (every feature window,
//! the login-risk profiles and population, the parked admissions) is kept
//! under a number of bytes the caller gives (a configuration value, never
//! measured here: the engine does no I/O).
//!
//! **Accounting.** Every store keeps its own accounted bytes up to date as it
//! changes (`FeatureStore::accounted_bytes`, `RiskStore::accounted_bytes`,
//! `Admissions::accounted_bytes`): a model of the footprint from lengths,
//! never capacities, so a restored snapshot accounts exactly what the live
//! engine did. After each event the engine adds them up (one read per store)
//! and compares with the budget. Holds and API list items are accounted too
//! but are never evicted.
//!
//! **Eviction.** Over budget, the engine frees down to seven eighths of it,
//! least recently touched first, by event time. Each kind of state ages at
//! its own pace, its *weight*: the effective age of an entry is its age
//! (watermark minus the event time it was last touched) divided by its
//! weight, and the entries with the largest effective age go first:
//!
//! | kind | what | weight |
//! |---|---|---|
//! | `counter` | `counts: all` features fed only by login-side events (`login.attempt`, `mfa.challenge`, `mfa.result`, `credential.change`): cheap to relearn | 1 |
//! | `window` | every other `counts: all` feature (money movement, mules, purchases, devices bound, accounts opened) | 1 |
//! | `risk_profile`, `risk_value` | login-risk profiles and population values | 1 |
//! | `window` (too) | entity profiles (`aggregate: amounts`, `hours`) | 1 |
//! | `grant` | `counts: allowed` and `unrefused` features (allow-lists, accepted requests, approvals, listed addresses, payout destinations) | 32 |
//! | `admission` | parked `counts: allowed` updates waiting for a step-up | 32 |
//! | holds | freezes and halts | never evicted |
//!
//! So an allow-list entry untouched for 32 hours goes with a login counter
//! untouched for one; among everything else, the least recently touched
//! goes first, and within the same age the cheap, short windows hold little
//! and are swept anyway. A weight above 1 goes only to what a flood cannot
//! mint in bulk (a grant needs an admitted money event). Giving windows or
//! profiles a longer life than login counters was tried and refused: a
//! flood whose logins are let through mints a profile and windows per fresh
//! account, and with weight 4 they crowded out a reverse brute force's
//! counter (one PIN across accounts every 2 s) at a 1 MB budget, which
//! weight 1 keeps (`tests/memory_budget.rs`). Under pure recency an attack's
//! counter stays as long as the budget holds the flood's state of the gap
//! between two of the attack's events.
//!
//! **Determinism.** The threshold is found from histograms of effective
//! age (sums, whatever the maps' order), and each store then forgets every
//! entry at or past it: the same pack, budget and events in the same order
//! give the same state. The budget is engine state (in snapshots) and a log
//! entry (`Entry::Pack`'s `memory_budget`), so a replay evicts as the live
//! engine did.

use crate::state::State;
use sekimori_event::EventKind;
use sekimori_rules::Feature;
use serde::{Deserialize, Serialize};

/// Kinds of evictable state, in the order of [`Evictions`]' counters.
pub const KINDS: [&str; 6] = [
    "counter",
    "window",
    "grant",
    "risk_profile",
    "risk_value",
    "admission",
];

pub(crate) const COUNTER: usize = 0;
pub(crate) const WINDOW: usize = 1;
pub(crate) const GRANT: usize = 2;
pub(crate) const RISK_PROFILE: usize = 3;
pub(crate) const RISK_VALUE: usize = 4;
pub(crate) const ADMISSION: usize = 5;

/// How fast each kind ages (see the module docs).
const WEIGHTS: [i64; 6] = [1, 1, 32, 1, 1, 32];
/// How much slower a repeated entry (the protected tier: two observations
/// or more) ages than one seen once (probation), whatever its kind.
pub(crate) const REPEATED: i64 = 16;
/// Effective ages are kept in units of 1/512 ms so every weight divides.
const SCALE: i64 = 32 * REPEATED;

/// Passes of one enforcement before it evicts every evictable entry.
const MAX_PASSES: usize = 8;

/// Accounted bytes of one hold (its key, strings and map entry).
pub(crate) const HOLD_BYTES: u64 = 256;

/// The budget and what it has evicted so far, per kind. Engine state: it is
/// in snapshots (version 6) and digested once a budget is set.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Budget {
    /// The budget in bytes; `None`: unbounded (only `max_keys` caps).
    pub bytes: Option<u64>,
    /// Entries evicted, per kind (see [`KINDS`]).
    pub evicted: [u64; 6],
    /// Accounted bytes evicted, per kind.
    pub evicted_bytes: [u64; 6],
    /// Times the budget was enforced (each frees down to 7/8 of it).
    pub runs: u64,
}

/// A snapshot of the engine's memory accounting, for telemetry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryStats {
    /// The budget in bytes, `None` when unbounded.
    pub budget_bytes: Option<u64>,
    /// Accounted bytes of all state (evictable and pinned).
    pub accounted_bytes: u64,
    /// Accounted bytes that are never evicted (holds and API list items).
    pub pinned_bytes: u64,
    /// Entries evicted by the budget, per kind, in the order of [`KINDS`].
    pub evicted: [u64; 6],
    /// Accounted bytes evicted by the budget, per kind.
    pub evicted_bytes: [u64; 6],
    /// Times the budget was enforced.
    pub runs: u64,
}

/// The kind a window feature's entries are evicted as.
pub(crate) fn kind_of(f: &Feature) -> usize {
    if !f.counts.is_all() {
        return GRANT;
    }
    let login_side = !f.on.is_empty()
        && f.on.iter().all(|k| {
            matches!(
                k,
                EventKind::LoginAttempt
                    | EventKind::MfaChallenge
                    | EventKind::MfaResult
                    | EventKind::CredentialChange
            )
        });
    if login_side {
        COUNTER
    } else {
        WINDOW
    }
}

/// The weight of an entry of `kind` in its tier.
fn weight(kind: usize, repeated: bool) -> i64 {
    WEIGHTS[kind] * if repeated { REPEATED } else { 1 }
}

/// The effective age of an entry of `kind` last touched at `at_ms`, in
/// 1/512 ms.
fn effective_age(kind: usize, repeated: bool, now_ms: i64, at_ms: i64) -> i64 {
    let age = now_ms.saturating_sub(at_ms).max(0);
    age.saturating_mul(SCALE / weight(kind, repeated))
}

/// The latest event time an entry of `kind` may have been touched at to be
/// evicted at effective age `threshold` (its effective age is at least it).
fn evict_through(kind: usize, repeated: bool, now_ms: i64, threshold: i64) -> i64 {
    let per = SCALE / weight(kind, repeated);
    // age * per >= threshold  <=>  age >= ceil(threshold / per)
    let min_age = threshold.saturating_add(per - 1) / per;
    now_ms.saturating_sub(min_age)
}

impl State {
    /// Accounted bytes that are never evicted: holds, and `list_bytes` (the
    /// API list items, which the engine accounts).
    pub fn pinned_bytes(&self, list_bytes: u64) -> u64 {
        self.holds.len() as u64 * HOLD_BYTES + list_bytes
    }

    /// Accounted bytes of everything evictable: one read per store.
    pub fn evictable_bytes(&self) -> u64 {
        let windows: u64 = self.stores.values().map(|s| s.accounted_bytes()).sum();
        let risk: u64 = self.risk.values().map(|s| s.accounted_bytes()).sum();
        let profiles: u64 = self.profiles.values().map(|s| s.accounted_bytes()).sum();
        windows + risk + profiles + self.admissions.accounted_bytes()
    }

    /// Calls `f(effective age, bytes)` for every evictable entry.
    fn visit(&self, mut f: impl FnMut(i64, u64)) {
        let now = self.watermark_ms;
        for (digest, store) in self.stores.iter() {
            let kind = self.kinds.get(&digest).copied().unwrap_or(WINDOW);
            store.for_each_tiered_age(|at, b, r| f(effective_age(kind, r, now, at), b));
        }
        for store in self.risk.values() {
            // Profiles and values share a weight.
            store.for_each_age(|at, b, r| f(effective_age(RISK_PROFILE, r, now, at), b));
        }
        // Entity profiles age as windows do (tiered: seen once or more).
        for store in self.profiles.values() {
            store.for_each_age(|at, b, r| f(effective_age(WINDOW, r, now, at), b));
        }
        // A parked admission is one observation: probation, at its weight.
        self.admissions
            .for_each_age(|at, b| f(effective_age(ADMISSION, false, now, at), b));
    }

    /// Keeps the state within the budget: when over it, evicts the entries
    /// of the largest effective age until at most 7/8 of it is used (or
    /// nothing evictable is left).
    ///
    /// An entry's bytes in the histograms are its own and its share of its
    /// store's tables, but a table shrinks only when its shard's length
    /// crosses a size (see `sekimori_window`'s accounting), so one pass can
    /// free less than it aimed at: the enforcement passes again while the
    /// state is still over the budget, and past [`MAX_PASSES`] evicts every
    /// evictable entry (the budget is a promise; the passes depend only on
    /// the state, so a replay takes the same ones).
    pub fn enforce_budget(&mut self, list_bytes: u64) {
        let Some(budget) = self.budget.bytes else {
            return;
        };
        let low = budget - budget / 8;
        let pinned = self.pinned_bytes(list_bytes);
        for pass in 0..=MAX_PASSES {
            let mut evictable = self.evictable_bytes();
            // A window store sweeping reports at least its settled bytes
            // (`sekimori_window`'s sweep): under the budget as it is, under
            // it settled; over it, settle (finishing every sweep) and look
            // again, so the evictions see exactly the state a replay's
            // would. Only the first pass can find one sweeping.
            if evictable + pinned > budget && self.stores.is_sweeping() {
                self.stores.settle();
                evictable = self.evictable_bytes();
            }
            let used = evictable + pinned;
            if used <= budget || evictable == 0 {
                return;
            }
            let threshold = if pass == MAX_PASSES {
                0
            } else {
                let target = used.saturating_sub(low).min(evictable);
                self.threshold(target, budget)
            };
            self.evict(threshold);
            if pass == 0 {
                self.budget.runs += 1;
            }
        }
    }

    /// The smallest effective age `t` such that evicting every entry of
    /// effective age `>= t` frees at least `target` bytes; found by
    /// narrowing 256-bin histograms (usually two or three passes).
    fn threshold(&self, target: u64, budget: u64) -> i64 {
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        self.visit(|age, _| {
            lo = lo.min(age);
            hi = hi.max(age);
        });
        if lo > hi {
            return 0;
        }
        // Bytes known to lie above the current range (older entries).
        let mut above = 0u64;
        loop {
            let span = i128::from(hi) - i128::from(lo) + 1;
            let width = (span + 255) / 256;
            let mut bins = [0u64; 256];
            self.visit(|age, b| {
                if (lo..=hi).contains(&age) {
                    let i = ((i128::from(age) - i128::from(lo)) / width) as usize;
                    bins[i.min(255)] += b;
                }
            });
            // From the oldest bin down, until the target is reached.
            let mut freed = above;
            let mut pick = 0;
            for i in (0..256).rev() {
                if freed + bins[i] >= target {
                    pick = i;
                    break;
                }
                freed += bins[i];
            }
            let bin_lo = (i128::from(lo) + pick as i128 * width) as i64;
            let bin_hi = (i128::from(bin_lo) + width - 1).min(i128::from(hi)) as i64;
            // Evicting the whole bin overshoots by at most its bytes: fine
            // when that is small, or when it cannot be split further.
            if width == 1 || bins[pick] <= budget / 64 {
                return bin_lo;
            }
            above = freed;
            lo = bin_lo;
            hi = bin_hi;
        }
    }

    /// Evicts every entry whose effective age is at least `threshold`.
    fn evict(&mut self, threshold: i64) {
        let now = self.watermark_ms;
        let (kinds, budget) = (&self.kinds, &mut self.budget);
        self.stores.for_each_mut(|digest, mut store| {
            let kind = kinds.get(&digest).copied().unwrap_or(WINDOW);
            let (n, b) = store.evict_tiered(
                evict_through(kind, false, now, threshold),
                evict_through(kind, true, now, threshold),
            );
            budget.evicted[kind] += n;
            budget.evicted_bytes[kind] += b;
        });
        for store in self.risk.values_mut() {
            let gone = store.evict_through(
                evict_through(RISK_PROFILE, false, now, threshold),
                evict_through(RISK_PROFILE, true, now, threshold),
            );
            self.budget.evicted[RISK_PROFILE] += gone.profiles;
            self.budget.evicted[RISK_VALUE] += gone.values;
            // Bytes are split by count (profiles and values age together).
            let profile_share = gone
                .bytes
                .saturating_sub(gone.values * crate::risk::POP_NODE_BYTES);
            self.budget.evicted_bytes[RISK_PROFILE] += profile_share;
            self.budget.evicted_bytes[RISK_VALUE] += gone.bytes - profile_share;
        }
        for store in self.profiles.values_mut() {
            let (n, b) = store.evict_through(
                evict_through(WINDOW, false, now, threshold),
                evict_through(WINDOW, true, now, threshold),
            );
            self.budget.evicted[WINDOW] += n;
            self.budget.evicted_bytes[WINDOW] += b;
        }
        let (n, b) = self
            .admissions
            .evict_through(evict_through(ADMISSION, false, now, threshold));
        self.budget.evicted[ADMISSION] += n;
        self.budget.evicted_bytes[ADMISSION] += b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effective_ages_scale_by_weight() {
        let now = 1_000_000;
        // A counter an hour old ranks with a grant 32 hours old.
        let h = 3_600_000;
        assert_eq!(
            effective_age(COUNTER, false, 40 * h, 39 * h),
            effective_age(GRANT, false, 40 * h, 8 * h)
        );
        // A repeated counter an hour old ranks with a fresh one 225 s old.
        assert_eq!(
            effective_age(COUNTER, true, 40 * h, 39 * h),
            effective_age(COUNTER, false, 40 * h, 40 * h - 225_000)
        );
        for kind in 0..6 {
            for repeated in [false, true] {
                for threshold in [0, 1, 63, 64, 65, 511, 512, 513, 12_345_678] {
                    let t = evict_through(kind, repeated, now, threshold);
                    assert!(
                        effective_age(kind, repeated, now, t) >= threshold,
                        "{kind} {threshold}"
                    );
                    assert!(
                        effective_age(kind, repeated, now, t + 1) < threshold || threshold == 0,
                        "{kind} {threshold}: the latest such time"
                    );
                }
            }
        }
    }
}
