//! Compiling one expression and checking what it reads.

use super::Problems;
use crate::expr::{Expr, Refs};
use crate::fields::KnownFields;
use crate::params::Params;
use sekimori_event::EventKind;
use std::collections::{BTreeMap, BTreeSet};

pub(crate) fn kinds(on: &[String], loc: &str, p: &mut Problems) -> BTreeSet<EventKind> {
    if on.is_empty() {
        p.add(loc, "`on` must name at least one event type");
    }
    if on.len() == 1 && on[0] == "*" {
        return EventKind::ALL.iter().copied().collect();
    }
    on.iter()
        .filter_map(|name| {
            let kind = EventKind::parse(name);
            if kind.is_none() {
                p.add(loc, format!("`on` names unknown event type `{name}`"));
            }
            kind
        })
        .collect()
}

/// Compiles one expression and checks what it reads.
pub(crate) fn expr(
    src: &str,
    what: &str,
    ctx: &ExprContext<'_>,
    loc: &str,
    p: &mut Problems,
) -> Option<(Expr, Refs)> {
    let compiled = match ctx.params {
        Some(params) => Expr::compile_with(src, params),
        None => Expr::compile(src).map_err(|e| {
            if e.starts_with("reads unknown param") || e.contains("money function") {
                "reads a param, but only rules may (a feature's state is kept across packs \
                 by its definition, not by the params' values)"
                    .to_string()
            } else {
                e
            }
        }),
    };
    match compiled {
        Err(e) => {
            p.add(loc, format!("{what} {e}"));
            None
        }
        Ok((e, refs)) => {
            ctx.check(&refs, what, loc, p);
            Some((e, refs))
        }
    }
}

#[derive(Clone, Copy)]
pub(crate) struct ExprContext<'a> {
    pub known: &'a KnownFields,
    pub kinds: &'a BTreeSet<EventKind>,
    pub features: Option<&'a BTreeMap<&'a str, usize>>,
    pub lists: &'a BTreeMap<String, BTreeSet<String>>,
    /// The pack's params, for rules; `None` where params may not be read.
    pub params: Option<&'a Params>,
}

impl ExprContext<'_> {
    fn check(&self, refs: &Refs, what: &str, loc: &str, p: &mut Problems) {
        for path in &refs.event_paths {
            if let Err(e) = self.known.check(self.kinds, path) {
                p.add(loc, format!("{what} reads {e}"));
            }
        }
        for f in &refs.features {
            match self.features {
                None => p.add(
                    loc,
                    format!("{what} reads feature `{f}`, but features may not read features"),
                ),
                Some(index) if !index.contains_key(f.as_str()) => {
                    p.add(loc, format!("{what} reads unknown feature `{f}`"))
                }
                Some(_) => {}
            }
        }
        for l in refs.lists.iter().filter(|l| !self.lists.contains_key(*l)) {
            p.add(loc, format!("{what} reads unknown list `{l}`"));
        }
    }
}
