//! The workbench end to end in a real browser: Debian's headless Chromium
//! driven over WebDriver (chromedriver, `fantoccini`) against the workbench
//! served on a random loopback port, over a real store and the engine with
//! the default pack, with a local webhook receiver. An analyst signs in,
//! opens the queue, opens and claims the held transfer's case, declines the
//! transfer (the receiver gets the signed `review.declined`), closes the case
//! as confirmed fraud (its events labelled) and is taken to the next case,
//! the brute force's; then, in Japanese, finds the account with the search
//! box and freezes it from its case page.
//!
//! Without `chromium` and `chromedriver` on PATH this test fails, saying
//! what to install; it never passes silently. Screenshots go to
//! `$CARGO_TARGET_TMPDIR/ui/`, and to `docs/ui/` with
//! `SEKIMORI_UPDATE_SCREENSHOTS=1`.
//!
//! The same steps run in Firefox (Debian's `firefox-esr` through
//! geckodriver, `harness/firefox.rs`), asserting the user agent is
//! Firefox's; that test skips with what to install when either is
//! missing (Debian has no geckodriver package: `.ci/run` builds it).

mod harness;

use axum::body::Bytes;
use axum::http::HeaderMap;
use fantoccini::Client;
use fantoccini::Locator;
use harness::browser::steps::{
    choose, click, fill, find, listen, serve, sign_in, text, wait_for, wait_source,
};
use harness::browser::{browser, shot, tools, Driver};
use harness::firefox;
use harness::{wall_ms, Bench};
use sekimori_workbench::analysts::Role;
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SECRET: &[u8] = b"whsec_workbench_e2e";

/// Received webhook notices: (headers, body).
type Inbox = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

async fn receiver() -> (String, Inbox) {
    let inbox: Inbox = Arc::default();
    let i = Arc::clone(&inbox);
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let i = Arc::clone(&i);
            async move {
                i.lock().expect("lock").push((headers, body));
                "ok"
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", l.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(l, app).await });
    (url, inbox)
}

/// Which browser a run drives, with its binary and WebDriver server.
enum Launch {
    Chromium(PathBuf, PathBuf),
    Firefox(PathBuf, PathBuf),
}

impl Launch {
    async fn start(&self) -> (Driver, Option<tempfile::TempDir>, Client) {
        match self {
            Launch::Chromium(b, d) => {
                let (driver, profile, c) = browser(b, d).await;
                (driver, Some(profile), c)
            }
            Launch::Firefox(b, d) => {
                let (driver, c) = firefox::browser(b, d).await;
                (driver, None, c)
            }
        }
    }

    /// Screenshots (for docs/ui) come from the Chromium run only.
    async fn shot(&self, c: &Client, name: &str) {
        if let Launch::Chromium(..) = self {
            shot(c, name).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analyst_declines_a_held_transfer_in_a_real_browser() {
    let (chromium, driver) = tools();
    scenario(Launch::Chromium(chromium, driver)).await;
}

/// The same steps in Firefox (firefox-esr and geckodriver); skips, saying
/// what to install, when either is missing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_analyst_declines_a_held_transfer_in_firefox() {
    match firefox::tools() {
        Ok((ff, driver)) => scenario(Launch::Firefox(ff, driver)).await,
        // Straight to stderr: `eprintln!` is captured (hidden) when a test passes.
        Err(why) => {
            let _ = writeln!(std::io::stderr(), "{why}");
        }
    }
}

async fn scenario(launch: Launch) {
    let (hook, inbox) = receiver().await;
    let b = Bench::with_webhook(&hook, SECRET);
    assert_eq!(b.brute_force().await, "deny");
    b.event(
        json!({"id": "reset-1", "type": "credential.change", "service": "netbank",
        "account": "acct-900", "credential": "password", "channel": "email_link",
        "at": "2026-11-23T03:00:00Z"}),
    )
    .await;
    let held = b
        .event(json!({"id": "xfer-1", "type": "transfer", "service": "netbank",
            "account": "acct-900", "amount_minor": 950000, "currency": "JPY",
            "balance_before_minor": 1000000, "at": "2026-11-23T04:00:00Z",
            "destination": {"kind": "bank", "bank_code": "0009", "branch": "200", "number": "7100001"}}))
        .await;
    assert_eq!(held, "review");
    let uri = b.analyst("aiko", Role::Admin);
    let (listener, port) = listen().await;
    let url = format!("http://127.0.0.1:{port}");
    let server = serve(listener, b.router.clone());

    let (_driver, _profile, c) = launch.start().await;
    let agent = c
        .execute("return navigator.userAgent;", Vec::new())
        .await
        .expect("user agent");
    let agent = agent.as_str().unwrap_or_default();
    match launch {
        Launch::Chromium(..) => assert!(agent.contains("Chrome/"), "{agent}"),
        Launch::Firefox(..) => assert!(agent.contains("Firefox/"), "{agent}"),
    }

    // Sign in.
    sign_in(
        &c,
        &url,
        "aiko",
        &uri,
        b.now(),
        matches!(launch, Launch::Chromium(..)).then_some("01-sign-in.png"),
    )
    .await;
    let rows = c.find_all(Locator::Css("tr.row")).await.expect("rows");
    assert_eq!(
        rows.len(),
        2,
        "two cases: the brute force's and the held transfer's"
    );
    let body = text(&c, "body").await;
    assert!(body.contains("JPY 950,000"), "{body}");
    launch.shot(&c, "02-queue.png").await;

    // Open the first case (the held money leads) and claim it.
    click(&c, "a.case-link").await;
    click(&c, "#claim").await;
    wait_for(&c, "#release").await;
    let page = c.source().await.expect("source");
    assert!(page.contains("drain_after_credential_change") && page.contains("xfer-1"));
    launch.shot(&c, "03-case.png").await;

    // Decline the held transfer; the service's webhook hears of it, signed.
    fill(
        &c,
        "#reason-xfer-1",
        "the holder did not make this transfer",
    )
    .await;
    click(&c, "button.decline").await;
    wait_for(&c, "p.outcome").await;
    let deadline = Instant::now() + Duration::from_secs(15);
    let (headers, body, notice) = loop {
        let found = inbox.lock().expect("lock").iter().find_map(|(h, b)| {
            let v: Value = serde_json::from_slice(b).ok()?;
            (v["kind"] == "review.declined").then(|| (h.clone(), b.clone(), v))
        });
        if let Some(n) = found {
            break n;
        }
        assert!(
            Instant::now() < deadline,
            "no review.declined webhook arrived"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(notice["summary"]["event_id"], "xfer-1");
    assert_eq!(notice["service"], "netbank");
    let sig = headers[sekimori_notify::SIGNATURE_HEADER]
        .to_str()
        .expect("header");
    sekimori_notify::verify(SECRET, sig, &body, wall_ms() / 1000, 300)
        .expect("the webhook is signed with the service's secret");

    // Close as confirmed fraud (a label on its events): on to the next case.
    choose(&c, "#disposition", "confirmed_fraud").await;
    fill(
        &c,
        "#close-note",
        "declined; the holder confirmed the takeover by phone",
    )
    .await;
    launch.shot(&c, "04-declined.png").await;
    click(&c, "#close").await;
    let next = wait_source(&c, "acct-008").await;
    assert!(next.contains("secret_tried_across_accounts"));
    launch.shot(&c, "05-next-case.png").await;
    {
        let index = b.wb.catch_up().expect("index");
        assert_eq!(
            index.labels("netbank", "xfer-1"),
            &[("confirmed_fraud".to_string(), "aiko".to_string())]
        );
    }

    // The Japanese queue.
    c.goto(&format!("{url}/ui/queue")).await.expect("queue");
    choose(&c, "#pref-lang", "ja").await;
    click(&c, "form.prefs button").await;
    wait_for(&c, "html[lang=ja]").await;
    launch.shot(&c, "06-queue-ja.png").await;

    // The keyboard: j goes to the first case, x ticks it for a bulk action.
    c.active_element()
        .await
        .expect("focus")
        .send_keys("jx")
        .await
        .expect("keys");
    let ticked = find(&c, "input.pick")
        .await
        .prop("checked")
        .await
        .expect("checked");
    assert_eq!(ticked.as_deref(), Some("true"), "x ticks the focused case");

    // Search from the queue's box (in Japanese now), then freeze the
    // account from its case page.
    fill(&c, "#search-q", "acct-900").await;
    click(&c, "form.search button").await;
    wait_for(&c, "#search-results").await;
    let hits = c
        .find_all(Locator::Css("#search-results tr.row"))
        .await
        .expect("rows");
    assert_eq!(hits.len(), 1, "the transfer's case");
    launch.shot(&c, "07-search-ja.png").await;
    click(&c, "#search-results a.case-link").await;
    wait_for(&c, "#hold-reason").await;
    fill(&c, "#hold-reason", "takeover confirmed by the holder").await;
    click(&c, "#place-hold-button").await;
    wait_for(&c, "table.holds-table").await;
    c.execute(
        "document.getElementById('holds').scrollIntoView();",
        Vec::new(),
    )
    .await
    .expect("scroll");
    launch.shot(&c, "08-hold-ja.png").await;

    c.close().await.expect("browser closes");
    server.abort();
}
