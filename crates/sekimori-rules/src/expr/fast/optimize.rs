//! The second compilation of a [`Fast`] tree: conditions become [`Bool`]
//! programs, constants are folded, and the operands of `&&` and `||` are
//! ordered cheapest first (which cannot change an answer: see
//! [`boolean`](super::boolean)).

use super::boolean::{Bool, Read};
use super::eval::{arith, compare};
use super::*;

/// Rewrites a tree evaluated as a value.
pub(crate) fn optimize(f: Fast) -> Fast {
    match f {
        Fast::And(..) | Fast::Or(..) | Fast::Not(_) | Fast::Cmp(..) | Fast::HasEvent(..) => {
            as_value(boolean(f))
        }
        Fast::Cond(c, a, b) => match boolean(*c) {
            Bool::Const(true) => optimize(*a),
            Bool::Const(false) => optimize(*b),
            c => Fast::Cond(
                Box::new(as_value(c)),
                Box::new(optimize(*a)),
                Box::new(optimize(*b)),
            ),
        },
        Fast::Neg(x) => match optimize(*x) {
            Fast::Lit(Lit::Int(i)) if i.checked_neg().is_some() => Fast::Lit(Lit::Int(-i)),
            x => Fast::Neg(Box::new(x)),
        },
        Fast::Arith(op, a, b) => {
            let (a, b) = (optimize(*a), optimize(*b));
            if let (Fast::Lit(x), Fast::Lit(y)) = (&a, &b) {
                if let Ok(V::Int(i)) = arith(op, x.value(), y.value()) {
                    return Fast::Lit(Lit::Int(i));
                }
            }
            Fast::Arith(op, Box::new(a), Box::new(b))
        }
        Fast::In(a, b) => Fast::In(Box::new(optimize(*a)), Box::new(optimize(*b))),
        Fast::Index(a, b) => Fast::Index(Box::new(optimize(*a)), Box::new(optimize(*b))),
        Fast::Size(x) => Fast::Size(Box::new(optimize(*x))),
        Fast::ToStr(x) => Fast::ToStr(Box::new(optimize(*x))),
        Fast::Items(items) => Fast::Items(items.into_iter().map(optimize).collect()),
        Fast::Name(v, a, b) => Fast::Name(v, Box::new(optimize(*a)), Box::new(optimize(*b))),
        leaf @ (Fast::Lit(_)
        | Fast::Event(..)
        | Fast::Feature(..)
        | Fast::List(_)
        | Fast::Map(_)
        | Fast::ListLit(_)
        | Fast::Bool(_)) => leaf,
    }
}

/// A condition as a value: a folded constant is a literal.
fn as_value(b: Bool) -> Fast {
    match b {
        Bool::Const(c) => Fast::Lit(Lit::Bool(c)),
        Bool::Value(f) => f,
        b => Fast::Bool(Box::new(b)),
    }
}

/// Compiles a tree evaluated as a condition.
pub(crate) fn boolean(f: Fast) -> Bool {
    match f {
        Fast::Lit(Lit::Bool(b)) => Bool::Const(b),
        Fast::And(a, b) => junction(true, *a, *b),
        Fast::Or(a, b) => junction(false, *a, *b),
        Fast::Not(x) => match boolean(*x) {
            Bool::Const(b) => Bool::Const(!b),
            x => Bool::Not(Box::new(x)),
        },
        Fast::Cond(c, a, b) => match boolean(*c) {
            Bool::Const(true) => boolean(*a),
            Bool::Const(false) => boolean(*b),
            c => Bool::Cond(Box::new(c), Box::new(boolean(*a)), Box::new(boolean(*b))),
        },
        Fast::Cmp(op, a, b) => comparison(op, optimize(*a), optimize(*b)),
        Fast::HasEvent(parent, field, pacc, full) => Bool::Has(parent, field, pacc, full),
        Fast::Bool(b) => *b,
        other => match optimize(other) {
            Fast::Lit(Lit::Bool(b)) => Bool::Const(b),
            Fast::Bool(b) => *b,
            f => Bool::Value(f),
        },
    }
}

/// `a && b` (`all`) or `a || b`, nested ones flattened, constants folded,
/// cheapest first.
fn junction(all: bool, a: Fast, b: Fast) -> Bool {
    let mut items = Vec::new();
    for x in [boolean(a), boolean(b)] {
        match x {
            Bool::All(inner) if all => items.extend(inner),
            Bool::Any(inner) if !all => items.extend(inner),
            x => items.push(x),
        }
    }
    // `false` decides an `&&` (`true` an `||`) whatever the others are,
    // errors included; the other constant changes nothing.
    if items
        .iter()
        .any(|x| matches!(x, Bool::Const(c) if *c != all))
    {
        return Bool::Const(!all);
    }
    items.retain(|x| !matches!(x, Bool::Const(_)));
    items.sort_by_key(cost);
    match items.len() {
        0 => Bool::Const(all),
        // One operand left stands alone only if it is surely a boolean:
        // `x && true` is an error for a non-boolean `x` (the interpreter's
        // "no matching overload"), never `x` itself, so a value operand
        // stays inside its junction, which answers only for a boolean.
        1 if !matches!(items[0], Bool::Value(_)) => items.pop().unwrap_or(Bool::Const(all)),
        _ if all => Bool::All(items),
        _ => Bool::Any(items),
    }
}

fn comparison(op: Cmp, a: Fast, b: Fast) -> Bool {
    let read = |f: Fast| match f {
        Fast::Event(path, acc) => Ok(Read::Event(path, acc)),
        Fast::Feature(path, slot) => Ok(Read::Feature(path, slot)),
        other => Err(other),
    };
    match (a, b) {
        (Fast::Lit(x), Fast::Lit(y)) => match compare(op, &x.value(), &y.value()) {
            Ok(c) => Bool::Const(c),
            Err(Fallback) => generic(op, Fast::Lit(x), Fast::Lit(y)),
        },
        (a, Fast::Lit(lit)) => match read(a) {
            Ok(read) => Bool::CmpLit {
                op,
                read,
                lit,
                lit_left: false,
            },
            Err(a) => generic(op, a, Fast::Lit(lit)),
        },
        (Fast::Lit(lit), b) => match read(b) {
            Ok(read) => Bool::CmpLit {
                op,
                read,
                lit,
                lit_left: true,
            },
            Err(b) => generic(op, Fast::Lit(lit), b),
        },
        (a, b) => generic(op, a, b),
    }
}

fn generic(op: Cmp, a: Fast, b: Fast) -> Bool {
    Bool::Value(Fast::Cmp(op, Box::new(a), Box::new(b)))
}

/// A rough cost of evaluating a condition (reads and comparisons 1-2, the
/// holder-name comparison far more), to order `&&` and `||` operands.
fn cost(b: &Bool) -> u32 {
    match b {
        Bool::Const(_) => 0,
        Bool::CmpLit { .. } | Bool::Has(..) => 2,
        Bool::Not(x) => cost(x) + 1,
        Bool::Shared(_, x) => cost(x).min(2),
        Bool::All(items) | Bool::Any(items) => items.iter().map(cost).sum::<u32>() + 1,
        Bool::Cond(c, a, b) => cost(c) + cost(a).max(cost(b)) + 1,
        Bool::Value(f) => value_cost(f),
    }
}

fn value_cost(f: &Fast) -> u32 {
    match f {
        Fast::Lit(_) | Fast::Map(_) | Fast::ListLit(_) => 0,
        Fast::Event(..) | Fast::Feature(..) | Fast::List(_) | Fast::HasEvent(..) => 1,
        Fast::Bool(b) => cost(b),
        Fast::Not(x) | Fast::Neg(x) | Fast::Size(x) => value_cost(x) + 1,
        // `string(n)` formats and allocates.
        Fast::ToStr(x) => value_cost(x) + 8,
        Fast::Items(items) => items.iter().map(value_cost).sum::<u32>() + 4,
        Fast::Cond(c, a, b) => value_cost(c) + value_cost(a).max(value_cost(b)) + 1,
        Fast::And(a, b)
        | Fast::Or(a, b)
        | Fast::Cmp(_, a, b)
        | Fast::Arith(_, a, b)
        | Fast::In(a, b)
        | Fast::Index(a, b) => value_cost(a) + value_cost(b) + 1,
        Fast::Name(..) => 1000,
    }
}
