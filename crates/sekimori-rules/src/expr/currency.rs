//! The lint's look at an expression: where it compares a currency with
//! literals.

use super::{env, select_chain, string_literal};
use cel::common::ast::{EntryExpr, Expr as Node, IdedExpr};

/// Where an expression compares a currency with literals: `c in {...}` or
/// `c in [...]`, `{...}[c]`, `c == 'XYZ'` (or `!=`), with `c` a field path
/// ending in `currency`. Each finding is described for the lint; an
/// expression that does not parse has none (compiling reports it).
pub(crate) fn currency_literals(source: &str) -> Vec<String> {
    let Ok(program) = env().compile(source) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    find_currency_literals(program.expression(), &mut out);
    out
}

fn find_currency_literals(e: &IdedExpr, out: &mut Vec<String>) {
    let is_currency = |x: &IdedExpr| {
        select_chain(x).is_some_and(|(_, path)| path.last().is_some_and(|f| f == "currency"))
    };
    let is_collection = |x: &IdedExpr| matches!(x.expr, Node::Map(_) | Node::List(_));
    let is_string = |x: &IdedExpr| string_literal(x).is_some();
    if let Node::Call(c) = &e.expr {
        if let [a, b] = c.args.as_slice() {
            let found = match c.func_name.as_str() {
                "@in" if is_currency(a) && is_collection(b) => {
                    Some("tests the currency against a literal list")
                }
                "_[_]" if is_collection(a) && is_currency(b) => {
                    Some("looks the currency up in a literal map")
                }
                "_==_" | "_!=_"
                    if (is_currency(a) && is_string(b)) || (is_string(a) && is_currency(b)) =>
                {
                    Some("compares the currency with a literal")
                }
                _ => None,
            };
            if let Some(f) = found {
                out.push(f.to_string());
            }
        }
        if let Some(t) = &c.target {
            find_currency_literals(t, out);
        }
        c.args.iter().for_each(|a| find_currency_literals(a, out));
        return;
    }
    match &e.expr {
        Node::Select(s) => find_currency_literals(&s.operand, out),
        Node::List(l) => l
            .elements
            .iter()
            .for_each(|x| find_currency_literals(x, out)),
        Node::Map(m) => m.entries.iter().for_each(|en| {
            if let EntryExpr::MapEntry(me) = &en.expr {
                find_currency_literals(&me.key, out);
                find_currency_literals(&me.value, out);
            }
        }),
        Node::Comprehension(c) => {
            for x in [&c.iter_range, &c.loop_cond, &c.loop_step, &c.result] {
                find_currency_literals(x, out);
            }
        }
        _ => {}
    }
}
