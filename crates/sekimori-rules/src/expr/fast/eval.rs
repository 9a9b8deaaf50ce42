//! Evaluating a [`Fast`] tree: values borrowed from the inputs, and
//! [`Fallback`] for anything the interpreter should answer.

use super::*;
use std::cmp::Ordering;

impl Lit {
    pub(super) fn value(&self) -> V<'_> {
        match self {
            Lit::Null => V::Null,
            Lit::Bool(b) => V::Bool(*b),
            Lit::Int(i) => V::Int(*i),
            Lit::UInt(u) => V::UInt(*u),
            Lit::Double(d) => V::Double(*d),
            Lit::Str(s) => V::Str(Cow::Borrowed(s)),
        }
    }
}

/// A JSON value as the interpreter sees it (`from_json` in `expr`).
fn from_json(j: &Json) -> V<'_> {
    match j {
        Json::Null => V::Null,
        Json::Bool(b) => V::Bool(*b),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => V::Int(i),
            (None, Some(u)) => V::UInt(u),
            _ => V::Double(n.as_f64().unwrap_or(0.0)),
        },
        Json::String(s) => V::Str(Cow::Borrowed(s)),
        Json::Array(_) | Json::Object(_) => V::Json(j),
    }
}

pub(super) fn walk<'a>(root: &'a Json, path: &[String]) -> Result<&'a Json, Fallback> {
    path.iter().try_fold(root, |v, k| match v {
        Json::Object(m) => m.get(k.as_str()).ok_or(Fallback),
        _ => Err(Fallback),
    })
}

/// A value read through an accessor, as [`from_json`] would give it from
/// the view; objects and arrays of the typed event are the interpreter's.
fn from_got(g: Got<'_>) -> Res<'_> {
    match g {
        Got::Missing | Got::Object => Err(Fallback),
        Got::Array(items) => Ok(V::Array(items)),
        Got::Null => Ok(V::Null),
        Got::Bool(b) => Ok(V::Bool(b)),
        Got::Int(i) => Ok(V::Int(i)),
        Got::Str(s) => Ok(V::Str(Cow::Borrowed(s))),
        Got::Json(j) => Ok(from_json(j)),
    }
}

/// `event.a.b`: read from the view or through its accessor.
pub(super) fn read_event<'a>(path: &[String], acc: &Acc, inp: &Inputs<'a>) -> Res<'a> {
    match inp.event {
        Ev::Json(j) => walk(j, path).map(from_json),
        Ev::Typed(r) => from_got(acc.get(r)),
    }
}

/// `features.name` (`.field`): read from the object of values by name, or
/// from the feature's slot.
pub(super) fn read_feature<'a>(path: &[String], slot: Option<usize>, inp: &Inputs<'a>) -> Res<'a> {
    match inp.features {
        Feats::Json(j) => walk(j, path).map(from_json),
        Feats::Slots(slots) => {
            let value = slot
                .and_then(|i| slots.get(i))
                .and_then(Option::as_ref)
                .ok_or(Fallback)?;
            walk(value, &path[1..]).map(from_json)
        }
    }
}

impl Fast {
    /// Resolves every `features.name` to its slot (`index` gives a feature's
    /// slot by name; an unknown name stays unbound and falls back).
    pub(crate) fn bind(&mut self, index: &dyn Fn(&str) -> Option<usize>) {
        match self {
            Fast::Feature(path, slot) => *slot = path.first().and_then(|n| index(n)),
            Fast::Bool(b) => b.bind(index),
            Fast::Not(x) | Fast::Neg(x) | Fast::Size(x) | Fast::ToStr(x) => x.bind(index),
            Fast::Items(items) => items.iter_mut().for_each(|x| x.bind(index)),
            Fast::And(a, b)
            | Fast::Or(a, b)
            | Fast::Cmp(_, a, b)
            | Fast::Arith(_, a, b)
            | Fast::In(a, b)
            | Fast::Index(a, b)
            | Fast::Name(_, a, b) => {
                a.bind(index);
                b.bind(index);
            }
            Fast::Cond(c, a, b) => {
                c.bind(index);
                a.bind(index);
                b.bind(index);
            }
            Fast::Lit(_)
            | Fast::Event(..)
            | Fast::HasEvent(..)
            | Fast::List(_)
            | Fast::Map(_)
            | Fast::ListLit(_) => {}
        }
    }

    pub(crate) fn eval<'a>(&'a self, inp: &Inputs<'a>) -> Res<'a> {
        match self {
            Fast::Lit(l) => Ok(l.value()),
            Fast::Event(path, acc) => read_event(path, acc, inp),
            Fast::HasEvent(parent, field, pacc, full) => {
                super::boolean::has(parent, field, pacc, full, inp).map(V::Bool)
            }
            Fast::Feature(path, slot) => read_feature(path, *slot, inp),
            Fast::Bool(b) => b.eval(inp).map(V::Bool),
            Fast::List(name) => inp.lists.get(name).map(V::Set).ok_or(Fallback),
            Fast::Map(m) => Ok(V::Map(m)),
            Fast::ListLit(l) => Ok(V::ListLit(l)),
            Fast::Items(items) => items
                .iter()
                .map(|x| x.eval(inp))
                .collect::<Result<_, _>>()
                .map(V::Items),
            Fast::ToStr(x) => match x.eval(inp)? {
                V::Int(i) => Ok(V::Str(Cow::Owned(i.to_string()))),
                V::UInt(u) => Ok(V::Str(Cow::Owned(u.to_string()))),
                s @ V::Str(_) => Ok(s),
                _ => Err(Fallback),
            },
            Fast::Not(x) => match x.eval(inp)? {
                V::Bool(b) => Ok(V::Bool(!b)),
                _ => Err(Fallback),
            },
            Fast::Neg(x) => match x.eval(inp)? {
                V::Int(i) => i.checked_neg().map(V::Int).ok_or(Fallback),
                _ => Err(Fallback),
            },
            Fast::And(a, b) => match a.eval(inp)? {
                V::Bool(false) => Ok(V::Bool(false)),
                V::Bool(true) => match b.eval(inp)? {
                    V::Bool(r) => Ok(V::Bool(r)),
                    _ => Err(Fallback),
                },
                _ => Err(Fallback),
            },
            Fast::Or(a, b) => match a.eval(inp)? {
                V::Bool(true) => Ok(V::Bool(true)),
                V::Bool(false) => match b.eval(inp)? {
                    V::Bool(r) => Ok(V::Bool(r)),
                    _ => Err(Fallback),
                },
                _ => Err(Fallback),
            },
            Fast::Cond(c, a, b) => match c.eval(inp)? {
                V::Bool(true) => a.eval(inp),
                V::Bool(false) => b.eval(inp),
                _ => Err(Fallback),
            },
            Fast::Cmp(op, a, b) => compare(*op, &a.eval(inp)?, &b.eval(inp)?).map(V::Bool),
            Fast::Arith(op, a, b) => arith(*op, a.eval(inp)?, b.eval(inp)?),
            Fast::In(a, b) => {
                let x = a.eval(inp)?;
                match (&x, b.eval(inp)?) {
                    (V::Str(s), V::Set(set)) => Ok(V::Bool(set.contains(s.as_ref()))),
                    (V::Str(s), V::Map(m)) => Ok(V::Bool(m.contains(s.as_ref()))),
                    (V::Str(s), V::Json(Json::Object(m))) => {
                        Ok(V::Bool(m.contains_key(s.as_ref())))
                    }
                    (_, V::ListLit(items)) => {
                        any_equal(&x, items.iter().map(Lit::value)).map(V::Bool)
                    }
                    (_, V::Items(items)) => any_equal(&x, items.into_iter()).map(V::Bool),
                    (V::Str(s), V::Array(items)) => {
                        Ok(V::Bool(items.iter().any(|v| v.as_str() == s.as_ref())))
                    }
                    _ => Err(Fallback),
                }
            }
            Fast::Index(a, b) => match (a.eval(inp)?, b.eval(inp)?) {
                (V::Map(m), V::Str(k)) => m.get(k.as_ref()).map(Lit::value).ok_or(Fallback),
                (V::Json(Json::Object(m)), V::Str(k)) => {
                    m.get(k.as_ref()).map(from_json).ok_or(Fallback)
                }
                (V::Json(Json::Array(items)), V::Int(i)) => usize::try_from(i)
                    .ok()
                    .and_then(|i| items.get(i))
                    .map(from_json)
                    .ok_or(Fallback),
                (V::ListLit(items), V::Int(i)) => usize::try_from(i)
                    .ok()
                    .and_then(|i| items.get(i))
                    .map(Lit::value)
                    .ok_or(Fallback),
                (V::Array(items), V::Int(i)) => usize::try_from(i)
                    .ok()
                    .and_then(|i| items.get(i))
                    .map(|v| V::Str(Cow::Borrowed(v.as_str())))
                    .ok_or(Fallback),
                (V::Items(mut items), V::Int(i)) => match usize::try_from(i) {
                    Ok(i) if i < items.len() => Ok(items.swap_remove(i)),
                    _ => Err(Fallback),
                },
                _ => Err(Fallback),
            },
            Fast::Size(x) => {
                let n = match x.eval(inp)? {
                    V::Json(Json::Array(a)) => a.len(),
                    V::Json(Json::Object(m)) => m.len(),
                    V::ListLit(l) => l.len(),
                    V::Map(m) => m.len(),
                    V::Array(a) => a.len(),
                    V::Items(items) => items.len(),
                    _ => return Err(Fallback),
                };
                i64::try_from(n).map(V::Int).map_err(|_| Fallback)
            }
            Fast::Name(verdict, a, b) => {
                let name = |v: V<'a>| match v {
                    V::Str(s) => Ok(Some(s)),
                    V::Null => Ok(None),
                    _ => Err(Fallback),
                };
                let (a, b) = (name(a.eval(inp)?)?, name(b.eval(inp)?)?);
                let m = match (&a, &b) {
                    (Some(a), Some(b)) => Some(crate::expr::compare_names(a, b)),
                    _ => None,
                };
                Ok(match (verdict, m) {
                    (false, m) => V::Int(m.map_or(0, |m| i64::from(m.score))),
                    (true, None) => V::Str(Cow::Borrowed("unknown")),
                    (true, Some(m)) => V::Str(Cow::Borrowed(crate::expr::verdict_name(m.verdict))),
                })
            }
        }
    }
}

/// Comparison of two values of one kind; `null` equals only `null`.
/// Anything else (mixed numbers, lists, maps) is the interpreter's.
pub(super) fn compare(op: Cmp, a: &V<'_>, b: &V<'_>) -> Result<bool, Fallback> {
    let ord = match (a, b) {
        (V::Int(x), V::Int(y)) => x.cmp(y),
        (V::UInt(x), V::UInt(y)) => x.cmp(y),
        (V::Str(x), V::Str(y)) => x.as_ref().cmp(y.as_ref()),
        (V::Bool(x), V::Bool(y)) => x.cmp(y),
        (V::Null, V::Null) if matches!(op, Cmp::Eq | Cmp::Ne) => Ordering::Equal,
        (V::Null, V::Int(_) | V::Str(_) | V::Bool(_) | V::UInt(_))
        | (V::Int(_) | V::Str(_) | V::Bool(_) | V::UInt(_), V::Null)
            if matches!(op, Cmp::Eq | Cmp::Ne) =>
        {
            return Ok(matches!(op, Cmp::Ne));
        }
        _ => return Err(Fallback),
    };
    Ok(super::boolean::holds(op, ord))
}

/// Whether `x` equals one of `items` (as `==` would say, or [`Fallback`]).
fn any_equal<'a>(x: &V<'_>, items: impl Iterator<Item = V<'a>>) -> Result<bool, Fallback> {
    for item in items {
        if compare(Cmp::Eq, x, &item)? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Integer arithmetic and string concatenation; overflow, division by zero
/// and anything else are the interpreter's.
pub(super) fn arith<'a>(op: Arith, a: V<'a>, b: V<'a>) -> Res<'a> {
    match (op, a, b) {
        (Arith::Add, V::Str(x), V::Str(y)) => Ok(V::Str(Cow::Owned(x.into_owned() + &y))),
        (op, V::Int(x), V::Int(y)) => match op {
            Arith::Add => x.checked_add(y),
            Arith::Sub => x.checked_sub(y),
            Arith::Mul => x.checked_mul(y),
            Arith::Div => x.checked_div(y),
            Arith::Rem => x.checked_rem(y),
        }
        .map(V::Int)
        .ok_or(Fallback),
        _ => Err(Fallback),
    }
}

/// The JSON of a result, as `to_json` in `expr` gives it; `None` for a
/// value the interpreter's conversion should produce.
pub(crate) fn to_json(v: V<'_>) -> Option<Json> {
    Some(match v {
        V::Null => Json::Null,
        V::Bool(b) => Json::Bool(b),
        V::Int(i) => Json::from(i),
        V::UInt(u) => Json::from(u),
        V::Double(d) => serde_json::Number::from_f64(d).map_or(Json::Null, Json::Number),
        V::Str(s) => Json::String(s.into_owned()),
        V::Array(items) => crate::expr::access::array_json(items),
        V::Items(items) => Json::Array(items.into_iter().map(to_json).collect::<Option<_>>()?),
        _ => return None,
    })
}
