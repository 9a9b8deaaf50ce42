use sekimori_server::{serve, ServeConfig};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

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
}

pub fn run(a: Args) -> anyhow::Result<ExitCode> {
    let mut config = ServeConfig::new(crate::data_dir(a.data), a.listen, a.rules);
    config.snapshot_every = a.snapshot_every.max(1);
    let data = config.data_dir.display().to_string();
    // Rule evaluation recurses; expressions are bounded in depth, and roomy
    // worker stacks keep a wide margin (only touched pages are committed).
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(16 * 1024 * 1024)
        .build()?;
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
