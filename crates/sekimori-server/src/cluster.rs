//! `serve` as one node of a replicated shard (feature `cluster`): follow
//! the shard's JetStream stream as a hot standby until this node takes the
//! shard's lease, then lead it with the full HTTP surface. Without cluster
//! options `serve` never comes here (the embedded engine on redb).
//!
//! A follower listens on the same address and answers `/healthz` (200),
//! `/readyz` (503 `follower`), `/v1/cluster` (its state) and everything
//! else 503 `not_leader`. A leader that loses its lease or is fenced stops
//! serving and returns an error: the process exits and its supervisor
//! starts it again, as a follower.

use crate::app::App;
use crate::ledger::jetstream::{Cluster, Follower, JetStreamLog, LogStatus, ShardConfig};
use crate::ledger::{Ledger, Log, Replica};
use crate::routes::answers::Status;
use crate::routes::cluster::{self as cluster_routes, ClusterRole, ClusterStatus};
use crate::serve::{self, ServeConfig};
use anyhow::{anyhow, Context};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use sekimori_store::Store;
use std::future::IntoFuture;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

/// What `/v1/cluster` reads.
struct Node {
    shard: String,
    node: String,
    replica: Arc<Mutex<Replica>>,
    joined_from: Option<u64>,
    leader: OnceLock<(Arc<App>, Arc<JetStreamLog>)>,
}

impl Node {
    async fn status(&self) -> ClusterStatus {
        match self.leader.get() {
            Some((app, log)) => {
                let ledger = app.ledger.lock().await;
                ClusterStatus {
                    shard: self.shard.clone(),
                    node: self.node.clone(),
                    role: ClusterRole::Leader,
                    applied_seq: ledger.next_seq() - 1,
                    state_digest: Some(format!("{:016x}", ledger.engine().state_digest())),
                    log: Some(log.status().as_str()),
                    term: Some(log.lease().term()),
                    joined_from: self.joined_from,
                }
            }
            None => {
                let r = self.replica.lock().unwrap_or_else(|p| p.into_inner());
                ClusterStatus {
                    shard: self.shard.clone(),
                    node: self.node.clone(),
                    role: ClusterRole::Follower,
                    applied_seq: r.last_seq(),
                    state_digest: r.engine().map(|e| format!("{:016x}", e.state_digest())),
                    log: None,
                    term: None,
                    joined_from: self.joined_from,
                }
            }
        }
    }
}

/// `GET /v1/cluster` (documented by `routes::cluster`).
async fn cluster_status(State(node): State<Arc<Node>>) -> Json<ClusterStatus> {
    Json(node.status().await)
}

fn follower_router(node: Arc<Node>) -> Router {
    let not_leader = move || async move {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(cluster_routes::not_leader()),
        )
    };
    Router::new()
        .route("/healthz", get(|| async { Json(Status { status: "ok" }) }))
        .route(
            "/readyz",
            get(|| async {
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(Status { status: "follower" }),
                )
                    .into_response()
            }),
        )
        .route("/v1/cluster", get(cluster_status))
        .with_state(node)
        .fallback(not_leader)
}

/// Runs a node of `shard` until SIGINT/SIGTERM, or until it loses the lease
/// (an error: restart it to follow). `on_bound` is called when it leads.
pub async fn serve_cluster(
    config: ServeConfig,
    shard: ShardConfig,
    on_bound: impl FnOnce(SocketAddr, &App),
) -> anyhow::Result<()> {
    let store = Arc::new(
        Store::open(&config.data_dir)
            .with_context(|| format!("opening {}", config.data_dir.display()))?,
    );
    let c = config.clone();
    let initial = tokio::task::spawn_blocking(move || serve::initial_pack(&c)).await??;
    let cluster = Cluster::connect(shard.clone())
        .await
        .map_err(|e| anyhow!(e))?;
    // Analyst records are checked by every follower (issue 14): the MAC key
    // comes from this node's stepup.key, as the leader's workbench's does.
    let verify = crate::stepup::analyst_verifier(
        &config.data_dir,
        config.stepup_key.as_deref(),
        &shard.stream_name(),
    )?;
    let mut follower = Follower::open(cluster.clone(), Arc::clone(&store), verify)
        .await
        .map_err(|e| anyhow!(e))?;
    follower.snapshot_every = config.snapshot_every;
    let node = Arc::new(Node {
        shard: shard.shard.clone(),
        node: shard.node.clone(),
        replica: follower.replica(),
        joined_from: follower.joined_from,
        leader: OnceLock::new(),
    });
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, shard = shard.shard, node = shard.node, "following the shard");
    println!("sekimori following shard {} on http://{addr}", shard.shard);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let http = tokio::spawn(
        axum::serve(listener, follower_router(Arc::clone(&node)))
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .into_future(),
    );
    let lease = tokio::select! {
        lease = follower.follow_until_leader() => lease.map_err(|e| anyhow!(e))?,
        _ = serve::shutdown_signal() => return Ok(()),
    };
    let _ = stop.send(());
    let _ = http.await;
    tracing::info!(term = lease.term(), "leading the shard");
    // The replica's engine becomes the ledger's.
    let replica = std::mem::replace(
        &mut *follower.replica().lock().unwrap_or_else(|p| p.into_inner()),
        Replica::empty(),
    );
    let log = JetStreamLog::new(Arc::clone(&store), cluster, Arc::clone(&lease));
    let dyn_log: Arc<dyn Log> = log.clone();
    let c = config.clone();
    let app = tokio::task::spawn_blocking(move || -> anyhow::Result<Arc<App>> {
        let ledger = match replica.into_engine() {
            Ok((engine, next)) => {
                Ledger::from_engine(store, dyn_log, engine, next, c.snapshot_every)
            }
            // An empty stream: this node starts it with the initial pack.
            Err(_) => Ledger::open_on(store, dyn_log, Arc::clone(&initial), c.snapshot_every)?,
        };
        serve::finish_app(&c, ledger, initial)
    })
    .await??;
    let app = match serve::install_metrics() {
        Some(handle) => app.with_metrics(handle),
        None => app,
    };
    let _ = node.leader.set((Arc::clone(&app), Arc::clone(&log)));
    let limits = serve::Limits::of(&config)?;
    serve::raise_open_file_limit(limits.max_connections);
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("binding {}", config.listen))?;
    on_bound(listener.local_addr()?, &app);
    tokio::spawn(serve::reload_on_hup(Arc::clone(&app)));
    let router = serve::app_router(&app, &config).await?.merge(
        Router::new()
            .route("/v1/cluster", get(cluster_status))
            .with_state(Arc::clone(&node)),
    );
    let deposed = {
        let log = Arc::clone(&log);
        async move {
            loop {
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                if log.status() == LogStatus::Fenced || log.lease().is_lost() {
                    return;
                }
            }
        }
    };
    let mut lost = false;
    serve::conn::run(listener, router, limits, async {
        tokio::select! {
            _ = serve::shutdown_signal() => {}
            _ = deposed => lost = true,
        }
    })
    .await;
    if lost {
        return Err(anyhow!(
            "this node lost the lease of shard {}: it stopped serving; start it again to follow",
            shard.shard
        ));
    }
    tracing::info!("shutting down: writing a snapshot");
    let snapshot = app.snapshot().await;
    app.shutdown_notices(crate::notices::SHUTDOWN_GRACE).await;
    lease.lose();
    snapshot?;
    Ok(())
}
