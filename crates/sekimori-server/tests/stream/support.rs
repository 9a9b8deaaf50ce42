//! The stream tests' client side: a body the test feeds frame by frame,
//! and readers of the answer lines.
#![allow(dead_code)]

use crate::common::Harness;
use axum::body::{Body, Bytes};
use axum::http::{Method, Request, StatusCode};
use hyper::body::{Body as HttpBody, Frame};
use serde_json::Value;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::mpsc;
use tower::ServiceExt;

/// A request body fed by the test, frame by frame; an `Err` breaks it off
/// as a client that goes away does.
pub struct Feed(pub mpsc::UnboundedReceiver<Result<Bytes, std::io::Error>>);

impl HttpBody for Feed {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        self.0.poll_recv(cx).map(|o| o.map(|r| r.map(Frame::data)))
    }
}

/// Starts a stream whose body the returned sender feeds.
pub async fn open_stream(
    h: &Harness,
    key: &str,
) -> (
    mpsc::UnboundedSender<Result<Bytes, std::io::Error>>,
    StatusCode,
    Body,
) {
    let (tx, rx) = mpsc::unbounded_channel();
    let req = Request::builder()
        .method(Method::POST)
        .uri("/v1/events/stream")
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/x-ndjson")
        .body(Body::new(Feed(rx)))
        .expect("request");
    let resp = h.router.clone().oneshot(req).await.expect("infallible");
    let status = resp.status();
    (tx, status, resp.into_body())
}

/// Sends `text` as the whole body; the answer lines.
pub async fn stream(h: &Harness, key: &str, text: String) -> (StatusCode, Vec<Value>) {
    let (tx, status, body) = open_stream(h, key).await;
    tx.send(Ok(Bytes::from(text))).expect("send");
    drop(tx);
    let bytes = tokio::time::timeout(
        Duration::from_secs(60),
        axum::body::to_bytes(body, usize::MAX),
    )
    .await
    .expect("the stream ends")
    .expect("body");
    (status, lines(&bytes))
}

pub fn lines(bytes: &[u8]) -> Vec<Value> {
    bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).expect("each answer line is JSON"))
        .collect()
}

/// Reads answer lines from `body` until there are `n` of them.
pub async fn read_answers(body: &mut Body, have: &mut Vec<u8>, n: usize) -> Vec<Value> {
    loop {
        let done = lines(have);
        if done.len() >= n {
            return done;
        }
        let frame = tokio::time::timeout(
            Duration::from_secs(60),
            std::future::poll_fn(|cx| Pin::new(&mut *body).poll_frame(cx)),
        )
        .await
        .expect("an answer within 60 s")
        .expect("the stream is still open")
        .expect("frame");
        if let Ok(data) = frame.into_data() {
            have.extend_from_slice(&data);
        }
    }
}

pub fn ndjson(events: &[Value]) -> String {
    events.iter().map(|e| format!("{e}\n")).collect()
}

pub fn code(b: &Value) -> (Option<&str>, Option<&str>) {
    (b["error"]["code"].as_str(), b["error"]["path"].as_str())
}

pub async fn logged_action(h: &Harness, id: &str) -> Option<String> {
    let (s, b) = h
        .call(
            Method::GET,
            &format!("/v1/decisions/{id}"),
            Some(&h.read),
            Value::Null,
        )
        .await;
    (s == StatusCode::OK).then(|| {
        b["decision"]["action"]
            .as_str()
            .expect("action")
            .to_string()
    })
}
