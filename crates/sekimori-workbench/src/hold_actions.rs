//! Holds and lists from a case: place a hold, lift one (four eyes), add an
//! entity to a list of the live pack until an expiry. Each goes through
//! the engine's own mechanism by the same ledger path as the service API
//! (`Entry::Place`, `Entry::Lift`, `Entry::List`, with the analyst as
//! `by` and the reason as `why`), then the workbench logs its own
//! `Entry::Analyst` act tying it to the case.

use crate::acts::Act;
use crate::analysts::Role;
use crate::error::WbError;
use crate::sessions::Session;
use crate::workbench::Workbench;
use sekimori_engine::{HoldKey, HoldScope};
use sekimori_rules::Action;

/// The longest hold reason, in characters (as `POST /v1/holds`).
pub const MAX_HOLD_REASON_CHARS: usize = 512;
/// The longest a workbench list item lives (90 days), in hours.
pub const MAX_LIST_HOURS: u32 = 90 * 24;

/// What a lift did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LiftOutcome {
    /// The first eyes: the lift waits for a second, independent supervisor.
    Requested,
    /// The second eyes: the hold is lifted.
    Lifted,
}

/// How the engine's entries name an analyst (`key:` names a key).
pub fn analyst_by(login: &str) -> String {
    format!("analyst:{login}")
}

pub fn scope_of(name: &str) -> Option<HoldScope> {
    serde_json::from_value(serde_json::Value::String(name.into())).ok()
}

/// A required one-line reason (a hold's, a passkey removal's).
pub(crate) fn reason(r: &str) -> Result<String, WbError> {
    let r = crate::actions::text("reason", r, true)?;
    if r.chars().count() > MAX_HOLD_REASON_CHARS || r.contains(['\n', '\t']) {
        return Err(WbError::invalid(
            "reason",
            format!("one line of at most {MAX_HOLD_REASON_CHARS} characters"),
        ));
    }
    Ok(r)
}

fn check_key(scope: HoldScope, key: &str) -> Result<(), WbError> {
    let ok = match scope {
        HoldScope::Asset => {
            (2..=12).contains(&key.len())
                && key
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        }
        HoldScope::Bank => key.len() == 4 && key.bytes().all(|b| b.is_ascii_digit()),
        _ => {
            (1..=256).contains(&key.chars().count())
                && key.trim() == key
                && !key.chars().any(char::is_control)
        }
    };
    if ok {
        Ok(())
    } else {
        Err(WbError::invalid(
            "key",
            "an asset is a currency code, a bank its 4-digit code, anything else 1-256 characters without controls or edge spaces",
        ))
    }
}

impl Workbench {
    /// The service of an existing case.
    async fn case_service(&self, case: u64) -> Result<String, WbError> {
        let index = self.sync().await?;
        Ok(index
            .case(case)
            .ok_or(WbError::NotFound("case"))?
            .service
            .clone())
    }

    /// Places a hold on the case's service: a freeze on an account (any
    /// analyst: refusing never releases money), a halt on anything else (a
    /// supervisor: it stops a whole scope of the business).
    pub async fn place_hold(
        &self,
        s: &Session,
        case: u64,
        scope: HoldScope,
        key: &str,
        why: &str,
    ) -> Result<(HoldKey, Action), WbError> {
        let service = self.case_service(case).await?;
        let why = reason(why)?;
        check_key(scope, key)?;
        let action = if scope == HoldScope::Account {
            Action::Freeze
        } else {
            if s.role < Role::Supervisor {
                return Err(WbError::Forbidden("supervisor"));
            }
            Action::Halt
        };
        let hold = HoldKey {
            service,
            scope,
            key: key.into(),
        };
        let placed = self
            .host
            .place_hold(hold.clone(), action, analyst_by(&s.login), why.clone())
            .await?;
        if !placed {
            return Err(WbError::Conflict(
                "a hold is already in force on this key".into(),
            ));
        }
        let act = Act::PlaceHold {
            case: Some(case),
            hold: hold.clone(),
            action,
        };
        self.record(&s.login, &act, &why).await?;
        Ok((hold, action))
    }

    /// Lifting a hold releases what it held: two supervisors. The first
    /// asks (logged); a second one, independent of the first
    /// ([`crate::analysts::independent`]), lifts it through the ledger.
    pub async fn lift_hold(
        &self,
        s: &Session,
        case: u64,
        scope: HoldScope,
        key: &str,
        service: Option<&str>,
        why: &str,
    ) -> Result<LiftOutcome, WbError> {
        let case_service = self.case_service(case).await?;
        if s.role < Role::Supervisor {
            return Err(WbError::Forbidden("supervisor"));
        }
        let why = reason(why)?;
        // A case's page lifts its own service's holds, or a global one.
        let service = match service {
            None => case_service,
            Some(x) if x == case_service || x == sekimori_engine::EVERY_SERVICE => x.to_string(),
            Some(_) => return Err(WbError::invalid("service", "the case's service or `*`")),
        };
        let hold = HoldKey {
            service: service.clone(),
            scope,
            key: key.into(),
        };
        let in_force = self
            .host
            .holds(service)
            .await
            .into_iter()
            .any(|(k, _, _)| k == hold);
        if !in_force {
            return Err(WbError::NotFound("hold in force"));
        }
        let requested = self
            .sync()
            .await?
            .lift_requested_by(&hold)
            .map(String::from);
        match requested {
            None => {
                let act = Act::RequestLift {
                    case: Some(case),
                    hold,
                };
                self.record(&s.login, &act, &why).await?;
                Ok(LiftOutcome::Requested)
            }
            Some(first) if first == s.login => Err(WbError::Conflict(
                "you asked for this lift: a second supervisor lifts it (four eyes)".into(),
            )),
            Some(first) => {
                self.check_independent(&s.login, std::slice::from_ref(&first))?;
                let lifted = self
                    .host
                    .lift_hold(hold.clone(), analyst_by(&s.login), why.clone())
                    .await?;
                if !lifted {
                    return Err(WbError::NotFound("hold in force"));
                }
                let act = Act::LiftHold {
                    case: Some(case),
                    hold,
                    requested_by: first,
                };
                self.record(&s.login, &act, &why).await?;
                Ok(LiftOutcome::Lifted)
            }
        }
    }

    /// Adds `item` to the live pack's list `list` for `hours` (a
    /// supervisor), if `list` is one the workbench may edit
    /// ([`crate::Config::editable_lists`]: refusal lists only; a list that
    /// configures the pack, such as `linked_services`, or one that can allow,
    /// is the operator's `PUT /v1/lists`). Taken off at its expiry by the
    /// background task ([`Workbench::expire_list_items`]), unless it was on
    /// the list before (the operator's entry is never lifted by an expiry).
    pub async fn add_to_list(
        &self,
        s: &Session,
        case: u64,
        list: &str,
        item: &str,
        hours: u32,
        why: &str,
    ) -> Result<String, WbError> {
        self.case_service(case).await?;
        if s.role < Role::Supervisor {
            return Err(WbError::Forbidden("supervisor"));
        }
        let why = reason(why)?;
        if !self.config.editable_lists.iter().any(|l| l == list) {
            return Err(WbError::invalid(
                "list",
                format!(
                    "the workbench adds only to {} (refusal lists; the operator edits the others with PUT /v1/lists)",
                    self.config.editable_lists.join(", ")
                ),
            ));
        }
        if !(1..=MAX_LIST_HOURS).contains(&hours) {
            return Err(WbError::invalid(
                "expires_in_hours",
                format!("1 to {MAX_LIST_HOURS} hours"),
            ));
        }
        if item.is_empty()
            || item.chars().count() > 256
            || item.trim() != item
            || item.chars().any(char::is_control)
        {
            return Err(WbError::invalid(
                "item",
                "1-256 characters, no controls or edge spaces",
            ));
        }
        let ours = self.sync().await?.is_timed_item(list, item);
        let added = self
            .host
            .edit_list(
                list.into(),
                vec![item.into()],
                Vec::new(),
                analyst_by(&s.login),
            )
            .await?;
        let expires_at =
            sekimori_event::format_rfc3339_ms(self.now_ms() + i64::from(hours) * 3_600_000);
        let act = Act::ListAdd {
            case: Some(case),
            list: list.into(),
            item: item.into(),
            expires_at: expires_at.clone(),
            already_listed: !added && !ours,
        };
        self.record(&s.login, &act, &why).await?;
        Ok(expires_at)
    }

    /// Takes the workbench's list items past their expiry off their lists
    /// (the background task runs it; server time). Returns how many.
    pub async fn expire_list_items(&self) -> Result<usize, WbError> {
        let expired = self.sync().await?.expired_items(self.now_ms());
        for (list, item) in &expired {
            self.host
                .edit_list(
                    list.clone(),
                    Vec::new(),
                    vec![item.clone()],
                    "workbench:expiry".into(),
                )
                .await?;
            let act = Act::ListExpire {
                list: list.clone(),
                item: item.clone(),
            };
            self.record("workbench:expiry", &act, "expired").await?;
        }
        Ok(expired.len())
    }
}
