//! Rules: names, actions, scores, reasons and the `when` expression; and the
//! check that no enforced `allow` can meet a money guard.

use super::exprs::{expr, kinds, ExprContext};
use super::{check_name, Problems};
use crate::action::RuleAction;
use crate::fields::KnownFields;
use crate::pack::Rule;
use crate::params::Params;
use crate::source::RuleSource;
use sekimori_event::{EventKind, MfaMethod};
use std::collections::{BTreeMap, BTreeSet};

pub(crate) fn rules(
    src: &[RuleSource],
    known: &KnownFields,
    index: &BTreeMap<&str, usize>,
    lists: &BTreeMap<String, BTreeSet<String>>,
    params: &Params,
    conditions: &BTreeMap<String, String>,
    p: &mut Problems,
) -> Vec<Rule> {
    let mut out: Vec<Rule> = Vec::new();
    let mut types: Vec<(&RuleSource, BTreeSet<EventKind>)> = Vec::with_capacity(src.len());
    for r in src {
        let loc = format!("rule `{}`", r.name);
        check_name(&loc, &r.name, out.iter().any(|o| o.name == r.name), p);
        check_rule_action(r, &loc, p);
        if r.reason.trim().is_empty() || r.reason.len() > 512 {
            p.add(
                &loc,
                "reason must be 1 to 512 characters: it is shown to analysts",
            );
        }
        if !(0..=1_000).contains(&r.score) {
            p.add(&loc, "score must be 0 to 1000");
        }
        let on = kinds(&r.on, &loc, p);
        types.push((r, on.clone()));
        let ctx = ExprContext {
            known,
            kinds: &on,
            features: Some(index),
            lists,
            params: Some(params),
        };
        let when_src = match super::conditions::expand(&r.when, conditions) {
            Ok(text) => text,
            Err(e) => {
                p.add(&loc, format!("when {e}"));
                continue;
            }
        };
        let Some((when, refs)) = expr(&when_src, "when", &ctx, &loc, p) else {
            continue;
        };
        let reads = refs
            .features
            .iter()
            .filter_map(|f| index.get(f.as_str()).copied())
            .collect();
        out.push(Rule {
            name: r.name.clone(),
            on,
            when,
            action: r.action,
            methods: r.methods.clone(),
            halt: r.halt,
            score: r.score,
            reason: r.reason.trim().to_string(),
            shadow: r.shadow,
            guard: r.guard,
            learn_when_observed: r.learn_when_observed,
            reads,
        });
    }
    check_allow_meets_no_guard(&types, p);
    out
}

fn check_rule_action(r: &RuleSource, loc: &str, p: &mut Problems) {
    match (r.action, r.methods.is_empty(), r.halt.is_some()) {
        (RuleAction::Challenge, true, _) => p.add(loc, "a challenge must list its `methods`"),
        (RuleAction::Challenge, false, false) => {}
        (_, false, _) => p.add(loc, "`methods` is only for challenge"),
        (RuleAction::Halt, _, false) => p.add(loc, "a halt must name its `halt` scope"),
        (RuleAction::Halt, _, true) => {}
        (_, _, true) => p.add(loc, "`halt` is only for halt"),
        _ => {}
    }
    let dup: BTreeSet<&MfaMethod> = r.methods.iter().collect();
    if dup.len() != r.methods.len() {
        p.add(loc, "`methods` lists a method twice");
    }
    if r.learn_when_observed && r.action != RuleAction::Challenge {
        p.add(
            loc,
            format!(
                "`learn_when_observed` is only for challenge, not {}",
                r.action.name()
            ),
        );
    }
    if r.guard && matches!(r.action, RuleAction::Allow | RuleAction::Flag) {
        p.add(
            loc,
            format!(
                "a guard must challenge, review, deny, freeze or halt, not {}",
                r.action.name()
            ),
        );
    }
}

/// An enforced `allow` overrides challenges, reviews and denials, so it must
/// never be able to fire on an event a money guard judges: every enforced
/// `allow` rule that shares an event type with a guard rule (shadow or not: a
/// shadow guard is one about to be enforced) is refused, naming both.
fn check_allow_meets_no_guard(types: &[(&RuleSource, BTreeSet<EventKind>)], p: &mut Problems) {
    let guards: Vec<_> = types.iter().filter(|(r, _)| r.guard).collect();
    if guards.is_empty() {
        return;
    }
    for (allow, on) in types
        .iter()
        .filter(|(r, _)| r.action == RuleAction::Allow && !r.shadow)
    {
        for (guard, guard_on) in &guards {
            let shared: Vec<&str> = on.intersection(guard_on).map(|k| k.as_str()).collect();
            if shared.is_empty() {
                continue;
            }
            p.add(
                &format!("rule `{}`", allow.name),
                format!(
                    "an enforced allow may not fire on {}, where guard rule `{}` holds money: \
                     no allow may override a money guard (use `flag` to add a reason, \
                     narrow `on`, or make the allow shadow)",
                    shared
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    guard.name
                ),
            );
        }
    }
}
