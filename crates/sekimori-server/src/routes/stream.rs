//! `POST /v1/events/stream`: events as NDJSON (one JSON event a line) in
//! the request body, one answer a line out, in the order of the lines, while
//! the body is still arriving. Each line is decoded, checked against the key
//! and enriched exactly as `POST /v1/events` does; a bad line gets its
//! error line and the stream goes on. At most [`MAX_STREAM_IN_FLIGHT`] lines
//! are read and not yet answered: past that the server stops reading (TCP
//! backpressure) until answers are written. The engine side is
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
use tokio::sync::{mpsc, Semaphore};

/// The longest line: one event (`sekimori_event::MAX_EVENT_BYTES`, 64 KiB).
pub const MAX_STREAM_LINE_BYTES: usize = sekimori_event::MAX_EVENT_BYTES;
/// Lines of one stream read and not yet answered.
pub const MAX_STREAM_IN_FLIGHT: usize = 1024;
/// How often an open stream's key is checked again.
pub const KEY_RECHECK: Duration = Duration::from_secs(1);
/// A stream with no event line for this long is ended.
pub const STREAM_IDLE: Duration = Duration::from_secs(120);
/// The longest a stream is read.
pub const MAX_STREAM_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// The most lines handed to the engine together.
const CHUNK_LINES: usize = 256;

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
    let permit = app.admit_stream(&auth.who.name)?;
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
async fn read_lines(
    app: Arc<App>,
    (auth, key): (EventAuth, zeroize::Zeroizing<String>),
    mut body: Body,
    chunks: mpsc::Sender<Chunk>,
) {
    let places = Arc::new(Semaphore::new(MAX_STREAM_IN_FLIGHT));
    let mut splitter = Splitter::default();
    let mut lines = Vec::new();
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
        let end = match frame {
            // The key was revoked or changed: this frame's lines are
            // refused as a new request with the key would be, and the
            // stream ends.
            Some(Ok(frame)) if revoked => {
                if let Ok(data) = frame.into_data() {
                    splitter.push(&data, |_| {
                        lines.push(Line::Refused(auth_error(AuthFailure::Invalid)))
                    });
                }
                true
            }
            Some(Ok(frame)) => {
                let before = lines.len();
                if let Ok(data) = frame.into_data() {
                    splitter.push(&data, |line| lines.push(read_line(&app, &auth, line)));
                }
                if lines.len() > before {
                    last_event = now;
                }
                now.duration_since(last_event) >= STREAM_IDLE
                    || now.duration_since(opened) >= MAX_STREAM_LIFETIME
            }
            // A clean end: a last line without its newline still counts.
            None if revoked => {
                splitter.finish(|_| lines.push(Line::Refused(auth_error(AuthFailure::Invalid))));
                true
            }
            None => {
                splitter.finish(|line| lines.push(read_line(&app, &auth, line)));
                true
            }
            // The body broke off (the client went away, or it stalled past
            // the body timeout): a partial last line is dropped.
            Some(Err(_)) => true,
        };
        while !lines.is_empty() {
            let rest = lines.split_off(lines.len().min(CHUNK_LINES));
            let batch = std::mem::replace(&mut lines, rest);
            // Waits while the stream's in-flight bound is reached: the body is
            // not read meanwhile, so TCP slows the sender.
            let Ok(permit) = Arc::clone(&places)
                .acquire_many_owned(batch.len() as u32)
                .await
            else {
                return;
            };
            let chunk = Chunk {
                lines: batch,
                permit,
            };
            if chunks.send(chunk).await.is_err() {
                return;
            }
        }
        if end {
            return;
        }
    }
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
    pub fn push(&mut self, mut data: &[u8], mut line: impl FnMut(Result<&[u8], usize>)) {
        while !data.is_empty() {
            let newline = data.iter().position(|&b| b == b'\n');
            let (part, rest) = match newline {
                Some(at) => (&data[..at], Some(&data[at + 1..])),
                None => (data, None),
            };
            if !self.skipping {
                if self.buf.len() + part.len() > MAX_STREAM_LINE_BYTES + 1 {
                    line(Err(self.buf.len() + part.len()));
                    self.buf.clear();
                    self.skipping = true;
                } else {
                    self.buf.extend_from_slice(part);
                }
            }
            match rest {
                Some(rest) => {
                    if !self.skipping {
                        self.emit(&mut line);
                    }
                    self.skipping = false;
                    self.buf.clear();
                    data = rest;
                }
                None => data = &[],
            }
        }
    }

    /// The end of the input: the last line, if it had no newline.
    pub fn finish(&mut self, mut line: impl FnMut(Result<&[u8], usize>)) {
        if !self.skipping {
            self.emit(&mut line);
        }
        self.buf.clear();
        self.skipping = false;
    }

    fn emit(&mut self, line: &mut impl FnMut(Result<&[u8], usize>)) {
        let text = self.buf.strip_suffix(b"\r").unwrap_or(&self.buf);
        if text.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        if text.len() > MAX_STREAM_LINE_BYTES {
            line(Err(text.len()));
        } else {
            line(Ok(text));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Splitter, MAX_STREAM_LINE_BYTES};

    fn split(parts: &[&[u8]]) -> Vec<Result<String, usize>> {
        let mut s = Splitter::default();
        let mut out = Vec::new();
        let mut take = |l: Result<&[u8], usize>| {
            out.push(l.map(|b| String::from_utf8_lossy(b).into_owned()));
        };
        for p in parts {
            s.push(p, &mut take);
        }
        s.finish(&mut take);
        out
    }

    #[test]
    fn lines_split_across_frames_blank_lines_skipped() {
        let got = split(&[b"{\"a\"", b":1}\n\n  \r\n{\"b\":2}\r", b"\n{\"c\"", b":3}"]);
        assert_eq!(
            got,
            vec![
                Ok("{\"a\":1}".to_string()),
                Ok("{\"b\":2}".to_string()),
                Ok("{\"c\":3}".to_string())
            ]
        );
    }

    #[test]
    fn a_long_line_is_reported_once_and_the_next_line_is_read() {
        let long = vec![b'x'; MAX_STREAM_LINE_BYTES + 10];
        let got = split(&[b"{}\n", &long[..1000], &long[1000..], b"yyy\n{\"d\":4}\n"]);
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0], Ok("{}".to_string()));
        assert!(got[1].is_err());
        assert_eq!(got[2], Ok("{\"d\":4}".to_string()));
        // Exactly at the bound is a line.
        let exact = vec![b'z'; MAX_STREAM_LINE_BYTES];
        let got = split(&[&exact, b"\n"]);
        assert_eq!(got.len(), 1);
        assert!(got[0].is_ok());
    }
}
