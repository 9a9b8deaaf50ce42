//! The one module that touches the `cel` crate: compile, inspect and evaluate
//! CEL expressions. An upgrade of `cel` changes this module only (this file
//! and `fast`, the evaluator of the common subset that falls back to the
//! interpreter).

mod access;
#[cfg(test)]
mod access_tests;
mod currency;
mod fast;
#[cfg(test)]
mod fast_tests;
mod names;
use names::*;
pub(crate) mod params;
#[cfg(test)]
mod program_tests;
#[cfg(test)]
mod random_tests;
mod sets;
#[cfg(test)]
mod share_tests;
mod stats;
mod values;
mod vars;
mod walk;

pub use access::{event_view, EventRef};
pub(crate) use currency::currency_literals;
pub use stats::{fallback_counts, FallbackCount};
use values::{from_json, to_json};
pub use values::{lookup, ListValues};
use vars::{got_json, PathValue};
pub use vars::{Part, Vars};
use walk::{field_path, select_chain, shape, string_literal, Walk};

use access::{Acc, Got};
use cel::common::ast::{EntryExpr, Expr as Node, IdedExpr, LiteralValue};
use cel::common::types::{CelInt, CelNull, CelString, DYN_TYPE};
use cel::common::value::{CowVal, Val};
use cel::objects::Key;
use cel::{Context, Env, ExecutionError, Value};
use fast::{Ev, Fallback};
use sekimori_names::{NameMatch, Verdict};
use serde_json::Value as Json;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};

/// The most bytes of source one expression may have.
pub const MAX_EXPR_BYTES: usize = 4096;
/// The most syntax-tree nodes one expression may have.
pub const MAX_EXPR_NODES: usize = 512;

/// The deepest an expression's syntax tree may be. Parsing and evaluating
/// recurse once per level (about 35 KiB of stack a level in a debug build), so
/// this bound keeps both far from any thread's stack limit. A chain of `||`
/// counts one level per operator.
pub const MAX_EXPR_DEPTH: usize = 32;
/// The deepest bracket nesting: the parser spends about ten stack frames per
/// bracket level, so this is bounded tighter than the tree depth.
pub const MAX_EXPR_BRACKETS: usize = 8;

/// The variables an expression may read (`params` is replaced by the
/// params' values when the pack compiles).
pub const ROOTS: &[&str] = &["event", "features", "lists", "params"];

/// The longest holder name, in characters, that `name_match` and
/// `name_match_verdict` compare, both as written and once normalized
/// (NFKC can lengthen a character, `㍿` to `株式会社`). A longer name scores
/// 0, verdict `different`, so no input can make a rule slow: comparing is
/// quadratic in the length, times every family/given order of up to five
/// tokens. The Zengin recipient-name field holds 30 characters and bank
/// holder names fit in 48; two hostile 100-character names of five tokens took
/// about 3 ms in a release build, so the bound is 48 (about a quarter of that).
pub const MAX_NAME_CHARS: usize = 48;

/// The holder-name functions rules may call, each with two arguments.
const NAME_FUNCTIONS: &[&str] = &[NAME_MATCH, NAME_MATCH_VERDICT];
const NAME_MATCH: &str = "name_match";
const NAME_MATCH_VERDICT: &str = "name_match_verdict";

fn env() -> &'static Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Env::stdlib();
        env.add_overload(
            NAME_MATCH,
            "name_match_dyn_dyn",
            vec![DYN_TYPE, DYN_TYPE],
            name_match_score,
        )
        .expect("name_match is declared once");
        env.add_overload(
            NAME_MATCH_VERDICT,
            "name_match_verdict_dyn_dyn",
            vec![DYN_TYPE, DYN_TYPE],
            name_match_verdict,
        )
        .expect("name_match_verdict is declared once");
        Arc::new(env)
    })
}

/// A compiled expression. A plain field path such as `event.actor.ip` is read
/// directly from the event without running the interpreter.
#[derive(Debug)]
pub struct Expr {
    source: String,
    /// The parsed expression, every `params.name` replaced by its value.
    expression: IdedExpr,
    /// A plain `event.a.b`: the path and its accessor.
    path: Option<(Vec<String>, Acc)>,
    /// The same expression for the fast evaluator, when it is in its subset.
    fast: Option<fast::Fast>,
    /// How often this expression fell back (see [`stats`]).
    stats: stats::Stats,
}

/// What an expression reads, found by walking its syntax tree.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Refs {
    pub features: BTreeSet<String>,
    pub lists: BTreeSet<String>,
    /// Field paths under `event`, as far as they are spelled out (`actor.ip`).
    pub event_paths: BTreeSet<Vec<String>>,
}

impl Expr {
    /// Parses and checks one expression: size bounds and only known root
    /// variables. It may not read params.
    pub fn compile(source: &str) -> Result<(Expr, Refs), String> {
        Self::compile_with(source, &crate::params::Params::default())
    }

    /// [`Expr::compile`], replacing every `params.name` with the pack's
    /// value (see `expr::params`).
    pub fn compile_with(
        source: &str,
        params: &crate::params::Params,
    ) -> Result<(Expr, Refs), String> {
        if source.len() > MAX_EXPR_BYTES {
            return Err(format!("expression is longer than {MAX_EXPR_BYTES} bytes"));
        }
        let (brackets, operators) = shape(source);
        if brackets > MAX_EXPR_BRACKETS {
            return Err(format!(
                "expression nests brackets deeper than {MAX_EXPR_BRACKETS}"
            ));
        }
        if operators > MAX_EXPR_NODES {
            return Err(format!(
                "expression has more than {MAX_EXPR_NODES} operators"
            ));
        }
        let program = env()
            .compile(source)
            .map_err(|e| format!("does not parse: {}", e.to_string().replace('\n', "; ")))?;
        let mut expression = program.expression().clone();
        params::substitute(&mut expression, params)?;
        let mut walk = Walk::default();
        walk.node(&expression, &mut Vec::new(), 1)?;
        if walk.nodes > MAX_EXPR_NODES {
            return Err(format!("expression has more than {MAX_EXPR_NODES} nodes"));
        }
        if walk.depth > MAX_EXPR_DEPTH {
            return Err(format!(
                "expression nests deeper than {MAX_EXPR_DEPTH} levels (each `&&`, `||` or `+` \
                 in a chain is a level): use `x in [a, b, c]`, or split the rule"
            ));
        }
        let path = field_path(&expression).map(|p| {
            let acc = Acc::compile(&p);
            (p, acc)
        });
        let fast = fast::compile(&expression).map(fast::optimize);
        let expr = Expr {
            source: source.to_string(),
            expression,
            path,
            fast,
            stats: stats::Stats::default(),
        };
        Ok((expr, walk.refs))
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Resolves every `features.name` this expression reads to its slot in
    /// the decision's array of feature values (`index`: a feature's slot by
    /// name). Called once, when the pack compiles.
    pub fn bind_features(&mut self, index: &dyn Fn(&str) -> Option<usize>) {
        if let Some(fast) = &mut self.fast {
            fast.bind(index);
        }
    }

    /// Gives the condition subtrees that occur more than once among
    /// `exprs` one slot each, so that each is evaluated once per event
    /// (see `fast::share`); returns how many. Called once, when the pack
    /// compiles, after [`Expr::bind_features`].
    pub(crate) fn share_conditions(exprs: &mut [&mut Expr]) -> usize {
        let mut programs: Vec<&mut fast::Bool> = exprs
            .iter_mut()
            .filter_map(|e| match &mut e.fast {
                Some(fast::Fast::Bool(b)) => Some(&mut **b),
                _ => None,
            })
            .collect();
        fast::share(&mut programs)
    }

    /// The value of a plain field path: borrowed from the view, or read
    /// through the accessor (`None`: not a plain path). Debug builds check
    /// the accessor against the view.
    fn path_value<'a>(&self, vars: &Vars<'a>) -> Option<PathValue<'a>> {
        let (path, acc) = self.path.as_ref()?;
        Some(match vars.event {
            Ev::Json(j) => lookup(j, path).map_or(PathValue::Missing, PathValue::Json),
            Ev::Typed(r) => {
                let got = acc.get(r);
                #[cfg(debug_assertions)]
                {
                    let typed = match got {
                        Got::Missing => None,
                        Got::Object => lookup(r.view(), path).cloned(),
                        g => Some(got_json(g)),
                    };
                    assert_eq!(
                        typed.as_ref(),
                        lookup(r.view(), path),
                        "the accessor of `event.{}` disagrees with the event's view",
                        path.join(".")
                    );
                }
                match got {
                    Got::Missing => PathValue::Missing,
                    Got::Object => {
                        self.stats.view_read();
                        lookup(r.view(), path).map_or(PathValue::Missing, PathValue::Json)
                    }
                    g => PathValue::Got(g),
                }
            }
        })
    }

    /// Evaluates to a JSON value (CEL `null` and missing paths become `Json::Null`
    /// on the fast path; the interpreter reports a missing key as an error).
    pub fn eval(&self, vars: &Vars<'_>) -> Result<Json, String> {
        if let Some(v) = self.path_value(vars) {
            return Ok(match v {
                PathValue::Missing => Json::Null,
                PathValue::Json(j) => j.clone(),
                PathValue::Got(g) => got_json(g),
            });
        }
        if let Ok(v) = self
            .fast(vars)
            .and_then(|v| fast::to_json(v).ok_or(Fallback))
        {
            #[cfg(debug_assertions)]
            self.cross_check(vars, &v);
            return Ok(v);
        }
        let value = self.fall_back(vars)?;
        Ok(to_json(&value))
    }

    /// Like [`Expr::eval`], borrowing the value when the expression is a
    /// plain field path of the event.
    pub fn eval_cow<'a>(&self, vars: &Vars<'a>) -> Result<std::borrow::Cow<'a, Json>, String> {
        match self.path_value(vars) {
            Some(PathValue::Json(j)) => Ok(std::borrow::Cow::Borrowed(j)),
            Some(PathValue::Missing) => Ok(std::borrow::Cow::Owned(Json::Null)),
            Some(PathValue::Got(g)) => Ok(std::borrow::Cow::Owned(got_json(g))),
            None => self.eval(vars).map(std::borrow::Cow::Owned),
        }
    }

    /// Evaluates to a [`Part`]: what a feature key, a distinct value or an
    /// `of` reads, borrowed where it can be (no JSON built for a field of
    /// the typed event or a fast answer). The same value [`Expr::eval`]
    /// gives, in another form.
    pub fn eval_part<'a>(&'a self, vars: &Vars<'a>) -> Result<Part<'a>, String> {
        match self.path_value(vars) {
            Some(PathValue::Json(j)) => return Ok(Part::of_json(j)),
            Some(PathValue::Missing) => return Ok(Part::Null),
            Some(PathValue::Got(g)) => {
                return Ok(match g {
                    Got::Null | Got::Missing => Part::Null,
                    Got::Bool(b) => Part::Bool(b),
                    Got::Int(i) => Part::Int(i),
                    Got::Str(s) => Part::Str(std::borrow::Cow::Borrowed(s)),
                    Got::Json(j) => Part::of_json(j),
                    Got::Object | Got::Array(_) => Part::Other(got_json(g)),
                })
            }
            None => {}
        }
        if let Ok(v) = self.fast(vars) {
            let part = match v {
                fast::V::Null => Some(Part::Null),
                fast::V::Bool(b) => Some(Part::Bool(b)),
                fast::V::Int(i) => Some(Part::Int(i)),
                fast::V::Str(s) => Some(Part::Str(s)),
                other => fast::to_json(other).map(Part::Other),
            };
            if let Some(part) = part {
                #[cfg(debug_assertions)]
                self.cross_check(vars, &part.to_json());
                return Ok(part);
            }
        }
        let value = self.fall_back(vars)?;
        Ok(match to_json(&value) {
            Json::String(s) => Part::Str(std::borrow::Cow::Owned(s)),
            j => Part::of_json(&j).into_owned(),
        })
    }

    /// Whether the fast evaluator handles this expression (else every
    /// evaluation runs the interpreter).
    pub fn is_fast(&self) -> bool {
        self.fast.is_some()
    }

    /// Evaluates with the interpreter only, never the fast evaluator: the
    /// reference the fast one is tested against.
    pub fn eval_interpreted(&self, vars: &Vars<'_>) -> Result<Json, String> {
        self.run(vars).map(|v| to_json(&v))
    }

    /// Debug builds (every test) check each fast answer against the
    /// interpreter's: the fast evaluator must never change a decision.
    #[cfg(debug_assertions)]
    fn cross_check(&self, vars: &Vars<'_>, fast: &Json) {
        let slow = self.eval_interpreted(vars);
        assert_eq!(
            slow.as_ref(),
            Ok(fast),
            "the fast evaluator disagrees with the interpreter on `{}`",
            self.source
        );
    }

    fn fast<'a>(&'a self, vars: &Vars<'a>) -> Result<fast::V<'a>, Fallback> {
        let fast = self.fast.as_ref().ok_or(Fallback)?;
        fast.eval(&vars.inputs_uncached())
    }

    /// The fast answer of a condition: its boolean program when it is one.
    fn fast_bool<'a>(&'a self, vars: &'a Vars<'a>) -> Result<bool, Fallback> {
        match self.fast.as_ref().ok_or(Fallback)? {
            fast::Fast::Bool(b) => b.eval(&vars.inputs()),
            f => match f.eval(&vars.inputs())? {
                fast::V::Bool(b) => Ok(b),
                _ => Err(Fallback),
            },
        }
    }

    /// Evaluates a condition; anything but a boolean is an error.
    pub fn eval_bool(&self, vars: &Vars<'_>) -> Result<bool, String> {
        if let Ok(b) = self.fast_bool(vars) {
            #[cfg(debug_assertions)]
            self.cross_check(vars, &Json::Bool(b));
            return Ok(b);
        }
        match self.fall_back(vars)? {
            Value::Bool(b) => Ok(b),
            other => Err(format!("evaluated to {:?}, not a boolean", other.type_of())),
        }
    }

    /// The interpreter, as the fallback of an evaluation (counted).
    fn fall_back(&self, vars: &Vars<'_>) -> Result<Value, String> {
        self.stats.interpreted();
        self.run(vars)
    }

    fn run(&self, vars: &Vars<'_>) -> Result<Value, String> {
        let (event, features, lists) = vars.cel();
        let mut ctx = Context::with_env(Arc::clone(env()));
        ctx.add_variable_from_value("event", event.clone());
        ctx.add_variable_from_value("features", features.clone());
        ctx.add_variable_from_value("lists", lists.clone());
        Value::resolve(&self.expression, &ctx).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests;
