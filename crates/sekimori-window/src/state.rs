//! Per-key state: one compact variant per (window kind, aggregate).

use serde::{Deserialize, Serialize};

use crate::digest::Digest;
use crate::distinct::{EverDistinct, SlidingDistinct};
use crate::graph::Node;
use crate::series::{saturate, Series, Wide};
use crate::window::Span;
use crate::{Aggregate, FeatureConfig, ObsValue, Read, Reading, ValueHash, Window};

/// What one observation feeds into the state, after matching it to the aggregate.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Input {
    /// Count: just the occurrence.
    Tick,
    /// Sum/Min/Max: the value; FirstSeen/LastSeen: the event time.
    Int(i64),
    /// DistinctCount: the value hash.
    Hash(ValueHash),
}

impl Input {
    /// `None` when the observation's value does not fit the aggregate (it is ignored).
    pub fn of(aggregate: Aggregate, at_ms: i64, value: ObsValue) -> Option<Input> {
        match (aggregate, value) {
            (Aggregate::Count, _) => Some(Input::Tick),
            (Aggregate::FirstSeen | Aggregate::LastSeen, _) => Some(Input::Int(at_ms)),
            (Aggregate::Sum | Aggregate::Min | Aggregate::Max, ObsValue::Int(v)) => {
                Some(Input::Int(v))
            }
            (Aggregate::DistinctCount { .. }, ObsValue::Hash(h)) => Some(Input::Hash(h)),
            _ => None,
        }
    }
}

/// Aggregate state of one key. `Low` serves Min and FirstSeen (minimum of the value or
/// of the event time), `High` serves Max and LastSeen.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum State {
    Count(Series<u64>),
    Sum(Series<Wide, 0>),
    Low(Series<i64>),
    High(Series<i64>),
    Distinct(SlidingDistinct),
    EverCount(u64),
    EverSum(Wide),
    EverLow(Option<i64>),
    EverHigh(Option<i64>),
    EverDistinct(EverDistinct),
    /// A node of the transfer graph (sliding windows only; updated through
    /// `FeatureStore::apply_edge`, never by `observe`).
    Graph(Box<Node>),
}

/// The empty reading of an aggregate (untracked key or nothing in the window).
pub(crate) fn empty_read(aggregate: Aggregate) -> Read {
    let reading = match aggregate {
        Aggregate::Count | Aggregate::Sum | Aggregate::DistinctCount { .. } => Reading::Int(0),
        Aggregate::Graph
        | Aggregate::Min
        | Aggregate::Max
        | Aggregate::FirstSeen
        | Aggregate::LastSeen => Reading::Null,
    };
    Read {
        reading,
        approximate: false,
    }
}

fn exact(reading: Reading) -> Read {
    Read {
        reading,
        approximate: false,
    }
}

fn opt(v: Option<i64>) -> Reading {
    v.map_or(Reading::Null, Reading::Int)
}

impl State {
    pub fn new(config: &FeatureConfig) -> State {
        let ever = matches!(config.window, Window::Ever);
        match (config.aggregate, ever) {
            (Aggregate::Count, false) => State::Count(Series::default()),
            (Aggregate::Sum, false) => State::Sum(Series::default()),
            (Aggregate::Min | Aggregate::FirstSeen, false) => State::Low(Series::default()),
            (Aggregate::Max | Aggregate::LastSeen, false) => State::High(Series::default()),
            (Aggregate::DistinctCount { .. }, false) => State::Distinct(SlidingDistinct::new()),
            (Aggregate::Count, true) => State::EverCount(0),
            (Aggregate::Sum, true) => State::EverSum(Wide::default()),
            (Aggregate::Min | Aggregate::FirstSeen, true) => State::EverLow(None),
            (Aggregate::Max | Aggregate::LastSeen, true) => State::EverHigh(None),
            (Aggregate::DistinctCount { .. }, true) => State::EverDistinct(EverDistinct::new()),
            (Aggregate::Graph, _) => State::Graph(Box::default()),
        }
    }

    /// Applies one input landing in `bucket` (already pruned to `span.cutoff`).
    pub fn observe(&mut self, bucket: i64, input: Input, limit: u32, span: &Span) {
        match (self, input) {
            (State::Count(s), _) => s.upsert(bucket, 1, |c| *c = c.saturating_add(1)),
            (State::Sum(s), Input::Int(v)) => {
                s.upsert(bucket, Wide::new(v.into()), |w| w.add(v.into()));
            }
            (State::Low(s), Input::Int(v)) => s.upsert(bucket, v, |m| *m = (*m).min(v)),
            (State::High(s), Input::Int(v)) => s.upsert(bucket, v, |m| *m = (*m).max(v)),
            (State::Distinct(d), Input::Hash(h)) => {
                d.observe(bucket, h, limit, span.cutoff);
                d.refresh(span);
            }
            (State::EverCount(c), _) => *c = c.saturating_add(1),
            (State::EverSum(w), Input::Int(v)) => w.add(v.into()),
            (State::EverLow(m), Input::Int(v)) => *m = Some(m.map_or(v, |x| x.min(v))),
            (State::EverHigh(m), Input::Int(v)) => *m = Some(m.map_or(v, |x| x.max(v))),
            (State::EverDistinct(d), Input::Hash(h)) => d.observe(h, limit),
            _ => {}
        }
    }

    /// The reading as of the span's window.
    pub fn read(&self, span: &Span) -> Read {
        let (s, e) = (span.start, span.end);
        match self {
            State::Count(x) => {
                let n: u64 = x
                    .range(s, e)
                    .iter()
                    .map(|c| c.1)
                    .fold(0, u64::saturating_add);
                exact(Reading::Int(i64::try_from(n).unwrap_or(i64::MAX)))
            }
            State::Sum(x) => {
                let t = x
                    .range(s, e)
                    .iter()
                    .fold(0i128, |a, c| a.saturating_add(c.1.get()));
                exact(Reading::Int(saturate(t)))
            }
            State::Low(x) => exact(opt(x.range(s, e).iter().map(|c| c.1).min())),
            State::High(x) => exact(opt(x.range(s, e).iter().map(|c| c.1).max())),
            State::Distinct(d) => {
                let (n, approximate) = d.read(span);
                Read {
                    reading: Reading::Int(n),
                    approximate,
                }
            }
            State::EverCount(c) => exact(Reading::Int(i64::try_from(*c).unwrap_or(i64::MAX))),
            State::EverSum(w) => exact(Reading::Int(saturate(w.get()))),
            State::EverLow(m) | State::EverHigh(m) => exact(opt(*m)),
            State::EverDistinct(d) => {
                let (n, approximate) = d.read();
                Read {
                    reading: Reading::Int(n),
                    approximate,
                }
            }
            State::Graph(_) => exact(Reading::Null),
        }
    }

    /// Drops buckets below `span.cutoff` (no-op for `Ever`).
    pub fn prune(&mut self, span: &Span) {
        let cutoff = span.cutoff;
        match self {
            State::Count(s) => s.prune(cutoff),
            State::Sum(s) => s.prune(cutoff),
            State::Low(s) | State::High(s) => s.prune(cutoff),
            State::Distinct(d) => d.prune(cutoff),
            State::Graph(n) => n.prune(span),
            _ => {}
        }
    }

    /// False when nothing at or above `cutoff` remains (the key can be forgotten).
    pub fn is_live(&self, cutoff: i64) -> bool {
        match self {
            State::Count(s) => s.is_live(cutoff),
            State::Sum(s) => s.is_live(cutoff),
            State::Low(s) | State::High(s) => s.is_live(cutoff),
            State::Distinct(d) => d.is_live(cutoff),
            State::Graph(n) => n.is_live(),
            _ => true,
        }
    }

    /// Puts a restored state in the form its content calls for (see
    /// `distinct`): call after [`State::is_valid_for`].
    pub fn settle(&mut self) {
        if let State::Distinct(d) = self {
            d.settle();
        }
    }

    /// True if the variant fits `config` and its internal invariants hold.
    pub fn is_valid_for(&self, config: &FeatureConfig) -> bool {
        let fresh = State::new(config);
        if std::mem::discriminant(self) != std::mem::discriminant(&fresh) {
            return false;
        }
        match self {
            State::Count(s) => s.is_sorted(),
            State::Sum(s) => s.is_sorted(),
            State::Low(s) | State::High(s) => s.is_sorted(),
            State::Distinct(d) => d.is_valid(),
            State::EverDistinct(d) => d.is_valid(),
            State::Graph(n) => n.is_valid(),
            _ => true,
        }
    }

    pub fn heap_bytes(&self) -> usize {
        match self {
            State::Count(s) => s.heap_bytes(),
            State::Sum(s) => s.heap_bytes(),
            State::Low(s) | State::High(s) => s.heap_bytes(),
            State::Distinct(d) => d.heap_bytes(),
            State::EverDistinct(d) => d.heap_bytes(),
            State::Graph(n) => n.heap_bytes(),
            _ => 0,
        }
    }

    /// Accounted heap bytes: a function of the logical state only (lengths,
    /// never capacities), so a store restored from a snapshot accounts the
    /// same bytes as the store it was taken from.
    pub fn accounted(&self) -> u64 {
        match self {
            State::Count(s) => s.accounted(),
            State::Sum(s) => s.accounted(),
            State::Low(s) | State::High(s) => s.accounted(),
            State::Distinct(d) => d.accounted(),
            State::EverDistinct(d) => d.accounted(),
            State::Graph(n) => n.accounted(),
            _ => 0,
        }
    }

    /// True when the retained state holds at least two observations
    /// (a count of two, two buckets, two distinct values): the key has
    /// earned its way out of the memory budget's probation tier. Derived
    /// from the state, so a restored snapshot ranks keys as the live store
    /// did. `Ever` sums, minima and maxima keep one value and cannot tell:
    /// they stay in probation.
    pub fn repeated(&self) -> bool {
        match self {
            State::Count(s) => {
                s.cells() >= 2 || s.range(i64::MIN, i64::MAX).iter().any(|c| c.1 >= 2)
            }
            State::Sum(s) => s.cells() >= 2,
            State::Low(s) | State::High(s) => s.cells() >= 2,
            State::Distinct(d) => d.repeated(),
            State::EverCount(c) => *c >= 2,
            State::EverSum(_) | State::EverLow(_) | State::EverHigh(_) => false,
            State::EverDistinct(d) => d.repeated(),
            State::Graph(n) => n.repeated(),
        }
    }

    pub fn digest(&self, d: &mut Digest) {
        match self {
            State::Count(s) => s.digest(d),
            State::Sum(s) => s.digest(d),
            State::Low(s) | State::High(s) => s.digest(d),
            State::Distinct(x) => x.digest(d),
            State::EverCount(c) => d.u64(*c),
            State::EverSum(w) => d.u128(w.get() as u128),
            State::EverLow(m) | State::EverHigh(m) => d.opt(*m),
            State::EverDistinct(x) => x.digest(d),
            State::Graph(n) => n.digest(d),
        }
    }
}

/// One tracked key: its state and its latest observed (clamped) event time, for LRU.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KeyState {
    pub last_at: i64,
    pub state: State,
}

impl KeyState {
    /// Accounted heap bytes of this key's state (its table slot is the
    /// store's tables', `Keys::table_bytes`).
    pub fn accounted(&self) -> u64 {
        self.state.accounted()
    }

    /// Takes an observation at (clamped) time `at`: the key was last seen
    /// no earlier than `at`, the state drops what `span` has slid past and
    /// then counts `input` (a distinct count exact up to its configured
    /// limit).
    pub fn observe(&mut self, at: i64, input: Input, config: &FeatureConfig, span: &Span) {
        self.last_at = self.last_at.max(at);
        self.state.prune(span);
        let limit = match config.aggregate {
            Aggregate::DistinctCount { exact_limit } => exact_limit,
            _ => 0,
        };
        self.state.observe(span.bucket(at), input, limit, span);
    }
}
