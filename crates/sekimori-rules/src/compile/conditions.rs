//! Named conditions: a pack writes a condition once (`conditions:` in any
//! part, each name once) and rules' `when` and features' `filter` read it
//! as `conditions.name`. Compiling replaces each reference by the
//! condition's text in parentheses, so a condition is exactly the
//! expression it stands for (params and money functions included) and
//! costs nothing when deciding. A condition may not read another; a
//! feature whose filter reads one has the expanded text in its spec, so a
//! changed condition starts that feature afresh.

use super::{check_name, Problems};
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Conditions a pack may declare.
pub const MAX_CONDITIONS: usize = 1_000;
/// Bytes of one condition's text.
const MAX_CONDITION_BYTES: usize = 4_096;
const PREFIX: &str = "conditions.";

/// Checks names and texts; every problem is reported.
pub(crate) fn check(src: &BTreeMap<String, String>, p: &mut Problems) {
    if src.len() > MAX_CONDITIONS {
        p.add("pack", format!("at most {MAX_CONDITIONS} conditions"));
    }
    for (name, text) in src {
        let loc = format!("condition `{name}`");
        check_name(&loc, name, false, p);
        if text.trim().is_empty() || text.len() > MAX_CONDITION_BYTES {
            p.add(&loc, "must be a CEL expression of 1 to 4096 bytes");
        }
        if references(text).next().is_some() {
            p.add(&loc, "a condition may not read another condition");
        }
    }
}

/// The names `text` reads as `conditions.name`, with their byte ranges.
fn references(text: &str) -> impl Iterator<Item = (std::ops::Range<usize>, &str)> {
    let mut from = 0;
    std::iter::from_fn(move || loop {
        let at = from + text.get(from..)?.find(PREFIX)?;
        let before = text[..at].chars().next_back();
        let start = at + PREFIX.len();
        let end = text[start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(text.len(), |i| start + i);
        from = end.max(start);
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.') {
            continue;
        }
        return Some((at..end, &text[start..end]));
    })
}

/// `text` with every `conditions.name` replaced by `(its text)`; borrowed
/// when it reads none. An unknown name is an error.
pub(crate) fn expand<'a>(
    text: &'a str,
    conditions: &BTreeMap<String, String>,
) -> Result<Cow<'a, str>, String> {
    let mut out = String::new();
    let mut last = 0;
    for (range, name) in references(text) {
        let Some(body) = conditions.get(name) else {
            return Err(format!("reads unknown condition `{name}`"));
        };
        out.push_str(&text[last..range.start]);
        out.push('(');
        out.push_str(body.trim());
        out.push(')');
        last = range.end;
    }
    if last == 0 {
        return Ok(Cow::Borrowed(text));
    }
    out.push_str(&text[last..]);
    Ok(Cow::Owned(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conditions() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("big".to_string(), "event.amount_minor > 5".to_string()),
            ("new".to_string(), " features.f == null \n".to_string()),
        ])
    }

    #[test]
    fn references_expand_in_parentheses() {
        let c = conditions();
        assert_eq!(
            expand("conditions.big && !conditions.new", &c).expect("ok"),
            "(event.amount_minor > 5) && !(features.f == null)"
        );
        assert!(matches!(
            expand("event.x > 1", &c).expect("ok"),
            Cow::Borrowed(_)
        ));
        // Not a reference: part of a longer name or a field path.
        assert_eq!(
            expand("my_conditions.big || event.conditions.big", &c).expect("ok"),
            "my_conditions.big || event.conditions.big"
        );
        assert_eq!(
            expand("conditions.nope", &c).expect_err("an error"),
            "reads unknown condition `nope`"
        );
    }

    #[test]
    fn conditions_may_not_read_conditions() {
        let mut p = Problems::default();
        let mut c = conditions();
        c.insert("both".into(), "conditions.big && conditions.new".into());
        c.insert("Bad".into(), "true".into());
        check(&c, &mut p);
        let errors = p.into_strings();
        assert!(errors
            .iter()
            .any(|e| e.contains("condition `both`") && e.contains("another condition")));
        assert!(errors
            .iter()
            .any(|e| e.contains("condition `Bad`") && e.contains("name must match")));
    }
}
