//! `params.name` in an expression: replaced, when the pack compiles, by the
//! param's value, so evaluating reads a constant and allocates nothing.
//!
//! A duration, count or ratio becomes an integer literal. An amount is per
//! currency, so it may appear only as the last argument of a money function,
//! which is rewritten into plain CEL over a map literal `M` of minor units
//! per priced currency (the fast evaluator compiles that map once):
//!
//! - `amount_at_least(a, c, params.p)` → `c in M ? a >= M[c] : true`
//! - `amount_over(a, c, params.p)`     → `c in M ? a > M[c] : true`
//! - `amount_under(a, c, params.p)`    → `c in M ? a < M[c] : false`
//! - `amount_priced(c, params.p)`      → `c in M`
//!
//! A currency the param cannot price takes the pack's `unknown_currency`
//! (`exceeds`: past every threshold), so a money rule never silently stays
//! quiet in a currency the pack forgot.

use crate::params::{Param, Params};
use crate::source::UnknownCurrency;
use cel::common::ast::{
    CallExpr, EntryExpr, Expr as Node, IdedEntryExpr, IdedExpr, LiteralValue, MapEntryExpr,
    MapExpr, SelectExpr,
};
use std::collections::BTreeMap;

/// The money functions: name, and whether it compares an amount.
pub(crate) const MONEY_FUNCTIONS: &[&str] = &[
    "amount_at_least",
    "amount_over",
    "amount_under",
    "amount_priced",
];

/// Replaces every `params.name` in `e`; an error names what is wrong.
pub(crate) fn substitute(e: &mut IdedExpr, params: &Params) -> Result<(), String> {
    let mut ids = Ids(max_id(e) + 1);
    node(e, params, &mut ids)
}

struct Ids(u64);

impl Ids {
    fn next(&mut self, expr: Node) -> IdedExpr {
        self.0 += 1;
        IdedExpr { id: self.0, expr }
    }
}

fn max_id(e: &IdedExpr) -> u64 {
    let mut max = e.id;
    children(e, &mut |c| max = max.max(max_id(c)));
    max
}

fn children(e: &IdedExpr, f: &mut dyn FnMut(&IdedExpr)) {
    match &e.expr {
        Node::Call(c) => {
            c.target.iter().for_each(|t| f(t));
            c.args.iter().for_each(f);
        }
        Node::Select(s) => f(&s.operand),
        Node::List(l) => l.elements.iter().for_each(f),
        Node::Map(m) => m.entries.iter().for_each(|en| match &en.expr {
            EntryExpr::MapEntry(me) => {
                f(&me.key);
                f(&me.value);
            }
            EntryExpr::StructField(sf) => f(&sf.value),
        }),
        Node::Struct(s) => s.entries.iter().for_each(|en| {
            if let EntryExpr::StructField(sf) = &en.expr {
                f(&sf.value);
            }
        }),
        Node::Comprehension(c) => {
            for x in [
                &c.iter_range,
                &c.accu_init,
                &c.loop_cond,
                &c.loop_step,
                &c.result,
            ] {
                f(x);
            }
        }
        Node::Ident(_) | Node::Literal(_) | Node::Unspecified => {}
    }
}

/// `params.name` spelled as a selection: the name.
fn param_name(e: &IdedExpr) -> Option<&str> {
    match &e.expr {
        Node::Select(SelectExpr {
            operand,
            field,
            test: false,
        }) if matches!(&operand.expr, Node::Ident(root) if root == "params") => Some(field),
        _ => None,
    }
}

fn node(e: &mut IdedExpr, params: &Params, ids: &mut Ids) -> Result<(), String> {
    if let Some(name) = param_name(e) {
        let value = match params.get(name) {
            None => return Err(format!("reads unknown param `{name}`")),
            Some(Param::Amount(_)) => {
                return Err(format!(
                    "reads `params.{name}`, an amount per currency, outside a money function: \
                     compare it with amount_at_least(amount, currency, params.{name}), \
                     amount_over or amount_under"
                ))
            }
            Some(Param::Int(i)) => *i,
        };
        e.expr = Node::Literal(LiteralValue::Int(value.into()));
        return Ok(());
    }
    if let Node::Call(c) = &mut e.expr {
        if let Some(f) = MONEY_FUNCTIONS.iter().find(|f| **f == c.func_name) {
            let rewritten = money_call(f, c, params, ids)?;
            e.expr = rewritten;
            return Ok(());
        }
    }
    match &mut e.expr {
        Node::Call(c) => {
            if let Some(t) = c.target.as_deref_mut() {
                node(t, params, ids)?;
            }
            c.args.iter_mut().try_for_each(|a| node(a, params, ids))
        }
        Node::Select(s) => node(&mut s.operand, params, ids),
        Node::List(l) => l.elements.iter_mut().try_for_each(|x| node(x, params, ids)),
        Node::Map(m) => m.entries.iter_mut().try_for_each(|en| match &mut en.expr {
            EntryExpr::MapEntry(me) => {
                node(&mut me.key, params, ids)?;
                node(&mut me.value, params, ids)
            }
            EntryExpr::StructField(sf) => node(&mut sf.value, params, ids),
        }),
        Node::Struct(_) => Ok(()),
        Node::Comprehension(c) => {
            for x in [
                &mut c.iter_range,
                &mut c.accu_init,
                &mut c.loop_cond,
                &mut c.loop_step,
                &mut c.result,
            ] {
                node(x, params, ids)?;
            }
            Ok(())
        }
        Node::Ident(_) | Node::Literal(_) | Node::Unspecified => Ok(()),
    }
}

fn money_call(f: &str, c: &mut CallExpr, params: &Params, ids: &mut Ids) -> Result<Node, String> {
    let priced = f == "amount_priced";
    let usage = if priced {
        format!("`{f}(currency, params.name)`")
    } else {
        format!("`{f}(amount, currency, params.name)`")
    };
    let arity = if priced { 2 } else { 3 };
    if c.target.is_some() || c.args.len() != arity {
        return Err(format!("calls `{f}` wrongly: write {usage}"));
    }
    let last = c.args.pop().unwrap_or_default();
    let Some(name) = param_name(&last) else {
        return Err(format!(
            "calls `{f}` wrongly: its last argument must be an amount param, {usage}"
        ));
    };
    let map = match params.get(name) {
        Some(Param::Amount(m)) => m,
        Some(Param::Int(_)) => {
            return Err(format!(
                "calls `{f}` with `params.{name}`, which is not an amount"
            ))
        }
        None => return Err(format!("reads unknown param `{name}`")),
    };
    for a in &mut c.args {
        node(a, params, ids)?;
    }
    let currency = c.args.pop().unwrap_or_default();
    let amount = c.args.pop();
    let known = call(
        "@in",
        vec![renumber(&currency, ids), map_literal(map, ids)],
        ids,
    );
    let Some(amount) = amount else {
        return Ok(known.expr);
    };
    let (op, unknown) = match (f, params.unknown_currency) {
        ("amount_at_least", UnknownCurrency::Exceeds) => ("_>=_", true),
        ("amount_over", UnknownCurrency::Exceeds) => ("_>_", true),
        (_, UnknownCurrency::Exceeds) => ("_<_", false),
    };
    let threshold = call("_[_]", vec![map_literal(map, ids), currency], ids);
    let compare = call(op, vec![amount, threshold], ids);
    let fallback = ids.next(Node::Literal(LiteralValue::Boolean(unknown.into())));
    Ok(call("_?_:_", vec![known, compare, fallback], ids).expr)
}

fn call(name: &str, args: Vec<IdedExpr>, ids: &mut Ids) -> IdedExpr {
    ids.next(Node::Call(CallExpr {
        func_name: name.to_string(),
        target: None,
        args,
    }))
}

fn map_literal(map: &BTreeMap<String, i64>, ids: &mut Ids) -> IdedExpr {
    let entries = map
        .iter()
        .map(|(code, minor)| {
            let key = ids.next(Node::Literal(LiteralValue::String(code.clone().into())));
            let value = ids.next(Node::Literal(LiteralValue::Int((*minor).into())));
            ids.0 += 1;
            IdedEntryExpr {
                id: ids.0,
                expr: EntryExpr::MapEntry(MapEntryExpr {
                    key,
                    value,
                    optional: false,
                }),
            }
        })
        .collect();
    ids.next(Node::Map(MapExpr { entries }))
}

/// A copy of `e` with fresh ids (the currency is read twice).
fn renumber(e: &IdedExpr, ids: &mut Ids) -> IdedExpr {
    let mut copy = e.clone();
    fn walk(e: &mut IdedExpr, ids: &mut Ids) {
        ids.0 += 1;
        e.id = ids.0;
        match &mut e.expr {
            Node::Call(c) => {
                if let Some(t) = c.target.as_deref_mut() {
                    walk(t, ids);
                }
                c.args.iter_mut().for_each(|a| walk(a, ids));
            }
            Node::Select(s) => walk(&mut s.operand, ids),
            Node::List(l) => l.elements.iter_mut().for_each(|x| walk(x, ids)),
            Node::Map(m) => m.entries.iter_mut().for_each(|en| {
                ids.0 += 1;
                en.id = ids.0;
                match &mut en.expr {
                    EntryExpr::MapEntry(me) => {
                        walk(&mut me.key, ids);
                        walk(&mut me.value, ids);
                    }
                    EntryExpr::StructField(sf) => walk(&mut sf.value, ids),
                }
            }),
            Node::Comprehension(c) => {
                for x in [
                    &mut c.iter_range,
                    &mut c.accu_init,
                    &mut c.loop_cond,
                    &mut c.loop_step,
                    &mut c.result,
                ] {
                    walk(x, ids);
                }
            }
            Node::Struct(_) | Node::Ident(_) | Node::Literal(_) | Node::Unspecified => {}
        }
    }
    walk(&mut copy, ids);
    copy
}
