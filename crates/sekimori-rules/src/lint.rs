//! Warnings about packs that compile but will not hold on real traffic
//! (`sekimori rules check` prints them; publishing does not refuse them).
//!
//! `currency_literal`: a rule or feature that gates money on a literal
//! currency list or map (`event.currency in {'JPY': 0}`,
//! `{'BTC': 100000000}[event.currency]`, `event.currency == 'JPY'`) does
//! nothing in every other currency. Write the threshold as an amount param
//! and compare with `amount_at_least(amount, event.currency, params.name)`:
//! every currency with an amount or a rate gets its threshold, and any other
//! takes the pack's `unknown_currency`.

use crate::source::PackSource;

/// One warning.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Lint {
    /// `rule \`name\`` or `feature \`name\``.
    pub location: String,
    /// A stable name for the kind of warning (`currency_literal`).
    pub code: &'static str,
    pub message: String,
}

impl std::fmt::Display for Lint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.location, self.message, self.code)
    }
}

/// Every warning for a pack, in pack order: rules, then features, then
/// named conditions (a rule reading a condition is warned about once, at
/// the condition).
pub fn lint(source: &PackSource) -> Vec<Lint> {
    let mut out = Vec::new();
    let mut check = |location: String, what: &str, expr: &str| {
        for found in crate::expr::currency_literals(expr) {
            out.push(Lint {
                location: location.clone(),
                code: "currency_literal",
                message: format!(
                    "{what} {found}: money gated on a literal currency list does nothing in \
                     any other currency; write the amount as a param and compare with \
                     amount_at_least(amount, event.currency, params.name)"
                ),
            });
        }
    };
    for r in &source.rules {
        check(format!("rule `{}`", r.name), "when", &r.when);
    }
    for f in &source.features {
        if let Some(filter) = &f.filter {
            check(format!("feature `{}`", f.name), "filter", filter);
        }
    }
    for (name, text) in &source.conditions {
        check(format!("condition `{name}`"), "condition", text);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(rules: &[(&str, &str)], filter: Option<&str>) -> PackSource {
        let mut v = serde_json::json!({
            "pack": {"name": "t", "version": "1"},
            "rules": rules.iter().map(|(n, w)| serde_json::json!(
                {"name": n, "on": ["transfer"], "when": w, "action": "review", "reason": "r"}
            )).collect::<Vec<_>>(),
        });
        if let Some(f) = filter {
            v["features"] = serde_json::json!([{"name": "f", "on": ["transfer"], "filter": f,
                "key": ["event.account"], "aggregate": "count", "window": "1h"}]);
        }
        serde_json::from_value(v).expect("a pack source")
    }

    #[test]
    fn literal_currency_gates_are_reported() {
        let source = pack(
            &[
                (
                    "in_map",
                    "event.currency in {'JPY': 0, 'BTC': 0} && event.amount_minor > 5",
                ),
                (
                    "in_list",
                    "event.currency in ['JPY'] && event.amount_minor > 5",
                ),
                (
                    "index",
                    "event.amount_minor >= {'BTC': 100000000}[event.currency]",
                ),
                (
                    "equals",
                    "'JPY' == event.currency && event.amount_minor > 5",
                ),
                (
                    "clean",
                    "amount_at_least(event.amount_minor, event.currency, params.x)",
                ),
                ("other_in", "event.account in {'a': 1}"),
                ("bad_cel", "event.currency in ("),
            ],
            Some("event.currency == 'JPY'"),
        );
        let lints = lint(&source);
        let at: Vec<&str> = lints.iter().map(|l| l.location.as_str()).collect();
        assert_eq!(
            at,
            [
                "rule `in_map`",
                "rule `in_list`",
                "rule `index`",
                "rule `equals`",
                "feature `f`"
            ]
        );
        assert!(lints.iter().all(|l| l.code == "currency_literal"));
        assert!(
            lints[0].to_string().contains("amount_at_least"),
            "{}",
            lints[0]
        );
    }

    #[test]
    fn one_warning_per_gate() {
        let source = pack(
            &[(
                "two",
                "event.currency in {'BTC': 0} && event.amount_minor > {'BTC': 1}[event.currency]",
            )],
            None,
        );
        assert_eq!(lint(&source).len(), 2);
    }
}
