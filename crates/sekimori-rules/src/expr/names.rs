//! The holder-name functions rules may call (`name_match`,
//! `name_match_verdict`): their checks at compile time and their bodies.

use super::*;

/// `name_match(a, b)` and `name_match_verdict(a, b)` are global functions of
/// two arguments, each a string or null: what can be told before running.
pub(super) fn check_name_call(f: &str, member: bool, args: &[IdedExpr]) -> Result<(), String> {
    let literal_ok = |a: &IdedExpr| match &a.expr {
        Node::Literal(l) => matches!(l, LiteralValue::String(_) | LiteralValue::Null),
        Node::List(_) | Node::Map(_) => false,
        _ => true,
    };
    if member || args.len() != 2 || !args.iter().all(literal_ok) {
        return Err(format!(
            "calls `{f}` wrongly: it takes two names, `{f}(a, b)`, each a string or null"
        ));
    }
    Ok(())
}

/// The argument of a name function: a string, or `None` for null.
pub(super) fn name_arg<'b>(
    f: &str,
    arg: &'b (dyn Val + '_),
) -> Result<Option<&'b str>, ExecutionError> {
    if let Some(s) = arg.downcast_ref::<CelString>() {
        return Ok(Some(s.inner()));
    }
    if arg.downcast_ref::<CelNull>().is_some() {
        return Ok(None);
    }
    Err(ExecutionError::function_error(
        f,
        format!("takes two strings (or null), got {}", arg.get_type().name()),
    ))
}

/// Whether a name is short enough to compare, see [`MAX_NAME_CHARS`]: the
/// reference definition [`compare_names`] answers by (it reads the
/// normalized length from the tokens it compares instead).
#[cfg(test)]
pub(super) fn comparable(name: &str) -> bool {
    // Four bytes per char at most: skips counting a huge string.
    name.len() <= 4 * MAX_NAME_CHARS
        && name.chars().count() <= MAX_NAME_CHARS
        && sekimori_names::normalize(name).chars().count() <= MAX_NAME_CHARS
}

/// Compares the two arguments; `None` if either is null.
pub(super) fn name_compare(
    f: &str,
    args: &[CowVal<'_, '_>],
) -> Result<Option<NameMatch>, ExecutionError> {
    let [a, b] = args else {
        return Err(ExecutionError::invalid_argument_count(2, args.len()));
    };
    let (Some(a), Some(b)) = (name_arg(f, a.as_ref())?, name_arg(f, b.as_ref())?) else {
        return Ok(None);
    };
    Ok(Some(compare_names(a, b)))
}

/// The answer for a name past [`MAX_NAME_CHARS`].
pub(super) const TOO_LONG: NameMatch = NameMatch {
    score: 0,
    verdict: Verdict::Different,
    reason: "name too long to compare",
};

/// Compares two names as `name_match` does, the length cap included.
pub(crate) fn compare_names(a: &str, b: &str) -> NameMatch {
    // Four bytes per char at most: a longer text is past the cap, and is
    // not copied into the cache.
    if a.len() > 4 * MAX_NAME_CHARS || b.len() > 4 * MAX_NAME_CHARS {
        return TOO_LONG;
    }
    compare_cached(a, b)
}

/// [`sekimori_names::compare_bounded`] under [`MAX_NAME_CHARS`],
/// remembering the last pair compared on this thread: rules deciding on
/// one event often ask about the same two names (`name_match` in one rule,
/// `name_match_verdict` in the next, `name_match` twice in a third). The
/// cache is asked first, so a repeated pair is neither compared nor
/// normalized again.
pub(super) fn compare_cached(a: &str, b: &str) -> NameMatch {
    thread_local! {
        static LAST: RefCell<Option<(String, String, NameMatch)>> = const { RefCell::new(None) };
    }
    LAST.with(|last| {
        let mut last = last.borrow_mut();
        if let Some((la, lb, m)) = last.as_ref() {
            if la == a && lb == b {
                return *m;
            }
        }
        let m = sekimori_names::compare_bounded(a, b, MAX_NAME_CHARS).unwrap_or(TOO_LONG);
        match last.as_mut() {
            // The last pair's buffers, reused.
            Some((la, lb, lm)) => {
                la.clear();
                la.push_str(a);
                lb.clear();
                lb.push_str(b);
                *lm = m;
            }
            None => *last = Some((a.to_string(), b.to_string(), m)),
        }
        m
    })
}

/// `name_match(a, b)`: the score of [`sekimori_names::compare`], 0 to 100;
/// 0 if either name is null.
pub(super) fn name_match_score<'b, 'v>(
    args: Vec<CowVal<'b, 'v>>,
) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let score = name_compare(NAME_MATCH, &args)?.map_or(0, |m| m.score);
    Ok(CowVal::owned(CelInt::from(i64::from(score))))
}

/// `name_match_verdict(a, b)`: the verdict of [`sekimori_names::compare`]
/// (`exact`, `equivalent`, `order_swapped`, `similar`, `different`), or
/// `unknown` if either name is null.
pub(super) fn name_match_verdict<'b, 'v>(
    args: Vec<CowVal<'b, 'v>>,
) -> Result<CowVal<'b, 'v>, ExecutionError> {
    let verdict =
        name_compare(NAME_MATCH_VERDICT, &args)?.map_or("unknown", |m| verdict_name(m.verdict));
    Ok(CowVal::owned(CelString::from(verdict)))
}

/// The wire name of a verdict, lower snake case.
pub(crate) fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Exact => "exact",
        Verdict::Equivalent => "equivalent",
        Verdict::OrderSwapped => "order_swapped",
        Verdict::Similar => "similar",
        Verdict::Different => "different",
    }
}
