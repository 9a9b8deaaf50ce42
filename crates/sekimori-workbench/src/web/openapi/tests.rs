//! The workbench document against the code: codes, enums, routes.

use super::*;

#[test]
fn every_error_code_is_listed_with_its_status() {
    for e in every_error() {
        let status = e.status().as_u16();
        assert!(
            ERROR_CODES.contains(&(e.code(), status)),
            "{} {status} is not in ERROR_CODES",
            e.code()
        );
    }
    assert_eq!(every_error().len(), ERROR_CODES.len());
}

#[test]
fn service_labels_are_the_documented_ones() {
    let doc: Vec<Value> = [
        ServiceLabel::Chargeback,
        ServiceLabel::Dispute,
        ServiceLabel::CustomerConfirmed,
        ServiceLabel::CustomerDenied,
    ]
    .iter()
    .map(|l| serde_json::to_value(l).unwrap_or(Value::Null))
    .collect();
    let code: Vec<Value> = crate::acts::SERVICE_LABELS
        .iter()
        .map(|l| json!(l))
        .collect();
    assert_eq!(doc, code);
}

#[test]
fn doc_enums_serialize_as_the_workbench_types() {
    for r in [Role::Analyst, Role::Supervisor, Role::Admin] {
        assert_eq!(
            serde_json::to_value(AnalystRole::of(r)).ok(),
            serde_json::to_value(r).ok()
        );
    }
    for d in Disposition::ALL {
        assert_eq!(
            serde_json::to_value(DispositionName::of(d)).ok(),
            serde_json::to_value(d).ok()
        );
    }
    for a in [Action::Allow, Action::Review, Action::Halt] {
        assert_eq!(
            serde_json::to_value(CaseAction::of(a)).ok(),
            serde_json::to_value(a).ok()
        );
    }
}

#[test]
fn the_document_has_every_api_route() {
    let doc = doc();
    let mut ops: Vec<(String, String)> = Vec::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in item.as_object().into_iter().flatten().map(|(m, _)| m) {
            ops.push((method.clone(), path.clone()));
        }
    }
    ops.sort();
    let mut routes: Vec<(String, String)> = crate::ROUTES
        .iter()
        .filter(|(_, p)| p.starts_with("/v1/"))
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    routes.sort();
    assert_eq!(
        ops, routes,
        "every /v1/ route of the workbench is an operation of web::openapi's doc (add its handler to `paths(...)`)"
    );
}
