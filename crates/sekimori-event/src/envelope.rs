//! The envelope every event shares, and its canonical JSON form.

use crate::{Body, EventKind};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::net::IpAddr;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// One decoded, validated event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    /// Caller-supplied idempotency key: `[A-Za-z0-9._:-]{1,128}`.
    pub id: String,
    pub kind: EventKind,
    /// Event time, milliseconds since the Unix epoch (UTC).
    pub at_ms: i64,
    /// Which service emitted it: `[a-z0-9._-]{1,64}`.
    pub service: String,
    /// A customer id that several services share for the same person (a
    /// group's common ID), sent when the service knows it. Services are
    /// tenants: without it, account `a` of one service is not account `a`
    /// of another; a pack that links services keys its features on this.
    pub customer: Option<String>,
    pub actor: Actor,
    pub body: Body,
    /// Free-form extras; never read by built-in logic, readable by rules.
    pub attrs: Map<String, Value>,
}

/// Who or what acted: the session context of the request.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    /// The authenticated account of the session, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    pub ip: Option<IpAddr>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// ISO 3166-1 alpha-2, when the service knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Autonomous system number of the IP, when the service knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asn: Option<u32>,
}

impl Actor {
    pub fn is_empty(&self) -> bool {
        *self == Actor::default()
    }
}

#[derive(Serialize)]
struct Wire<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    at: String,
    service: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer: &'a Option<String>,
    #[serde(skip_serializing_if = "Actor::is_empty")]
    actor: &'a Actor,
    #[serde(flatten)]
    body: &'a Body,
    #[serde(skip_serializing_if = "Map::is_empty")]
    attrs: &'a Map<String, Value>,
}

impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Wire {
            id: &self.id,
            kind: self.kind.as_str(),
            at: format_rfc3339_ms(self.at_ms),
            service: &self.service,
            customer: &self.customer,
            actor: &self.actor,
            body: &self.body,
            attrs: &self.attrs,
        }
        .serialize(serializer)
    }
}

impl Event {
    /// The canonical JSON form: `at` in UTC with milliseconds, defaults left
    /// out (object keys come out sorted; serializing the event directly keeps
    /// the envelope first). Decoding it gives back an equal event.
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// Parses RFC 3339 into milliseconds since the epoch (sub-millisecond digits are dropped).
/// Only times from 1970-01-01 to 9999-12-31 (UTC) are accepted, so every
/// accepted time formats back to a four-digit-year RFC 3339 string.
pub fn parse_rfc3339_ms(s: &str) -> Option<i64> {
    let t = OffsetDateTime::parse(s, &Rfc3339).ok()?;
    let ms = i64::try_from(t.unix_timestamp_nanos().div_euclid(1_000_000)).ok()?;
    (MIN_AT_MS..=MAX_AT_MS).contains(&ms).then_some(ms)
}

/// 1970-01-01T00:00:00.000Z.
pub const MIN_AT_MS: i64 = 0;
/// 9999-12-31T23:59:59.999Z.
pub const MAX_AT_MS: i64 = 253_402_300_799_999;

/// Formats milliseconds since the epoch as `YYYY-MM-DDTHH:MM:SS.mmmZ`; times
/// outside the accepted range are clamped to it.
pub fn format_rfc3339_ms(ms: i64) -> String {
    let ms = ms.clamp(MIN_AT_MS, MAX_AT_MS);
    let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH);
    // The calendar is `time`'s; only the digits are written here (a format
    // description costs more than the rest of this function: every decision
    // formats its time).
    let (year, month, day) = t.to_calendar_date();
    let (hour, minute, second, milli) = t.to_hms_milli();
    let mut out = String::with_capacity(24);
    let mut digits = |n: u32, width: u32, sep: char| {
        for p in (0..width).rev() {
            let d = (n / 10u32.pow(p)) % 10;
            out.push(char::from(b'0' + d as u8));
        }
        out.push(sep);
    };
    // The clamp above keeps the year in 1970..=9999.
    digits(year.unsigned_abs(), 4, '-');
    digits(u32::from(u8::from(month)), 2, '-');
    digits(u32::from(day), 2, 'T');
    digits(u32::from(hour), 2, ':');
    digits(u32::from(minute), 2, ':');
    digits(u32::from(second), 2, '.');
    digits(u32::from(milli), 3, 'Z');
    out
}
