//! Rules: names, actions, scores, reasons and the `when` expression.

use super::exprs::{expr, kinds, ExprContext};
use super::{check_name, Problems};
use crate::action::Action;
use crate::fields::KnownFields;
use crate::pack::Rule;
use crate::source::RuleSource;
use sekimori_event::MfaMethod;
use std::collections::{BTreeMap, BTreeSet};

pub(crate) fn rules(
    src: &[RuleSource],
    known: &KnownFields,
    index: &BTreeMap<&str, usize>,
    lists: &BTreeMap<String, BTreeSet<String>>,
    p: &mut Problems,
) -> Vec<Rule> {
    let mut out: Vec<Rule> = Vec::new();
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
        let ctx = ExprContext {
            known,
            kinds: &on,
            features: Some(index),
            lists,
        };
        let Some((when, refs)) = expr(&r.when, "when", &ctx, &loc, p) else {
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
            reads,
        });
    }
    out
}

fn check_rule_action(r: &RuleSource, loc: &str, p: &mut Problems) {
    match (r.action, r.methods.is_empty(), r.halt.is_some()) {
        (Action::Challenge, true, _) => p.add(loc, "a challenge must list its `methods`"),
        (Action::Challenge, false, false) => {}
        (_, false, _) => p.add(loc, "`methods` is only for challenge"),
        (Action::Halt, _, false) => p.add(loc, "a halt must name its `halt` scope"),
        (Action::Halt, _, true) => {}
        (_, _, true) => p.add(loc, "`halt` is only for halt"),
        _ => {}
    }
    let dup: BTreeSet<&MfaMethod> = r.methods.iter().collect();
    if dup.len() != r.methods.len() {
        p.add(loc, "`methods` lists a method twice");
    }
}
