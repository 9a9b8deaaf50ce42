//! The default rule pack, compiled into the binary so a fresh machine starts
//! with it. `rules/default/` stays the source of truth; a test checks that
//! this list embeds every file there.

use crate::{load_embedded, LoadError, PackSource};

/// Every file of `rules/default/`, path relative to it.
pub const DEFAULT_PACK_FILES: &[(&str, &str)] = &[
    (
        "custody.yaml",
        include_str!("../../../rules/default/custody.yaml"),
    ),
    (
        "drain.yaml",
        include_str!("../../../rules/default/drain.yaml"),
    ),
    (
        "holds.yaml",
        include_str!("../../../rules/default/holds.yaml"),
    ),
    (
        "laundering.yaml",
        include_str!("../../../rules/default/laundering.yaml"),
    ),
    (
        "links.yaml",
        include_str!("../../../rules/default/links.yaml"),
    ),
    (
        "login.yaml",
        include_str!("../../../rules/default/login.yaml"),
    ),
    (
        "mules.yaml",
        include_str!("../../../rules/default/mules.yaml"),
    ),
    (
        "pack.yaml",
        include_str!("../../../rules/default/pack.yaml"),
    ),
    (
        "payments.yaml",
        include_str!("../../../rules/default/payments.yaml"),
    ),
    (
        "purchases.yaml",
        include_str!("../../../rules/default/purchases.yaml"),
    ),
    (
        "takeover.yaml",
        include_str!("../../../rules/default/takeover.yaml"),
    ),
    (
        "lists/blocked_ips.txt",
        include_str!("../../../rules/default/lists/blocked_ips.txt"),
    ),
];

/// The embedded default pack.
pub fn default_pack() -> Result<PackSource, LoadError> {
    load_embedded(DEFAULT_PACK_FILES)
}
