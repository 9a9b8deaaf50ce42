//! Delivery of SMS and e-mail one-time codes: a POST to the operator's
//! webhook. The codes themselves (six random digits, stored only as an
//! HMAC-SHA-256, single use, 5 minutes, 5 failures) are
//! [`sekimori_stepup::code`]'s.

pub use sekimori_stepup::code::{
    Channel, OtpHasher, OtpRefusal, PendingOtp, MAX_OPEN_OTPS, OTP_MAX_FAILURES, OTP_TTL_MS,
};
use std::time::Duration;

/// How long the webhook may take.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(10);

/// The OTP relay: its URL and the HMAC secret every delivery is signed
/// with, the `Sekimori-Signature` scheme of `sekimori-notify` (so the relay
/// can refuse a code request that sekimori did not send). Unlike holder
/// notices, codes are delivered at once and never queued or dead-lettered:
/// a code must not rest on disk, and the caller learns at once whether it
/// went out.
#[derive(Clone)]
pub struct OtpWebhook {
    pub url: String,
    secret: std::sync::Arc<zeroize::Zeroizing<Vec<u8>>>,
}

impl OtpWebhook {
    pub fn new(url: String, secret: zeroize::Zeroizing<Vec<u8>>) -> OtpWebhook {
        OtpWebhook {
            url,
            secret: std::sync::Arc::new(secret),
        }
    }
}

impl std::fmt::Debug for OtpWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtpWebhook")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// Posts one code to the webhook, signed (blocking: run it in
/// `spawn_blocking`). `id` (the challenge id) goes in `Sekimori-Notice-Id`
/// for the relay's de-duplication. Errors name neither the code nor the URL.
pub fn deliver(hook: &OtpWebhook, id: &str, body: &serde_json::Value) -> Result<(), String> {
    let bytes = zeroize::Zeroizing::new(serde_json::to_vec(body).map_err(|e| e.to_string())?);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let signature = sekimori_notify::signature_header(&hook.secret, now, &bytes)
        .ok_or("the webhook secret was refused")?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(WEBHOOK_TIMEOUT))
        .http_status_as_error(true)
        .build()
        .into();
    let sent = agent
        .post(&hook.url)
        .header("content-type", "application/json")
        .header(sekimori_notify::SIGNATURE_HEADER, &signature)
        .header(sekimori_notify::NOTICE_ID_HEADER, id)
        .send(&bytes[..]);
    match sent {
        Ok(_) => Ok(()),
        Err(ureq::Error::StatusCode(status)) => Err(format!("the webhook answered {status}")),
        Err(e) => Err(format!(
            "the webhook could not be reached: {}",
            error_kind(&e)
        )),
    }
}

fn error_kind(e: &ureq::Error) -> &'static str {
    match e {
        ureq::Error::Timeout(_) => "timeout",
        ureq::Error::Io(_) => "connection failed",
        ureq::Error::HostNotFound => "host not found",
        ureq::Error::ConnectionFailed => "connection failed",
        _ => "request failed",
    }
}

/// Checks a `--otp-webhook` URL at start: plain `http://` (this build has no
/// TLS client; point it at a local relay that holds the provider's
/// credentials).
pub fn check_webhook_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or("--otp-webhook must be an http:// URL (a local relay to the SMS / e-mail provider; this build has no TLS client)")?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err("--otp-webhook has no host".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_urls_are_plain_http() {
        assert!(check_webhook_url("http://127.0.0.1:9000/otp").is_ok());
        assert!(check_webhook_url("https://sms.example/otp").is_err());
        assert!(check_webhook_url("http://").is_err());
    }
}
