//! [`StepUpState`]: the in-memory, serializable state the HTTP layer drives.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

use rand::CryptoRng;
use serde::{Deserialize, Serialize};

use crate::error::StepUpError;
use crate::secret::{SealedSecret, Sealer, SecretBytes};
use crate::time::Now;
use crate::totp_verifier::{check_label, OtpauthUri, TotpEnrollment, TotpParams};
use crate::txsign::{Transaction, TxChallenge, TX_DEVICE_KEY_LEN, TX_OCRA_SUITE};

/// Open (not dead) challenges an account may have at once; bounds memory per account.
pub const MAX_OPEN_CHALLENGES_PER_ACCOUNT: usize = 8;

/// Seal binding of an account's TOTP seed.
pub fn totp_binding(account: &str) -> String {
    format!("totp/{account}")
}

/// Seal binding of an account's OCRA transaction-signing key.
pub fn ocra_binding(account: &str) -> String {
    format!("ocra/{account}")
}

/// An account's OCRA transaction-signing device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OcraDevice {
    /// The suite the device computes (always [`TX_OCRA_SUITE`] for keys made here).
    pub suite: String,
    /// The device key, sealed under [`ocra_binding`].
    pub sealed_key: SealedSecret,
    /// Event time of enrollment.
    pub enrolled_at_ms: i64,
}

/// Step-up state: TOTP enrollments and OCRA device keys per account (both sealed), and open
/// transaction challenges by id. Maps are ordered, so serialization is deterministic.
///
/// The master key is not part of the state: every method that touches a secret takes the
/// [`Sealer`]. Randomness comes only from the `rng` argument and time only from `now_ms`,
/// so the same inputs give the same state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepUpState {
    totp: BTreeMap<String, TotpEnrollment>,
    ocra: BTreeMap<String, OcraDevice>,
    challenges: BTreeMap<String, TxChallenge>,
    /// The service (tenant) whose accounts these are, when known: it is part
    /// of every seal binding (`totp/<service>/<account>`), so a sealed seed
    /// moved to another service's record does not open. `None`: a state
    /// written before records were kept per service (bindings
    /// `totp/<account>`, as they were sealed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
}

impl StepUpState {
    /// An empty state.
    pub fn new() -> StepUpState {
        StepUpState::default()
    }

    /// An empty state for accounts of `service`.
    pub fn for_service(service: &str) -> StepUpState {
        StepUpState {
            scope: Some(service.to_string()),
            ..StepUpState::default()
        }
    }

    /// The service of this state, if it was made for one.
    pub fn scope(&self) -> Option<&str> {
        self.scope.as_deref()
    }

    fn totp_binding(&self, account: &str) -> String {
        match &self.scope {
            Some(service) => format!("totp/{service}/{account}"),
            None => totp_binding(account),
        }
    }

    fn ocra_binding(&self, account: &str) -> String {
        match &self.scope {
            Some(service) => format!("ocra/{service}/{account}"),
            None => ocra_binding(account),
        }
    }

    /// Enrolls `account` for TOTP with [`TotpParams::default`] (SHA-1, 6 digits, 30 s) and
    /// returns the provisioning URI, labelled `issuer:account`. This is the only time the
    /// seed is revealed. Refuses an account that is already enrolled
    /// ([`StepUpError::AlreadyEnrolled`]): re-enrollment must be an explicit
    /// [`remove_totp`](Self::remove_totp) first, so that a hijacked session cannot silently
    /// swap the seed.
    pub fn enroll_totp(
        &mut self,
        sealer: &Sealer,
        account: &str,
        issuer: &str,
        now_ms: i64,
        rng: &mut impl CryptoRng,
    ) -> Result<OtpauthUri, StepUpError> {
        check_label(account)?;
        if self.totp.contains_key(account) {
            return Err(StepUpError::AlreadyEnrolled);
        }
        let (enrollment, uri) = TotpEnrollment::create(
            sealer,
            &self.totp_binding(account),
            issuer,
            account,
            TotpParams::default(),
            now_ms,
            rng,
        )?;
        self.totp.insert(account.to_owned(), enrollment);
        Ok(uri)
    }

    /// Removes the account's TOTP enrollment; returns whether there was one.
    pub fn remove_totp(&mut self, account: &str) -> bool {
        self.totp.remove(account).is_some()
    }

    /// Verifies a TOTP code for `account` at `now` (current step ±1, each code
    /// once, see [`TotpEnrollment::verify`]) from an anonymous client.
    pub fn verify_totp(
        &mut self,
        sealer: &Sealer,
        account: &str,
        code: &str,
        now: impl Into<Now>,
    ) -> Result<(), StepUpError> {
        self.verify_totp_from(sealer, account, code, now, None)
    }

    /// [`verify_totp`](Self::verify_totp) from `client` (a
    /// [`client_key`](crate::client_key)), throttled per client and per
    /// account (see [`TotpEnrollment::verify_from`]).
    pub fn verify_totp_from(
        &mut self,
        sealer: &Sealer,
        account: &str,
        code: &str,
        now: impl Into<Now>,
        client: Option<&str>,
    ) -> Result<(), StepUpError> {
        let binding = self.totp_binding(account);
        let enrollment = self.totp.get_mut(account).ok_or(StepUpError::NotEnrolled)?;
        enrollment.verify_from(sealer, &binding, code, now, client)?;
        Ok(())
    }

    /// Clears the TOTP failure counts and back-offs of `account` (an
    /// operator's reset); returns whether it is enrolled.
    pub fn reset_totp_throttle(&mut self, account: &str) -> bool {
        match self.totp.get_mut(account) {
            Some(e) => {
                e.reset_throttle();
                true
            }
            None => false,
        }
    }

    /// The account's TOTP enrollment (sealed seed and replay state), if any.
    pub fn totp_enrollment(&self, account: &str) -> Option<&TotpEnrollment> {
        self.totp.get(account)
    }

    /// Enrolls an OCRA transaction-signing device for `account`: draws a 32-byte key, stores it
    /// sealed, and returns it once (to provision the device). Refuses an account that already
    /// has one.
    pub fn enroll_ocra(
        &mut self,
        sealer: &Sealer,
        account: &str,
        now_ms: i64,
        rng: &mut impl CryptoRng,
    ) -> Result<SecretBytes, StepUpError> {
        check_label(account)?;
        if self.ocra.contains_key(account) {
            return Err(StepUpError::AlreadyEnrolled);
        }
        let key = SecretBytes::random(TX_DEVICE_KEY_LEN, rng);
        let sealed_key = sealer.seal(&self.ocra_binding(account), &key, rng)?;
        self.ocra.insert(
            account.to_owned(),
            OcraDevice {
                suite: TX_OCRA_SUITE.to_owned(),
                sealed_key,
                enrolled_at_ms: now_ms,
            },
        );
        Ok(key)
    }

    /// Removes the account's OCRA device and its open challenges; returns whether there was one.
    pub fn remove_ocra(&mut self, account: &str) -> bool {
        self.challenges.retain(|_, c| c.account != account);
        self.ocra.remove(account).is_some()
    }

    /// The account's OCRA device (sealed key), if any.
    pub fn ocra_device(&self, account: &str) -> Option<&OcraDevice> {
        self.ocra.get(account)
    }

    /// Issues a transaction challenge for `tx` (payer `tx.account`, who needs an OCRA device).
    /// The returned challenge holds no secret; send its id, question (or nonce) and the
    /// transaction to the device. Dead challenges of the account are pruned first; at most
    /// [`MAX_OPEN_CHALLENGES_PER_ACCOUNT`] may be open.
    pub fn issue_tx_challenge(
        &mut self,
        tx: &Transaction,
        now: impl Into<Now>,
        rng: &mut impl CryptoRng,
    ) -> Result<TxChallenge, StepUpError> {
        let now_ms: Now = now.into();
        if !self.ocra.contains_key(&tx.account) {
            return Err(StepUpError::NotEnrolled);
        }
        self.challenges
            .retain(|_, c| c.account != tx.account || !c.is_dead(now_ms));
        let open = self
            .challenges
            .values()
            .filter(|c| c.account == tx.account)
            .count();
        if open >= MAX_OPEN_CHALLENGES_PER_ACCOUNT {
            return Err(StepUpError::TooManyOpenChallenges);
        }
        // 128-bit ids do not collide with a working RNG; a few redraws guard a broken one.
        for _ in 0..4 {
            let challenge = TxChallenge::issue(tx, now_ms, rng);
            let id = challenge.id();
            if let Entry::Vacant(slot) = self.challenges.entry(id) {
                slot.insert(challenge.clone());
                return Ok(challenge);
            }
        }
        Err(StepUpError::IdCollision)
    }

    /// Verifies the device's `code` for challenge `challenge_id` against the `presented`
    /// transaction (see [`TxChallenge::verify`]). The challenge stays in the state (used or
    /// with its failure count) until [`expire`](Self::expire) prunes it.
    pub fn verify_tx(
        &mut self,
        sealer: &Sealer,
        challenge_id: &str,
        presented: &Transaction,
        code: &str,
        now: impl Into<Now>,
    ) -> Result<(), StepUpError> {
        let challenge = self
            .challenges
            .get(challenge_id)
            .ok_or(StepUpError::UnknownChallenge)?;
        let device = self
            .ocra
            .get(&challenge.account)
            .ok_or(StepUpError::NotEnrolled)?;
        let key = sealer.open(&self.ocra_binding(&challenge.account), &device.sealed_key);
        let challenge = self
            .challenges
            .get_mut(challenge_id)
            .ok_or(StepUpError::UnknownChallenge)?;
        challenge.verify(key?.expose(), presented, code, now)?;
        Ok(())
    }

    /// The challenge with this id, if still held.
    pub fn challenge(&self, challenge_id: &str) -> Option<&TxChallenge> {
        self.challenges.get(challenge_id)
    }

    /// The challenge with this id, to change (record its `for_event`).
    pub fn challenge_mut(&mut self, challenge_id: &str) -> Option<&mut TxChallenge> {
        self.challenges.get_mut(challenge_id)
    }

    /// Number of challenges held (open or not yet pruned).
    pub fn challenge_count(&self) -> usize {
        self.challenges.len()
    }

    /// Prunes every challenge that can no longer succeed at `now_ms` (expired, used, or out
    /// of attempts); returns how many were removed. After pruning, verifying a pruned id
    /// yields [`StepUpError::UnknownChallenge`].
    pub fn expire(&mut self, now: impl Into<Now>) -> usize {
        let now = now.into();
        let before = self.challenges.len();
        self.challenges.retain(|_, c| !c.is_dead(now));
        before - self.challenges.len()
    }
}
