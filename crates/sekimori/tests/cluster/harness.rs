//! A three-node NATS cluster and sekimori nodes on loopback, in a temporary
//! directory; every process is killed when the harness drops.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_sekimori");

/// A free loopback port below the kernel's ephemeral range (so no outgoing
/// connection takes it while a node is down and wants it back).
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let base = std::process::id().wrapping_mul(7919);
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = 15_000 + (base.wrapping_add(n.wrapping_mul(104_729)) % 17_000) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Fails the test, clearly, when nats-server is not installed.
pub fn nats_server() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("nats-server"))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!(
            "nats-server is not on PATH: the cluster tests need it \
             (Debian: apt-get install -y nats-server; .ci/run installs it)"
        )
    })
}

/// Whether nats-server is on PATH (a test that skips without it asks).
pub fn nats_available() -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join("nats-server").is_file()))
}

pub struct Nats {
    bin: PathBuf,
    dir: PathBuf,
    pub client: [u16; 3],
    route: [u16; 3],
    procs: [Option<Child>; 3],
}

impl Nats {
    pub fn start(dir: &Path) -> Nats {
        let mut n = Nats {
            bin: nats_server(),
            dir: dir.to_path_buf(),
            client: [free_port(), free_port(), free_port()],
            route: [free_port(), free_port(), free_port()],
            procs: [None, None, None],
        };
        for i in 0..3 {
            n.start_node(i);
        }
        n
    }

    pub fn urls(&self) -> String {
        self.client
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn start_node(&mut self, i: usize) {
        let routes: Vec<String> = (0..3)
            .filter(|&j| j != i)
            .map(|j| format!("nats://127.0.0.1:{}", self.route[j]))
            .collect();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("nats{i}.log")))
            .expect("log");
        let child = Command::new(&self.bin)
            .args(["-js", "-a", "127.0.0.1", "-p"])
            .arg(self.client[i].to_string())
            .args(["-n", &format!("n{i}"), "--cluster_name", "sekitest"])
            .arg("--cluster")
            .arg(format!("nats://127.0.0.1:{}", self.route[i]))
            .arg("--routes")
            .arg(routes.join(","))
            .arg("-sd")
            .arg(self.dir.join(format!("nats{i}")))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("nats-server starts");
        self.procs[i] = Some(child);
    }

    pub fn kill_node(&mut self, i: usize) {
        if let Some(mut c) = self.procs[i].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        for i in 0..3 {
            self.kill_node(i);
        }
    }
}

/// One sekimori node of the shard.
pub struct Node {
    pub name: String,
    pub data: PathBuf,
    pub port: u16,
    log: PathBuf,
    pub child: Option<Child>,
}

impl Node {
    pub fn new(dir: &Path, name: &str) -> Node {
        Node {
            name: name.to_string(),
            data: dir.join(name),
            port: free_port(),
            log: dir.join(format!("{name}.log")),
            child: None,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The node's `sekimori serve` in the shard `bank`, its standard error
    /// appended to its log.
    fn serve(&self, nats: &str, extra: &[&str]) -> Command {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log");
        let mut command = Command::new(BIN);
        command
            .args(["serve", "--data"])
            .arg(&self.data)
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .args(["--nats", nats, "--node", &self.name, "--shard", "bank"])
            .args(["--lease-ttl-ms", "1000"])
            .args(extra)
            .stderr(log);
        command
    }

    /// Starts the node and waits until it answers (as follower or leader).
    pub fn start(&mut self, nats: &str, extra: &[&str]) {
        let mut child = self
            .serve(nats, extra)
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawns");
        let stdout = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            // Drain the banners so the child never blocks on its stdout.
            for line in BufReader::new(stdout).lines() {
                if line.is_err() {
                    return;
                }
            }
        });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.status().is_none() {
            if self.exited() {
                let log = std::fs::read_to_string(&self.log).unwrap_or_default();
                let tail: Vec<&str> = log.lines().rev().take(10).collect();
                panic!("node {} exited at start: {tail:#?}", self.name);
            }
            assert!(
                Instant::now() < deadline,
                "node {} did not come up; see {}",
                self.name,
                self.log.display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs the node expecting it to exit (it cannot join) within `within`;
    /// returns whether it exited, and its log. Killed if it did not.
    pub fn run_until_exit(
        &mut self,
        nats: &str,
        extra: &[&str],
        within: Duration,
    ) -> (bool, String) {
        let mut child = self
            .serve(nats, extra)
            .stdout(Stdio::null())
            .spawn()
            .expect("spawns");
        let deadline = Instant::now() + within;
        let exited = loop {
            if matches!(child.try_wait(), Ok(Some(_))) {
                break true;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break false;
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        (exited, self.log_text())
    }

    /// What the node logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Whether the process has exited (reaping it).
    pub fn exited(&mut self) -> bool {
        match &mut self.child {
            Some(c) => matches!(c.try_wait(), Ok(Some(_))),
            None => true,
        }
    }

    /// `/v1/cluster`, when the node answers.
    pub fn status(&self) -> Option<Value> {
        let mut r = agent()
            .get(&format!("{}/v1/cluster", self.url()))
            .call()
            .ok()?;
        (r.status().as_u16() == 200)
            .then(|| r.body_mut().read_json().ok())
            .flatten()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

pub use crate::common::{agent, post};

/// Creates one API key in the first node's data directory and copies the
/// key file to the others (every node must accept the same keys), and
/// gives every node the same step-up key (each opens the sealed seeds the
/// others logged).
pub fn shared_key(nodes: &[&Node]) -> String {
    let first = &nodes[0].data;
    let out = Command::new(BIN)
        .args(["keys", "create", "--name", "t", "--scopes", "ingest,read"])
        .args(["--all-services", "--data"])
        .arg(first)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for n in &nodes[1..] {
        std::fs::create_dir_all(&n.data).expect("dir");
        std::fs::copy(first.join("keys.json"), n.data.join("keys.json")).expect("copy keys");
    }
    for n in nodes {
        shared_stepup_key(&n.data);
    }
    String::from_utf8(out.stdout)
        .expect("utf8")
        .trim()
        .to_string()
}

/// Sends `event` to `base` until it is acknowledged durable (a retry with the
/// same id answers the original decision); the answer's decision.
pub fn ack(agent: &ureq::Agent, base: &str, key: &str, event: &Value) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let answer = post(agent, &format!("{base}/v1/events"), key, event);
        if let Some((200, b)) = &answer {
            if b["durable"] == serde_json::json!(true) {
                return b["decision"].clone();
            }
        }
        assert!(
            Instant::now() < deadline,
            "{} not acknowledged by {base}: {answer:?}",
            event["id"]
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Writes the shard's step-up master key (a fixed test key, 64 hex digits,
/// mode 0600) into a node's data directory, as an operator copies it.
/// The step-up key every test node shares (64 hex digits).
pub const SHARED_STEPUP_KEY: &str =
    "5e1f0a7c3b9d2e4f8a6c1b0d9e7f5a3c2b4d6e8f0a1c3e5b7d9f2a4c6e8b0d1f";

pub fn shared_stepup_key(data: &Path) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::create_dir_all(data).expect("dir");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(data.join("stepup.key"))
        .expect("stepup.key");
    f.write_all(SHARED_STEPUP_KEY.as_bytes()).expect("write");
}

/// Waits until every running node has applied the stream's last entry.
pub fn wait_applied(nodes: &[Node], stream: &crate::check::Stream) {
    let last = stream.last_seq();
    let deadline = Instant::now() + Duration::from_secs(30);
    for n in nodes.iter().filter(|n| n.child.is_some()) {
        while n
            .status()
            .is_none_or(|s| s["applied_seq"].as_u64() < Some(last))
        {
            assert!(Instant::now() < deadline, "{} never applied {last}", n.name);
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
