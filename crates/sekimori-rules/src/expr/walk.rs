//! The syntax-tree walk done when an expression compiles: what it reads
//! ([`Refs`]), its size and depth, and the constructs it may not use.

use super::*;

/// `event.a.b` spelled as plain selections: the path `[a, b]`.
pub(super) fn field_path(e: &IdedExpr) -> Option<Vec<String>> {
    let (root, path) = select_chain(e)?;
    (root == "event" && !path.is_empty()).then_some(path)
}

/// The root identifier and the selected fields of `root.f1.f2`.
pub(super) fn select_chain(e: &IdedExpr) -> Option<(String, Vec<String>)> {
    match &e.expr {
        Node::Ident(name) => Some((name.clone(), Vec::new())),
        Node::Select(s) if !s.test => {
            let (root, mut path) = select_chain(&s.operand)?;
            path.push(s.field.clone());
            Some((root, path))
        }
        _ => None,
    }
}

#[derive(Default)]
pub(super) struct Walk {
    pub(super) refs: Refs,
    pub(super) nodes: usize,
    pub(super) depth: usize,
}

impl Walk {
    /// Visits every node; `bound` holds comprehension variables in scope.
    pub(super) fn node(
        &mut self,
        e: &IdedExpr,
        bound: &mut Vec<String>,
        depth: usize,
    ) -> Result<(), String> {
        self.nodes += 1;
        self.depth = self.depth.max(depth);
        if self.depth > MAX_EXPR_DEPTH {
            return Ok(()); // reported by the caller; stop descending
        }
        let d = depth + 1;
        if let Some((root, path)) = select_chain(e) {
            self.depth = self.depth.max(depth + path.len());
            return self.reference(&root, &path, bound);
        }
        match &e.expr {
            Node::Select(s) => {
                // `has(x.f)`: a presence test counts as a reference to x.f.
                if let Some((root, mut path)) = select_chain(&s.operand) {
                    path.push(s.field.clone());
                    return self.reference(&root, &path, bound);
                }
                self.node(&s.operand, bound, d)
            }
            Node::Call(c) => {
                if let Some(f) = NAME_FUNCTIONS.iter().find(|f| **f == c.func_name) {
                    check_name_call(f, c.target.is_some(), &c.args)?;
                }
                if c.func_name == "_[_]" {
                    if let (Some((root, mut path)), Some(key)) = (
                        c.args.first().and_then(select_chain),
                        c.args.get(1).and_then(string_literal),
                    ) {
                        path.push(key);
                        self.nodes += 2;
                        return self.reference(&root, &path, bound);
                    }
                }
                if let Some(t) = &c.target {
                    self.node(t, bound, d)?;
                }
                c.args.iter().try_for_each(|a| self.node(a, bound, d))
            }
            Node::Comprehension(c) => {
                // `map` and `filter` build a list in iteration order, and a map
                // (any JSON object) iterates in no fixed order: the result would
                // differ between runs. Only a list literal has a fixed order here.
                let builds_list = matches!(c.accu_init.expr, Node::List(_));
                if builds_list && !matches!(c.iter_range.expr, Node::List(_)) {
                    return Err(
                        "map() and filter() may iterate a map in no fixed order, so \
                                decisions would not be reproducible; use exists(), all(), \
                                exists_one() or `in`"
                            .into(),
                    );
                }
                self.node(&c.iter_range, bound, d)?;
                self.node(&c.accu_init, bound, d)?;
                let depth = bound.len();
                bound.push(c.iter_var.clone());
                bound.extend(c.iter_var2.clone());
                bound.push(c.accu_var.clone());
                self.node(&c.loop_cond, bound, d)?;
                self.node(&c.loop_step, bound, d)?;
                self.node(&c.result, bound, d)?;
                bound.truncate(depth);
                Ok(())
            }
            Node::List(l) => l.elements.iter().try_for_each(|x| self.node(x, bound, d)),
            Node::Map(m) => m.entries.iter().try_for_each(|entry| match &entry.expr {
                EntryExpr::MapEntry(me) => {
                    self.node(&me.key, bound, d)?;
                    self.node(&me.value, bound, d)
                }
                EntryExpr::StructField(sf) => self.node(&sf.value, bound, d),
            }),
            Node::Struct(_) => Err("message construction is not supported".into()),
            Node::Ident(_) | Node::Literal(_) | Node::Unspecified => Ok(()),
        }
    }

    fn reference(&mut self, root: &str, path: &[String], bound: &[String]) -> Result<(), String> {
        self.nodes += path.len();
        if bound.iter().any(|b| b == root) {
            return Ok(());
        }
        let first = path.first().cloned();
        match (root, first) {
            ("features", Some(f)) => self.refs.features.insert(f),
            ("lists", Some(l)) => self.refs.lists.insert(l),
            ("event", _) => self.refs.event_paths.insert(path.to_vec()),
            ("params", _) => return Err("read a param as `params.name`".into()),
            ("features" | "lists", None) => {
                return Err(format!(
                    "read `{root}` by name (`{root}.name` or `{root}['name']`)"
                ))
            }
            (other, _) => {
                return Err(format!(
                    "unknown variable `{other}`: an expression may read {}",
                    ROOTS.join(", ")
                ))
            }
        };
        Ok(())
    }
}

/// The deepest bracket nesting and the number of operator runs, outside
/// string literals: a cheap bound checked before the recursive parser runs.
pub(super) fn shape(source: &str) -> (usize, usize) {
    let (mut depth, mut max, mut ops) = (0usize, 0usize, 0usize);
    let (mut quote, mut escaped, mut in_op) = (None, false, false);
    for c in source.chars() {
        let is_op = quote.is_none() && "+-*/%!<>=&|?:,.".contains(c);
        if is_op && !in_op {
            ops += 1;
        }
        in_op = is_op;
        match (quote, c) {
            (Some(_), _) if escaped => escaped = false,
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '(' | '[' | '{') => {
                depth += 1;
                max = max.max(depth);
            }
            (None, ')' | ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    (max, ops)
}

pub(super) fn string_literal(e: &IdedExpr) -> Option<String> {
    match &e.expr {
        Node::Literal(LiteralValue::String(s)) => Some(s.inner().to_string()),
        _ => None,
    }
}
