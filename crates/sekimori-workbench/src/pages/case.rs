//! The case page: the decisions with their reasons and feature values, the
//! held events' approve / decline, the account's timeline, notes, the
//! close form and the case's history.

use super::{csrf, layout, when};
use crate::acts::Disposition;
use crate::analysts::Role;
use crate::cases::{Case, CaseEvent};
use crate::money::format_amount;
use crate::sessions::Session;
use maud::{html, Markup};
use sekimori_engine::Decision;
use serde::Serialize;

/// One event of the account's timeline.
#[derive(Clone, Debug, Serialize)]
pub struct TimelineRow {
    pub seq: u64,
    pub at_ms: i64,
    pub event_id: String,
    pub event_type: String,
    pub action: String,
    pub amount_minor: Option<i64>,
    pub currency: Option<String>,
}

/// Everything the case page shows.
#[derive(Clone, Debug, Serialize)]
pub struct CaseView {
    pub case: Case,
    pub priority: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claimed_by: Option<String>,
    /// Each case event with its logged decision.
    pub decisions: Vec<(CaseEvent, Option<Decision>)>,
    pub timeline: Vec<TimelineRow>,
    /// (event id, label, by).
    pub labels: Vec<(String, String, String)>,
    /// What is known of the case's entity (`Index::standing`).
    pub standing: &'static str,
    /// Accounts sharing a device or an address with it.
    pub linked: Vec<super::graph::Linked>,
    /// The index evicted the account's older history (the log has it).
    #[serde(skip)]
    pub history_evicted: bool,
}

fn amount(a: Option<i64>, c: &Option<String>) -> String {
    match (a, c) {
        (Some(a), Some(c)) => format_amount(a, c),
        _ => String::new(),
    }
}

fn action_name<T: std::fmt::Debug>(a: T) -> String {
    format!("{a:?}").to_lowercase()
}

pub fn page(
    s: &Session,
    v: &CaseView,
    holds: Option<&crate::web::api_actions::CaseHolds>,
) -> Markup {
    let t = s.locale.text();
    let c = &v.case;
    let mine = v.claimed_by.as_deref() == Some(s.login.as_str());
    let title = format!("{} #{}", t.case, c.id);
    layout(
        s.locale,
        Some(s),
        &title,
        html! {
            h1 { (title) " · " (c.service) " · " (c.entity) }
            dl.summary {
                dt { (t.family) } dd { (c.family.name()) }
                dt { (t.priority) } dd { (v.priority) }
                dt { (t.money_at_risk) } dd { @for (cur, a) in c.money_at_risk() { (format_amount(a, &cur)) " " } }
                dt { (t.status) } dd.status { @if let Some(cl) = &c.closed { (t.closed) " · " (t.disposition(cl.disposition)) } @else { (t.open) } }
                dt { (t.claimed_by) } dd.claimed { (v.claimed_by.clone().unwrap_or_default()) }
            }
            @if c.is_open() {
                div.actions {
                    @if !mine {
                        form method="post" action={ "/ui/cases/" (c.id) "/claim" } { (csrf(s)) button id="claim" type="submit" { (t.claim) } }
                    } @else {
                        form method="post" action={ "/ui/cases/" (c.id) "/release" } { (csrf(s)) button id="release" type="submit" { (t.release) } }
                    }
                }
            }
            h2 { (t.decisions) }
            @for (e, d) in &v.decisions { (decision(s, c, e, d.as_ref(), mine)) }
            @if let Some(h) = holds { (super::holds::section(s, c, h)) }
            h2 { (t.timeline) }
            @if v.history_evicted { p.notice role="note" { (crate::error::locale::history_evicted(s.locale)) } }
            table.timeline {
                thead { tr { th scope="col" { (t.time) } th scope="col" { (t.kind) } th scope="col" { (t.event) } th scope="col" { (t.amount) } th scope="col" { (t.action) } } }
                tbody {
                    @for r in &v.timeline {
                        tr { td { (when(s, r.at_ms)) } td { (r.event_type) } td { (r.event_id) } td { (amount(r.amount_minor, &r.currency)) } td { (r.action) } }
                    }
                }
            }
            h2 { (t.linked) }
            @if v.linked.is_empty() { p { (t.no_links) } } @else {
                (super::graph::graph(t.linked, &c.entity, v.standing, &v.linked))
            }
            @if !v.labels.is_empty() {
                h2 { (t.labels) }
                ul.labels { @for (e, l, by) in &v.labels { li { (e) ": " (l) " (" (by) ")" } } }
            }
            h2 { (t.notes) }
            ul.notes { @for n in &c.notes { li { (n.by) " · " (n.at) ": " (n.why) } } }
            form method="post" action={ "/ui/cases/" (c.id) "/note" } {
                (csrf(s))
                label for="note" { (t.add_note) }
                textarea id="note" name="note" required maxlength="4096" {}
                button type="submit" { (t.add_note) }
            }
            @if c.is_open() {
                h2 { (t.close_case) }
                form id="close-form" method="post" action={ "/ui/cases/" (c.id) "/close" } {
                    (csrf(s))
                    label for="disposition" { (t.disposition) }
                    select id="disposition" name="disposition" {
                        @for d in Disposition::ALL { option value=(d.name()) { (t.disposition(d)) } }
                    }
                    label for="close-note" { (t.note_required) }
                    textarea id="close-note" name="note" required maxlength="4096" {}
                    button id="close" type="submit" { (t.close_case) }
                }
            }
            h2 { (t.history) }
            ol.history { @for h in &c.history { li { (h.at) " · " (h.by) " · " (h.what) @if !h.why.is_empty() { " — " (h.why) } } } }
        },
    )
}

fn decision(s: &Session, c: &Case, e: &CaseEvent, d: Option<&Decision>, mine: bool) -> Markup {
    let t = s.locale.text();
    html! {
        section.decision id={ "event-" (e.event_id) } {
            h3 { (e.event_type) " " (e.event_id) " · " (action_name(e.action)) " · " (t.score) " " (e.score) }
            p { (when(s, e.at_ms)) " " (amount(e.amount_minor, &e.currency)) }
            @if let Some(o) = &e.outcome {
                p.outcome { (t.outcome) ": " @if o.approved { (t.approved) } @else { (t.declined) } " (" (o.by) ", " (o.at) ")" }
            } @else if e.is_held() {
                p.held { (t.held) @if !e.approvals.is_empty() { " · " (t.awaiting_second) ": " (e.approvals.join(", ")) } }
            }
            @if let Some(d) = d {
                h4 { (t.reasons) }
                ul.reasons { @for r in &d.reasons { li { code { (r.rule) } " (" (action_name(r.action)) @if r.shadow { ", shadow" } "): " (r.reason) } } }
                h4 { (t.features) }
                table.features { tbody { @for (k, val) in &d.features { tr { th scope="row" { code { (k) } } td { (val.to_string()) } } } } }
            }
            @if e.is_held() && c.is_open() && mine {
                form.decide method="post" action={ "/ui/cases/" (c.id) "/decide" } {
                    (csrf(s))
                    input type="hidden" name="event_id" value=(e.event_id);
                    label for={ "reason-" (e.event_id) } { (t.reason) }
                    input id={ "reason-" (e.event_id) } name="reason" required maxlength="4096";
                    @if s.role >= Role::Supervisor && !e.approvals.contains(&s.login) {
                        button.approve type="submit" name="outcome" value="approve" { (t.approve) }
                    }
                    button.decline type="submit" name="outcome" value="decline" { (t.decline) }
                }
            }
        }
    }
}
