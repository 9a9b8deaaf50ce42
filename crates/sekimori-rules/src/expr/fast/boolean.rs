//! The boolean program: a condition (a rule's `when`, a filter, the test of
//! a `?:`) compiled once more from its [`Fast`] tree, so that evaluating it
//! builds no value ([`V`]) for the usual comparison and walks no nested
//! `&&` / `||` one level at a time.
//!
//! - `a && b && c` is one [`Bool::All`] (and `||` one [`Bool::Any`]), its
//!   operands ordered cheapest first ([`optimize`](super::optimize)). The
//!   interpreter (`cel` 0.15, `objects.rs`) answers `a && b` with `false`
//!   as soon as either side is `false`, even when the other is an error
//!   (`error && false` is `false`), `true` when both are `true`, and an
//!   error otherwise; `||` the same with `true`. So the operands may be
//!   evaluated in any order: the first one that is `false` (for `&&`)
//!   decides, and any operand this evaluator cannot answer leaves the whole
//!   to the interpreter unless another one decides. Errors stay the
//!   interpreter's: an answer here is only ever `true` or `false` where the
//!   interpreter's is the same, anything else is [`Fallback`].
//! - `read OP literal` ([`Bool::CmpLit`]) reads the event field or the
//!   feature slot and compares it with the literal in place.
//! - Constants are folded when the pack compiles (`false && x` is `false`).
//! - A subexpression that several expressions of the pack share is
//!   evaluated once per event ([`Bool::Shared`], see `share`).

use super::eval::{compare, read_event, read_feature};
use super::share::Share;
use super::*;

/// A compiled condition: evaluates to a boolean or [`Fallback`] (anything
/// that is not a boolean, and any error, is the interpreter's).
#[derive(Debug)]
pub(crate) enum Bool {
    Const(bool),
    /// `a && b && ...`: `false` if any is, `true` if all are.
    All(Vec<Bool>),
    /// `a || b || ...`: `true` if any is, `false` if all are.
    Any(Vec<Bool>),
    Not(Box<Bool>),
    /// `c ? a : b` of conditions.
    Cond(Box<Bool>, Box<Bool>, Box<Bool>),
    /// `read OP literal`, or `literal OP read` when `lit_left`.
    CmpLit {
        op: Cmp,
        read: Read,
        lit: Lit,
        lit_left: bool,
    },
    /// `has(event.a.b)`: the parent path, the field, and the accessors of
    /// the parent and of the whole path (as [`Fast::HasEvent`]).
    Has(Vec<String>, String, Acc, Acc),
    /// Anything else, evaluated as a value that must be a boolean.
    Value(Fast),
    /// A subexpression shared with other expressions of the pack: its
    /// answer is kept in the evaluation's cache under this slot.
    Shared(Share, Box<Bool>),
}

/// A field of the event or a feature's value.
#[derive(Debug)]
pub(crate) enum Read {
    Event(Vec<String>, Acc),
    Feature(Vec<String>, Option<usize>),
}

impl Read {
    fn read<'a>(&'a self, inp: &Inputs<'a>) -> Res<'a> {
        match self {
            Read::Event(path, acc) => read_event(path, acc, inp),
            Read::Feature(path, slot) => read_feature(path, *slot, inp),
        }
    }

    /// `self OP lit` (`lit OP self` when `lit_left`) for the usual case,
    /// an integer reading against an integer literal or a string against a
    /// string, without building a [`V`]: the answer [`compare`] gives those
    /// two values. `None` for anything else (null, missing, other kinds, a
    /// JSON view), which the caller answers the general way.
    #[inline]
    fn compare_scalar(&self, op: Cmp, lit: &Lit, lit_left: bool, inp: &Inputs<'_>) -> Option<bool> {
        let ord = match (lit, self.scalar(inp)?) {
            (Lit::Int(l), Scalar::Int(v)) => v.cmp(l),
            (Lit::Str(l), Scalar::Str(v)) => v.cmp(l.as_str()),
            _ => return None,
        };
        Some(holds(op, if lit_left { ord.reverse() } else { ord }))
    }

    /// The reading when it is an integer or a string of the typed event or
    /// of a feature's own value, read in place.
    #[inline]
    fn scalar<'a>(&self, inp: &Inputs<'a>) -> Option<Scalar<'a>> {
        match (self, inp.features, inp.event) {
            (Read::Feature(path, Some(slot)), Feats::Slots(slots), _) if path.len() == 1 => {
                match slots.get(*slot)?.as_ref()? {
                    Json::Number(n) => n.as_i64().map(Scalar::Int),
                    Json::String(s) => Some(Scalar::Str(s)),
                    _ => None,
                }
            }
            (Read::Event(_, acc), _, Ev::Typed(r)) => match acc.get(r) {
                Got::Int(i) => Some(Scalar::Int(i)),
                Got::Str(s) => Some(Scalar::Str(s)),
                _ => None,
            },
            _ => None,
        }
    }
}

/// An integer or a string read in place ([`Read::scalar`]).
enum Scalar<'a> {
    Int(i64),
    Str(&'a str),
}

/// Whether `op` holds of two values ordered `ord`.
#[inline]
pub(super) fn holds(op: Cmp, ord: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering;
    match op {
        Cmp::Eq => ord == Ordering::Equal,
        Cmp::Ne => ord != Ordering::Equal,
        Cmp::Lt => ord == Ordering::Less,
        Cmp::Le => ord != Ordering::Greater,
        Cmp::Gt => ord == Ordering::Greater,
        Cmp::Ge => ord != Ordering::Less,
    }
}

impl Bool {
    pub(crate) fn eval<'a>(&'a self, inp: &Inputs<'a>) -> Result<bool, Fallback> {
        match self {
            Bool::Const(b) => Ok(*b),
            Bool::All(items) => {
                let mut unknown = false;
                for x in items {
                    match x.eval(inp) {
                        Ok(false) => return Ok(false),
                        Ok(true) => {}
                        Err(Fallback) => unknown = true,
                    }
                }
                if unknown {
                    Err(Fallback)
                } else {
                    Ok(true)
                }
            }
            Bool::Any(items) => {
                let mut unknown = false;
                for x in items {
                    match x.eval(inp) {
                        Ok(true) => return Ok(true),
                        Ok(false) => {}
                        Err(Fallback) => unknown = true,
                    }
                }
                if unknown {
                    Err(Fallback)
                } else {
                    Ok(false)
                }
            }
            Bool::Not(x) => x.eval(inp).map(|b| !b),
            Bool::Cond(c, a, b) => {
                if c.eval(inp)? {
                    a.eval(inp)
                } else {
                    b.eval(inp)
                }
            }
            Bool::CmpLit {
                op,
                read,
                lit,
                lit_left,
            } => {
                if let Some(answer) = read.compare_scalar(*op, lit, *lit_left, inp) {
                    return Ok(answer);
                }
                let v = read.read(inp)?;
                let l = lit.value();
                if *lit_left {
                    compare(*op, &l, &v)
                } else {
                    compare(*op, &v, &l)
                }
            }
            Bool::Has(parent, field, pacc, full) => has(parent, field, pacc, full, inp),
            Bool::Value(f) => match f.eval(inp)? {
                V::Bool(b) => Ok(b),
                _ => Err(Fallback),
            },
            Bool::Shared(at, x) => match inp.cache.map(|c| c.get(*at)) {
                Some(Some(known)) => known,
                _ => {
                    let answer = x.eval(inp);
                    if let Some(c) = inp.cache {
                        c.set(*at, answer);
                    }
                    answer
                }
            },
        }
    }

    /// Resolves every `features.name` to its slot (see [`Fast::bind`]).
    pub(crate) fn bind(&mut self, index: &dyn Fn(&str) -> Option<usize>) {
        match self {
            Bool::Const(_) | Bool::Has(..) => {}
            Bool::All(items) | Bool::Any(items) => items.iter_mut().for_each(|x| x.bind(index)),
            Bool::Not(x) | Bool::Shared(_, x) => x.bind(index),
            Bool::Cond(c, a, b) => {
                c.bind(index);
                a.bind(index);
                b.bind(index);
            }
            Bool::CmpLit { read, .. } => {
                if let Read::Feature(path, slot) = read {
                    *slot = path.first().and_then(|n| index(n));
                }
            }
            Bool::Value(f) => f.bind(index),
        }
    }
}

/// `has(event.parent.field)`, as the interpreter answers it: a boolean when
/// the parent is an object, else [`Fallback`].
pub(super) fn has<'a>(
    parent: &[String],
    field: &str,
    pacc: &Acc,
    full: &Acc,
    inp: &Inputs<'a>,
) -> Result<bool, Fallback> {
    match inp.event {
        Ev::Json(j) => match super::eval::walk(j, parent)? {
            Json::Object(m) => Ok(m.contains_key(field)),
            _ => Err(Fallback),
        },
        Ev::Typed(r) => match pacc.get(r) {
            Got::Object | Got::Json(Json::Object(_)) => Ok(!matches!(full.get(r), Got::Missing)),
            _ => Err(Fallback),
        },
    }
}
