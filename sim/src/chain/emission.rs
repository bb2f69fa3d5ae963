//! Block emission: how much TAO the chain mints per block, driven by total issuance.
//!
//! Models subtensor's `get_block_emission_for_issuance`
//! (`pallets/subtensor/src/coinbase/block_emission.rs`): halvings are not on a block
//! schedule, they happen when total issuance `I` crosses `cap * (1 - 2^-k)`
//! (10.5M, 15.75M, 18.375M, ... TAO for the 21M cap):
//!
//! ```text
//! residual = log2( 1 / (1 - I / cap) )        in I96F32, with the fixed-point log2
//! k        = floor(residual)
//! emission = base * 2^-k                      (0 once I >= cap)
//! ```
//!
//! The chain evaluates this in `I96F32` with `substrate_fixed::transcendental::log2`, so the
//! exact rao at which each halving takes effect is the fixed-point one, not the real-number
//! one; we call the same function on the same type and get the chain's values. Burned or
//! recycled TAO lowers total issuance and so postpones the next halving.
//!
//! The same function applied to a subnet's alpha issuance gives that subnet's alpha emission.
//! For tokenomics studies a scenario may replace the schedule ([`EmissionSchedule::Smooth`]);
//! that variant is ours, not the chain's.

use super::rao::Rao;
use serde::{Deserialize, Serialize};
use substrate_fixed::transcendental::log2;
use substrate_fixed::types::I96F32;

/// The chain's supply cap: 21M TAO (`TotalSupply`), in rao.
pub const SUPPLY_CAP: Rao = Rao(21_000_000_000_000_000);

/// The chain's base block emission: 1 TAO (`DefaultBlockEmission`), in rao.
pub const BASE_BLOCK_EMISSION: Rao = Rao(1_000_000_000);

/// Which rule turns total issuance into block emission.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "schedule", rename_all = "snake_case", deny_unknown_fields)]
pub enum EmissionSchedule {
    /// The chain's rule: halve each time issuance crosses `cap * (1 - 2^-k)`.
    Halving {
        /// Supply cap in rao (21M TAO on chain).
        cap: Rao,
        /// Emission per block before the first halving, in rao (1 TAO on chain).
        base: Rao,
    },
    /// A study variant, not the chain's: emission falls linearly with the remaining supply,
    /// `base * (cap - I) / cap`, so issuance approaches the cap smoothly (no steps).
    Smooth {
        /// Supply cap in rao.
        cap: Rao,
        /// Emission per block at zero issuance, in rao.
        base: Rao,
    },
}

impl Default for EmissionSchedule {
    fn default() -> Self {
        EmissionSchedule::Halving { cap: SUPPLY_CAP, base: BASE_BLOCK_EMISSION }
    }
}

impl EmissionSchedule {
    /// Block emission at total issuance `issuance`.
    pub fn block_emission(&self, issuance: Rao) -> Rao {
        match *self {
            EmissionSchedule::Halving { cap, base } => halving_emission(issuance, cap, base),
            EmissionSchedule::Smooth { cap, base } => smooth_emission(issuance, cap, base),
        }
    }

    /// The supply cap of this schedule.
    pub fn cap(&self) -> Rao {
        match *self {
            EmissionSchedule::Halving { cap, .. } | EmissionSchedule::Smooth { cap, .. } => cap,
        }
    }
}

/// The chain's `get_block_emission_for_issuance`, with the cap and base as parameters
/// (the chain has 21M TAO and 1 TAO). Any failure of the fixed-point steps gives 0, as the
/// chain's `Err` does (no emission that block).
pub fn halving_emission(issuance: Rao, cap: Rao, base: Rao) -> Rao {
    let total_issuance = I96F32::saturating_from_num(issuance.0);
    let cap_fixed = I96F32::saturating_from_num(cap.0);
    if total_issuance >= cap_fixed {
        return Rao::ZERO;
    }
    let one = I96F32::saturating_from_num(1);
    let Some(fraction) = total_issuance.checked_div(cap_fixed) else {
        return Rao::ZERO;
    };
    let Some(remaining) = one.checked_sub(fraction) else {
        return Rao::ZERO;
    };
    let Some(inverse) = one.checked_div(remaining) else {
        return Rao::ZERO;
    };
    let Ok(residual) = log2::<I96F32, I96F32>(inverse) else {
        return Rao::ZERO;
    };
    let halvings: u64 = residual.floor().saturating_to_num::<u64>();
    // The chain multiplies 1.0 by 2.0 `halvings` times, saturating, then divides 1 by it
    // (`safe_div`: 0 on failure). Beyond 95 doublings I96F32 saturates and the result is 0
    // either way, so the loop is bounded without changing the outcome.
    let mut multiplier = one;
    for _ in 0..halvings.min(96) {
        multiplier = multiplier.saturating_mul(I96F32::saturating_from_num(2));
    }
    let percentage = one.checked_div(multiplier).unwrap_or_default();
    let emission = percentage.saturating_mul(I96F32::saturating_from_num(base.0));
    Rao(emission.saturating_to_num::<u64>())
}

/// `base * (cap - I) / cap` in exact integer arithmetic (u128, floor); 0 at or above the cap.
pub fn smooth_emission(issuance: Rao, cap: Rao, base: Rao) -> Rao {
    if cap.0 == 0 || issuance >= cap {
        return Rao::ZERO;
    }
    let remaining = u128::from(cap.0 - issuance.0);
    Rao((u128::from(base.0) * remaining / u128::from(cap.0)) as u64)
}

/// How many halvings the chain's rule has applied at `issuance` (k in `base * 2^-k`),
/// derived from the emission itself; `None` once emission is zero.
pub fn halvings_at(issuance: Rao, schedule: &EmissionSchedule) -> Option<u32> {
    let emission = schedule.block_emission(issuance);
    let EmissionSchedule::Halving { base, .. } = *schedule else {
        return None;
    };
    if emission.0 == 0 {
        return None;
    }
    Some((base.0 / emission.0).ilog2())
}

/// The issuance at which the k-th halving takes effect in exact arithmetic:
/// `cap * (1 - 2^-k)`, floored to the rao. The chain's fixed-point log2 moves the actual
/// switch by at most a few rao from here; see the tests.
pub fn halving_threshold(cap: Rao, k: u32) -> Rao {
    if k >= 64 {
        return cap;
    }
    let cap = u128::from(cap.0);
    Rao((cap - cap / (1u128 << k)) as u64)
}

/// The chain's block emission at an issuance, remembered over the issuance range where it is
/// constant, so the per-block coinbase does not redo the fixed-point logarithm for each subnet.
///
/// The emission is a non-increasing step function of issuance; the cache keeps the value with
/// the interval `[low, high)` of issuances known to give it (found by bisection, exact), and
/// recomputes when the issuance leaves it. Results are identical to calling the function.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EmissionCache {
    low: u64,
    high: u64,
    emission: u64,
}

impl EmissionCache {
    /// `halving_emission(issuance, SUPPLY_CAP, BASE_BLOCK_EMISSION)`, the chain's rule for TAO and
    /// for every subnet's alpha.
    pub fn emission(&mut self, issuance: Rao) -> Rao {
        let i = issuance.0;
        if i >= self.low && i < self.high {
            return Rao(self.emission);
        }
        let emission = halving_emission(issuance, SUPPLY_CAP, BASE_BLOCK_EMISSION).0;
        // Smallest issuance above `i` with a different emission (or the cap).
        let (mut lo, mut hi) = (i, SUPPLY_CAP.0.max(i.saturating_add(1)));
        if halving_emission(Rao(hi), SUPPLY_CAP, BASE_BLOCK_EMISSION).0 == emission {
            hi = u64::MAX;
        } else {
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2;
                if halving_emission(Rao(mid), SUPPLY_CAP, BASE_BLOCK_EMISSION).0 == emission {
                    lo = mid;
                } else {
                    hi = mid;
                }
            }
        }
        *self = EmissionCache { low: i, high: hi, emission };
        Rao(emission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TAO: u64 = super::super::rao::RAO_PER_TAO;

    fn chain(issuance: u64) -> u64 {
        halving_emission(Rao(issuance), SUPPLY_CAP, BASE_BLOCK_EMISSION).0
    }

    /// The first issuance (rao) at which emission drops below `above`, by bisection over
    /// `[lo, hi]`: emission is non-increasing in issuance.
    fn switch_point(lo: u64, hi: u64, above: u64) -> u64 {
        let (mut lo, mut hi) = (lo, hi);
        assert_eq!(chain(lo), above);
        assert!(chain(hi) < above);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if chain(mid) == above { lo = mid } else { hi = mid }
        }
        hi
    }

    #[test]
    fn halvings_happen_at_the_geometric_thresholds_of_the_cap() {
        let expected = [
            (1, 10_500_000 * TAO),
            (2, 15_750_000 * TAO),
            (3, 18_375_000 * TAO),
            (4, 19_687_500 * TAO),
            (5, 20_343_750 * TAO),
        ];
        for (k, threshold) in expected {
            assert_eq!(halving_threshold(SUPPLY_CAP, k).0, threshold);
            let before = TAO >> (k - 1);
            let after = TAO >> k;
            // One TAO either side of the threshold: the emission of the previous era, then half.
            assert_eq!(chain(threshold - TAO), before, "just below halving {k}");
            assert_eq!(chain(threshold + TAO), after, "just above halving {k}");
            // The exact switch point of the chain's fixed-point rule lies within 1000 rao
            // (1e-6 TAO) of the real-number threshold.
            let switch = switch_point(threshold - TAO, threshold + TAO, before);
            assert!(switch.abs_diff(threshold) <= 1_000, "halving {k}: switch at {switch}, threshold {threshold}");
        }
    }

    #[test]
    fn the_cache_gives_the_functions_values_everywhere() {
        let mut cache = EmissionCache::default();
        let mut issuance = 10_499_999 * TAO;
        for step in 0..2_000u64 {
            let value = cache.emission(Rao(issuance));
            assert_eq!(value.0, chain(issuance), "at {issuance}");
            // Mostly upward, sometimes back down (recycling).
            issuance = if step % 7 == 0 { issuance - 3 * TAO / 2 } else { issuance + TAO - 1 };
        }
        assert_eq!(cache.emission(SUPPLY_CAP).0, 0);
        assert_eq!(cache.emission(Rao(0)).0, TAO);
    }

    #[test]
    fn emission_at_known_points() {
        assert_eq!(chain(0), TAO);
        assert_eq!(chain(5_000_000 * TAO), TAO);
        assert_eq!(chain(12_000_000 * TAO), TAO / 2);
        assert_eq!(chain(17_000_000 * TAO), TAO / 4);
        assert_eq!(chain(21_000_000 * TAO), 0);
        assert_eq!(chain(u64::MAX), 0);
        // Deep in the tail the emission keeps halving down to single rao, then zero.
        assert!(chain(21_000_000 * TAO - 1) <= 1);
    }

    #[test]
    fn a_different_cap_and_base_scale_the_schedule() {
        let cap = Rao(1_000 * TAO);
        let base = Rao(8 * TAO);
        assert_eq!(halving_emission(Rao(499 * TAO), cap, base), Rao(8 * TAO));
        assert_eq!(halving_emission(Rao(501 * TAO), cap, base), Rao(4 * TAO));
        assert_eq!(halving_emission(Rao(751 * TAO), cap, base), Rao(2 * TAO));
    }

    #[test]
    fn smooth_schedule_is_linear_in_remaining_supply() {
        let s = EmissionSchedule::Smooth { cap: SUPPLY_CAP, base: BASE_BLOCK_EMISSION };
        assert_eq!(s.block_emission(Rao::ZERO), BASE_BLOCK_EMISSION);
        assert_eq!(s.block_emission(Rao(10_500_000 * TAO)), Rao(TAO / 2));
        assert_eq!(s.block_emission(SUPPLY_CAP), Rao::ZERO);
        assert_eq!(halvings_at(Rao::ZERO, &s), None);
    }

    #[test]
    fn halvings_count_from_the_emission() {
        let s = EmissionSchedule::default();
        assert_eq!(halvings_at(Rao(0), &s), Some(0));
        assert_eq!(halvings_at(Rao(11_000_000 * TAO), &s), Some(1));
        assert_eq!(halvings_at(Rao(19_000_000 * TAO), &s), Some(3));
        assert_eq!(halvings_at(SUPPLY_CAP, &s), None);
    }
}
