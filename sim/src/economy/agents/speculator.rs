//! Alpha speculators: traders who price each subnet's alpha by the TAO it earns and trade
//! the pools toward that value.
//!
//! Holders stake by recent yield and momentum; nothing in them says what an alpha is worth,
//! so the sum of alpha prices drifts wherever the flows push it. Speculators supply the
//! anchor. They value the alpha sector as a whole at a multiple of the TAO emission that
//! enters the subnets (a price-to-emission ratio, the way traders compare subnets) per alpha
//! issued on the average subnet, and split it by each subnet's share of that emission:
//!
//! `value_i = tao_per_day_i * value_days / mean_issuance` TAO per alpha,
//!
//! so the values sum to `E * value_days / mean_issuance`. That sum falls as new alpha is
//! minted, the shape the real sum of prices followed through 2025 (2.3 in February to 1.0 in
//! October, `economy-calibration.md` section 2), while the chain's own buys of alpha hold it
//! near 1 from below. Dividing by the average issuance rather than each subnet's own keeps
//! the anchor from feeding on itself: shares follow prices (the chain's rule through 2025),
//! so a subnet's value rises when speculators lift its price, but it can never exceed the
//! sector's, and a sum of prices above the sector's value is sold down everywhere. A fully
//! diluted perpetuity (a discount rate plus the minting rate) values the real 2025 network's
//! alpha at about a third of what it traded at, so the multiple is the stated behaviour, not
//! a derivation; by default it is the multiple that prices the starting network fairly
//! (about 2,500 days for the 2025-like snapshot of `scenarios/mainnet-like.toml`, sum of
//! prices 1.3), so speculators hold the sum where the start put it, less the dilution. Each subnet's value also carries a shared "news"
//! factor (an AR(1) in log, its own labelled stream per subnet), so alpha prices move on
//! subnet-specific information as real ones do (daily sigma ~10 % in TAO).
//!
//! A speculator trades only the part of the gap beyond its own band, and only a fraction of
//! that per day, so arbitrage is gradual and bounded by its TAO and its holdings.

use crate::rng::{Stream, standard_normal, unit_f64};
use serde::{Deserialize, Serialize};

/// Speculators' behaviour: the means of their beliefs and how fast they trade.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpeculatorPolicy {
    /// Median multiple: days of the subnets' TAO emission the average subnet's alpha issuance
    /// is worth; 0 takes the multiple that prices the starting network fairly (its sum of
    /// prices over its emission per average issuance, at the speculators' first decision).
    pub value_days: f64,
    /// Standard deviation of the log of a speculator's multiple around the median. Kept small
    /// by default: with no short sales, the most optimistic speculator sets a price once the
    /// others have sold out of it.
    pub belief_sd: f64,
    /// Median log gap between value and price a speculator ignores (its band; each draws
    /// between half and one and a half times this).
    pub band: f64,
    /// Fraction of the gap beyond their bands that all speculators together close per day,
    /// while their TAO and holdings last. 0 ..= 1.
    pub reversion_per_day: f64,
    /// Daily standard deviation of the innovations of each subnet's news factor (log).
    pub news_daily_sd: f64,
    /// Half-life of a subnet's news factor, in days.
    pub news_half_life_days: f64,
}

impl Default for SpeculatorPolicy {
    fn default() -> Self {
        Self {
            value_days: 0.0,
            belief_sd: 0.1,
            band: 0.05,
            reversion_per_day: 0.2,
            news_daily_sd: 0.06,
            news_half_life_days: 30.0,
        }
    }
}

/// One speculator's own beliefs, drawn once from its stream.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpeculatorTraits {
    /// Its multiple relative to the policy's median (log-normal around 1).
    pub belief: f64,
    /// Log gap it ignores.
    pub band: f64,
}

/// Draws a speculator's beliefs: multiple log-normal around the policy's median, band
/// uniform in [0.5, 1.5] x the policy's.
pub fn draw_traits(policy: &SpeculatorPolicy, rng: &mut Stream) -> SpeculatorTraits {
    let belief = libm::exp(policy.belief_sd * standard_normal(rng));
    let band = policy.band * (0.5 + unit_f64(rng));
    SpeculatorTraits { belief, band: band.max(0.0) }
}

/// The multiple that values the alpha sector at `sum_of_prices`: `sum_of_prices *
/// mean_issuance / tao_per_day` (the subnets' TAO emission per day). `None` without emission.
pub fn fair_multiple(sum_of_prices: f64, mean_issuance: f64, tao_per_day: f64) -> Option<f64> {
    let days = sum_of_prices * mean_issuance / tao_per_day;
    (tao_per_day > 0.0 && days.is_finite() && days > 0.0).then_some(days)
}

/// A subnet's alpha value in TAO: `tao_per_day * value_days / mean_issuance`, with
/// `mean_issuance` the alpha issued per subnet on average. `None` when the subnet earns no
/// TAO (no value to anchor to: a subnet without emission is left to the other traders) or
/// nothing is issued.
pub fn alpha_value(tao_per_day: f64, mean_issuance: f64, value_days: f64) -> Option<f64> {
    (tao_per_day > 0.0 && mean_issuance > 0.0 && value_days > 0.0 && tao_per_day.is_finite())
        .then(|| tao_per_day * value_days / mean_issuance)
}

/// The log move a speculator wants today: the gap `ln(value / price)` beyond its band, times
/// its speed; positive to buy, negative to sell, 0 inside the band.
pub fn wanted_move(value: f64, price: f64, band: f64, speed: f64) -> f64 {
    if !(value > 0.0 && price > 0.0) {
        return 0.0;
    }
    let gap = libm::log(value / price);
    let beyond = if gap > band {
        gap - band
    } else if gap < -band {
        gap + band
    } else {
        0.0
    };
    beyond * speed.clamp(0.0, 1.0)
}

/// The amount of the reserve's own asset that moves a 50/50 weighted pool's price by `x` in
/// log: TAO in to raise it (`reserve` = TAO reserve, `x > 0`), alpha in to lower it
/// (`reserve` = alpha reserve, `x < 0`). The price is T/A, and a swap against reserve R
/// scales the price by `((R + d) / R)^2` (`chain-mechanics.md` section 3, w = 1/2, fee aside).
pub fn amount_for_move(reserve: f64, x: f64) -> f64 {
    reserve.max(0.0) * (libm::exp(x.abs() / 2.0) - 1.0)
}

/// The next value of a subnet's news factor (log): AR(1) with the half-life's persistence
/// over `dt_days`, innovations of `daily_sd * sqrt(dt_days)`.
pub fn next_news(news: f64, policy: &SpeculatorPolicy, dt_days: f64, rng: &mut Stream) -> f64 {
    let keep = libm::exp(-core::f64::consts::LN_2 * dt_days.max(0.0) / policy.news_half_life_days.max(1e-9));
    keep * news + policy.news_daily_sd * libm::sqrt(dt_days.max(0.0)) * standard_normal(rng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    #[test]
    fn value_is_a_multiple_of_emission_per_alpha() {
        // 100 TAO a day, 650 days, 2M alpha issued on the average subnet: 0.0325 TAO per alpha.
        let v = alpha_value(100.0, 2e6, 650.0).expect("valued");
        assert!((v - 0.0325).abs() < 1e-15, "{v}");
        // More alpha issued (minting dilutes): worth less; more TAO or a longer multiple: more.
        assert!(alpha_value(100.0, 3e6, 650.0).expect("valued") < v);
        assert!(alpha_value(200.0, 2e6, 650.0).expect("valued") > v);
        assert!(alpha_value(100.0, 2e6, 700.0).expect("valued") > v);
        assert_eq!(alpha_value(0.0, 2e6, 650.0), None, "no emission, no anchor");
        assert_eq!(alpha_value(100.0, 0.0, 650.0), None);
        assert_eq!(alpha_value(f64::NAN, 2e6, 650.0), None);
    }

    #[test]
    fn moves_only_beyond_the_band_and_sized_by_the_pool() {
        assert_eq!(wanted_move(1.04, 1.0, 0.05, 0.5), 0.0);
        assert_eq!(wanted_move(0.96, 1.0, 0.05, 0.5), 0.0);
        let up = wanted_move(libm::exp(0.25), 1.0, 0.05, 0.5);
        assert!((up - 0.1).abs() < 1e-12, "{up}");
        let down = wanted_move(libm::exp(-0.25), 1.0, 0.05, 0.5);
        assert!((down + 0.1).abs() < 1e-12, "{down}");
        assert_eq!(wanted_move(0.0, 1.0, 0.05, 0.5), 0.0);
        // Swapping the amount into a constant-product pool moves its price by exactly x.
        let (t, a) = (1_000.0, 5_000.0);
        let d = amount_for_move(t, 0.1);
        let price_after = (t + d) / (a * t / (t + d));
        assert!((libm::log(price_after / (t / a)) - 0.1).abs() < 1e-12);
        let d = amount_for_move(a, -0.1);
        let price_after = (t * a / (a + d)) / (a + d);
        assert!((libm::log(price_after / (t / a)) + 0.1).abs() < 1e-12);
    }

    #[test]
    fn news_persists_with_its_half_life_and_beliefs_spread() {
        let p = SpeculatorPolicy { news_daily_sd: 0.0, ..SpeculatorPolicy::default() };
        let mut rng = stream(1, &crate::label!["news"]);
        let n = next_news(0.4, &p, 30.0, &mut rng);
        assert!((n - 0.2).abs() < 1e-12, "one half-life halves it: {n}");
        // Stationary spread: sd / sqrt(1 - keep^2) per daily step.
        let p = SpeculatorPolicy::default();
        let (mut x, mut sum2) = (0.0, 0.0);
        for _ in 0..40_000 {
            x = next_news(x, &p, 1.0, &mut rng);
            sum2 += x * x;
        }
        let keep = libm::exp(-core::f64::consts::LN_2 / 30.0);
        let want = p.news_daily_sd / libm::sqrt(1.0 - keep * keep);
        let got = libm::sqrt(sum2 / 40_000.0);
        assert!((got / want - 1.0).abs() < 0.1, "stationary sd {got} vs {want}");
        let beliefs: Vec<f64> =
            (0..500u64).map(|i| draw_traits(&p, &mut stream(2, &crate::label!["speculator", i])).belief).collect();
        let below = beliefs.iter().filter(|b| **b < 1.0).count();
        assert!((200..300).contains(&below), "median near the policy's: {below} of 500 below");
        assert!(beliefs.iter().any(|b| *b < 0.85) && beliefs.iter().any(|b| *b > 1.15));
        // The fair multiple prices the sector at the given sum: 1.3 * 6.9M / 3,600 a day.
        let days = fair_multiple(1.3, 6.9e6, 3_600.0).expect("a multiple");
        assert!((days - 2_491.666_666_666_667).abs() < 1e-9, "{days}");
        assert_eq!(fair_multiple(1.3, 6.9e6, 0.0), None);
    }
}
