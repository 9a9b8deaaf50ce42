//! Runs a pack's inline test cases: each case feeds its events to a fresh
//! engine and checks the decision on the last one.

use crate::engine::Engine;
use crate::Decision;
use sekimori_rules::{parse_ms, Pack, TestSource, TestStep};
use serde_json::{json, Value as Json};
use std::sync::Arc;

/// The first event time of a test case when it names none: 2026-01-01T00:00:00Z.
const BASE_MS: i64 = 1_767_225_600_000;
/// Upper bound on events one test case may expand to.
const MAX_TEST_EVENTS: u64 = 100_000;

/// The result of one test case.
#[derive(Clone, Debug, PartialEq)]
pub struct TestOutcome {
    pub name: String,
    /// Empty when the case passed.
    pub failures: Vec<String>,
}

impl TestOutcome {
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Runs every test case of the pack.
pub fn run_pack_tests(pack: &Arc<Pack>) -> Vec<TestOutcome> {
    pack.source
        .tests
        .iter()
        .map(|t| run_case(pack, t))
        .collect()
}

fn run_case(pack: &Arc<Pack>, case: &TestSource) -> TestOutcome {
    let failures = match expand(case) {
        Err(e) => vec![e],
        Ok(events) => {
            let mut engine = Engine::new(Arc::clone(pack));
            let mut last = None;
            let mut failures = Vec::new();
            for (n, v) in events.into_iter().enumerate() {
                match sekimori_event::decode_value(v) {
                    Ok(e) => last = Some(engine.decide(&e)),
                    Err(e) => failures.push(format!("event {}: {e}", n + 1)),
                }
            }
            match (last, failures.is_empty()) {
                (Some(d), true) => compare(case, &d),
                _ => failures,
            }
        }
    };
    TestOutcome {
        name: case.name.clone(),
        failures,
    }
}

fn compare(case: &TestSource, d: &Decision) -> Vec<String> {
    let mut out = Vec::new();
    let fired: Vec<&str> = d.reasons.iter().map(|r| r.rule.as_str()).collect();
    if let Some(want) = case.expect.action {
        if d.action != want {
            out.push(format!(
                "expected action {want:?}, got {:?} (fired: {fired:?})",
                d.action
            ));
        }
    }
    if let Some(want) = &case.expect.methods {
        if &d.methods != want {
            out.push(format!("expected methods {want:?}, got {:?}", d.methods));
        }
    }
    for r in case
        .expect
        .fired
        .iter()
        .filter(|r| !fired.contains(&r.as_str()))
    {
        out.push(format!(
            "expected rule `{r}` to fire (fired: {fired:?}, features: {:?})",
            d.features
        ));
    }
    for r in case
        .expect
        .not_fired
        .iter()
        .filter(|r| fired.contains(&r.as_str()))
    {
        out.push(format!("expected rule `{r}` not to fire"));
    }
    for (name, want) in &case.expect.features {
        let got = d.features.get(name).unwrap_or(&Json::Null);
        if got != want {
            out.push(format!("expected feature `{name}` = {want}, got {got}"));
        }
    }
    out.extend(
        d.errors
            .iter()
            .map(|e| format!("evaluation error in {}: {}", e.source, e.error)),
    );
    out
}

/// Expands repeats and fills `id`, `service` and `at` where a step leaves them out.
fn expand(case: &TestSource) -> Result<Vec<Json>, String> {
    let mut out = Vec::new();
    let mut at_ms = BASE_MS;
    for step in &case.events {
        let (times, every_ms, template) = match step {
            TestStep::Event(e) => (1, 1_000, e),
            TestStep::Repeat {
                repeat,
                every,
                event,
            } => {
                let every = every.as_deref().map_or(Ok(1_000), parse_ms)?;
                (u64::from(*repeat), every, event)
            }
        };
        if out.len() as u64 + times > MAX_TEST_EVENTS {
            return Err(format!("expands to more than {MAX_TEST_EVENTS} events"));
        }
        for i in 0..times {
            let mut e = substitute(template, i);
            let obj = e
                .as_object_mut()
                .ok_or("each test event must be an object")?;
            match obj
                .get("at")
                .and_then(Json::as_str)
                .and_then(sekimori_event::parse_rfc3339_ms)
            {
                Some(t) => at_ms = t,
                None => {
                    obj.insert("at".into(), json!(sekimori_event::format_rfc3339_ms(at_ms)));
                }
            }
            obj.entry("id")
                .or_insert_with(|| json!(format!("t{}", out.len() + 1)));
            obj.entry("service").or_insert_with(|| json!("test"));
            out.push(e);
            at_ms += every_ms;
        }
    }
    Ok(out)
}

/// Replaces `{i}` in every string of the template with the repetition number.
fn substitute(v: &Json, i: u64) -> Json {
    match v {
        Json::String(s) if s.contains("{i}") => Json::String(s.replace("{i}", &i.to_string())),
        Json::Array(a) => Json::Array(a.iter().map(|x| substitute(x, i)).collect()),
        Json::Object(m) => Json::Object(
            m.iter()
                .map(|(k, x)| (k.clone(), substitute(x, i)))
                .collect(),
        ),
        other => other.clone(),
    }
}
