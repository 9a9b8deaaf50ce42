//! The accept loop and each connection's life.

use super::Limits;
use crate::error::ApiError;
use axum::body::Bytes;
use axum::http::{header, HeaderValue, Request};
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::{Body as HttpBody, Frame, Incoming, SizeHint};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

/// Open connections per peer: an IPv4 address, or an IPv6 /64 (one
/// host's usual allocation: per address, a v6 client would have 2^64).
struct Peers {
    cap: usize,
    open: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>,
}

/// One open connection: its peer's count and the open gauge, given
/// back when it closes.
struct Slot {
    peers: Arc<Peers>,
    peer: std::net::IpAddr,
}

impl Peers {
    fn key(ip: std::net::IpAddr) -> std::net::IpAddr {
        use std::net::{IpAddr, Ipv6Addr};
        match ip {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !(u128::from(u64::MAX)))),
            },
        }
    }

    /// A slot for a connection from `ip`, or `None` at its cap.
    fn claim(self: &Arc<Peers>, ip: std::net::IpAddr) -> Option<Slot> {
        let peer = Peers::key(ip);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(peer).or_insert(0);
        if *n >= self.cap {
            return None;
        }
        *n += 1;
        crate::telemetry::connection_opened();
        Some(Slot {
            peers: Arc::clone(self),
            peer,
        })
    }
}

/// What an open connection holds: its peer's slot and its permit. The
/// slot is given back first (fields drop in order): the accept loop, woken
/// by the permit, may take the next connection of the same peer at once,
/// and must find the peer's count already lowered. The other order refused
/// that connection as over its peer's share whenever the share was the
/// whole cap (`max_connections_per_peer >= max_connections`).
struct Held {
    _slot: Slot,
    _permit: OwnedSemaphorePermit,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.peers.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.peer) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.peer);
            }
        }
        crate::telemetry::connection_closed();
    }
}

/// Accepts connections until `shutdown`, at most `max_connections` open
/// at once; then asks every connection to finish its request and close,
/// and waits for them.
pub(crate) async fn run(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let peers = Arc::new(Peers {
        cap: limits.per_peer,
        open: Default::default(),
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = pin!(shutdown);
    let mut warned: Option<Instant> = None;
    loop {
        let permit = match Arc::clone(&permits).try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                crate::telemetry::connection_cap_reached();
                if warned.is_none_or(|t| t.elapsed() > Duration::from_secs(60)) {
                    warned = Some(Instant::now());
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "connection limit reached; new connections wait in the listen backlog"
                    );
                }
                tokio::select! {
                    p = Arc::clone(&permits).acquire_owned() => match p {
                        Ok(p) => p,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let ((stream, from), slot) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, from)) => match peers.claim(from.ip()) {
                    Some(slot) => ((stream, from), slot),
                    None => {
                        // Closed at once (its permit goes back): the
                        // peer holds its share already.
                        crate::telemetry::connection_refused("per_peer");
                        drop(stream);
                        continue;
                    }
                },
                Err(e) => {
                    // Out of file descriptors, or a connection reset
                    // before it was accepted: wait a little, go on.
                    crate::telemetry::connection_refused("accept_failed");
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(50)) => continue,
                        () = &mut shutdown => break,
                    }
                }
            },
            () = &mut shutdown => break,
        };
        tokio::spawn(connection(
            stream,
            from,
            router.clone(),
            limits,
            Held {
                _slot: slot,
                _permit: permit,
            },
            stop_rx.clone(),
        ));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every open connection holds a permit: all of them back means all closed.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let _ = permits.acquire_many(all).await;
}

/// When the connection last moved a byte, and how many of its requests
/// are being handled.
struct Activity {
    start: Instant,
    last_ms: AtomicU64,
    busy: AtomicUsize,
}

impl Activity {
    fn touch(&self) {
        let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        self.start.elapsed().saturating_sub(last)
    }
}

/// Marks a request as being handled while it lives.
struct Busy(Arc<Activity>);

impl Busy {
    fn new(a: &Arc<Activity>) -> Busy {
        a.busy.fetch_add(1, Ordering::AcqRel);
        Busy(Arc::clone(a))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Serves one connection. Every request carries the peer's address as
/// axum's `ConnectInfo` (the workbench keys its sign-in back-off on it).
async fn connection(
    stream: TcpStream,
    from: std::net::SocketAddr,
    router: Router,
    limits: Limits,
    _held: Held,
    mut stop: watch::Receiver<bool>,
) {
    let activity = Arc::new(Activity {
        start: Instant::now(),
        last_ms: AtomicU64::new(0),
        busy: AtomicUsize::new(0),
    });
    let io = TokioIo::new(Watched {
        inner: stream,
        activity: Arc::clone(&activity),
    });
    let in_service = Arc::clone(&activity);
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let router = router.clone();
        let busy = Busy::new(&in_service);
        async move {
            let timed_out = Arc::new(AtomicBool::new(false));
            // A stream's body may last as long as it keeps arriving: its
            // deadline moves with every frame (a stall still ends it).
            let rolling = req.uri().path() == "/v1/events/stream";
            let mut req = req.map(|body| {
                axum::body::Body::new(TimedBody {
                    inner: body,
                    deadline: Box::pin(tokio::time::sleep(limits.body)),
                    limit: limits.body,
                    rolling,
                    timed_out: Arc::clone(&timed_out),
                })
            });
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(from));
            let response = match router.oneshot(req).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            drop(busy);
            Ok::<_, Infallible>(if timed_out.load(Ordering::Acquire) {
                body_timeout(limits.body)
            } else {
                response
            })
        }
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header);
    let mut conn = pin!(builder.serve_connection(io, service));
    let mut stopping = false;
    loop {
        let wait = limits.idle.saturating_sub(activity.idle_for());
        tokio::select! {
            done = conn.as_mut() => {
                if let Err(e) = done {
                    tracing::debug!(error = %e, "connection closed");
                }
                return;
            }
            changed = stop.changed(), if !stopping => {
                stopping = true;
                if changed.is_ok() {
                    conn.as_mut().graceful_shutdown();
                }
            }
            () = tokio::time::sleep(wait.max(Duration::from_millis(10))) => {
                let idle = activity.idle_for() >= limits.idle;
                if idle && activity.busy.load(Ordering::Acquire) == 0 {
                    tracing::debug!("idle connection closed");
                    return;
                }
                if idle {
                    // A request is being handled: look again later.
                    activity.touch();
                }
            }
        }
    }
}

/// The answer when a request body did not arrive in time; the connection
/// closes after it.
fn body_timeout(limit: Duration) -> Response {
    let mut response = ApiError::new(
        "body_timeout",
        format!(
            "the request body did not arrive within {} s of its head",
            limit.as_secs_f64()
        ),
    )
    .into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A request body that fails once its deadline passes before its end
/// (`rolling`: before its next frame).
struct TimedBody {
    inner: Incoming,
    deadline: Pin<Box<tokio::time::Sleep>>,
    limit: Duration,
    rolling: bool,
    timed_out: Arc<AtomicBool>,
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                if this.rolling && frame.is_some() {
                    let next = tokio::time::Instant::now() + this.limit;
                    this.deadline.as_mut().reset(next);
                }
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                if this.deadline.as_mut().poll(cx).is_ready() {
                    this.timed_out.store(true, Ordering::Release);
                    Poll::Ready(Some(Err("the request body did not arrive in time".into())))
                } else {
                    Poll::Pending
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The socket, noting every byte read or written.
struct Watched {
    inner: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The accept loop holds the peers' lock while it claims a slot. A
    /// closing connection must not give its permit back while its slot is
    /// still counted: the accept loop would take the next connection and
    /// refuse it as over its peer's share.
    #[test]
    fn a_closing_connection_gives_back_its_slot_before_its_permit() {
        let permits = Arc::new(Semaphore::new(1));
        let peers = Arc::new(Peers {
            cap: 1,
            open: Default::default(),
        });
        let ip: std::net::IpAddr = "127.0.0.1".parse().expect("an address");
        let held = Held {
            _slot: peers.claim(ip).expect("a slot"),
            _permit: Arc::clone(&permits).try_acquire_owned().expect("a permit"),
        };
        // The accept loop's view, held still while the connection closes.
        let open = peers.open.lock().expect("the peers' lock");
        let closer = std::thread::spawn(move || drop(held));
        std::thread::sleep(Duration::from_millis(200));
        // The slot waits for the lock, so the permit is not back either.
        assert_eq!(permits.available_permits(), 0);
        assert_eq!(open.get(&ip), Some(&1));
        drop(open);
        closer.join().expect("the closer");
        assert_eq!(permits.available_permits(), 1);
        assert!(peers.open.lock().expect("the peers' lock").is_empty());
    }
}
