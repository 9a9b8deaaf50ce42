//! The sessions' and analysts' answers of the workbench's API.

#[allow(unused_imports)]
use super::*;

/// A session: send `token` as `Authorization: Bearer <token>`.
#[derive(Serialize, ToSchema)]
pub struct SignedIn {
    /// `ws_` and 64 hex digits; shown once, stored only as its hash.
    pub token: String,
    pub login: String,
    pub role: AnalystRole,
    pub idle_timeout_s: i64,
    pub absolute_timeout_s: i64,
}

/// How many sessions were ended.
#[derive(Debug, Serialize, ToSchema)]
pub struct Ended {
    pub ended: usize,
}

/// An analyst account (never its password hash or TOTP seed).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Analyst)]
pub struct AnalystDoc {
    pub login: String,
    pub role: AnalystRole,
    pub created_at: String,
    pub created_by: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub enrolled_by: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub enrolled_at: String,
    pub disabled: bool,
}

impl AnalystDoc {
    pub fn of(a: AnalystInfo) -> AnalystDoc {
        AnalystDoc {
            login: a.login,
            role: AnalystRole::of(a.role),
            created_at: a.created_at,
            created_by: a.created_by,
            enrolled_by: a.enrolled_by,
            enrolled_at: a.enrolled_at,
            disabled: a.disabled,
        }
    }
}

/// Every analyst.
#[derive(Debug, Serialize, ToSchema)]
pub struct Analysts {
    pub analysts: Vec<AnalystDoc>,
}

/// A new analyst and the TOTP provisioning URI to enroll their
/// authenticator with (shown once).
#[derive(Serialize, ToSchema)]
pub struct CreatedAnalyst {
    pub analyst: AnalystDoc,
    /// Carries the TOTP seed: shown once, never logged.
    pub otpauth_uri: String,
}

impl SignedIn {
    /// The answer for session `s`, started with `token`.
    pub fn new(token: String, s: crate::sessions::Session) -> SignedIn {
        SignedIn {
            token,
            login: s.login,
            role: AnalystRole::of(s.role),
            idle_timeout_s: crate::sessions::IDLE_MS / 1000,
            absolute_timeout_s: crate::sessions::ABSOLUTE_MS / 1000,
        }
    }
}

/// Never shows the session token.
impl std::fmt::Debug for SignedIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignedIn")
            .field("login", &self.login)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// Never shows the provisioning URI (it carries the seed).
impl std::fmt::Debug for CreatedAnalyst {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedAnalyst")
            .field("analyst", &self.analyst)
            .finish_non_exhaustive()
    }
}
