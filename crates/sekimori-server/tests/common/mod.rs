//! In-process harness: a server on a temp data dir, requests through the router.
#![allow(dead_code)]

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use sekimori_server::app::App;
use sekimori_server::keys::{create_key, Scope};
use sekimori_server::{open_app, routes, ServeConfig};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tower::ServiceExt;

pub struct Harness {
    pub dir: tempfile::TempDir,
    pub app: Arc<App>,
    pub router: Router,
    pub admin: String,
    pub ingest: String,
    pub read: String,
    pub config: ServeConfig,
}

/// A test server's config. Its decisions get a 10 s budget instead of the
/// pack's 50 ms: debug builds of parallel tests on two cores would otherwise
/// sometimes answer the fallback, and a test would see `allow` for a `deny`.
pub fn config(dir: &Path, rules: Option<PathBuf>) -> ServeConfig {
    let mut c = ServeConfig::new(
        dir.to_path_buf(),
        "127.0.0.1:0".parse().expect("addr"),
        rules,
    );
    c.time_budget_ms = Some(10_000);
    c
}

impl Harness {
    pub async fn new() -> Harness {
        Harness::with_rules(None).await
    }

    pub async fn with_rules(rules: Option<PathBuf>) -> Harness {
        Harness::with_config(|c| c.rules = rules).await
    }

    /// A harness whose server configuration `f` adjusts.
    pub async fn with_config(f: impl FnOnce(&mut ServeConfig)) -> Harness {
        let dir = tempfile::tempdir().expect("tempdir");
        let key = |name, scopes| create_key(dir.path(), name, scopes).expect("key").1;
        let admin = key("admin", vec![Scope::Admin, Scope::Read]);
        let ingest = key("ingest", vec![Scope::Ingest]);
        let read = key("reader", vec![Scope::Read]);
        let mut config = config(dir.path(), None);
        f(&mut config);
        let app = open(config.clone()).await;
        let router = routes::router(Arc::clone(&app));
        Harness {
            dir,
            app,
            router,
            admin,
            ingest,
            read,
            config,
        }
    }

    /// Stops the server and starts it again on the same data directory.
    pub async fn restart(self) -> Harness {
        self.restart_with(|_| {}).await
    }

    /// Stops the server and starts it again on the same data directory with
    /// its configuration adjusted by `f`.
    pub async fn restart_with(self, f: impl FnOnce(&mut ServeConfig)) -> Harness {
        let Harness {
            dir,
            app,
            router,
            admin,
            ingest,
            read,
            mut config,
        } = self;
        f(&mut config);
        drop(router);
        // A decision answered past its time budget still finishes in a task
        // that holds the app (and so the store's file lock): wait for it.
        for _ in 0..1000 {
            if Arc::strong_count(&app) == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        drop(app);
        // The store's file lock goes with the last holder of the store, which
        // a task finishing its work (a notice, a step-up write) may still be
        // for a moment after the app's last reference: retry a locked store
        // for a while, as an operator's restart would.
        let mut tries = 0;
        let app = loop {
            let c = config.clone();
            match tokio::task::spawn_blocking(move || open_app(&c))
                .await
                .expect("join")
            {
                Ok(app) => break app,
                Err(e) if tries < 200 && format!("{e:#}").contains("is locked") => {
                    tries += 1;
                    tokio::time::sleep(std::time::Duration::from_millis(25)).await;
                }
                Err(e) => panic!("reopening: {e:#}"),
            }
        };
        let router = routes::router(Arc::clone(&app));
        Harness {
            dir,
            app,
            router,
            admin,
            ingest,
            read,
            config,
        }
    }

    /// The same server with its metrics rendered at `/metrics`: `open_app`
    /// installs the process-wide Prometheus recorder (once per process) and
    /// gives every app its handle, as `sekimori serve` does.
    pub async fn with_metrics(self) -> Harness {
        assert!(
            self.app.metrics.is_some(),
            "open_app gave the app the recorder's handle"
        );
        self
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Value,
    ) -> (StatusCode, Value) {
        let (status, bytes) = self.call_raw(method, path, key, body).await;
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// The same, with the answer's body as bytes (for non-JSON answers).
    pub async fn call_raw(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Value,
    ) -> (StatusCode, Vec<u8>) {
        let body = if body.is_null() {
            Body::empty()
        } else {
            Body::from(body.to_string())
        };
        self.send(method, path, key, body).await
    }

    /// Sends `body` as it is written (a serde_json value cannot hold a
    /// repeated key or broken JSON) and parses the answer.
    pub async fn call_text(
        &self,
        method: Method,
        path: &str,
        key: &str,
        body: &str,
    ) -> (StatusCode, Value) {
        let (status, bytes) = self
            .send(method, path, Some(key), Body::from(body.to_string()))
            .await;
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Body,
    ) -> (StatusCode, Vec<u8>) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(k) = key {
            req = req.header("authorization", format!("Bearer {k}"));
        }
        let resp = self
            .router
            .clone()
            .oneshot(req.body(body).expect("request"))
            .await
            .expect("infallible");
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        (status, bytes.to_vec())
    }

    pub async fn event(&self, event: Value) -> (StatusCode, Value) {
        self.call(Method::POST, "/v1/events", Some(&self.ingest), event)
            .await
    }

    /// The event `id` as the log holds it, once it is there (at most 10 s).
    pub async fn logged_event(&self, id: &str) -> Value {
        for _ in 0..1000 {
            if let Some(seq) = self.app.store.seq_of_event(id).expect("index") {
                let bytes = self.app.store.get(seq).expect("read").expect("entry");
                match sekimori_engine::Entry::from_bytes(&bytes).expect("entry") {
                    sekimori_engine::Entry::Event { event, .. } => return event,
                    _ => panic!("{id} is not an event"),
                }
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("{id} not logged");
    }
}

/// Opens the app off the async threads (it blocks on I/O).
pub async fn open(config: ServeConfig) -> Arc<App> {
    tokio::task::spawn_blocking(move || open_app(&config))
        .await
        .expect("join")
        .expect("opens")
}

/// A failed PIN login on `account` with a shared secret, `n` seconds into the day.
pub fn pin_failure(id: &str, account: &str, n: i64) -> Value {
    json!({"id": id, "type": "login.attempt", "service": "bank",
           "at": sekimori_event::format_rfc3339_ms(1_795_000_000_000 + n * 1000),
           "account": account, "factor": "pin", "result": "failure",
           "secret_fp": format!("k1:{}", "cd".repeat(32)), "actor": {"ip": "203.0.113.5"}})
}
