//! Server time of a case page and of the search with 10,000,000 entries in
//! the log and 100,000 open cases in the index (issue 14, part 6).
//!
//! The log is a real `sekimori_store::Store` (redb, in a temporary
//! directory) holding synthetic `Entry::Event` entries, written in large
//! batches through the store's own write API (`Store::submit` of
//! `Op::Append`, the way the ledger appends: the entry's JSON bytes, the
//! event's (service, id) key). 200,000 accounts, four to a device, eight to
//! an IP address; one entry in `ENTRIES / 100,000` is a `review` transfer of
//! a distinct account, so 100,000 cases are open. The workbench is opened
//! over that store as the server opens it (`Workbench::open` rebuilds the
//! case index from the whole log), once per process; both build times are
//! printed.
//!
//! Every sample is one request through the workbench's axum router (no
//! socket): the session cookie or bearer check, the catch-up with the log,
//! the case from the index, its decisions and the account's latest events
//! read from the store by seq, the linked accounts, the holds and lists
//! from the host, the HTML or JSON.
//!
//! Before the pages, `support/accounts_memory.rs` prints the case index's
//! memory per account and under a flood of minted accounts.
//!
//! ```sh
//! cargo bench -p sekimori-workbench --bench case_page
//! # a smaller log (e.g. where 10 M does not fit):
//! SEKIMORI_BENCH_ENTRIES=1000000 cargo bench -p sekimori-workbench --bench case_page
//! ```

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use divan::{black_box, Bencher};
use sekimori_engine::{Decision, Entry, HoldKey, PackRef, Reason};
use sekimori_notify::Notice;
use sekimori_rules::{Action, RuleAction};
use sekimori_store::{EventKey, Op, Store};
use sekimori_workbench::analysts::Role;
use sekimori_workbench::{BoxFuture, Config, Host, WbError, Workbench};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use tower::ServiceExt;

/// Entries in the log unless `SEKIMORI_BENCH_ENTRIES` says otherwise.
const DEFAULT_ENTRIES: u64 = 10_000_000;
/// Open cases: one `review` transfer each, of distinct accounts.
const CASES: u64 = 100_000;
const ACCOUNTS: u64 = 200_000;
/// Entries per write batch (under the store's queue of 65,536).
const BATCH: u64 = 50_000;
/// 2026-12-05T09:00:00Z, the server clock.
const NOW_MS: i64 = 1_796_461_200_000;
/// The log spans the 30 days before `NOW_MS`.
const SPAN_MS: i64 = 30 * 86_400_000;
const PASSWORD: &str = "correct horse battery";
/// Cases the page benches open: the page the first half, the API the
/// second, each case once per 128 samples, so no sample reads a case that
/// an earlier bench of this process has read.
const PICKED: usize = 256;
const HALF: usize = PICKED / 2;

#[path = "support/accounts_memory.rs"]
mod accounts_memory;

/// Built once per process, by the first bench that runs.
static WORLD: OnceLock<World> = OnceLock::new();

fn main() {
    // Before the world: the index's memory per account, and flat under a flood.
    accounts_memory::report();
    divan::main();
    // A static is never dropped: remove the store's gigabytes here.
    if let Some(w) = WORLD.get() {
        let _ = std::fs::remove_dir_all(w.dir.path());
    }
}

fn entries() -> u64 {
    std::env::var("SEKIMORI_BENCH_ENTRIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_ENTRIES)
        .max(CASES)
}

/// Entry `i` (1-based) of a log of `n`: a review transfer of account `k`
/// when `i` is the `k`-th multiple of `n / CASES`, else an allowed login or
/// transfer of a pseudo-random account.
fn entry(i: u64, n: u64) -> (EventKey, Entry) {
    let every = n / CASES;
    let review = i.is_multiple_of(every) && i / every <= CASES;
    let account = if review {
        i / every - 1
    } else {
        // Mixed (not a plain multiple of i mod ACCOUNTS, which would give
        // some accounts only the seqs that are reviews).
        let x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (x ^ (x >> 29)) % ACCOUNTS
    };
    let at_ms = NOW_MS - SPAN_MS + (i as i64) * (SPAN_MS / n as i64);
    let at = sekimori_event::format_rfc3339_ms(at_ms);
    let id = format!("e-{i}");
    let transfer = review || i.is_multiple_of(3);
    let event_type = if transfer { "transfer" } else { "login" };
    let mut event = json!({"id": id, "type": event_type, "service": "netbank", "at": at,
        "account": format!("acct-{account}"),
        "actor": {"device": format!("dev-{}", account / 4),
                  "ip": format!("10.{}.{}.{}", account / 8 / 65_536, account / 8 / 256 % 256, account / 8 % 256)}});
    if transfer {
        event["amount_minor"] = json!(1_000 + (i * 7_919) % 5_000_000);
        event["currency"] = json!("JPY");
        event["payee_id"] = json!(format!("payee-{}", i % 5_000));
    }
    let (action, reasons) = if review {
        let reason = Reason {
            rule: "drain_after_credential_change".into(),
            action: RuleAction::Review,
            score: 60,
            reason: "This leaves the account nearly empty".into(),
            shadow: false,
            methods: Vec::new(),
            hold: None,
        };
        (Action::Review, vec![reason])
    } else {
        (Action::Allow, Vec::new())
    };
    let decision = Decision {
        event_id: id.clone(),
        event_type: event_type.into(),
        at,
        action,
        methods: Vec::new(),
        score: if review { 60 } else { (i % 20) as i64 },
        reasons,
        features: Default::default(),
        pack: PackRef {
            name: "default".into(),
            version: "bench".into(),
        },
        late: false,
        errors: Vec::new(),
    };
    (
        EventKey::new("netbank", id),
        Entry::Event { event, decision },
    )
}

/// The host of a server with no holds in force and no lists: appends go
/// straight to the store (the page under test appends nothing).
struct BenchHost {
    store: Arc<Store>,
    seq: AtomicU64,
}

impl Host for BenchHost {
    fn append(&self, entry: Entry) -> BoxFuture<'_, Result<(), WbError>> {
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let rx = self.store.submit(Op::Append {
            seq,
            event: None,
            bytes: entry.to_bytes(),
        });
        Box::pin(async move {
            rx.await
                .map_err(|e| WbError::Storage(e.to_string()))?
                .map_err(|e| WbError::Storage(e.to_string()))
        })
    }
    fn notify(&self, _notice: Notice) -> bool {
        false
    }
    fn label_key(&self, _bearer: &str, _service: &str) -> Result<String, WbError> {
        Err(WbError::BadKey)
    }
    fn place_hold(
        &self,
        _hold: HoldKey,
        _action: Action,
        _by: String,
        _reason: String,
    ) -> BoxFuture<'_, Result<bool, WbError>> {
        Box::pin(async { Ok(false) })
    }
    fn lift_hold(
        &self,
        _hold: HoldKey,
        _by: String,
        _reason: String,
    ) -> BoxFuture<'_, Result<bool, WbError>> {
        Box::pin(async { Ok(false) })
    }
    fn holds(&self, _service: String) -> BoxFuture<'_, Vec<(HoldKey, Action, String)>> {
        Box::pin(async { Vec::new() })
    }
    fn edit_list(
        &self,
        _name: String,
        _add: Vec<String>,
        _remove: Vec<String>,
        _by: String,
    ) -> BoxFuture<'_, Result<bool, WbError>> {
        Box::pin(async { Ok(false) })
    }
    fn lists(&self) -> BoxFuture<'_, Vec<String>> {
        Box::pin(async { Vec::new() })
    }
}

struct World {
    dir: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
    router: Router,
    /// The session token (cookie for pages, bearer for the API).
    token: String,
    /// Open case ids spread over the index.
    cases: Vec<u64>,
    /// An account with an open case, and a logged event id of one.
    accounts: Vec<String>,
    event_ids: Vec<String>,
}

fn dir_bytes(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_bytes(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

fn build() -> World {
    let n = entries();
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(Store::open(&dir.path().join("store")).expect("store"));
    let t = Instant::now();
    let mut i = 1;
    while i <= n {
        let last = (i + BATCH - 1).min(n);
        let mut done = None;
        for seq in i..=last {
            let (key, entry) = entry(seq, n);
            done = Some(store.submit(Op::Append {
                seq,
                event: Some(key),
                bytes: entry.to_bytes(),
            }));
        }
        // Ops commit in order: the batch's last is durable once all are.
        let res = done.expect("a batch").blocking_recv().expect("writer");
        res.expect("durable");
        i = last + 1;
    }
    let wrote = t.elapsed();
    let bytes = dir_bytes(dir.path());
    let host = Arc::new(BenchHost {
        store: Arc::clone(&store),
        seq: AtomicU64::new(n),
    });
    let mut config = Config::new(false);
    config.clock = Arc::new(|| NOW_MS);
    let t = Instant::now();
    let wb = Workbench::open(store, host, dir.path(), config).expect("workbench");
    let opened = t.elapsed();
    let (cases, accounts, event_ids) = {
        let index = wb.index();
        assert_eq!(index.open_count(), CASES as usize, "open cases");
        let mut ids: Vec<u64> = index.cases().map(|c| c.id).collect();
        ids.sort_unstable();
        let step = ids.len() / PICKED;
        let picked: Vec<u64> = ids.iter().step_by(step).copied().take(PICKED).collect();
        let accounts = picked
            .iter()
            .filter_map(|id| index.case(*id).map(|c| c.entity.clone()))
            .collect();
        let events = picked
            .iter()
            .filter_map(|id| index.case(*id).and_then(|c| c.events.first()))
            .map(|e| e.event_id.clone())
            .collect();
        (picked, accounts, events)
    };
    eprintln!(
        "case_page bench: {n} log entries written in {:.1} s ({:.2} GB on disk); \
         Workbench::open rebuilt the index of {CASES} open cases in {:.1} s",
        wrote.as_secs_f64(),
        bytes as f64 / 1e9,
        opened.as_secs_f64()
    );
    let (_, uri) = wb
        .analysts()
        .create(
            "aiko",
            Role::Analyst,
            PASSWORD,
            sekimori_workbench::actions::OPERATOR,
            NOW_MS,
        )
        .expect("analyst");
    let code = sekimori_workbench::testing::totp_code(uri.expose(), NOW_MS);
    let router = sekimori_workbench::router(Arc::clone(&wb));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let body = json!({"login": "aiko", "password": PASSWORD, "code": code}).to_string();
    let req = Request::post("/v1/workbench/sessions")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body))
        .expect("request");
    let (status, text) = rt.block_on(send(&router, req));
    assert_eq!(status, StatusCode::OK, "sign-in: {text}");
    let token = serde_json::from_str::<serde_json::Value>(&text).expect("json")["token"]
        .as_str()
        .expect("token")
        .to_string();
    World {
        dir,
        rt,
        router,
        token,
        cases,
        accounts,
        event_ids,
    }
}

fn world() -> &'static World {
    WORLD.get_or_init(build)
}

async fn send(router: &Router, req: Request<Body>) -> (StatusCode, String) {
    let res = router.clone().oneshot(req).await.expect("answers");
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 16 * 1024 * 1024)
        .await
        .expect("body");
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

impl World {
    fn page(&self, path: &str) -> (StatusCode, String) {
        let req = Request::get(path)
            .header(header::COOKIE, format!("sekimori_session={}", self.token))
            .body(Body::empty())
            .expect("request");
        self.rt.block_on(send(&self.router, req))
    }

    fn api(&self, path: &str) -> (StatusCode, String) {
        let req = Request::get(path)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token))
            .body(Body::empty())
            .expect("request");
        self.rt.block_on(send(&self.router, req))
    }
}

/// `GET /ui/cases/{id}`: the case page an analyst opens, 128 cases in turn.
#[divan::bench(sample_count = 100)]
fn case_page(bencher: Bencher) {
    let w = world();
    let (status, html) = w.page(&format!("/ui/cases/{}", w.cases[0]));
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains(&w.accounts[0]), "the page names the account");
    // What the page carries: the account's latest events (about
    // entries / ACCOUNTS of them, at most 50) and the linked accounts
    // (three share its device, seven its address).
    let rows = html.matches("<td>e-").count();
    let linked = html.matches(r#"r="11""#).count();
    let expect_rows = (entries() / ACCOUNTS / 2).min(25) as usize;
    assert!(rows >= expect_rows, "{rows} timeline rows");
    assert!(linked >= 3, "{linked} linked accounts drawn");
    eprintln!(
        "case page of {}: {rows} event rows, {linked} linked accounts drawn, {} bytes",
        w.accounts[0],
        html.len()
    );
    let mut k = 0;
    bencher.bench_local(|| {
        k = (k + 1) % HALF;
        let (status, html) = w.page(&format!("/ui/cases/{}", w.cases[k]));
        assert_eq!(status, StatusCode::OK);
        black_box(html.len())
    });
}

/// `GET /v1/cases/{id}`: the same case as JSON.
#[divan::bench(sample_count = 100)]
fn case_api(bencher: Bencher) {
    let w = world();
    let (status, body) = w.api(&format!("/v1/cases/{}", w.cases[HALF]));
    assert_eq!(status, StatusCode::OK, "{body}");
    let mut k = 0;
    bencher.bench_local(|| {
        k = (k + 1) % HALF;
        let (status, body) = w.api(&format!("/v1/cases/{}", w.cases[HALF + k]));
        assert_eq!(status, StatusCode::OK);
        black_box(body.len())
    });
}

/// `GET /v1/search?q=acct-N&kind=account`.
#[divan::bench(sample_count = 100)]
fn search_by_account(bencher: Bencher) {
    let w = world();
    let (status, body) = w.api(&format!("/v1/search?q={}&kind=account", w.accounts[0]));
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(&format!("{}", w.cases[0])), "found: {body}");
    let mut k = 0;
    bencher.bench_local(|| {
        k = (k + 1) % w.accounts.len();
        let (status, body) = w.api(&format!("/v1/search?q={}&kind=account", w.accounts[k]));
        assert_eq!(status, StatusCode::OK);
        black_box(body.len())
    });
}

/// `GET /v1/search?q=e-N&kind=event`.
#[divan::bench(sample_count = 100)]
fn search_by_event_id(bencher: Bencher) {
    let w = world();
    let (status, body) = w.api(&format!("/v1/search?q={}&kind=event", w.event_ids[0]));
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains(&format!("{}", w.cases[0])), "found: {body}");
    let mut k = 0;
    bencher.bench_local(|| {
        k = (k + 1) % w.event_ids.len();
        let (status, body) = w.api(&format!("/v1/search?q={}&kind=event", w.event_ids[k]));
        assert_eq!(status, StatusCode::OK);
        black_box(body.len())
    });
}

/// `GET /v1/search?q=acct-N` of any kind (every kind tried in turn).
#[divan::bench(sample_count = 100)]
fn search_any_kind(bencher: Bencher) {
    let w = world();
    let mut k = 0;
    bencher.bench_local(|| {
        k = (k + 1) % w.accounts.len();
        let (status, body) = w.api(&format!("/v1/search?q={}", w.accounts[k]));
        assert_eq!(status, StatusCode::OK);
        black_box(body.len())
    });
}
