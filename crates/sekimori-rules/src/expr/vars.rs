//! The inputs of an evaluation ([`Vars`]) and the values keys are made of
//! ([`Part`]).

use super::access::{EventRef, Got};
use super::fast::{Cache, Ev, Feats, Inputs};
use super::{from_json, ListValues};
use cel::Value;
use serde_json::Value as Json;
use std::sync::OnceLock;

/// The inputs of one evaluation. The CEL values (and, for a typed event,
/// its JSON view and the features' JSON object) are built on first use, only
/// when an expression falls back to the interpreter, and shared by every
/// expression evaluated for the same event.
pub struct Vars<'a> {
    pub(super) event: Ev<'a>,
    pub(super) features: Feats<'a>,
    /// The pack's features, to name the slots for the interpreter.
    names: &'a [crate::pack::Feature],
    pub(super) lists: &'a ListValues,
    features_json: OnceLock<Json>,
    built: OnceLock<(Value, Value, Value)>,
    /// The answers of the pack's shared subexpressions for these inputs.
    cache: Cache,
}

impl<'a> Vars<'a> {
    /// Over the event's JSON view and the feature values by name.
    pub fn new(event_json: &'a Json, features: &'a Json, lists: &'a ListValues) -> Self {
        Vars {
            event: Ev::Json(event_json),
            features: Feats::Json(features),
            names: &[],
            lists,
            features_json: OnceLock::new(),
            built: OnceLock::new(),
            cache: Cache::default(),
        }
    }

    /// Over the typed event and the decision's feature slots (`slots[i]`:
    /// the value of `features[i]`, `None` when not read); no JSON is built
    /// unless an expression falls back to the interpreter.
    pub fn typed(
        event: &'a EventRef<'a>,
        slots: &'a [Option<Json>],
        features: &'a [crate::pack::Feature],
        lists: &'a ListValues,
    ) -> Self {
        Vars {
            event: Ev::Typed(event),
            features: Feats::Slots(slots),
            names: features,
            lists,
            features_json: OnceLock::new(),
            built: OnceLock::new(),
            cache: Cache::default(),
        }
    }

    /// What the fast evaluator reads, with the cache of shared answers.
    pub(super) fn inputs(&self) -> Inputs<'_> {
        Inputs {
            cache: Some(&self.cache),
            ..self.inputs_uncached()
        }
    }

    /// What the fast evaluator reads, without the cache (a value borrowed
    /// from the inputs outlives these `Vars`).
    pub(super) fn inputs_uncached(&self) -> Inputs<'a> {
        Inputs {
            event: self.event,
            features: self.features,
            lists: &self.lists.1,
            cache: None,
        }
    }

    /// The event's JSON view (built now if it was not).
    pub fn event_json(&self) -> &Json {
        match self.event {
            Ev::Json(j) => j,
            Ev::Typed(r) => r.view(),
        }
    }

    fn features_json(&self) -> &Json {
        match self.features {
            Feats::Json(j) => j,
            Feats::Slots(slots) => self.features_json.get_or_init(|| {
                let mut map = serde_json::Map::new();
                for (f, v) in self.names.iter().zip(slots) {
                    if let Some(v) = v {
                        map.insert(f.name.clone(), v.clone());
                    }
                }
                Json::Object(map)
            }),
        }
    }

    pub(super) fn cel(&self) -> &(Value, Value, Value) {
        self.built.get_or_init(|| {
            (
                from_json(self.event_json()),
                from_json(self.features_json()),
                self.lists.0.clone(),
            )
        })
    }
}

impl std::fmt::Debug for Vars<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vars")
            .field("event", self.event_json())
            .finish_non_exhaustive()
    }
}

/// A plain path's value: borrowed JSON, a typed reading, or missing.
pub(super) enum PathValue<'a> {
    Missing,
    Json(&'a Json),
    Got(Got<'a>),
}

/// A scalar or array reading as JSON (objects are read from the view).
pub(super) fn got_json(g: Got<'_>) -> Json {
    match g {
        Got::Missing | Got::Null | Got::Object => Json::Null,
        Got::Array(items) => super::access::array_json(items),
        Got::Bool(b) => Json::Bool(b),
        Got::Int(i) => Json::from(i),
        Got::Str(s) => Json::String(s.to_string()),
        Got::Json(j) => j.clone(),
    }
}

/// A value as a feature key part, a distinct value or an `of` reads it: the
/// JSON value [`Expr::eval`] gives, without building it for a string or an
/// integer. Its text ([`Part::write_text`]) is the string itself for a
/// string and the JSON text for anything else.
#[derive(Debug, Clone, PartialEq)]
pub enum Part<'a> {
    Null,
    Bool(bool),
    Int(i64),
    Str(std::borrow::Cow<'a, str>),
    /// Anything else (an unsigned or fractional number, a list, a map).
    Other(Json),
}

impl<'a> Part<'a> {
    /// The part a JSON value is (an integer that fits `i64` as `Int`).
    pub fn of_json(j: &'a Json) -> Part<'a> {
        match j {
            Json::Null => Part::Null,
            Json::Bool(b) => Part::Bool(*b),
            Json::String(s) => Part::Str(std::borrow::Cow::Borrowed(s)),
            Json::Number(n) if n.is_i64() => Part::Int(n.as_i64().unwrap_or_default()),
            other => Part::Other(other.clone()),
        }
    }

    pub(super) fn into_owned(self) -> Part<'static> {
        match self {
            Part::Null => Part::Null,
            Part::Bool(b) => Part::Bool(b),
            Part::Int(i) => Part::Int(i),
            Part::Str(s) => Part::Str(std::borrow::Cow::Owned(s.into_owned())),
            Part::Other(j) => Part::Other(j),
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Part::Null)
    }

    /// The value as JSON (what [`Expr::eval`] returns).
    pub fn to_json(&self) -> Json {
        match self {
            Part::Null => Json::Null,
            Part::Bool(b) => Json::Bool(*b),
            Part::Int(i) => Json::from(*i),
            Part::Str(s) => Json::String(s.to_string()),
            Part::Other(j) => j.clone(),
        }
    }

    /// An integer (`of` of a sum, min, max or profile): `Ok(None)` for
    /// null, an error for anything but an integer.
    pub fn as_i64(&self) -> Result<Option<i64>, String> {
        match self {
            Part::Null => Ok(None),
            Part::Int(i) => Ok(Some(*i)),
            Part::Other(j) => j
                .as_i64()
                .map(Some)
                .ok_or_else(|| "`of` must be an integer".to_string()),
            _ => Err("`of` must be an integer".into()),
        }
    }

    /// Passes the text to `out`: a string raw, anything else as its JSON
    /// text (an integer in decimal, `true`, `false`, `null`).
    pub fn write_text(&self, out: &mut dyn FnMut(&[u8])) {
        match self {
            Part::Str(s) => out(s.as_bytes()),
            Part::Int(i) => {
                let mut buf = [0u8; 20];
                let mut at = buf.len();
                let mut n = i.unsigned_abs();
                loop {
                    at -= 1;
                    buf[at] = b'0' + (n % 10) as u8;
                    n /= 10;
                    if n == 0 {
                        break;
                    }
                }
                if *i < 0 {
                    out(b"-");
                }
                out(&buf[at..]);
            }
            Part::Bool(true) => out(b"true"),
            Part::Bool(false) => out(b"false"),
            Part::Null => out(b"null"),
            Part::Other(j) => out(j.to_string().as_bytes()),
        }
    }
}
