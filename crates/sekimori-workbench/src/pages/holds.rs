//! The case page's holds and lists: the holds in force on the case's
//! service (with a lift form each; four eyes), a form to place a hold,
//! and a form to add the entity to a list of the live pack until an
//! expiry. Every control is labelled.

use super::csrf;
use crate::analysts::Role;
use crate::cases::Case;
use crate::sessions::Session;
use crate::web::api_actions::{CaseHolds, ScopeName};
use maud::{html, Markup};

const SCOPES: &[(ScopeName, &str)] = &[
    (ScopeName::Account, "account"),
    (ScopeName::Service, "service"),
    (ScopeName::Asset, "asset"),
    (ScopeName::Wallet, "wallet"),
    (ScopeName::Bank, "bank"),
];

fn scope_name(s: ScopeName) -> &'static str {
    SCOPES
        .iter()
        .find(|(x, _)| *x == s)
        .map_or("account", |(_, n)| n)
}

pub fn section(s: &Session, c: &Case, h: &CaseHolds) -> Markup {
    let t = s.locale.text();
    let sup = s.role >= Role::Supervisor;
    html! {
        section.holds id="holds" aria-labelledby="holds-title" {
            h2 id="holds-title" { (t.holds_lists) }
            h3 { (t.holds_in_force) }
            @if h.holds.is_empty() { p { (t.no_holds) } } @else {
                p.hint { (t.lift_help) }
                table.holds-table {
                    thead { tr {
                        th scope="col" { (t.scope) } th scope="col" { (t.key) }
                        th scope="col" { (t.action) } th scope="col" { (t.time) }
                        th scope="col" { (t.lift_requested) } th scope="col" { (t.lift_hold) }
                    } }
                    tbody {
                        @for (i, x) in h.holds.iter().enumerate() {
                            tr {
                                td { (scope_name(x.hold.scope)) @if x.hold.service == "*" { " (*)" } }
                                td { (x.hold.key) }
                                td { (x.action) }
                                td { (x.since) }
                                td { (x.lift_requested_by.clone().unwrap_or_default()) }
                                td {
                                    @if sup {
                                        form.lift method="post" action={ "/ui/cases/" (c.id) "/lift" } {
                                            (csrf(s))
                                            input type="hidden" name="scope" value=(scope_name(x.hold.scope));
                                            input type="hidden" name="key" value=(x.hold.key);
                                            input type="hidden" name="service" value=(x.hold.service);
                                            label for={ "lift-reason-" (i) } { (t.reason) }
                                            input id={ "lift-reason-" (i) } name="reason" required maxlength="512";
                                            button type="submit" { (t.lift_hold) }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h3 { (t.place_hold) }
            p.hint { (t.hold_help) }
            form #place-hold method="post" action={ "/ui/cases/" (c.id) "/hold" } {
                (csrf(s))
                label for="hold-scope" { (t.scope) }
                select id="hold-scope" name="scope" {
                    @for (_, n) in SCOPES { option value=(n) { (n) } }
                }
                label for="hold-key" { (t.key) }
                input id="hold-key" name="key" value=(c.entity) required maxlength="256";
                label for="hold-reason" { (t.reason) }
                input id="hold-reason" name="reason" required maxlength="512";
                button id="place-hold-button" type="submit" { (t.place_hold) }
            }
            @if sup {
                h3 { (t.add_to_list) }
                form #add-to-list method="post" action={ "/ui/cases/" (c.id) "/list" } {
                    (csrf(s))
                    label for="list-name" { (t.list) }
                    select id="list-name" name="list" {
                        @for l in &h.lists { option value=(l) { (l) } }
                    }
                    label for="list-item" { (t.item) }
                    input id="list-item" name="item" value=(c.entity) required maxlength="256";
                    label for="list-hours" { (t.expires_in_hours) }
                    input id="list-hours" name="expires_in_hours" type="number" min="1" max="2160" value="72" required;
                    label for="list-reason" { (t.reason) }
                    input id="list-reason" name="reason" required maxlength="512";
                    button type="submit" { (t.add_to_list) }
                }
            }
            @if !h.list_items.is_empty() {
                h3 { (t.list_items) }
                table.list-items {
                    thead { tr { th scope="col" { (t.list) } th scope="col" { (t.item) } th scope="col" { (t.expires) } th scope="col" { "by" } } }
                    tbody { @for x in &h.list_items { tr { td { (x.list) } td { (x.item) } td { (x.expires_at) } td { (x.by) } } } }
                }
            }
        }
    }
}
