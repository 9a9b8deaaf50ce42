//! Publishing a rule pack: the whole pack is compiled and its inline tests run
//! before anything changes; only then is it recorded and swapped in under the
//! ledger lock, so a bad pack never goes live and the old one keeps serving.

use crate::app::App;
use crate::error::ApiError;
use crate::ledger::LedgerError;
use crate::telemetry;
use sekimori_engine::run_pack_tests;
use sekimori_rules::{compile, Pack, PackSource};
use serde_json::json;
use std::sync::Arc;

#[derive(Debug)]
pub struct PublishOutcome {
    pub version: String,
    pub digest: String,
    /// False when the pack was already live (same digest).
    pub changed: bool,
    pub tests_passed: usize,
}

/// Compiles a pack and runs its inline tests; returns the pack and the number of tests passed.
pub fn check_pack(source: PackSource) -> Result<(Arc<Pack>, usize), ApiError> {
    let pack = compile(source).map_err(|errors| {
        ApiError::new(
            "invalid_pack",
            format!("{} problem(s); the live pack keeps serving", errors.len()),
        )
        .details(json!(errors))
    })?;
    let pack = Arc::new(pack);
    let outcomes = run_pack_tests(&pack);
    let failed: Vec<_> = outcomes
        .iter()
        .filter(|o| !o.passed())
        .map(|o| json!({"test": o.name, "failures": o.failures}))
        .collect();
    if !failed.is_empty() {
        return Err(ApiError::new(
            "pack_tests_failed",
            format!(
                "{} inline test(s) failed; the live pack keeps serving",
                failed.len()
            ),
        )
        .details(json!(failed)));
    }
    Ok((pack, outcomes.len()))
}

/// Validates, records and swaps in a pack.
pub async fn publish(
    app: &Arc<App>,
    source: PackSource,
    by: &str,
) -> Result<PublishOutcome, ApiError> {
    let (pack, tests_passed) = tokio::task::spawn_blocking(move || check_pack(source))
        .await
        .map_err(ApiError::internal)??;
    let outcome = |changed| PublishOutcome {
        version: pack.version().to_string(),
        digest: pack.digest.clone(),
        changed,
        tests_passed,
    };
    let durable = {
        let mut ledger = app.ledger.lock().await;
        if ledger.engine().pack().digest == pack.digest {
            return Ok(outcome(false));
        }
        let durable = ledger.publish(&pack, by).map_err(|e| match e {
            LedgerError::VersionExists(_) => ApiError::new(
                "pack_version_exists",
                "this version was published before with different content; bump `pack.version`",
            )
            .at("pack.version"),
            other => ApiError::internal(other),
        })?;
        app.set_live(Arc::clone(&pack));
        durable
    };
    app.settle(durable).await?;
    telemetry::pack_published(pack.version(), by);
    Ok(outcome(true))
}
