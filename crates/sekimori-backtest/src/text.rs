//! The report as plain-text tables, for a terminal.

use crate::quality::{PackQuality, RuleQuality};
use crate::run::{Backtest, Report};
use sekimori_rules::{Action, RuleAction};
use std::fmt::Write;

/// A ratio in basis points as a percentage with two decimals (`-` when
/// there is no denominator); integer arithmetic only.
pub fn percent(bp: Option<u64>) -> String {
    match bp {
        Some(b) => format!("{}.{:02}%", b / 100, b % 100),
        None => "-".into(),
    }
}

/// An action's name as a pack writes it.
pub fn action(a: Action) -> &'static str {
    RuleAction::from(a).name()
}

fn pack_row(out: &mut String, q: &PackQuality) {
    let _ = writeln!(out, "{}", pack_row_text(q));
}

fn pack_row_text(q: &PackQuality) -> String {
    format!(
        "{:<24} {:>9} {:>7} {:>7} {:>8} {:>6} {:>6} {:>6} {:>9} {:>9} {:>10} {:>8}",
        q.version,
        q.events,
        q.labelled_fraud,
        q.labelled_legitimate,
        q.caught,
        q.true_positives,
        q.false_positives,
        q.misses,
        percent(q.precision_bp),
        percent(q.recall_bp),
        q.friction.challenged,
        q.friction.refused
    )
}

fn pack_header(out: &mut String) {
    let _ = writeln!(out, "{}", pack_header_text());
}

fn pack_header_text() -> String {
    format!(
        "{:<24} {:>9} {:>7} {:>7} {:>8} {:>6} {:>6} {:>6} {:>9} {:>9} {:>10} {:>8}",
        "pack",
        "events",
        "fraud",
        "legit",
        "caught",
        "TP",
        "FP",
        "missed",
        "precision",
        "recall",
        "challenged",
        "refused"
    )
}

fn rule_rows(out: &mut String, rules: &[RuleQuality], limit: usize) {
    let _ = writeln!(
        out,
        "{:<24} {:<44} {:<9} {:>7} {:>6} {:>6} {:>7} {:>9} {:>9} {:>10} {:>8}",
        "pack",
        "rule",
        "action",
        "fired",
        "TP",
        "FP",
        "unlab.",
        "precision",
        "recall",
        "challenged",
        "refused"
    );
    for r in rules.iter().take(limit) {
        let name = if r.shadow {
            format!("{} (shadow)", r.rule)
        } else {
            r.rule.clone()
        };
        let _ = writeln!(
            out,
            "{:<24} {:<44} {:<9} {:>7} {:>6} {:>6} {:>7} {:>9} {:>9} {:>10} {:>8}",
            r.version,
            name,
            r.action,
            r.fired,
            r.true_positives,
            r.false_positives,
            r.unlabelled,
            percent(r.precision_bp),
            percent(r.recall_bp),
            r.friction.challenged,
            r.friction.refused
        );
    }
    if rules.len() > limit {
        let _ = writeln!(
            out,
            "... {} more rules (--json lists all)",
            rules.len() - limit
        );
    }
}

fn backtest(out: &mut String, b: &Backtest) {
    let _ = writeln!(out, "\nBacktest: {} {} ({})", b.name, b.version, b.state);
    let _ = writeln!(
        out,
        "{} events decided again, {} decisions changed",
        b.decided, b.changed
    );
    if b.prefix_mismatches + b.skipped_entries > 0 {
        let _ = writeln!(
            out,
            "({} entries before the window replayed differently from the log; {} window entries not applied)",
            b.prefix_mismatches, b.skipped_entries
        );
    }
    let _ = writeln!(out, "\nBoth packs over the same events:");
    pack_header(out);
    pack_row(out, &b.logged);
    pack_row(out, &b.candidate);
    if !b.transitions.is_empty() {
        let _ = writeln!(
            out,
            "\n{:<10} {:<10} {:>8} {:>7} {:>7} {:>10}",
            "from", "to", "events", "fraud", "legit", "unlabelled"
        );
        for t in &b.transitions {
            let _ = writeln!(
                out,
                "{:<10} {:<10} {:>8} {:>7} {:>7} {:>10}",
                action(t.from),
                action(t.to),
                t.events,
                t.fraud,
                t.legitimate,
                t.unlabelled
            );
        }
    }
    if !b.sample.is_empty() {
        let _ = writeln!(
            out,
            "\nChanged events (first {} in log order):",
            b.sample.len()
        );
        for c in &b.sample {
            let _ = writeln!(
                out,
                "  #{} {} {} {} {}: {} -> {} [{}] before: {} after: {}",
                c.seq,
                c.at,
                c.service,
                c.event_id,
                c.event_type,
                action(c.from),
                action(c.to),
                c.label.map(|l| l.name()).unwrap_or("unlabelled"),
                if c.rules_before.is_empty() {
                    "-".to_string()
                } else {
                    c.rules_before.join(",")
                },
                if c.rules_after.is_empty() {
                    "-".to_string()
                } else {
                    c.rules_after.join(",")
                },
            );
        }
    }
}

/// The report as text; `rules` bounds each rule table.
pub fn render(r: &Report, rules: usize) -> String {
    let mut out = String::new();
    let w = &r.window;
    let _ = writeln!(
        out,
        "Window [{}, {}): {} events, log entries {}..{} of {}",
        w.from,
        w.to,
        w.events,
        w.first_seq.map(|s| s.to_string()).unwrap_or("-".into()),
        w.end_seq
            .map(|s| (s - 1).to_string())
            .unwrap_or("end".into()),
        w.log_entries
    );
    if let Some(s) = &r.service {
        let _ = writeln!(out, "Service: {s} (its events and labels only)");
    }
    let labels: Vec<String> = r
        .labels
        .by_label
        .iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect();
    let _ = writeln!(
        out,
        "Labels in the log: {} ({} events fraud, {} legitimate, {} relabelled)",
        if labels.is_empty() {
            "none".to_string()
        } else {
            labels.join(", ")
        },
        r.labels.events_fraud,
        r.labels.events_legitimate,
        r.labels.conflicts
    );
    let _ = writeln!(out, "\nLogged decisions by pack version:");
    pack_header(&mut out);
    for q in &r.quality.packs {
        pack_row(&mut out, q);
    }
    if !r.services.is_empty() {
        let _ = writeln!(out, "\nBy service (each service's own events and labels):");
        let _ = writeln!(out, "{:<24} {}", "service", pack_header_text());
        for s in &r.services {
            for q in &s.packs {
                let _ = writeln!(out, "{:<24} {}", s.service, pack_row_text(q));
            }
        }
    }
    let _ = writeln!(out, "\nRules as logged:");
    rule_rows(&mut out, &r.quality.rules, rules);
    if let Some(b) = &r.backtest {
        backtest(&mut out, b);
        let _ = writeln!(out, "\nCandidate's rules:");
        rule_rows(&mut out, &b.rules, rules);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_come_from_integers() {
        assert_eq!(percent(Some(3_333)), "33.33%");
        assert_eq!(percent(Some(5)), "0.05%");
        assert_eq!(percent(Some(10_000)), "100.00%");
        assert_eq!(percent(None), "-");
    }
}
