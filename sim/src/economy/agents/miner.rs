//! Miners: GPU fleets that cost money, earn alpha, sell some of it, enter and leave.

use crate::rng::{Stream, standard_normal};
use serde::{Deserialize, Serialize};

/// How a miner converts rewards (alpha -> TAO -> USD).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case", deny_unknown_fields)]
pub enum SellPolicy {
    /// Sell just enough TAO to pay the costs due (and keep the rest).
    CoverCosts,
    /// Sell this fraction of every reward.
    Fraction {
        /// Fraction of each reward sold, 0 ..= 1.
        fraction: f64,
    },
    /// Never sell.
    Hold,
}

/// TAO to sell now under `policy`: `reward_tao` just received, `costs_due_usd` unpaid costs,
/// `tao_balance` what the miner holds (including the reward), at `price_usd`.
pub fn tao_to_sell(policy: SellPolicy, reward_tao: f64, costs_due_usd: f64, tao_balance: f64, price_usd: f64) -> f64 {
    let wanted = match policy {
        SellPolicy::CoverCosts => {
            if price_usd > 0.0 {
                costs_due_usd.max(0.0) / price_usd
            } else {
                0.0
            }
        }
        SellPolicy::Fraction { fraction } => reward_tao.max(0.0) * fraction.clamp(0.0, 1.0),
        SellPolicy::Hold => 0.0,
    };
    if wanted.is_finite() { wanted.clamp(0.0, tao_balance.max(0.0)) } else { 0.0 }
}

/// A miner's quality on a subnet's task: grows with compute (sub-linearly: `compute^elasticity`)
/// with log-normal noise of standard deviation `noise_sd` from the miner's own stream.
pub fn quality(compute_tflops: f64, elasticity: f64, noise_sd: f64, rng: &mut Stream) -> f64 {
    if compute_tflops <= 0.0 {
        return 0.0;
    }
    libm::pow(compute_tflops, elasticity) * libm::exp(noise_sd * standard_normal(rng))
}

/// Whether registering pays: the expected profit over `payback_days` beats the burn.
/// `expected_tao_per_day` is the miner's estimate of its emission once registered.
pub fn registration_pays(
    expected_tao_per_day: f64,
    price_usd: f64,
    cost_usd_per_day: f64,
    burn_tao: f64,
    payback_days: f64,
) -> bool {
    let profit_usd = (expected_tao_per_day * price_usd - cost_usd_per_day) * payback_days;
    profit_usd.is_finite() && profit_usd > burn_tao * price_usd
}

/// Counts consecutive losing days; the miner leaves after `patience_days` of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LossStreak {
    /// Consecutive days with a loss so far.
    pub days: u32,
}

impl LossStreak {
    /// Records one day's profit in USD; returns true when the miner should leave.
    pub fn record(&mut self, profit_usd: f64, patience_days: u32) -> bool {
        if profit_usd < 0.0 {
            self.days = self.days.saturating_add(1);
        } else {
            self.days = 0;
        }
        self.days >= patience_days.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    #[test]
    fn sell_policies() {
        assert_eq!(tao_to_sell(SellPolicy::Hold, 10.0, 500.0, 10.0, 100.0), 0.0);
        assert_eq!(tao_to_sell(SellPolicy::Fraction { fraction: 0.25 }, 8.0, 0.0, 100.0, 100.0), 2.0);
        assert_eq!(tao_to_sell(SellPolicy::CoverCosts, 1.0, 500.0, 100.0, 100.0), 5.0);
        // Cannot sell more than held; a lower price means more TAO sold to cover the same costs.
        assert_eq!(tao_to_sell(SellPolicy::CoverCosts, 1.0, 500.0, 3.0, 100.0), 3.0);
        assert!(
            tao_to_sell(SellPolicy::CoverCosts, 1.0, 500.0, 100.0, 50.0)
                > tao_to_sell(SellPolicy::CoverCosts, 1.0, 500.0, 100.0, 100.0)
        );
        assert_eq!(tao_to_sell(SellPolicy::CoverCosts, 1.0, 500.0, 100.0, 0.0), 0.0);
    }

    #[test]
    fn a_miner_leaves_after_the_configured_losses_and_a_good_day_resets_the_count() {
        let mut streak = LossStreak::default();
        assert!(!streak.record(-1.0, 3));
        assert!(!streak.record(-1.0, 3));
        assert!(!streak.record(5.0, 3), "a profitable day resets");
        assert!(!streak.record(-1.0, 3));
        assert!(!streak.record(-1.0, 3));
        assert!(streak.record(-1.0, 3), "third loss in a row: leave");
    }

    #[test]
    fn registration_and_quality() {
        assert!(registration_pays(1.0, 100.0, 50.0, 1.0, 30.0));
        assert!(!registration_pays(1.0, 100.0, 150.0, 1.0, 30.0), "losing money every day");
        assert!(!registration_pays(0.01, 100.0, 0.5, 1.0, 30.0), "burn not paid back");
        let mut a = stream(3, &crate::label!["miner", 1u64, "quality"]);
        let q_small = quality(100.0, 0.5, 0.0, &mut a);
        let q_big = quality(400.0, 0.5, 0.0, &mut a);
        assert!((q_big / q_small - 2.0).abs() < 1e-12);
        assert_eq!(quality(0.0, 0.5, 0.1, &mut a), 0.0);
    }
}
