//! A subnet's TAO/alpha pool: reserves, price, swaps with fee and price limit, and the
//! protocol's liquidity injection.
//!
//! Two designs, selected per scenario ([`PoolDesign`]):
//! - [`PoolDesign::Balancer`] (current mainnet, since the swap pallet's "PalSwap" migration
//!   from Uniswap-v3 style liquidity in 2026): a weighted pool with reserve weights `w_q`
//!   (TAO, "quote") and `w_b = 1 - w_q` (alpha, "base") as `Perquintill` parts. Price
//!   `p = (w_b / w_q) (T / A)`. Buying alpha with `dT` pays `dA = A (1 - (T/(T+dT))^(w_q/w_b))`;
//!   selling `dA` pays `dT = T (1 - (A/(A+dA))^(w_b/w_q))`. Injections that are not in
//!   proportion to the price re-weight the pool so the price does not move
//!   (`update_weights_for_added_liquidity`). Mirrors `pallets/swap/src/pallet/{balancer.rs,
//!   swap_step.rs, impls.rs}`.
//! - [`PoolDesign::ConstantProduct`] (dynamic TAO's launch design, Feb 2025 until the move to
//!   concentrated liquidity): `T * A = k`, price `T / A`, injections simply added to both
//!   reserves. Computed exactly in integers (floor).
//!
//! The swap fee (`FeeRate`, default 33/65535) is taken from the input before the swap and goes
//! to the block author; the coinbase's own buys are fee-free. A swap needs the output reserve at
//! or above `MinimumReserve` (1e6 rao) first, as on chain; in addition (our rule, see
//! [`Pool::buy_alpha`]) a swap may not leave the output reserve below it.

use super::math::{PERQUINTILL, mul_perquintill_round, perquintill_from_rational, pow_ratio_scaled};
use super::memo::Memo;
use super::rao::Rao;
use serde::{Deserialize, Serialize};
use substrate_fixed::types::U64F64;

/// The swap pallet's `MAX_SWAP_INPUT_RESERVE_MULTIPLIER`: a swap's net input may be at most
/// this many times the input reserve.
pub const MAX_SWAP_INPUT_RESERVE_MULTIPLIER: u64 = 1_000;

/// The balancer's lowest allowed weight (0.01 of `Perquintill`).
pub const MIN_WEIGHT: u64 = PERQUINTILL / 100;

/// The swap pallet's default `FeeRate`: 33/65535 (~0.05%).
pub const DEFAULT_FEE_RATE: u16 = 33;

/// The runtime's `SwapMinimumReserve`: 1e6 rao.
pub const DEFAULT_MINIMUM_RESERVE: Rao = Rao(1_000_000);

/// The swap pallet's `max_price_inner` (1e18 rao per alpha = 1e9 TAO), the coinbase's limit.
pub fn max_price() -> U64F64 {
    U64F64::saturating_from_num(1_000_000_000_u64)
}

/// Which pool formula a subnet trades on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PoolDesign {
    /// Weighted (Balancer-style) pool: current mainnet design (2026).
    #[default]
    Balancer,
    /// Plain constant product `T * A = k`: the launch design of dynamic TAO (Feb 2025).
    ConstantProduct,
}

/// Why a swap did not happen. Every variant leaves the pool unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SwapError {
    /// The output reserve is below the minimum, or the swap would take it below (or pay nothing).
    #[error("pool reserves too low")]
    ReservesTooLow,
    /// The limit price is already passed.
    #[error("price limit exceeded")]
    PriceLimitExceeded,
    /// The input exceeds 1000 times the input reserve.
    #[error("swap input too large for the pool")]
    SwapInputTooLarge,
    /// The pool would have to pay out more than it holds.
    #[error("insufficient liquidity")]
    InsufficientLiquidity,
}

/// What a swap did, in the chain's `SwapResult` terms.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SwapResult {
    /// Input added to the pool's input reserve (after the fee).
    pub paid_in: Rao,
    /// Output taken from the pool's output reserve.
    pub paid_out: Rao,
    /// Fee taken from the input (for the block author).
    pub fee: Rao,
}

impl SwapResult {
    /// Input consumed in total (paid in plus fee); the rest of the offered amount is refunded.
    pub fn consumed(&self) -> Rao {
        self.paid_in.saturating_add(self.fee)
    }
}

/// One subnet's pool state (`SubnetTAO`, `SubnetAlphaIn`, `SwapBalancer`, `FeeRate`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Pool {
    /// TAO reserve in rao.
    pub tao: Rao,
    /// Alpha reserve in rao.
    pub alpha: Rao,
    /// Quote (TAO) weight in `Perquintill` parts; the alpha weight is `10^18 - quote`.
    pub quote_weight: u64,
    /// Swap fee as a fraction of 65535.
    pub fee_rate: u16,
    /// The formula.
    pub design: PoolDesign,
    /// Minimum reserve in rao.
    pub minimum_reserve: Rao,
    /// The last spot price, keyed by (TAO reserve, alpha reserve, quote weight, design): every block
    /// reads the price several times between injections.
    #[serde(skip)]
    spot: Memo<(u64, u64, u64, PoolDesign), U64F64>,
}

fn fixed(v: u64) -> U64F64 {
    U64F64::saturating_from_num(v)
}

fn safe_div(a: U64F64, b: U64F64) -> U64F64 {
    super::math::div_u64f64(a, b).unwrap_or_default()
}

impl Pool {
    /// A pool with equal weights (the balancer's default) and the default fee.
    pub fn new(tao: Rao, alpha: Rao, design: PoolDesign) -> Self {
        Self {
            tao,
            alpha,
            quote_weight: PERQUINTILL / 2,
            fee_rate: DEFAULT_FEE_RATE,
            design,
            minimum_reserve: DEFAULT_MINIMUM_RESERVE,
            spot: Memo::default(),
        }
    }

    /// The alpha ("base") weight in parts.
    pub fn base_weight(&self) -> u64 {
        PERQUINTILL.saturating_sub(self.quote_weight)
    }

    /// Spot price in TAO per alpha (`current_price`): 0 with no alpha reserve.
    pub fn price(&self) -> U64F64 {
        if self.alpha.0 == 0 {
            return U64F64::saturating_from_num(0);
        }
        self.spot.get_or((self.tao.0, self.alpha.0, self.quote_weight, self.design), || match self.design {
            PoolDesign::Balancer => price_of(self.alpha.0, self.tao.0, self.base_weight(), self.quote_weight),
            PoolDesign::ConstantProduct => safe_div(fixed(self.tao.0), fixed(self.alpha.0)),
        })
    }

    /// Whether the spot price is certainly below [`max_price`]: the price is at most the real
    /// `(w_b T) / (w_q A)` (each fixed-point step floors), so `w_b T < 1e9 w_q A` suffices.
    fn surely_below_max_price(&self) -> bool {
        let (numerator, denominator) = match self.design {
            PoolDesign::Balancer => (
                u128::from(self.base_weight()) * u128::from(self.tao.0),
                u128::from(self.quote_weight) * u128::from(self.alpha.0),
            ),
            PoolDesign::ConstantProduct => (u128::from(self.tao.0), u128::from(self.alpha.0)),
        };
        // A product beyond 128 bits is beyond any numerator (each below 2^124).
        denominator.checked_mul(1_000_000_000).is_none_or(|limit| numerator < limit)
    }

    /// The fee on `amount`: `amount * fee_rate / 65535`, floored (`calculate_fee_amount`).
    pub fn fee_on(&self, amount: Rao, drop_fees: bool) -> Rao {
        if drop_fees {
            return Rao::ZERO;
        }
        let rate = safe_div(fixed(u64::from(self.fee_rate)), fixed(u64::from(u16::MAX)));
        Rao(fixed(amount.0).saturating_mul(rate).saturating_to_num::<u64>())
    }

    /// Alpha paid out for `tao_in` added to the reserve (`convert_deltas`, buy side).
    fn alpha_out_for(&self, tao_in: u64) -> u64 {
        match self.design {
            PoolDesign::Balancer => {
                let e = exp_scaled(self.tao.0, tao_in, self.quote_weight, self.base_weight());
                fixed(self.alpha.0).saturating_mul(fixed(1).saturating_sub(e)).saturating_to_num::<u64>()
            }
            PoolDesign::ConstantProduct => {
                let denominator = u128::from(self.tao.0) + u128::from(tao_in);
                if denominator == 0 {
                    return 0;
                }
                (u128::from(self.alpha.0) * u128::from(tao_in) / denominator) as u64
            }
        }
    }

    /// TAO paid out for `alpha_in` added to the reserve (`convert_deltas`, sell side).
    fn tao_out_for(&self, alpha_in: u64) -> u64 {
        match self.design {
            PoolDesign::Balancer => {
                let e = exp_scaled(self.alpha.0, alpha_in, self.base_weight(), self.quote_weight);
                fixed(self.tao.0).saturating_mul(fixed(1).saturating_sub(e)).saturating_to_num::<u64>()
            }
            PoolDesign::ConstantProduct => {
                let denominator = u128::from(self.alpha.0) + u128::from(alpha_in);
                if denominator == 0 {
                    return 0;
                }
                (u128::from(self.tao.0) * u128::from(alpha_in) / denominator) as u64
            }
        }
    }

    /// The price after a swap of `delta_in` in the given direction (`price_target`).
    fn price_after(&self, delta_in: u64, buy: bool) -> U64F64 {
        let mut after = self.clone();
        if buy {
            let out = self.alpha_out_for(delta_in);
            after.alpha = Rao(self.alpha.0.saturating_sub(out));
            after.tao = Rao(self.tao.0.saturating_add(delta_in));
        } else {
            let out = self.tao_out_for(delta_in);
            after.alpha = Rao(self.alpha.0.saturating_add(delta_in));
            after.tao = Rao(self.tao.0.saturating_sub(out));
        }
        after.price()
    }

    /// The input that moves the price from `current` to `target`
    /// (`calculate_quote_delta_in` / `calculate_base_delta_in`).
    fn delta_in_to_price(&self, current: U64F64, target: U64F64, buy: bool) -> u64 {
        let scale = PERQUINTILL;
        let (numerator, denominator, weight, reserve) = match (self.design, buy) {
            (PoolDesign::Balancer, true) => (target.to_bits(), current.to_bits(), self.base_weight(), self.tao.0),
            (PoolDesign::Balancer, false) => (current.to_bits(), target.to_bits(), self.quote_weight, self.alpha.0),
            // Constant product: T' = sqrt(k p'), so dT = T (sqrt(p'/p) - 1): exponent 1/2.
            (PoolDesign::ConstantProduct, true) => (target.to_bits(), current.to_bits(), PERQUINTILL / 2, self.tao.0),
            (PoolDesign::ConstantProduct, false) => {
                (current.to_bits(), target.to_bits(), PERQUINTILL / 2, self.alpha.0)
            }
        };
        let Some(power) = pow_ratio_scaled(numerator, denominator, u128::from(weight), u128::from(PERQUINTILL), scale)
        else {
            return 0;
        };
        let power = match u64::try_from(power) {
            Ok(p) => fixed(p),
            Err(_) => fixed(u64::MAX),
        };
        fixed(reserve).saturating_mul(safe_div(power, fixed(scale)).saturating_sub(fixed(1))).saturating_to_num::<u64>()
    }

    fn check_input(&self, amount: Rao, drop_fees: bool, reserve_in: Rao) -> Result<(), SwapError> {
        let net = amount.saturating_sub(self.fee_on(amount, drop_fees));
        if net.0 > reserve_in.0.saturating_mul(MAX_SWAP_INPUT_RESERVE_MULTIPLIER) {
            return Err(SwapError::SwapInputTooLarge);
        }
        Ok(())
    }

    /// Computes a swap without changing the pool (`sim_swap`).
    ///
    /// `buy`: TAO in, alpha out. `limit`: the worst price accepted (TAO per alpha), `None` for
    /// the pallet's default limit. With a limit the swap fills partially up to it, and the fee is
    /// recomputed on the filled part, as `BasicSwapStep::determine_action` does.
    pub fn quote(
        &self,
        amount: Rao,
        buy: bool,
        limit: Option<U64F64>,
        drop_fees: bool,
    ) -> Result<SwapResult, SwapError> {
        let (reserve_in, reserve_out) = if buy { (self.tao, self.alpha) } else { (self.alpha, self.tao) };
        self.check_input(amount, drop_fees, reserve_in)?;
        if reserve_out < self.minimum_reserve {
            return Err(SwapError::ReservesTooLow);
        }
        let default_limit =
            if buy { max_price() } else { U64F64::saturating_from_num(1_000u64) / fixed(1_000_000_000) };
        let limit_price = limit.unwrap_or(default_limit);
        // A buy at the default limit (the coinbase's) only needs to know the price is below
        // 1e9 TAO per alpha, which the reserves tell without the price's two divisions.
        let beyond = if buy && limit.is_none() && self.surely_below_max_price() {
            true
        } else if buy {
            self.price() < limit_price
        } else {
            self.price() > limit_price
        };
        if !beyond {
            return Err(SwapError::PriceLimitExceeded);
        }
        let mut fee = self.fee_on(amount, drop_fees);
        let requested = amount.saturating_sub(fee).0;
        let delta_in = if limit.is_none() {
            // The default limit (1e9 TAO per alpha either way) is never reached by a real pool.
            requested
        } else {
            let target = self.price_after(requested, buy);
            let closer = if buy { target <= limit_price } else { target >= limit_price };
            if closer {
                requested
            } else {
                let partial = self.delta_in_to_price(self.price(), limit_price, buy).min(requested);
                let rate = if drop_fees { fixed(0) } else { fixed(u64::from(self.fee_rate)) };
                let u16_max = fixed(u64::from(u16::MAX));
                fee = Rao(fixed(partial)
                    .saturating_mul(safe_div(rate, u16_max.saturating_sub(rate)))
                    .saturating_to_num());
                partial
            }
        };
        let delta_out = if buy { self.alpha_out_for(delta_in) } else { self.tao_out_for(delta_in) };
        if delta_in > 0 && delta_out == 0 {
            return Err(SwapError::ReservesTooLow);
        }
        if reserve_out.0 < delta_out {
            return Err(SwapError::InsufficientLiquidity);
        }
        // Our rule (not the chain's): never leave the output reserve below the minimum.
        if reserve_out.0 - delta_out < self.minimum_reserve.0 {
            return Err(SwapError::ReservesTooLow);
        }
        Ok(SwapResult { paid_in: Rao(delta_in), paid_out: Rao(delta_out), fee })
    }

    /// Buys alpha with `tao` (fee included in `tao`): the pool gains `paid_in` TAO and loses
    /// `paid_out` alpha. See [`Pool::quote`].
    pub fn buy_alpha(&mut self, tao: Rao, limit: Option<U64F64>, drop_fees: bool) -> Result<SwapResult, SwapError> {
        let result = self.quote(tao, true, limit, drop_fees)?;
        self.tao = self.tao.saturating_add(result.paid_in);
        self.alpha = self.alpha.saturating_sub(result.paid_out);
        Ok(result)
    }

    /// Sells `alpha` (fee included) for TAO. See [`Pool::quote`].
    pub fn sell_alpha(&mut self, alpha: Rao, limit: Option<U64F64>, drop_fees: bool) -> Result<SwapResult, SwapError> {
        let result = self.quote(alpha, false, limit, drop_fees)?;
        self.alpha = self.alpha.saturating_add(result.paid_in);
        self.tao = self.tao.saturating_sub(result.paid_out);
        Ok(result)
    }

    /// The protocol's injection (`adjust_protocol_liquidity` plus the reserve updates): adds
    /// `tao` and `alpha` to the reserves; the balancer re-weights so the price does not move.
    /// If the new weight would leave [0.01, 0.99] nothing is injected, as on chain. Returns what
    /// was injected.
    pub fn inject(&mut self, tao: Rao, alpha: Rao) -> (Rao, Rao) {
        let (tao, alpha) = self.reweight_for_injection(tao, alpha);
        self.tao = self.tao.saturating_add(tao);
        self.alpha = self.alpha.saturating_add(alpha);
        (tao, alpha)
    }

    /// `adjust_protocol_liquidity` alone: re-weights the pool for an injection of `tao` and
    /// `alpha` without adding them (the coinbase adds them after its chain buy, in the chain's
    /// order); returns what may be injected (both zero if the weight would leave its range).
    pub fn reweight_for_injection(&mut self, tao: Rao, alpha: Rao) -> (Rao, Rao) {
        if self.design == PoolDesign::Balancer {
            let Some(weight) = reweight(self.tao.0, self.alpha.0, tao.0, alpha.0, self.quote_weight) else {
                return (Rao::ZERO, Rao::ZERO);
            };
            self.quote_weight = weight;
        }
        (tao, alpha)
    }
}

/// `Balancer::calculate_price`: `(w_b / w_q) * (y / x)` in U64F64 with the chain's order.
pub fn price_of(alpha: u64, tao: u64, base_weight: u64, quote_weight: u64) -> U64F64 {
    let w1 = fixed(base_weight);
    let w2 = fixed(quote_weight);
    safe_div(w1, w2).saturating_mul(safe_div(fixed(tao), fixed(alpha)))
}

/// `Balancer::exp_scaled` for a non-negative delta: `(x / (x + dx))^(num/den)` as the chain
/// rounds it (floor to 1e-18, then U64F64, at most 1).
pub fn exp_scaled(x: u64, dx: u64, exponent_numerator: u64, exponent_denominator: u64) -> U64F64 {
    let x_plus_dx = x.saturating_add(dx);
    if x_plus_dx == 0 {
        return fixed(0);
    }
    let result = pow_ratio_scaled(
        u128::from(x),
        u128::from(x_plus_dx),
        u128::from(exponent_numerator),
        u128::from(exponent_denominator),
        PERQUINTILL,
    );
    match result.and_then(|r| u64::try_from(r).ok()) {
        Some(r) => safe_div(fixed(r), fixed(PERQUINTILL)).min(fixed(1)),
        None => fixed(0),
    }
}

/// `update_weights_for_added_liquidity`: the quote weight that keeps the price when `dt` TAO
/// and `da` alpha join reserves `t`, `a`; `None` if it leaves [0.01, 0.99].
pub fn reweight(t: u64, a: u64, dt: u64, da: u64, quote_weight: u64) -> Option<u64> {
    let base_weight = PERQUINTILL.saturating_sub(quote_weight);
    let new_t = u128::from(t) + u128::from(dt);
    let new_a = u128::from(a) + u128::from(da);
    let q1 = mul_perquintill_round(base_weight, u128::from(t).saturating_mul(new_a));
    let q2 = mul_perquintill_round(quote_weight, u128::from(a).saturating_mul(new_t));
    let sum = q1.saturating_add(q2);
    let weight = if sum != 0 { perquintill_from_rational(q2, sum) } else { PERQUINTILL / 2 };
    let base = PERQUINTILL.saturating_sub(weight);
    if base >= MIN_WEIGHT && weight >= MIN_WEIGHT { Some(weight) } else { None }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TAO: u64 = 1_000_000_000;

    fn pool(t: u64, a: u64) -> Pool {
        Pool::new(Rao(t), Rao(a), PoolDesign::Balancer)
    }

    #[test]
    fn equal_weight_swaps_follow_the_constant_product_formula_exactly() {
        // With w_q = w_b = 0.5 the exponent is 1: dA = A (1 - T/(T+dT)), as in the chain's
        // exact integer path; the fee (33/65535) is taken first.
        let mut p = pool(1_000 * TAO, 10_000 * TAO);
        let r = p.buy_alpha(Rao(10 * TAO), None, false).expect("swap");
        let fee = (10 * TAO as u128 * 33 / 65535) as u64;
        assert_eq!(r.fee, Rao(fee));
        let dt = 10 * TAO - fee;
        let e = (1_000u128 * TAO as u128 * 1_000_000_000_000_000_000 / (1_000 * TAO + dt) as u128) as u64;
        let expected =
            fixed(10_000 * TAO).saturating_mul(fixed(1) - fixed(e) / fixed(PERQUINTILL)).saturating_to_num::<u64>();
        assert_eq!(r.paid_out, Rao(expected));
        // Close to the real-number constant product.
        let real = 10_000.0 * TAO as f64 * dt as f64 / (1_000.0 * TAO as f64 + dt as f64);
        assert!((r.paid_out.0 as f64 - real).abs() < 2.0);
        assert_eq!(p.tao, Rao(1_000 * TAO + dt));
        assert_eq!(p.alpha, Rao(10_000 * TAO - expected));
    }

    #[test]
    fn weighted_swaps_follow_the_weighted_formula() {
        // w_q = 0.4: dA = A (1 - (T/(T+dT))^(0.4/0.6)).
        let mut p = pool(1_000 * TAO, 10_000 * TAO);
        p.quote_weight = 400_000_000_000_000_000;
        let price = p.price().to_num::<f64>();
        assert!((price - 1.5 * 0.1).abs() < 1e-15);
        let r = p.buy_alpha(Rao(100 * TAO), None, true).expect("swap");
        let expected = 10_000.0 * TAO as f64 * (1.0 - (1_000.0f64 / 1_100.0).powf(0.4 / 0.6));
        assert!((r.paid_out.0 as f64 - expected).abs() < 2.0, "{} vs {expected}", r.paid_out.0);
        let s = p.sell_alpha(Rao(500 * TAO), None, true).expect("swap");
        let (t, a) = (1_100.0 * TAO as f64, 10_000.0 * TAO as f64 - r.paid_out.0 as f64);
        let expected = t * (1.0 - (a / (a + 500.0 * TAO as f64)).powf(0.6 / 0.4));
        assert!((s.paid_out.0 as f64 - expected).abs() < 2.0, "{} vs {expected}", s.paid_out.0);
    }

    #[test]
    fn injection_in_any_proportion_keeps_the_price() {
        let mut p = pool(1_000 * TAO, 10_000 * TAO);
        let before = p.price();
        // Far from the price's proportion: only TAO, then only alpha.
        assert_eq!(p.inject(Rao(50 * TAO), Rao::ZERO), (Rao(50 * TAO), Rao::ZERO));
        let after = p.price();
        assert!((before.to_num::<f64>() - after.to_num::<f64>()).abs() < 1e-15, "{before} -> {after}");
        p.inject(Rao::ZERO, Rao(300 * TAO));
        assert!((before.to_num::<f64>() - p.price().to_num::<f64>()).abs() < 1e-15);
        assert_ne!(p.quote_weight, PERQUINTILL / 2);
        // The constant product moves instead.
        let mut c = Pool::new(Rao(1_000 * TAO), Rao(10_000 * TAO), PoolDesign::ConstantProduct);
        c.inject(Rao(50 * TAO), Rao::ZERO);
        assert!(c.price() > before);
    }

    #[test]
    fn injection_that_would_push_weights_out_of_range_is_refused() {
        let mut p = pool(TAO, TAO);
        assert_eq!(p.inject(Rao(1_000 * TAO), Rao::ZERO), (Rao::ZERO, Rao::ZERO));
        assert_eq!(p.tao, Rao(TAO));
    }

    #[test]
    fn limits_fill_partially_and_errors_leave_the_pool_unchanged() {
        let mut p = pool(1_000 * TAO, 10_000 * TAO);
        let start = p.price();
        let limit = start * fixed(11) / fixed(10);
        let r = p.buy_alpha(Rao(1_000 * TAO), Some(limit), false).expect("partial");
        assert!(r.consumed() < Rao(1_000 * TAO));
        assert!(p.price() <= limit && p.price() > start);
        let before = p.clone();
        assert_eq!(p.buy_alpha(Rao(TAO), Some(start), false), Err(SwapError::PriceLimitExceeded));
        assert_eq!(p.buy_alpha(Rao(u64::MAX), None, false), Err(SwapError::SwapInputTooLarge));
        assert_eq!(p, before);
        let mut tiny = pool(TAO, 1_000_000);
        assert_eq!(tiny.buy_alpha(Rao(TAO), None, false), Err(SwapError::ReservesTooLow));
    }

    proptest! {
        /// The shortcut of the default buy limit never claims a price it does not have, and the
        /// memoised price is the price computed afresh.
        #[test]
        fn price_bound_and_memo_are_sound(
            t in 0u64..u64::MAX, a in 0u64..u64::MAX, w in MIN_WEIGHT..PERQUINTILL - MIN_WEIGHT, cp in any::<bool>(),
        ) {
            let mut p = pool(t, a);
            p.quote_weight = w;
            if cp {
                p.design = PoolDesign::ConstantProduct;
            }
            let fresh = if a == 0 {
                fixed(0)
            } else if cp {
                safe_div(fixed(t), fixed(a))
            } else {
                price_of(a, t, p.base_weight(), w)
            };
            prop_assert_eq!(p.price(), fresh);
            prop_assert_eq!(p.price(), fresh);
            if p.surely_below_max_price() {
                prop_assert!(fresh < max_price());
            }
        }
    }

    proptest! {
        /// Any swap sequence keeps reserves at or above the minimum, never panics, and a
        /// successful swap moves exactly its amounts.
        #[test]
        fn swaps_keep_reserves_above_the_minimum(
            t in 1u64..1_000_000 * TAO, a in 1u64..1_000_000 * TAO, w in MIN_WEIGHT..=PERQUINTILL - MIN_WEIGHT,
            ops in proptest::collection::vec((any::<bool>(), 0u64..u64::MAX, any::<bool>()), 1..20),
        ) {
            let mut p = pool(t, a);
            p.quote_weight = w;
            for (buy, amount, limited) in ops {
                let amount = Rao(amount >> (amount % 64));
                let limit = if limited { Some(p.price() * fixed(2)) } else { None };
                let before = p.clone();
                let result = if buy { p.buy_alpha(amount, limit, false) } else { p.sell_alpha(amount, None, false) };
                match result {
                    Ok(r) => {
                        prop_assert!(r.consumed() <= amount);
                        let (out_before, out_after) = if buy { (before.alpha, p.alpha) } else { (before.tao, p.tao) };
                        prop_assert_eq!(out_before.0 - out_after.0, r.paid_out.0);
                        prop_assert!(out_after >= p.minimum_reserve);
                    }
                    Err(_) => prop_assert_eq!(&p, &before),
                }
            }
        }
    }
}
