//! Bulk actions on a selection of the queue: claim, release, or close with
//! a disposition and a note. Each case is done on its own, in order, with
//! its own result (one refused case does not stop the others); each is the
//! same action, logged the same way, as on its own.

use crate::acts::Disposition;
use crate::error::WbError;
use crate::sessions::Session;
use crate::workbench::Workbench;
use serde::{Deserialize, Serialize};

/// The most cases one bulk action takes.
pub const MAX_BULK: usize = 100;

/// What to do with each selected case.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BulkOp {
    Claim,
    Release,
    Close,
}

impl BulkOp {
    pub fn parse(s: &str) -> Option<BulkOp> {
        match s {
            "claim" => Some(BulkOp::Claim),
            "release" => Some(BulkOp::Release),
            "close" => Some(BulkOp::Close),
            _ => None,
        }
    }
}

/// The result for one case.
#[derive(Clone, Debug, Serialize)]
pub struct BulkResult {
    pub case: u64,
    pub ok: bool,
    /// The error's stable code when refused.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Workbench {
    /// Does `op` on each of `cases` (distinct, in the order given).
    pub async fn bulk(
        &self,
        s: &Session,
        cases: &[u64],
        op: BulkOp,
        disposition: Option<Disposition>,
        note: &str,
    ) -> Result<Vec<BulkResult>, WbError> {
        if cases.is_empty() {
            return Err(WbError::invalid("cases", "select at least one case"));
        }
        if cases.len() > MAX_BULK {
            return Err(WbError::invalid(
                "cases",
                format!("at most {MAX_BULK} cases at once"),
            ));
        }
        let disposition = match (op, disposition) {
            (BulkOp::Close, None) => {
                return Err(WbError::invalid(
                    "disposition",
                    "closing needs a disposition",
                ))
            }
            (BulkOp::Close, Some(d)) => {
                // Checked once, before any case is touched.
                crate::actions::text("note", note, true)?;
                Some(d)
            }
            (_, _) => None,
        };
        let mut seen = std::collections::BTreeSet::new();
        let mut out = Vec::with_capacity(cases.len());
        for &case in cases {
            if !seen.insert(case) {
                continue;
            }
            let r = match (op, disposition) {
                (BulkOp::Claim, _) => self.claim(s, case).await,
                (BulkOp::Release, _) => self.release(s, case).await,
                (BulkOp::Close, Some(d)) => self.close(s, case, d, note).await,
                (BulkOp::Close, None) => Err(WbError::invalid("disposition", "required")),
            };
            out.push(match r {
                Ok(()) => BulkResult {
                    case,
                    ok: true,
                    code: None,
                    message: None,
                },
                Err(e @ (WbError::Storage(_) | WbError::Unavailable(_))) => return Err(e),
                Err(e) => BulkResult {
                    case,
                    ok: false,
                    code: Some(e.code()),
                    message: Some(e.to_string()),
                },
            });
        }
        Ok(out)
    }
}
