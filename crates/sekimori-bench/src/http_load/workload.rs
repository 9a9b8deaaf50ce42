//! The events a step sends: templates re-sent under fresh ids and times.

use super::*;

/// One event of the source, ready to be re-sent under another id and time.
#[derive(Debug)]
pub(super) struct Template {
    pub(super) line: String,
    pub(super) value: Value,
    pub(super) id: String,
    pub(super) at_ms: Option<i64>,
    /// Index into the key list: 0 is the ingest key, `1 + k` approver `k`.
    pub(super) key: usize,
}

/// The source's events and the keys they need.
#[derive(Debug)]
pub(super) struct Workload {
    pub(super) templates: Vec<Template>,
    /// Names of the approvers whose own keys post `withdrawal.approval`s.
    pub(super) approvers: Vec<String>,
    /// How far a lap's times are shifted past the previous lap's.
    pub(super) lap_shift_ms: i64,
    /// `withdrawal.approval` events dropped (no approver keys with `--url`).
    pub(super) dropped: usize,
}

/// One request body and the key to send it with.
#[derive(Debug, Clone)]
pub(super) struct Req {
    pub(super) body: Bytes,
    pub(super) key: usize,
}

impl Workload {
    pub(super) fn new(lines: Vec<String>, keep_approvals: bool) -> anyhow::Result<Workload> {
        let mut templates = Vec::with_capacity(lines.len());
        let mut approvers: Vec<String> = Vec::new();
        let mut dropped = 0;
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for (n, line) in lines.into_iter().enumerate() {
            let value: Value = serde_json::from_str(&line)
                .with_context(|| format!("event {} is not JSON", n + 1))?;
            let id = value
                .get("id")
                .and_then(Value::as_str)
                .ok_or_else(|| anyhow!("event {} has no id", n + 1))?
                .to_string();
            let at_ms = value
                .get("at")
                .and_then(Value::as_str)
                .and_then(sekimori_event::parse_rfc3339_ms);
            if let Some(t) = at_ms {
                (lo, hi) = (lo.min(t), hi.max(t));
            }
            let mut key = 0;
            if value.get("type").and_then(Value::as_str) == Some("withdrawal.approval") {
                if !keep_approvals {
                    dropped += 1;
                    continue;
                }
                let name = value
                    .get("approver")
                    .and_then(Value::as_str)
                    .ok_or_else(|| anyhow!("event {}: an approval without approver", n + 1))?;
                key = match approvers.iter().position(|a| a == name) {
                    Some(k) => k + 1,
                    None => {
                        approvers.push(name.to_string());
                        approvers.len()
                    }
                };
            }
            templates.push(Template {
                line,
                value,
                id,
                at_ms,
                key,
            });
        }
        if templates.is_empty() {
            bail!("no events to send");
        }
        let span = if hi >= lo { hi - lo } else { 0 };
        Ok(Workload {
            templates,
            approvers,
            lap_shift_ms: span + 60_000,
            dropped,
        })
    }

    /// The first `n` requests: the events in order, again and again. Lap
    /// `l > 0` gets ids suffixed `.L<l>` and times shifted `l` spans later,
    /// so that it is new events, not duplicates; `tag`, when given, is added
    /// to every id (a running server has seen earlier runs' ids).
    pub(super) fn requests(&self, n: u64, tag: Option<&str>) -> anyhow::Result<Vec<Req>> {
        let len = self.templates.len() as u64;
        let mut out = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
        for i in 0..n {
            let lap = i / len;
            let t = &self.templates[usize::try_from(i % len).expect("index fits usize")];
            let body = if lap == 0 && tag.is_none() {
                Bytes::from(t.line.clone())
            } else {
                let mut v = t.value.clone();
                let mut id = t.id.clone();
                if let Some(tag) = tag {
                    id.push('.');
                    id.push_str(tag);
                }
                if lap > 0 {
                    id.push_str(&format!(".L{lap}"));
                    if let Some(at) = t.at_ms {
                        let shift = self.lap_shift_ms.saturating_mul(lap as i64);
                        v["at"] = Value::String(sekimori_event::format_rfc3339_ms(at + shift));
                    }
                }
                v["id"] = Value::String(id);
                Bytes::from(serde_json::to_vec(&v).context("encoding an event")?)
            };
            out.push(Req { body, key: t.key });
        }
        Ok(out)
    }
}
