//! `Sweeping`: a sweep spread over the events that follow it.
//!
//! A sliding store forgets the keys with nothing retained every
//! `max(length / 2, resolution)` of event time (see the crate docs). Done
//! at once, that touches every key in one call: tens of milliseconds for a
//! store of a million keys, all charged to the one event that happened to
//! make the sweep due (and to every request queued behind it).
//!
//! So the sweep is *logically* at once and *physically* spread: when it is
//! due, the store notes the sweep's span (its retention cutoff as of that
//! moment) and its time, as a full sweep would have, and from then on
//! each call sweeps a few more shards with that same span, paced by event
//! time so the whole store is done by the time the next sweep is due (a
//! store is always sweeping, a little a call, rather than sweeping all at
//! once every so often). Every result
//! is the one the full sweep would have given:
//!
//! - a key the caller updates before its shard is swept, with nothing
//!   retained as of the sweep's cutoff, is forgotten first and comes back
//!   new, as it would have after the full sweep; one with something
//!   retained is left to the update, which prunes it with the later span
//!   (dropping everything the sweep's would, and more); sweeping either
//!   again later with the sweep's span changes nothing, since everything
//!   it holds is then at or after the cutoff;
//! - a reading ignores what the sweep would have dropped anyway (it reads
//!   the window as of the watermark, which starts after the cutoff);
//! - whatever looks at the whole store (the key cap, the memory budget's
//!   ages and evictions, digests, snapshots, equality, grouping, a new
//!   seed) finishes the sweep first ([`FeatureStore::settle`] and the
//!   group's), or reads a settled copy;
//! - the number of keys and the accounted bytes a sweep in progress reports
//!   are at least the settled ones (keys it has yet to forget, buckets it
//!   has yet to drop), so a check that passes on them passes settled, and
//!   a check that fails settles and looks again.
//!
//! Which shards are swept when depends on the seed's layout; nothing else
//! does, and nothing the layout decides is observable (the crate's
//! determinism holds: `tests/determinism.rs`, `tests/sweep.rs`).
//!
//! Graph stores keep sweeping at once: a graph reading walks other nodes
//! than the ones it updates.
//!
//! [`FeatureStore::settle`]: crate::FeatureStore::settle

use std::ops::Range;

use crate::shards::{Loc, SHARDS};
use crate::state::KeyState;
use crate::window::Span;
use crate::Window;

/// A sweep in progress: its span, when it began, the next shard to sweep.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sweeping {
    pub span: Span,
    began_ms: i64,
    /// Shards below this one are swept.
    pub next: usize,
}

impl Sweeping {
    pub fn new(span: Span, began_ms: i64) -> Sweeping {
        Sweeping {
            span,
            began_ms,
            next: 0,
        }
    }

    /// The shard the sweep should have reached by `now_ms` (exclusive):
    /// the first at once, then evenly over event time, all of them an
    /// `interval` after it began, when the next sweep is due (a store
    /// updated many times a second sweeps a shard every so many calls; one
    /// updated rarely catches up in one call, as the full sweep would
    /// have).
    fn due(&self, now_ms: i64, interval_ms: i64) -> usize {
        let elapsed = i128::from(now_ms.saturating_sub(self.began_ms).max(0));
        let pace = i128::from(interval_ms.max(1));
        let shards = SHARDS as i128;
        (1 + elapsed * shards / pace).min(shards) as usize
    }

    /// The shards to sweep now (possibly none), and the sweep left after
    /// them (`None` when they are the last).
    pub fn advance(self, now_ms: i64, interval_ms: i64) -> (Range<usize>, Option<Sweeping>) {
        let due = self.due(now_ms, interval_ms).max(self.next);
        let rest = (due < SHARDS).then_some(Sweeping { next: due, ..self });
        (self.next..due, rest)
    }
}

/// True when `sweeping` (if any) would have forgotten the located key
/// holding `k`: its shard not yet swept, nothing retained as of the
/// sweep's cutoff.
pub(crate) fn forgets(sweeping: Option<Sweeping>, loc: Loc, k: &KeyState) -> bool {
    sweeping.is_some_and(|sw| loc.index() >= sw.next && !k.state.is_live(sw.span.cutoff))
}

/// How often a store with `window` sweeps (`None`: never, an `Ever` window).
pub(crate) fn interval_ms(window: Window) -> Option<i64> {
    match window {
        Window::Sliding {
            length_ms,
            resolution_ms,
        } => Some((length_ms / 2).max(resolution_ms)),
        Window::Ever => None,
    }
}
