//! PNG plots of latency distributions and scaling curves (plotters).
