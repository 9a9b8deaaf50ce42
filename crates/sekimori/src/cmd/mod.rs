pub mod backtest;
#[cfg(feature = "bench")]
pub mod bench;
pub mod export;
pub mod keys;
pub mod replay;
pub mod rules;
pub mod serve;
#[cfg(feature = "simulate")]
pub mod simulate;
pub mod users;

use anyhow::Context;
use sekimori_rules::{load_pack, PackSource};
use std::path::Path;

/// The pack at `path`, or the embedded default pack.
pub fn pack_source(path: Option<&Path>) -> anyhow::Result<PackSource> {
    match path {
        Some(p) => load_pack(p).with_context(|| format!("loading rule pack {}", p.display())),
        None => Ok(sekimori_rules::embedded::default_pack()?),
    }
}
