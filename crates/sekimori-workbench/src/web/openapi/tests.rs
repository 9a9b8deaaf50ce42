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

#[test]
fn every_passkey_operation_has_its_checked_description() {
    let doc = doc();
    let texts = super::passkeys::texts();
    let ops: Vec<(String, String)> = crate::ROUTES
        .iter()
        .filter(|(_, p)| p.starts_with("/v1/workbench/passkeys"))
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(ops.len(), texts.len(), "one text per passkey route");
    for (method, path, summary, description) in &texts {
        let op = &doc["paths"][*path][*method];
        assert_eq!(op["summary"], json!(summary), "{method} {path}");
        assert_eq!(op["description"], json!(description), "{method} {path}");
        // Every status a description names is one the operation answers.
        for status in ["400", "401", "403", "404", "409", "429"] {
            if description.contains(&format!("{status} `")) {
                assert!(
                    op["responses"][status].is_object(),
                    "{method} {path}: {status}"
                );
            }
        }
    }
    let start = &texts[0].3;
    assert!(start.contains("64 characters") && start.contains("429") && start.contains("stand-in"));
    let register = &texts[3].3;
    assert!(register.contains(&format!(
        "{} minutes ago",
        crate::web::passkeys::REGISTER_FRESH_MS / 60_000
    )));
}
