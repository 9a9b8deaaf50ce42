//! The queue page: filters, the table of open cases (an htmx partial), and
//! "next". Rows are links reachable by Tab and by j / k.

use super::{csrf, layout};
use crate::money::format_amount;
use crate::queue::{Filter, Row};
use crate::sessions::Session;
use crate::timefmt::format_span;
use maud::{html, Markup};

const ACTIONS: &[&str] = &["review", "deny", "freeze", "halt"];

pub fn page(s: &Session, filter: &Filter, rows: &[Row<'_>], now_ms: i64) -> Markup {
    let t = s.locale.text();
    let action = filter.action.map(|a| format!("{a:?}").to_lowercase());
    layout(
        s.locale,
        Some(s),
        t.queue,
        html! {
            h1 { (t.queue) }
            form.next method="post" action="/ui/next" id="next-form" {
                (csrf(s))
                button type="submit" id="next" accesskey="n" { (t.next) }
            }
            form.filters method="get" action="/ui/queue" hx-get="/ui/queue" hx-target="#queue-table" hx-select="#queue-table" hx-swap="outerHTML" hx-push-url="true" {
                fieldset {
                    legend { (t.filter) }
                    label for="f-service" { (t.service) }
                    input id="f-service" name="service" value=(filter.service.clone().unwrap_or_default());
                    label for="f-rule" { (t.rule) }
                    input id="f-rule" name="rule" value=(filter.rule.clone().unwrap_or_default());
                    label for="f-action" { (t.action) }
                    select id="f-action" name="action" {
                        option value="" { (t.any) }
                        @for a in ACTIONS { option value=(a) selected[action.as_deref() == Some(*a)] { (a) } }
                    }
                    label for="f-age" { (t.older_than_hours) }
                    input id="f-age" name="min_age_hours" type="number" min="0" value=(filter.min_age_hours.map(|h| h.to_string()).unwrap_or_default());
                    button type="submit" { (t.filter) }
                }
            }
            (super::results::search_box(s, ""))
            p.hint { (t.keys_hint) }
            form.bulk id="bulk-form" method="post" action="/ui/queue/bulk" {
                (csrf(s))
                fieldset {
                    legend { (t.bulk) }
                    label for="bulk-action" { (t.action) }
                    select id="bulk-action" name="action" {
                        option value="claim" { (t.claim) }
                        option value="release" { (t.release) }
                        option value="close" { (t.close_case) }
                    }
                    label for="bulk-disposition" { (t.disposition) }
                    select id="bulk-disposition" name="disposition" {
                        option value="" { "—" }
                        @for d in crate::acts::Disposition::ALL { option value=(d.name()) { (t.disposition(d)) } }
                    }
                    label for="bulk-note" { (t.note_required) }
                    input id="bulk-note" name="note" maxlength="4096";
                    button id="bulk-apply" type="submit" { (t.bulk_apply) }
                }
            }
            (table(s, rows, now_ms))
        },
    )
}

pub fn table(s: &Session, rows: &[Row<'_>], now_ms: i64) -> Markup {
    let t = s.locale.text();
    html! {
        table id="queue-table" aria-label=(t.queue) {
            thead {
                tr {
                    th scope="col" { (t.select) }
                    th scope="col" { (t.case) } th scope="col" { (t.priority) }
                    th scope="col" { (t.service) } th scope="col" { (t.account) }
                    th scope="col" { (t.family) } th scope="col" { (t.action) }
                    th scope="col" { (t.money_at_risk) } th scope="col" { (t.score) }
                    th scope="col" { (t.waiting) } th scope="col" { (t.claimed_by) }
                }
            }
            tbody {
                @if rows.is_empty() { tr { td colspan="11" { (t.no_cases) } } }
                @for r in rows {
                    tr.row data-case=(r.case.id) {
                        td { input.pick type="checkbox" name="case" value=(r.case.id) form="bulk-form" aria-label={ (t.select) " #" (r.case.id) }; }
                        td { a.case-link href={ "/ui/cases/" (r.case.id) } { "#" (r.case.id) } }
                        td { (r.priority) }
                        td { (r.case.service) }
                        td { (r.case.entity) }
                        td { (r.case.family.name()) }
                        td { (format!("{:?}", r.case.top_action()).to_lowercase()) }
                        td {
                            @for (cur, amount) in r.case.money_at_risk() { span.amount { (format_amount(amount, &cur)) } " " }
                        }
                        td { (r.case.max_score()) }
                        td title=(crate::timefmt::format_ms(r.case.opened_ms, &s.tz)) { (format_span(now_ms - r.case.opened_ms)) }
                        td { @if r.mine { (s.login) } }
                    }
                }
            }
        }
    }
}
