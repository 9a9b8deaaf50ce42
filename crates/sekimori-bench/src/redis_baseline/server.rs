//! The local `redis-server` the baseline runs against.

use super::*;

/// A `redis-server` of our own on a unix socket in a temp dir, no
/// persistence; killed when dropped.
pub(super) struct Server {
    pub(super) child: Child,
    pub(super) socket: PathBuf,
    /// Holds the socket and the log; removed after the server is killed.
    pub(super) _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub(super) fn start() -> anyhow::Result<Server> {
        let dir = tempfile::tempdir().context("creating a temp dir for redis-server")?;
        let socket = dir.path().join("redis.sock");
        let log = dir.path().join("redis.log");
        let child = Command::new("redis-server")
            .args(["--port", "0", "--unixsocket"])
            .arg(&socket)
            .args([
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(["--daemonize", "no", "--databases", "1", "--dir"])
            .arg(dir.path())
            .arg("--logfile")
            .arg(&log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match child {
            Ok(c) => c,
            Err(e) if e.kind() == ErrorKind::NotFound => bail!(
                "redis-server is not on PATH: install it with `{INSTALL_HINT}` (or bench/redis/install.sh)"
            ),
            Err(e) => return Err(e).context("starting redis-server"),
        };
        let mut server = Server {
            child,
            socket,
            _dir: dir,
        };
        server.wait_ready(&log)?;
        Ok(server)
    }

    pub(super) fn wait_ready(&mut self, log: &Path) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().context("watching redis-server")? {
                let log = std::fs::read_to_string(log).unwrap_or_default();
                bail!("redis-server exited at start ({status}):\n{log}");
            }
            if let Ok(mut con) = self.connect() {
                if redis::cmd("PING").query::<String>(&mut con).is_ok() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "redis-server did not answer on {} within 10 s",
                    self.socket.display()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub(super) fn connect(&self) -> anyhow::Result<redis::Connection> {
        let client = redis::Client::open(redis::ConnectionAddr::Unix(self.socket.clone()))?;
        Ok(client.get_connection()?)
    }
}

/// One `INFO` field, as text.
pub(super) fn info_field(
    con: &mut redis::Connection,
    section: &str,
    field: &str,
) -> anyhow::Result<String> {
    let info: String = redis::cmd("INFO").arg(section).query(con)?;
    info.lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .map(|v| v.trim().to_string())
        .ok_or_else(|| anyhow!("INFO {section} has no {field}"))
}

/// Data commands run since the last `CONFIG RESETSTAT` (inside scripts too).
pub(super) fn data_commands(con: &mut redis::Connection) -> anyhow::Result<u64> {
    let info: String = redis::cmd("INFO").arg("commandstats").query(con)?;
    let admin = ["evalsha", "info", "config", "flushall", "ping", "script"];
    let mut total = 0;
    for line in info.lines() {
        let Some((name, rest)) = line
            .strip_prefix("cmdstat_")
            .and_then(|l| l.split_once(':'))
        else {
            continue;
        };
        if admin.iter().any(|a| name.starts_with(a)) {
            continue;
        }
        let calls = rest
            .split(',')
            .find_map(|kv| kv.strip_prefix("calls="))
            .and_then(|c| c.parse::<u64>().ok())
            .ok_or_else(|| anyhow!("cannot read INFO commandstats line `{line}`"))?;
        total += calls;
    }
    Ok(total)
}
