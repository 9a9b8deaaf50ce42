//! Firefox for the browser tests: Debian's `firefox-esr` driven by
//! geckodriver (from crates.io: Debian does not package it) on a free
//! loopback port, headless, in a fresh temporary profile, with every pref
//! that would reach beyond loopback (updates, telemetry, safe browsing,
//! remote settings, captive portal checks, prefetch) turned off.
//!
//! Unlike Chromium, Firefox is optional: without it (or geckodriver) its
//! test skips with a message saying what to install.

use super::browser::{free_port, which, Driver};
use fantoccini::ClientBuilder;
use serde_json::json;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The env var naming geckodriver's path (`.ci/run` installs it there);
/// otherwise `geckodriver` on PATH.
pub const GECKODRIVER_ENV: &str = "SEKIMORI_GECKODRIVER";
/// The env var naming Firefox's path; otherwise `firefox-esr` (or
/// `firefox`) on PATH.
pub const FIREFOX_ENV: &str = "SEKIMORI_FIREFOX";

/// Firefox's prefs: nothing reaches beyond loopback.
pub fn prefs() -> serde_json::Value {
    let prefs: &[(&str, serde_json::Value)] = &[
        ("app.update.auto", json!(false)),
        ("app.update.enabled", json!(false)),
        ("app.update.checkInstallTime", json!(false)),
        ("app.normandy.enabled", json!(false)),
        ("app.shield.optoutstudies.enabled", json!(false)),
        ("toolkit.telemetry.enabled", json!(false)),
        ("toolkit.telemetry.unified", json!(false)),
        ("toolkit.telemetry.archive.enabled", json!(false)),
        ("toolkit.telemetry.server", json!("")),
        ("datareporting.healthreport.uploadEnabled", json!(false)),
        ("datareporting.policy.dataSubmissionEnabled", json!(false)),
        ("browser.ping-centre.telemetry", json!(false)),
        ("browser.safebrowsing.malware.enabled", json!(false)),
        ("browser.safebrowsing.phishing.enabled", json!(false)),
        ("browser.safebrowsing.downloads.enabled", json!(false)),
        (
            "browser.safebrowsing.downloads.remote.enabled",
            json!(false),
        ),
        ("browser.safebrowsing.blockedURIs.enabled", json!(false)),
        ("browser.safebrowsing.provider.google.updateURL", json!("")),
        ("browser.safebrowsing.provider.google4.updateURL", json!("")),
        ("browser.safebrowsing.provider.mozilla.updateURL", json!("")),
        ("services.settings.server", json!("http://127.0.0.1:9/")),
        ("browser.region.network.url", json!("")),
        ("browser.region.update.enabled", json!(false)),
        ("browser.search.update", json!(false)),
        ("browser.search.geoip.url", json!("")),
        ("extensions.update.enabled", json!(false)),
        ("extensions.getAddons.cache.enabled", json!(false)),
        ("extensions.blocklist.enabled", json!(false)),
        ("extensions.systemAddon.update.enabled", json!(false)),
        ("network.captive-portal-service.enabled", json!(false)),
        ("network.connectivity-service.enabled", json!(false)),
        ("network.dns.disablePrefetch", json!(true)),
        ("network.prefetch-next", json!(false)),
        ("network.http.speculative-parallel-limit", json!(0)),
        ("network.trr.mode", json!(5)),
        ("browser.newtabpage.enabled", json!(false)),
        (
            "browser.newtabpage.activity-stream.feeds.telemetry",
            json!(false),
        ),
        ("browser.newtabpage.activity-stream.telemetry", json!(false)),
        (
            "browser.newtabpage.activity-stream.feeds.snippets",
            json!(false),
        ),
        (
            "browser.newtabpage.activity-stream.feeds.section.topstories",
            json!(false),
        ),
        ("browser.startup.homepage", json!("about:blank")),
        ("browser.startup.page", json!(0)),
        ("browser.startup.homepage_override.mstone", json!("ignore")),
        ("browser.shell.checkDefaultBrowser", json!(false)),
        ("browser.aboutwelcome.enabled", json!(false)),
        ("browser.discovery.enabled", json!(false)),
        (
            "browser.contentblocking.report.monitor.enabled",
            json!(false),
        ),
        ("identity.fxaccounts.enabled", json!(false)),
        ("media.gmp-manager.updateEnabled", json!(false)),
        ("media.gmp-gmpopenh264.enabled", json!(false)),
        ("geo.enabled", json!(false)),
        ("captivedetect.canonicalURL", json!("")),
    ];
    prefs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// Firefox and geckodriver, or `Err` saying what is missing and how to
/// install it (the caller skips).
pub fn tools() -> Result<(PathBuf, PathBuf), String> {
    let from_env = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_file())
    };
    let firefox = from_env(FIREFOX_ENV)
        .or_else(|| which("firefox-esr"))
        .or_else(|| which("firefox"));
    let driver = from_env(GECKODRIVER_ENV).or_else(|| which("geckodriver"));
    match (firefox, driver) {
        (Some(f), Some(d)) => Ok((f, d)),
        (f, d) => Err(format!(
            "SKIPPED: the Firefox browser test needs Firefox ({}) and geckodriver ({}): \
             `apt-get install -y firefox-esr` and `cargo install geckodriver --locked \
             --root DIR`, then {GECKODRIVER_ENV}=DIR/bin/geckodriver (.ci/run does)",
            if f.is_some() { "found" } else { "missing" },
            if d.is_some() { "found" } else { "missing" },
        )),
    }
}

/// geckodriver on a free loopback port with headless Firefox in a fresh
/// profile under a temporary directory (the `Driver` owns it and removes it
/// once geckodriver and Firefox are stopped).
pub async fn browser(firefox: &Path, driver: &Path) -> (Driver, fantoccini::Client) {
    let port = free_port();
    let profile = tempfile::tempdir().expect("profile");
    // Its own process group: Firefox goes with it if the test panics.
    let d = Driver::group(
        Command::new(driver)
            .process_group(0)
            .arg("--host=127.0.0.1")
            .arg(format!("--port={port}"))
            // geckodriver writes the profile it makes under TMPDIR.
            .env("TMPDIR", profile.path())
            .env("MOZ_HEADLESS", "1")
            .env("MOZ_CRASHREPORTER_DISABLE", "1")
            .env("MOZ_DISABLE_AUTO_SAFE_MODE", "1")
            // A release build honours `services.settings.server` only so.
            .env("MOZ_REMOTE_SETTINGS_DEVTOOLS", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("geckodriver starts"),
        profile,
    );
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("firefox"));
    caps.insert(
        "moz:firefoxOptions".into(),
        json!({
            "binary": firefox,
            "args": ["-headless", "--width=1280", "--height=1100"],
            "prefs": prefs(),
            "env": {
                "MOZ_HEADLESS": "1",
                "MOZ_CRASHREPORTER_DISABLE": "1",
                "MOZ_REMOTE_SETTINGS_DEVTOOLS": "1",
            },
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match ClientBuilder::new(connector.clone())
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => return (d, c),
            Err(e) if Instant::now() > deadline => panic!("geckodriver: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}
