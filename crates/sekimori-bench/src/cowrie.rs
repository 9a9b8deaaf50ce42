//! An example integration: an SSH service's log (Cowrie's JSON lines) mapped
//! to sekimori `login.attempt` events, as an integrator would map it. See
//! docs/integrations/cowrie.md.
//!
//! Cowrie writes one JSON object a line. The lines that matter:
//! - `cowrie.session.connect`: a TCP session from `src_ip` opens (`session`);
//! - `cowrie.client.version`: the client's SSH banner (`version`), per session;
//! - `cowrie.login.failed` / `cowrie.login.success`: one password tried for
//!   `username` in `session`.
//!
//! Each login becomes one `login.attempt`: the typed username is the claimed
//! `account` as it arrived (sekimori keeps it canonical, never refuses it),
//! the factor is `password`, the password is never sent — only its keyed
//! fingerprint (HMAC-SHA256 under the service's key, docs/events.md), and the
//! client's banner is the `user_agent`. A service that does not see the
//! password (plain sshd logs) sets `fingerprint_secrets: false`: the attempt
//! is then "secret unknown". Every other line is skipped.

use anyhow::{anyhow, Context};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::HashMap;

/// How the service maps its log.
pub struct Adapter {
    /// The `service` the events are sent as.
    pub service: String,
    /// Fingerprint passwords (the service sees them) or leave them unknown.
    pub fingerprint_secrets: bool,
    key_id: String,
    key: Vec<u8>,
    /// The client banner of each session seen.
    versions: HashMap<String, String>,
    /// Logins mapped so far (makes each event id unique).
    count: u64,
}

impl std::fmt::Debug for Adapter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Adapter")
            .field("service", &self.service)
            .field("fingerprint_secrets", &self.fingerprint_secrets)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

/// One mapped login, with what the evaluation keys on.
#[derive(Debug)]
pub struct Login {
    pub event: Value,
    pub src_ip: String,
    /// The password as tried (kept by the evaluation only, to group uses of
    /// one password; never sent to the engine).
    pub password: String,
}

impl Adapter {
    /// An adapter for `service` whose secret key is `key` (the service's own
    /// HMAC key for fingerprints, held in its KMS; never sent to sekimori).
    pub fn new(service: &str, key_id: &str, key: &[u8]) -> Adapter {
        Adapter {
            service: service.to_string(),
            fingerprint_secrets: true,
            key_id: key_id.to_string(),
            key: key.to_vec(),
            versions: HashMap::new(),
            count: 0,
        }
    }

    /// Maps one log line: `Some` login for a login line, `None` for any
    /// other line. A login line without its fields is an error naming them.
    pub fn map_line(&mut self, line: &str) -> anyhow::Result<Option<Login>> {
        let v: Value = serde_json::from_str(line).context("not a JSON object")?;
        let field = |name: &str| -> anyhow::Result<&str> {
            v.get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow!("`{name}` is missing or not a string"))
        };
        let result = match v.get("eventid").and_then(Value::as_str) {
            Some("cowrie.client.version") => {
                let version = field("version")?.trim_matches('\'').to_string();
                self.versions.insert(field("session")?.to_string(), version);
                return Ok(None);
            }
            Some("cowrie.session.closed") => {
                self.versions.remove(field("session")?);
                return Ok(None);
            }
            Some("cowrie.login.failed") => "failure",
            Some("cowrie.login.success") => "success",
            _ => return Ok(None),
        };
        let session = field("session")?;
        let src_ip = field("src_ip")?;
        let username = field("username")?;
        let password = v.get("password").and_then(Value::as_str).unwrap_or("");
        self.count += 1;
        let mut actor = json!({"ip": src_ip, "session": session});
        if let Some(version) = self.versions.get(session) {
            actor["user_agent"] = json!(version);
        }
        let mut event = json!({
            "id": format!("cowrie-{}-{}", self.count, session_id(session)),
            "type": "login.attempt",
            "at": field("timestamp")?,
            "service": self.service,
            "actor": actor,
            "account": username,
            "factor": "password",
            "result": result,
        });
        if result == "failure" {
            event["failure_reason"] = json!("bad_secret");
        }
        if self.fingerprint_secrets {
            event["secret_fp"] = json!(self.fingerprint(password));
        }
        Ok(Some(Login {
            event,
            src_ip: src_ip.to_string(),
            password: password.to_string(),
        }))
    }

    /// `<key_id>:<hex HMAC-SHA256(key, secret)>` (docs/events.md).
    pub fn fingerprint(&self, secret: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("any key length");
        mac.update(secret.as_bytes());
        format!(
            "{}:{}",
            self.key_id,
            hex::encode(mac.finalize().into_bytes())
        )
    }
}

/// A session id as an event-id part: `[A-Za-z0-9._:-]` only.
fn session_id(session: &str) -> String {
    session
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = r#"{"eventid":"cowrie.session.connect","timestamp":"2017-11-04T13:09:47.519075Z","session":"a617","src_ip":"198.51.100.9"}
{"eventid":"cowrie.client.version","timestamp":"2017-11-04T13:09:48.000000Z","session":"a617","src_ip":"198.51.100.9","version":"'SSH-2.0-Go'"}
{"eventid":"cowrie.login.failed","timestamp":"2017-11-04T13:09:49.100000Z","session":"a617","src_ip":"198.51.100.9","username":"ad\tmin","password":"1234"}
{"eventid":"cowrie.login.success","timestamp":"2017-11-04T13:09:50.100000Z","session":"a617","src_ip":"198.51.100.9","username":"","password":""}
{"eventid":"cowrie.command.input","timestamp":"2017-11-04T13:09:51.100000Z","session":"a617","src_ip":"198.51.100.9","input":"uname -a"}"#;

    #[test]
    fn logins_become_decodable_attempts_without_the_password() {
        let mut a = Adapter::new("ssh", "k1", b"test-only-key");
        let logins: Vec<Login> = LOG
            .lines()
            .filter_map(|l| a.map_line(l).expect("maps"))
            .collect();
        assert_eq!(logins.len(), 2);
        for l in &logins {
            let text = l.event.to_string();
            assert!(!text.contains("\"1234\""), "{text}");
            let e = sekimori_event::decode(text.as_bytes()).expect("decodes");
            assert_eq!(e.actor.user_agent.as_deref(), Some("SSH-2.0-Go"));
        }
        assert_eq!(logins[0].event["result"], "failure");
        assert_eq!(logins[1].event["account"], "");
        assert_ne!(logins[0].event["secret_fp"], logins[1].event["secret_fp"]);
        a.fingerprint_secrets = false;
        let line = LOG.lines().nth(2).expect("a login line");
        let unknown = a.map_line(line).expect("maps").expect("a login");
        assert!(unknown.event.get("secret_fp").is_none());
        assert!(sekimori_event::decode(unknown.event.to_string().as_bytes()).is_ok());
    }

    #[test]
    fn a_login_line_without_its_fields_is_an_error_naming_them() {
        let mut a = Adapter::new("ssh", "k1", b"k");
        let err = a
            .map_line(r#"{"eventid":"cowrie.login.failed","session":"s","src_ip":"198.51.100.9","timestamp":"2017-11-04T13:09:49Z"}"#)
            .expect_err("no username");
        assert!(err.to_string().contains("username"), "{err}");
    }
}
