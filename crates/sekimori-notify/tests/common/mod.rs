//! Test helpers: an axum webhook receiver on 127.0.0.1 that records every
//! request, and small builders.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use sekimori_notify::{read_dead_letters, DeadLetter, Notice, NotifyConfig};
use serde_json::json;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;

pub const SECRET: &[u8] = b"whsec_test_secret";
pub const MS: Duration = Duration::from_millis(1);

/// Status to answer: (notice id, 1-based count of requests for that id).
pub type Script = Arc<dyn Fn(&str, usize) -> u16 + Send + Sync>;

#[derive(Clone, Debug)]
pub struct Hit {
    pub at: Instant,
    pub headers: HeaderMap,
    pub body: Bytes,
}

pub struct App {
    hits: Mutex<Vec<Hit>>,
    script: Script,
    gate: watch::Receiver<bool>,
}

/// A webhook receiver that records every request, answers per `script`,
/// and holds its answers while the gate is closed.
pub struct Receiver {
    pub url: String,
    app: Arc<App>,
    gate: watch::Sender<bool>,
    _rt: tokio::runtime::Runtime,
}

impl Receiver {
    pub fn start(script: impl Fn(&str, usize) -> u16 + Send + Sync + 'static) -> Receiver {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let (gate, gate_rx) = watch::channel(true);
        let app = Arc::new(App {
            hits: Mutex::new(Vec::new()),
            script: Arc::new(script),
            gate: gate_rx,
        });
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        let addr: SocketAddr = listener.local_addr().expect("addr");
        let router = Router::new()
            .route("/hook", post(hook))
            .with_state(Arc::clone(&app));
        rt.spawn(async move { axum::serve(listener, router).await });
        Receiver {
            url: format!("http://{addr}/hook"),
            app,
            gate,
            _rt: rt,
        }
    }

    pub fn ok() -> Receiver {
        Receiver::start(|_, _| 200)
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.app.hits.lock().expect("hits").clone()
    }

    pub fn hits_for(&self, id: &str) -> Vec<Hit> {
        self.hits()
            .into_iter()
            .filter(|h| notice_id(h) == id)
            .collect()
    }

    pub fn hold(&self) {
        self.gate.send_replace(false);
    }

    pub fn release(&self) {
        self.gate.send_replace(true);
    }
}

pub async fn hook(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let id = headers
        .get("sekimori-notice-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let nth = {
        let mut hits = app.hits.lock().expect("hits");
        hits.push(Hit {
            at: Instant::now(),
            headers,
            body,
        });
        hits.iter().filter(|h| notice_id(h) == id).count()
    };
    let status = (app.script)(&id, nth);
    let mut gate = app.gate.clone();
    let _ = gate.wait_for(|open| *open).await;
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

pub fn notice_id(hit: &Hit) -> &str {
    hit.headers
        .get("sekimori-notice-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

pub fn notice(id: &str) -> Notice {
    Notice {
        id: id.into(),
        kind: "charge".into(),
        account: Some("acct_42".into()),
        service: "wallet".into(),
        at: "2024-06-01T00:00:00.000Z".into(),
        action: "allow".into(),
        summary: json!({"amount_minor": 5000, "currency": "JPY", "destination": "merchant_9"}),
    }
}

pub fn config(url: &str, dir: &Path) -> NotifyConfig {
    let mut c = NotifyConfig::new(url, SECRET, dir.join("dl/dead.jsonl"));
    c.max_attempts = 3;
    c.first_backoff = 20 * MS;
    c.max_backoff = 200 * MS;
    c.timeout = Duration::from_secs(2);
    c
}

/// A URL where nothing listens: bind a port, then free it.
pub fn refused_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    drop(listener);
    format!("http://{addr}/hook")
}

pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(2 * MS);
    }
}

pub fn now_unix() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    i64::try_from(secs).expect("secs")
}

pub fn dead(path: &Path) -> Vec<DeadLetter> {
    read_dead_letters(path).expect("dead letters")
}
