//! Passkey sign-in and registration for analysts, shared by the pages
//! (`/ui/login/passkey/...`, `/ui/passkeys/...`: JSON posted by
//! `assets/passkey.js`, the CSRF token in `x-csrf-token`) and the REST API
//! (`/v1/workbench/passkeys/...`). The relying party is the server's
//! (`--rp-id`, `--rp-origin`). Every ceremony is held server-side
//! ([`crate::ceremonies`]): bound to the session (registration), to the
//! sign-in page's pre-session cookie (page sign-in) or to its own handle
//! (API sign-in), five minutes of server time, used once.

use super::{client, printable};
use crate::acts::Act;
use crate::analyst_passkeys::{check_name, PasskeyInfo, Shapes, MAX_PASSKEYS_PER_ANALYST};
use crate::ceremonies::Pending;
use crate::error::WbError;
use crate::i18n::Locale;
use crate::sessions::Session;
use crate::throttle::Verdict;
use crate::workbench::Workbench;
use sekimori_webauthn::{
    CreationChallengeResponse, CredentialID, Passkeys, PublicKeyCredential,
    RegisterPublicKeyCredential, RequestChallengeResponse,
};
use sha2::Sha256;
use std::sync::Arc;

/// A passkey is registered only from a session signed in this recently
/// (server time): whoever holds an older session (a borrowed laptop, a
/// stolen cookie) cannot turn it into a lasting way in.
pub const REGISTER_FRESH_MS: i64 = 10 * 60_000;

/// The throttle's key for a passkey sign-in without a login typed.
const NO_LOGIN: &str = "(passkey)";

fn rp(wb: &Workbench) -> Result<&Passkeys, WbError> {
    wb.config.passkeys.as_ref().ok_or(WbError::NotFound(
        "passkey relying party (passkeys are off)",
    ))
}

fn gone() -> WbError {
    WbError::invalid(
        "ceremony",
        "no such ceremony: unknown, used, expired or another client's; start again",
    )
}

/// The stand-in credential ids for a login that has no passkey (or is
/// disabled, or does not exist): shaped like a real analyst's answer: how
/// many ids, and each id's length, are drawn (keyed by the login) from the
/// stored passkeys' [`Shapes`], so neither the number of ids nor their
/// lengths tells which logins have passkeys. With no passkey stored
/// anywhere, one id of 16 bytes. Keyed (HMAC-SHA256) under `key`, derived
/// from the analysts' sealing key (`analysts.key`, or the shard's
/// `stepup.key`): a stand-in is the same after a restart, and on every
/// node of a shard, as a real id is.
pub(crate) fn decoy(key: &[u8; 32], login: &str, shapes: &Shapes) -> Vec<CredentialID> {
    use hmac::{Hmac, Mac};
    // Domain-separated blocks: HMAC(key, what, index, counter, login).
    let block = |what: &[u8], index: u32, counter: u32| {
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
        m.update(what);
        m.update(&index.to_be_bytes());
        m.update(&counter.to_be_bytes());
        m.update(login.as_bytes());
        m.finalize().into_bytes()
    };
    let pick = |what: &[u8], index: u32, from: &[usize], default: usize| {
        if from.is_empty() {
            return default;
        }
        let h = block(what, index, 0);
        let n = u64::from_be_bytes(h[..8].try_into().unwrap_or_default());
        from[(n % from.len() as u64) as usize]
    };
    let count = pick(b"count", 0, &shapes.counts, 1).clamp(1, MAX_PASSKEYS_PER_ANALYST);
    (0..count as u32)
        .map(|i| {
            let len = pick(b"length", i, &shapes.lengths, 16).clamp(16, 1023);
            let mut id = Vec::with_capacity(len + 32);
            let mut counter = 0u32;
            while id.len() < len {
                id.extend_from_slice(&block(b"id", i, counter));
                counter += 1;
            }
            id.truncate(len);
            CredentialID::from(id)
        })
        .collect()
}

fn throttle_key(hint: Option<&str>) -> &str {
    hint.unwrap_or(NO_LOGIN)
}

/// Refuses an attempt from an address backing off (429), as the
/// password path does; waits out the per-login slow-down.
async fn throttle(wb: &Workbench, hint: Option<&str>) -> Result<(), WbError> {
    match wb
        .throttle
        .check(throttle_key(hint), client().as_deref(), wb.now_ms())
    {
        Verdict::Wait => {
            metrics::counter!("sekimori_workbench_sign_ins_total", "outcome" => "throttled")
                .increment(1);
            Err(WbError::Throttled)
        }
        Verdict::Go { delay_ms } if delay_ms > 0 => {
            tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
            Ok(())
        }
        Verdict::Go { .. } => Ok(()),
    }
}

/// Starts a passkey sign-in bound to `binding`: with a login typed
/// (`hint`), its passkeys are listed (or a stand-in); without, the
/// browser offers its discoverable passkeys. Returns the ceremony's
/// handle and the options for `navigator.credentials.get()`.
pub(crate) async fn start_sign_in(
    wb: &Workbench,
    binding: Option<&str>,
    hint: Option<&str>,
) -> Result<(String, RequestChallengeResponse), WbError> {
    let rp = rp(wb)?;
    let hint = hint.map(str::trim).filter(|h| !h.is_empty());
    if hint.is_some_and(|h| h.len() > 64) {
        return Err(WbError::invalid("login", "at most 64 characters"));
    }
    throttle(wb, hint).await?;
    let allow: Vec<CredentialID> = match hint {
        None => Vec::new(),
        Some(login) => match wb.analysts.credentials_or_shapes(login)? {
            Ok(stored) => stored.iter().map(|p| p.cred_id().clone()).collect(),
            Err(shapes) => decoy(&wb.analysts.stand_in_key, login, &shapes),
        },
    };
    let (options, state) = rp
        .start_sign_in(&allow)
        .map_err(|e| WbError::Storage(format!("passkey sign-in: {e}")))?;
    let pending = Pending::SignIn {
        hint: hint.map(String::from),
        state,
    };
    let now = wb.now_ms();
    let handle = match binding {
        Some(b) => wb.ceremonies.put(b, pending, now),
        // The API: the handle is the client's only proof; bound to itself.
        None => wb.ceremonies.put_self_bound(pending, now),
    };
    Ok((handle, options))
}

/// Finishes a passkey sign-in: the ceremony taken (once), the assertion
/// verified against the analyst holding the credential, a session
/// started. Every refusal of the assertion is 401 `sign_in_failed`,
/// counted by the back-off and logged as a failed sign-in. Checks share
/// the password path's in-flight bound (429 `sign_in_throttled` past it)
/// and the back-off is asked again once a check's turn comes.
pub(crate) async fn finish_sign_in(
    wb: &Arc<Workbench>,
    handle: &str,
    binding: Option<&str>,
    credential: PublicKeyCredential,
    locale: Locale,
) -> Result<(String, Session), WbError> {
    rp(wb)?;
    let now = wb.now_ms();
    let taken = wb
        .ceremonies
        .take(handle, binding.unwrap_or(handle), now)
        .ok_or_else(gone)?;
    let Pending::SignIn { hint, state } = taken else {
        return Err(gone());
    };
    throttle(wb, hint.as_deref()).await?;
    let addr = client();
    // The password path's in-flight bound: at most MAX_SIGN_INS_IN_FLIGHT
    // checks at once, a finish that waits longer than SIGN_IN_WAIT_MS for
    // one is 429 (unchecked, unlogged), so a burst costs bounded threads,
    // file-lock waits and ledger appends.
    let wait = std::time::Duration::from_millis(crate::SIGN_IN_WAIT_MS);
    let _permit = tokio::time::timeout(wait, wb.sign_ins.acquire())
        .await
        .map_err(|_| WbError::Throttled)?
        .map_err(|_| WbError::Throttled)?;
    // And the back-off asked again now that the burst's earlier attempts
    // have landed: every finish of a burst passed the first check before
    // any of them failed.
    if wb
        .throttle
        .check(throttle_key(hint.as_deref()), addr.as_deref(), wb.now_ms())
        == Verdict::Wait
    {
        metrics::counter!("sekimori_workbench_sign_ins_total", "outcome" => "throttled")
            .increment(1);
        return Err(WbError::Throttled);
    }
    let (w, h) = (Arc::clone(wb), hint.clone());
    let verified = tokio::task::spawn_blocking(move || {
        let rp = rp(&w)?;
        w.analysts
            .passkey_sign_in(rp, state, &credential, h.as_deref())
    })
    .await
    .map_err(|e| WbError::Storage(e.to_string()))?;
    let info = match verified {
        Ok(info) => info,
        Err(WbError::SignInFailed) => {
            let key = throttle_key(hint.as_deref());
            wb.throttle.failed(key, addr.as_deref(), now);
            metrics::counter!("sekimori_workbench_sign_ins_total", "outcome" => "failed")
                .increment(1);
            tracing::info!(login = %printable(key), address = ?addr, "workbench passkey sign-in failed");
            let act = Act::SignInFailed {
                login: printable(key),
                address: addr.clone().unwrap_or_else(|| "unknown".into()),
            };
            if let Err(le) = wb.record("anonymous", &act, "passkey").await {
                tracing::warn!(error = %le, "failed sign-in not logged");
            }
            return Err(WbError::SignInFailed);
        }
        Err(e) => return Err(e),
    };
    wb.throttle.succeeded(&info.login, addr.as_deref());
    wb.throttle
        .succeeded(throttle_key(hint.as_deref()), addr.as_deref());
    metrics::counter!("sekimori_workbench_sign_ins_total", "outcome" => "signed_in").increment(1);
    let (token, session) =
        wb.sessions
            .create(&info.login, info.role, locale, &wb.config.default_tz, now);
    if let Err(e) = wb.record(&info.login, &Act::SignIn, "passkey").await {
        tracing::warn!(login = %info.login, error = %e, "sign-in not logged");
    }
    Ok((token, session))
}

/// Starts registering a passkey for the signed-in analyst (its existing
/// passkeys excluded), bound to the session `token`.
pub(crate) fn start_register(
    wb: &Workbench,
    session: &Session,
    token: &str,
    name: &str,
) -> Result<(String, CreationChallengeResponse), WbError> {
    let rp = rp(wb)?;
    let name = check_name(name)?;
    if wb.now_ms() >= session.created_ms.saturating_add(REGISTER_FRESH_MS) {
        return Err(WbError::Conflict(
            "sign in again to register a passkey: the session is over 10 minutes old".into(),
        ));
    }
    let login = &session.login;
    let existing = wb.analysts.credentials(login)?;
    if existing.len() >= crate::analyst_passkeys::MAX_PASSKEYS_PER_ANALYST {
        return Err(WbError::Conflict(format!(
            "at most {} passkeys per analyst",
            crate::analyst_passkeys::MAX_PASSKEYS_PER_ANALYST
        )));
    }
    let (options, state) = rp
        .start_register_discoverable_as(Passkeys::analyst_handle(login), login, login, &existing)
        .map_err(|e| WbError::Storage(format!("passkey registration: {e}")))?;
    let pending = Pending::Register {
        login: login.clone(),
        name,
        state,
    };
    Ok((wb.ceremonies.put(token, pending, wb.now_ms()), options))
}

/// Finishes a registration: the ceremony taken (once, this session's),
/// the attestation verified by webauthn-rs (origin, challenge, user
/// verification), the passkey stored with the analyst.
pub(crate) async fn finish_register(
    wb: &Workbench,
    session: &Session,
    token: &str,
    handle: &str,
    credential: &RegisterPublicKeyCredential,
) -> Result<PasskeyInfo, WbError> {
    let rp = rp(wb)?;
    let now = wb.now_ms();
    let taken = wb.ceremonies.take(handle, token, now).ok_or_else(gone)?;
    let Pending::Register { login, name, state } = taken else {
        return Err(gone());
    };
    if login != session.login {
        return Err(gone());
    }
    let passkey = rp.finish_register(state, credential).map_err(|e| {
        tracing::info!(login = %login, error = %e, "workbench passkey registration refused");
        WbError::invalid(
            "credential",
            "the authenticator's answer did not verify (origin, challenge or user verification)",
        )
    })?;
    let info = wb.analysts.add_passkey(&login, passkey, &name, now)?;
    tracing::info!(login = %login, passkey = %info.id, "workbench passkey registered");
    // Logged like every analyst act, so a passkey someone else added to
    // the account is in the audit trail. Stored already: a log that
    // cannot be written is the caller's 5xx, the passkey stays (an admin
    // sees it on /ui/analysts and removes it).
    let act = Act::PasskeyRegistered {
        login: login.clone(),
        id: info.id.clone(),
        name: info.name.clone(),
    };
    wb.record(&session.login, &act, "").await?;
    Ok(info)
}

impl Workbench {
    /// An admin removes `login`'s passkey `id`, or all of them, over the
    /// API (no reason asked): [`Workbench::remove_passkeys_logged`] with
    /// none. Returns how many passkeys went.
    pub async fn remove_passkeys(
        &self,
        s: &Session,
        login: &str,
        id: Option<&str>,
    ) -> Result<usize, WbError> {
        self.remove_passkeys_logged(s, login, id, None).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysts::Analysts;

    /// A stand-in is the same after a restart (the key comes from
    /// `analysts.key`, which the data directory keeps), differs per login,
    /// and differs on another server (another key).
    #[test]
    fn stand_ins_survive_a_restart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let shapes = Shapes {
            counts: vec![1, 2],
            lengths: vec![16, 64],
        };
        let before = Analysts::open(dir.path()).expect("opens");
        let a = decoy(&before.stand_in_key, "nobody", &shapes);
        drop(before);
        let after = Analysts::open(dir.path()).expect("opens again");
        assert_eq!(decoy(&after.stand_in_key, "nobody", &shapes), a);
        assert_ne!(decoy(&after.stand_in_key, "somebody", &shapes), a);
        let other = tempfile::tempdir().expect("tempdir");
        let elsewhere = Analysts::open(other.path()).expect("opens");
        assert_ne!(decoy(&elsewhere.stand_in_key, "nobody", &shapes), a);
    }
}
