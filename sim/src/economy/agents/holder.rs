//! Holders and stakers: where they delegate, when they panic, how they leave and come back.
//!
//! Holders differ: each draws its own panic threshold, the horizon over which it remembers a
//! peak, the days over which it spreads an exit, the days it waits before buying back in and
//! a taste for subnets (noise on the yield score), so a price fall triggers a spread of exits
//! rather than one synchronised dump, and holders do not all stake on the same subnet.

use crate::rng::{Stream, standard_normal, unit_f64};
use serde::{Deserialize, Serialize};

/// Holders' behaviour: the means of their traits and how they choose.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HolderPolicy {
    /// Weight of recent yield (log of one plus the annual yield) in choosing where to stake.
    pub yield_weight: f64,
    /// Weight of price momentum (log price change over the look-back) in choosing.
    pub momentum_weight: f64,
    /// Median drawdown of a position's USD value below its remembered peak that makes a
    /// holder exit; each holder's threshold is this times a log-normal factor.
    pub panic_drawdown: f64,
    /// Standard deviation of the log of a holder's threshold around `panic_drawdown`.
    pub panic_spread: f64,
    /// Mean days a peak is remembered (the peak decays with this time constant), drawn per
    /// holder between half and one and a half times it.
    pub horizon_days: f64,
    /// A holder spreads its exit over 1 ..= this many days (drawn per holder).
    pub exit_days_max: u32,
    /// Standard deviation of a holder's taste (Gumbel-like noise on each subnet's score), so
    /// choices spread over subnets in proportion to how attractive they are.
    pub taste_sd: f64,
    /// Mean days between a holder's reviews of where it is staked.
    pub review_days: f64,
    /// A holder moves its stake only when another subnet's score beats its own by this much
    /// (inertia: moving costs the pools' slippage twice).
    pub inertia: f64,
}

impl Default for HolderPolicy {
    fn default() -> Self {
        Self {
            yield_weight: 1.0,
            momentum_weight: 0.5,
            panic_drawdown: 0.3,
            panic_spread: 0.4,
            horizon_days: 30.0,
            exit_days_max: 7,
            taste_sd: 0.5,
            review_days: 30.0,
            inertia: 0.5,
        }
    }
}

/// One holder's own traits, drawn once from its stream.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HolderTraits {
    /// Drawdown below the remembered peak that makes it exit, in (0, 0.95].
    pub panic_drawdown: f64,
    /// Days a peak is remembered.
    pub horizon_days: f64,
    /// Days over which it sells when it exits.
    pub exit_days: u32,
    /// Days it waits after an exit before buying back in.
    pub reentry_days: f64,
}

/// Draws a holder's traits: threshold log-normal around the policy's median, horizon uniform
/// in [0.5, 1.5] x the mean, exit days uniform in 1 ..= max, re-entry exponential with mean
/// `reentry_mean_days`.
pub fn draw_traits(policy: &HolderPolicy, reentry_mean_days: f64, rng: &mut Stream) -> HolderTraits {
    let threshold = policy.panic_drawdown * libm::exp(policy.panic_spread * standard_normal(rng));
    let horizon = policy.horizon_days * (0.5 + unit_f64(rng));
    let exit_days = 1 + (unit_f64(rng) * f64::from(policy.exit_days_max.max(1))) as u32;
    let reentry = -reentry_mean_days.max(0.0) * libm::log(1.0 - unit_f64(rng));
    HolderTraits {
        panic_drawdown: threshold.clamp(1e-3, 0.95),
        horizon_days: horizon.max(1.0),
        exit_days: exit_days.min(policy.exit_days_max.max(1)),
        reentry_days: reentry,
    }
}

/// A subnet's score for a holder: `yield_weight * ln(1 + yield) + momentum_weight * momentum`.
pub fn score(policy: &HolderPolicy, annual_yield: f64, momentum: f64) -> f64 {
    if annual_yield.is_nan() {
        return f64::NAN;
    }
    policy.yield_weight * libm::log1p(annual_yield.max(0.0)) + policy.momentum_weight * momentum
}

/// The best target by score plus this holder's `taste` noise (one entry per target; missing
/// entries count as 0); ties go to the lowest index, so the choice is deterministic. `None`
/// for an empty list.
pub fn choose_target(policy: &HolderPolicy, yields: &[f64], momentum: &[f64], taste: &[f64]) -> Option<usize> {
    let mut best: Option<(usize, f64)> = None;
    for (i, &y) in yields.iter().enumerate() {
        let m = momentum.get(i).copied().unwrap_or(0.0);
        let s = score(policy, y, m) + taste.get(i).copied().unwrap_or(0.0);
        if !s.is_finite() {
            continue;
        }
        if best.is_none_or(|(_, b)| s > b) {
            best = Some((i, s));
        }
    }
    best.map(|(i, _)| i)
}

/// A Gumbel draw scaled by `sd` (the noise of a logit choice).
pub fn taste(sd: f64, rng: &mut Stream) -> f64 {
    let u = unit_f64(rng).clamp(1e-12, 1.0 - 1e-12);
    -sd * libm::log(-libm::log(u))
}

/// Picks a validator to delegate to: weight `sqrt(stake) * exp(-take / 0.05)` (delegators
/// follow large, known validators, and a lower take pays them more), `u` uniform in [0, 1).
/// `None` when no candidate has stake or the list is empty.
pub fn choose_validator(stakes: &[f64], takes: &[f64], u: f64) -> Option<usize> {
    let w: Vec<f64> = stakes
        .iter()
        .zip(takes)
        .map(|(s, t)| if s.is_finite() && *s > 0.0 { libm::sqrt(*s) * libm::exp(-t.max(0.0) / 0.05) } else { 0.0 })
        .collect();
    let total: f64 = w.iter().sum();
    if total <= 0.0 {
        return None;
    }
    let mut left = u.clamp(0.0, 1.0) * total;
    let mut last = None;
    for (i, wi) in w.iter().enumerate().filter(|(_, wi)| **wi > 0.0) {
        last = Some(i);
        if left < *wi {
            return last;
        }
        left -= wi;
    }
    last
}

/// The remembered peak after `dt_days`: it decays toward the current value with the
/// holder's horizon as time constant, and never stays below the current value.
pub fn remembered_peak(peak: f64, value: f64, dt_days: f64, horizon_days: f64) -> f64 {
    let decay = libm::exp(-dt_days.max(0.0) / horizon_days.max(1e-9));
    (value + (peak - value).max(0.0) * decay).max(value)
}

/// Whether a position worth `value` after a peak of `peak` has fallen past `threshold`.
pub fn panics(threshold: f64, peak: f64, value: f64) -> bool {
    peak > 0.0 && value < peak * (1.0 - threshold)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    #[test]
    fn targets_and_panic() {
        let p = HolderPolicy::default();
        assert_eq!(choose_target(&p, &[0.1, 0.3, 0.3], &[0.0, 0.0, 0.0], &[]), Some(1), "ties: lowest index");
        assert_eq!(choose_target(&p, &[0.1, 0.3], &[1.0, 0.0], &[]), Some(0), "momentum counts");
        assert_eq!(choose_target(&p, &[0.1, 0.3], &[0.0, 0.0], &[1.0, 0.0]), Some(0), "taste counts");
        assert_eq!(choose_target(&p, &[], &[], &[]), None);
        assert_eq!(choose_target(&p, &[f64::NAN, 0.0], &[], &[]), Some(1));
        assert!(!panics(0.3, 100.0, 75.0));
        assert!(panics(0.3, 100.0, 69.0));
        assert!(!panics(0.3, 0.0, 0.0));
    }

    #[test]
    fn traits_differ_between_holders_around_the_policy() {
        let p = HolderPolicy::default();
        let traits: Vec<HolderTraits> =
            (0..2000u64).map(|i| draw_traits(&p, 7.0, &mut stream(5, &crate::label!["holder", i, "traits"]))).collect();
        let mut thresholds: Vec<f64> = traits.iter().map(|t| t.panic_drawdown).collect();
        thresholds.sort_by(f64::total_cmp);
        let median = thresholds[thresholds.len() / 2];
        assert!((median - 0.3).abs() < 0.02, "median threshold {median}");
        assert!(thresholds[100] < 0.18 && thresholds[1900] > 0.5, "spread {} .. {}", thresholds[100], thresholds[1900]);
        assert!(traits.iter().all(|t| (1..=7).contains(&t.exit_days)));
        assert!(traits.iter().any(|t| t.exit_days == 1) && traits.iter().any(|t| t.exit_days == 7));
        let mean_reentry = traits.iter().map(|t| t.reentry_days).sum::<f64>() / 2000.0;
        assert!((mean_reentry - 7.0).abs() < 0.6, "mean re-entry {mean_reentry}");
        // No spread: every holder gets the median threshold.
        let flat = HolderPolicy { panic_spread: 0.0, ..p };
        let t = draw_traits(&flat, 7.0, &mut stream(5, &crate::label!["holder", 1u64, "traits"]));
        assert!((t.panic_drawdown - 0.3).abs() < 1e-12);
    }

    #[test]
    fn peaks_fade_and_validators_are_chosen_by_stake_and_take() {
        // One horizon later, two thirds of the gap above the current value is forgotten.
        let p = remembered_peak(200.0, 100.0, 30.0, 30.0);
        assert!((p - (100.0 + 100.0 * libm::exp(-1.0))).abs() < 1e-9);
        assert_eq!(remembered_peak(50.0, 100.0, 1.0, 30.0), 100.0);
        // Equal takes: in proportion to sqrt(stake); a lower take attracts more.
        assert_eq!(choose_validator(&[1.0, 4.0], &[0.18, 0.18], 0.3), Some(0));
        assert_eq!(choose_validator(&[1.0, 4.0], &[0.18, 0.18], 0.34), Some(1));
        let count = |takes: &[f64]| {
            (0..100).filter(|k| choose_validator(&[1.0, 1.0], takes, f64::from(*k) / 100.0) == Some(0)).count()
        };
        assert!(count(&[0.09, 0.18]) > count(&[0.18, 0.18]));
        assert_eq!(choose_validator(&[0.0, 0.0], &[0.1, 0.1], 0.5), None);
    }
}
