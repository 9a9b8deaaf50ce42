//! `POST /v1/events/stream`: events as NDJSON (one JSON event a line) in
//! the request body, one answer a line out, in the order of the lines, while
//! the body is still arriving. Each line is decoded, checked against the key
//! and enriched exactly as `POST /v1/events` does; a bad line gets its
//! error line and the stream goes on. At most [`MAX_STREAM_IN_FLIGHT`] lines,
//! and [`MAX_STREAM_IN_FLIGHT_BYTES`] of line bytes, are read and not yet
//! answered: past that the server stops reading (TCP backpressure) until
//! answers are written. The engine side is
//! `App::run_stream`.
//!
//! A stream is bounded in time as well: its key is checked again every
//! [`KEY_RECHECK`] (a key revoked or changed meanwhile has its next lines
//! refused and the stream ended, as a new request with it would be), a
//! stream that sends no event line for [`STREAM_IDLE`] (blank lines are
//! not events) is ended, and none lives past [`MAX_STREAM_LIFETIME`]. An
//! ended stream answers every line it read; the client sends the rest
//! again on a new stream (ids make that safe).

use super::{auth_error, EventAuth};
use crate::app::{App, Chunk, Line};
use crate::error::ApiError;
use crate::keys::AuthFailure;
use crate::telemetry;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use hyper::body::{Body as HttpBody, Frame, SizeHint};
use sekimori_engine::Prepared;
use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};

/// The longest line: one event (`sekimori_event::MAX_EVENT_BYTES`, 64 KiB).
pub const MAX_STREAM_LINE_BYTES: usize = sekimori_event::MAX_EVENT_BYTES;
/// Lines of one stream read and not yet answered.
pub const MAX_STREAM_IN_FLIGHT: usize = 1024;
/// Line bytes of one stream read and not yet answered (8 MiB): a line
/// takes its length of this bound before it is decoded.
pub const MAX_STREAM_IN_FLIGHT_BYTES: usize = 8 << 20;
/// How often an open stream's key is checked again.
pub const KEY_RECHECK: Duration = Duration::from_secs(1);
/// A stream with no event line for this long is ended.
pub const STREAM_IDLE: Duration = Duration::from_secs(120);
/// The longest a stream is read.
pub const MAX_STREAM_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// The most lines handed to the engine together.
const CHUNK_LINES: usize = 256;
/// The most line bytes decoded together (1 MiB), before the reader yields.
const CHUNK_BYTES: usize = 1 << 20;
// Any line (at most MAX_STREAM_LINE_BYTES) fits one chunk, and a chunk the
// stream's in-flight bytes: a line never waits for places it cannot have.
const _: () =
    assert!(MAX_STREAM_LINE_BYTES < CHUNK_BYTES && CHUNK_BYTES <= MAX_STREAM_IN_FLIGHT_BYTES);

/// The content type of both directions.
pub const NDJSON: &str = "application/x-ndjson";

/// Events in, answers out, one a line, in order: the high-rate path for a
/// service that sends many events a second over one connection.
#[utoipa::path(post, path = "/v1/events/stream", tag = "events",
    request_body(content = crate::routes::openapi::EventSchema, content_type = "application/x-ndjson",
        description = "Newline-delimited JSON: one event a line (each as `POST /v1/events` takes it, at most 64 KiB); blank lines are skipped. The body may be sent over time (chunked): answers come while it arrives."),
    responses((status = 200, content_type = "application/x-ndjson",
        description = "Newline-delimited JSON, one line per non-blank input line, in the same order: the line's answer (as `POST /v1/events` answers, durable before it is written), or `{\"error\": ...}` with the code and path a single event would get (`engine_busy`: not decided or stored, send it again with the same id). The status is 200 once the stream starts: every refusal after that is a line.",
        body = crate::routes::answers::StreamItem)))]
pub async fn post_stream(
    auth: EventAuth,
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    // The key as presented, to check it again while the stream is open
    // (the extractor above has authenticated it).
    let key = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(|k| zeroize::Zeroizing::new(k.to_string()))
        .unwrap_or_default();
    if !app.is_ready() {
        return Err(ApiError::new(
            "store_failed",
            "the durable log failed; the server accepts nothing until restarted",
        ));
    }
    // A request with no body at all has no event to answer: refused before
    // the stream starts, as an empty `POST /v1/events` is.
    if HttpBody::is_end_stream(&body) {
        return Err(ApiError::new(
            "invalid_json",
            "the body is empty: a stream sends at least one event line",
        ));
    }
    let permit = app.admit_stream(&auth.who)?;
    let (chunk_tx, chunk_rx) = mpsc::channel(MAX_STREAM_IN_FLIGHT / CHUNK_LINES + 1);
    let (out_tx, out_rx) = mpsc::channel(MAX_STREAM_IN_FLIGHT / CHUNK_LINES + 1);
    tokio::spawn(read_lines(Arc::clone(&app), (auth, key), body, chunk_tx));
    tokio::spawn(app.run_stream(chunk_rx, out_tx, permit));
    let mut response = Body::new(Answers(out_rx)).into_response();
    *response.status_mut() = StatusCode::OK;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(NDJSON));
    Ok(response)
}

/// The answers as a response body: each chunk's lines as they are settled.
struct Answers(mpsc::Receiver<Bytes>);

impl HttpBody for Answers {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|b| b.map(|b| Ok(Frame::data(b))))
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

/// Reads the body line by line and hands the lines, decoded, to the engine
/// in chunks; stops at the body's end or error (a client gone: what it sent
/// in full is still decided, logged and settled), or when the stream's key
/// no longer holds, it idles or it has lived its time (see the module docs).
///
/// The in-flight bound holds for the work as well as for the lines kept: a
/// line is decoded only once it has its place, so one received frame of
/// many thousand lines is decoded [`CHUNK_LINES`] at a time, each group
/// only when the answers before it have made room ([`feed`]).
async fn read_lines(
    app: Arc<App>,
    (auth, key): (EventAuth, zeroize::Zeroizing<String>),
    mut body: Body,
    chunks: mpsc::Sender<Chunk>,
) {
    let places = Places::new();
    let mut splitter = Splitter::default();
    let opened = Instant::now();
    let mut checked = opened;
    let mut last_event = opened;
    loop {
        let frame = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await;
        let now = Instant::now();
        let revoked = now.duration_since(checked) >= KEY_RECHECK && {
            checked = now;
            app.keys.authenticate(&key).ok().as_ref() != Some(&auth.who)
        };
        // The key was revoked or changed: the lines read from now on are
        // refused as a new request with the key would be, and the stream ends.
        let mut read = |line: Result<&[u8], usize>| match revoked {
            true => Line::Refused(auth_error(AuthFailure::Invalid)),
            false => read_line(&app, &auth, line),
        };
        let (fed, ended) = match frame {
            Some(Ok(frame)) => {
                let fed = match frame.into_data() {
                    Ok(data) => feed(&mut splitter, &data, &places, &chunks, &mut read).await,
                    Err(_) => Ok(0),
                };
                (fed, revoked)
            }
            // A clean end: a last line without its newline still counts.
            None => (
                finish(&mut splitter, &places, &chunks, &mut read).await,
                true,
            ),
            // The body broke off (the client went away, or it stalled past
            // the body timeout): a partial last line is dropped.
            Some(Err(_)) => (Ok(0), true),
        };
        match fed {
            Ok(n) if n > 0 => last_event = now,
            Ok(_) => {}
            // The engine side is gone.
            Err(Gone) => return,
        }
        if ended
            || now.duration_since(last_event) >= STREAM_IDLE
            || now.duration_since(opened) >= MAX_STREAM_LIFETIME
        {
            return;
        }
    }
}

/// The engine side of the stream has stopped taking chunks.
struct Gone;

/// A stream's in-flight bounds: lines and line bytes read and not yet
/// answered.
struct Places {
    lines: Arc<Semaphore>,
    bytes: Arc<Semaphore>,
}

impl Places {
    fn new() -> Places {
        Places {
            lines: Arc::new(Semaphore::new(MAX_STREAM_IN_FLIGHT)),
            bytes: Arc::new(Semaphore::new(MAX_STREAM_IN_FLIGHT_BYTES)),
        }
    }
}

/// Splits `data` into lines and hands them to the engine in chunks of at
/// most [`CHUNK_LINES`] lines or [`CHUNK_BYTES`] line bytes, whichever
/// comes first. Each chunk's places in the in-flight bounds (lines, and
/// bytes: as many as the chunk could hold) are taken **before** any of its
/// lines is read (`read`: decoded and checked), so at most
/// [`MAX_STREAM_IN_FLIGHT`] lines and [`MAX_STREAM_IN_FLIGHT_BYTES`] line
/// bytes of a stream are ever decoded and not yet answered, whatever the
/// size of a received frame: past that this waits (and the body is not
/// read meanwhile, so TCP slows the sender). Between chunks it yields, so
/// one frame never holds a runtime worker for more than a chunk's decoding.
/// Returns the lines handed over.
async fn feed(
    splitter: &mut Splitter,
    mut data: &[u8],
    places: &Places,
    chunks: &mpsc::Sender<Chunk>,
    read: &mut impl FnMut(Result<&[u8], usize>) -> Line,
) -> Result<usize, Gone> {
    let mut handed = 0;
    while !data.is_empty() {
        // At most one line per newline of the chunk's bytes, plus the line
        // they end in; at most the bytes held and arriving.
        let most = newlines(&data[..data.len().min(CHUNK_BYTES)], CHUNK_LINES) + 1;
        let permit = take_places(&places.lines, most.min(CHUNK_LINES)).await?;
        let room = (data.len() + splitter.buffered()).min(CHUNK_BYTES);
        let bytes = take_places(&places.bytes, room).await?;
        let mut lines = Vec::with_capacity(permit.num_permits());
        let (used, held) =
            splitter.push_at_most(data, permit.num_permits(), bytes.num_permits(), |line| {
                lines.push(read(line))
            });
        data = &data[used..];
        handed += lines.len();
        send(chunks, lines, permit, (bytes, held)).await?;
        if !data.is_empty() {
            tokio::task::yield_now().await;
        }
    }
    Ok(handed)
}

/// The body's end: its last line, if it had no newline (as [`feed`]).
async fn finish(
    splitter: &mut Splitter,
    places: &Places,
    chunks: &mpsc::Sender<Chunk>,
    read: &mut impl FnMut(Result<&[u8], usize>) -> Line,
) -> Result<usize, Gone> {
    let permit = take_places(&places.lines, 1).await?;
    let bytes = take_places(&places.bytes, splitter.buffered()).await?;
    let mut lines = Vec::with_capacity(1);
    let mut held = 0;
    splitter.finish(|line| {
        held += line.map_or(0, <[u8]>::len);
        lines.push(read(line))
    });
    let handed = lines.len();
    send(chunks, lines, permit, (bytes, held)).await?;
    Ok(handed)
}

/// Waits for `n` places of one of the stream's in-flight bounds.
async fn take_places(places: &Arc<Semaphore>, n: usize) -> Result<OwnedSemaphorePermit, Gone> {
    let n = u32::try_from(n.max(1)).unwrap_or(u32::MAX);
    Arc::clone(places)
        .acquire_many_owned(n)
        .await
        .map_err(|_| Gone)
}

/// Hands `lines` to the engine with as many of `permit`'s places, and
/// `held` of `bytes`' (the rest of each is given back at once); nothing is
/// sent for no line.
async fn send(
    chunks: &mpsc::Sender<Chunk>,
    lines: Vec<Line>,
    permit: OwnedSemaphorePermit,
    (bytes, held): (OwnedSemaphorePermit, usize),
) -> Result<(), Gone> {
    if lines.is_empty() {
        return Ok(());
    }
    // `split` hands out the places the lines hold; dropping the rest gives
    // them back.
    let keep = |mut p: OwnedSemaphorePermit, n: usize| match p.num_permits() > n {
        true => p.split(n).ok_or(Gone),
        false => Ok(p),
    };
    let permit = keep(permit, lines.len())?;
    let bytes = keep(bytes, held)?;
    chunks
        .send(Chunk {
            lines,
            permit,
            bytes,
        })
        .await
        .map_err(|_| Gone)
}

/// Newlines in `data`, counted up to `cap`.
fn newlines(data: &[u8], cap: usize) -> usize {
    data.iter().filter(|&&b| b == b'\n').take(cap).count()
}

/// One line: decoded, checked against the key and enriched as a single event is.
fn read_line(app: &App, auth: &EventAuth, line: Result<&[u8], usize>) -> Line {
    let bytes = match line {
        Ok(bytes) => bytes,
        Err(_) => {
            telemetry::rejected("too_large", "");
            return Line::Refused(ApiError::new(
                "too_large",
                format!("a line of a stream may be at most {MAX_STREAM_LINE_BYTES} bytes"),
            ));
        }
    };
    let arrived = Instant::now();
    let mut event = match sekimori_event::decode(bytes) {
        Ok(event) => event,
        Err(e) => {
            telemetry::rejected(e.code, &e.path);
            return Line::Refused(e.into());
        }
    };
    if let Err(e) = auth.permits(&event) {
        telemetry::rejected(e.code, e.path.as_deref().unwrap_or_default());
        return Line::Refused(e);
    }
    app.enrich(&mut event);
    Line::Event(Box::new(Prepared::new(event)), arrived)
}

/// Splits bytes into lines (`\n`, a `\r` before it dropped), skipping blank
/// ones and cutting off any line longer than [`MAX_STREAM_LINE_BYTES`]
/// (reported once, as `Err(length so far)`, its rest skipped) without
/// holding it in memory.
#[derive(Debug, Default)]
pub struct Splitter {
    buf: Vec<u8>,
    /// Inside a line already reported too long: skip to its end.
    skipping: bool,
}

impl Splitter {
    /// Feeds `data`, calling `line` for every complete line.
    pub fn push(&mut self, data: &[u8], line: impl FnMut(Result<&[u8], usize>)) {
        self.push_at_most(data, usize::MAX, usize::MAX, line);
    }

    /// The bytes of a line begun and not yet complete.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Feeds `data` until `most` lines were given to `line` (blank lines
    /// skipped are not counted), or until the next line would take the
    /// lines' bytes past `most_bytes` (the first line is always given);
    /// returns how many bytes of `data` it took and the bytes of the lines
    /// given (a line cut off as too long counts none: it is not held). The
    /// rest is fed again later: nothing of it is read meanwhile.
    pub fn push_at_most(
        &mut self,
        data: &[u8],
        most: usize,
        most_bytes: usize,
        mut line: impl FnMut(Result<&[u8], usize>),
    ) -> (usize, usize) {
        let mut given = 0;
        let mut bytes = 0;
        let mut taken = 0;
        while taken < data.len() && given < most {
            let rest_of = &data[taken..];
            let newline = rest_of.iter().position(|&b| b == b'\n');
            let part = match newline {
                Some(at) => &rest_of[..at],
                None => rest_of,
            };
            let whole = self.buf.len() + part.len();
            if newline.is_some()
                && !self.skipping
                && given > 0
                && whole <= MAX_STREAM_LINE_BYTES + 1
                && bytes + whole > most_bytes
            {
                // The next line would not fit in the chunk's bytes.
                break;
            }
            if !self.skipping {
                if whole > MAX_STREAM_LINE_BYTES + 1 {
                    line(Err(self.buf.len() + part.len()));
                    given += 1;
                    self.buf.clear();
                    self.skipping = true;
                } else {
                    self.buf.extend_from_slice(part);
                }
            }
            match newline {
                Some(at) => {
                    if !self.skipping {
                        if let Some(n) = self.emit(&mut line) {
                            given += 1;
                            bytes += n;
                        }
                    }
                    self.skipping = false;
                    self.buf.clear();
                    taken += at + 1;
                }
                None => taken = data.len(),
            }
        }
        (taken, bytes)
    }

    /// The end of the input: the last line, if it had no newline.
    pub fn finish(&mut self, mut line: impl FnMut(Result<&[u8], usize>)) {
        if !self.skipping {
            let _ = self.emit(&mut line);
        }
        self.buf.clear();
        self.skipping = false;
    }

    /// Gives the buffered line to `line` and returns the bytes it holds
    /// (none for one too long); `None` for a blank one (skipped).
    fn emit(&mut self, line: &mut impl FnMut(Result<&[u8], usize>)) -> Option<usize> {
        let text = self.buf.strip_suffix(b"\r").unwrap_or(&self.buf);
        if text.iter().all(u8::is_ascii_whitespace) {
            return None;
        }
        if text.len() > MAX_STREAM_LINE_BYTES {
            line(Err(text.len()));
            Some(0)
        } else {
            line(Ok(text));
            Some(text.len())
        }
    }
}

#[cfg(test)]
#[path = "stream_tests.rs"]
mod tests;
