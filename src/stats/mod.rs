//! Support statistics. (Placeholder until the `stats` branch lands: it owns this module.)

pub mod series;
