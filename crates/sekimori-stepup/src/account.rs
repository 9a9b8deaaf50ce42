//! One account's step-up record, per (service, account): the
//! [`StepUpState`] (sealed TOTP seed and OCRA key, transaction challenges),
//! passkeys (of the caller's type `P`: this crate does not speak WebAuthn),
//! open passkey ceremonies, sent SMS / e-mail codes (hashes), and the recent
//! passed step-ups that may prove a change of the enrollments.
//!
//! Pure: every time is passed in ([`Now`]), nothing is read or written here.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::code::PendingOtp;
use crate::state::StepUpState;
use crate::time::{check_window, Now, TimeRefusal};

/// How long a WebAuthn ceremony stays open (the browser's default timeout).
pub const CEREMONY_TTL_MS: i64 = 5 * 60 * 1000;
/// Ceremonies an account may have open at once.
pub const MAX_OPEN_CEREMONIES: usize = 8;
/// Passkeys an account may register.
pub const MAX_PASSKEYS: usize = 10;
/// How long a passed step-up may prove an enrollment change.
pub const PASS_TTL_MS: i64 = 5 * 60 * 1000;
/// Passed step-ups remembered per account.
pub const MAX_PASSES: usize = 8;

/// A step-up method with a server-side verifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// TOTP (an authenticator app).
    Totp,
    /// Transaction signing (OCRA device).
    Txsign,
    /// Passkeys.
    Webauthn,
    /// SMS code.
    Sms,
    /// E-mail code.
    Email,
}

impl Method {
    /// TOTP, transaction signing and passkeys resist relay and interception;
    /// SMS and e-mail codes do not.
    pub fn is_strong(self) -> bool {
        matches!(self, Method::Totp | Method::Txsign | Method::Webauthn)
    }

    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Totp => "totp",
            Method::Txsign => "txsign",
            Method::Webauthn => "webauthn",
            Method::Sms => "sms",
            Method::Email => "email",
        }
    }

    /// The `credential` a `credential.change` of this method's enrollment
    /// names: `passkey` for passkeys, `otp_seed` for the others.
    pub fn credential(self) -> &'static str {
        match self {
            Method::Webauthn => "passkey",
            _ => "otp_seed",
        }
    }
}

/// Which WebAuthn ceremony.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CeremonyKind {
    /// Registering a passkey.
    Register,
    /// Asserting with one.
    Auth,
}

/// A pending WebAuthn ceremony: the WebAuthn library's state as JSON text,
/// with its issue times.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ceremony {
    /// Registration or assertion.
    pub kind: CeremonyKind,
    /// The issue `at` + [`CEREMONY_TTL_MS`].
    pub expires_at_ms: i64,
    /// The opaque ceremony state.
    pub state: String,
    /// The request's `at` at issue (0 in older records).
    #[serde(default)]
    pub issued_at_ms: i64,
    /// The server clock at issue (0 in older records: expired).
    #[serde(default)]
    pub issued_server_ms: i64,
    /// A registration opened with a proof (the passed step-up it used up),
    /// so its finish may add a passkey to an account that has a factor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof_event: Option<String>,
}

impl Ceremony {
    /// A ceremony started at `now`.
    pub fn new(kind: CeremonyKind, state: String, now: Now) -> Ceremony {
        Ceremony {
            kind,
            expires_at_ms: now.at_ms.saturating_add(CEREMONY_TTL_MS),
            state,
            issued_at_ms: now.at_ms,
            issued_server_ms: now.server_ms,
            proof_event: None,
        }
    }

    /// Whether it may still be finished at `now`.
    pub fn check(&self, now: Now) -> Result<(), TimeRefusal> {
        check_window(
            self.issued_at_ms,
            self.issued_server_ms,
            CEREMONY_TTL_MS,
            now,
        )?;
        // older records: their `at` limit
        if now.at_ms >= self.expires_at_ms {
            return Err(TimeRefusal::Expired);
        }
        Ok(())
    }
}

/// A step-up that passed, kept a few minutes as a possible proof for an
/// enrollment change (single use).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecentPass {
    /// The `mfa.result` event the pass produced.
    pub event_id: String,
    /// Its method.
    pub method: Method,
    /// The request's `at`.
    pub at_ms: i64,
    /// The server clock.
    pub server_ms: i64,
    /// Already used as a proof.
    #[serde(default)]
    pub used: bool,
}

/// Why a proof does not allow an enrollment change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProofRefusal {
    /// No passed step-up with this event id for this account (never, another
    /// account's, pruned, or already used as a proof).
    Unknown,
    /// Older than [`PASS_TTL_MS`] (by `at` or the server clock), or an `at`
    /// before the pass.
    Expired,
    /// The proof is of the method being removed: a second factor must be
    /// another one.
    SameMethod,
    /// A weak method (SMS, e-mail) cannot remove a strong one, nor prove a
    /// new enrollment.
    TooWeak,
    /// The proof's method is no longer enrolled (an enrollment proof must
    /// be a step-up of a factor the account still has).
    Withdrawn,
}

/// One (service, account)'s step-up record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord<P> {
    /// TOTP, OCRA and transaction challenges.
    #[serde(default)]
    pub state: StepUpState,
    /// Registered passkeys.
    #[serde(default = "Vec::new")]
    pub passkeys: Vec<P>,
    /// Open WebAuthn ceremonies by id.
    #[serde(default)]
    pub ceremonies: BTreeMap<String, Ceremony>,
    /// Sent SMS / e-mail codes by challenge id.
    #[serde(default)]
    pub otps: BTreeMap<String, PendingOtp>,
    /// Recent passed step-ups (proofs for enrollment changes).
    #[serde(default)]
    pub passes: Vec<RecentPass>,
}

impl<P> Default for AccountRecord<P> {
    fn default() -> Self {
        AccountRecord {
            state: StepUpState::default(),
            passkeys: Vec::new(),
            ceremonies: BTreeMap::new(),
            otps: BTreeMap::new(),
            passes: Vec::new(),
        }
    }
}

impl<P> AccountRecord<P> {
    /// An empty record of an account of `service`.
    pub fn for_service(service: &str) -> AccountRecord<P> {
        AccountRecord {
            state: StepUpState::for_service(service),
            ..AccountRecord::default()
        }
    }

    /// Drops ceremonies that can no longer finish; how many stay open.
    pub fn open_ceremonies_at(&mut self, now: Now) -> usize {
        self.ceremonies
            .retain(|_, c| c.check(now) != Err(TimeRefusal::Expired));
        self.ceremonies.len()
    }

    /// Drops dead codes; how many stay open.
    pub fn open_otps_at(&mut self, now: Now) -> usize {
        self.otps.retain(|_, o| !o.is_dead(now));
        self.otps.len()
    }

    /// Takes (single use, whatever the outcome) the open ceremony `id` of `kind`.
    pub fn take_ceremony(&mut self, id: &str, kind: CeremonyKind) -> Option<Ceremony> {
        match self.ceremonies.get(id) {
            Some(c) if c.kind == kind => self.ceremonies.remove(id),
            _ => None,
        }
    }

    /// Remembers a passed step-up (bounded: the oldest go first, expired ones too).
    pub fn record_pass(&mut self, event_id: &str, method: Method, now: Now) {
        self.passes
            .retain(|p| !p.used && check_window(p.at_ms, p.server_ms, PASS_TTL_MS, now).is_ok());
        while self.passes.len() >= MAX_PASSES {
            self.passes.remove(0);
        }
        self.passes.push(RecentPass {
            event_id: event_id.to_string(),
            method,
            at_ms: now.at_ms,
            server_ms: now.server_ms,
            used: false,
        });
    }

    /// Uses the passed step-up `event_id` as the proof for removing
    /// `removed`: of another method, at least as strong, at most
    /// [`PASS_TTL_MS`] old, once.
    pub fn take_pass(
        &mut self,
        event_id: &str,
        removed: Method,
        now: Now,
    ) -> Result<RecentPass, ProofRefusal> {
        let pass = self
            .passes
            .iter_mut()
            .find(|p| p.event_id == event_id && !p.used)
            .ok_or(ProofRefusal::Unknown)?;
        if check_window(pass.at_ms, pass.server_ms, PASS_TTL_MS, now).is_err() {
            return Err(ProofRefusal::Expired);
        }
        if pass.method == removed {
            return Err(ProofRefusal::SameMethod);
        }
        if removed.is_strong() && !pass.method.is_strong() {
            return Err(ProofRefusal::TooWeak);
        }
        pass.used = true;
        Ok(pass.clone())
    }

    /// The strong factors `account` has enrolled: a TOTP seed, a
    /// transaction-signing device, passkeys (SMS and e-mail are not
    /// enrollments).
    pub fn factors(&self, account: &str) -> Vec<Method> {
        let mut out = Vec::new();
        if self.state.totp_enrollment(account).is_some() {
            out.push(Method::Totp);
        }
        if self.state.ocra_device(account).is_some() {
            out.push(Method::Txsign);
        }
        if !self.passkeys.is_empty() {
            out.push(Method::Webauthn);
        }
        out
    }

    /// Uses the passed step-up `event_id` as the proof for enrolling
    /// another factor: a strong method `account` still has enrolled, at most
    /// [`PASS_TTL_MS`] old (by `at` and the server clock), once.
    pub fn take_enrollment_pass(
        &mut self,
        account: &str,
        event_id: &str,
        now: Now,
    ) -> Result<RecentPass, ProofRefusal> {
        let factors = self.factors(account);
        let pass = self
            .passes
            .iter_mut()
            .find(|p| p.event_id == event_id && !p.used)
            .ok_or(ProofRefusal::Unknown)?;
        if check_window(pass.at_ms, pass.server_ms, PASS_TTL_MS, now).is_err() {
            return Err(ProofRefusal::Expired);
        }
        if !pass.method.is_strong() {
            return Err(ProofRefusal::TooWeak);
        }
        if !factors.contains(&pass.method) {
            return Err(ProofRefusal::Withdrawn);
        }
        pass.used = true;
        Ok(pass.clone())
    }

    /// Removes the enrollment of `method` for `account` (TOTP seed, OCRA
    /// device with its challenges, every passkey and ceremony, or the open
    /// codes of a channel); whether there was one. Removing passkeys
    /// returns them, so the caller can drop their index entries.
    pub fn remove(&mut self, account: &str, method: Method) -> (bool, Vec<P>) {
        match method {
            Method::Totp => (self.state.remove_totp(account), Vec::new()),
            Method::Txsign => (self.state.remove_ocra(account), Vec::new()),
            Method::Webauthn => {
                self.ceremonies.clear();
                let gone = std::mem::take(&mut self.passkeys);
                (!gone.is_empty(), gone)
            }
            Method::Sms | Method::Email => {
                let channel = if method == Method::Sms {
                    crate::code::Channel::Sms
                } else {
                    crate::code::Channel::Email
                };
                let before = self.otps.len();
                self.otps.retain(|_, o| o.channel != channel);
                (self.otps.len() != before, Vec::new())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_pass_proves_one_change_of_another_method_briefly() {
        let mut r: AccountRecord<()> = AccountRecord::for_service("bank");
        let t = Now::new(1_000_000, 5_000_000);
        r.record_pass("e-sms", Method::Sms, t);
        r.record_pass("e-pk", Method::Webauthn, t);
        assert_eq!(
            r.take_pass("e-sms", Method::Totp, t).map(|_| ()),
            Err(ProofRefusal::TooWeak)
        );
        assert_eq!(
            r.take_pass("e-pk", Method::Webauthn, t).map(|_| ()),
            Err(ProofRefusal::SameMethod)
        );
        let late = Now::new(1_000_000, 5_000_000 + PASS_TTL_MS);
        assert_eq!(
            r.take_pass("e-pk", Method::Totp, late).map(|_| ()),
            Err(ProofRefusal::Expired)
        );
        assert!(r.take_pass("e-pk", Method::Totp, t).is_ok());
        assert_eq!(
            r.take_pass("e-pk", Method::Txsign, t).map(|_| ()),
            Err(ProofRefusal::Unknown)
        );
        assert!(r.take_pass("e-sms", Method::Email, t).is_ok());
    }

    #[test]
    fn an_enrollment_is_proven_by_a_recent_strong_pass_of_a_factor_still_enrolled() {
        let mut rng = rand_chacha::ChaCha20Rng::seed_from_u64(3);
        let sealer = crate::Sealer::new(&[7; 32]);
        let mut r: AccountRecord<()> = AccountRecord::for_service("bank");
        assert!(r.factors("ann").is_empty());
        r.state
            .enroll_ocra(&sealer, "ann", 1_000_000, &mut rng)
            .expect("ocra");
        assert_eq!(r.factors("ann"), vec![Method::Txsign]);
        let t = Now::new(1_000_000, 5_000_000);
        r.record_pass("e-sms", Method::Sms, t);
        r.record_pass("e-tx", Method::Txsign, t);
        r.record_pass("e-totp", Method::Totp, t);
        let take = |r: &mut AccountRecord<()>, id: &str, now: Now| {
            r.take_enrollment_pass("ann", id, now).map(|p| p.method)
        };
        assert_eq!(take(&mut r, "e-sms", t), Err(ProofRefusal::TooWeak));
        // a pass of a factor the account no longer has
        assert_eq!(take(&mut r, "e-totp", t), Err(ProofRefusal::Withdrawn));
        let late = Now::new(1_000_000 + PASS_TTL_MS, 5_000_000);
        assert_eq!(take(&mut r, "e-tx", late), Err(ProofRefusal::Expired));
        assert_eq!(take(&mut r, "e-tx", t), Ok(Method::Txsign));
        assert_eq!(take(&mut r, "e-tx", t), Err(ProofRefusal::Unknown));
        assert_eq!(take(&mut r, "e-other", t), Err(ProofRefusal::Unknown));
    }

    #[test]
    fn a_ceremony_expires_by_either_clock() {
        let c = Ceremony::new(CeremonyKind::Auth, String::new(), Now::new(10, 1_000));
        assert_eq!(c.check(Now::new(20, 2_000)), Ok(()));
        assert_eq!(c.check(Now::new(5, 2_000)), Err(TimeRefusal::BeforeIssue));
        assert_eq!(
            c.check(Now::new(20, 1_000 + CEREMONY_TTL_MS)),
            Err(TimeRefusal::Expired)
        );
    }
}
