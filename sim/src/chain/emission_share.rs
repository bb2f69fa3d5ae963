//! How the block's TAO emission is split between subnets: pluggable, named rules, each the
//! chain's at some period (`pallets/subtensor/src/coinbase/subnet_emissions.rs`).
//!
//! - [`ShareRule::PriceEma`]: share proportional to the subnet's price EMA
//!   (`SubnetMovingPrice`), times `1 - MinerBurned` and renormalised. Live Feb-Oct 2025 (dynamic
//!   TAO's launch, without the miner-burn factor) and again on `main` from mid-2026 (commit
//!   14bc6f9f, `get_shares`), which is the default.
//! - [`ShareRule::TaoFlow`]: "taoflow", Nov 2025 to mid-2026: shares from an EMA of each subnet's
//!   gross user TAO flow (stakes in minus unstakes out), offset by `max(cutoff, lowest negative
//!   EMA)` (so with the default cutoff 0, subnets with negative flow get nothing) and normalised with an exponent p (`get_shares_flow` with `NetTaoFlowEnabled` off).
//! - [`ShareRule::NetFlow`]: the same on the user flow minus the protocol's own flow (injection
//!   and chain buys), scaled so the protocol's positive total matches the users'
//!   (`NetTaoFlowEnabled` on; subtensor #2634, 2026), answering flow gaming and chain-buy
//!   subsidy runaway.
//!
//! All arithmetic is the chain's fixed point (U64F64, I64F64, and I32F32 with `substrate-fixed`'s
//! `ln`/`exp` for the exponent), in the chain's order, so shares match to the last bit.

use super::subnet::Flows;
use serde::{Deserialize, Serialize};
use substrate_fixed::transcendental::{exp, ln};
use substrate_fixed::types::{I32F32, I64F64, U64F64, U96F32};

/// The named emission-share rules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareRule {
    /// Price EMA (Feb-Oct 2025; current `main`): the default.
    #[default]
    PriceEma,
    /// Gross user TAO flow EMA, "taoflow" (Nov 2025 - mid 2026).
    #[serde(rename = "taoflow")]
    TaoFlow,
    /// Net flow: user flow minus normalised protocol flow (2026, subtensor #2634).
    NetFlow,
}

/// Parameters of the flow rules (`FlowEmaSmoothingFactor`, `TaoFlowCutoff`, `FlowNormExponent`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FlowParams {
    /// EMA factor as a fraction of `i64::MAX` (default 29,597,889,189,277: a one-month half-life).
    pub smoothing: u64,
    /// Lower cutoff of the offset (`TaoFlowCutoff`, default 0).
    pub cutoff: I64F64,
    /// Normalisation exponent p (`FlowNormExponent`, default 1).
    pub exponent: U64F64,
}

impl Default for FlowParams {
    fn default() -> Self {
        Self {
            smoothing: 29_597_889_189_277,
            cutoff: I64F64::saturating_from_num(0),
            exponent: U64F64::saturating_from_num(1),
        }
    }
}

fn u64f64(v: u64) -> U64F64 {
    U64F64::saturating_from_num(v)
}

/// `get_shares_price_ema` then the `(1 - MinerBurned)` weighting of `get_shares`.
pub fn price_ema_shares(moving_prices: &[U64F64], miner_burned: &[U96F32]) -> Vec<U64F64> {
    let zero = u64f64(0);
    let one = u64f64(1);
    let total = moving_prices.iter().fold(zero, |acc, p| acc.saturating_add(*p));
    let price_shares: Vec<U64F64> =
        moving_prices.iter().map(|p| super::math::div_u64f64(*p, total).unwrap_or(zero)).collect();
    let weighted: Vec<U64F64> = price_shares
        .iter()
        .zip(miner_burned)
        .map(|(share, burned)| {
            let burned = U64F64::saturating_from_num(*burned).min(one);
            // Times exactly one is the share itself (most subnets burn nothing).
            if burned == zero { *share } else { share.saturating_mul(one.saturating_sub(burned)) }
        })
        .collect();
    let total_weight = weighted.iter().fold(zero, |acc, w| acc.saturating_add(*w));
    if total_weight > zero {
        weighted.iter().map(|w| super::math::div_u64f64(*w, total_weight).unwrap_or_default()).collect()
    } else {
        price_shares
    }
}

/// One EMA step of a per-block flow (`get_ema_flow` / `update_ema_protocol_flow`): updates the
/// stored EMA once per block and resets the block's accumulator.
pub fn step_flow_ema(ema: &mut Option<(u64, I64F64)>, block_flow: &mut i64, block: u64, smoothing: u64) -> I64F64 {
    let zero = I64F64::saturating_from_num(0);
    let (last_block, last_ema) = ema.unwrap_or((0, zero));
    if last_block == block {
        return last_ema;
    }
    let alpha =
        I64F64::saturating_from_num(smoothing).checked_div(I64F64::saturating_from_num(i64::MAX)).unwrap_or_default();
    let one = I64F64::saturating_from_num(1);
    let flow = I64F64::saturating_from_num(*block_flow);
    let new_ema = one.saturating_sub(alpha).saturating_mul(last_ema).saturating_add(alpha.saturating_mul(flow));
    *ema = Some((block, new_ema));
    *block_flow = 0;
    new_ema
}

/// `get_shares_flow` over the given subnets' flows (advancing both EMAs), for `net` on or off.
pub fn flow_shares(flows: &mut [&mut Flows], block: u64, params: &FlowParams, net: bool) -> Vec<U64F64> {
    let zero = I64F64::saturating_from_num(0);
    let emas: Vec<(I64F64, I64F64)> = flows
        .iter_mut()
        .map(|f| {
            let user = step_flow_ema(&mut f.user_ema, &mut f.user_block, block, params.smoothing);
            let protocol = step_flow_ema(&mut f.protocol_ema, &mut f.protocol_block, block, params.smoothing);
            (user, protocol)
        })
        .collect();
    let norm = if net {
        let (user_pos, protocol_pos) = emas.iter().fold((zero, zero), |(u, p), (ue, pe)| {
            (u.saturating_add((*ue).max(zero)), p.saturating_add((*pe).max(zero)))
        });
        if protocol_pos > zero {
            user_pos.checked_div(protocol_pos).unwrap_or_default().min(I64F64::saturating_from_num(1))
        } else {
            zero
        }
    } else {
        zero
    };
    let ema_flows: Vec<I64F64> = emas
        .iter()
        .map(|(user, protocol)| {
            if net {
                let scaled = if *protocol > zero { norm.saturating_mul(*protocol) } else { *protocol };
                user.saturating_sub(scaled)
            } else {
                *user
            }
        })
        .collect();
    // L = max(cutoff, min_i min(S_i, 0)); z_i = max(S_i - L, 0).
    let min_flow = ema_flows.iter().map(|f| (*f).min(zero)).min().unwrap_or(zero);
    let lower = params.cutoff.max(min_flow);
    let mut offset: Vec<U64F64> = ema_flows
        .iter()
        .map(|f| if *f > lower { U64F64::saturating_from_num(f.saturating_sub(lower)) } else { u64f64(0) })
        .collect();
    inplace_pow_normalize(&mut offset, params.exponent);
    offset
}

/// `safe_pow`: `val^p` through I32F32 `ln`/`exp`, 0 if `ln` fails, I32F32::MAX if `exp` does.
fn safe_pow(val: U64F64, p: U64F64) -> U64F64 {
    let max = I32F32::saturating_from_num(i32::MAX);
    match ln::<I32F32, I32F32>(I32F32::saturating_from_num(val)) {
        Ok(val_ln) => {
            let power = exp::<I32F32, I32F32>(I32F32::saturating_from_num(p).saturating_mul(val_ln)).unwrap_or(max);
            U64F64::saturating_from_num(I32F32::saturating_from_num(power))
        }
        Err(()) => u64f64(0),
    }
}

/// `checked_sqrt` of the chain's `FixedExt` (bisection to `epsilon`, at most 128 steps).
fn checked_sqrt(value: U64F64, epsilon: U64F64) -> U64F64 {
    let zero = u64f64(0);
    let one = u64f64(1);
    let two = u64f64(2);
    let (mut high, mut low) = if value > one { (value, zero) } else { (one, value) };
    let mut middle = high.saturating_add(low).checked_div(two).unwrap_or_default();
    let mut check = value.checked_div(middle).unwrap_or_default();
    let mut iteration = 0;
    while (if check > middle { check - middle } else { middle - check }) > epsilon {
        if check < middle {
            high = middle;
        } else {
            low = middle;
        }
        middle = high.saturating_add(low).checked_div(two).unwrap_or_default();
        check = value.checked_div(middle).unwrap_or_default();
        iteration += 1;
        if iteration > 128 {
            break;
        }
    }
    middle
}

/// `inplace_pow_normalize`: scale to max 1, rescale for I32F32 precision, raise to p, normalise.
pub fn inplace_pow_normalize(flows: &mut [U64F64], p: U64F64) {
    let zero = u64f64(0);
    let max = flows.iter().copied().max().unwrap_or(zero);
    let factor = u64f64(1).checked_div(max).unwrap_or_default();
    for f in flows.iter_mut() {
        *f = factor.saturating_mul(*f);
    }
    let max = flows.iter().copied().max().unwrap_or(zero);
    let max_pow = max.saturating_mul(max);
    let max_times_count = u64f64(flows.len() as u64).saturating_mul(max_pow);
    let i32_max = u64f64(i32::MAX as u64);
    let precision_min = i32_max.checked_div(u64f64(u64::MAX)).unwrap_or_default();
    if max_times_count >= precision_min {
        let epsilon = u64f64(1).checked_div(u64f64(1_000)).unwrap_or_default();
        let scale = checked_sqrt(i32_max.checked_div(max_times_count).unwrap_or_default(), epsilon);
        let sum = flows.iter().map(|f| safe_pow(scale.saturating_mul(*f), p)).fold(zero, |a, b| a.saturating_add(b));
        for f in flows.iter_mut() {
            *f = safe_pow(scale.saturating_mul(*f), p).checked_div(sum).unwrap_or_default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: f64) -> U64F64 {
        U64F64::from_num(v)
    }

    #[test]
    fn price_shares_follow_the_ema_and_the_miner_burn() {
        let none = [U96F32::from_num(0); 3];
        let s = price_ema_shares(&[f(0.1), f(0.3), f(0.6)], &none);
        let s: Vec<f64> = s.iter().map(|v| v.to_num()).collect();
        assert!((s[0] - 0.1).abs() < 1e-15 && (s[1] - 0.3).abs() < 1e-15 && (s[2] - 0.6).abs() < 1e-15);
        // Subnet 2 burning all of its miner emission gets nothing; the rest renormalise.
        let burned = [U96F32::from_num(0), U96F32::from_num(0), U96F32::from_num(1)];
        let s = price_ema_shares(&[f(0.1), f(0.3), f(0.6)], &burned);
        assert_eq!(s[2], U64F64::from_num(0));
        assert!((s[1].to_num::<f64>() - 0.75).abs() < 1e-15);
        // All burned: fall back to the plain price shares.
        let all = [U96F32::from_num(1); 3];
        assert!((price_ema_shares(&[f(0.1), f(0.3), f(0.6)], &all)[0].to_num::<f64>() - 0.1).abs() < 1e-15);
    }

    #[test]
    fn flow_shares_offset_by_the_lowest_negative_ema() {
        let params = FlowParams { smoothing: i64::MAX as u64, ..FlowParams::default() };
        let mut a = Flows { user_block: 300, ..Flows::default() };
        let mut b = Flows { user_block: -100, ..Flows::default() };
        let mut c = Flows { user_block: 100, ..Flows::default() };
        let mut all = [&mut a, &mut b, &mut c];
        let s = flow_shares(&mut all, 1, &params, false);
        // EMA = the block's flow (factor 1). L = max(cutoff 0, min(-100, 0)) = 0, so
        // z = (300, 0, 100) -> (3/4, 0, 1/4): with the default cutoff, negative flow earns nothing.
        let s: Vec<f64> = s.iter().map(|v| v.to_num()).collect();
        assert!((s[0] - 0.75).abs() < 1e-6, "{s:?}");
        assert!(s[1] < 1e-9);
        assert!((s[2] - 0.25).abs() < 1e-6);
        assert_eq!(a.user_block, 0, "the block's accumulator resets");
        // A negative cutoff lets the lowest flow set the offset: z = (400, 0, 200).
        let params = FlowParams { cutoff: I64F64::from_num(-1_000), ..params };
        let mut a = Flows { user_block: 300, ..Flows::default() };
        let mut b = Flows { user_block: -100, ..Flows::default() };
        let mut c = Flows { user_block: 100, ..Flows::default() };
        let s = flow_shares(&mut [&mut a, &mut b, &mut c], 1, &params, false);
        assert!((s[0].to_num::<f64>() - 2.0 / 3.0).abs() < 1e-6, "{s:?}");
    }

    #[test]
    fn net_flow_deducts_the_protocols_own_flow() {
        let params = FlowParams { smoothing: i64::MAX as u64, ..FlowParams::default() };
        // Equal user flow; subnet 0 got all the protocol flow, which is deducted.
        let mut a = Flows { user_block: 100, protocol_block: 100, ..Flows::default() };
        let mut b = Flows { user_block: 100, protocol_block: 0, ..Flows::default() };
        let s = flow_shares(&mut [&mut a, &mut b], 1, &params, true);
        assert!(s[0] < s[1], "{s:?}");
        let mut a = Flows { user_block: 100, protocol_block: 100, ..Flows::default() };
        let mut b = Flows { user_block: 100, protocol_block: 0, ..Flows::default() };
        let gross = flow_shares(&mut [&mut a, &mut b], 1, &params, false);
        assert!((gross[0].to_num::<f64>() - 0.5).abs() < 1e-6);
    }
}
