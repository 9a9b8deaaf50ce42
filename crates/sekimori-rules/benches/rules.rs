//! Micro-benchmarks of rule expressions and pack compilation.
//!
//! - `eval_fresh_vars`: one `Vars::new(&event, &features, &lists)` per
//!   iteration, then one evaluation: the realistic per-event cost, since the
//!   engine builds one `Vars` per event (the first evaluation pays for turning
//!   the JSON inputs into CEL values).
//! - `eval_reused_vars`: one `Vars` shared by every iteration: the cost of each
//!   further rule evaluated for the same event.
//! - `compile_expr`: `Expr::compile` of each expression.
//! - `load_default_pack` / `compile_default_pack`: `load_pack("rules/default")`
//!   (reading and parsing the YAML) and `compile(source)` of the shipped pack.
//!
//! Expressions (`eval` for the plain path, `eval_bool` for the conditions):
//! `field_path` `event.actor.ip`; `feature_cmp`
//! `features.login_failures_per_ip_net_10m >= 50`; `compound`, the
//! sprayed-secret rule; `list_in`, the blocked-IP rule against a 1000-address
//! list; `map_index`, the custody per-asset threshold. The inputs mirror what
//! the engine passes: the event view (canonical JSON plus derived fields) and
//! a features object with the plan's readings.
//!
//! Run with:
//!
//! ```sh
//! cargo bench -p sekimori-rules --bench rules
//! ```

use divan::{black_box, Bencher};
use sekimori_rules::{compile, load_pack, Expr, ListValues, Vars};
use serde_json::{json, Value as Json};
use std::collections::BTreeSet;
use std::path::Path;

fn main() {
    divan::main();
}

const DEFAULT_PACK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../rules/default");

const CASES: &[&str] = &[
    "field_path",
    "feature_cmp",
    "compound",
    "list_in",
    "map_index",
];

/// The expression of a case and whether it reads the custody event.
fn case(name: &str) -> (&'static str, bool) {
    match name {
        "field_path" => ("event.actor.ip", false),
        "feature_cmp" => ("features.login_failures_per_ip_net_10m >= 50", false),
        "compound" => (
            "event.result == 'success' && features.accounts_failing_per_secret_1h >= 8 \
             && features.login_risk >= 0",
            false,
        ),
        "list_in" => (
            "has(event.actor.ip) && event.actor.ip in lists.blocked_ips",
            false,
        ),
        "map_index" => (
            "event.amount_minor >= {'BTC': 100000000, 'XEM': 100000000000}[event.currency]",
            true,
        ),
        other => panic!("unknown case {other}"),
    }
}

/// The engine's view of a PIN login attempt.
fn login_view() -> Json {
    json!({
        "id": "e0",
        "type": "login.attempt",
        "at": "2026-11-18T11:06:40.000Z",
        "at_ms": 1_795_000_000_000_i64,
        "service": "bank",
        "account": "acct-9886",
        "factor": "pin",
        "result": "success",
        "secret_fp": "k1:0000000000000000000000000000000000000000000000000000000000000317",
        "actor": {"ip": "198.51.37.48", "ip_net": "198.51.37.0/24", "device": "d47931"},
        "attrs": {}
    })
}

/// The engine's view of a hot-wallet outflow.
fn outflow_view() -> Json {
    json!({
        "id": "ev-0203",
        "type": "wallet.outflow",
        "at": "2026-11-20T16:06:00.000Z",
        "at_ms": 1_795_190_760_000_i64,
        "service": "exchange-signer",
        "wallet": "hot-xem-1",
        "stage": "signing",
        "amount_minor": 1_500_000_000_i64,
        "currency": "XEM",
        "address": "NBZMQO7ZPBYNBDUR7F75MAKA2S3DHDCIFG775N3D",
        "request_id": "wr-77",
        "hot_balance_minor": 52_300_000_000_000_i64,
        "actor": {},
        "attrs": {}
    })
}

/// Feature readings as the engine passes them (integers or null).
fn features() -> Json {
    json!({
        "login_failures_per_account_15m": 2,
        "accounts_failing_per_secret_1h": 9,
        "accounts_failing_per_secret_24h": 31,
        "login_failures_per_ip_net_10m": 12,
        "login_failures_per_account_24h": 4,
        "login_risk": 35,
        "device_first_seen": 1_794_999_000_000_i64,
        "account_last_seen": null
    })
}

/// `blocked_ips` with 1000 documentation-range addresses (not the event's).
fn lists() -> ListValues {
    let blocked: BTreeSet<String> = (0..1000)
        .map(|i| format!("203.0.{}.{}", i / 250, i % 250 + 1))
        .collect();
    ListValues::new([("blocked_ips", &blocked)])
}

struct Inputs {
    expr: Expr,
    path: bool,
    event: Json,
    features: Json,
    lists: ListValues,
}

fn inputs(name: &str) -> Inputs {
    let (source, custody) = case(name);
    let (expr, _refs) = Expr::compile(source).expect("benchmark expressions compile");
    let inputs = Inputs {
        expr,
        path: name == "field_path",
        event: if custody {
            outflow_view()
        } else {
            login_view()
        },
        features: features(),
        lists: lists(),
    };
    let vars = Vars::new(&inputs.event, &inputs.features, &inputs.lists);
    eval(&inputs.expr, inputs.path, &vars);
    inputs
}

/// Evaluates as the engine does: `eval` for a value, `eval_bool` for a condition.
fn eval(expr: &Expr, path: bool, vars: &Vars<'_>) -> Json {
    if path {
        expr.eval(vars).expect("benchmark expressions evaluate")
    } else {
        Json::Bool(expr.eval_bool(vars).expect("benchmark conditions evaluate"))
    }
}

/// A fresh `Vars` per iteration (one per event).
#[divan::bench(args = CASES)]
fn eval_fresh_vars(bencher: Bencher, name: &str) {
    let i = inputs(name);
    bencher.bench_local(|| {
        let vars = Vars::new(
            black_box(&i.event),
            black_box(&i.features),
            black_box(&i.lists),
        );
        eval(&i.expr, i.path, &vars)
    });
}

/// One `Vars` reused by every iteration (further rules on the same event).
#[divan::bench(args = CASES)]
fn eval_reused_vars(bencher: Bencher, name: &str) {
    let i = inputs(name);
    let vars = Vars::new(&i.event, &i.features, &i.lists);
    bencher.bench_local(|| eval(&i.expr, i.path, black_box(&vars)));
}

/// `Expr::compile` (parse, bounds and reference checks).
#[divan::bench(args = CASES)]
fn compile_expr(bencher: Bencher, name: &str) {
    let (source, _) = case(name);
    bencher.bench_local(|| Expr::compile(black_box(source)).expect("compiles"));
}

/// `load_pack` of the default pack directory (file reads and YAML parsing).
#[divan::bench(sample_count = 20)]
fn load_default_pack() -> sekimori_rules::PackSource {
    load_pack(Path::new(black_box(DEFAULT_PACK))).expect("the default pack loads")
}

/// `compile` of the loaded default pack (every check, including its tests).
#[divan::bench(sample_count = 20)]
fn compile_default_pack(bencher: Bencher) {
    let source = load_pack(Path::new(DEFAULT_PACK)).expect("the default pack loads");
    bencher
        .with_inputs(|| source.clone())
        .bench_local_values(|s| compile(s).expect("the default pack compiles"));
}
