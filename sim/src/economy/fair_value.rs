//! The exogenous crypto-market factor: the fair TAO/USD price, before any participant trades.
//!
//! **Model.** The log of the fair price follows a GARCH(1,1) process (Bollerslev 1986) with
//! Student-t innovations scaled to unit variance, the textbook model for the stylized facts of
//! crypto and equity returns (Cont 2001, Quantitative Finance 1:223): no linear autocorrelation
//! of returns, heavy tails and volatility clustering. Defaults are calibrated on TAO
//! (`economy-calibration.md` §1): daily volatility 5.9 %, `alpha` 0.30, `beta` 0.65
//! (persistence 0.95, a volatility half-life of about two weeks), `nu` = 4 degrees of freedom,
//! the conditional daily volatility capped at 9 % and the shocks clipped at 3.7 standard
//! deviations (no day beyond +-33 % in log). `omega` follows from the unconditional variance:
//! `omega = sigma^2 (1 - alpha - beta)`. The large `alpha` (0.10 is common for large caps) is
//! what makes volatility clustering visible within the 90-day windows `taosim validate`
//! checks: with 0.10 the lag-1 autocorrelation of |returns| in 76 daily returns has a median
//! of 0.06 across windows (a simulation of the process over 300 x 16 windows), with 0.30 about
//! 0.2, while the caps keep the worst day within what TAO showed.
//!
//! **Any step size.** The simulator steps the venue hourly, so the process must run on steps
//! that are not days. The conditional *daily* variance `h` is kept; each day draws one
//! unit-variance t value `z` at its first step, and a step of `dt` days within it moves the
//! log price by `drift dt - reversion + sqrt(h) z dt` (plus Poisson jumps), so the day's
//! diffusion is `sqrt(h) z` whatever the step. The innovations of the current
//! day are summed, and when cumulative time crosses a whole day `h` is updated with that day's
//! innovation `e`: `h = omega + alpha e^2 + beta h` (the GARCH recursion on the innovation, the
//! return net of its deterministic part, as in the textbook form). A step of exactly one day is
//! therefore a textbook GARCH(1,1)-t step; a step crossing several day boundaries is cut at
//! them. Within a day the path is a straight line (a simplification: the intraday path has no
//! noise of its own), so hourly steps give the same daily returns, fat tails included, as
//! daily steps; independent sub-daily t draws would sum to a nearly Gaussian day.
//!
//! **Anchor.** An optional weak mean reversion pulls the log price toward an anchor (the
//! starting level, moved by the drift and by scenario shocks) with a half-life in days; 0 or
//! infinity turns it off. Why: a pure random walk at 5.9 %/day has a one-year log spread of
//! `0.059 sqrt(365) = 1.13`, so a sixth of year-long paths end below 0.32x or above 3.1x of the
//! start, wider than TAO's yearly ranges (0.3x-3x: −53 % in 2025, $182 → $714 in 2024). With
//! the default 120-day half-life the stationary log spread is
//! `0.059 / sqrt(2 ln2 / 120) = 0.55`, so about 95 % of year-long paths stay within 0.34x-2.97x.
//!
//! **Jumps.** Optional Poisson jumps (log-normal sizes) model crashes beyond the t tails; they
//! count as innovations (a crash raises the next day's variance) and revert like the rest.
//! [`FairValue::shock`] is different: an exogenous level change imposed by a scenario, which
//! moves the anchor with the price and does not feed the variance.
//!
//! Behaviour, not chain state: f64 with `libm`, every draw from one labelled stream.

use crate::rng::{Stream, standard_normal, unit_f64};
use serde::{Deserialize, Serialize};

/// Days per year for annualised parameters.
pub const DAYS_PER_YEAR: f64 = 365.0;

/// Two times closer than this (in days) are the same instant: hourly steps summed in f64 land
/// on day boundaries within rounding, not exactly.
const DAY_EPS: f64 = 1e-9;

/// Parameters of the fair-value process (a scenario's table for it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FairValueParams {
    /// TAO/USD at the start (≈ $250, Jan 2026; economy-calibration.md §1).
    pub initial_price_usd: f64,
    /// Unconditional daily volatility of the GARCH before the caps (sets `omega`). With the
    /// default caps, 0.10 gives a realised daily volatility of about 5.7 % (5.9 %/day in the
    /// year to Nov 2025, statility.com, §1).
    pub daily_vol: f64,
    /// GARCH weight of yesterday's squared innovation.
    pub garch_alpha: f64,
    /// GARCH weight of yesterday's conditional variance; `alpha + beta < 1`.
    pub garch_beta: f64,
    /// Degrees of freedom of the Student-t innovations (a real >= 2.1; large: Gaussian).
    pub t_dof: f64,
    /// Annual drift of the log price.
    pub drift_per_year: f64,
    /// Half-life in days of the log price's reversion toward its anchor; 0 or infinity: off.
    pub anchor_half_life_days: f64,
    /// Cap on the conditional daily volatility `sqrt(h)` (0: none). With `shock_clip` it
    /// bounds a day's diffusion to `max_daily_vol * shock_clip` in log (33 % by default): TAO's
    /// worst day in the year to Nov 2025 was -16.6 % at 5.9 % daily volatility and no day
    /// moved 40 % (economy-calibration.md §1), while an uncapped GARCH-t reaches such days in
    /// about half of 16 runs of 90 days.
    pub max_daily_vol: f64,
    /// The unit-variance t shocks are clipped to +- this many standard deviations (0: none).
    pub shock_clip: f64,
    /// Expected number of Poisson jumps per year (0: none).
    pub jumps_per_year: f64,
    /// Mean of a jump's log size (negative: crashes).
    pub jump_mean_log: f64,
    /// Standard deviation of a jump's log size.
    pub jump_sd_log: f64,
}

impl Default for FairValueParams {
    fn default() -> Self {
        Self {
            initial_price_usd: 250.0,
            daily_vol: 0.10,
            garch_alpha: 0.30,
            garch_beta: 0.65,
            t_dof: 4.0,
            drift_per_year: 0.0,
            anchor_half_life_days: 120.0,
            max_daily_vol: 0.095,
            shock_clip: 3.5,
            jumps_per_year: 0.0,
            jump_mean_log: -0.10,
            jump_sd_log: 0.05,
        }
    }
}

impl FairValueParams {
    /// Range problems as (field, message) pairs; empty when valid.
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        let mut check = |field: &'static str, v: f64, lo: f64, hi: f64| {
            out.extend(crate::error::out_of_range(v, lo, hi).map(|m| (field, m)));
        };
        check("initial_price_usd", self.initial_price_usd, 1e-6, 1e9);
        check("daily_vol", self.daily_vol, 0.0, 1.0);
        check("garch_alpha", self.garch_alpha, 0.0, 1.0);
        check("garch_beta", self.garch_beta, 0.0, 1.0);
        check("t_dof", self.t_dof, 2.1, 1e6);
        check("drift_per_year", self.drift_per_year, -10.0, 10.0);
        if self.anchor_half_life_days != f64::INFINITY {
            check("anchor_half_life_days", self.anchor_half_life_days, 0.0, 1e9);
        }
        check("jumps_per_year", self.jumps_per_year, 0.0, 1e4);
        check("max_daily_vol", self.max_daily_vol, 0.0, 1.0);
        check("shock_clip", self.shock_clip, 0.0, 100.0);
        check("jump_mean_log", self.jump_mean_log, -5.0, 5.0);
        check("jump_sd_log", self.jump_sd_log, 0.0, 5.0);
        let persistence = self.garch_alpha + self.garch_beta;
        if persistence.is_finite() && persistence >= 1.0 {
            out.push((
                "garch_beta",
                format!("garch_alpha + garch_beta = {persistence} must be below 1 (a finite unconditional variance)"),
            ));
        }
        out
    }

    /// The GARCH constant `omega = sigma^2 (1 - alpha - beta)` that makes `daily_vol` the
    /// unconditional daily volatility.
    pub fn omega(&self) -> f64 {
        self.daily_vol * self.daily_vol * (1.0 - self.garch_alpha - self.garch_beta)
    }

    /// The reversion rate per day (`ln 2 / half-life`), 0 when the anchor is off.
    pub fn reversion_per_day(&self) -> f64 {
        let h = self.anchor_half_life_days;
        if h.is_finite() && h > 0.0 { std::f64::consts::LN_2 / h } else { 0.0 }
    }
}

/// A gamma(`shape`, 1) draw for `shape >= 1` by Marsaglia & Tsang (2000, ACM TOMS 26:363):
/// a transformed normal accepted by a squeeze or the exact log test.
fn gamma_draw(rng: &mut Stream, shape: f64) -> f64 {
    let d = shape - 1.0 / 3.0;
    let c = 1.0 / libm::sqrt(9.0 * d);
    loop {
        let x = standard_normal(rng);
        let v = 1.0 + c * x;
        if v <= 0.0 {
            continue;
        }
        let v = v * v * v;
        let u = unit_f64(rng);
        let x2 = x * x;
        if u < 1.0 - 0.0331 * x2 * x2 || libm::log(u) < 0.5 * x2 + d * (1.0 - v + libm::log(v)) {
            return d * v;
        }
    }
}

/// A Student-t draw with `nu` (> 2) degrees of freedom scaled to unit variance:
/// `t = Z / sqrt(X / nu)` with `X = 2 Gamma(nu / 2)` a chi-square, times `sqrt((nu - 2) / nu)`.
/// Real `nu` is allowed (the gamma draw needs `nu / 2 >= 1`, guaranteed by `nu >= 2.1`).
pub fn unit_student_t(rng: &mut Stream, nu: f64) -> f64 {
    let z = standard_normal(rng);
    let chi2 = 2.0 * gamma_draw(rng, 0.5 * nu);
    z / libm::sqrt(chi2 / nu) * libm::sqrt((nu - 2.0) / nu)
}

/// A Poisson count with mean `lambda` by inversion of the CDF (one uniform; `lambda` is small
/// per step), capped at 64.
fn poisson(rng: &mut Stream, lambda: f64) -> u32 {
    let u = unit_f64(rng);
    let mut k = 0u32;
    let mut term = libm::exp(-lambda);
    let mut cdf = term;
    while u > cdf && k < 64 {
        k += 1;
        term *= lambda / f64::from(k);
        cdf += term;
    }
    k
}

/// The fair TAO/USD price process (see the module docs).
#[derive(Clone, Debug)]
pub struct FairValue {
    params: FairValueParams,
    omega: f64,
    reversion: f64,
    log_price: f64,
    /// The level the reversion pulls toward: the start, moved by the drift and shocks.
    log_anchor: f64,
    /// Conditional daily variance for the current day.
    h: f64,
    /// Time elapsed within the current day, in [0, 1).
    day_elapsed: f64,
    /// Sum of the current day's innovations (diffusion and jumps).
    day_innovation: f64,
    /// The current day's Student-t shock, drawn at its first step and spread evenly over the
    /// day's steps, so daily returns are GARCH-t whatever the step (many independent sub-daily
    /// shocks would sum to a nearly Gaussian day and lose the fat tails).
    day_shock: Option<f64>,
    elapsed_days: f64,
    rng: Stream,
}

impl FairValue {
    /// The process at its initial price and unconditional variance, drawing from `rng`.
    /// `params` should be valid ([`FairValueParams::problems`] empty).
    pub fn new(params: FairValueParams, rng: Stream) -> Self {
        let log_price = libm::log(params.initial_price_usd);
        Self {
            omega: params.omega(),
            reversion: params.reversion_per_day(),
            h: params.daily_vol * params.daily_vol,
            log_price,
            log_anchor: log_price,
            day_elapsed: 0.0,
            day_innovation: 0.0,
            day_shock: None,
            elapsed_days: 0.0,
            params,
            rng,
        }
    }

    /// The parameters.
    pub fn params(&self) -> &FairValueParams {
        &self.params
    }

    /// The fair TAO/USD price.
    pub fn price_usd(&self) -> f64 {
        libm::exp(self.log_price)
    }

    /// The natural log of the fair price.
    pub fn log_price(&self) -> f64 {
        self.log_price
    }

    /// The current conditional daily volatility `sqrt(h)`.
    pub fn conditional_daily_vol(&self) -> f64 {
        libm::sqrt(self.h)
    }

    /// Days simulated so far.
    pub fn elapsed_days(&self) -> f64 {
        self.elapsed_days
    }

    /// An exogenous jump of the fair price by `factor` (a scenario's price jump): the price and
    /// its anchor are multiplied, the variance is not touched. Ignored unless finite and > 0.
    pub fn shock(&mut self, factor: f64) {
        if factor.is_finite() && factor > 0.0 {
            let l = libm::log(factor);
            self.log_price += l;
            self.log_anchor += l;
        }
    }

    /// Advances the process by `dt_days` (any positive step; non-finite or non-positive steps
    /// are ignored). Steps are cut at day boundaries, where the daily variance is updated.
    pub fn advance(&mut self, dt_days: f64) {
        if !(dt_days.is_finite() && dt_days > 0.0) {
            return;
        }
        let mut left = dt_days;
        while left > 0.0 {
            let to_end = 1.0 - self.day_elapsed;
            let (piece, closes, rest) = if left > to_end + DAY_EPS {
                (to_end, true, left - to_end)
            } else if left >= to_end - DAY_EPS {
                (left, true, 0.0)
            } else {
                (left, false, 0.0)
            };
            self.move_by(piece);
            left = rest;
            if closes {
                let e = self.day_innovation;
                self.h = self.omega + self.params.garch_alpha * e * e + self.params.garch_beta * self.h;
                let cap = self.params.max_daily_vol;
                if cap > 0.0 {
                    self.h = self.h.min(cap * cap);
                }
                self.day_elapsed = 0.0;
                self.day_innovation = 0.0;
                self.day_shock = None;
            } else {
                self.day_elapsed += piece;
            }
        }
        self.elapsed_days += dt_days;
    }

    /// One piece of a step, inside one day: drift, reversion, diffusion and jumps.
    fn move_by(&mut self, dt: f64) {
        let drift = self.params.drift_per_year / DAYS_PER_YEAR * dt;
        let deviation = self.log_price - self.log_anchor;
        self.log_anchor += drift;
        let kept = if self.reversion > 0.0 { deviation * libm::exp(-self.reversion * dt) } else { deviation };
        let z = match self.day_shock {
            Some(z) => z,
            None => {
                let mut z = unit_student_t(&mut self.rng, self.params.t_dof);
                let clip = self.params.shock_clip;
                if clip > 0.0 {
                    z = z.clamp(-clip, clip);
                }
                self.day_shock = Some(z);
                z
            }
        };
        let mut innovation = libm::sqrt(self.h) * z * dt;
        if self.params.jumps_per_year > 0.0 {
            let n = poisson(&mut self.rng, self.params.jumps_per_year / DAYS_PER_YEAR * dt);
            for _ in 0..n {
                innovation += self.params.jump_mean_log + self.params.jump_sd_log * standard_normal(&mut self.rng);
            }
        }
        self.day_innovation += innovation;
        self.log_price = self.log_anchor + kept + innovation;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::stream;

    fn process(params: FairValueParams, seed: u64) -> FairValue {
        FairValue::new(params, stream(seed, &crate::label!["fair_value"]))
    }

    /// Log returns of `days` days, each made of `steps_per_day` equal steps.
    fn daily_returns(params: FairValueParams, seed: u64, days: usize, steps_per_day: usize) -> Vec<f64> {
        let mut f = process(params, seed);
        let dt = 1.0 / steps_per_day as f64;
        let mut out = Vec::with_capacity(days);
        for _ in 0..days {
            let before = f.log_price();
            for _ in 0..steps_per_day {
                f.advance(dt);
            }
            out.push(f.log_price() - before);
        }
        out
    }

    fn mean(x: &[f64]) -> f64 {
        x.iter().sum::<f64>() / x.len() as f64
    }

    fn sd(x: &[f64]) -> f64 {
        let m = mean(x);
        libm::sqrt(x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / (x.len() as f64 - 1.0))
    }

    fn excess_kurtosis(x: &[f64]) -> f64 {
        let m = mean(x);
        let n = x.len() as f64;
        let m2 = x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n;
        let m4 = x.iter().map(|v| libm::pow(v - m, 4.0)).sum::<f64>() / n;
        m4 / (m2 * m2) - 3.0
    }

    fn lag1_autocorr(x: &[f64]) -> f64 {
        let m = mean(x);
        let num: f64 = x.windows(2).map(|w| (w[0] - m) * (w[1] - m)).sum();
        let den: f64 = x.iter().map(|v| (v - m) * (v - m)).sum();
        num / den
    }

    fn abs(x: &[f64]) -> Vec<f64> {
        x.iter().map(|v| v.abs()).collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_path_and_another_seed_another() {
        let run = |seed| {
            let mut f = process(FairValueParams { jumps_per_year: 10.0, ..FairValueParams::default() }, seed);
            (0..500)
                .map(|_| {
                    f.advance(0.3);
                    f.price_usd()
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(run(3), run(3));
        assert_ne!(run(3), run(4));
    }

    #[test]
    fn unit_student_t_has_unit_variance_and_the_t_kurtosis() {
        let mut r = stream(5, &crate::label!["t"]);
        for (nu, want_kurt) in [(10.0, 1.0), (30.0, 6.0 / 26.0)] {
            let x: Vec<f64> = (0..400_000).map(|_| unit_student_t(&mut r, nu)).collect();
            let v = sd(&x) * sd(&x);
            assert!((v - 1.0).abs() < 0.01, "nu {nu}: variance {v}");
            let k = excess_kurtosis(&x);
            assert!(
                (k - want_kurt).abs() < 0.25 * want_kurt.max(0.4),
                "nu {nu}: excess kurtosis {k}, want {want_kurt}"
            );
        }
        // nu = 4 (the default) has no finite kurtosis; check its tail instead. For t_4 the CDF
        // is F(x) = 1/2 + 3/8 x / sqrt(1 + x^2/4) (1 - x^2 / (12 (1 + x^2/4))), so
        // P(|t| > 4) = 2 (1 - F(4)) = 0.016130. The unit-variance draw is t sqrt(2/4).
        let n = 400_000;
        let tail = (0..n).filter(|_| unit_student_t(&mut r, 4.0).abs() > 4.0 * libm::sqrt(0.5)).count();
        let p = tail as f64 / n as f64;
        assert!((p - 0.016130).abs() < 0.0012, "P(|t4| > 4) = {p}");
    }

    /// A textbook GARCH(1,1)-t without the caps (alpha 0.10, beta 0.85, sigma 5.9 %), whose
    /// recursion and spreads have closed forms.
    fn textbook() -> FairValueParams {
        FairValueParams {
            daily_vol: 0.059,
            garch_alpha: 0.10,
            garch_beta: 0.85,
            max_daily_vol: 0.0,
            shock_clip: 0.0,
            ..FairValueParams::default()
        }
    }

    #[test]
    fn the_caps_bound_a_days_move_and_without_them_days_go_further() {
        let capped = daily_returns(FairValueParams::default(), 13, 20_000, 1);
        let p = FairValueParams::default();
        let bound = p.max_daily_vol * p.shock_clip;
        let worst = capped.iter().fold(0.0_f64, |m, r| m.max(r.abs()));
        // The anchor's pull adds a little to a day's move (0.6 % of the gap a day).
        assert!(worst <= bound + 0.01, "worst day {worst} vs bound {bound}");
        assert!(worst > 0.8 * bound, "the bound is reached: {worst}");
        let free = FairValueParams { max_daily_vol: 0.0, shock_clip: 0.0, ..FairValueParams::default() };
        let uncapped = daily_returns(free, 13, 20_000, 1);
        assert!(uncapped.iter().any(|r| r.abs() > bound + 0.05), "uncapped days go further");
    }

    #[test]
    fn daily_steps_show_the_calibrated_volatility_heavy_tails_and_clustering() {
        let r = daily_returns(FairValueParams::default(), 11, 20_000, 1);
        let s = sd(&r);
        assert!((s - 0.059).abs() < 0.1 * 0.059, "daily sigma {s}");
        let k = excess_kurtosis(&r);
        assert!(k > 1.0, "excess kurtosis {k}");
        let a = lag1_autocorr(&r);
        assert!(a.abs() < 0.05, "lag-1 autocorrelation of returns {a}");
        let c = lag1_autocorr(&abs(&r));
        assert!(c > 0.1, "lag-1 autocorrelation of |returns| {c}");
        // Sensitivity: without the ARCH term and with near-Gaussian innovations there is no
        // clustering and no fat tail.
        let flat = FairValueParams { garch_alpha: 0.0, t_dof: 1e5, ..textbook() };
        let r0 = daily_returns(flat, 11, 20_000, 1);
        let c0 = lag1_autocorr(&abs(&r0));
        assert!(c0.abs() < 0.03, "no clustering without alpha: {c0}");
        assert!(excess_kurtosis(&r0).abs() < 0.2);
        assert!((sd(&r0) - 0.059).abs() < 0.03 * 0.059);
    }

    #[test]
    fn hourly_steps_keep_the_daily_volatility_and_the_clustering() {
        let r = daily_returns(FairValueParams::default(), 12, 20_000, 24);
        let s = sd(&r);
        assert!((s - 0.059).abs() < 0.1 * 0.059, "daily sigma from hourly steps {s}");
        let c = lag1_autocorr(&abs(&r));
        assert!(c > 0.1, "clustering survives sub-daily steps: {c}");
        // One t shock a day, spread over its steps: the daily tails are those of daily steps.
        let k = excess_kurtosis(&r);
        assert!(k > 1.0, "excess kurtosis from hourly steps {k}");
        let daily = daily_returns(FairValueParams::default(), 12, 20_000, 1);
        assert!((excess_kurtosis(&daily) - k).abs() < 1e-6 * k.abs().max(1.0), "same days either way");
    }

    #[test]
    fn a_one_day_step_is_the_textbook_garch_recursion() {
        let params = FairValueParams { anchor_half_life_days: 0.0, ..textbook() };
        let (omega, a, b) = (params.omega(), params.garch_alpha, params.garch_beta);
        let mut f = process(params, 2);
        for _ in 0..200 {
            let h = f.conditional_daily_vol() * f.conditional_daily_vol();
            let before = f.log_price();
            f.advance(1.0);
            let r = f.log_price() - before;
            let want = omega + a * r * r + b * h;
            let got = f.conditional_daily_vol() * f.conditional_daily_vol();
            assert!((got - want).abs() <= 1e-12 * want, "h {got} vs {want}");
        }
        // A step of 2.5 days from the start of a day closes two days, then a step of 0.5 days
        // closes the third: the variance changes exactly at those boundaries.
        let h0 = f.conditional_daily_vol();
        f.advance(0.5);
        assert_eq!(f.conditional_daily_vol(), h0, "no update inside a day");
        f.advance(0.5);
        assert_ne!(f.conditional_daily_vol(), h0, "update at the boundary");
        assert!((f.elapsed_days() - 201.0).abs() < 1e-12);
    }

    #[test]
    fn the_anchor_narrows_the_yearly_spread_as_the_half_life_predicts() {
        let spread = |params: FairValueParams| {
            let ends: Vec<f64> = (0..400u64)
                .map(|seed| {
                    let mut f = process(params.clone(), 100 + seed);
                    for _ in 0..365 {
                        f.advance(1.0);
                    }
                    f.log_price() - libm::log(params.initial_price_usd)
                })
                .collect();
            sd(&ends)
        };
        let on = spread(textbook());
        let off = spread(FairValueParams { anchor_half_life_days: f64::INFINITY, ..textbook() });
        assert!(on < off, "anchor on {on} vs off {off}");
        // Theory: off 0.059 sqrt(365) = 1.127; on 0.059 sqrt((1 - e^{-2k 365}) / 2k) = 0.545.
        assert!((off - 1.127).abs() < 0.15, "spread without the anchor {off}");
        assert!((on - 0.545).abs() < 0.08, "spread with the anchor {on}");
    }

    #[test]
    fn drift_shocks_and_jumps_move_the_price_as_stated() {
        // No diffusion: the path is deterministic.
        let quiet = FairValueParams { daily_vol: 0.0, drift_per_year: 0.365, ..FairValueParams::default() };
        let mut f = process(quiet.clone(), 1);
        for _ in 0..100 {
            f.advance(1.0);
        }
        assert!((f.log_price() - libm::log(250.0) - 0.1).abs() < 1e-12, "drift 0.001/day for 100 days");
        f.shock(0.5);
        let after = f.price_usd();
        for _ in 0..240 {
            f.advance(1.0);
        }
        // The anchor moved with the shock: no reversion back up, only the drift.
        assert!((f.price_usd() / after - libm::exp(0.24)).abs() < 1e-9);
        f.shock(f64::NAN);
        f.shock(-1.0);
        f.advance(f64::NAN);
        f.advance(-1.0);
        assert!((f.elapsed_days() - 340.0).abs() < 1e-9);
        // Jumps of exactly -0.05 at 0.1 a day, no diffusion and no reversion: the log change
        // counts the jumps, which are Poisson with mean 0.1 per day.
        let jumps = FairValueParams {
            daily_vol: 0.0,
            garch_alpha: 0.0,
            anchor_half_life_days: 0.0,
            jumps_per_year: 36.5,
            jump_mean_log: -0.05,
            jump_sd_log: 0.0,
            ..FairValueParams::default()
        };
        let mut j = process(jumps, 4);
        for _ in 0..20_000 {
            j.advance(0.5);
        }
        // 10,000 days: 1,000 jumps expected (sd 31.6).
        let count = (libm::log(250.0) - j.log_price()) / 0.05;
        assert!((count - 1_000.0).abs() < 4.0 * libm::sqrt(1_000.0), "jump count {count}");
    }

    #[test]
    fn default_parameters_are_valid_and_bad_ones_are_named() {
        assert!(FairValueParams::default().problems().is_empty());
        let off = FairValueParams { anchor_half_life_days: f64::INFINITY, ..FairValueParams::default() };
        assert!(off.problems().is_empty());
        let bad = FairValueParams {
            daily_vol: f64::NAN,
            t_dof: 2.0,
            garch_alpha: 0.2,
            garch_beta: 0.8,
            anchor_half_life_days: -1.0,
            ..FairValueParams::default()
        };
        let fields: Vec<_> = bad.problems().into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["daily_vol", "t_dof", "anchor_half_life_days", "garch_beta"]);
        let omega = FairValueParams::default().omega();
        assert!((omega - 0.10 * 0.10 * 0.05).abs() < 1e-15);
    }

    #[test]
    fn parameters_read_from_toml_with_defaults_and_reject_unknown_fields() {
        let p: FairValueParams = toml::from_str("daily_vol = 0.04\nt_dof = 6.5").expect("valid");
        assert_eq!(p, FairValueParams { daily_vol: 0.04, t_dof: 6.5, ..FairValueParams::default() });
        assert!(toml::from_str::<FairValueParams>("vol = 0.04").is_err());
    }
}
