//! Simulated time: milliseconds since the run's first block, and chain blocks of 12 s.
//!
//! The chain's clock is the block (`MILLISECS_PER_BLOCK = 12000` in subtensor's runtime);
//! network and training events need finer time, so the engine counts integer milliseconds
//! and derives the block from them. Integers keep time identical on every platform.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Milliseconds per block, as the chain's runtime sets it (12 s).
pub const MS_PER_BLOCK: u64 = 12_000;

/// Blocks per simulated day (86,400 s / 12 s).
pub const BLOCKS_PER_DAY: u64 = 7_200;

/// A chain block number (height relative to the run's start).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Block(pub u64);

impl Block {
    /// The block's start as simulated time.
    pub fn start(self) -> SimTime {
        SimTime(self.0.saturating_mul(MS_PER_BLOCK))
    }

    /// Simulated days since block zero.
    pub fn days(self) -> f64 {
        self.0 as f64 / BLOCKS_PER_DAY as f64
    }
}

impl fmt::Display for Block {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "block {}", self.0)
    }
}

/// A point in simulated time: integer milliseconds since the start of block zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SimTime(u64);

impl SimTime {
    /// The start of the run.
    pub const ZERO: SimTime = SimTime(0);

    /// A time `ms` milliseconds after the start.
    pub const fn from_ms(ms: u64) -> Self {
        SimTime(ms)
    }

    /// Milliseconds since the start.
    pub const fn ms(self) -> u64 {
        self.0
    }

    /// The block this instant falls in.
    pub const fn block(self) -> Block {
        Block(self.0 / MS_PER_BLOCK)
    }

    /// `self + ms`, saturating at the end of representable time.
    pub const fn saturating_add_ms(self, ms: u64) -> Self {
        SimTime(self.0.saturating_add(ms))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_and_milliseconds_convert_both_ways() {
        assert_eq!(Block(3).start(), SimTime::from_ms(36_000));
        assert_eq!(SimTime::from_ms(35_999).block(), Block(2));
        assert_eq!(SimTime::from_ms(36_000).block(), Block(3));
        assert_eq!(Block(7_200).days(), 1.0);
        assert_eq!(Block(u64::MAX).start(), SimTime::from_ms(u64::MAX));
    }
}
