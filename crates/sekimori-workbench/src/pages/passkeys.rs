//! The passkey parts of the pages: the signed-in analyst's passkeys with
//! the registration control, and the sign-in page's passkey button. The
//! ceremonies run in `assets/passkey.js` (scripts from this origin only).

use super::{csrf, layout, when};
use crate::analyst_passkeys::PasskeyInfo;
use crate::i18n::Locale;
use crate::sessions::Session;
use maud::{html, Markup};

/// The signed-in analyst's passkeys, and "Register a passkey".
pub fn page(s: &Session, list: &[PasskeyInfo], enabled: bool) -> Markup {
    let p = s.locale.passkey_text();
    layout(
        s.locale,
        Some(s),
        p.passkeys,
        html! {
            script src="/ui/assets/passkey.js" defer {}
            h1 { (p.passkeys) }
            p { (p.help) }
            @if list.is_empty() {
                p.empty { (p.none_yet) }
            } @else {
                table.passkeys {
                    thead { tr { th scope="col" { (p.name) } th scope="col" { "ID" } th scope="col" { (p.added) } } }
                    tbody {
                        @for k in list {
                            tr data-passkey=(k.id) { td { (k.name) } td { code { (k.id.get(..16).unwrap_or(&k.id)) } } td { (k.created_at) } }
                        }
                    }
                }
            }
            @if enabled {
                form #passkey-register data-csrf=(s.csrf) data-failed=(p.failed) data-unsupported=(p.unsupported) data-done=(p.registered) {
                    label for="passkey-name" { (p.name) }
                    input #passkey-name name="name" maxlength="64" autocomplete="off";
                    button type="submit" { (p.register) }
                    p.error role="alert" hidden {}
                }
            } @else {
                p.notice { (p.off) }
            }
        },
    )
}

/// The sign-in page's passkey part: an optional login and the button
/// (`pre`: the pre-session cookie's value, the CSRF token).
pub fn sign_in_part(locale: Locale, pre: &str) -> Markup {
    let p = locale.passkey_text();
    html! {
        script src="/ui/assets/passkey.js" defer {}
        h2 { (p.or) " " (p.sign_in_with_passkey) }
        form #passkey-sign-in data-csrf=(pre) data-lang=(locale.tag()) data-failed=(p.failed) data-unsupported=(p.unsupported) {
            label for="passkey-login" { (p.login_optional) }
            input #passkey-login name="login" autocomplete="username webauthn";
            button type="submit" { (p.sign_in_with_passkey) }
            p.error role="alert" hidden {}
        }
    }
}

/// An analyst's passkeys on the analysts page: each one's name and date,
/// each removable with a reason, and "remove all" when there are several.
pub fn analyst_cell(s: &Session, login: &str, keys: &[PasskeyInfo]) -> Markup {
    let p = s.locale.passkey_text();
    let t = s.locale.text();
    let action = format!("/ui/analysts/{login}/passkeys/remove");
    let reason = |id: String| {
        html! {
            label for=(id) { (t.reason) }
            input id=(id) name="reason" maxlength="512" required;
        }
    };
    html! {
        @if keys.is_empty() {
            span.empty { (p.none_yet) }
        } @else {
            ul.analyst-passkeys {
                @for (i, k) in keys.iter().enumerate() {
                    li data-passkey=(k.id) {
                        span.passkey-name { (k.name) } " "
                        span.passkey-added {
                            (p.added) " "
                            @match sekimori_event::parse_rfc3339_ms(&k.created_at) {
                                Some(ms) => (when(s, ms)),
                                None => (k.created_at),
                            }
                        }
                        form method="post" action=(action) {
                            (csrf(s))
                            input type="hidden" name="id" value=(k.id);
                            (reason(format!("passkey-reason-{login}-{i}")))
                            button type="submit" aria-label={ (p.remove_one) ": " (k.name) " (" (login) ")" } { (p.remove_one) }
                        }
                    }
                }
            }
            @if keys.len() > 1 {
                form method="post" action=(action) {
                    (csrf(s))
                    (reason(format!("passkey-reason-{login}-all")))
                    button type="submit" aria-label={ (p.remove_all) " (" (login) ")" } { (p.remove_all) }
                }
            }
        }
    }
}
