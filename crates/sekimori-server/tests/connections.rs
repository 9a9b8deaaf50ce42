//! Connection limits on a real socket (127.0.0.1 only): slow request heads
//! are closed after the header timeout while other clients are served, the
//! connection cap holds, a stalled body gets `body_timeout`, an idle
//! kept-alive connection is closed, and one peer past its share of
//! connections is refused while the others are served (with the
//! connection metrics).

mod common;

use sekimori_server::keys::{create_key, Scope};
use sekimori_server::{serve, ServeConfig};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Generous bounds: debug builds on shared two-core machines are slow.
const PATIENCE: Duration = Duration::from_secs(10);

/// Raises this process's soft open-file limit to fit `n` descriptors (both
/// ends of every test connection live in this process).
fn fit_open_files(n: u64) {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current.is_some_and(|c| c < n) {
        let hard = limit.maximum.unwrap_or(u64::MAX);
        assert!(hard >= n, "the hard open-file limit {hard} is below {n}");
        setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(n),
                maximum: limit.maximum,
            },
        )
        .expect("raise the open-file limit");
    }
}

/// Starts the server on 127.0.0.1:0 in this runtime; returns its address and
/// the data directory (kept alive by the caller).
async fn start(f: impl FnOnce(&mut ServeConfig)) -> (SocketAddr, tempfile::TempDir, String) {
    start_with(vec![Scope::Ingest], f).await
}

/// [`start`] with a key of `scopes`.
async fn start_with(
    scopes: Vec<Scope>,
    f: impl FnOnce(&mut ServeConfig),
) -> (SocketAddr, tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = create_key(dir.path(), "test", scopes).expect("key").1;
    let mut config = common::config(dir.path(), None);
    f(&mut config);
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let served = serve(config, move |addr, _| {
            let _ = tx.send(addr);
        })
        .await;
        if let Err(e) = served {
            panic!("server failed: {e:#}");
        }
    });
    let addr = tokio::time::timeout(Duration::from_secs(60), rx)
        .await
        .expect("server starts")
        .expect("bound");
    assert!(addr.ip().is_loopback());
    (addr, dir, key)
}

/// One `GET /healthz` on a fresh connection; the status line.
async fn healthz(addr: SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"GET /healthz HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n")
        .await
        .expect("write");
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).await.expect("read");
    let text = String::from_utf8_lossy(&answer).to_string();
    text.lines().next().unwrap_or_default().to_string()
}

/// Opens `n` connections that send half a request head and then nothing.
async fn slow_clients(addr: SocketAddr, n: usize) -> Vec<(TcpStream, Instant)> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let mut s = TcpStream::connect(addr).await.expect("connect");
        s.write_all(b"POST /v1/events HTTP/1.1\r\nhost: test\r\ncontent-le")
            .await
            .expect("write");
        out.push((s, Instant::now()));
    }
    out
}

/// Waits until every connection is closed by the server (end of stream or a
/// reset); returns how long each stayed open after its half head was sent.
async fn closed_after(conns: Vec<(TcpStream, Instant)>, within: Duration) -> Vec<Duration> {
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|(mut s, sent)| {
            tokio::spawn(async move {
                let mut buf = [0u8; 512];
                loop {
                    match tokio::time::timeout(within, s.read(&mut buf)).await {
                        Err(_) => panic!("a slow connection is still open after {within:?}"),
                        Ok(Ok(0)) | Ok(Err(_)) => return sent.elapsed(),
                        Ok(Ok(_)) => continue,
                    }
                }
            })
        })
        .collect();
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.expect("reader"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_request_heads_are_closed_and_other_clients_are_served() {
    fit_open_files(4096);
    let header = Duration::from_secs(1);
    let (addr, _dir, _) = start(|c| {
        c.header_read_timeout = header;
        c.max_connections = 2000;
    })
    .await;
    let slow = slow_clients(addr, 1000).await;
    // A normal client is answered while the 1,000 are still open.
    let began = Instant::now();
    let status = tokio::time::timeout(PATIENCE, healthz(addr))
        .await
        .expect("a normal client is answered promptly");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(began.elapsed() < PATIENCE);
    // Every slow connection is closed by the server, none before the timeout.
    let open_for = closed_after(slow, Duration::from_secs(30)).await;
    let shortest = open_for.iter().min().copied().unwrap_or_default();
    assert!(
        shortest >= header - Duration::from_millis(100),
        "a slow connection was closed after {shortest:?}, before the header timeout"
    );
    // And the server still answers.
    assert_eq!(healthz(addr).await, "HTTP/1.1 200 OK");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_new_connections_wait_their_turn() {
    fit_open_files(4096);
    let header = Duration::from_secs(1);
    let (addr, _dir, _) = start(|c| {
        c.header_read_timeout = header;
        c.max_connections = 100;
    })
    .await;
    // 300 slow heads: the server holds 100 at a time, each for the header
    // timeout, so the last of them is closed only after three rounds.
    let began = Instant::now();
    let slow = slow_clients(addr, 300).await;
    let status = tokio::time::timeout(Duration::from_secs(30), healthz(addr))
        .await
        .expect("the normal client gets its turn");
    assert_eq!(status, "HTTP/1.1 200 OK");
    // It waited behind two rounds of slow ones (without the cap: at once).
    assert!(
        began.elapsed() >= header * 3 / 2,
        "answered after {:?}: the cap did not hold",
        began.elapsed()
    );
    let open_for = closed_after(slow, Duration::from_secs(60)).await;
    let longest = open_for.iter().max().copied().unwrap_or_default();
    assert!(longest >= header * 2, "longest {longest:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_gets_body_timeout_and_the_connection_closes() {
    let (addr, _dir, key) = start(|c| c.body_read_timeout = Duration::from_secs(1)).await;
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /v1/events HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {key}\r\n\
         content-type: application/json\r\ncontent-length: 500\r\n\r\n{{\"id\":"
    );
    s.write_all(head.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    tokio::time::timeout(PATIENCE, s.read_to_end(&mut answer))
        .await
        .expect("answered and closed")
        .expect("read");
    let text = String::from_utf8_lossy(&answer);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("\"body_timeout\""), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_kept_alive_connection_is_closed() {
    let idle = Duration::from_secs(1);
    let (addr, _dir, _) = start(|c| {
        c.idle_timeout = idle;
        c.header_read_timeout = Duration::from_secs(60);
    })
    .await;
    let mut s = TcpStream::connect(addr).await.expect("connect");
    s.write_all(b"GET /healthz HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .expect("write");
    let mut buf = [0u8; 1024];
    let n = s.read(&mut buf).await.expect("answer");
    assert!(buf[..n].starts_with(b"HTTP/1.1 200"));
    let answered = Instant::now();
    let closed = closed_after(vec![(s, answered)], PATIENCE).await;
    assert!(closed[0] >= idle - Duration::from_millis(100), "{closed:?}");
}

/// A connection to `addr` from the loopback address `from` (all of
/// 127.0.0.0/8 is this host: each is another peer to the server).
async fn connect_from(from: [u8; 4], addr: SocketAddr) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket
        .bind(SocketAddr::from((from, 0)))
        .expect("bind a loopback address");
    socket.connect(addr).await.expect("connect")
}

/// One request on a fresh connection from `from`; the whole answer (empty
/// when the server closed the connection without one).
async fn call_from(from: [u8; 4], addr: SocketAddr, head: &str) -> String {
    let mut s = connect_from(from, addr).await;
    // The write may fail on a connection the server already closed.
    let _ = s.write_all(head.as_bytes()).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(PATIENCE, s.read_to_end(&mut answer))
        .await
        .expect("answered or closed");
    String::from_utf8_lossy(&answer).to_string()
}

/// The value of the metric line that starts with `name` (0 when absent).
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_peer_past_its_share_is_refused_and_the_others_are_served() {
    fit_open_files(4096);
    let (addr, _dir, key) = start_with(vec![Scope::Read], |c| {
        c.header_read_timeout = Duration::from_secs(2);
        c.max_connections = 100;
        c.max_connections_per_peer = 20;
    })
    .await;
    let healthz = "GET /healthz HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n";
    let metrics = format!(
        "GET /metrics HTTP/1.1\r\nhost: test\r\nauthorization: Bearer {key}\r\n\
         connection: close\r\n\r\n"
    );
    let read = |text: &str, name: &str| metric(text, name);
    let before = call_from([127, 0, 0, 3], addr, &metrics).await;
    assert!(before.starts_with("HTTP/1.1 200"), "{before}");
    // One peer opens its share of slow heads (the harness's loopback
    // clients are one peer to the server).
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut s = connect_from([127, 0, 0, 2], addr).await;
        s.write_all(b"GET /healthz HTTP/1.1\r\nhost: te")
            .await
            .expect("write");
        slow.push((s, Instant::now()));
    }
    // Its next connections are closed at once, with no answer.
    for _ in 0..5 {
        let began = Instant::now();
        let answer = call_from([127, 0, 0, 2], addr, healthz).await;
        assert_eq!(answer, "", "the peer past its share was served");
        assert!(
            began.elapsed() < Duration::from_secs(1),
            "{:?}",
            began.elapsed()
        );
    }
    // Another peer is served meanwhile: it was not left in the backlog.
    let other = call_from([127, 0, 0, 4], addr, healthz).await;
    assert!(other.starts_with("HTTP/1.1 200"), "{other}");
    // The metrics count the refusals by reason and the open connections.
    // (Metrics are process-wide and other tests run alongside: at least.)
    let after = call_from([127, 0, 0, 3], addr, &metrics).await;
    let refused = "sekimori_connections_refused_total{reason=\"per_peer\"}";
    assert!(
        read(&after, refused) >= read(&before, refused) + 5.0,
        "{after}"
    );
    assert!(read(&after, "sekimori_connections_open") >= 21.0, "{after}");
    // Once the slow ones are closed by the header timeout, the peer is
    // served again.
    closed_after(slow, Duration::from_secs(30)).await;
    let again = call_from([127, 0, 0, 2], addr, healthz).await;
    assert!(again.starts_with("HTTP/1.1 200"), "{again}");
}
