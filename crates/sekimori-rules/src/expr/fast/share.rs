//! Subexpressions shared across a pack's conditions, evaluated once per
//! event: when the pack compiles, every condition subtree that occurs more
//! than once among its rules (or among its feature filters) gets a slot
//! ([`Bool::Shared`]), and the first evaluation for an event keeps its
//! answer (`true`, `false` or [`Fallback`]) in the evaluation's [`Cache`]
//! (one per `Vars`, that is one per event and set of inputs). A condition
//! is a pure function of the inputs, so the kept answer is the one a
//! second evaluation would give.
//!
//! A cache belongs to the first pack that uses it ([`Cache::get`]); an
//! expression of another pack evaluated with the same inputs is evaluated
//! where it stands, never answered from the other pack's slots.

use super::boolean::Bool;
use super::*;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// A shared subexpression's place: the pack it belongs to and its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Share {
    pub owner: u64,
    pub slot: usize,
}

/// Gives every condition subtree that occurs at least twice in `programs`
/// a slot (at most [`MAX_SHARED`], the most frequent first); returns how
/// many were shared.
pub(crate) fn share(programs: &mut [&mut Bool]) -> usize {
    static OWNERS: AtomicU64 = AtomicU64::new(1);
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for p in programs.iter() {
        count(p, &mut counts);
    }
    let mut shared: Vec<(&String, &usize)> = counts.iter().filter(|(_, n)| **n >= 2).collect();
    // The most frequent first; ties in key order (deterministic).
    shared.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    shared.truncate(MAX_SHARED);
    if shared.is_empty() {
        return 0;
    }
    let slots: BTreeMap<String, usize> = shared
        .iter()
        .enumerate()
        .map(|(i, (k, _))| ((*k).clone(), i))
        .collect();
    let owner = OWNERS.fetch_add(1, Ordering::Relaxed);
    for p in programs.iter_mut() {
        wrap(p, &slots, owner);
    }
    slots.len()
}

/// The subtree's identity: its full structure (paths, literals, feature
/// slots, operators), so equal keys are equal subtrees.
fn key(b: &Bool) -> String {
    format!("{b:?}")
}

/// Whether a subtree is worth a slot: anything that reads the inputs.
fn worth(b: &Bool) -> bool {
    !matches!(b, Bool::Const(_) | Bool::Shared(..))
}

fn children(b: &Bool) -> Vec<&Bool> {
    match b {
        Bool::All(items) | Bool::Any(items) => items.iter().collect(),
        Bool::Not(x) | Bool::Shared(_, x) => vec![x],
        Bool::Cond(c, a, b) => vec![c, a, b],
        Bool::Const(_) | Bool::CmpLit { .. } | Bool::Has(..) | Bool::Value(_) => Vec::new(),
    }
}

fn count(b: &Bool, counts: &mut BTreeMap<String, usize>) {
    if worth(b) {
        *counts.entry(key(b)).or_default() += 1;
    }
    for c in children(b) {
        count(c, counts);
    }
}

fn wrap(b: &mut Bool, slots: &BTreeMap<String, usize>, owner: u64) {
    let slot = worth(b).then(|| slots.get(&key(b)).copied()).flatten();
    match b {
        Bool::All(items) | Bool::Any(items) => items.iter_mut().for_each(|x| wrap(x, slots, owner)),
        Bool::Not(x) | Bool::Shared(_, x) => wrap(x, slots, owner),
        Bool::Cond(c, x, y) => {
            wrap(c, slots, owner);
            wrap(x, slots, owner);
            wrap(y, slots, owner);
        }
        Bool::Const(_) | Bool::CmpLit { .. } | Bool::Has(..) | Bool::Value(_) => {}
    }
    if let Some(slot) = slot {
        let inner = std::mem::replace(b, Bool::Const(false));
        *b = Bool::Shared(Share { owner, slot }, Box::new(inner));
    }
}
