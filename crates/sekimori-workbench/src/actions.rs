//! What an analyst can do, one function each, shared by the HTML pages and
//! the REST API. Each checks against the index as of the log's end, then
//! appends its entries through the ledger (durable before it answers).

use crate::acts::{Act, Disposition};
use crate::analysts::{AnalystInfo, Role};
use crate::error::WbError;
use crate::queue::{next_case, Filter};
use crate::sessions::Session;
use crate::workbench::Workbench;
use sekimori_engine::Entry;

/// The longest note, reason or label note, in bytes.
pub const MAX_TEXT: usize = 4_096;

/// The most cases one analyst holds claimed at once: a claim hides a case
/// from everyone else, so one analyst (or one stolen session) cannot hide
/// the queue.
pub const MAX_CLAIMS_PER_ANALYST: usize = 50;

/// A note, reason or label note as logged: trimmed, at most [`MAX_TEXT`]
/// bytes, line breaks as `\n` (a browser sends `\r\n`), tabs kept, and no
/// other control character (refused: they would hide text in the audit
/// log or a terminal).
pub(crate) fn text(path: &str, s: &str, required: bool) -> Result<String, WbError> {
    let s = s.replace("\r\n", "\n");
    let s = s.trim();
    if s.len() > MAX_TEXT {
        return Err(WbError::invalid(path, format!("at most {MAX_TEXT} bytes")));
    }
    if required && s.is_empty() {
        return Err(WbError::invalid(path, "required"));
    }
    let hidden = |c: char| {
        (c.is_control() && c != '\n' && c != '\t')
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    };
    if s.chars().any(hidden) {
        return Err(WbError::invalid(
            path,
            "no control or bidirectional-override characters (line breaks and tabs are fine)",
        ));
    }
    Ok(s.to_string())
}

/// Approvals, declines and closes, one at a time in this process: each
/// checks the case's state, appends, and notifies on what the log then says.
static DECISIONS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Workbench {
    fn now_rfc3339(&self) -> String {
        sekimori_event::format_rfc3339_ms(self.now_ms())
    }

    /// Logs `act` by `who` with `why`, then brings the index up to it.
    pub(crate) async fn record(&self, who: &str, act: &Act, why: &str) -> Result<(), WbError> {
        let act = serde_json::to_value(act).map_err(|e| WbError::Storage(e.to_string()))?;
        self.append(Entry::Analyst {
            by: who.into(),
            at: self.now_rfc3339(),
            act,
            why: why.into(),
        })
        .await?;
        self.sync().await.map(drop)
    }

    /// Refuses a case that is missing, closed, or held by someone else now.
    async fn check_case(&self, who: &str, case: u64) -> Result<(), WbError> {
        let index = self.sync().await?;
        let c = index.case(case).ok_or(WbError::NotFound("case"))?;
        if !c.is_open() {
            return Err(WbError::Conflict("the case is closed".into()));
        }
        match c.claimed_by(self.now_ms()) {
            Some(other) if other != who => {
                Err(WbError::Conflict(format!("the case is claimed by {other}")))
            }
            _ => Ok(()),
        }
    }

    /// Claims a case (a lock for [`crate::CLAIM_MS`]; renewed if already
    /// the caller's).
    pub async fn claim(&self, s: &Session, case: u64) -> Result<(), WbError> {
        self.check_case(&s.login, case).await?;
        {
            let index = self.index();
            let now = self.now_ms();
            let mine = index.case(case).and_then(|c| c.claimed_by(now)) == Some(s.login.as_str());
            if !mine && index.claims_of(&s.login, now) >= MAX_CLAIMS_PER_ANALYST {
                return Err(WbError::Conflict(format!(
                    "you hold {MAX_CLAIMS_PER_ANALYST} claims: release or close one first"
                )));
            }
        }
        self.record(&s.login, &Act::Claim { case }, "").await
    }

    pub async fn release(&self, s: &Session, case: u64) -> Result<(), WbError> {
        self.check_case(&s.login, case).await?;
        self.record(&s.login, &Act::Release { case }, "").await
    }

    pub async fn note(&self, s: &Session, case: u64, note: &str) -> Result<(), WbError> {
        let note = text("note", note, true)?;
        let exists = self.sync().await?.case(case).is_some();
        if !exists {
            return Err(WbError::NotFound("case"));
        }
        self.record(&s.login, &Act::Note { case }, &note).await
    }

    /// Claims the top of the caller's queue; `None` when it is empty.
    pub async fn next(&self, s: &Session, filter: &Filter) -> Result<Option<u64>, WbError> {
        let found = next_case(&*self.sync().await?, &s.login, filter, self.now_ms());
        let Some(case) = found else {
            return Ok(None);
        };
        self.claim(s, case).await?;
        Ok(Some(case))
    }

    /// Approves or declines a held event of the case: logged, then the
    /// service is told by a signed webhook (`review.approved` /
    /// `review.declined`) and releases or cancels the payment itself.
    pub async fn decide(
        &self,
        s: &Session,
        case: u64,
        event_id: &str,
        approve: bool,
        reason: &str,
    ) -> Result<(), WbError> {
        let reason = text("reason", reason, true)?;
        if approve && s.role < Role::Supervisor {
            return Err(WbError::Forbidden("supervisor"));
        }
        // From the check that the event is still held to the notice: one
        // decision at a time, so a decline and a last approval racing on the
        // same event never both pass the check and both notify the service.
        let _one_at_a_time = DECISIONS.lock().await;
        self.check_case(&s.login, case).await?;
        let (service, entity, event_type, approvals) = {
            let index = self.sync().await?;
            let c = index.case(case).ok_or(WbError::NotFound("case"))?;
            let e = c
                .events
                .iter()
                .find(|e| e.event_id == event_id)
                .ok_or(WbError::NotFound("event in this case"))?;
            if !e.is_held() {
                return Err(WbError::Conflict(
                    "only an event held for review, not yet decided, can be approved or declined"
                        .into(),
                ));
            }
            if approve && e.approvals.contains(&s.login) {
                return Err(WbError::Conflict(
                    "you approved this already: a second supervisor approves (four eyes)".into(),
                ));
            }
            (
                c.service.clone(),
                c.entity.clone(),
                e.event_type.clone(),
                e.approvals.clone(),
            )
        };
        if approve {
            self.check_independent(&s.login, &approvals)?;
        }
        let act = if approve {
            Act::Approve {
                case,
                service: service.clone(),
                event_id: event_id.into(),
                role: Some(s.role),
            }
        } else {
            Act::Decline {
                case,
                service: service.clone(),
                event_id: event_id.into(),
                role: Some(s.role),
            }
        };
        self.record(&s.login, &act, &reason).await?;
        let outcome = self
            .sync()
            .await?
            .case(case)
            .and_then(|c| c.events.iter().find(|e| e.event_id == event_id))
            .and_then(|e| e.outcome.clone());
        let Some(outcome) = outcome else {
            // The first of the four eyes: nothing is released yet.
            return Ok(());
        };
        // What the log says happened (under the lock above, this act's own
        // outcome), never what was asked.
        self.host.notify(crate::resend::outcome_notice(
            case,
            &service,
            &entity,
            event_id,
            &event_type,
            outcome.approved,
            &s.login,
            &self.now_rfc3339(),
        ));
        Ok(())
    }

    /// Closes a case with a disposition and a required note; each of its
    /// events is labelled with the disposition.
    pub async fn close(
        &self,
        s: &Session,
        case: u64,
        disposition: Disposition,
        note: &str,
    ) -> Result<(), WbError> {
        let note = text("note", note, true)?;
        let _one_at_a_time = DECISIONS.lock().await;
        self.check_case(&s.login, case).await?;
        let (service, events) = {
            let index = self.sync().await?;
            let c = index.case(case).ok_or(WbError::NotFound("case"))?;
            // A held payment is released or cancelled by a decision, with its
            // webhook; closing around it would leave the service waiting.
            if index.undecided_held(case) > 0 {
                return Err(WbError::Conflict(
                    "the case holds an event waiting for a decision: approve or decline it first"
                        .into(),
                ));
            }
            let ids: Vec<String> = c.events.iter().map(|e| e.event_id.clone()).collect();
            (c.service.clone(), ids)
        };
        for event_id in events {
            self.append(Entry::Label {
                service: service.clone(),
                event_id,
                label: disposition.name().into(),
                by: s.login.clone(),
                at: self.now_rfc3339(),
                note: String::new(),
            })
            .await?;
        }
        self.record(&s.login, &Act::Close { case, disposition }, &note)
            .await
    }

    /// An admin creates an analyst; returns the TOTP provisioning URI (shown once).
    pub async fn create_analyst(
        &self,
        s: &Session,
        login: &str,
        role: Role,
        password: &str,
    ) -> Result<(AnalystInfo, sekimori_stepup::totp_uri::OtpauthUri), WbError> {
        if s.role != Role::Admin {
            return Err(WbError::Forbidden("admin"));
        }
        let made = self
            .analysts
            .create(login, role, password, &s.login, self.now_ms())?;
        let act = Act::CreateAnalyst {
            login: login.into(),
            role,
        };
        self.record(&s.login, &act, "").await?;
        Ok(made)
    }

    /// A service's label on one of its events (`POST /v1/labels`).
    pub async fn label(
        &self,
        key_name: &str,
        service: &str,
        event_id: &str,
        label: &str,
        note: &str,
    ) -> Result<(), WbError> {
        // A service says what it learnt (a chargeback, the customer's word);
        // a disposition is an analyst's verdict, never a key's: rule quality
        // and backtests read them apart.
        if !crate::acts::SERVICE_LABELS.contains(&label) {
            return Err(WbError::invalid(
                "label",
                "one of chargeback, dispute, customer_confirmed, customer_denied (a disposition is an analyst's, given when a case is closed)",
            ));
        }
        if event_id.is_empty() || event_id.len() > 256 {
            return Err(WbError::invalid("event_id", "1-256 bytes"));
        }
        let note = text("note", note, false)?;
        let logged = self
            .store
            .seq_of_service_event(service, event_id)
            .map_err(|e| WbError::Storage(e.to_string()))?;
        if logged.is_none() {
            return Err(WbError::NotFound("event of this service"));
        }
        self.append(Entry::Label {
            service: service.into(),
            event_id: event_id.into(),
            label: label.into(),
            // Keys and analysts name themselves apart in the log.
            by: format!("key:{key_name}"),
            at: self.now_rfc3339(),
            note,
        })
        .await?;
        self.sync().await.map(drop)
    }

    /// Four eyes: the approver must be a supervisor on record now (not
    /// disabled), not an account an analyst created or reset through the
    /// workbench in the last [`crate::analysts::FOUR_EYES_FRESH_DAYS`] days
    /// ([`made_by_an_analyst_recently`]: an admin who makes or resets two
    /// supervisors would otherwise hold both eyes), and independent of every
    /// earlier approver of the event, each of whom must still be an active
    /// analyst ([`crate::analysts::independent`]: neither created nor
    /// re-enrolled the other in those days).
    pub(crate) fn check_independent(&self, login: &str, earlier: &[String]) -> Result<(), WbError> {
        let me = self
            .analysts
            .get(login)?
            .filter(|a| !a.disabled && a.role >= Role::Supervisor)
            .ok_or(WbError::Forbidden("supervisor"))?;
        let now = self.now_ms();
        let days = crate::analysts::FOUR_EYES_FRESH_DAYS;
        if !earlier.is_empty() && made_by_an_analyst_recently(&me, now) {
            return Err(WbError::Conflict(format!(
                "four eyes: {login} was created or reset through the workbench in the last {days} days and cannot be the second eyes yet (an operator's `sekimori users create` is not subject to this)"
            )));
        }
        for other in earlier {
            let first = self
                .analysts
                .get(other)?
                .filter(|a| !a.disabled)
                .ok_or_else(|| {
                    WbError::Conflict(format!(
                        "four eyes: the first approver {other} is no longer an active analyst, so this approval cannot be the second eyes: decline the event, or have an admin enable {other} again"
                    ))
                })?;
            if !crate::analysts::independent(&first, &me, now) {
                return Err(WbError::Conflict(format!(
                    "four eyes: the second approver must be independent of {other} (a different analyst, neither created nor re-enrolled by the other in the last {days} days)"
                )));
            }
        }
        Ok(())
    }
}

/// Who `sekimori users create` / `users reset` names as the maker: the
/// operator at the machine, whose accounts the four-eyes freshness rule
/// does not hold back (they could edit analysts.json anyway).
pub const OPERATOR: &str = "cli";

/// Whether an analyst (not the operator) created or (re-)enrolled `a` in
/// the last [`crate::analysts::FOUR_EYES_FRESH_DAYS`] days.
pub fn made_by_an_analyst_recently(a: &crate::analysts::AnalystInfo, now_ms: i64) -> bool {
    let fresh = |at: &str| {
        sekimori_event::parse_rfc3339_ms(at)
            .is_some_and(|t| now_ms - t < crate::analysts::FOUR_EYES_FRESH_DAYS * 86_400_000)
    };
    (a.created_by != OPERATOR && fresh(&a.created_at))
        || (!a.enrolled_by.is_empty() && a.enrolled_by != OPERATOR && fresh(&a.enrolled_at))
}
