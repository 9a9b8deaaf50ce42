use sekimori_server::{serve, ServeConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    /// Data directory (created if missing).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:7878")]
    listen: SocketAddr,
    /// Rule-pack directory to make live and reload on SIGHUP (default: the
    /// stored pack, else the embedded default pack).
    #[arg(long)]
    rules: Option<PathBuf>,
    /// Snapshot the engine every N events.
    #[arg(long, default_value_t = 100_000)]
    snapshot_every: u64,
    /// WebAuthn relying party id: the domain passkeys are scoped to (it can
    /// never change without orphaning every passkey).
    #[arg(long, default_value = sekimori_server::DEFAULT_RP_ID)]
    rp_id: String,
    /// The exact origin of the pages that run passkey ceremonies.
    #[arg(long, default_value = sekimori_server::DEFAULT_RP_ORIGIN)]
    rp_origin: String,
    /// The name authenticators and TOTP apps show (the TOTP issuer).
    #[arg(long, default_value = sekimori_server::DEFAULT_RP_NAME)]
    rp_name: String,
    /// The step-up master key (32 raw bytes or 64 hex digits), which seals
    /// OTP seeds and device keys. Default: DATA/stepup.key, created on first
    /// start; in production keep it outside the data directory.
    #[arg(long, value_name = "FILE")]
    stepup_key: Option<PathBuf>,
    /// Where SMS / e-mail codes are POSTed as JSON (an http:// relay to the
    /// provider). Without it, /v1/stepup/otp/send answers `no_otp_sender`.
    #[arg(long, value_name = "URL")]
    otp_webhook: Option<String>,
    /// The file holding the HMAC-SHA256 secret code deliveries are signed
    /// with (`Sekimori-Signature`, as notices); default: --notify-secret-file.
    #[arg(long, value_name = "FILE", requires = "otp_webhook")]
    otp_webhook_secret_file: Option<PathBuf>,
    /// The service that owns step-up records written before they were kept
    /// per service (a single-tenant deployment's service); they move under
    /// it on first use. Without it they are not read.
    #[arg(long, value_name = "SERVICE")]
    stepup_legacy_service: Option<String>,
    /// A MaxMind-format ASN database (GeoLite2-ASN): events with an
    /// `actor.ip` and no `actor.asn` get the ASN before they are decided.
    #[arg(long, value_name = "FILE")]
    asn_db: Option<PathBuf>,
    /// An HIBP Pwned Passwords corpus: one SHA1:COUNT file or a directory of
    /// range files. Default: the shipped data/hibp/common.txt.
    #[arg(long, value_name = "PATH")]
    breach_corpus: Option<PathBuf>,
    /// Where holder notices (charges, bank links, payees, credential changes,
    /// withdrawals, transfers, "not me" reports) and hold alerts are POSTed,
    /// signed (an http:// relay). Needs --notify-secret-file. Undelivered
    /// notices go to DATA/notices-dead-letter.jsonl.
    #[arg(long, value_name = "URL", requires = "notify_secret_file")]
    notify_url: Option<String>,
    /// The file holding the webhook's HMAC-SHA256 secret (its bytes, less a
    /// trailing newline). A file, never a flag value: flags show in `ps`.
    #[arg(long, value_name = "FILE", requires = "notify_url")]
    notify_secret_file: Option<PathBuf>,
    /// Seconds a client has to send a complete request head, from when the
    /// server starts waiting for it (a new connection, or a kept-alive one
    /// after its last answer); then the connection is closed.
    #[arg(long, value_name = "SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    header_timeout: u64,
    /// Seconds a request body has to arrive complete after its head; then
    /// the answer is `body_timeout` (408) and the connection closes.
    #[arg(long, value_name = "SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    body_timeout: u64,
    /// Seconds a connection may move no byte while none of its requests is
    /// being handled (a client that stops reading its answer); then it is
    /// closed.
    #[arg(long, value_name = "SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    idle_timeout: u64,
    /// The most connections open at once; past it, new connections wait in
    /// the listen backlog until one closes. The open-file limit is raised to
    /// fit it when the hard limit allows.
    #[arg(long, value_name = "N", default_value_t = 4096,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,
    /// The most connections one peer (an IPv4 address, an IPv6 /64) may
    /// hold open; past it its new connections are closed at once. Raise it
    /// to --max-connections behind a proxy (every connection from its address).
    #[arg(long, value_name = "N", default_value_t = 1024,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections_per_peer: u64,
    /// The memory budget of the engine's state (feature windows, login-risk
    /// profiles, parked admissions): e.g. `2GiB`, `512MiB`, or `none` for
    /// no budget. Past it the least recently touched state is evicted
    /// (allow-list entries last, holds never). Default: half of this
    /// machine's memory (MemTotal). A change is logged, so replays evict
    /// the same way.
    #[arg(long, value_name = "SIZE", value_parser = parse_max_memory)]
    max_memory: Option<MaxMemory>,
    /// Run as one node of a replicated shard: the NATS servers (comma-separated
    /// URLs) holding the shard's JetStream stream. Without it, the embedded
    /// single-node engine on redb.
    #[cfg(feature = "cluster")]
    #[arg(long, value_name = "URLS", requires = "node")]
    nats: Option<String>,
    /// The shard (a stream of its own, one leader): letters, digits, - and _.
    #[cfg(feature = "cluster")]
    #[arg(
        long,
        value_name = "NAME",
        default_value = "default",
        requires = "nats"
    )]
    shard: String,
    /// This node's name, unique in the cluster.
    #[cfg(feature = "cluster")]
    #[arg(long, value_name = "NAME", requires = "nats")]
    node: Option<String>,
    /// How long the shard's lease lives unrenewed: the longest the shard is
    /// without a leader after its leader dies.
    #[cfg(feature = "cluster")]
    #[arg(long, value_name = "MS", default_value_t = 2000,
          value_parser = clap::value_parser!(u64).range(500..=60_000))]
    lease_ttl_ms: u64,
    /// Replicas of the shard's stream and buckets (3 for a three-node NATS cluster).
    #[cfg(feature = "cluster")]
    #[arg(long, value_name = "N", default_value_t = 3,
          value_parser = clap::value_parser!(u64).range(1..=5))]
    nats_replicas: u64,
    /// Entries kept in the shard's stream behind the latest snapshot in the
    /// object store: after each snapshot the leader purges the entries
    /// before `snapshot - N + 1`. Keep it above --snapshot-every (a
    /// follower restarting from its own snapshot then still finds its tail
    /// in the stream) and above the retries you want answered as
    /// duplicates by a node that joins later.
    #[cfg(feature = "cluster")]
    #[arg(long, value_name = "N",
          default_value_t = sekimori_ledger::jetstream::DEFAULT_TRIM_MARGIN,
          value_parser = clap::value_parser!(u64).range(1..))]
    trim_margin: u64,
    /// Never trim the shard's stream (it then keeps every entry).
    #[cfg(feature = "cluster")]
    #[arg(long, requires = "nats")]
    no_trim: bool,
}

/// `--max-memory`: bytes, or no budget.
#[derive(Clone, Copy, Debug)]
struct MaxMemory(Option<u64>);

/// Parses `none`, or a size: a number with an optional unit (`B`, `KiB`,
/// `MiB`, `GiB`, `TiB`, or decimal `KB`, `MB`, `GB`, `TB`); at least 8 MiB.
fn parse_max_memory(s: &str) -> Result<MaxMemory, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("none") {
        return Ok(MaxMemory(None));
    }
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a size such as 2GiB or 512MiB"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        other => {
            return Err(format!(
                "unknown unit `{other}` (use KiB, MiB, GiB, TiB, or none)"
            ))
        }
    };
    let bytes = n
        .checked_mul(scale)
        .ok_or_else(|| format!("`{s}` is too large"))?;
    if bytes < 8 << 20 {
        return Err(format!("`{s}` is below the smallest budget, 8MiB"));
    }
    Ok(MaxMemory(Some(bytes)))
}

/// The default budget: half of MemTotal (the rest for the log's cache, the
/// allocator's slack and everything else on the host); none if
/// /proc/meminfo cannot be read.
fn default_max_memory() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib * 1024 / 2)
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let mut config = ServeConfig::new(crate::data_dir(a.data), a.listen, a.rules);
    config.snapshot_every = a.snapshot_every.max(1);
    config.rp_id = a.rp_id;
    config.rp_origin = a.rp_origin;
    config.rp_name = a.rp_name;
    config.stepup_key = a.stepup_key;
    config.otp_webhook = a.otp_webhook;
    config.otp_webhook_secret_file = a.otp_webhook_secret_file;
    config.stepup_legacy_service = a.stepup_legacy_service;
    config.asn_db = a.asn_db;
    config.breach_corpus = a.breach_corpus;
    config.notify_url = a.notify_url;
    config.notify_secret_file = a.notify_secret_file;
    config.header_read_timeout = Duration::from_secs(a.header_timeout);
    config.body_read_timeout = Duration::from_secs(a.body_timeout);
    config.idle_timeout = Duration::from_secs(a.idle_timeout);
    config.max_connections = usize::try_from(a.max_connections)?;
    config.max_connections_per_peer = usize::try_from(a.max_connections_per_peer)?;
    config.max_memory = match a.max_memory {
        Some(MaxMemory(bytes)) => bytes,
        None => default_max_memory(),
    };
    let data = config.data_dir.display().to_string();
    // Rule evaluation recurses; expressions are bounded in depth, and roomy
    // worker stacks keep a wide margin (only touched pages are committed).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(16 * 1024 * 1024)
        .build()?;
    #[cfg(feature = "cluster")]
    if let (Some(nats), Some(node)) = (a.nats, a.node) {
        let mut shard = sekimori_ledger::jetstream::ShardConfig::new(nats, a.shard, node);
        shard.lease_ttl = Duration::from_millis(a.lease_ttl_ms);
        shard.replicas = usize::try_from(a.nats_replicas)?;
        shard.trim_margin = (!a.no_trim).then_some(a.trim_margin);
        shard.check().map_err(anyhow::Error::msg)?;
        runtime.block_on(sekimori_server::cluster::serve_cluster(
            config,
            shard,
            |addr, app| {
                let pack = app.live_pack();
                println!(
                    "sekimori leading on http://{addr} (data {data}, pack {} {})",
                    pack.name(),
                    pack.version()
                );
            },
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    runtime.block_on(serve(config, |addr, app| {
        let pack = app.live_pack();
        println!(
            "sekimori listening on http://{addr} (data {data}, pack {} {})",
            pack.name(),
            pack.version()
        );
    }))?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_memory_sizes_parse() {
        let bytes = |s: &str| parse_max_memory(s).map(|m| m.0);
        assert_eq!(bytes("2GiB"), Ok(Some(2 << 30)));
        assert_eq!(bytes("512MiB"), Ok(Some(512 << 20)));
        assert_eq!(bytes("1gb"), Ok(Some(1_000_000_000)));
        assert_eq!(bytes("none"), Ok(None));
        assert!(bytes("1MiB").is_err(), "below 8 MiB");
        assert!(bytes("2 parsecs").is_err());
        assert!(bytes("99999999999TiB").is_err());
        assert!(default_max_memory().is_some_and(|b| b > 8 << 20));
    }
}
