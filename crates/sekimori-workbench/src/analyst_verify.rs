//! Password and TOTP sign-in of an analyst ([`Analysts::verify_from`]).

use crate::analyst_secrets::{dummy_hash, verify_password};
use crate::analysts::{binding, AnalystInfo, Analysts};
use crate::error::WbError;
use sekimori_stepup::{client_key, Now, TOTP_LOCK_AFTER};

impl Analysts {
    /// [`Analysts::verify_from`] for a client of unknown address.
    pub fn verify(
        &self,
        login: &str,
        password: &str,
        code: &str,
        now_ms: i64,
    ) -> Result<AnalystInfo, WbError> {
        self.verify_from(login, password, code, now_ms, None)
    }

    /// Checks a password and a TOTP code at server time `now_ms` from
    /// `client` (its address key, [`crate::throttle::address_key`]). Every
    /// refusal is the same `sign_in_failed`: no telling a wrong login, a
    /// disabled analyst, a wrong password, a wrong code or a code refused
    /// by the TOTP back-off apart (so a right password is not told by a
    /// different answer, and the sign-in back-off of [`crate::throttle`]
    /// counts both alike). An unknown login costs the same argon2id check.
    /// A wrong password writes nothing (the back-off is in memory).
    ///
    /// The TOTP back-off is per (login, client): a client's own failures
    /// back it off; the account-wide count backs off only clients that never
    /// passed for this analyst, and a failure from such a client never
    /// takes the account to the lock ([`TOTP_LOCK_AFTER`]), so someone with
    /// the password cannot lock the analyst out of their own device.
    pub fn verify_from(
        &self,
        login: &str,
        password: &str,
        code: &str,
        now_ms: i64,
        client: Option<&str>,
    ) -> Result<AnalystInfo, WbError> {
        let records = {
            let _serial = self.lock.lock().unwrap_or_else(|p| p.into_inner());
            self.read()?
        };
        let Some(r) = records.iter().find(|r| r.login == login) else {
            // The same work as for a real login, so timing tells nothing.
            let _ = verify_password(dummy_hash(), password);
            return Err(WbError::SignInFailed);
        };
        if !verify_password(&r.password, password) || r.disabled {
            return Err(WbError::SignInFailed);
        }
        // The code: under the file's lock, on a fresh read (the TOTP state
        // moves: last step used, failures).
        let _serial = self.exclusive()?;
        let mut records = self.read()?;
        let Some(r) = records.iter_mut().find(|r| r.login == login) else {
            return Err(WbError::SignInFailed);
        };
        let client = client.and_then(|a| client_key(None, Some(a)));
        let client = client.as_deref();
        let familiar = client
            .and_then(|c| r.totp.clients.get(c))
            .is_some_and(|c| c.familiar);
        let now = Now::from(now_ms);
        let unchecked = r.totp.refusal(now, client).is_some();
        let checked = r
            .totp
            .verify_from(&self.sealer, &binding(login), code, now, client);
        if checked.is_err() && !familiar {
            r.totp.failed_attempts = r.totp.failed_attempts.min(TOTP_LOCK_AFTER - 1);
        }
        let result = match checked {
            Ok(_) => Ok(AnalystInfo::from(&*r)),
            Err(_) => Err(WbError::SignInFailed),
        };
        if !unchecked {
            // Refused unchecked, nothing moved: nothing to write.
            self.write(&records)?;
        }
        result
    }
}
