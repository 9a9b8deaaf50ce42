//! Passkeys in a real browser: Debian's headless Chromium with its virtual
//! authenticator (the WebDriver WebAuthn extension, over chromedriver)
//! against the workbench served at `http://localhost:<port>` (an IP address
//! is never a relying party). An analyst signs in with a password and TOTP,
//! registers a passkey, signs out and signs in with the passkey alone.

mod harness;

use fantoccini::Locator;
use harness::browser::{browser, shot, tools, AddVirtualAuthenticator};
use harness::{Bench, PASSWORD};
use sekimori_workbench::analysts::Role;

/// An analyst signs in with a password and TOTP, registers a passkey on
/// Chromium's virtual authenticator at **Passkeys**, signs out, and signs in
/// with the passkey alone (discoverable: no login typed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analyst_registers_a_passkey_and_signs_in_with_it_in_a_real_browser() {
    let (chromium, driver) = tools();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    // localhost, not 127.0.0.1: an IP address is never a relying party.
    let origin = format!(
        "http://localhost:{}",
        listener.local_addr().expect("addr").port()
    );
    let b = Bench::with_origin(&origin);
    let uri = b.analyst("aiko", Role::Analyst);
    let router = b.router.clone();
    let server = tokio::spawn(async move { axum::serve(listener, router).await });
    let (_driver, _profile, c) = browser(&chromium, &driver).await;
    c.issue_cmd(AddVirtualAuthenticator)
        .await
        .expect("chromedriver adds a virtual authenticator");

    c.goto(&format!("{origin}/ui/login")).await.expect("login");
    let code = sekimori_workbench::testing::totp_code(&uri, b.now());
    for (id, text) in [
        ("login", "aiko"),
        ("password", PASSWORD),
        ("code", code.as_str()),
    ] {
        c.find(Locator::Id(id))
            .await
            .expect("field")
            .send_keys(text)
            .await
            .expect("type");
    }
    c.find(Locator::Css("form.signin button[type=submit]"))
        .await
        .expect("button")
        .click()
        .await
        .expect("submit");
    c.wait()
        .for_element(Locator::Id("queue-table"))
        .await
        .expect("the queue");

    c.goto(&format!("{origin}/ui/passkeys"))
        .await
        .expect("passkeys page");
    c.find(Locator::Id("passkey-name"))
        .await
        .expect("name")
        .send_keys("virtual")
        .await
        .expect("type");
    c.find(Locator::Css("#passkey-register button"))
        .await
        .expect("register")
        .click()
        .await
        .expect("click");
    let row = c
        .wait()
        .for_element(Locator::Css("tr[data-passkey]"))
        .await
        .expect("the passkey is listed");
    assert!(row.text().await.expect("text").contains("virtual"));
    shot(&c, "09-passkeys.png").await;
    c.find(Locator::Css("form[action='/ui/logout'] button"))
        .await
        .expect("sign out")
        .click()
        .await
        .expect("click");

    // The passkey alone: no login, no password, no code.
    c.wait()
        .for_element(Locator::Css("#passkey-sign-in button"))
        .await
        .expect("the passkey button")
        .click()
        .await
        .expect("click");
    if let Err(e) = c.wait().for_element(Locator::Id("queue-table")).await {
        let alert = match c.find(Locator::Css("#passkey-sign-in [role=alert]")).await {
            Ok(el) => el.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        shot(&c, "passkey-sign-in-failed.png").await;
        panic!("not signed in with the passkey ({e}): {alert:?}");
    }
    let who = c
        .find(Locator::Css("span.who"))
        .await
        .expect("who")
        .text()
        .await
        .expect("text");
    assert!(who.contains("aiko"), "{who}");
    let logged = harness::log_entries(&b)
        .into_iter()
        .filter(|(_, e)| matches!(e, sekimori_engine::Entry::Analyst { by, why, .. } if by == "aiko" && why == "passkey"))
        .count();
    assert_eq!(logged, 1, "the passkey sign-in is logged");
    c.close().await.expect("browser closes");
    server.abort();
}
