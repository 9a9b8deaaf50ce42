//! The fast evaluator's reach: what it answers without the interpreter, and
//! that those answers are the interpreter's (debug builds also cross-check
//! every fast answer inside `Expr`).

use super::*;
use serde_json::json;

fn link(verified: Json) -> sekimori_event::Event {
    sekimori_event::decode_value(json!({
        "id": "e1", "type": "link.bank", "at": "2026-01-01T00:00:00Z", "service": "wallet",
        "account": "w-1", "bank": {"bank_code": "0001", "branch": "100", "number": "1234567"},
        "verified": verified,
    }))
    .expect("a valid link.bank")
}

/// Every expression of the default pack (rules, filters, keys, `of`s and
/// risk attributes) compiles to the fast evaluator.
#[test]
fn the_default_pack_compiles_to_the_fast_evaluator() {
    let source = crate::embedded::default_pack().expect("the default pack loads");
    let pack = crate::compile(source).expect("the default pack compiles");
    let mut slow = Vec::new();
    let mut check = |place: String, e: &Expr| {
        if e.path.is_none() && !e.is_fast() {
            slow.push(format!("{place}: {}", e.source()));
        }
    };
    for r in &pack.rules {
        check(format!("rule {}", r.name), &r.when);
    }
    for f in &pack.features {
        for e in f.filter.iter().chain(&f.key).chain(&f.of) {
            check(format!("feature {}", f.name), e);
        }
        for e in f.risk.iter().flatten().flatten() {
            check(format!("feature {} risk", f.name), e);
        }
    }
    assert!(slow.is_empty(), "run in the interpreter: {slow:#?}");
}

/// The typed event's array and list literals of expressions are read in
/// place: the interpreter's answers, and no interpreter run (the fallback
/// counter stays at zero) unless the interpreter reports an error. (The view
/// is built here all the same: debug builds check every answer against the
/// interpreter, which reads it.)
#[test]
fn arrays_and_item_lists_are_answered_without_the_interpreter() {
    let lists = ListValues::new(std::iter::empty());
    let sources = [
        "size(event.verified)",
        "event.verified",
        "size(event.verified) == 1 && event.verified[0] == 'pin'",
        "event.verified[1]",
        "'otp' in event.verified",
        "'pin' in event.verified",
        "[event.service, event.account]",
        "[event.service, event.verified]",
        "size([event.service, event.account, 3])",
        "[event.account, 1][1]",
        "[event.account, 1][2]",
        "event.account in [event.service, event.account]",
        "'x' in [event.service, event.account]",
        "event.bank.holder_name in [event.service]",
    ];
    let mut answered = 0;
    for verified in [json!([]), json!(["pin"]), json!(["pin", "otp"])] {
        let event = link(verified);
        let view = event_view(&event);
        let none = Json::Object(serde_json::Map::new());
        let reference = Vars::new(&view, &none, &lists);
        for source in sources {
            let (expr, _) = Expr::compile(source).expect(source);
            assert!(expr.is_fast(), "{source} is compiled");
            let r = EventRef::new(&event);
            let typed = Vars::typed(&r, &[], &[], &lists);
            let want = expr.eval_interpreted(&reference);
            let before = expr.interpreted();
            let got = expr.eval(&typed);
            assert_eq!(got.is_ok(), want.is_ok(), "{source} on {view}");
            if let (Ok(got), Ok(want)) = (&got, &want) {
                assert_eq!(got, want, "{source} on {view}");
                assert_eq!(expr.interpreted(), before, "{source} fell back on {view}");
                answered += 1;
            }
            let part = expr.eval_part(&typed).map(|p| p.to_json());
            assert_eq!(part.ok(), want.ok(), "{source} as a part on {view}");
        }
    }
    assert!(answered >= 30, "{answered}");
}
