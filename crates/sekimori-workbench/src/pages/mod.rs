//! The pages, as maud templates: escaped by default, checked when the crate
//! compiles. Every form carries the session's CSRF token and every control
//! a label.

pub mod case;
pub mod graph;
pub mod holds;
pub mod passkeys;
pub mod quality;
pub mod queue;
pub mod results;

use crate::analyst_passkeys::PasskeyInfo;
use crate::analysts::{AnalystInfo, Role};
use crate::i18n::{Locale, Text, ZONES};
use crate::sessions::Session;
use crate::timefmt::format_ms;
use maud::{html, Markup, DOCTYPE};

/// The hidden CSRF field of a form.
pub fn csrf(s: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(s.csrf); }
}

/// The page frame: header, navigation, preferences and the body.
pub fn layout(locale: Locale, session: Option<&Session>, title: &str, body: Markup) -> Markup {
    let t = locale.text();
    html! {
        (DOCTYPE)
        html lang=(locale.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="htmx-config" content=r#"{"includeIndicatorStyles":false}"#;
                title { (title) " · " (t.title) }
                link rel="stylesheet" href="/ui/assets/workbench.css";
                script src="/ui/assets/htmx.min.js" defer {}
                script src="/ui/assets/workbench.js" defer {}
            }
            body hx-headers=(session.map(|s| format!(r#"{{"x-csrf-token":"{}"}}"#, s.csrf)).unwrap_or_default()) {
                header {
                    a.brand href="/ui/queue" { (t.title) }
                    @if let Some(s) = session {
                        nav aria-label="main" {
                            a href="/ui/queue" { (t.queue) }
                            @if s.role >= Role::Supervisor { a href="/ui/quality" { (quality::words(s.locale).title) } }
                            @if s.role == Role::Admin { a href="/ui/analysts" { (t.analysts) } }
                            a href="/ui/passkeys" { (locale.passkey_text().passkeys) }
                        }
                        (prefs(t, s))
                        span.who { (s.login) " (" (s.role.name()) ")" }
                        form method="post" action="/ui/logout" { (csrf(s)) button type="submit" { (t.sign_out) } }
                        form method="post" action="/ui/logout-everywhere" { (csrf(s)) button type="submit" { (t.sign_out_everywhere) } }
                    } @else {
                        nav aria-label="language" {
                            a href="/ui/login?lang=en" lang="en" { "English" }
                            a href="/ui/login?lang=ja" lang="ja" { "日本語" }
                        }
                    }
                }
                main id="main" { (body) }
            }
        }
    }
}

fn prefs(t: &Text, s: &Session) -> Markup {
    html! {
        form.prefs method="post" action="/ui/prefs" {
            (csrf(s))
            label for="pref-lang" { (t.language) }
            select id="pref-lang" name="lang" {
                option value="en" selected[s.locale == Locale::En] { "English" }
                option value="ja" selected[s.locale == Locale::Ja] { "日本語" }
            }
            label for="pref-tz" { (t.time_zone) }
            select id="pref-tz" name="tz" {
                @for z in ZONES { option value=(z) selected[*z == s.tz] { (z) } }
                @if !ZONES.contains(&s.tz.as_str()) { option value=(s.tz) selected { (s.tz) } }
            }
            button type="submit" { (t.save) }
        }
    }
}

/// The sign-in page.
pub fn sign_in(locale: Locale, pre: &str, failed: Option<&str>) -> Markup {
    let t = locale.text();
    layout(
        locale,
        None,
        t.sign_in,
        html! {
            h1 { (t.sign_in) }
            @if let Some(msg) = failed { p.error role="alert" { (msg) } }
            form.signin method="post" action="/ui/login" {
                input type="hidden" name="csrf" value=(pre);
                input type="hidden" name="lang" value=(locale.tag());
                label for="login" { (t.login) }
                input id="login" name="login" autocomplete="username" required;
                label for="password" { (t.password) }
                input id="password" name="password" type="password" autocomplete="current-password" required;
                label for="code" { (t.code) }
                input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{6,8}" required;
                button type="submit" { (t.sign_in) }
            }
            (passkeys::sign_in_part(locale, pre))
        },
    )
}

/// The analysts page (admins): the list (each analyst with their passkeys'
/// names and dates, each removable with a reason) and the creation form;
/// `created` shows a new analyst's provisioning URI once.
pub fn analysts(
    s: &Session,
    list: &[(AnalystInfo, Vec<PasskeyInfo>)],
    created: Option<(&str, &str)>,
) -> Markup {
    let t = s.locale.text();
    let p = s.locale.passkey_text();
    layout(
        s.locale,
        Some(s),
        t.analysts,
        html! {
            h1 { (t.analysts) }
            @if let Some((login, uri)) = created {
                section.notice role="status" {
                    p { (login) ": " (t.totp_once) }
                    code.otpauth { (uri) }
                }
            }
            table {
                thead { tr {
                    th scope="col" { (t.login) } th scope="col" { (t.role) } th scope="col" { (t.time) }
                    th scope="col" { (t.created_by) } th scope="col" { (t.status) }
                    th scope="col" { (p.passkeys) } th scope="col" { (t.action) }
                } }
                tbody {
                    @for (a, keys) in list {
                        tr data-login=(a.login) {
                            td { (a.login) } td { (a.role.name()) } td { (a.created_at) } td { (a.created_by) }
                            td { @if a.disabled { (t.disabled) } @else { (t.active) } }
                            td { (passkeys::analyst_cell(s, &a.login, keys)) }
                            td {
                                @if a.login != s.login {
                                    @if a.disabled {
                                        form method="post" action={ "/ui/analysts/" (a.login) "/enable" } { (csrf(s)) button type="submit" aria-label={ (t.enable) " " (a.login) } { (t.enable) } }
                                    } @else {
                                        form method="post" action={ "/ui/analysts/" (a.login) "/disable" } { (csrf(s)) button type="submit" aria-label={ (t.disable) " " (a.login) } { (t.disable) } }
                                    }
                                    form method="post" action={ "/ui/analysts/" (a.login) "/reset" } {
                                        (csrf(s))
                                        label for={ "reset-" (a.login) } { (t.new_password) }
                                        input id={ "reset-" (a.login) } name="password" type="password" autocomplete="new-password" minlength="12" required;
                                        button type="submit" { (t.reset) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { (t.create) }
            form method="post" action="/ui/analysts" {
                (csrf(s))
                label for="new-login" { (t.login) }
                input id="new-login" name="login" required;
                label for="new-role" { (t.role) }
                select id="new-role" name="role" {
                    option value="analyst" { "analyst" }
                    option value="supervisor" { "supervisor" }
                    option value="admin" { "admin" }
                }
                label for="new-password" { (t.password) }
                input id="new-password" name="password" type="password" autocomplete="new-password" minlength="12" required;
                button type="submit" { (t.create) }
            }
        },
    )
}

/// An error as a page.
pub fn error_page(s: Option<&Session>, message: &str) -> Markup {
    let locale = s.map_or(Locale::En, |s| s.locale);
    layout(
        locale,
        s,
        "error",
        html! {
            p.error role="alert" { (message) }
            p { a href="/ui/queue" { (locale.text().queue) } }
        },
    )
}

/// A time in the session's zone.
pub fn when(s: &Session, ms: i64) -> Markup {
    html! { time datetime=(sekimori_event::format_rfc3339_ms(ms)) { (format_ms(ms, &s.tz)) } }
}
