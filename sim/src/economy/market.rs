//! The external TAO/USD market: an exogenous price process plus the price impact of flows
//! through an exchange of finite depth.
//!
//! The price is `p = f * exp(m)`: `f` is the exogenous "fair" price, a geometric Brownian
//! motion with Poisson jumps (log-normal sizes), and `m` is the accumulated impact of
//! participants' net flows, which decays back to zero with a resilience half-life.
//!
//! **Impact law: a virtual constant-product book.** The exchange is a constant-product pool
//! holding `y` USD and `x` TAO (price `y / x`). Selling `q` TAO pays `y q / (x + q)` USD and
//! moves the price by `(x / (x + q))^2`; buying with `u` USD symmetrically, so trades within a
//! step are path-independent (splitting an order does not change its total impact). At every
//! [`Market::advance`] arbitrage re-centres the book: the price's deviation from the fair price
//! decays with the resilience half-life and the book is rebuilt with `D` USD (the configured
//! depth) at the new price. Depth can be cut by a shock; an off-ramp freeze refuses sells.
//!
//! This is participants' world, not chain state: it is computed in f64, with `libm` for exp,
//! ln and sqrt so results do not depend on the platform's math library, and all randomness
//! comes from one labelled stream.

use crate::rng::{Stream, standard_normal, unit_f64};
use serde::{Deserialize, Serialize};

/// Days per year for annualised parameters.
pub const DAYS_PER_YEAR: f64 = 365.0;

/// Parameters of the external market (the scenario's `[market]` table).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MarketParams {
    /// TAO/USD at the start.
    pub initial_price_usd: f64,
    /// Annual drift of the fair price's log (before the volatility correction).
    pub drift_per_year: f64,
    /// Annualised volatility of the fair price's log.
    pub volatility_per_year: f64,
    /// Expected number of price jumps per year.
    pub jumps_per_year: f64,
    /// Mean of a jump's log size (negative: crashes dominate).
    pub jump_mean_log: f64,
    /// Standard deviation of a jump's log size.
    pub jump_sd_log: f64,
    /// Exchange depth: USD on each side of the virtual constant-product book.
    pub depth_usd: f64,
    /// Half-life of price impact, in hours: how fast the market absorbs a flow.
    pub resilience_half_life_hours: f64,
}

impl Default for MarketParams {
    fn default() -> Self {
        Self {
            initial_price_usd: 400.0,
            drift_per_year: 0.0,
            volatility_per_year: 0.8,
            jumps_per_year: 4.0,
            jump_mean_log: -0.05,
            jump_sd_log: 0.1,
            depth_usd: 5_000_000.0,
            resilience_half_life_hours: 24.0,
        }
    }
}

impl MarketParams {
    /// Range problems as (field, message) pairs; empty when valid.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut check = |field: &'static str, v: f64, lo: f64, hi: f64| {
            if !(v.is_finite() && v >= lo && v <= hi) {
                out.push((field, format!("{v} is out of range; allowed {lo} ..= {hi}")));
            }
        };
        check("initial_price_usd", self.initial_price_usd, 1e-6, 1e9);
        check("drift_per_year", self.drift_per_year, -10.0, 10.0);
        check("volatility_per_year", self.volatility_per_year, 0.0, 10.0);
        check("jumps_per_year", self.jumps_per_year, 0.0, 1e4);
        check("jump_mean_log", self.jump_mean_log, -5.0, 5.0);
        check("jump_sd_log", self.jump_sd_log, 0.0, 5.0);
        check("depth_usd", self.depth_usd, 1.0, 1e13);
        check("resilience_half_life_hours", self.resilience_half_life_hours, 1e-3, 1e6);
        out
    }
}

/// The state of the external market.
#[derive(Clone, Debug)]
pub struct Market {
    params: MarketParams,
    log_fair: f64,
    /// The book's TAO side.
    book_tao: f64,
    /// The book's USD side.
    book_usd: f64,
    depth_factor: f64,
    /// While true, nobody can sell TAO for USD (an off-ramp freeze).
    pub frozen: bool,
    rng: Stream,
    /// TAO sold into the exchange since the last [`Market::take_flows`].
    pub sold_tao: f64,
    /// TAO bought from the exchange since the last [`Market::take_flows`].
    pub bought_tao: f64,
    /// USD paid out for sold TAO since the last [`Market::take_flows`].
    pub usd_out: f64,
    /// USD paid in for bought TAO since the last [`Market::take_flows`].
    pub usd_in: f64,
}

/// Net flows over an interval.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Flows {
    /// TAO sold minus TAO bought.
    pub net_sold_tao: f64,
    /// USD taken out minus USD put in.
    pub net_usd_out: f64,
}

impl Market {
    /// A market at the initial price, drawing from `rng`.
    pub fn new(params: MarketParams, rng: Stream) -> Self {
        Self {
            log_fair: libm::log(params.initial_price_usd),
            book_usd: params.depth_usd,
            book_tao: params.depth_usd / params.initial_price_usd,
            params,
            depth_factor: 1.0,
            frozen: false,
            rng,
            sold_tao: 0.0,
            bought_tao: 0.0,
            usd_out: 0.0,
            usd_in: 0.0,
        }
    }

    /// The current TAO/USD price.
    pub fn price_usd(&self) -> f64 {
        self.book_usd / self.book_tao
    }

    /// Rebuilds the book with the current depth at `price`.
    fn recentre(&mut self, price: f64) {
        self.book_usd = self.depth_usd();
        self.book_tao = self.book_usd / price;
    }

    /// Sets the depth multiplier (1 normally; below 1 during a liquidity shock) and rebuilds
    /// the book at the current price.
    pub fn set_depth_factor(&mut self, factor: f64) {
        if factor.is_finite() && factor > 0.0 {
            let price = self.price_usd();
            self.depth_factor = factor;
            self.recentre(price);
        }
    }

    /// The current depth multiplier.
    pub fn depth_factor(&self) -> f64 {
        self.depth_factor
    }

    /// The exogenous fair price (without participants' impact).
    pub fn fair_price_usd(&self) -> f64 {
        libm::exp(self.log_fair)
    }

    /// The effective depth in USD (configured depth times the shock factor).
    pub fn depth_usd(&self) -> f64 {
        self.params.depth_usd * self.depth_factor
    }

    /// Advances the exogenous process by `dt_days` and lets impact decay.
    pub fn advance(&mut self, dt_days: f64) {
        if dt_days <= 0.0 {
            return;
        }
        let deviation = libm::log(self.price_usd()) - self.log_fair;
        let p = &self.params;
        let dt = dt_days / DAYS_PER_YEAR;
        let sigma = p.volatility_per_year;
        let z = standard_normal(&mut self.rng);
        self.log_fair += (p.drift_per_year - 0.5 * sigma * sigma) * dt + sigma * libm::sqrt(dt) * z;
        // Poisson number of jumps by inversion of the CDF (lambda*dt is small).
        let lambda = p.jumps_per_year * dt;
        let u = unit_f64(&mut self.rng);
        let mut k = 0u32;
        let mut term = libm::exp(-lambda);
        let mut cdf = term;
        while u > cdf && k < 64 {
            k += 1;
            term *= lambda / f64::from(k);
            cdf += term;
        }
        for _ in 0..k {
            self.log_fair += p.jump_mean_log + p.jump_sd_log * standard_normal(&mut self.rng);
        }
        let half_life_days = p.resilience_half_life_hours / 24.0;
        let deviation = deviation * libm::exp(-dt_days * std::f64::consts::LN_2 / half_life_days);
        self.recentre(libm::exp(self.log_fair + deviation));
    }

    /// Applies an exogenous jump of the price by `factor` (a scenario's price shock).
    pub fn shock_price(&mut self, factor: f64) {
        if factor.is_finite() && factor > 0.0 {
            self.log_fair += libm::log(factor);
            let price = self.price_usd() * factor;
            self.recentre(price);
        }
    }

    /// Sells `tao` for USD through the book; returns the USD received (0 while frozen).
    pub fn sell_tao(&mut self, tao: f64) -> f64 {
        if self.frozen || !(tao.is_finite() && tao > 0.0) {
            return 0.0;
        }
        let usd = self.book_usd * tao / (self.book_tao + tao);
        self.book_tao += tao;
        self.book_usd -= usd;
        self.sold_tao += tao;
        self.usd_out += usd;
        usd
    }

    /// Buys TAO with `usd` through the book; returns the TAO received.
    pub fn buy_tao(&mut self, usd: f64) -> f64 {
        if !(usd.is_finite() && usd > 0.0) {
            return 0.0;
        }
        let tao = self.book_tao * usd / (self.book_usd + usd);
        self.book_usd += usd;
        self.book_tao -= tao;
        self.bought_tao += tao;
        self.usd_in += usd;
        tao
    }

    /// Net flows since the last call, and resets the counters.
    pub fn take_flows(&mut self) -> Flows {
        let f = Flows { net_sold_tao: self.sold_tao - self.bought_tao, net_usd_out: self.usd_out - self.usd_in };
        self.sold_tao = 0.0;
        self.bought_tao = 0.0;
        self.usd_out = 0.0;
        self.usd_in = 0.0;
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    fn quiet_market(depth: f64) -> Market {
        let params = MarketParams {
            volatility_per_year: 0.0,
            jumps_per_year: 0.0,
            depth_usd: depth,
            initial_price_usd: 100.0,
            ..MarketParams::default()
        };
        Market::new(params, stream(1, &crate::label!["market"]))
    }

    #[test]
    fn selling_follows_the_constant_product_book() {
        let mut m = quiet_market(1_000_000.0);
        // Book: 1e6 USD and 1e4 TAO. Selling 1e4 TAO doubles the TAO side:
        // USD out = 1e6 * 1e4 / 2e4 = 5e5, price falls by (1/2)^2.
        let usd = m.sell_tao(10_000.0);
        assert!((usd - 500_000.0).abs() < 1e-6);
        assert!((m.price_usd() - 25.0).abs() < 1e-9);
        // Path independence within a step: two half-sales equal one sale.
        let mut split = quiet_market(1_000_000.0);
        let halves = split.sell_tao(5_000.0) + split.sell_tao(5_000.0);
        assert!((halves - usd).abs() < 1e-6);
        assert!((split.price_usd() - 25.0).abs() < 1e-9);
        // A deeper book moves less for the same sale.
        let mut deep = quiet_market(10_000_000.0);
        deep.sell_tao(10_000.0);
        assert!(deep.price_usd() > 80.0);
    }

    #[test]
    fn a_round_trip_returns_to_the_price_and_impact_decays_with_its_half_life() {
        let mut m = quiet_market(1_000_000.0);
        let usd = m.sell_tao(1_000.0);
        let tao = m.buy_tao(usd);
        assert!((tao - 1_000.0).abs() < 1e-6, "constant product round trip: {tao}");
        assert!((m.price_usd() - 100.0).abs() < 1e-9);
        m.sell_tao(10_000.0);
        let impacted = libm::log(m.price_usd() / 100.0);
        m.advance(1.0); // one day = one half-life (24 h)
        let after = libm::log(m.price_usd() / 100.0);
        assert!((after - impacted / 2.0).abs() < 1e-12);
        let flows = m.take_flows();
        assert!((flows.net_sold_tao - 10_000.0).abs() < 1e-6);
        assert_eq!(m.take_flows(), Flows::default());
    }

    #[test]
    fn frozen_markets_refuse_sales_and_shocks_scale_depth_and_price() {
        let mut m = quiet_market(1_000_000.0);
        m.frozen = true;
        assert_eq!(m.sell_tao(5.0), 0.0);
        assert!((m.price_usd() - 100.0).abs() < 1e-9);
        m.frozen = false;
        m.set_depth_factor(0.1);
        assert!((m.depth_usd() - 100_000.0).abs() < 1e-6);
        assert!((m.price_usd() - 100.0).abs() < 1e-9);
        m.shock_price(0.5);
        assert!((m.price_usd() - 50.0).abs() < 1e-9);
        assert_eq!(m.sell_tao(f64::NAN), 0.0);
        assert_eq!(m.buy_tao(-1.0), 0.0);
    }

    #[test]
    fn the_exogenous_process_has_the_stated_volatility_and_is_seeded() {
        let params = MarketParams { jumps_per_year: 0.0, volatility_per_year: 0.8, ..MarketParams::default() };
        let mut a = Market::new(params.clone(), stream(9, &crate::label!["market"]));
        let mut b = Market::new(params, stream(9, &crate::label!["market"]));
        let mut returns = Vec::new();
        let mut last = a.price_usd();
        for _ in 0..20_000 {
            a.advance(1.0);
            b.advance(1.0);
            let p = a.price_usd();
            returns.push(libm::log(p / last));
            last = p;
        }
        assert_eq!(a.price_usd(), b.price_usd(), "same seed, same path");
        let n = returns.len() as f64;
        let mean = returns.iter().sum::<f64>() / n;
        let var = returns.iter().map(|r| (r - mean) * (r - mean)).sum::<f64>() / (n - 1.0);
        let annual_vol = libm::sqrt(var * DAYS_PER_YEAR);
        assert!((annual_vol - 0.8).abs() < 0.02, "annualised volatility {annual_vol}");
    }

    #[test]
    fn default_parameters_are_valid_and_bad_ones_are_named() {
        assert!(MarketParams::default().problems().is_empty());
        let bad = MarketParams { depth_usd: 0.0, volatility_per_year: f64::NAN, ..MarketParams::default() };
        let fields: Vec<_> = bad.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["volatility_per_year", "depth_usd"]);
    }
}
