//! The search results and the results of a bulk action.

use super::layout;
use crate::bulk::BulkResult;
use crate::sessions::Session;
use crate::web::api_actions::SearchResults;
use maud::{html, Markup};

/// The search box (on the queue page and the results page).
pub fn search_box(s: &Session, q: &str) -> Markup {
    let t = s.locale.text();
    html! {
        form.search method="get" action="/ui/search" role="search" {
            label for="search-q" { (t.search) }
            input id="search-q" name="q" type="search" value=(q) placeholder=(t.search_hint) aria-describedby="search-hint" maxlength="256" accesskey="s";
            span id="search-hint" class="hint" { (t.search_hint) }
            button type="submit" { (t.search) }
        }
    }
}

pub fn search_page(s: &Session, r: &SearchResults) -> Markup {
    let t = s.locale.text();
    layout(
        s.locale,
        Some(s),
        t.search,
        html! {
            h1 { (t.search) }
            (search_box(s, &r.query))
            @if r.hits.is_empty() { p.no-results { (t.no_results) } } @else {
                table id="search-results" aria-label=(t.results) {
                    thead { tr {
                        th scope="col" { (t.case) } th scope="col" { (t.matched) }
                        th scope="col" { (t.service) } th scope="col" { (t.account) }
                        th scope="col" { (t.status) } th scope="col" { (t.time) }
                    } }
                    tbody {
                        @for h in &r.hits {
                            tr.row data-case=(h.case) {
                                td { a.case-link href={ "/ui/cases/" (h.case) } { "#" (h.case) } }
                                td { (h.matched) }
                                td { (h.service) }
                                td { (h.entity) }
                                td { @if h.open { (t.open) } @else { (t.closed) } }
                                td { (h.opened_at) }
                            }
                        }
                    }
                }
            }
            p { a href="/ui/queue" { (t.back_to_queue) } }
        },
    )
}

pub fn bulk_page(s: &Session, results: &[BulkResult]) -> Markup {
    let t = s.locale.text();
    layout(
        s.locale,
        Some(s),
        t.results,
        html! {
            h1 { (t.results) }
            table id="bulk-results" aria-label=(t.results) {
                thead { tr { th scope="col" { (t.case) } th scope="col" { (t.status) } th scope="col" { (t.reason) } } }
                tbody {
                    @for r in results {
                        tr data-case=(r.case) data-ok=(r.ok) {
                            td { a href={ "/ui/cases/" (r.case) } { "#" (r.case) } }
                            td { @if r.ok { (t.done) } @else { (t.refused) } }
                            td { (r.message.clone().unwrap_or_default()) }
                        }
                    }
                }
            }
            p { a href="/ui/queue" { (t.back_to_queue) } }
        },
    )
}
