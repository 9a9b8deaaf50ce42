//! Passkeys in a real browser: Debian's headless Chromium with its virtual
//! authenticator (the WebDriver WebAuthn extension, over chromedriver)
//! against the workbench served at `http://localhost:<port>` (an IP address
//! is never a relying party). An analyst signs in with a password and TOTP,
//! registers a passkey, signs out and signs in with the passkey alone.

mod harness;

use fantoccini::Locator;
use harness::browser::steps::{click, fill, listen, serve, sign_in, text, wait_for};
use harness::browser::{browser, shot, tools, AddVirtualAuthenticator};
use harness::Bench;
use sekimori_workbench::analysts::Role;

/// An analyst signs in with a password and TOTP, registers a passkey on
/// Chromium's virtual authenticator at **Passkeys**, signs out, and signs in
/// with the passkey alone (discoverable: no login typed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analyst_registers_a_passkey_and_signs_in_with_it_in_a_real_browser() {
    let (chromium, driver) = tools();
    let (listener, port) = listen().await;
    // localhost, not 127.0.0.1: an IP address is never a relying party.
    let origin = format!("http://localhost:{port}");
    let b = Bench::with_origin(&origin);
    let uri = b.analyst("aiko", Role::Analyst);
    let server = serve(listener, b.router.clone());
    let (_driver, _profile, c) = browser(&chromium, &driver).await;
    c.issue_cmd(AddVirtualAuthenticator)
        .await
        .expect("chromedriver adds a virtual authenticator");

    sign_in(&c, &origin, "aiko", &uri, b.now(), None).await;

    c.goto(&format!("{origin}/ui/passkeys"))
        .await
        .expect("passkeys page");
    fill(&c, "#passkey-name", "virtual").await;
    click(&c, "#passkey-register button").await;
    let row = wait_for(&c, "tr[data-passkey]").await;
    assert!(row.text().await.expect("text").contains("virtual"));
    shot(&c, "09-passkeys.png").await;
    click(&c, "form[action='/ui/logout'] button").await;

    // The passkey alone: no login, no password, no code.
    click(&c, "#passkey-sign-in button").await;
    if let Err(e) = c.wait().for_element(Locator::Id("queue-table")).await {
        let alert = match c.find(Locator::Css("#passkey-sign-in [role=alert]")).await {
            Ok(el) => el.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        shot(&c, "passkey-sign-in-failed.png").await;
        panic!("not signed in with the passkey ({e}): {alert:?}");
    }
    let who = text(&c, "span.who").await;
    assert!(who.contains("aiko"), "{who}");
    let logged = harness::log_entries(&b)
        .into_iter()
        .filter(|(_, e)| matches!(e, sekimori_engine::Entry::Analyst { by, why, .. } if by == "aiko" && why == "passkey"))
        .count();
    assert_eq!(logged, 1, "the passkey sign-in is logged");
    c.close().await.expect("browser closes");
    server.abort();
}
