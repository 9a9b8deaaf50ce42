//! Values crossing into and out of the interpreter: the pack's lists as CEL
//! values and pre-hashed sets, and JSON to CEL values and back.

use super::*;

/// Named sets, as a CEL map of item -> true so `x in lists.name` is a hash
/// lookup, and as pre-hashed sets for the fast evaluator.
#[derive(Clone, Debug)]
pub struct ListValues(pub(super) Value, pub(super) Arc<sets::Lists>);

impl ListValues {
    pub fn new<'a>(lists: impl IntoIterator<Item = (&'a str, &'a BTreeSet<String>)>) -> Self {
        let mut outer: HashMap<Key, Value> = HashMap::new();
        let mut sets = Vec::new();
        for (name, items) in lists {
            sets.push((name.to_string(), items.iter().map(String::as_str).collect()));
            let set: HashMap<Key, Value> = items
                .iter()
                .map(|i| (Key::String(Arc::new(i.clone())), Value::Bool(true)))
                .collect();
            outer.insert(
                Key::String(Arc::new(name.to_string())),
                Value::Map(set.into()),
            );
        }
        ListValues(Value::Map(outer.into()), Arc::new(sets::Lists::new(sets)))
    }
}

/// Reads a path of object keys out of a JSON value.
pub fn lookup<'j>(root: &'j Json, path: &[String]) -> Option<&'j Json> {
    path.iter().try_fold(root, |v, key| v.get(key.as_str()))
}

pub(super) fn from_json(v: &Json) -> Value {
    match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::Int(i),
            (None, Some(u)) => Value::UInt(u),
            _ => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        Json::String(s) => Value::String(Arc::new(s.clone())),
        Json::Array(a) => Value::List(Arc::new(a.iter().map(from_json).collect())),
        Json::Object(m) => {
            let map: HashMap<Key, Value> = m
                .iter()
                .map(|(k, v)| (Key::String(Arc::new(k.clone())), from_json(v)))
                .collect();
            Value::Map(map.into())
        }
    }
}

pub(super) fn to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::UInt(u) => Json::from(*u),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::String(s) => Json::String(s.to_string()),
        Value::List(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(m) => {
            let mut out = serde_json::Map::new();
            for (k, v) in m.map.iter() {
                let key = match k {
                    Key::String(s) => s.to_string(),
                    Key::Int(i) => i.to_string(),
                    Key::Uint(u) => u.to_string(),
                    Key::Bool(b) => b.to_string(),
                };
                out.insert(key, to_json(v));
            }
            Json::Object(out)
        }
        other => Json::String(format!("{other:?}")),
    }
}
