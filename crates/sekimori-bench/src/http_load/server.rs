//! The real server under test, in this process, on a fresh data directory.

use super::*;

/// The real server, in this process, on a fresh data directory.
pub(super) struct Server {
    pub(super) runtime: Option<tokio::runtime::Runtime>,
    pub(super) addr: SocketAddr,
    pub(super) app: Option<Arc<App>>,
    pub(super) stop: Option<oneshot::Sender<()>>,
    pub(super) keys: Vec<String>,
    /// Ingest keys for streams, one per stream place
    /// (`sekimori_server::app::MAX_STREAMS`): the server admits at most
    /// `MAX_STREAMS_PER_KEY` streams of one key.
    pub(super) stream_keys: Vec<String>,
    pub(super) dir: Option<tempfile::TempDir>,
    /// The tap on the server's stage histograms (`stages`), when this
    /// process's recorder is the bench's.
    pub(super) stages: Option<Arc<super::stages::Stages>>,
}

impl Server {
    pub(super) fn start(
        approvers: &[String],
        time_budget_ms: Option<u64>,
    ) -> anyhow::Result<Server> {
        // The real server renders metrics, and records them on every
        // decision; so does this one, through the bench's recorder, in
        // place (and its handle adopted) before the app opens.
        let stages = super::stages::recorder();
        let dir = tempfile::Builder::new()
            .prefix("sekimori-bench-http-")
            .tempdir()
            .context("creating a temporary data directory")?;
        let mut keys = vec![
            create_key(dir.path(), "bench", vec![Scope::Ingest])
                .context("creating the ingest key")?
                .1,
        ];
        for a in approvers {
            keys.push(
                create_key(dir.path(), a, vec![Scope::Approve])
                    .with_context(|| format!("creating the approver key {a}"))?
                    .1,
            );
        }
        let stream_keys = (0..sekimori_server::app::MAX_STREAMS)
            .map(|i| {
                create_key(
                    dir.path(),
                    &format!("bench-stream-{i}"),
                    vec![Scope::Ingest],
                )
                .map(|k| k.1)
                .context("creating a stream key")
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let listen: SocketAddr = "127.0.0.1:0".parse().expect("a valid socket address");
        let mut config = ServeConfig::new(dir.path().to_path_buf(), listen, None);
        config.time_budget_ms = time_budget_ms;
        // Replayed laps move the events' times forward; never refuse them.
        config.max_future_skew_ms = i64::MAX / 4;
        let app = open_app(&config).context("opening the server")?;
        // As `sekimori serve`: a multi-threaded runtime, one worker per core.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_stack_size(16 * 1024 * 1024)
            .thread_name("bench-server")
            .build()
            .context("starting the server's runtime")?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(listen))
            .context("binding 127.0.0.1:0")?;
        let addr = listener.local_addr().context("the bound address")?;
        let (stop, stopped) = oneshot::channel::<()>();
        let router = routes::router(Arc::clone(&app));
        runtime.spawn(async move {
            let serve = axum::serve(listener, router).with_graceful_shutdown(async move {
                let _ = stopped.await;
            });
            if let Err(e) = serve.await {
                eprintln!("bench server: {e}");
            }
        });
        Ok(Server {
            runtime: Some(runtime),
            addr,
            app: Some(app),
            stop: Some(stop),
            keys,
            stream_keys,
            dir: Some(dir),
            stages,
        })
    }

    /// The store's writer counters so far.
    pub(super) fn store_stats(&self) -> Option<sekimori_store::StoreStats> {
        self.app.as_ref().map(|a| a.store.stats())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // Dropping the runtime cancels what still runs (a decision answered
        // past its budget holds the app); then the store closes.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
        drop(self.app.take());
        drop(self.dir.take());
    }
}
