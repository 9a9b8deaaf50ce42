//! The fast evaluator: the CEL a rule pack is made of, compiled once into a
//! tree that reads the event's JSON, the feature values and the pack's lists
//! in place, with no conversion into interpreter values and no allocation for
//! the usual comparison.
//!
//! It never decides a case it is not sure of. Anything outside the common
//! subset (comprehensions, bytes, durations, mixed-type arithmetic or
//! comparison, overflow, a missing key, any error at all) answers
//! [`Fallback`], and the caller runs the `cel` interpreter instead, so the
//! result, error text included, is always the interpreter's. An expression
//! with a construct the compiler does not know is never compiled here
//! ([`compile`] returns `None`) and always runs in the interpreter. A test
//! over the default pack and a simulated world checks that both agree.

mod boolean;
mod compile;
mod eval;
mod optimize;
mod share;

pub(crate) use boolean::Bool;
pub(crate) use compile::compile;
pub(crate) use eval::to_json;
pub(crate) use optimize::optimize;
pub(crate) use share::share;
use share::Share;

use super::access::{Acc, EventRef, Got};
use super::sets::{Lists, Pre};
use sekimori_event::Verification;
use serde_json::Value as Json;
use std::borrow::Cow;
use std::cell::Cell;

/// The expression cannot be answered here: ask the interpreter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fallback;

type Res<'a> = Result<V<'a>, Fallback>;

/// A compiled expression.
#[derive(Debug)]
pub(crate) enum Fast {
    Lit(Lit),
    /// `event.a.b`: the path, and its accessor over the typed event.
    Event(Vec<String>, Acc),
    /// `has(event.a.b)`: the parent path, the field, and the accessors of
    /// the parent and of the whole path.
    HasEvent(Vec<String>, String, Acc, Acc),
    /// `features.name` (or `features.name.field` of an object reading), and
    /// the feature's slot once the pack binds it ([`Fast::bind`]).
    Feature(Vec<String>, Option<usize>),
    /// `lists.name`.
    List(String),
    Not(Box<Fast>),
    Neg(Box<Fast>),
    And(Box<Fast>, Box<Fast>),
    Or(Box<Fast>, Box<Fast>),
    Cond(Box<Fast>, Box<Fast>, Box<Fast>),
    Cmp(Cmp, Box<Fast>, Box<Fast>),
    Arith(Arith, Box<Fast>, Box<Fast>),
    In(Box<Fast>, Box<Fast>),
    Index(Box<Fast>, Box<Fast>),
    Size(Box<Fast>),
    /// `string(x)` of an integer or a string (an ASN against a list of strings).
    ToStr(Box<Fast>),
    /// A map literal with string keys and literal values, pre-hashed.
    Map(Pre<Lit>),
    /// A list literal of literals.
    ListLit(Vec<Lit>),
    /// A list literal with an item that is not a literal (a feature's
    /// `of: [a, b]`), each item compiled.
    Items(Vec<Fast>),
    /// `name_match(a, b)` (`verdict == false`) or `name_match_verdict(a, b)`.
    Name(bool, Box<Fast>, Box<Fast>),
    /// A condition compiled to a boolean program ([`optimize`]).
    Bool(Box<Bool>),
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lit {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Double(f64),
    Str(String),
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum Arith {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

/// A value during evaluation, borrowed from the inputs where it can be.
#[derive(Debug, Clone)]
pub(crate) enum V<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Double(f64),
    Str(Cow<'a, str>),
    /// A JSON array or object of the event or the features.
    Json(&'a Json),
    Map(&'a Pre<Lit>),
    ListLit(&'a [Lit]),
    Set(&'a Pre<()>),
    /// An array of the typed event (`event.verified`), read in place.
    Array(&'a [Verification]),
    /// The values of a list literal's items ([`Fast::Items`]).
    Items(Vec<V<'a>>),
}

/// What the fast evaluator reads.
#[derive(Clone, Copy)]
pub(crate) struct Inputs<'a> {
    pub event: Ev<'a>,
    pub features: Feats<'a>,
    pub lists: &'a Lists,
    /// The answers of shared subexpressions so far (none: not cached).
    pub cache: Option<&'a Cache>,
}

/// The most subexpressions a pack shares ([`Bool::Shared`]); the rest are
/// evaluated where they stand.
pub(crate) const MAX_SHARED: usize = 128;

/// The answers of a pack's shared subexpressions in one evaluation context
/// (one event's inputs): unknown, `false`, `true` or [`Fallback`] each,
/// for the first pack that asks (its `owner` id).
#[derive(Debug)]
pub(crate) struct Cache {
    owner: Cell<u64>,
    slots: [Cell<u8>; MAX_SHARED],
}

impl Default for Cache {
    fn default() -> Self {
        Cache {
            owner: Cell::new(0),
            slots: std::array::from_fn(|_| Cell::new(0)),
        }
    }
}

impl Cache {
    /// The kept answer (`None`: not evaluated yet, or the cache is another
    /// pack's).
    pub(crate) fn get(&self, at: Share) -> Option<Result<bool, Fallback>> {
        let owner = self.owner.get();
        if owner != at.owner {
            if owner == 0 {
                self.owner.set(at.owner);
            }
            return None;
        }
        match self.slots.get(at.slot).map(Cell::get) {
            Some(1) => Some(Ok(false)),
            Some(2) => Some(Ok(true)),
            Some(3) => Some(Err(Fallback)),
            _ => None,
        }
    }

    pub(crate) fn set(&self, at: Share, answer: Result<bool, Fallback>) {
        if self.owner.get() != at.owner {
            return;
        }
        if let Some(cell) = self.slots.get(at.slot) {
            cell.set(match answer {
                Ok(false) => 1,
                Ok(true) => 2,
                Err(Fallback) => 3,
            });
        }
    }
}

/// The event: its JSON view, or the typed event read through accessors.
#[derive(Clone, Copy)]
pub(crate) enum Ev<'a> {
    Json(&'a Json),
    Typed(&'a EventRef<'a>),
}

/// The feature values: a JSON object by name, or the decision's slots (by
/// feature index; `None`: not read for this event).
#[derive(Clone, Copy)]
pub(crate) enum Feats<'a> {
    Json(&'a Json),
    Slots(&'a [Option<Json>]),
}
