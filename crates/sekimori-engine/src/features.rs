//! Step one of a decision: update the features this event feeds and read the
//! ones its rules need, each exactly once.

mod memo;

use crate::decision::{EvalError, FeatureNames, Features};
use crate::risk::Values;
use crate::state::State;
use crate::view::part_hash;
use memo::{Memo, Shared};
use sekimori_event::EventKind;
use sekimori_rules::{EventRef, Feature, ListValues, Pack, Plan, Vars};
use sekimori_window::{Aggregate, Obs, ObsValue, Read, Reading};
use serde_json::Value as Json;
use std::sync::Arc;

/// What the feature step precomputes once per pack: the features' names
/// (shared by every decision's record) and, per event type, which slots
/// its rules read and which slots its record can hold, in name order.
#[derive(Debug)]
pub(crate) struct Layout {
    pub names: Arc<FeatureNames>,
    kinds: Vec<KindLayout>,
    /// The key lists and filters features share.
    shared: Shared,
}

/// One event type's part of the [`Layout`].
#[derive(Debug, Default, Clone)]
pub(crate) struct KindLayout {
    /// `reads[i]`: whether the type's rules read feature `i`.
    reads: Vec<bool>,
    /// Every slot a decision of the type can set (the features it reads
    /// or updates), in name order.
    record: Vec<u32>,
}

impl Layout {
    pub fn new(pack: &Pack) -> Layout {
        let names = FeatureNames::new(pack.features.iter().map(|f| f.name.clone()).collect());
        let n = pack.features.len();
        let size = EventKind::ALL.iter().map(|&k| k as usize + 1).max();
        let mut kinds = vec![KindLayout::default(); size.unwrap_or(0)];
        for &kind in EventKind::ALL {
            let plan = pack.plan(kind);
            let mut reads = vec![false; n];
            let mut record = vec![false; n];
            for &fi in &plan.reads {
                reads[fi] = true;
                record[fi] = true;
            }
            for &fi in &plan.updates {
                record[fi] = true;
            }
            let mut record: Vec<u32> = (0..n)
                .filter(|&fi| record[fi])
                .filter_map(|fi| u32::try_from(fi).ok())
                .collect();
            names.sort_by_name(&mut record);
            kinds[kind as usize] = KindLayout { reads, record };
        }
        Layout {
            names,
            kinds,
            shared: Shared::new(pack),
        }
    }

    /// The layout of events of type `kind`.
    pub fn kind(&self, kind: EventKind) -> &KindLayout {
        &self.kinds[kind as usize]
    }
}

impl KindLayout {
    fn reads(&self, fi: usize) -> bool {
        self.reads.get(fi).copied().unwrap_or(false)
    }
}

/// What the feature step reuses from one decision to the next: the slot
/// array (every slot `None` between decisions) and the memo.
#[derive(Debug, Default)]
pub(crate) struct Scratch {
    slots: Vec<Option<Json>>,
    memo: Memo,
}

/// The values read for one decision: one slot per feature of the pack, by
/// index (the rules' `features.name` is bound to the slot when the pack
/// compiles).
#[derive(Debug, Default)]
pub(crate) struct FeatureValues {
    slots: Vec<Option<Json>>,
    memo: Memo,
    /// Risk features this event may teach once it is decided:
    /// (feature index, subject, attribute values).
    pub learn: Vec<(usize, u128, Values)>,
    /// Updates of `counts: allowed | unrefused` features, applied once the
    /// decision admits them: (feature index, key, observation).
    pub deferred: Vec<(usize, u128, Obs)>,
}

impl FeatureValues {
    /// Applies the event to every feature it feeds, then reads the plan's
    /// features. `scratch` is the engine's, reused ([`FeatureValues::into_record`]
    /// gives it back).
    #[allow(clippy::too_many_arguments)]
    pub fn compute(
        scratch: Scratch,
        pack: &Pack,
        shape: &Layout,
        layout: &KindLayout,
        state: &mut State,
        plan: &Plan,
        lists: &ListValues,
        event: &EventRef<'_>,
        effective_ms: i64,
        errors: &mut Vec<EvalError>,
    ) -> FeatureValues {
        let now = state.watermark_ms;
        let vars = Vars::typed(event, &[], &pack.features, lists);
        let Scratch {
            mut slots,
            mut memo,
        } = scratch;
        memo.start(&shape.shared);
        let shared = &shape.shared;
        // Every slot a decision sets is in its type's `record`, and
        // `into_record` takes them all: the array comes back empty. Should
        // that ever break, release builds clear it too, so no value of one
        // event is read by the next event's rules.
        debug_assert!(slots.iter().all(Option::is_none));
        if slots.len() != pack.features.len() || slots.iter().any(Option::is_some) {
            slots.clear();
            slots.resize(pack.features.len(), None);
        }
        let mut out = FeatureValues {
            slots,
            memo,
            ..FeatureValues::default()
        };
        for &fi in &plan.updates {
            let f = &pack.features[fi];
            if let Some(attributes) = &f.risk {
                match risk(f, fi, attributes, state, &vars, shared, &mut out.memo) {
                    Ok(Some((subject, values, score, learn))) => {
                        out.set(fi, Json::from(score));
                        if learn {
                            out.learn.push((fi, subject, values));
                        }
                    }
                    Ok(None) => {
                        out.set(fi, Json::from(0));
                    }
                    Err(e) => {
                        out.set(fi, Json::from(0));
                        errors.push(feature_error(f, e));
                    }
                }
                continue;
            }
            if f.profile.is_some() {
                let learn = Some(&mut out.deferred);
                let memo = (shared, &mut out.memo);
                let read =
                    profile(f, fi, state, &vars, effective_ms, learn, memo).unwrap_or_else(|e| {
                        errors.push(feature_error(f, e));
                        Json::Null
                    });
                if layout.reads(fi) {
                    out.set(fi, read);
                }
                continue;
            }
            if f.config.aggregate == Aggregate::Graph {
                // A graph keeps a store of its own.
                let Some(store) = state.stores.solo_mut(&f.spec_digest) else {
                    continue;
                };
                let read = crate::graph::apply(f, store, &vars, event.event(), effective_ms, now)
                    .unwrap_or_else(|e| {
                        errors.push(feature_error(f, e));
                        Json::Null
                    });
                if layout.reads(fi) {
                    out.set(fi, read);
                }
                continue;
            }
            let Some(mut store) = state.stores.get_mut(&f.spec_digest) else {
                continue;
            };
            let key = match out.memo.key(shared, fi, f, &vars) {
                Ok(k) => k,
                Err(e) => {
                    errors.push(feature_error(f, e));
                    None
                }
            };
            let obs = match observation(f, fi, &vars, effective_ms, shared, &mut out.memo) {
                Ok(o) => o,
                Err(e) => {
                    errors.push(feature_error(f, e));
                    None
                }
            };
            let read = match (f.counts, key, obs) {
                (
                    sekimori_rules::Counts::Allowed | sekimori_rules::Counts::Unrefused,
                    Some(k),
                    obs,
                ) => {
                    if let Some(o) = obs {
                        out.deferred.push((fi, k, o));
                    }
                    Some(store.read(k, now))
                }
                (_, key, obs) => key.map(|k| store.apply(k, obs, now)),
            };
            if layout.reads(fi) {
                out.set(fi, to_json(read, f));
            }
        }
        // The features read and not updated above (a read the update loop
        // made has set its slot; one whose store is missing has not).
        for &fi in &plan.reads {
            if out.slots[fi].is_some() {
                continue;
            }
            let f = &pack.features[fi];
            if f.profile.is_some() {
                let memo = (shared, &mut out.memo);
                let read =
                    profile(f, fi, state, &vars, effective_ms, None, memo).unwrap_or_else(|e| {
                        errors.push(feature_error(f, e));
                        Json::Null
                    });
                out.set(fi, read);
                continue;
            }
            if let (Aggregate::Graph, Some(store)) =
                (f.config.aggregate, state.stores.solo(&f.spec_digest))
            {
                let read = crate::graph::read(f, store, &vars, now);
                out.set(fi, read);
                continue;
            }
            let key = out.memo.key(shared, fi, f, &vars);
            let read = match (key, state.stores.get(&f.spec_digest)) {
                (Ok(Some(k)), Some(store)) => Some(store.read(k, now)),
                _ => None,
            };
            out.set(fi, to_json(read, f));
        }
        out
    }

    /// Records feature `fi`'s value (a second value replaces the first, as
    /// a map insert does).
    fn set(&mut self, fi: usize, value: Json) {
        self.slots[fi] = Some(value);
    }

    /// The slots, for the rules ([`Vars::typed`]).
    pub fn slots(&self) -> &[Option<Json>] {
        &self.slots
    }

    /// Applies the deferred updates the decision `action` admits. For a
    /// `challenge`, returns the `counts: allowed` updates instead, to be
    /// parked until the step-up passes (see `admit`).
    pub fn commit(
        deferred: Vec<(usize, u128, Obs)>,
        action: sekimori_rules::Action,
        pack: &Pack,
        state: &mut State,
    ) -> Vec<crate::admit::Update> {
        let now = state.watermark_ms;
        let mut parked = Vec::new();
        for (fi, key, obs) in deferred {
            let f = &pack.features[fi];
            if !f.counts.admits(action) {
                if action == sekimori_rules::Action::Challenge
                    && f.counts == sekimori_rules::Counts::Allowed
                {
                    parked.push((f.spec_digest, key, obs.value.into()));
                }
                continue;
            }
            if let Some(store) = state.profiles.get_mut(&f.spec_digest) {
                store.learn(key, obs_int(obs.value), obs.at_ms);
            } else if let Some(mut store) = state.stores.get_mut(&f.spec_digest) {
                store.apply(key, Some(obs), now);
            }
        }
        parked
    }

    /// Applies the updates of a challenged event whose step-up passed, at
    /// `at_ms` (the step-up result's effective time). A feature the live
    /// pack no longer keeps is skipped.
    pub fn admit(updates: Vec<crate::admit::Update>, at_ms: i64, state: &mut State) {
        let now = state.watermark_ms;
        for (digest, key, value) in updates {
            if let Some(store) = state.profiles.get_mut(&digest) {
                store.learn(key, obs_int(value.into()), at_ms);
            } else if let Some(mut store) = state.stores.get_mut(&digest) {
                let obs = Obs {
                    at_ms,
                    value: value.into(),
                };
                store.apply(key, Some(obs), now);
            }
        }
    }

    /// The values for the decision record (by name: `names` are the pack's
    /// feature names; `layout` the event type's), and the slot array
    /// emptied for the next decision.
    pub fn into_record(
        mut self,
        names: &Arc<FeatureNames>,
        layout: &KindLayout,
    ) -> (Features, Scratch) {
        let mut values = Vec::with_capacity(layout.record.len());
        for &slot in &layout.record {
            if let Some(v) = self.slots.get_mut(slot as usize).and_then(Option::take) {
                values.push((slot, v));
            }
        }
        debug_assert!(
            self.slots.iter().all(Option::is_none),
            "a feature outside the type's record was set"
        );
        let scratch = Scratch {
            slots: self.slots,
            memo: self.memo,
        };
        (Features::from_sorted(Arc::clone(names), values), scratch)
    }
}

/// Scores the event against its subject's profile: (subject, values, score,
/// whether the filter lets it teach the profile). `None` without a subject.
fn risk(
    f: &Feature,
    fi: usize,
    attributes: &[Vec<sekimori_rules::Expr>],
    state: &State,
    vars: &Vars<'_>,
    shared: &Shared,
    memo: &mut Memo,
) -> Result<Option<(u128, Values, i64, bool)>, String> {
    let Some(subject) = memo.key(shared, fi, f, vars)? else {
        return Ok(None);
    };
    let mut values = Vec::with_capacity(attributes.len());
    for levels in attributes {
        let mut hashes = Vec::with_capacity(levels.len());
        for level in levels {
            // A missing value is a value of its own ("none"), not the end
            // of the hierarchy: a client that leaves out its device or
            // country must not look neutral.
            let part = level.eval_part(vars)?;
            if part.is_null() {
                hashes.push(xxhash_rust::xxh3::xxh3_64("\u{0}none".as_bytes()));
            } else {
                hashes.push(part_hash(&part));
            }
        }
        values.push(hashes);
    }
    let score = state
        .risk
        .get(&f.spec_digest)
        .map_or(0, |s| s.score(subject, &values));
    let learn = memo.filter(shared, fi, f, vars)?;
    Ok(Some((subject, values, score, learn)))
}

/// An entity profile (`amounts`, `hours`): reads where this event stands
/// in the key's history, then learns it (at once for `counts: all`; else
/// deferred, like a window's update, when `deferred` is given). A read
/// without a key reads an empty history.
fn profile(
    f: &Feature,
    fi: usize,
    state: &mut State,
    vars: &Vars<'_>,
    at_ms: i64,
    deferred: Option<&mut Vec<(usize, u128, Obs)>>,
    (shared, memo): (&Shared, &mut Memo),
) -> Result<Json, String> {
    let key = memo.key(shared, fi, f, vars)?;
    let value = match &f.of {
        Some(of) => of.eval_part(vars)?.as_i64()?,
        None => None,
    };
    let Some(store) = state.profiles.get_mut(&f.spec_digest) else {
        return Ok(Json::Null);
    };
    let Some(key) = key else {
        return Ok(crate::profiles::ProfileStore::new(store.kind(), 1).read(0, value, at_ms));
    };
    let read = store.read(key, value, at_ms);
    let Some(deferred) = deferred else {
        return Ok(read);
    };
    let learns = memo.filter(shared, fi, f, vars)?;
    if learns && (value.is_some() || f.of.is_none()) {
        if f.counts.is_all() {
            store.learn(key, value, at_ms);
        } else {
            let value = value.map_or(ObsValue::None, ObsValue::Int);
            deferred.push((fi, key, Obs { at_ms, value }));
        }
    }
    Ok(read)
}

fn obs_int(v: ObsValue) -> Option<i64> {
    match v {
        ObsValue::Int(i) => Some(i),
        _ => None,
    }
}

fn feature_error(f: &Feature, error: String) -> EvalError {
    EvalError {
        source: format!("feature {}", f.name),
        error,
    }
}

/// What this event contributes, or `None` when the filter rejects it or the
/// value is null.
fn observation(
    f: &Feature,
    fi: usize,
    vars: &Vars<'_>,
    at_ms: i64,
    shared: &Shared,
    memo: &mut Memo,
) -> Result<Option<Obs>, String> {
    if !memo.filter(shared, fi, f, vars)? {
        return Ok(None);
    }
    let value = match (f.config.aggregate, &f.of) {
        (Aggregate::Sum | Aggregate::Min | Aggregate::Max, Some(of)) => {
            match of.eval_part(vars)?.as_i64()? {
                None => return Ok(None),
                Some(v) => ObsValue::Int(v),
            }
        }
        (Aggregate::DistinctCount { .. }, Some(of)) => {
            let part = of.eval_part(vars)?;
            if part.is_null() {
                return Ok(None);
            }
            ObsValue::Hash(part_hash(&part))
        }
        _ => ObsValue::None,
    };
    Ok(Some(Obs { at_ms, value }))
}

fn to_json(read: Option<Read>, f: &Feature) -> Json {
    match read.map(|r| r.reading) {
        Some(Reading::Int(v)) => Json::from(v),
        Some(Reading::Null) => Json::Null,
        None => match f.config.aggregate {
            Aggregate::Count | Aggregate::Sum | Aggregate::DistinctCount { .. } => Json::from(0),
            _ => Json::Null,
        },
    }
}
