//! The client side: pooled keep-alive connections and their tallies.

use super::*;

/// The target of a step: where to connect and what to send.
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub(super) addr: SocketAddr,
    pub(super) host: HeaderValue,
    /// `Bearer <key>` per key index.
    pub(super) auth: Arc<Vec<HeaderValue>>,
    /// `Bearer <key>` for stream `i` at `i mod len` (a server admits at
    /// most 2 streams of one key); empty: the ingest key, `auth[0]`.
    pub(super) stream_auth: Arc<Vec<HeaderValue>>,
}

/// A request handed to a connection: its index and its due time.
#[derive(Debug, Clone, Copy)]
pub(super) struct Job {
    pub(super) index: u64,
    pub(super) due: Instant,
}

/// What came of one request.
#[derive(Debug)]
pub(super) enum Outcome {
    Answer { status: StatusCode, body: Bytes },
    Transport(String),
}

/// One connection's tally (measured requests only).
#[derive(Debug)]
pub(super) struct Tally {
    pub(super) latency: Histogram<u64>,
    pub(super) ok: u64,
    pub(super) degraded: u64,
    pub(super) duplicates: u64,
    pub(super) http_errors: BTreeMap<u16, u64>,
    pub(super) transport_errors: u64,
    pub(super) timeouts: u64,
    pub(super) last_ok: Option<Instant>,
    /// Non-degraded answers of every request, warm-up included.
    pub(super) all_ok: u64,
    /// When the last of those arrived.
    pub(super) all_last_ok: Option<Instant>,
    pub(super) first_error: Option<String>,
}

impl Tally {
    pub(super) fn new() -> Tally {
        Tally {
            latency: histogram(),
            ok: 0,
            degraded: 0,
            duplicates: 0,
            http_errors: BTreeMap::new(),
            transport_errors: 0,
            timeouts: 0,
            last_ok: None,
            all_ok: 0,
            all_last_ok: None,
            first_error: None,
        }
    }

    pub(super) fn merge(&mut self, o: Tally) {
        self.latency
            .add(&o.latency)
            .expect("histograms with the same bounds merge");
        self.ok += o.ok;
        self.degraded += o.degraded;
        self.duplicates += o.duplicates;
        for (s, n) in o.http_errors {
            *self.http_errors.entry(s).or_default() += n;
        }
        self.transport_errors += o.transport_errors;
        self.timeouts += o.timeouts;
        self.last_ok = self.last_ok.max(o.last_ok);
        self.all_ok += o.all_ok;
        self.all_last_ok = self.all_last_ok.max(o.all_last_ok);
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
    }

    /// Counts a non-degraded answer of any request (warm-up included).
    pub(super) fn count(&mut self, outcome: &Outcome, done: Instant) {
        if let Outcome::Answer { status, body } = outcome {
            if status.is_success() && !contains(body, b"\"degraded\":") {
                self.all_ok += 1;
                self.all_last_ok = Some(done);
            }
        }
    }

    pub(super) fn timeout(&mut self, job: Job, now: Instant) {
        self.timeouts += 1;
        self.latency
            .saturating_record(micros(now.saturating_duration_since(job.due)));
    }

    pub(super) fn record(&mut self, job: Job, outcome: Outcome, done: Instant) {
        let latency = micros(done.saturating_duration_since(job.due));
        match outcome {
            Outcome::Answer { status, body } => {
                self.latency.saturating_record(latency);
                if status.is_success() {
                    if contains(&body, b"\"degraded\":") {
                        self.degraded += 1;
                    } else {
                        self.ok += 1;
                        self.last_ok = Some(done);
                    }
                    if contains(&body, b"\"duplicate\":true") {
                        self.duplicates += 1;
                    }
                } else {
                    *self.http_errors.entry(status.as_u16()).or_default() += 1;
                    if self.first_error.is_none() {
                        let text = String::from_utf8_lossy(&body);
                        self.first_error = Some(format!("{status}: {}", truncate(&text, 200)));
                    }
                }
            }
            Outcome::Transport(e) => {
                self.transport_errors += 1;
                if self.first_error.is_none() {
                    self.first_error = Some(e);
                }
            }
        }
    }

    pub(super) fn errors(&self) -> u64 {
        self.http_errors.values().sum::<u64>() + self.transport_errors + self.timeouts
    }
}

pub(super) fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

pub(super) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

type Sender = SendRequest<Full<Bytes>>;

pub(super) async fn connect(addr: SocketAddr) -> Result<Sender, String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connecting to {addr}: {e}"))?;
    stream
        .set_nodelay(true)
        .map_err(|e| format!("TCP_NODELAY: {e}"))?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(sender)
}

/// Sends one request on the connection (re-opening it if it was closed).
pub(super) async fn exchange(sender: &mut Option<Sender>, target: &Target, req: &Req) -> Outcome {
    if sender.as_ref().is_none_or(|s| s.is_closed()) {
        match connect(target.addr).await {
            Ok(s) => *sender = Some(s),
            Err(e) => return Outcome::Transport(e),
        }
    }
    let s = sender.as_mut().expect("the connection was just opened");
    if let Err(e) = s.ready().await {
        *sender = None;
        return Outcome::Transport(format!("connection: {e}"));
    }
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/events")
        .header(HOST, target.host.clone())
        .header(AUTHORIZATION, target.auth[req.key].clone())
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .body(Full::new(req.body.clone()));
    let request = match request {
        Ok(r) => r,
        Err(e) => return Outcome::Transport(format!("building the request: {e}")),
    };
    let response = match s.send_request(request).await {
        Ok(r) => r,
        Err(e) => {
            *sender = None;
            return Outcome::Transport(format!("request: {e}"));
        }
    };
    let status = response.status();
    match response.into_body().collect().await {
        Ok(b) => Outcome::Answer {
            status,
            body: b.to_bytes(),
        },
        Err(e) => {
            *sender = None;
            Outcome::Transport(format!("response body: {e}"))
        }
    }
}

/// One pooled connection: takes the jobs the dispatcher hands it, one at a
/// time, and says when it is idle again.
#[allow(clippy::too_many_arguments)]
pub(super) async fn connection(
    id: usize,
    mut sender: Option<Sender>,
    target: Target,
    reqs: Arc<Vec<Req>>,
    warm: u64,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    idle: std::sync::mpsc::Sender<usize>,
    mut cancel: watch::Receiver<bool>,
) -> Tally {
    let mut tally = Tally::new();
    if idle.send(id).is_err() {
        return tally;
    }
    loop {
        let job = tokio::select! {
            biased;
            _ = cancel.changed() => break,
            j = jobs.recv() => match j {
                Some(j) => j,
                None => break,
            },
        };
        let req = &reqs[usize::try_from(job.index).expect("index fits usize")];
        let outcome = tokio::select! {
            biased;
            _ = cancel.changed() => {
                if job.index >= warm {
                    tally.timeout(job, Instant::now());
                }
                break;
            }
            o = exchange(&mut sender, &target, req) => o,
        };
        let done = Instant::now();
        tally.count(&outcome, done);
        if job.index >= warm {
            tally.record(job, outcome, done);
        }
        if idle.send(id).is_err() {
            break;
        }
    }
    // A job handed over but never started: unanswered.
    while let Ok(job) = jobs.try_recv() {
        if job.index >= warm {
            tally.timeout(job, Instant::now());
        }
    }
    tally
}
