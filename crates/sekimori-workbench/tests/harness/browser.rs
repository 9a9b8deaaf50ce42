//! What the browser tests share: Debian's Chromium and chromedriver found
//! on PATH, chromedriver on a free loopback port (stopped on drop), a
//! WebDriver session, screenshots, and Chromium's virtual authenticator.

use fantoccini::ClientBuilder;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The browser's launch flags: nothing reaches beyond loopback.
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1100",
];

pub fn which(bin: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(bin))
            .find(|p| p.is_file())
    })
}

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// A WebDriver server, stopped when the test ends (also on a panic); one
/// started in a process group of its own (geckodriver) is stopped with its
/// whole group, so the browser it started cannot outlive it.
pub struct Driver {
    child: Child,
    group: bool,
    /// Removed after the server and its browser are gone (fields drop
    /// after `drop` runs).
    _dir: Option<tempfile::TempDir>,
}

impl Driver {
    /// Owns a started WebDriver server (chromedriver).
    pub fn new(child: Child) -> Self {
        Driver {
            child,
            group: false,
            _dir: None,
        }
    }

    /// Owns a WebDriver server spawned with `process_group(0)`, and the
    /// directory its browser's profile is in.
    pub fn group(child: Child, dir: tempfile::TempDir) -> Self {
        Driver {
            child,
            group: true,
            _dir: Some(dir),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if self.group {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub async fn shot(c: &fantoccini::Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join(name), &png).expect("write");
    if std::env::var_os("SEKIMORI_UPDATE_SCREENSHOTS").is_some() {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/ui");
        std::fs::create_dir_all(&docs).expect("docs/ui");
        std::fs::write(docs.join(name), &png).expect("write");
    }
}

pub async fn browser(
    chromium: &Path,
    driver: &Path,
) -> (Driver, tempfile::TempDir, fantoccini::Client) {
    let port = free_port();
    let d = Driver::new(
        Command::new(driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts"),
    );
    let profile = tempfile::tempdir().expect("profile");
    let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
    args.push(format!("--user-data-dir={}", profile.path().display()));
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": chromium, "args": args}),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match ClientBuilder::new(connector.clone())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => return (d, profile, c),
            Err(e) if Instant::now() > deadline => panic!("chromedriver: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Debian's Chromium and its WebDriver, or a failure saying what to
/// install (a browser test never passes silently).
pub fn tools() -> (PathBuf, PathBuf) {
    match (which("chromium"), which("chromedriver")) {
        (Some(c), Some(d)) => (c, d),
        _ => panic!(
            "the workbench's browser tests need Debian's Chromium and its WebDriver: \
             `apt-get install -y chromium chromium-driver` (.ci/run does)"
        ),
    }
}

/// Chromium's virtual authenticator (the WebDriver WebAuthn extension,
/// which chromedriver serves over CDP's `WebAuthn.addVirtualAuthenticator`):
/// CTAP2 with resident keys, a PIN it always verifies.
#[derive(Debug)]
pub struct AddVirtualAuthenticator;

impl fantoccini::wd::WebDriverCompatibleCommand for AddVirtualAuthenticator {
    fn endpoint(
        &self,
        base_url: &sekimori_webauthn::Url,
        session_id: Option<&str>,
    ) -> Result<sekimori_webauthn::Url, url_error::ParseError> {
        base_url.join(&format!(
            "session/{}/webauthn/authenticator",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &sekimori_webauthn::Url) -> (axum::http::Method, Option<String>) {
        let body = json!({
            "protocol": "ctap2",
            "transport": "internal",
            "hasResidentKey": true,
            "hasUserVerification": true,
            "isUserVerified": true
        });
        (axum::http::Method::POST, Some(body.to_string()))
    }
}

/// The `url` crate's parse error, as `Url::join` names it.
mod url_error {
    pub type ParseError = <sekimori_webauthn::Url as std::str::FromStr>::Err;
}

/// The steps both browser tests take, each failing with what it waited for.
pub mod steps {
    use super::shot;
    use fantoccini::elements::Element;
    use fantoccini::{Client, Locator};
    use std::time::{Duration, Instant};

    /// A random loopback port to serve on, bound; and its number.
    pub async fn listen() -> (tokio::net::TcpListener, u16) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        (listener, port)
    }

    /// Serves `router` on `listener`; abort the task at the end.
    pub fn serve(
        listener: tokio::net::TcpListener,
        router: axum::Router,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        })
    }

    /// The element `css`, there now.
    pub async fn find(c: &Client, css: &str) -> Element {
        c.find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css}: {e}"))
    }

    /// The element `css`, once it appears.
    pub async fn wait_for(c: &Client, css: &str) -> Element {
        c.wait()
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} did not appear: {e}"))
    }

    /// Types `text` into the element `css`.
    pub async fn fill(c: &Client, css: &str, text: &str) {
        find(c, css)
            .await
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
    }

    /// Clicks the element `css` (waiting for it to appear).
    pub async fn click(c: &Client, css: &str) {
        wait_for(c, css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    /// Chooses `value` in the select `css`.
    pub async fn choose(c: &Client, css: &str, value: &str) {
        find(c, css)
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("choosing {value} in {css}: {e}"));
    }

    /// The visible text of the element `css`.
    pub async fn text(c: &Client, css: &str) -> String {
        find(c, css).await.text().await.expect("text")
    }

    /// Waits up to 15 s for the page's source to contain `needle`.
    pub async fn wait_source(c: &Client, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let source = c.source().await.expect("source");
            if source.contains(needle) {
                return source;
            }
            assert!(Instant::now() < deadline, "{needle} did not appear");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Signs in at `{origin}/ui/login` with a login, the password and the
    /// current TOTP code of `totp_uri` at `now_ms`; a screenshot named
    /// `shot_as` of the filled form if given; then waits for the queue.
    pub async fn sign_in(
        c: &Client,
        origin: &str,
        login: &str,
        totp_uri: &str,
        now_ms: i64,
        shot_as: Option<&str>,
    ) {
        c.goto(&format!("{origin}/ui/login"))
            .await
            .expect("the sign-in page");
        let code = sekimori_workbench::testing::totp_code(totp_uri, now_ms);
        fill(c, "#login", login).await;
        fill(c, "#password", crate::harness::PASSWORD).await;
        fill(c, "#code", &code).await;
        if let Some(name) = shot_as {
            shot(c, name).await;
        }
        click(c, "form.signin button[type=submit]").await;
        wait_for(c, "#queue-table").await;
    }
}
