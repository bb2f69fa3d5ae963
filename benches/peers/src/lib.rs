//! The peers' benchmark models on taosim's engine.
//!
//! `../shared/peers/` (the peers' README) specifies three models that other simulators run:
//! an M/M/1 queue and a validators-to-miners task market ("fan-out") in SimPy, and a block model
//! of subnet pools ("bittensor_lite/1") in numpy, radCAD and cadCAD. This crate builds the same
//! three models on [`sim::engine`] so that taosim can be measured against them on identical
//! models, and checked against their reference outputs first:
//! - [`mm1`]: the M/M/1 queue (λ = 0.9, μ = 1.0), checked against queueing theory;
//! - [`fanout`]: V validators × M miners, FIFO service per miner, validator inboxes;
//! - [`bittensor_lite`]: the block model with the spec's SplitMix64 draws ([`splitmix`]) and
//!   numpy's summation order ([`pairwise`]), checked against the reference final states;
//! - [`pyfmt`]: Python's float `repr` and the reference JSON / trace layouts;
//! - [`report`]: the peers' CSV schema, peak memory, and the comparison table.
//!
//! Continuous time: the engine's [`sim::engine::SimTime`] is an integer count (milliseconds in
//! the network model). The two queueing models read one engine tick as 10⁻⁹ model time units
//! ([`TICKS_PER_UNIT`]): exponential draws are rounded to the nearest tick (an error of at most
//! 5·10⁻¹⁰ per draw, far below the statistical error of any figure reported), and integer time
//! keeps sojourn sums exact. The block model uses the chain's own clock (one event per block).
#![warn(missing_docs)]

pub mod bittensor_lite;
pub mod expo;
pub mod fanout;
pub mod mm1;
pub mod pairwise;
pub mod pyfmt;
pub mod report;
pub mod splitmix;

use sim::engine::SimTime;

/// Engine ticks per model time unit in the queueing models (1 tick = 1 ns of model time).
pub const TICKS_PER_UNIT: f64 = 1e9;

/// A model duration (time units, finite, ≥ 0) as engine ticks, rounded to the nearest tick.
pub fn ticks(duration: f64) -> u64 {
    // Round half up by adding 0.5 (the same as `round` for non-negative values, without its
    // out-of-line call on baseline x86-64); `as` saturates, and negative or NaN input gives 0.
    (duration * TICKS_PER_UNIT + 0.5) as u64
}

/// Engine time as model time units.
pub fn units(time: SimTime) -> f64 {
    time.ms() as f64 / TICKS_PER_UNIT
}

/// A configuration the models refuse: names the field and what is allowed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    /// A field outside its allowed range.
    #[error("{field} = {value}: {allowed}")]
    OutOfRange {
        /// The option as the command line names it.
        field: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        allowed: &'static str,
    },
}

pub(crate) fn out_of_range(field: &'static str, value: impl ToString, allowed: &'static str) -> ConfigError {
    ConfigError::OutOfRange { field, value: value.to_string(), allowed }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_round_to_the_nearest_nanosecond_of_model_time() {
        assert_eq!(ticks(0.5), 500_000_000);
        assert_eq!(ticks(360.0), 360_000_000_000);
        assert_eq!(ticks(1.4e-9), 1);
        assert_eq!(ticks(0.0), 0);
        assert_eq!(units(SimTime::from_ms(2_500_000_000)), 2.5);
    }
}
