//! Miners: GPU fleets that cost money, earn alpha, sell some of it, enter and leave.

use crate::rng::{Stream, standard_normal};
use serde::{Deserialize, Serialize};

/// How a miner converts rewards (alpha -> TAO -> USD).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case", deny_unknown_fields)]
pub enum SellPolicy {
    /// Sell just enough to pay the costs due; keep the rest staked.
    CoverCosts,
    /// Sell what pays the costs due plus `fraction` of the day's surplus (reward beyond the
    /// costs); keep the rest staked. The default, with `fraction = 0.3`: the reference has no
    /// measured share of miner emission sold ("structural selling, mainly from miners",
    /// economy-calibration.md §2), so it is a parameter to sweep.
    CoverCostsPlus {
        /// Fraction of the surplus sold, 0 ..= 1.
        fraction: f64,
    },
    /// Sell this fraction of every reward.
    Fraction {
        /// Fraction of each reward sold, 0 ..= 1.
        fraction: f64,
    },
    /// Never sell.
    Hold,
}

/// TAO to sell now under `policy`: `reward_tao` just received, `costs_due_usd` unpaid costs
/// (today's included), `cost_today_usd` today's costs, `tao_balance` what the miner can raise
/// (free TAO plus the TAO value of its stake), at `price_usd`.
pub fn tao_to_sell(
    policy: SellPolicy,
    reward_tao: f64,
    costs_due_usd: f64,
    cost_today_usd: f64,
    tao_balance: f64,
    price_usd: f64,
) -> f64 {
    let wanted = match policy {
        SellPolicy::CoverCosts | SellPolicy::CoverCostsPlus { .. } => {
            if price_usd > 0.0 {
                let surplus = (reward_tao - cost_today_usd.max(0.0) / price_usd).max(0.0);
                let fraction = match policy {
                    SellPolicy::CoverCostsPlus { fraction } => fraction.clamp(0.0, 1.0),
                    _ => 0.0,
                };
                costs_due_usd.max(0.0) / price_usd + fraction * surplus
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

/// How well a GPU kind suits a subnet's task: a log-normal factor of standard deviation `sd`,
/// the same for every miner with that GPU on that subnet (subnets run different tasks, so
/// the same card does not rank the same everywhere), drawn from its own labelled stream.
pub fn task_affinity(seed: u64, netuid: u16, gpu: usize, sd: f64) -> f64 {
    if sd <= 0.0 {
        return 1.0;
    }
    let mut rng = crate::rng::stream(seed, &crate::label!["subnet", netuid, "task", gpu as u64]);
    libm::exp(sd * standard_normal(&mut rng))
}

/// Picks a subnet with probability proportional to its expected TAO per day (`u` uniform in
/// [0, 1)); entrants spread over subnets by expected profit instead of all joining the best.
/// Entries with a non-positive or non-finite estimate are never picked; `None` if none is left.
pub fn pick_by_expected(expected: &[(u16, f64)], u: f64) -> Option<(u16, f64)> {
    let ok = |e: f64| e.is_finite() && e > 0.0;
    let total: f64 = expected.iter().filter(|(_, e)| ok(*e)).map(|(_, e)| e).sum();
    if total <= 0.0 {
        return None;
    }
    let mut left = u.clamp(0.0, 1.0) * total;
    let mut last = None;
    for &(netuid, e) in expected.iter().filter(|(_, e)| ok(*e)) {
        last = Some((netuid, e));
        if left < e {
            return last;
        }
        left -= e;
    }
    last
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
        assert_eq!(tao_to_sell(SellPolicy::Hold, 10.0, 500.0, 500.0, 10.0, 100.0), 0.0);
        assert_eq!(tao_to_sell(SellPolicy::Fraction { fraction: 0.25 }, 8.0, 0.0, 0.0, 100.0, 100.0), 2.0);
        assert_eq!(tao_to_sell(SellPolicy::CoverCosts, 1.0, 500.0, 100.0, 100.0, 100.0), 5.0);
        // Cannot sell more than held; a lower price means more TAO sold to cover the same costs.
        assert_eq!(tao_to_sell(SellPolicy::CoverCosts, 1.0, 500.0, 100.0, 3.0, 100.0), 3.0);
        assert!(
            tao_to_sell(SellPolicy::CoverCosts, 1.0, 500.0, 100.0, 100.0, 50.0)
                > tao_to_sell(SellPolicy::CoverCosts, 1.0, 500.0, 100.0, 100.0, 100.0)
        );
        assert_eq!(tao_to_sell(SellPolicy::CoverCosts, 1.0, 500.0, 100.0, 100.0, 0.0), 0.0);
        // Costs plus a fraction of the surplus: reward 10 TAO, costs 2 TAO, so 2 + 0.5 * 8.
        let plus = SellPolicy::CoverCostsPlus { fraction: 0.5 };
        assert!((tao_to_sell(plus, 10.0, 200.0, 200.0, 100.0, 100.0) - 6.0).abs() < 1e-12);
        // A loss-making day sells only the costs; a larger fraction sells more.
        assert!((tao_to_sell(plus, 1.0, 200.0, 200.0, 100.0, 100.0) - 2.0).abs() < 1e-12);
        assert!(
            tao_to_sell(SellPolicy::CoverCostsPlus { fraction: 0.9 }, 10.0, 200.0, 200.0, 100.0, 100.0)
                > tao_to_sell(plus, 10.0, 200.0, 200.0, 100.0, 100.0)
        );
    }

    #[test]
    fn entrants_spread_by_expected_income_and_affinity_differs_by_subnet() {
        let e = [(1, 1.0), (2, 3.0), (3, 0.0), (4, f64::NAN)];
        assert_eq!(pick_by_expected(&e, 0.0).map(|x| x.0), Some(1));
        assert_eq!(pick_by_expected(&e, 0.2).map(|x| x.0), Some(1));
        assert_eq!(pick_by_expected(&e, 0.3).map(|x| x.0), Some(2));
        assert_eq!(pick_by_expected(&e, 0.999).map(|x| x.0), Some(2));
        assert_eq!(pick_by_expected(&[(1, 0.0)], 0.5), None);
        // About a quarter of uniform draws land on subnet 1.
        let ones =
            (0..1000).filter(|k| pick_by_expected(&e, (*k as f64 + 0.5) / 1000.0).map(|x| x.0) == Some(1)).count();
        assert_eq!(ones, 250);
        assert_eq!(task_affinity(1, 3, 0, 0.0), 1.0);
        let a: Vec<f64> = (1..=8).map(|n| task_affinity(1, n, 0, 0.3)).collect();
        assert!(a.iter().any(|x| (x - a[0]).abs() > 1e-3), "differs by subnet: {a:?}");
        assert_eq!(task_affinity(1, 3, 2, 0.3), task_affinity(1, 3, 2, 0.3));
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
