//! The published JSON Schema: the committed `schema/event.v1.json` must be what
//! the code generates, and every shipped example must fit its type's variant.
//!
//! Regenerate the file after changing an event type:
//! `SEKIMORI_UPDATE_SCHEMA=1 cargo test -p sekimori-event --test schema`.

use sekimori_event::{json_schema, EventKind};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

const REGENERATE: &str = "SEKIMORI_UPDATE_SCHEMA=1 cargo test -p sekimori-event --test schema";

fn repo_file(relative: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(relative)
}

/// The JSON pointer of the first place where two values differ, if any.
fn first_difference(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| match (x.get(k), y.get(k)) {
                (Some(v), Some(w)) => first_difference(v, w, &format!("{at}/{k}")),
                _ => Some(format!("{at}/{k}")),
            })
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (v, w))| first_difference(v, w, &format!("{at}/{i}"))),
        _ if a == b => None,
        _ => Some(if at.is_empty() { "/".into() } else { at.into() }),
    }
}

#[test]
fn committed_schema_is_the_generated_one() {
    let path = repo_file("schema/event.v1.json");
    let generated = json_schema();
    if std::env::var("SEKIMORI_UPDATE_SCHEMA").as_deref() == Ok("1") {
        let mut text = serde_json::to_string_pretty(&generated).expect("schema serializes");
        text.push('\n');
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("create schema/");
        }
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}\ncreate it with: {REGENERATE}",
            path.display()
        )
    });
    let committed: Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "{} is not valid JSON: {e}\nregenerate it with: {REGENERATE}",
            path.display()
        )
    });
    if let Some(pointer) = first_difference(&committed, &generated, "") {
        panic!(
            "{} is out of date with the event types (first difference at `{pointer}`).\n\
             Regenerate it with: {REGENERATE}\nthen review and commit the change.",
            path.display()
        );
    }
}

/// Every line of every `examples/events/*.jsonl`, with its file and line number.
fn examples() -> Vec<(String, Value)> {
    let dir = repo_file("examples/events");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("examples/events")
        .map(|entry| entry.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read example");
        for (n, line) in text.lines().enumerate() {
            let at = format!("{}:{}", file.display(), n + 1);
            let value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{at}: {e}"));
            out.push((at, value));
        }
    }
    out
}

fn names(v: &Value) -> BTreeSet<&str> {
    match v {
        Value::Object(m) => m.keys().map(String::as_str).collect(),
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => BTreeSet::new(),
    }
}

#[test]
fn every_example_fits_its_schema_variant() {
    let schema = json_schema();
    let variants = schema["oneOf"].as_array().expect("oneOf is an array");
    assert_eq!(variants.len(), EventKind::ALL.len(), "one variant per type");
    let mut seen = BTreeSet::new();
    for (at, example) in examples() {
        let kind = example["type"]
            .as_str()
            .expect("example has a string `type`");
        let variant = variants
            .iter()
            .find(|v| v["properties"]["type"]["const"] == kind)
            .unwrap_or_else(|| panic!("{at}: no schema variant for type {kind}"));
        assert_eq!(variant["additionalProperties"], false, "{kind} is closed");
        let allowed = names(&variant["properties"]);
        let present = names(&example);
        let unknown: Vec<_> = present.difference(&allowed).collect();
        assert!(
            unknown.is_empty(),
            "{at}: not in the {kind} schema: {unknown:?}"
        );
        let required = names(&variant["required"]);
        let missing: Vec<_> = required.difference(&present).collect();
        assert!(
            missing.is_empty(),
            "{at}: required by the {kind} schema: {missing:?}"
        );
        seen.insert(kind.to_string());
    }
    let all: BTreeSet<String> = EventKind::ALL.iter().map(|k| k.to_string()).collect();
    assert_eq!(seen, all, "examples/events must show every type");
}
