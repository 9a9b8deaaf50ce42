//! Running the real binary: a server on an ephemeral port, a blocking client.
#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_sekimori");

/// Runs the binary to completion.
pub fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().expect("runs")
}

/// Creates an API key in `data` and returns it.
pub fn create_key(data: &Path, scopes: &str) -> String {
    create_named_key(data, "test", scopes)
}

/// Creates an API key named `name` in `data` and returns it.
pub fn create_named_key(data: &Path, name: &str, scopes: &str) -> String {
    let out = run(&[
        "keys",
        "create",
        "--name",
        name,
        "--scopes",
        scopes,
        // The tests run one deployment whose keys speak for every service.
        "--all-services",
        "--data",
        data.to_str().expect("utf8"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_string()
}

pub struct Server {
    pub child: Child,
    pub url: String,
}

impl Server {
    /// Starts `sekimori serve` on an ephemeral port; stderr goes to `log`.
    pub fn start(data: &Path, log: &Path, extra: &[&str]) -> Server {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("log file");
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--data",
                data.to_str().expect("utf8"),
                "--listen",
                "127.0.0.1:0",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("spawns");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("banner");
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no address in banner: {line:?}"))
            .to_string();
        Server { child, url }
    }

    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(10)))
        .build()
        .into()
}

/// POSTs JSON; `None` when the connection fails (the server was killed).
pub fn post(agent: &ureq::Agent, url: &str, key: &str, body: &Value) -> Option<(u16, Value)> {
    let mut resp = agent
        .post(url)
        .header("authorization", &format!("Bearer {key}"))
        .send_json(body)
        .ok()?;
    let status = resp.status().as_u16();
    Some((status, resp.body_mut().read_json().unwrap_or(Value::Null)))
}

pub fn get(agent: &ureq::Agent, url: &str, key: &str) -> (u16, Value) {
    let mut resp = agent
        .get(url)
        .header("authorization", &format!("Bearer {key}"))
        .call()
        .expect("get");
    let status = resp.status().as_u16();
    (status, resp.body_mut().read_json().unwrap_or(Value::Null))
}

/// A failed PIN login `n` seconds into the test's time line (in the past).
pub fn login(id: &str, n: u64) -> Value {
    json!({"id": id, "type": "login.attempt", "service": "bank",
           "at": format!("2025-06-01T{:02}:{:02}:{:02}Z", (n / 3600) % 24, (n / 60) % 60, n % 60),
           "account": format!("acct-{}", n % 17), "factor": "pin", "result": "failure",
           "secret_fp": format!("k1:{:064x}", n % 5), "actor": {"ip": format!("198.51.100.{}", n % 7)}})
}

/// The password [`users_create`] gives every analyst it makes.
pub const ANALYST_PASSWORD: &str = "correct horse battery";

/// `sekimori users create` with [`ANALYST_PASSWORD`] on stdin, as an
/// operator runs it; returns the TOTP URI it prints.
pub fn users_create(data: &Path, login: &str, role: &str) -> String {
    use std::io::Write;
    let mut child = Command::new(BIN)
        .args([
            "users", "create", "--login", login, "--role", role, "--data",
        ])
        .arg(data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawns");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{ANALYST_PASSWORD}\n").as_bytes())
        .expect("password");
    let out = child.wait_with_output().expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_string()
}
