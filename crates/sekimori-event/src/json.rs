//! JSON parsing that refuses a key repeated in one object.
//!
//! `serde_json` keeps the last of two equal keys (`{"amount_minor":1,
//! "amount_minor":99999999}` is 99999999), so a check made on a parsed value
//! and a reader that keeps the first would see different events. The
//! visitors here build the same [`Value`] `serde_json` would, in one pass
//! over the bytes (`serde_json`'s nesting limit of 128 still holds), and stop
//! at the first repeated key with its path.

use crate::error::{join_path, DecodeError};
use crate::names::field_name;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::map::Entry;
use serde_json::{Map, Number, Value};
use std::fmt;

/// Parses JSON bytes into a [`Value`], refusing a repeated key with
/// `duplicate_field` and its path; bad JSON is `invalid_json`.
pub fn parse_unique(bytes: &[u8]) -> Result<Value, DecodeError> {
    run(bytes, true)
}

/// Checks that no object in the JSON bytes repeats a key (the errors of
/// [`parse_unique`]) without building the document: for bodies parsed
/// straight into a type. It holds only the keys of the open objects.
pub fn check_unique(bytes: &[u8]) -> Result<(), DecodeError> {
    run(bytes, false).map(drop)
}

/// The error for a repeated key at `path`.
pub fn duplicate_field(path: impl Into<String>) -> DecodeError {
    DecodeError::new(
        "duplicate_field",
        path,
        "this field appears more than once in its object; send it once",
    )
}

fn run(bytes: &[u8], build: bool) -> Result<Value, DecodeError> {
    let mut dup: Option<Vec<Seg>> = None;
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = Seed {
        dup: &mut dup,
        build,
    }
    .deserialize(&mut de)
    .and_then(|v| de.end().map(|()| v));
    match (parsed, dup) {
        (Ok(v), _) => Ok(v),
        (Err(_), Some(rev)) => Err(duplicate_field(render(rev))),
        (Err(e), None) => Err(DecodeError::new(
            "invalid_json",
            "",
            format!("not valid JSON at line {} column {}", e.line(), e.column()),
        )),
    }
}

/// Reads one JSON value as [`parse_unique`] builds it; a repeated key is an
/// error (with no path: for a caller that answers errors another way).
pub(crate) struct UniqueValue;

impl<'de> DeserializeSeed<'de> for UniqueValue {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        let mut dup = None;
        Seed {
            dup: &mut dup,
            build: true,
        }
        .deserialize(d)
    }
}

/// One step of the path to a repeated key, collected innermost first while
/// the error unwinds (nothing is recorded on the way down).
enum Seg {
    Key(String),
    Index(usize),
}

fn render(rev: Vec<Seg>) -> String {
    rev.into_iter()
        .rev()
        .fold(String::new(), |path, seg| match seg {
            Seg::Key(k) => join_path(&path, &field_name(&k)),
            Seg::Index(i) => format!("{path}[{i}]"),
        })
}

struct Seed<'a> {
    /// Set (to the repeated key) when one is found; parents push their step.
    dup: &'a mut Option<Vec<Seg>>,
    /// Build the value, or only check (every value is then `null`).
    build: bool,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(if self.build {
            Value::Bool(v)
        } else {
            Value::Null
        })
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(if self.build {
            Value::Number(v.into())
        } else {
            Value::Null
        })
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(if self.build {
            Value::Number(v.into())
        } else {
            Value::Null
        })
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(match Number::from_f64(v) {
            Some(n) if self.build => Value::Number(n),
            _ => Value::Null,
        })
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(if self.build {
            Value::String(v.to_owned())
        } else {
            Value::Null
        })
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(if self.build {
            Value::String(v)
        } else {
            Value::Null
        })
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        let mut index = 0;
        loop {
            let seed = Seed {
                dup: &mut *self.dup,
                build: self.build,
            };
            match seq.next_element_seed(seed) {
                Ok(Some(v)) => {
                    if self.build {
                        items.push(v);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    if let Some(path) = self.dup.as_mut() {
                        path.push(Seg::Index(index));
                    }
                    return Err(e);
                }
            }
            index += 1;
        }
        Ok(if self.build {
            Value::Array(items)
        } else {
            Value::Null
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            let seed = Seed {
                dup: &mut *self.dup,
                build: self.build,
            };
            let value = match access.next_value_seed(seed) {
                Ok(v) => v,
                Err(e) => {
                    if let Some(path) = self.dup.as_mut() {
                        path.push(Seg::Key(key));
                    }
                    return Err(e);
                }
            };
            match map.entry(key) {
                Entry::Vacant(slot) => {
                    slot.insert(value);
                }
                Entry::Occupied(slot) => {
                    *self.dup = Some(vec![Seg::Key(slot.key().clone())]);
                    return Err(de::Error::custom("duplicate field"));
                }
            }
        }
        Ok(if self.build {
            Value::Object(map)
        } else {
            Value::Null
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_value_as_serde_json() {
        let text = br#"{"a":[1,-2,3.5,-0.0,"x",null,true,{"b":{}}],"c":{"d":"e"},"f":18446744073709551615}"#;
        let want: Value = serde_json::from_slice(text).expect("json");
        assert_eq!(parse_unique(text).expect("unique"), want);
        check_unique(text).expect("unique");
    }

    #[test]
    fn repeated_keys() {
        for (text, path) in [
            (&br#"{"a":1,"a":2}"#[..], "a"),
            (br#"{"a":{"b":[0,{"c":1,"c":1}]}}"#, "a.b[1].c"),
            (br#"[{"x":1},{"y":[{"z":1,"z":1}]}]"#, "[1].y[0].z"),
        ] {
            for err in [
                parse_unique(text).expect_err("dup"),
                check_unique(text).expect_err("dup"),
            ] {
                assert_eq!((err.code, err.path.as_str()), ("duplicate_field", path));
            }
        }
        // Equal keys in different objects are fine.
        check_unique(br#"{"a":{"a":1},"b":{"a":1}}"#).expect("distinct objects");
    }
}
