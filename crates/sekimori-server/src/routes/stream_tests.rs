//! Tests of the stream route: the line splitter, the places and the
//! chunked feed (split out of `stream.rs` to keep it under 500 lines).

use super::{
    feed, Line, Places, Splitter, CHUNK_BYTES, CHUNK_LINES, MAX_STREAM_IN_FLIGHT,
    MAX_STREAM_IN_FLIGHT_BYTES, MAX_STREAM_LINE_BYTES,
};
use crate::error::ApiError;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

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

#[test]
fn at_most_n_lines_are_taken_and_the_rest_is_left_in_the_data() {
    let data = b"a\n\nb\r\nc\nd";
    let mut s = Splitter::default();
    let mut got: Vec<String> = Vec::new();
    let mut take =
        |l: Result<&[u8], usize>| got.push(String::from_utf8_lossy(l.expect("short")).into_owned());
    // Two lines (the blank one between is skipped, not counted).
    let (used, bytes) = s.push_at_most(data, 2, usize::MAX, &mut take);
    assert_eq!(&data[used..], b"c\nd");
    assert_eq!(bytes, 2, "a and b, the \\r dropped");
    let (used2, _) = s.push_at_most(&data[used..], 5, usize::MAX, &mut take);
    assert_eq!(used + used2, data.len());
    s.finish(&mut take);
    assert_eq!(got, ["a", "b", "c", "d"]);
}

/// The review's finding: one received frame of many lines was decoded
/// whole before the in-flight bound applied. Now a line is read only
/// with its place: while nothing is answered, at most
/// MAX_STREAM_IN_FLIGHT lines of a 5,000-line frame are ever read.
#[tokio::test]
async fn one_huge_frame_is_read_no_faster_than_its_answers_make_room() {
    let total = 5_000;
    let frame: Vec<u8> = (0..total)
        .flat_map(|i| format!("{i}\n").into_bytes())
        .collect();
    let places = Places::new();
    let (tx, mut rx) = mpsc::channel(MAX_STREAM_IN_FLIGHT / CHUNK_LINES + 1);
    let read = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&read);
    let feeder = tokio::spawn(async move {
        let mut splitter = Splitter::default();
        let mut read_one = |line: Result<&[u8], usize>| {
            let text = String::from_utf8_lossy(line.expect("short")).into_owned();
            counter.fetch_add(1, Ordering::SeqCst);
            Line::Refused(ApiError::new("invalid_json", text))
        };
        feed(&mut splitter, &frame, &places, &tx, &mut read_one)
            .await
            .ok()
    });
    // Nothing answered yet: the reader stops at the bound.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(read.load(Ordering::SeqCst), MAX_STREAM_IN_FLIGHT);
    // Answering (dropping chunks gives their places back) lets it go on,
    // chunk by chunk, in order.
    let mut next = 0;
    while next < total {
        let chunk = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("a chunk")
            .expect("open");
        assert!(chunk.lines.len() <= CHUNK_LINES);
        assert_eq!(chunk.permit.num_permits(), chunk.lines.len());
        for line in &chunk.lines {
            let Line::Refused(e) = line else {
                panic!("refused lines only")
            };
            assert_eq!(e.message, next.to_string());
            next += 1;
        }
        assert!(read.load(Ordering::SeqCst) <= next + MAX_STREAM_IN_FLIGHT);
    }
    assert_eq!(feeder.await.expect("feeder"), Some(total));
}

/// The review's finding F7: the in-flight bound counted lines, so 1,024
/// lines of 64 KiB (64 MiB a stream) could be decoded and held, and a
/// 256-line chunk (16 MiB) decoded on a worker without yielding. Now a
/// line takes its bytes before it is read: of a frame of 400 lines of
/// 60,000 bytes, with nothing answered, at most
/// MAX_STREAM_IN_FLIGHT_BYTES of lines are read, each chunk holds at
/// most CHUNK_BYTES, and answering lets the rest through in order.
#[tokio::test]
async fn line_bytes_in_flight_and_per_chunk_are_bounded() {
    let (total, width) = (400usize, 60_000usize);
    let frame: Vec<u8> = (0..total)
        .flat_map(|i| {
            let mut line = format!("{i:>width$}").into_bytes();
            line.push(b'\n');
            line
        })
        .collect();
    let places = Places::new();
    let bytes_left = Arc::clone(&places.bytes);
    let (tx, mut rx) = mpsc::channel(MAX_STREAM_IN_FLIGHT / CHUNK_LINES + 1);
    let read = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&read);
    let feeder = tokio::spawn(async move {
        let mut splitter = Splitter::default();
        let mut read_one = |line: Result<&[u8], usize>| {
            let text = String::from_utf8_lossy(line.expect("short")).into_owned();
            counter.fetch_add(1, Ordering::SeqCst);
            Line::Refused(ApiError::new("invalid_json", text.trim().to_string()))
        };
        feed(&mut splitter, &frame, &places, &tx, &mut read_one)
            .await
            .ok()
    });
    // The engine takes every chunk and answers none (run_stream hands
    // decided chunks on): the byte bound alone stops the reader.
    let mut held = Vec::new();
    while let Ok(chunk) = tokio::time::timeout(Duration::from_millis(300), rx.recv()).await {
        held.push(chunk.expect("open"));
    }
    let most = MAX_STREAM_IN_FLIGHT_BYTES / width;
    let got = read.load(Ordering::SeqCst);
    assert!(got <= most, "{got} lines read past the byte bound ({most})");
    assert!(
        got + CHUNK_BYTES / width >= most,
        "{got} of {most}: the bound is used"
    );
    assert!(
        got < MAX_STREAM_IN_FLIGHT,
        "the byte bound, not the line bound"
    );
    // The places the chunks hold are their lines' bytes (a reader
    // waiting for more may hold the rest of the bound meanwhile).
    let in_chunks: usize = held.iter().map(|c| c.bytes.num_permits()).sum();
    assert_eq!(in_chunks, got * width);
    assert!(MAX_STREAM_IN_FLIGHT_BYTES - bytes_left.available_permits() >= in_chunks);
    let mut next = 0;
    let mut held = held.into_iter();
    while next < total {
        let chunk = match held.next() {
            Some(chunk) => chunk,
            None => tokio::time::timeout(Duration::from_secs(5), rx.recv())
                .await
                .expect("a chunk")
                .expect("open"),
        };
        assert!(
            chunk.lines.len() * width <= CHUNK_BYTES,
            "{}",
            chunk.lines.len()
        );
        assert_eq!(chunk.bytes.num_permits(), chunk.lines.len() * width);
        for line in &chunk.lines {
            let Line::Refused(e) = line else {
                panic!("refused lines only")
            };
            assert_eq!(e.message, next.to_string());
            next += 1;
        }
    }
    assert_eq!(feeder.await.expect("feeder"), Some(total));
}
