//! Analysts' passkeys, stored with the analyst in `analysts.json`: the
//! credential's public key, its signature counter and backup flags (the
//! webauthn-rs `Passkey`), a name and when it was added; nothing secret.
//! A credential id is held by at most one analyst. Signing in with one
//! ([`Analysts::passkey_sign_in`]) checks and moves its counter under the
//! file's lock, so two sign-ins with one assertion cannot both pass.

use crate::analysts::{AnalystInfo, Analysts};
use crate::error::WbError;
use sekimori_webauthn::{Passkey, Passkeys, PublicKeyCredential, SignInResponse, SignInState};
use serde::{Deserialize, Serialize};

/// The most passkeys one analyst registers.
pub const MAX_PASSKEYS_PER_ANALYST: usize = 10;
/// The longest passkey name (characters).
pub const MAX_PASSKEY_NAME: usize = 64;

/// One registered passkey.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AnalystPasskey {
    /// The credential id, hex.
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub passkey: Passkey,
    /// Registered under the analysts' own user handle
    /// ([`Passkeys::analyst_handle`], never a step-up account's); false
    /// for a passkey registered before it, under the login's account-style
    /// handle ([`Passkeys::user_handle`]), which signs in as it did.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub analyst_handle: bool,
}

impl AnalystPasskey {
    /// The user handle this passkey was registered under for `login`.
    pub fn user_handle(&self, login: &str) -> sekimori_webauthn::Uuid {
        if self.analyst_handle {
            Passkeys::analyst_handle(login)
        } else {
            Passkeys::user_handle(login)
        }
    }
}

/// What is shown of a passkey.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PasskeyInfo {
    pub id: String,
    pub name: String,
    pub created_at: String,
}

impl From<&AnalystPasskey> for PasskeyInfo {
    fn from(p: &AnalystPasskey) -> Self {
        PasskeyInfo {
            id: p.id.clone(),
            name: p.name.clone(),
            created_at: p.created_at.clone(),
        }
    }
}

/// What the stored passkeys look like from outside: how many each
/// analyst holding any has, and every credential id's length in bytes
/// (both sorted). A stand-in answer for a login without passkeys draws its
/// count and lengths from these, so its shape is one a real analyst's
/// answer has.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Shapes {
    pub counts: Vec<usize>,
    pub lengths: Vec<usize>,
}

/// A passkey's name: 1 to [`MAX_PASSKEY_NAME`] printable characters
/// (blank: `passkey`).
pub fn check_name(name: &str) -> Result<String, WbError> {
    let name = name.trim();
    if name.chars().count() > MAX_PASSKEY_NAME || name.chars().any(char::is_control) {
        return Err(WbError::invalid(
            "name",
            format!("at most {MAX_PASSKEY_NAME} printable characters"),
        ));
    }
    Ok(if name.is_empty() { "passkey" } else { name }.to_string())
}

impl Analysts {
    /// The passkeys of `login` (`None`: no such analyst).
    pub fn passkeys(&self, login: &str) -> Result<Option<Vec<PasskeyInfo>>, WbError> {
        Ok(self
            .read()?
            .iter()
            .find(|r| r.login == login)
            .map(|r| r.passkeys.iter().map(PasskeyInfo::from).collect()))
    }

    /// The stored passkeys of an enabled `login`, for a ceremony's
    /// `excludeCredentials` / `allowCredentials` (empty for anyone else).
    pub fn credentials(&self, login: &str) -> Result<Vec<Passkey>, WbError> {
        Ok(self
            .read()?
            .into_iter()
            .find(|r| r.login == login && !r.disabled)
            .map(|r| r.passkeys.into_iter().map(|p| p.passkey).collect())
            .unwrap_or_default())
    }

    /// For a sign-in's `allowCredentials`: the stored passkeys of an
    /// enabled `login`, or, when it has none (or is disabled, or unknown),
    /// the shapes a stand-in answer is drawn from ([`Shapes`]); one read
    /// of the file either way.
    pub(crate) fn credentials_or_shapes(
        &self,
        login: &str,
    ) -> Result<Result<Vec<Passkey>, Shapes>, WbError> {
        let records = self.read()?;
        if let Some(r) = records
            .iter()
            .find(|r| r.login == login && !r.disabled && !r.passkeys.is_empty())
        {
            return Ok(Ok(r.passkeys.iter().map(|p| p.passkey.clone()).collect()));
        }
        let mut shapes = Shapes::default();
        for r in records.iter().filter(|r| !r.passkeys.is_empty()) {
            shapes.counts.push(r.passkeys.len());
            shapes
                .lengths
                .extend(r.passkeys.iter().map(|p| p.passkey.cred_id().len()));
        }
        shapes.counts.sort_unstable();
        shapes.lengths.sort_unstable();
        Ok(Err(shapes))
    }

    /// Stores a newly registered passkey with `login`. A credential id any
    /// analyst already holds is 409 `conflict`.
    pub fn add_passkey(
        &self,
        login: &str,
        passkey: Passkey,
        name: &str,
        now_ms: i64,
    ) -> Result<PasskeyInfo, WbError> {
        let name = check_name(name)?;
        let id = hex::encode(passkey.cred_id());
        let _serial = self.exclusive()?;
        let mut records = self.read()?;
        if records
            .iter()
            .any(|r| r.passkeys.iter().any(|p| p.id == id))
        {
            return Err(WbError::Conflict(
                "this passkey is registered already".into(),
            ));
        }
        let r = records
            .iter_mut()
            .find(|r| r.login == login)
            .ok_or(WbError::NotFound("analyst"))?;
        if r.disabled {
            return Err(WbError::Forbidden("enabled analyst"));
        }
        if r.passkeys.len() >= MAX_PASSKEYS_PER_ANALYST {
            return Err(WbError::Conflict(format!(
                "at most {MAX_PASSKEYS_PER_ANALYST} passkeys per analyst"
            )));
        }
        let stored = AnalystPasskey {
            id,
            name,
            created_at: sekimori_event::format_rfc3339_ms(now_ms),
            passkey,
            analyst_handle: true,
        };
        let info = PasskeyInfo::from(&stored);
        r.passkeys.push(stored);
        self.write(&records)?;
        Ok(info)
    }

    /// Removes the passkey `id` of `login`, or all of them (`None`);
    /// returns the ids that went. An unknown analyst or passkey is 404.
    pub fn remove_passkeys(&self, login: &str, id: Option<&str>) -> Result<Vec<String>, WbError> {
        let _serial = self.exclusive()?;
        let mut records = self.read()?;
        let r = records
            .iter_mut()
            .find(|r| r.login == login)
            .ok_or(WbError::NotFound("analyst"))?;
        let (gone, kept): (Vec<AnalystPasskey>, Vec<AnalystPasskey>) =
            std::mem::take(&mut r.passkeys)
                .into_iter()
                .partition(|p| id.is_none_or(|id| p.id.eq_ignore_ascii_case(id)));
        r.passkeys = kept;
        if id.is_some() && gone.is_empty() {
            return Err(WbError::NotFound("passkey"));
        }
        if !gone.is_empty() {
            self.write(&records)?;
        }
        Ok(gone.into_iter().map(|p| p.id).collect())
    }

    /// Signs in with a passkey assertion: finds the analyst holding the
    /// credential (`hint`: the login typed, which must be the holder),
    /// refuses a disabled one, has webauthn-rs verify the assertion against
    /// the stored passkey and checks its counter, and stores the moved
    /// counter; all under the file's lock (a credential id no enabled
    /// analyst holds is refused before it). Every refusal is
    /// `sign_in_failed`.
    pub fn passkey_sign_in(
        &self,
        rp: &Passkeys,
        state: SignInState,
        response: &PublicKeyCredential,
        hint: Option<&str>,
    ) -> Result<AnalystInfo, WbError> {
        let presented = SignInResponse::of(response).map_err(|_| WbError::SignInFailed)?;
        let id = hex::encode(&presented.credential_id);
        // An id no enabled analyst holds (a guess, a removed or another
        // server's passkey) is refused on a plain read (the file is
        // written whole, by rename), without the file lock a counter's
        // update needs: a flood of made-up assertions does not queue on
        // the lock `sekimori users` and every admin change also take.
        let held = self.read()?.into_iter().any(|r| {
            !r.disabled
                && hint.is_none_or(|h| h == r.login)
                && r.passkeys.iter().any(|p| p.id == id)
        });
        if !held {
            return Err(WbError::SignInFailed);
        }
        let _serial = self.exclusive()?;
        let mut records = self.read()?;
        let Some(r) = records
            .iter_mut()
            .find(|r| r.passkeys.iter().any(|p| p.id == id))
        else {
            return Err(WbError::SignInFailed);
        };
        if r.disabled || hint.is_some_and(|h| h != r.login) {
            return Err(WbError::SignInFailed);
        }
        let Some(stored) = r.passkeys.iter_mut().find(|p| p.id == id) else {
            return Err(WbError::SignInFailed);
        };
        let handle = stored.user_handle(&r.login);
        let outcome = rp
            .finish_sign_in(state, response, handle, &mut stored.passkey)
            .map_err(|e| {
                tracing::info!(error = %e, "workbench passkey assertion refused");
                WbError::SignInFailed
            })?;
        let info = AnalystInfo::from(&*r);
        if outcome.passkey_changed {
            self.write(&records)?;
        }
        Ok(info)
    }
}
