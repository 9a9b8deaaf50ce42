//! Features: names, types, expressions, windows and limits.

use super::exprs::{expr, kinds, ExprContext};
use super::{check_name, Problems};
use crate::duration::parse_ms;
use crate::expr::Expr;
use crate::fields::KnownFields;
use crate::pack::{Feature, ProfileKind};
use crate::params::Params;
use crate::source::{AggregateName, FeatureSource};
use sekimori_window::{Aggregate, FeatureConfig, FeatureStore, Window};
use std::collections::{BTreeMap, BTreeSet};
use xxhash_rust::xxh3::xxh3_64;

const DEFAULT_MAX_KEYS: usize = 1_000_000;
const DEFAULT_EXACT_LIMIT: u32 = 1_000;
const MAX_WINDOW_MS: i64 = 90 * 86_400_000;

pub(crate) fn features(
    src: &[FeatureSource],
    known: &KnownFields,
    lists: &BTreeMap<String, BTreeSet<String>>,
    lateness_ms: i64,
    params: &Params,
    conditions: &BTreeMap<String, String>,
    p: &mut Problems,
) -> Vec<Feature> {
    let mut out: Vec<Feature> = Vec::new();
    for f in src {
        let loc = format!("feature `{}`", f.name);
        check_name(&loc, &f.name, out.iter().any(|o| o.name == f.name), p);
        let on = kinds(&f.on, &loc, p);
        let ctx = ExprContext {
            known,
            kinds: &on,
            features: None,
            lists,
            params: None,
        };
        // A filter may read params (a band under a money threshold): the
        // values it reads are part of the feature's spec below, so a
        // changed value starts the feature afresh.
        let filter_ctx = ExprContext {
            params: Some(params),
            ..ctx
        };
        // Named conditions expand first; the spec then has the expanded
        // text (only when it reads one: other specs are as before).
        let filter_src = match f
            .filter
            .as_deref()
            .map(|s| super::conditions::expand(s, conditions))
        {
            Some(Ok(text)) => Some(text),
            Some(Err(e)) => {
                p.add(&loc, format!("filter {e}"));
                None
            }
            None => None,
        };
        let expanded = filter_src
            .as_ref()
            .filter(|t| matches!(t, std::borrow::Cow::Owned(_)))
            .map(|t| t.to_string());
        let filter = filter_src
            .as_deref()
            .and_then(|s| expr(s, "filter", &filter_ctx, &loc, p))
            .map(|x| x.0);
        let filter_params = filter_src.as_deref().and_then(|s| params_read(s, params));
        if f.key.is_empty() || f.key.len() > 4 {
            p.add(&loc, "key must have 1 to 4 parts");
        }
        let key: Vec<Expr> = f
            .key
            .iter()
            .filter_map(|k| expr(k, "key", &ctx, &loc, p))
            .map(|x| x.0)
            .collect();
        let needs_of = matches!(
            f.aggregate,
            AggregateName::Sum
                | AggregateName::Min
                | AggregateName::Max
                | AggregateName::DistinctCount
                | AggregateName::Graph
                | AggregateName::Amounts
        );
        let of = match (&f.of, needs_of) {
            (Some(s), true) => expr(s, "of", &ctx, &loc, p).map(|x| x.0),
            (None, true) => {
                p.add(
                    &loc,
                    format!(
                        "aggregate {:?} needs `of`, the value to aggregate",
                        f.aggregate
                    ),
                );
                None
            }
            (Some(_), false) => {
                p.add(
                    &loc,
                    "`of` is only for sum, min, max, distinct_count, graph and amounts",
                );
                None
            }
            (None, false) => None,
        };
        let risk = risk_attributes(f, &ctx, &loc, p);
        let Some(config) = feature_config(f, lateness_ms, &loc, p) else {
            continue;
        };
        let mut spec = serde_json::to_vec(&(
            &f.name,
            &f.on,
            expanded.as_ref().or(f.filter.as_ref()),
            &f.key,
            &f.of,
            f.aggregate,
            &config,
            &f.attributes,
            f.counts,
        ))
        .unwrap_or_default();
        if let Some(values) = &filter_params {
            spec.extend(serde_json::to_vec(values).unwrap_or_default());
        }
        if f.aggregate == AggregateName::Graph {
            graph_checks(f, &loc, p);
        }
        let profile = profile_kind(f, &loc, p);
        if !f.counts.is_all() && f.aggregate == AggregateName::Risk {
            p.add(
                &loc,
                "a risk profile already learns only from allowed or stepped-up events: drop `counts`",
            );
        }
        out.push(Feature {
            name: f.name.clone(),
            on,
            filter,
            key,
            of,
            config,
            risk,
            profile,
            counts: f.counts,
            spec_digest: xxh3_64(&spec),
        });
    }
    out
}

/// The values of the params an expression names (`params.x`), in name
/// order: a feature's spec includes them, so its state is kept across packs
/// only while they are unchanged. `None` when it names none (the spec of a
/// feature without params is as before params existed).
fn params_read(src: &str, params: &Params) -> Option<Vec<String>> {
    let mut names = BTreeSet::new();
    let mut rest = src;
    while let Some(i) = rest.find("params.") {
        let before = rest[..i].chars().next_back();
        let tail = &rest[i + "params.".len()..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        if !before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
            names.insert(&tail[..end]);
        }
        rest = &tail[end..];
    }
    if names.is_empty() {
        return None;
    }
    Some(
        names
            .into_iter()
            .map(|n| format!("{n}={:?}", params.get(n)))
            .collect(),
    )
}

/// The profile an `amounts` or `hours` feature keeps. Profiles remember
/// without a time window (their counts halve past a bound instead), take no
/// `exact_limit` nor `resolution`, and count only what the decision admits
/// unless told otherwise.
fn profile_kind(f: &FeatureSource, loc: &str, p: &mut Problems) -> Option<ProfileKind> {
    let kind = match f.aggregate {
        AggregateName::Amounts => ProfileKind::Amounts,
        AggregateName::Hours => ProfileKind::Hours,
        _ => return None,
    };
    if f.window != "ever" {
        p.add(
            loc,
            "a profile keeps a bounded history without expiry (its counts halve): window must be `ever`",
        );
    }
    if f.exact_limit.is_some() || f.resolution.is_some() {
        p.add(loc, "`exact_limit` and `resolution` are not for profiles");
    }
    Some(kind)
}

/// A graph keeps every edge (its state is both ends' history), over a
/// sliding window whose resolution is the period fans are counted in.
fn graph_checks(f: &FeatureSource, loc: &str, p: &mut Problems) {
    if !f.counts.is_all() {
        p.add(loc, "a graph records every edge: drop `counts`");
    }
    if f.window == "ever" {
        p.add(
            loc,
            "a graph needs a sliding window (its resolution is the period fans are counted in)",
        );
    }
    if f.exact_limit.is_some() {
        p.add(loc, "`exact_limit` is only for distinct_count");
    }
}

/// The attribute hierarchies of a `risk` feature; `attributes` anywhere else
/// is a mistake.
fn risk_attributes(
    f: &FeatureSource,
    ctx: &ExprContext<'_>,
    loc: &str,
    p: &mut Problems,
) -> Option<Vec<Vec<Expr>>> {
    if f.aggregate != AggregateName::Risk {
        if !f.attributes.is_empty() {
            p.add(loc, "`attributes` is only for aggregate risk");
        }
        return None;
    }
    if f.window != "ever" {
        p.add(
            loc,
            "a risk profile keeps history without expiry: window must be `ever`",
        );
    }
    if f.attributes.is_empty() || f.attributes.len() > 8 {
        p.add(loc, "risk needs 1 to 8 attribute hierarchies");
    }
    let mut out = Vec::new();
    for (i, levels) in f.attributes.iter().enumerate() {
        if levels.is_empty() || levels.len() > 6 {
            p.add(
                loc,
                format!("attribute hierarchy {i} must have 1 to 6 levels"),
            );
        }
        out.push(
            levels
                .iter()
                .filter_map(|s| expr(s, "attributes", ctx, loc, p))
                .map(|x| x.0)
                .collect(),
        );
    }
    Some(out)
}

fn feature_config(
    f: &FeatureSource,
    lateness_ms: i64,
    loc: &str,
    p: &mut Problems,
) -> Option<FeatureConfig> {
    let window = match f.window.as_str() {
        "ever" => Ok(Window::Ever),
        w => parse_ms(w).and_then(|len| {
            if !(1_000..=MAX_WINDOW_MS).contains(&len) {
                return Err(format!("window `{w}` must be between 1s and 90d"));
            }
            match f.resolution.as_deref().map(parse_ms) {
                None => Window::sliding_default(len).map_err(|e| e.to_string()),
                Some(Ok(res)) => Window::sliding(len, res).map_err(|e| e.to_string()),
                Some(Err(e)) => Err(e),
            }
        }),
    };
    let window = window.map_err(|e| p.add(loc, e)).ok()?;
    let exact_limit = f.exact_limit.unwrap_or(DEFAULT_EXACT_LIMIT);
    if !(1..=100_000).contains(&exact_limit) {
        p.add(loc, "exact_limit must be 1 to 100000");
    }
    let aggregate = match f.aggregate {
        AggregateName::Count => Aggregate::Count,
        AggregateName::Sum => Aggregate::Sum,
        AggregateName::Min => Aggregate::Min,
        AggregateName::Max => Aggregate::Max,
        AggregateName::DistinctCount => Aggregate::DistinctCount { exact_limit },
        AggregateName::FirstSeen => Aggregate::FirstSeen,
        AggregateName::LastSeen
        | AggregateName::Risk
        | AggregateName::Amounts
        | AggregateName::Hours => Aggregate::LastSeen,
        AggregateName::Graph => Aggregate::Graph,
    };
    let max_keys = f.max_keys.unwrap_or(DEFAULT_MAX_KEYS);
    if !(1..=100_000_000).contains(&max_keys) {
        p.add(loc, "max_keys must be 1 to 100000000");
    }
    let config = FeatureConfig {
        window,
        aggregate,
        max_keys,
        lateness_ms,
    };
    FeatureStore::new(config)
        .map_err(|e| p.add(loc, e.to_string()))
        .ok()?;
    Some(config)
}
