//! The project's own benchmarks, run as `sekimori bench <name>`. Each module
//! is one benchmark: its clap `Args` and a `run` that prints its numbers and,
//! with `--out DIR`, writes them (JSON, and PNG plots where there is a
//! distribution or a curve) for `bench/results/`. Nothing here is timed by
//! CI; CI only builds it.

pub mod budget;
pub mod cowrie;
pub mod devset;
pub mod events;
pub mod http_load;
pub mod ingest;
pub mod memory;
pub mod overload;
pub mod plot;
pub mod redis_baseline;
pub mod replay;
pub mod scaling;
