//! One log entry as a stream message: postcard of [`Wire`], a version
//! first so a later format can be told apart.

use crate::log::Record;
use sekimori_store::EventKey;
use serde::{Deserialize, Serialize};

const VERSION: u8 = 1;

/// The message body of one entry.
#[derive(Debug, Serialize, Deserialize)]
struct Wire {
    version: u8,
    /// (service, id) of the event the entry carries.
    event: Option<(String, String)>,
    /// A pack published with the entry: version and stored record.
    pack: Option<(String, Vec<u8>)>,
    /// The entry (`sekimori_engine::Entry` as the log stores it).
    entry: Vec<u8>,
}

/// The message body of `record`.
pub fn encode(record: &Record) -> Vec<u8> {
    let wire = Wire {
        version: VERSION,
        event: record
            .event
            .as_ref()
            .map(|k| (k.service.clone(), k.id.clone())),
        pack: record.pack.clone(),
        entry: record.bytes.clone(),
    };
    postcard::to_stdvec(&wire).unwrap_or_default()
}

/// The record of a message body.
pub fn decode(bytes: &[u8]) -> Result<Record, String> {
    let wire: Wire =
        postcard::from_bytes(bytes).map_err(|e| format!("stream entry does not decode: {e}"))?;
    if wire.version != VERSION {
        return Err(format!(
            "stream entry of format {} (this build reads {VERSION})",
            wire.version
        ));
    }
    Ok(Record {
        event: wire.event.map(|(s, i)| EventKey::new(s, i)),
        bytes: wire.entry,
        pack: wire.pack,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_round_trips_and_garbage_is_refused() {
        let r = Record {
            event: Some(EventKey::new("svc", "e1")),
            bytes: b"{\"x\":1}".to_vec(),
            pack: Some(("v1".into(), b"{}".to_vec())),
        };
        assert_eq!(decode(&encode(&r)).expect("decodes"), r);
        assert!(decode(b"\x07garbage").is_err());
    }
}
