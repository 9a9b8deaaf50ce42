//! `Group`'s sweeps, member by member: begun when due, spread over the
//! calls that follow, settled when something needs the member exact; the
//! same as [`FeatureStore`](crate::FeatureStore)'s (`sweep`).

use std::borrow::Cow;
use std::ops::Range;

use super::Group;
use crate::shards::{Loc, SHARDS};
use crate::state::{KeyState, State};
use crate::sweep::{self, Sweeping};
use crate::window::Span;
use crate::{Key, Window};

impl Group {
    /// [`FeatureStore::settle`](crate::FeatureStore::settle) for every member.
    pub fn settle(&mut self) {
        for m in 0..self.members.len() {
            self.settle_member(m);
        }
    }

    /// [`FeatureStore::settle`](crate::FeatureStore::settle) for member `m`.
    pub fn settle_member(&mut self, m: usize) {
        if let Some(sw) = self.members[m].sweeping.take() {
            self.sweep_shards(m, sw.next..SHARDS, &sw.span);
        }
    }

    /// True while member `m` has a sweep in progress.
    pub fn is_sweeping(&self, m: usize) -> bool {
        self.members[m].sweeping.is_some()
    }

    /// This group with member `m` settled: itself when it has no sweep in
    /// progress, else a copy (shards copied on write).
    pub(crate) fn settled(&self, m: usize) -> Cow<'_, Group> {
        if self.members[m].sweeping.is_none() {
            return Cow::Borrowed(self);
        }
        let mut copy = self.clone();
        copy.settle_member(m);
        Cow::Owned(copy)
    }

    /// [`FeatureStore`](crate::FeatureStore)'s `tracked` for member `m`.
    pub(super) fn tracked(&self, m: usize, loc: Loc, key: &Key) -> Option<&KeyState> {
        let k = self.records.get_in(loc, key)?.get(m)?;
        (!sweep::forgets(self.members[m].sweeping, loc, k)).then_some(k)
    }

    /// [`FeatureStore`](crate::FeatureStore)'s `forget_expired` for member `m`: a forgotten
    /// state is replaced by a new one in its record (still marked, and
    /// counted in the member's keys).
    pub(super) fn forget_expired(&mut self, m: usize, loc: Loc, key: &Key, at: i64) -> bool {
        let config = self.members[m].config;
        let forgets = |k| sweep::forgets(self.members[m].sweeping, loc, k);
        if !self
            .records
            .get_in(loc, key)
            .and_then(|r| r.get(m))
            .is_some_and(forgets)
        {
            return false;
        }
        let Some(k) = self.records.get_mut_in(loc, key).and_then(|r| r.get_mut(m)) else {
            return false;
        };
        let before = k.accounted();
        *k = KeyState {
            last_at: at,
            state: State::new(&config),
        };
        let after = k.accounted();
        let member = &mut self.members[m];
        member.accounted = member.accounted.saturating_sub(before) + after;
        true
    }

    /// [`FeatureStore`](crate::FeatureStore)'s `maybe_sweep` for member `m`.
    pub(super) fn maybe_sweep(&mut self, m: usize, now_ms: i64, span: &Span) {
        let member = &mut self.members[m];
        let Some(interval) = sweep::interval_ms(member.config.window) else {
            return;
        };
        match member.last_sweep_ms {
            None => member.last_sweep_ms = Some(now_ms),
            Some(t) if now_ms.saturating_sub(t) >= interval => {
                self.settle_member(m);
                let member = &mut self.members[m];
                member.sweeping = Some(Sweeping::new(*span, now_ms));
                member.last_sweep_ms = Some(now_ms);
            }
            Some(_) => {}
        }
        if let Some(sw) = self.members[m].sweeping {
            let (now, rest) = sw.advance(now_ms, interval);
            self.members[m].sweeping = rest;
            if !now.is_empty() {
                self.sweep_shards(m, now, &sw.span);
            }
        }
    }

    /// [`FeatureStore`](crate::FeatureStore)'s `sweep_shards` for member `m`.
    fn sweep_shards(&mut self, m: usize, range: Range<usize>, span: &Span) {
        let (mut lost, mut freed, mut kept) = (0usize, 0u64, 0u64);
        self.records.retain_member_in(
            range,
            1 << m,
            |_, r| r.has(m),
            |_, r| {
                if let Some(k) = r.get_mut(m) {
                    freed += k.accounted();
                    k.state.prune(span);
                    if k.state.is_live(span.cutoff) {
                        kept += k.accounted();
                    } else {
                        r.remove(m);
                        lost += 1;
                    }
                }
                !r.is_empty()
            },
        );
        let member = &mut self.members[m];
        member.set_len(member.len - lost);
        member.accounted = member.accounted.saturating_sub(freed) + kept;
    }

    /// Prunes member `m`'s states and forgets those with nothing left
    /// (sliding windows only), as [`FeatureStore`](crate::FeatureStore)'s sweep: at once (a
    /// sweep in progress is finished first).
    pub(super) fn sweep(&mut self, m: usize, now_ms: i64, span: &Span) {
        if self.members[m].config.window == Window::Ever {
            return;
        }
        self.settle_member(m);
        self.sweep_shards(m, 0..SHARDS, span);
        self.members[m].last_sweep_ms = Some(now_ms);
    }
}
