//! Webhooks of analyst outcomes again after a restart. A decision's notice
//! is queued after its entry is durable, and the notifier's queue is in
//! memory: a crash between the two, or with the notice still queued or
//! being retried, would leave the service waiting for a payment it should
//! release or cancel. So at start the workbench queues again the notice of
//! every outcome the log holds from the last [`RESEND_WINDOW_MS`] of server
//! time, with the same notice id as the first (`review:<case>:<event>:<kind>`):
//! delivery is at least once, and a service drops an id it has seen.

use crate::workbench::Workbench;
use sekimori_notify::Notice;
use serde_json::json;

/// How far back (server time) outcomes are notified again at start.
pub const RESEND_WINDOW_MS: i64 = 24 * 3_600_000;

/// The notice of an analyst's outcome on a held event.
#[allow(clippy::too_many_arguments)]
pub(crate) fn outcome_notice(
    case: u64,
    service: &str,
    entity: &str,
    event_id: &str,
    event_type: &str,
    approved: bool,
    by: &str,
    at: &str,
) -> Notice {
    let kind = if approved {
        "review.approved"
    } else {
        "review.declined"
    };
    Notice {
        id: format!("review:{case}:{event_id}:{kind}"),
        kind: kind.into(),
        account: Some(entity.into()),
        service: service.into(),
        at: at.into(),
        action: if approved { "allow" } else { "deny" }.into(),
        summary: json!({"event_id": event_id, "event_type": event_type,
                        "case": case, "by": by}),
    }
}

impl Workbench {
    /// Queues again the notices of the outcomes decided in the last
    /// [`RESEND_WINDOW_MS`]; returns how many.
    pub fn resend_recent_outcomes(&self) -> usize {
        let since = self.now_ms() - RESEND_WINDOW_MS;
        let notices: Vec<Notice> = {
            let index = self.index();
            index
                .cases()
                .flat_map(|c| {
                    c.events.iter().filter_map(move |e| {
                        let o = e.outcome.as_ref()?;
                        let at = sekimori_event::parse_rfc3339_ms(&o.at)?;
                        (at >= since).then(|| {
                            outcome_notice(
                                c.id,
                                &c.service,
                                &c.entity,
                                &e.event_id,
                                &e.event_type,
                                o.approved,
                                &o.by,
                                &o.at,
                            )
                        })
                    })
                })
                .collect()
        };
        let n = notices.len();
        for notice in notices {
            if !self.host.notify(notice) {
                return 0;
            }
        }
        if n > 0 {
            tracing::info!(
                notices = n,
                "workbench: outcomes of the last 24 h notified again (same ids)"
            );
        }
        n
    }
}
