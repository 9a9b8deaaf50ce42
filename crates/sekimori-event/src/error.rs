//! Decode errors: a stable code, the path of the offending field, a sentence.

use serde::Serialize;

/// Every code a [`DecodeError`] can carry (docs/events.md, docs/errors.md).
pub const DECODE_CODES: &[&str] = &[
    "invalid_json",
    "invalid_type",
    "invalid_value",
    "missing_field",
    "unknown_field",
    "unknown_event_type",
    "secret_in_clear",
    "too_large",
    "duplicate_field",
];

/// Why an event was rejected. `code` is stable (see docs/errors.md); `path` names
/// the offending field (`actor.ip`, `destination.bank_code`, `verified[1]`, or
/// `""` for the whole document). Messages never echo a rejected value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{code} at `{path}`: {message}")]
pub struct DecodeError {
    pub code: &'static str,
    pub path: String,
    pub message: String,
}

impl DecodeError {
    pub fn new(code: &'static str, path: impl Into<String>, message: impl Into<String>) -> Self {
        DecodeError {
            code,
            path: path.into(),
            message: message.into(),
        }
    }

    /// Prefixes the path with a parent (used for nested decoding).
    pub fn under(mut self, parent: &str) -> Self {
        self.path = join_path(parent, &self.path);
        self
    }
}

/// A `serde_path_to_error` path in the form of [`DecodeError::path`], each
/// field name shown as [`field_name`](crate::field_name) shows it.
pub fn render_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    path.iter().fold(String::new(), |out, seg| match seg {
        Segment::Seq { index } => format!("{out}[{index}]"),
        Segment::Map { key } => join_path(&out, &crate::field_name(key)),
        Segment::Enum { variant } => join_path(&out, &crate::field_name(variant)),
        Segment::Unknown => join_path(&out, "?"),
    })
}

/// Joins a parent path and a child path (`a` + `b` = `a.b`, `a` + `[1]` = `a[1]`).
pub(crate) fn join_path(parent: &str, child: &str) -> String {
    match (parent.is_empty(), child.is_empty()) {
        (true, _) => child.to_string(),
        (_, true) => parent.to_string(),
        _ if child.starts_with('[') => format!("{parent}{child}"),
        _ => format!("{parent}.{child}"),
    }
}
