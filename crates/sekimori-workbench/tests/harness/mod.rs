//! An in-process workbench over a real store and engine: events are decided
//! by the embedded default pack and logged as the server logs them; the
//! host appends analyst entries after them, collects notices and knows one
//! API key.

#![allow(dead_code)]

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use sekimori_engine::{Engine, Entry};
use sekimori_store::{EventKey, Op, Store};
use sekimori_workbench::analysts::Role;
use sekimori_workbench::{Config, Workbench};
use serde_json::Value;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

pub const LABEL_KEY: &str = "sk_test_labels";
pub const PASSWORD: &str = "correct horse battery";

pub mod browser;
pub mod firefox;
mod host;
pub mod passkeys;
pub use host::TestHost;

/// How a bench's workbench is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Loopback over plain HTTP.
    Plain,
    /// Secure cookies (a server not on loopback).
    Secure,
    /// Behind a proxy trusted for X-Forwarded-For.
    Proxy,
}

pub struct Bench {
    pub dir: tempfile::TempDir,
    pub host: Arc<TestHost>,
    pub wb: Arc<Workbench>,
    pub router: Router,
    pub clock: Arc<AtomicI64>,
}

/// The origin analysts' passkeys are bound to in the tests (the server's
/// default `--rp-origin`).
pub const RP_ORIGIN: &str = "http://localhost:7878";

/// The tests' relying party: `localhost`, [`RP_ORIGIN`].
pub fn relying_party() -> sekimori_webauthn::Passkeys {
    sekimori_webauthn::Passkeys::new("localhost", RP_ORIGIN, "sekimori").expect("relying party")
}

/// 2026-12-05T09:00:00Z, the server clock the tests start at.
pub const T0: i64 = 1_796_461_200_000;

impl Bench {
    pub fn new() -> Bench {
        Bench::build(
            None,
            sekimori_workbench::cases::DEFAULT_MAX_CASES,
            Mode::Plain,
        )
    }

    /// A bench whose case index holds at most `cap` cases.
    pub fn with_cap(cap: usize) -> Bench {
        Bench::build(None, cap, Mode::Plain)
    }

    /// A bench behind a proxy: the client's address from X-Forwarded-For.
    pub fn behind_proxy() -> Bench {
        Bench::build(
            None,
            sekimori_workbench::cases::DEFAULT_MAX_CASES,
            Mode::Proxy,
        )
    }

    /// A bench whose cookies are Secure (a server not on loopback).
    pub fn secure() -> Bench {
        Bench::build(
            None,
            sekimori_workbench::cases::DEFAULT_MAX_CASES,
            Mode::Secure,
        )
    }

    /// A bench whose notices go to `url`, signed with `secret`.
    pub fn with_webhook(url: &str, secret: &[u8]) -> Bench {
        Bench::build(
            Some((url, secret)),
            sekimori_workbench::cases::DEFAULT_MAX_CASES,
            Mode::Plain,
        )
    }

    /// A bench whose analysts' passkeys belong to `origin` (its host the
    /// relying party id): a browser test's `http://localhost:<port>`.
    pub fn with_origin(origin: &str) -> Bench {
        Bench::build_at(
            None,
            sekimori_workbench::cases::DEFAULT_MAX_CASES,
            Mode::Plain,
            origin,
        )
    }

    fn build(webhook: Option<(&str, &[u8])>, max_cases: usize, mode: Mode) -> Bench {
        Bench::build_at(webhook, max_cases, mode, RP_ORIGIN)
    }

    fn build_at(
        webhook: Option<(&str, &[u8])>,
        max_cases: usize,
        mode: Mode,
        origin: &str,
    ) -> Bench {
        let dir = tempfile::tempdir().expect("tempdir");
        let notifier = webhook.map(|(url, secret)| {
            let config = sekimori_notify::NotifyConfig::new(
                url,
                secret.to_vec(),
                dir.path().join("dead-letter.jsonl"),
            );
            sekimori_notify::Notifier::start(config).expect("notifier")
        });
        let store = Arc::new(Store::open(&dir.path().join("store")).expect("store"));
        let source = sekimori_rules::embedded::default_pack().expect("embedded pack");
        let pack = Arc::new(sekimori_rules::compile(source).expect("compiles"));
        let host = Arc::new(TestHost {
            store: Arc::clone(&store),
            engine: Mutex::new((Engine::new(pack), 0)),
            notices: Mutex::new(Vec::new()),
            notifier,
        });
        let clock = Arc::new(AtomicI64::new(if webhook.is_some() {
            wall_ms()
        } else {
            T0
        }));
        let c = Arc::clone(&clock);
        let config = Config {
            secure_cookies: mode == Mode::Secure,
            default_tz: "Asia/Tokyo".into(),
            clock: Arc::new(move || c.load(Ordering::SeqCst)),
            max_cases,
            trust_forwarded_for: mode == Mode::Proxy,
            editable_lists: Config::new(false).editable_lists,
            passkeys: Some(
                sekimori_webauthn::Passkeys::new("localhost", origin, "sekimori")
                    .expect("relying party"),
            ),
            // Fields added later (cluster mode's) keep their defaults.
            ..Config::new(false)
        };
        let wb = Workbench::open(store, host.clone(), dir.path(), config).expect("workbench");
        let router = sekimori_workbench::router(Arc::clone(&wb));
        Bench {
            dir,
            host,
            wb,
            router,
            clock,
        }
    }

    /// A second workbench over the same store: its index is rebuilt from the log.
    pub fn reopen(b: &Bench) -> Arc<Workbench> {
        let c = Arc::clone(&b.clock);
        let config = Config {
            secure_cookies: false,
            default_tz: "UTC".into(),
            clock: Arc::new(move || c.load(Ordering::SeqCst)),
            max_cases: b.wb.index().cap(),
            trust_forwarded_for: false,
            editable_lists: Config::new(false).editable_lists,
            passkeys: Some(relying_party()),
            ..Config::new(false)
        };
        Workbench::open(
            Arc::clone(&b.host.store),
            b.host.clone(),
            b.dir.path(),
            config,
        )
        .expect("reopen")
    }

    pub fn advance(&self, ms: i64) {
        self.clock.fetch_add(ms, Ordering::SeqCst);
    }

    pub fn now(&self) -> i64 {
        self.clock.load(Ordering::SeqCst)
    }

    /// Decides `event` with the engine and logs it; returns the decision's action.
    pub async fn event(&self, event: Value) -> String {
        let e = sekimori_event::decode_value(event).expect("event decodes");
        let rx = {
            let mut g = self.host.engine.lock().expect("lock");
            let prepared = sekimori_engine::Prepared::new(e);
            let decision = g.0.decide_prepared(&prepared);
            let key = EventKey::new(
                prepared.event().service.as_str(),
                prepared.event().id.as_str(),
            );
            let entry = Entry::Event {
                event: prepared.canonical().clone(),
                decision: decision.clone(),
            };
            g.1 += 1;
            let rx = self.host.store.submit(Op::Append {
                seq: g.1,
                event: Some(key),
                bytes: entry.to_bytes(),
            });
            (rx, format!("{:?}", decision.action).to_lowercase())
        };
        rx.0.await.expect("written").expect("durable");
        rx.1
    }

    /// The reverse brute force of the README's tour: one PIN on 8 accounts.
    pub async fn brute_force(&self) -> String {
        let mut last = String::new();
        for i in 1..=8 {
            last = self
                .event(serde_json::json!({
                    "id": format!("tour-{i}"), "type": "login.attempt",
                    "at": format!("2026-11-23T02:00:0{i}Z"), "service": "netbank",
                    "actor": {"ip": format!("198.51.100.{i}")}, "account": format!("acct-00{i}"),
                    "factor": "pin", "result": "failure",
                    "secret_fp": "k1:81dc9bdb52d04dc20036dbd8313ed055aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}))
                .await;
        }
        last
    }

    /// Creates an analyst as the operator's `sekimori users create` does;
    /// returns the provisioning URI.
    pub fn analyst(&self, login: &str, role: Role) -> String {
        let (_, uri) = self
            .wb
            .analysts()
            .create(
                login,
                role,
                PASSWORD,
                sekimori_workbench::actions::OPERATOR,
                self.now(),
            )
            .expect("create analyst");
        uri.expose().to_string()
    }

    pub async fn send(&self, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
        let res = self.router.clone().oneshot(req).await.expect("answers");
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = axum::body::to_bytes(res.into_body(), 16 * 1024 * 1024)
            .await
            .expect("body");
        (
            status,
            headers,
            String::from_utf8_lossy(&bytes).into_owned(),
        )
    }

    pub async fn get(
        &self,
        path: &str,
        cookie: &str,
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let req = Request::get(path)
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .expect("request");
        self.send(req).await
    }

    pub async fn post_form(
        &self,
        path: &str,
        cookie: &str,
        form: &[(&str, &str)],
    ) -> (StatusCode, axum::http::HeaderMap, String) {
        let body = form
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        let req = Request::post(path)
            .header(header::COOKIE, cookie)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .expect("request");
        self.send(req).await
    }

    pub async fn api(
        &self,
        method: &str,
        path: &str,
        bearer: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.api_from(None, method, path, bearer, body).await
    }

    /// [`Bench::api`] from a client address (the server's `ConnectInfo`).
    pub async fn api_from(
        &self,
        from: Option<&str>,
        method: &str,
        path: &str,
        bearer: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(ip) = from {
            let addr = std::net::SocketAddr::new(ip.parse().expect("ip"), 40_000);
            req = req.extension(axum::extract::ConnectInfo(addr));
        }
        if !bearer.is_empty() {
            req = req.header(header::AUTHORIZATION, format!("Bearer {bearer}"));
        }
        let req = match body {
            Some(b) => req
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(b.to_string())),
            None => req.body(Body::empty()),
        }
        .expect("request");
        let (status, _, text) = self.send(req).await;
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Signs in through the page; returns the session cookie and the CSRF token.
    pub async fn sign_in(&self, login: &str, uri: &str) -> (String, String) {
        let (_, headers, page) = self.get("/ui/login", "").await;
        let pre_cookie = set_cookie(&headers, "sekimori_signin").expect("pre-session cookie");
        let pre = hidden(&page, "csrf").expect("csrf field");
        let code = sekimori_workbench::testing::totp_code(uri, self.now());
        let (status, headers, body) = self
            .post_form(
                "/ui/login",
                &format!("sekimori_signin={pre_cookie}"),
                &[
                    ("csrf", &pre),
                    ("lang", "en"),
                    ("login", login),
                    ("password", PASSWORD),
                    ("code", &code),
                ],
            )
            .await;
        assert_eq!(status, StatusCode::SEE_OTHER, "sign-in: {body}");
        let token = set_cookie(&headers, "sekimori_session").expect("session cookie");
        let cookie = format!("sekimori_session={token}");
        let (_, _, queue) = self.get("/ui/queue", &cookie).await;
        let csrf = hidden(&queue, "csrf").expect("csrf on the queue page");
        // The next sign-in of the same analyst needs the next TOTP step.
        self.advance(30_000);
        (cookie, csrf)
    }

    /// Signs in through the API; returns the bearer token.
    pub async fn api_sign_in(&self, login: &str, uri: &str) -> String {
        let code = sekimori_workbench::testing::totp_code(uri, self.now());
        let (status, body) = self
            .api(
                "POST",
                "/v1/workbench/sessions",
                "",
                Some(serde_json::json!({"login": login, "password": PASSWORD, "code": code})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        self.advance(30_000);
        body["token"].as_str().expect("token").to_string()
    }
}

/// The wall clock (a browser test signs in with real TOTP codes).
pub fn wall_ms() -> i64 {
    sekimori_workbench::system_clock()()
}

pub fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The value of cookie `name` set by an answer.
pub fn set_cookie(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| {
            v.strip_prefix(&format!("{name}="))
                .map(|r| r.split(';').next().unwrap_or("").to_string())
        })
}

/// The full `Set-Cookie` line of cookie `name`.
pub fn set_cookie_line(headers: &axum::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(String::from)
}

/// The value of the first hidden input named `name` on a page.
pub fn hidden(page: &str, name: &str) -> Option<String> {
    let at = page.find(&format!(r#"name="{name}" value=""#))?;
    let rest = &page[at + name.len() + 15..];
    Some(rest.split('"').next()?.to_string())
}

/// Every logged entry, decoded.
pub fn log_entries(b: &Bench) -> Vec<(u64, Entry)> {
    b.host
        .store
        .scan_from(1)
        .expect("scan")
        .map(|r| {
            let (seq, bytes) = r.expect("row");
            (seq, Entry::from_bytes(&bytes).expect("entry"))
        })
        .collect()
}
