//! `sekimori bench http --stream N`: the same open loop through
//! `POST /v1/events/stream`. `N` streams are asked for (one keep-alive
//! HTTP/1.1 connection each, full duplex) before the step starts; the
//! server may grant fewer (it keeps a place for a service holding none:
//! the in-process server grants 7 of 8), and the events go only to the
//! `M` streams it granted, for the whole step. Event `i` is due at
//! `start + i / rate` and is written as one line of granted stream
//! `i mod M`; the dispatcher wakes at most every [`TICK`] and writes every
//! event due by then, one write per stream. Its latency runs from its due
//! time to the arrival of its answer line (answers come in the order of the
//! lines), so a stall of the server or of the generator, and the tick's
//! wait, show in the latency of every event they delayed.

use super::*;
use hyper::body::{Body as HttpBody, Frame};
use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context as TaskContext, Poll};

/// A request body the dispatcher feeds: one frame per write.
struct Feed(mpsc::UnboundedReceiver<Bytes>);

impl HttpBody for Feed {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.0.poll_recv(cx).map(|o| o.map(|b| Ok(Frame::data(b))))
    }
}

/// The dispatcher's shortest sleep: at 50,000 events/s it writes ~10
/// events a wake instead of one (each wake costs the shared cores two
/// thread switches); the up to 200 µs an event waits for it is in its
/// latency.
const TICK: Duration = Duration::from_micros(200);

/// One write to a stream: its lines' bytes and their (index, due time).
struct Write {
    bytes: Bytes,
    jobs: Vec<Job>,
}

/// Writes every due event to its stream, batching what is due at once.
fn dispatch_streams(
    start: Instant,
    rate: u64,
    reqs: &[Req],
    deadline: Instant,
    warm: u64,
    streams: &[mpsc::UnboundedSender<Write>],
) -> (Histogram<u64>, Tally) {
    let mut lag = histogram();
    let mut unsent = Tally::new();
    let total = reqs.len() as u64;
    let n = streams.len().max(1);
    let mut i = 0u64;
    let mut bufs: Vec<(Vec<u8>, Vec<Job>)> = vec![(Vec::new(), Vec::new()); n];
    while i < total {
        let due = start + due_offset(i, rate);
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        if due > now {
            std::thread::sleep((due - now).max(TICK));
        }
        let now = Instant::now();
        // Everything due by now, in order, one write per stream.
        while i < total && start + due_offset(i, rate) <= now {
            let due = start + due_offset(i, rate);
            let k = usize::try_from(i).expect("index fits usize");
            let (buf, jobs) = &mut bufs[k % n];
            buf.extend_from_slice(&reqs[k].body);
            buf.push(b'\n');
            jobs.push(Job { index: i, due });
            if i >= warm {
                lag.saturating_record(micros(now.saturating_duration_since(due)));
            }
            i += 1;
        }
        for (s, (buf, jobs)) in streams.iter().zip(bufs.iter_mut()) {
            if jobs.is_empty() {
                continue;
            }
            let write = Write {
                bytes: Bytes::from(std::mem::take(buf)),
                jobs: std::mem::take(jobs),
            };
            let _ = s.send(write);
        }
    }
    // Never written (the generator could not keep up): unanswered.
    let now = Instant::now().max(deadline);
    for j in i.max(warm)..total {
        let due = start + due_offset(j, rate);
        unsent.timeout(Job { index: j, due }, now);
    }
    (lag, unsent)
}

/// A stream the server granted: where its lines go, and its answers.
struct Opened {
    body: mpsc::UnboundedSender<Bytes>,
    answers: hyper::body::Incoming,
}

/// Asks for stream `index`: the server's answer head comes at once, before
/// any line is sent (200: granted; 429 `engine_busy`: no place for it).
async fn open_stream(target: &Target, index: usize) -> Result<Opened, String> {
    let (body_tx, body_rx) = mpsc::unbounded_channel::<Bytes>();
    let auth = match target.stream_auth.len() {
        0 => target.auth[0].clone(),
        n => target.stream_auth[index % n].clone(),
    };
    let stream = tokio::net::TcpStream::connect(target.addr)
        .await
        .map_err(|e| format!("connecting: {e}"))?;
    stream.set_nodelay(true).map_err(|e| e.to_string())?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Feed>(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    let request = Request::builder()
        .method(Method::POST)
        .uri("/v1/events/stream")
        .header(HOST, target.host.clone())
        .header(AUTHORIZATION, auth)
        .header(
            CONTENT_TYPE,
            HeaderValue::from_static("application/x-ndjson"),
        )
        .body(Feed(body_rx))
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("request: {e}"))?;
    if !response.status().is_success() {
        let status = response.status();
        let body = response.into_body().collect().await.map(|b| b.to_bytes());
        return Err(format!(
            "{status}: {}",
            String::from_utf8_lossy(&body.unwrap_or_default())
        ));
    }
    Ok(Opened {
        body: body_tx,
        answers: response.into_body(),
    })
}

/// One granted stream: sends what the dispatcher writes, matches answer
/// lines to the events in order, and tallies them.
async fn stream_conn(
    opened: Opened,
    mut writes: mpsc::UnboundedReceiver<Write>,
    warm: u64,
    mut cancel: watch::Receiver<bool>,
) -> Tally {
    let mut tally = Tally::new();
    let (jobs_tx, mut jobs_rx) = mpsc::unbounded_channel::<Vec<Job>>();
    let Opened {
        body: body_tx,
        answers: mut body,
    } = opened;
    // The writer: forwards the dispatcher's writes, noting each line's job.
    let forward = tokio::spawn(async move {
        while let Some(w) = writes.recv().await {
            if jobs_tx.send(w.jobs).is_err() {
                break;
            }
            let _ = body_tx.send(w.bytes);
        }
    });
    let mut waiting: VecDeque<Job> = VecDeque::new();
    let mut partial: Vec<u8> = Vec::new();
    loop {
        let frame = tokio::select! {
            biased;
            _ = cancel.changed() => break,
            f = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)) => f,
        };
        let data = match frame {
            Some(Ok(f)) => match f.into_data() {
                Ok(d) => d,
                Err(_) => continue,
            },
            Some(Err(e)) => {
                tally.transport_errors += 1;
                tally
                    .first_error
                    .get_or_insert(format!("answer stream: {e}"));
                break;
            }
            None => break,
        };
        let done = Instant::now();
        partial.extend_from_slice(&data);
        let mut start = 0;
        while let Some(at) = partial[start..].iter().position(|&b| b == b'\n') {
            let line = &partial[start..start + at];
            start += at + 1;
            while let Ok(jobs) = jobs_rx.try_recv() {
                waiting.extend(jobs);
            }
            let Some(job) = waiting.pop_front() else {
                tally
                    .first_error
                    .get_or_insert("an answer line for no event".into());
                continue;
            };
            // An error line is `{"error": ...}`: counted by its code's status.
            let outcome = if line.starts_with(b"{\"error\"") {
                let status = if contains(line, b"\"rate_limited\"") {
                    StatusCode::TOO_MANY_REQUESTS
                } else if contains(line, b"\"unavailable\"") {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::BAD_REQUEST
                };
                Outcome::Answer {
                    status,
                    body: Bytes::copy_from_slice(line),
                }
            } else {
                Outcome::Answer {
                    status: StatusCode::OK,
                    body: Bytes::copy_from_slice(line),
                }
            };
            tally.count(&outcome, done);
            if job.index >= warm {
                tally.record(job, outcome, done);
            }
        }
        partial.drain(..start);
    }
    forward.abort();
    // Sent and never answered: unanswered at the deadline.
    while let Ok(jobs) = jobs_rx.try_recv() {
        waiting.extend(jobs);
    }
    let now = Instant::now();
    for job in waiting.into_iter().filter(|j| j.index >= warm) {
        tally.timeout(job, now);
    }
    tally
}

/// One rate step through `streams` streams.
#[allow(clippy::too_many_arguments)]
pub(super) fn run_stream_step(
    client: &tokio::runtime::Runtime,
    target: &Target,
    reqs: Arc<Vec<Req>>,
    rate: u64,
    warm: u64,
    seconds: f64,
    streams: usize,
    server: Option<&Server>,
) -> anyhow::Result<StepResult> {
    let total = reqs.len() as u64;
    let (cancel_tx, cancel_rx) = watch::channel(false);
    // Ask for every stream first; send only on those granted.
    let mut granted = Vec::with_capacity(streams);
    let mut refused = None;
    for i in 0..streams {
        match client.block_on(open_stream(target, i)) {
            Ok(opened) => granted.push(opened),
            Err(e) => {
                refused.get_or_insert(e);
            }
        }
    }
    if granted.len() < streams {
        println!(
            "    streams: {streams} asked, {} granted; the events go to those (first refusal: {})",
            granted.len(),
            refused.as_deref().unwrap_or("none")
        );
    }
    if granted.is_empty() {
        bail!(
            "the server granted none of {streams} streams: {}",
            refused.unwrap_or_default()
        );
    }
    let opened = granted.len();
    let mut writers = Vec::with_capacity(opened);
    let mut set = tokio::task::JoinSet::new();
    for stream in granted {
        let (tx, rx) = mpsc::unbounded_channel();
        writers.push(tx);
        set.spawn_on(
            stream_conn(stream, rx, warm, cancel_rx.clone()),
            client.handle(),
        );
    }
    let stats_before = server.and_then(Server::store_stats);
    let cpu_before = thread_cpu();
    let start = Instant::now() + Duration::from_millis(200);
    let last_due = start + due_offset(total.saturating_sub(1), rate);
    let grace = MIN_GRACE.max(Duration::from_secs_f64(seconds));
    let deadline = last_due + grace;
    let dispatcher = std::thread::Builder::new()
        .name("bench-dispatch".into())
        .spawn(move || {
            let lag = dispatch_streams(start, rate, &reqs, deadline, warm, &writers);
            // Every line is written: end the request bodies (the streams end
            // once every answer is out).
            drop(writers);
            lag
        })
        .context("starting the dispatcher thread")?;
    let mut tally = collect_tallies(client, &mut set, deadline, &cancel_tx, "a stream task")?;
    let (lag, unsent) = dispatcher
        .join()
        .map_err(|_| anyhow!("the dispatcher thread panicked"))?;
    tally.merge(unsent);
    let cpu = cpu_delta(&cpu_before, &thread_cpu());
    let commits = match (stats_before, server.and_then(Server::store_stats)) {
        (Some(a), Some(b)) => Some((b.commits - a.commits, b.ops - a.ops)),
        _ => None,
    };
    let elapsed = tally
        .all_last_ok
        .map_or(0.0, |t| t.saturating_duration_since(start).as_secs_f64());
    let scheduled = total as f64 / rate as f64;
    let achieved = tally.all_ok as f64 / elapsed.max(scheduled);
    let wall_s = Instant::now()
        .saturating_duration_since(start)
        .as_secs_f64();
    Ok(StepResult {
        rate,
        tally,
        lag,
        measured: total - warm,
        achieved,
        wall_s,
        cpu,
        commits,
        streams: Some((streams, opened)),
        stages: None,
    })
}
