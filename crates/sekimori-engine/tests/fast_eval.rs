//! The fast evaluator answers exactly as the CEL interpreter does, on every
//! rule and feature filter of the default pack, for events of every type the
//! pack's own tests use and feature values chosen to reach edges (zero,
//! thresholds, null, overflow).

use sekimori_rules::{Expr, TestStep, Vars};
use serde_json::{json, Value as Json};
use std::path::Path;

fn default_pack() -> sekimori_rules::Pack {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/default");
    let source = sekimori_rules::load_pack(&dir).expect("the default pack loads");
    sekimori_rules::compile(source).expect("the default pack compiles")
}

/// Every event of the pack's tests, completed and decoded.
fn events(pack: &sekimori_rules::Pack) -> Vec<sekimori_event::Event> {
    let mut out = Vec::new();
    for case in &pack.source.tests {
        for step in &case.events {
            let template = match step {
                TestStep::Event(e) => e,
                TestStep::Repeat { event, .. } => event,
            };
            let mut e = template.clone();
            let Some(obj) = e.as_object_mut() else {
                continue;
            };
            let text = |v: &Json| v.to_string().replace("{i}", "1");
            let mut filled: serde_json::Map<String, Json> = obj
                .iter()
                .map(|(k, v)| {
                    let v = serde_json::from_str(&text(v)).expect("still JSON");
                    (k.clone(), v)
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

/// Every event of the pack's tests, seen as rules see it.
fn views(pack: &sekimori_rules::Pack) -> Vec<Json> {
    events(pack)
        .iter()
        .map(sekimori_engine::event_view)
        .collect()
}

/// Interpreter answer of a condition, as `eval_bool` reports it.
fn interpreted_bool(expr: &Expr, vars: &Vars<'_>) -> Result<bool, ()> {
    match expr.eval_interpreted(vars) {
        Ok(Json::Bool(b)) => Ok(b),
        _ => Err(()),
    }
}

#[test]
fn the_fast_evaluator_covers_the_default_pack() {
    let pack = default_pack();
    let slow: Vec<&str> = pack
        .rules
        .iter()
        .map(|r| &r.when)
        .chain(pack.features.iter().filter_map(|f| f.filter.as_ref()))
        .filter(|e| !e.is_fast())
        .map(Expr::source)
        .collect();
    assert!(slow.is_empty(), "run in the interpreter: {slow:?}");
}

#[test]
fn fast_and_interpreted_answers_agree() {
    let pack = default_pack();
    let events = views(&pack);
    assert!(events.len() > 50, "only {} test events", events.len());
    let edges: [Json; 12] = [
        json!(0),
        json!(1),
        json!(2),
        json!(4),
        json!(8),
        json!(50),
        json!(99),
        json!(1_000_000),
        json!(-3),
        json!(i64::MAX),
        json!(i64::MIN),
        Json::Null,
    ];
    let mut checked = 0u64;
    let mut fired = 0u64;
    for (n, view) in events.iter().enumerate() {
        for round in 0..6usize {
            let features: serde_json::Map<String, Json> = pack
                .features
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    (
                        f.name.clone(),
                        edges[(i * 7 + round * 11 + n) % edges.len()].clone(),
                    )
                })
                .collect();
            let features = Json::Object(features);
            let vars = Vars::new(view, &features, &pack.list_values);
            let exprs = pack
                .rules
                .iter()
                .map(|r| &r.when)
                .chain(pack.features.iter().filter_map(|f| f.filter.as_ref()));
            for expr in exprs {
                let fast = expr.eval_bool(&vars).map_err(|_| ());
                assert_eq!(
                    fast,
                    interpreted_bool(expr, &vars),
                    "`{}` on {view} with {features}",
                    expr.source()
                );
                checked += 1;
                fired += u64::from(fast == Ok(true));
            }
        }
    }
    // The inputs reach both answers, not only errors or `false`.
    assert!(fired > 100, "{fired} of {checked} fired");
}

/// The compiled pack reads the typed event through accessors and the
/// features through slots: the same answers as the interpreter over the
/// JSON view, every rule and filter, on every event and feature values
/// chosen to reach edges; every key and `of` reads the same value.
#[test]
fn typed_answers_agree_with_the_interpreter() {
    let pack = default_pack();
    let events = events(&pack);
    assert!(events.len() > 50, "only {} test events", events.len());
    let edges: [Json; 8] = [
        json!(0),
        json!(1),
        json!(3),
        json!(50),
        json!(1_000_000),
        json!(-3),
        json!(i64::MAX),
        Json::Null,
    ];
    let (mut checked, mut fired, mut parts) = (0u64, 0u64, 0u64);
    for (n, event) in events.iter().enumerate() {
        let view = sekimori_engine::event_view(event);
        for round in 0..4usize {
            let slots: Vec<Option<Json>> = (0..pack.features.len())
                .map(|i| Some(edges[(i * 5 + round * 3 + n) % edges.len()].clone()))
                .collect();
            let by_name = Json::Object(
                pack.features
                    .iter()
                    .zip(&slots)
                    .map(|(f, v)| (f.name.clone(), v.clone().unwrap_or(Json::Null)))
                    .collect(),
            );
            let r = sekimori_rules::EventRef::new(event);
            let typed = Vars::typed(&r, &slots, &pack.features, &pack.list_values);
            let reference = Vars::new(&view, &by_name, &pack.list_values);
            for rule in &pack.rules {
                let fast = rule.when.eval_bool(&typed).map_err(|_| ());
                assert_eq!(
                    fast,
                    interpreted_bool(&rule.when, &reference),
                    "`{}` on {view} with {by_name}",
                    rule.when.source()
                );
                checked += 1;
                fired += u64::from(fast == Ok(true));
            }
            let none = Json::Object(serde_json::Map::new());
            let plain = Vars::typed(&r, &[], &pack.features, &pack.list_values);
            let reference = Vars::new(&view, &none, &pack.list_values);
            for f in &pack.features {
                if let Some(filter) = &f.filter {
                    assert_eq!(
                        filter.eval_bool(&plain).map_err(|_| ()),
                        interpreted_bool(filter, &reference),
                        "`{}` on {view}",
                        filter.source()
                    );
                    checked += 1;
                }
                for e in f.key.iter().chain(&f.of) {
                    let part = e.eval_part(&plain).map(|p| p.to_json());
                    assert_eq!(part, e.eval(&reference), "`{}` on {view}", e.source());
                    parts += 1;
                }
            }
        }
    }
    assert!(fired > 100, "{fired} of {checked} fired");
    assert!(parts > 1000, "{parts} parts");
}
