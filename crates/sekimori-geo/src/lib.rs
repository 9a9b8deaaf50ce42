//! IP address → autonomous system lookup from a MaxMind DB (`.mmdb`) file in
//! the GeoLite2-ASN layout.
//!
//! Each record is read for the two GeoLite2-ASN fields
//! `autonomous_system_number` (uint32) and `autonomous_system_organization`
//! (UTF-8 string). Any database with those fields works: MaxMind's
//! GeoLite2-ASN / GeoIP2-ISP, or the synthetic test database shipped at
//! `data/asn/sekimori-test-asn.mmdb` (built by
//! `scripts/build-test-asn-mmdb.py`, which maps the simulator's address plan).
//!
//! The whole file is read into memory ([`AsnDb::open`]); GeoLite2-ASN is about
//! 10 MB. Lookups take `&self` and are safe to share between threads.
//!
//! ```no_run
//! # fn main() -> Result<(), sekimori_geo::GeoError> {
//! let db = sekimori_geo::AsnDb::open("data/asn/sekimori-test-asn.mmdb")?;
//! if let Some(asn) = db.lookup("100.64.1.2".parse().expect("an address")) {
//!     println!("AS{} {:?}", asn.number, asn.org);
//! }
//! # Ok(())
//! # }
//! ```

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use maxminddb::geoip2;
use serde::Serialize;

/// An autonomous system, as found for an address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Asn {
    /// `autonomous_system_number`.
    pub number: u32,
    /// `autonomous_system_organization`, when the record has one.
    pub org: Option<String>,
}

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    /// The file could not be read.
    #[error("cannot read ASN database {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The bytes are not a valid MaxMind DB.
    #[error("invalid ASN database{}: {source}", origin(.path))]
    Invalid {
        /// The file, when opened from one.
        path: Option<PathBuf>,
        /// The reader's complaint.
        source: maxminddb::MaxMindDbError,
    },
}

fn origin(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| format!(" {}", p.display()))
        .unwrap_or_default()
}

/// Result alias for this crate.
pub type Result<T, E = GeoError> = std::result::Result<T, E>;

/// An opened ASN database.
pub struct AsnDb {
    reader: maxminddb::Reader<Vec<u8>>,
}

impl fmt::Debug for AsnDb {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.reader.metadata();
        f.debug_struct("AsnDb")
            .field("database_type", &m.database_type)
            .field("ip_version", &m.ip_version)
            .field("node_count", &m.node_count)
            .field("build_epoch", &m.build_epoch)
            .finish()
    }
}

impl AsnDb {
    /// Reads a `.mmdb` file into memory and checks its header.
    pub fn open(path: impl AsRef<Path>) -> Result<AsnDb> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| GeoError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(bytes, Some(path))
    }

    /// Uses a `.mmdb` file's bytes already in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<AsnDb> {
        Self::parse(bytes, None)
    }

    fn parse(bytes: Vec<u8>, path: Option<&Path>) -> Result<AsnDb> {
        let reader = maxminddb::Reader::from_source(bytes).map_err(|source| GeoError::Invalid {
            path: path.map(Path::to_path_buf),
            source,
        })?;
        Ok(AsnDb { reader })
    }

    /// The database's `database_type` metadata, e.g. `GeoLite2-ASN`.
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// The database's build time, in seconds since the Unix epoch.
    pub fn build_epoch(&self) -> u64 {
        self.reader.metadata().build_epoch
    }

    /// The autonomous system announcing `ip`, or `None` when the database has
    /// no record for it, the record has no `autonomous_system_number`, or the
    /// record cannot be decoded (a corrupt or differently shaped database:
    /// lookups never fail loudly on the hot path).
    ///
    /// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, as dual-stack sockets
    /// report IPv4 peers) is looked up as the IPv4 address it carries. Any
    /// other IPv6 address looked up in an IPv4-only database finds nothing.
    pub fn lookup(&self, ip: IpAddr) -> Option<Asn> {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let found = self.reader.lookup(ip).ok()?;
        let record: geoip2::Asn<'_> = found.decode().ok()??;
        Some(Asn {
            number: record.autonomous_system_number?,
            org: record.autonomous_system_organization.map(str::to_owned),
        })
    }
}
