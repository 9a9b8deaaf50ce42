//! The compiled condition programs ([`fast::Bool`]: flattened `&&` / `||`
//! in cost order, folded constants, comparisons with a literal read in
//! place, shared subexpressions cached per event) answer as the plain
//! [`fast::Fast`] tree and as the interpreter do, on every rule and filter
//! of the default pack, over the pack's own test events and generated
//! feature values (integers at the edges, null, missing, and objects for
//! the features rules read fields of).

use super::*;
use serde_json::json;

pub(super) fn default_pack() -> crate::Pack {
    let source = crate::embedded::default_pack().expect("the default pack loads");
    crate::compile(source).expect("the default pack compiles")
}

/// Every event of the pack's tests, completed and decoded.
fn events(pack: &crate::Pack) -> Vec<sekimori_event::Event> {
    let mut out = Vec::new();
    for case in &pack.source.tests {
        for step in &case.events {
            let template = match step {
                crate::TestStep::Event(e) => e,
                crate::TestStep::Repeat { event, .. } => event,
            };
            let Some(obj) = template.as_object() else {
                continue;
            };
            let mut filled: serde_json::Map<String, Json> = obj
                .iter()
                .map(|(k, v)| {
                    let text = v.to_string().replace("{i}", "1");
                    (k.clone(), serde_json::from_str(&text).expect("still JSON"))
                })
                .collect();
            filled
                .entry("at")
                .or_insert_with(|| json!("2026-01-01T00:00:00Z"));
            filled
                .entry("id")
                .or_insert_with(|| json!(format!("t{}", out.len())));
            filled.entry("service").or_insert_with(|| json!("test"));
            if let Ok(event) = sekimori_event::decode_value(Json::Object(filled)) {
                out.push(event);
            }
        }
    }
    out
}

/// The fields rules read of object-valued features (`features.x.history`).
fn object_fields(pack: &crate::Pack) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for r in &pack.rules {
        let src = r.when.source();
        for (at, _) in src.match_indices("features.") {
            let rest = &src[at + "features.".len()..];
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let after = &rest[name.len()..];
            if let Some(field) = after.strip_prefix('.') {
                let field: String = field
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                out.insert(field);
            }
        }
    }
    out
}

/// A small deterministic generator (xorshift64*).
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[(self.next() % items.len() as u64) as usize]
    }
}

/// The plain tree's answer for a condition (the form before this step).
fn plain_bool(tree: &fast::Fast, vars: &Vars<'_>) -> Result<bool, Fallback> {
    match tree.eval(&vars.inputs_uncached())? {
        fast::V::Bool(b) => Ok(b),
        _ => Err(Fallback),
    }
}

#[test]
fn compiled_conditions_answer_as_the_plain_tree_and_the_interpreter() {
    let pack = default_pack();
    let events = events(&pack);
    assert!(events.len() > 50, "only {} test events", events.len());
    let fields = object_fields(&pack);
    assert!(!fields.is_empty(), "no rule reads a feature's field");
    let index = |name: &str| pack.features.iter().position(|f| f.name == name);
    let exprs: Vec<(&Expr, bool)> = pack
        .rules
        .iter()
        .map(|r| (&r.when, true))
        .chain(
            pack.features
                .iter()
                .filter_map(|f| f.filter.as_ref().map(|e| (e, false))),
        )
        .collect();
    // The tree each expression had before this step, bound as the pack binds.
    let plain: Vec<fast::Fast> = exprs
        .iter()
        .map(|(e, bound)| {
            let mut tree = fast::compile(&e.expression).expect("in the fast subset");
            if *bound {
                tree.bind(&index);
            }
            tree
        })
        .collect();
    let ints = [
        0i64,
        1,
        2,
        3,
        10,
        20,
        49,
        50,
        90,
        100,
        1_000_000,
        -3,
        i64::MAX,
    ];
    let mut gen = Gen(0x9e37_79b9_7f4a_7c15);
    let (mut checked, mut answered, mut fired, mut more) = (0u64, 0u64, 0u64, 0u64);
    for (n, event) in events.iter().enumerate() {
        let r = EventRef::new(event);
        for _round in 0..6 {
            let value = |gen: &mut Gen| match gen.next() % 8 {
                0 => Json::Null,
                1..=5 => json!(*gen.pick(&ints)),
                _ => Json::Object(
                    fields
                        .iter()
                        .map(|f| (f.clone(), json!(*gen.pick(&ints))))
                        .collect(),
                ),
            };
            let slots: Vec<Option<Json>> = pack
                .features
                .iter()
                .map(|_| (!gen.next().is_multiple_of(16)).then(|| value(&mut gen)))
                .collect();
            let typed = Vars::typed(&r, &slots, &pack.features, &pack.list_values);
            let plain_vars = Vars::typed(&r, &[], &pack.features, &pack.list_values);
            for ((expr, bound), tree) in exprs.iter().zip(&plain) {
                let vars = if *bound { &typed } else { &plain_vars };
                let new = expr.fast_bool(vars);
                let old = plain_bool(tree, vars);
                let reference = match expr.eval_interpreted(vars) {
                    Ok(Json::Bool(b)) => Ok(b),
                    _ => Err(()),
                };
                let context = || format!("`{}` on event {n} {}", expr.source(), r.view());
                if let Ok(b) = old {
                    assert_eq!(new, Ok(b), "compiled vs plain tree: {}", context());
                }
                if let Ok(b) = new {
                    assert_eq!(Ok(b), reference, "compiled vs interpreter: {}", context());
                    answered += 1;
                    fired += u64::from(b);
                    more += u64::from(old.is_err());
                }
                checked += 1;
            }
        }
    }
    // The inputs reach both answers, and the compiled form answers most.
    assert!(fired > 500, "{fired} of {checked} fired");
    assert!(answered * 2 > checked, "{answered} of {checked} answered");
    eprintln!("{checked} checked, {answered} answered ({more} the plain tree left to the interpreter), {fired} true");
}

/// The constants folded and the operands reordered: the interpreter's
/// answers, including where an operand is an error that a `false` (for
/// `&&`) or a `true` (for `||`) elsewhere absorbs.
#[test]
fn folded_and_reordered_conditions_keep_the_interpreters_answers() {
    let event = sekimori_event::decode_value(json!({
        "id": "e1", "type": "login.attempt", "at": "2026-01-01T00:00:00Z",
        "service": "s", "account": "a", "factor": "password", "result": "success",
    }))
    .expect("a valid login");
    let r = EventRef::new(&event);
    let lists = ListValues::new(std::iter::empty());
    let vars = Vars::typed(&r, &[], &[], &lists);
    let cases = [
        ("1 + 2 == 3 && event.result == 'success'", Some(true)),
        ("false && event.nope == 1", Some(false)),
        ("event.nope == 1 && false", Some(false)),
        ("event.nope == 1 || true", Some(true)),
        ("event.nope == 1 && event.result == 'failure'", Some(false)),
        ("event.nope == 1 && event.result == 'success'", None),
        ("event.result == 'success' || event.nope == 1", Some(true)),
        ("event.result == 'failure' || event.nope == 1", None),
        ("!(2 > 1) || event.account == 'a'", Some(true)),
        ("(1 < 2 ? event.account : 'b') == 'a'", Some(true)),
        ("'a' == event.account && 3 >= 2 * 1", Some(true)),
        ("true && 1", None),
        ("event.account < 'b' && 'b' > event.account", Some(true)),
        ("event.result == null || event.result != null", Some(true)),
    ];
    for (src, want) in cases {
        let (e, _) = Expr::compile(src).expect("compiles");
        let fast = e.fast_bool(&vars).ok();
        assert_eq!(fast, want, "`{src}` compiled");
        let interpreted = e.eval_interpreted(&vars);
        if let Some(b) = want {
            assert_eq!(interpreted, Ok(Json::Bool(b)), "`{src}` interpreted");
        }
        assert_eq!(
            e.eval_bool(&vars).ok(),
            interpreted_bool(&interpreted),
            "`{src}`"
        );
    }
}

pub(super) fn interpreted_bool(r: &Result<Json, String>) -> Option<bool> {
    match r {
        Ok(Json::Bool(b)) => Some(*b),
        _ => None,
    }
}
