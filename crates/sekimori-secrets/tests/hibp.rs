//! The breach corpus: both layouts, range lookups, malformed input, and the
//! shipped `data/hibp/common.txt`.

use std::fs;
use std::path::{Path, PathBuf};

use sekimori_secrets::hibp::{self, Corpus, CorpusError, CorpusKind, RangeError};

fn shipped_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../data/hibp/common.txt")
}

fn shipped() -> Corpus {
    Corpus::load(shipped_path()).expect("the shipped corpus loads")
}

const PASSWORD_SHA1: &str = "5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, text).expect("write test file");
    p
}

fn malformed_line(e: CorpusError) -> (PathBuf, u64, String) {
    let msg = e.to_string();
    match e {
        CorpusError::Malformed { path, line, .. } => (path, line, msg),
        other => panic!("expected Malformed, got {other:?}"),
    }
}

#[test]
fn sha1_helpers() {
    assert_eq!(hibp::sha1_hex(b"password"), PASSWORD_SHA1);
    assert_eq!(hibp::sha1(b"password")[0], 0x5B);
    assert_eq!(hibp::parse_prefix("5baa6").ok(), Some(0x5BAA6));
    assert_eq!(hibp::parse_prefix("FFFFF").ok(), Some(0xFFFFF));
}

#[test]
fn shipped_corpus_knows_password() {
    let c = shipped();
    assert_eq!(c.kind(), CorpusKind::InMemory { hashes: 39_940 });
    let n = c.count(&hibp::sha1(b"password"));
    assert!(n > 0, "sha1(password) must be in the shipped corpus");
    // A real HIBP count for a PIN: 1234 (data/pins).
    assert_eq!(c.count(&hibp::sha1(b"1234")), 2_634_445);
    assert_eq!(c.count(&hibp::sha1(b"0849")), 518);
    assert_eq!(c.count(&hibp::sha1("vN7#q2!Lr9@wX4$z".as_bytes())), 0);

    let range = c.range("5baa6").expect("valid prefix");
    let hit = range
        .iter()
        .find(|(s, _)| s == &PASSWORD_SHA1[5..])
        .expect("password's suffix is in its range");
    assert_eq!(hit.1, n);
    for w in range.windows(2) {
        assert!(w[0].0 < w[1].0, "range is sorted");
    }
    for (s, count) in &range {
        assert_eq!(s.len(), 35);
        assert!(s
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)));
        assert!(*count > 0);
    }
    let text = c.range_text("5BAA6").expect("valid prefix");
    assert!(text.contains(&format!("{}:{n}", &PASSWORD_SHA1[5..])));
    assert_eq!(text.split("\r\n").count(), range.len());
}

#[test]
fn shipped_corpus_first_line_and_an_unused_prefix() {
    let c = shipped();
    let text = fs::read_to_string(shipped_path()).expect("read shipped corpus");
    let first = text.lines().next().expect("non-empty");
    let range = c.range(&first[..5]).expect("valid prefix");
    assert!(range
        .iter()
        .any(|(s, _)| first[5..].starts_with(s.as_str())));
    // A prefix no hash starts with has an empty range.
    let all: std::collections::HashSet<&str> = text.lines().map(|l| &l[..5]).collect();
    let empty = (0..0x10_0000u32)
        .map(|p| format!("{p:05X}"))
        .find(|p| !all.contains(p.as_str()))
        .expect("some prefix is unused with only 40k hashes");
    assert_eq!(c.range(&empty).expect("valid").len(), 0);
}

#[test]
fn invalid_prefixes() {
    let c = shipped();
    for bad in ["", "5BAA", "5BAA61", "5BAG6", "5BAA6 ", "５BAA6", "0x5BA"] {
        assert!(
            matches!(c.range(bad), Err(RangeError::InvalidPrefix)),
            "{bad:?}"
        );
    }
}

#[test]
fn single_file_tolerates_crlf_bom_blank_lines_unsorted_and_padding() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = format!(
        "\u{feff}{}:3\r\n\r\n{PASSWORD_SHA1}:42\r\n{}:0\r\n{}:7",
        hibp::sha1_hex(b"zebra"),
        hibp::sha1_hex(b"padding"),
        hibp::sha1_hex(b"apple"),
    );
    let p = write(dir.path(), "small.txt", &text);
    let c = Corpus::load(&p).expect("loads");
    assert_eq!(c.kind(), CorpusKind::InMemory { hashes: 3 });
    assert_eq!(c.count(&hibp::sha1(b"password")), 42);
    assert_eq!(c.count(&hibp::sha1(b"zebra")), 3);
    assert_eq!(c.count(&hibp::sha1(b"apple")), 7);
    assert_eq!(c.count(&hibp::sha1(b"padding")), 0);
    assert_eq!(
        c.range("5BAA6").expect("valid"),
        vec![(PASSWORD_SHA1[5..].to_owned(), 42)]
    );
    // Lowercase hex is accepted and answered in uppercase.
    let c = Corpus::from_reader(
        format!("{}:5\n", PASSWORD_SHA1.to_lowercase()).as_bytes(),
        "inline",
    )
    .expect("loads");
    assert_eq!(c.range("5baa6").expect("valid")[0].0, &PASSWORD_SHA1[5..]);
}

#[test]
fn single_file_malformed_lines_name_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = format!("{PASSWORD_SHA1}:1\n");
    let cases = [
        ("no colon", format!("{good}\n{}\n", &PASSWORD_SHA1)),
        ("short hash", format!("{good}\n{}:1\n", &PASSWORD_SHA1[1..])),
        ("non-hex", format!("{good}\n{}G:1\n", &PASSWORD_SHA1[1..])),
        ("ntlm", format!("{good}\n{}:1\n", &PASSWORD_SHA1[..32])),
        (
            "count text",
            format!("{good}\n{}:many\n", hibp::sha1_hex(b"x")),
        ),
        (
            "count empty",
            format!("{good}\n{}:\n", hibp::sha1_hex(b"x")),
        ),
        (
            "count negative",
            format!("{good}\n{}:-1\n", hibp::sha1_hex(b"x")),
        ),
        (
            "count huge",
            format!("{good}\n{}:4294967296\n", hibp::sha1_hex(b"x")),
        ),
        (
            "two colons",
            format!("{good}\n{}:1:2\n", hibp::sha1_hex(b"x")),
        ),
    ];
    for (what, text) in cases {
        let p = write(dir.path(), "bad.txt", &text);
        let e = Corpus::load(&p).expect_err(what);
        let (path, line, msg) = malformed_line(e);
        assert_eq!(path, p, "{what}");
        assert_eq!(line, 3, "{what}: blank line 2 still counts");
        assert!(msg.contains("bad.txt:3:"), "{what}: {msg}");
    }
}

#[test]
fn single_file_duplicates_are_rejected() {
    let text = format!(
        "{PASSWORD_SHA1}:1\n{}:1\n{PASSWORD_SHA1}:2\n",
        hibp::sha1_hex(b"a")
    );
    match Corpus::from_reader(text.as_bytes(), "dups") {
        Err(CorpusError::Duplicate { sha1, .. }) => assert_eq!(sha1, PASSWORD_SHA1),
        other => panic!("expected Duplicate, got {other:?}"),
    }
}

#[test]
fn missing_path_is_an_io_error() {
    assert!(matches!(
        Corpus::load("/nonexistent/sekimori/hibp"),
        Err(CorpusError::Io { .. })
    ));
}

/// Writes range files for the prefixes of `secrets`, HIBP-downloader style.
fn range_dir(dir: &Path, secrets: &[(&str, u64)], name: impl Fn(&str) -> String) {
    let mut files: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for (s, n) in secrets {
        let h = hibp::sha1_hex(s.as_bytes());
        files
            .entry(h[..5].to_owned())
            .or_default()
            .push(format!("{}:{n}", &h[5..]));
    }
    for (prefix, mut lines) in files {
        lines.sort();
        write(dir, &name(&prefix), &(lines.join("\r\n") + "\r\n"));
    }
}

#[test]
fn directory_layout_ranges_and_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    range_dir(
        dir.path(),
        &[("password", 9_220_558), ("hunter2", 5), ("letmein", 17)],
        |p| format!("{p}.txt"),
    );
    write(dir.path(), "README", "not a range file");
    write(dir.path(), "SOURCE.txt", "not a range file either");
    let c = Corpus::load(dir.path()).expect("indexes");
    assert_eq!(c.kind(), CorpusKind::Directory { range_files: 3 });
    assert_eq!(c.count(&hibp::sha1(b"password")), 9_220_558);
    assert_eq!(c.try_count(&hibp::sha1(b"hunter2")).expect("readable"), 5);
    assert_eq!(c.count(&hibp::sha1(b"letmein")), 17);
    assert_eq!(c.count(&hibp::sha1(b"not there")), 0);
    let r = c.range("5baa6").expect("valid");
    assert_eq!(r, vec![(PASSWORD_SHA1[5..].to_owned(), 9_220_558)]);
    // No file for this prefix: an empty range.
    assert_eq!(c.range("00000").expect("valid"), vec![]);
    c.verify().expect("all files well formed");
}

#[test]
fn directory_layout_accepts_bare_and_lowercase_names() {
    let dir = tempfile::tempdir().expect("tempdir");
    range_dir(dir.path(), &[("password", 3)], |p| p.to_owned());
    range_dir(dir.path(), &[("hunter2", 4)], |p| {
        format!("{}.TXT", p.to_lowercase())
    });
    let c = Corpus::load(dir.path()).expect("indexes");
    assert_eq!(c.count(&hibp::sha1(b"password")), 3);
    assert_eq!(c.count(&hibp::sha1(b"hunter2")), 4);
}

#[test]
fn directory_layout_matches_the_in_memory_layout() {
    let mem = shipped();
    let text = fs::read_to_string(shipped_path()).expect("read shipped corpus");
    let dir = tempfile::tempdir().expect("tempdir");
    let prefixes = ["5BAA6", "7110E", &text[..5]];
    for p in prefixes {
        let lines: Vec<String> = text
            .lines()
            .filter(|l| l.starts_with(p))
            .map(|l| l[5..].to_owned())
            .collect();
        assert!(!lines.is_empty(), "{p}");
        write(dir.path(), &format!("{p}.txt"), &lines.join("\n"));
    }
    let on_disk = Corpus::load(dir.path()).expect("indexes");
    for p in prefixes {
        assert_eq!(
            on_disk.range(p).expect("ok"),
            mem.range(p).expect("ok"),
            "{p}"
        );
    }
}

#[test]
fn directory_layout_malformed_lines_name_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = write(
        dir.path(),
        "5BAA6.txt",
        &format!("{}:3\r\nnot a suffix:1\r\n", &PASSWORD_SHA1[5..]),
    );
    let c = Corpus::load(dir.path()).expect("indexing reads names only");
    let e = match c.range("5BAA6") {
        Err(RangeError::Corpus(e)) => e,
        other => panic!("expected a corpus error, got {other:?}"),
    };
    let (path, line, msg) = malformed_line(e);
    assert_eq!(path, p);
    assert_eq!(line, 2);
    assert!(msg.contains("5BAA6.txt:2:"), "{msg}");
    assert!(c.try_count(&hibp::sha1(b"password")).is_err());
    assert_eq!(c.count(&hibp::sha1(b"password")), 0);
    let (_, line, _) = malformed_line(c.verify().expect_err("verify reads every file"));
    assert_eq!(line, 2);

    // A full 40-digit hash where a 35-digit suffix belongs.
    write(dir.path(), "5BAA6.txt", &format!("{PASSWORD_SHA1}:3\n"));
    let c = Corpus::load(dir.path()).expect("indexes");
    assert!(matches!(
        c.range("5BAA6"),
        Err(RangeError::Corpus(CorpusError::Malformed { line: 1, .. }))
    ));
}

#[test]
fn directory_layout_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "notes.txt", "hello");
    assert!(matches!(
        Corpus::load(dir.path()),
        Err(CorpusError::NoRangeFiles { .. })
    ));
    write(dir.path(), "ABCDE", "");
    write(dir.path(), "abcde.txt", "");
    match Corpus::load(dir.path()) {
        Err(CorpusError::DuplicateRangeFile { prefix, .. }) => assert_eq!(prefix, "ABCDE"),
        other => panic!("expected DuplicateRangeFile, got {other:?}"),
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let s = &PASSWORD_SHA1[5..];
    write(dir.path(), "5BAA6", &format!("{s}:1\n{s}:2\n"));
    let c = Corpus::load(dir.path()).expect("indexes");
    assert!(matches!(
        c.range("5BAA6"),
        Err(RangeError::Corpus(CorpusError::Duplicate { .. }))
    ));
}

#[test]
fn debug_does_not_dump_the_corpus() {
    let dbg = format!("{:?}", shipped());
    assert!(dbg.contains("39940"), "{dbg}");
    assert!(dbg.len() < 200);
}
