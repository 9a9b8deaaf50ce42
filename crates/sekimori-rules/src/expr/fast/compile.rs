//! Compiling the subset: a CEL syntax tree into a [`Fast`] tree, or `None`.

use super::*;
use cel::common::ast::{EntryExpr, Expr as Node, IdedExpr, LiteralValue};

/// Compiles the subset; `None` for anything else.
pub(crate) fn compile(e: &IdedExpr) -> Option<Fast> {
    Some(match &e.expr {
        Node::Literal(l) => Fast::Lit(literal(l)?),
        Node::Select(s) => {
            let (root, mut path) = chain(&s.operand)?;
            if s.test {
                if root != "event" {
                    return None;
                }
                let parent = Acc::compile(&path);
                let mut full = path.clone();
                full.push(s.field.clone());
                let full = Acc::compile(&full);
                return Some(Fast::HasEvent(path, s.field.clone(), parent, full));
            }
            path.push(s.field.clone());
            match (root.as_str(), path.as_slice()) {
                ("event", _) => {
                    let acc = Acc::compile(&path);
                    Fast::Event(path, acc)
                }
                ("features", [_, ..]) => Fast::Feature(path, None),
                ("lists", [name]) => Fast::List(name.clone()),
                _ => return None,
            }
        }
        Node::List(l) if l.optional_indices.is_empty() => {
            let literals: Option<Vec<Lit>> = l
                .elements
                .iter()
                .map(|x| match &x.expr {
                    Node::Literal(l) => literal(l),
                    _ => None,
                })
                .collect();
            match literals {
                Some(items) => Fast::ListLit(items),
                None => Fast::Items(l.elements.iter().map(compile).collect::<Option<_>>()?),
            }
        }
        Node::Map(m) => {
            let mut out = Pre::default();
            for entry in &m.entries {
                let EntryExpr::MapEntry(me) = &entry.expr else {
                    return None;
                };
                let (Node::Literal(LiteralValue::String(k)), Node::Literal(v)) =
                    (&me.key.expr, &me.value.expr)
                else {
                    return None;
                };
                if me.optional || !out.insert(k.inner(), literal(v)?) {
                    return None; // a repeated key is the interpreter's error to report
                }
            }
            Fast::Map(out)
        }
        Node::Call(c) => {
            if c.target.is_some() {
                return None;
            }
            let arg = |i: usize| c.args.get(i).and_then(compile).map(Box::new);
            match (c.func_name.as_str(), c.args.len()) {
                ("!_", 1) => Fast::Not(arg(0)?),
                ("-_", 1) => Fast::Neg(arg(0)?),
                ("size", 1) => Fast::Size(arg(0)?),
                ("string", 1) => Fast::ToStr(arg(0)?),
                ("_&&_", 2) => Fast::And(arg(0)?, arg(1)?),
                ("_||_", 2) => Fast::Or(arg(0)?, arg(1)?),
                ("_?_:_", 3) => Fast::Cond(arg(0)?, arg(1)?, arg(2)?),
                ("@in", 2) => Fast::In(arg(0)?, arg(1)?),
                ("_[_]", 2) => Fast::Index(arg(0)?, arg(1)?),
                ("name_match", 2) => Fast::Name(false, arg(0)?, arg(1)?),
                ("name_match_verdict", 2) => Fast::Name(true, arg(0)?, arg(1)?),
                (op, 2) => {
                    let cmp = match op {
                        "_==_" => Some(Cmp::Eq),
                        "_!=_" => Some(Cmp::Ne),
                        "_<_" => Some(Cmp::Lt),
                        "_<=_" => Some(Cmp::Le),
                        "_>_" => Some(Cmp::Gt),
                        "_>=_" => Some(Cmp::Ge),
                        _ => None,
                    };
                    if let Some(cmp) = cmp {
                        return Some(Fast::Cmp(cmp, arg(0)?, arg(1)?));
                    }
                    let arith = match op {
                        "_+_" => Arith::Add,
                        "_-_" => Arith::Sub,
                        "_*_" => Arith::Mul,
                        "_/_" => Arith::Div,
                        "_%_" => Arith::Rem,
                        _ => return None,
                    };
                    Fast::Arith(arith, arg(0)?, arg(1)?)
                }
                _ => return None,
            }
        }
        _ => return None,
    })
}

fn literal(l: &LiteralValue) -> Option<Lit> {
    Some(match l {
        LiteralValue::Null => Lit::Null,
        LiteralValue::Boolean(b) => Lit::Bool(*b.inner()),
        LiteralValue::Int(i) => Lit::Int(*i.inner()),
        LiteralValue::UInt(u) => Lit::UInt(*u.inner()),
        LiteralValue::Double(d) => Lit::Double(*d.inner()),
        LiteralValue::String(s) => Lit::Str(s.inner().to_string()),
        LiteralValue::Bytes(_) => return None,
    })
}

/// `root.f1.f2` as (root, [f1, f2]).
fn chain(e: &IdedExpr) -> Option<(String, Vec<String>)> {
    match &e.expr {
        Node::Ident(name) => Some((name.clone(), Vec::new())),
        Node::Select(s) if !s.test => {
            let (root, mut path) = chain(&s.operand)?;
            path.push(s.field.clone());
            Some((root, path))
        }
        _ => None,
    }
}
