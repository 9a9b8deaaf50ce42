//! An admin's changes to analysts: disable, enable, reset (a new password
//! and TOTP seed), removal of passkeys with a reason (the pages'). Each is
//! logged; a disable, a reset or a passkey removal ends the analyst's
//! sessions; a reset's removal of the analyst's passkeys is logged too.

use crate::acts::Act;
use crate::analysts::Role;
use crate::error::WbError;
use crate::sessions::Session;
use crate::workbench::Workbench;
use sekimori_stepup::totp_uri::OtpauthUri;

impl Workbench {
    fn admin_on_other(s: &Session, login: &str) -> Result<(), WbError> {
        if s.role != Role::Admin {
            return Err(WbError::Forbidden("admin"));
        }
        if s.login == login {
            return Err(WbError::Conflict(
                "another admin changes your own account".into(),
            ));
        }
        Ok(())
    }

    /// Disables (or enables) an analyst; returns the sessions ended.
    pub async fn set_analyst_disabled(
        &self,
        s: &Session,
        login: &str,
        disabled: bool,
    ) -> Result<usize, WbError> {
        Self::admin_on_other(s, login)?;
        self.analysts.set_disabled(login, disabled)?;
        let ended = if disabled {
            self.sessions.end_all(login)
        } else {
            0
        };
        let act = if disabled {
            Act::DisableAnalyst {
                login: login.into(),
            }
        } else {
            Act::EnableAnalyst {
                login: login.into(),
            }
        };
        self.record(&s.login, &act, "").await?;
        Ok(ended)
    }

    /// Resets an analyst's password and TOTP; returns the new provisioning
    /// URI (shown once) and the sessions ended.
    pub async fn reset_analyst(
        &self,
        s: &Session,
        login: &str,
        password: &str,
    ) -> Result<(OtpauthUri, usize), WbError> {
        Self::admin_on_other(s, login)?;
        // The passkeys the reset takes away (it clears them all, under the
        // file's lock; one registered between this read and the reset is
        // in the log as registered, and `all` says none survived).
        let passkeys: Vec<String> = self
            .analysts
            .passkeys(login)?
            .unwrap_or_default()
            .into_iter()
            .map(|p| p.id)
            .collect();
        let (_, uri) = self
            .analysts
            .reset(login, password, &s.login, self.now_ms())?;
        let ended = self.sessions.end_all(login);
        let act = Act::ResetAnalyst {
            login: login.into(),
        };
        self.record(&s.login, &act, "").await?;
        if !passkeys.is_empty() {
            let act = Act::PasskeysRemoved {
                login: login.into(),
                ids: passkeys,
                all: true,
                reason: crate::acts::PasskeyRemoval::Reset,
            };
            self.record(&s.login, &act, "").await?;
        }
        Ok((uri, ended))
    }

    /// An admin removes `login`'s passkey `id`, or all of them; the
    /// analyst's sessions end unless it is the admin's own account, and the
    /// removal is logged (`passkeys_removed`, reason `admin`). `why`: the
    /// pages ask a reason (required: one line of at most
    /// [`MAX_HOLD_REASON_CHARS`](crate::hold_actions::MAX_HOLD_REASON_CHARS)
    /// characters, logged as the act's `why`); `None` for the API, which
    /// takes none (`Workbench::remove_passkeys` calls this with `None`).
    /// Returns how many passkeys went.
    pub async fn remove_passkeys_logged(
        &self,
        s: &Session,
        login: &str,
        id: Option<&str>,
        why: Option<&str>,
    ) -> Result<usize, WbError> {
        if s.role != Role::Admin {
            return Err(WbError::Forbidden("admin"));
        }
        let why = match why {
            Some(r) => crate::hold_actions::reason(r)?,
            None => String::new(),
        };
        let ids = self.analysts.remove_passkeys(login, id)?;
        if !ids.is_empty() && s.login != login {
            self.sessions.end_all(login);
        }
        tracing::info!(by = %s.login, login = %login, removed = ids.len(), "workbench passkeys removed");
        let removed = ids.len();
        if removed > 0 {
            let act = Act::PasskeysRemoved {
                login: login.into(),
                ids,
                all: id.is_none(),
                reason: crate::acts::PasskeyRemoval::Admin,
            };
            self.record(&s.login, &act, &why).await?;
        }
        Ok(removed)
    }
}
