//! Registration: the neuron burn price and its dynamics, registering a neuron (pruning the
//! weakest non-immune UID when full), registering a subnet for the lock cost (dissolving the
//! weakest non-immune subnet at the limit), and dissolution.
//!
//! Mirrors `pallets/subtensor/src/subnets/registration.rs` (`do_register`,
//! `get_neuron_to_prune`, `update_registration_prices_for_networks`,
//! `bump_registration_price_after_registration`), `utils/misc.rs` (`decay_factor_q32`,
//! `mul_by_q32`), `subnets/subnet.rs` (`do_register_network`), `coinbase/root.rs`
//! (`get_network_lock_cost`, `get_network_to_prune`, `do_dissolve_network`) and
//! `staking/remove_stake.rs` (`destroy_alpha_in_out_stakes`).
//!
//! Simplifications: one owner hotkey is immortal (`ImmuneOwnerUidsLimit` 1); new subnets call
//! `start_call` at once (first emission the next block); on dissolution stakers are paid from
//! the TAO reserve pro rata (largest remainder), the protocol's share is recycled and pending
//! emission lapses, as on chain for subnets registered after the owner-refund cutover.

use super::pool::Pool;
use super::rao::Rao;
use super::state::{ChainError, ChainState};
use super::subnet::{ColdkeyId, Flows, HotkeyId, LastBlock, NetUid, Neuron, Pending, Subnet};
use serde::{Deserialize, Serialize};
use substrate_fixed::types::{I64F64, I96F32, U64F64, U96F32};

/// How the neuron registration price moves.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum BurnRule {
    /// Current rule (since Jan 2026): every block `burn <- burn * f` with `f^half_life = 1/2`
    /// in Q32 (`decay_factor_q32`), and each registration `burn <- burn * increase`
    /// (`BurnIncreaseMult`, 1.26); clamped to [min, max].
    Decay {
        /// `BurnHalfLife` in blocks (360).
        half_life_blocks: u16,
        /// `BurnIncreaseMult` (1.26), converted to U64F64 as the chain's `from_num(1.26)`.
        increase_mult: f64,
    },
    /// Rule before Jan 2026: every `interval` blocks,
    /// `burn <- burn * (regs + target) / (2 * target)` (`AdjustmentInterval` 100,
    /// `TargetRegistrationsPerInterval` 2, `AdjustmentAlpha` 0); clamped to [min, max].
    Interval {
        /// `AdjustmentInterval` in blocks.
        interval_blocks: u16,
        /// `TargetRegistrationsPerInterval`.
        target_registrations: u16,
    },
}

impl Default for BurnRule {
    fn default() -> Self {
        BurnRule::Decay { half_life_blocks: 360, increase_mult: 1.26 }
    }
}

/// `mul_by_q32`: `floor(value * factor / 2^32)`, clamped to u64.
pub fn mul_by_q32(value: u64, factor_q32: u64) -> u64 {
    let product = u128::from(value) * u128::from(factor_q32);
    (product >> 32).min(u128::from(u64::MAX)) as u64
}

/// `pow_q32`: `base^exp` in Q32 by squaring with `mul_by_q32`.
pub fn pow_q32(base_q32: u64, exp: u16) -> u64 {
    let mut result: u64 = 1 << 32;
    let mut factor = base_q32;
    let mut power = u32::from(exp);
    while power > 0 {
        if power & 1 == 1 {
            result = mul_by_q32(result, factor);
        }
        power >>= 1;
        if power > 0 {
            factor = mul_by_q32(factor, factor);
        }
    }
    result
}

/// `decay_factor_q32`: the largest Q32 factor whose `half_life`-th power is at most 1/2.
pub fn decay_factor_q32(half_life: u16) -> u64 {
    if half_life == 0 {
        return 1 << 32;
    }
    let half: u64 = 1 << 31;
    let (mut lo, mut hi): (u64, u64) = (0, 1 << 32);
    while lo + 1 < hi {
        let mid = lo + ((hi - lo) >> 1);
        if pow_q32(mid, half_life) > half {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    lo
}

/// One registration's price increase: `U64F64(burn) * max(mult, 1)`, floored
/// (`bump_registration_price_after_registration`).
pub fn bump(burn: Rao, increase_mult: f64) -> Rao {
    let mult = U64F64::saturating_from_num(increase_mult).max(U64F64::saturating_from_num(1));
    Rao(U64F64::saturating_from_num(burn.0).saturating_mul(mult).saturating_to_num::<u64>())
}

/// A subnet's initial state; used for the scenario's genesis subnets and for registrations.
#[allow(clippy::too_many_arguments)]
pub fn new_subnet(
    netuid: NetUid,
    owner_coldkey: ColdkeyId,
    owner_hotkey: HotkeyId,
    block: u64,
    pool: Pool,
    params: &super::state::ChainParams,
    emission_enabled: bool,
) -> Subnet {
    let moving_price = I96F32::saturating_from_num(pool.price());
    Subnet {
        netuid,
        owner_coldkey,
        owner_hotkey,
        registered_at: block,
        tempo: params.tempo,
        last_epoch_block: block,
        pending_epoch_at: 0,
        blocks_since_last_step: 0,
        first_emission_block: Some(block.saturating_add(1)),
        age_blocks_at_start: 0,
        emission_enabled,
        registration_allowed: true,
        pool,
        alpha_out: Rao::ZERO,
        protocol_alpha: Rao::ZERO,
        moving_price,
        miner_burned: U96F32::saturating_from_num(0),
        pending: Pending::default(),
        in_flight: None,
        burn: params.initial_burn,
        registrations_this_block: 0,
        registrations_this_interval: 0,
        last_adjustment_block: block,
        neurons: vec![Neuron::new(owner_hotkey, block)],
        stakes: Default::default(),
        flows: Flows { user_ema: Some((0, I64F64::saturating_from_num(0))), ..Flows::default() },
        alpha_burned: Rao::ZERO,
        alpha_recycled: Rao::ZERO,
        alpha_unassigned: 0,
        alpha_emission: Default::default(),
        last: LastBlock::default(),
        epochs: 0,
        root_proportion: Default::default(),
        consensus_hint: Vec::new(),
    }
}

impl ChainState {
    /// Step 1 of the block (`update_registration_prices_for_networks`, plus the pre-2026
    /// interval rule): decays or adjusts every subnet's burn and resets per-block counters.
    pub(crate) fn update_registration_prices(&mut self) {
        let block = self.now();
        let (min, max, rule) = (self.params.min_burn, self.params.max_burn, self.params.burn_rule);
        // The factor depends on the half-life only: computed once, not per subnet and block.
        let factor = match rule {
            BurnRule::Decay { half_life_blocks, .. } => match self.burn_decay_cache {
                Some((h, f)) if h == half_life_blocks => f,
                _ => {
                    let f = decay_factor_q32(half_life_blocks);
                    self.burn_decay_cache = Some((half_life_blocks, f));
                    f
                }
            },
            BurnRule::Interval { .. } => 1 << 32,
        };
        for subnet in self.subnets.iter_mut().flatten() {
            let mut burn = subnet.burn.0;
            match rule {
                BurnRule::Decay { half_life_blocks, .. } => {
                    if half_life_blocks > 0 && block > 1 {
                        burn = mul_by_q32(burn, factor);
                    }
                }
                BurnRule::Interval { interval_blocks, target_registrations } => {
                    if block.saturating_sub(subnet.last_adjustment_block) >= u64::from(interval_blocks.max(1)) {
                        let target = u128::from(target_registrations.max(1));
                        let regs = u128::from(subnet.registrations_this_interval);
                        burn = (u128::from(burn) * (regs + target) / (2 * target)).min(u128::from(u64::MAX)) as u64;
                        subnet.registrations_this_interval = 0;
                        subnet.last_adjustment_block = block;
                    }
                }
            }
            subnet.burn = Rao(burn.clamp(min.0, max.0.max(min.0)));
            subnet.registrations_this_block = 0;
        }
    }

    /// Registers `hotkey` (owned by `coldkey`) on `netuid` for the current burn (`do_register`):
    /// the burn is swapped into the pool and the alpha bought is destroyed (leaving alpha out).
    /// Returns the UID.
    pub fn register_neuron(&mut self, coldkey: ColdkeyId, hotkey: HotkeyId, netuid: NetUid) -> Result<u16, ChainError> {
        self.check_coldkey(coldkey)?;
        if self.hotkey(hotkey)?.owner != coldkey {
            return Err(ChainError::NonAssociatedColdkey);
        }
        let block = self.now();
        let subnet = self.subnet(netuid).ok_or(ChainError::SubnetNotExists(netuid))?;
        if !subnet.registration_allowed {
            return Err(ChainError::RegistrationDisabled);
        }
        if subnet.uid_of(hotkey).is_some() {
            return Err(ChainError::HotkeyAlreadyRegistered);
        }
        let cost = subnet.burn;
        if self.balance(coldkey) < cost {
            return Err(ChainError::NotEnoughBalance);
        }
        let replace = if subnet.neurons.len() >= usize::from(self.params.max_allowed_uids) {
            Some(self.neuron_to_prune(netuid).ok_or(ChainError::NoNeuronIdAvailable)?)
        } else {
            None
        };
        self.subnet(netuid).ok_or(ChainError::SubnetNotExists(netuid))?.pool.quote(cost, true, None, false)?;
        self.take_balance(coldkey, cost)?;
        let increase = match self.params.burn_rule {
            BurnRule::Decay { increase_mult, .. } => Some(increase_mult),
            BurnRule::Interval { .. } => None,
        };
        let (min, max) = (self.params.min_burn, self.params.max_burn);
        let subnet = self.subnet_mut(netuid).ok_or(ChainError::SubnetNotExists(netuid))?;
        let swap = subnet.pool.buy_alpha(cost, None, false)?;
        // `swap_tao_for_alpha` adds the alpha to alpha out; `do_register` takes it back out.
        super::stake::record_inflow(&mut subnet.flows, cost);
        let uid = match replace {
            Some(uid) => {
                if let Some(slot) = subnet.neurons.get_mut(usize::from(uid)) {
                    *slot = Neuron::new(hotkey, block);
                }
                for n in subnet.neurons.iter_mut() {
                    n.bonds.retain(|(u, _)| *u != uid);
                }
                uid
            }
            None => {
                subnet.neurons.push(Neuron::new(hotkey, block));
                (subnet.neurons.len() - 1) as u16
            }
        };
        if let Some(increase_mult) = increase {
            subnet.burn = Rao(bump(subnet.burn, increase_mult).0.clamp(min.0, max.0.max(min.0)));
        }
        subnet.registrations_this_block = subnet.registrations_this_block.saturating_add(1);
        subnet.registrations_this_interval = subnet.registrations_this_interval.saturating_add(1);
        let fee = swap.fee;
        self.give_balance(super::state::AUTHOR, fee);
        Ok(uid)
    }

    /// `get_neuron_to_prune`: the non-immune UID with the lowest last emission (ties: earliest
    /// registration, then lowest UID), while more than `MinNonImmuneUids` are non-immune;
    /// otherwise the lowest immune one. The owner's hotkey is never pruned.
    pub fn neuron_to_prune(&self, netuid: NetUid) -> Option<u16> {
        let subnet = self.subnet(netuid)?;
        let block = self.now();
        let immunity = u64::from(self.params.immunity_period);
        let mut free = 0u16;
        let mut best_free: Option<(Rao, u64, u16)> = None;
        let mut best_immune: Option<(Rao, u64, u16)> = None;
        for (uid, n) in subnet.neurons.iter().enumerate() {
            if n.hotkey == subnet.owner_hotkey {
                continue;
            }
            let key = (n.emission, n.registered_at, uid as u16);
            let immune = block.saturating_sub(n.registered_at) < immunity;
            let best = if immune { &mut best_immune } else { &mut best_free };
            if !immune {
                free += 1;
            }
            if best.is_none_or(|b| key < b) {
                *best = Some(key);
            }
        }
        if free > self.params.min_non_immune_uids
            && let Some((_, _, uid)) = best_free
        {
            return Some(uid);
        }
        best_immune.map(|(_, _, uid)| uid)
    }

    /// `get_network_lock_cost`: `max(min_lock, mult * last_lock - last_lock / interval * blocks)`
    /// with `mult` 2 after the first registration and the interval halved with the emission.
    pub fn network_lock_cost(&self) -> Rao {
        let last = self.network_last_lock.0;
        let mult = if self.network_last_lock_block == 0 { 1 } else { 2 };
        let interval = self.lock_reduction_interval();
        let reduction = last
            .checked_div(interval)
            .unwrap_or(0)
            .saturating_mul(self.now().saturating_sub(self.network_last_lock_block));
        Rao(last.saturating_mul(mult).saturating_sub(reduction).max(self.params.min_lock.0))
    }

    /// `get_lock_reduction_interval`: the interval times `block_emission / 1 TAO` in I64F64.
    fn lock_reduction_interval(&self) -> u64 {
        let interval = I64F64::saturating_from_num(self.params.lock_reduction_interval);
        let emission = I64F64::saturating_from_num(self.schedule.block_emission(self.total_issuance).0);
        let halving = emission.checked_div(I64F64::saturating_from_num(1_000_000_000u64)).unwrap_or_default();
        interval.saturating_mul(halving).saturating_to_num::<u64>()
    }

    /// `get_median_subnet_alpha_price`: the median spot price of subnets with a positive price
    /// (mean of the two middle ones for an even count), 1 if none.
    pub fn median_subnet_price(&self) -> U64F64 {
        let mut prices: Vec<U64F64> = self
            .subnets
            .iter()
            .flatten()
            .map(|s| s.pool.price())
            .filter(|p| *p > U64F64::saturating_from_num(0))
            .collect();
        if prices.is_empty() {
            return U64F64::saturating_from_num(1);
        }
        prices.sort();
        let n = prices.len();
        let (lower, upper) = (prices[(n - 1) / 2], prices[n / 2]);
        if (n - 1) / 2 == n / 2 {
            upper
        } else {
            lower.saturating_add(upper).checked_div(U64F64::saturating_from_num(2)).unwrap_or_default()
        }
    }

    /// `get_network_to_prune`: the non-immune subnet with the lowest price EMA (ties: earliest).
    pub fn subnet_to_prune(&self) -> Option<NetUid> {
        let block = self.now();
        let immunity = self.params.network_immunity_period;
        self.subnets
            .iter()
            .flatten()
            .filter(|s| block >= s.registered_at.saturating_add(immunity))
            .min_by(|a, b| {
                let pa = U64F64::saturating_from_num(a.moving_price);
                let pb = U64F64::saturating_from_num(b.moving_price);
                pa.cmp(&pb).then(a.registered_at.cmp(&b.registered_at)).then(a.netuid.cmp(&b.netuid))
            })
            .map(|s| s.netuid)
    }

    /// Registers a subnet for the lock cost (`do_register_network`); at the subnet limit the
    /// weakest non-immune subnet is dissolved and its netuid reused. The lock becomes the pool's
    /// TAO reserve, with alpha at the median subnet price. Returns the netuid.
    pub fn register_subnet(&mut self, coldkey: ColdkeyId, hotkey: HotkeyId) -> Result<NetUid, ChainError> {
        self.check_coldkey(coldkey)?;
        if self.hotkey(hotkey)?.owner != coldkey {
            return Err(ChainError::NonAssociatedColdkey);
        }
        let block = self.now();
        if self.network_last_lock_block != 0
            && block.saturating_sub(self.network_last_lock_block) < self.params.network_rate_limit
        {
            return Err(ChainError::NetworkRateLimit);
        }
        let prune = if self.subnet_count() >= usize::from(self.params.subnet_limit) {
            Some(self.subnet_to_prune().ok_or(ChainError::SubnetLimitReached)?)
        } else {
            None
        };
        let lock = self.network_lock_cost();
        if self.balance(coldkey) < lock {
            return Err(ChainError::NotEnoughBalance);
        }
        if let Some(netuid) = prune {
            self.dissolve_subnet(netuid);
        }
        let netuid = match prune {
            Some(n) => n,
            None => match self.subnets.iter().skip(1).position(Option::is_none) {
                Some(i) => (i + 1) as NetUid,
                None => self.subnets.len() as NetUid,
            },
        };
        let median = self.median_subnet_price();
        self.take_balance(coldkey, lock)?;
        self.network_last_lock = lock;
        self.network_last_lock_block = block;
        let pool_tao = lock.max(self.params.min_lock);
        let pool_alpha =
            U64F64::saturating_from_num(pool_tao.0).checked_div(median).unwrap_or_default().saturating_to_num::<u64>();
        let mut pool = Pool::new(pool_tao, Rao(pool_alpha), self.params.pool_design);
        pool.fee_rate = self.params.fee_rate;
        pool.minimum_reserve = self.params.minimum_reserve;
        let subnet =
            new_subnet(netuid, coldkey, hotkey, block, pool, &self.params, self.params.new_subnet_emission_enabled);
        // A pool below the minimum reserve would refuse every swap; pool_tao >= min lock.
        let slot = usize::from(netuid);
        if slot >= self.subnets.len() {
            self.subnets.resize(slot + 1, None);
        }
        self.subnets[slot] = Some(subnet);
        Ok(netuid)
    }

    /// Dissolves a subnet (`do_dissolve_network`): its TAO reserve goes to its stakers in
    /// proportion to their alpha (largest remainder), the protocol's share (alpha reserve plus
    /// protocol alpha) is recycled, and the subnet's state is removed.
    pub fn dissolve_subnet(&mut self, netuid: NetUid) -> bool {
        let Some(subnet) = self.subnets.get_mut(usize::from(netuid)).and_then(Option::take) else {
            return false;
        };
        let pot = u128::from(subnet.pool.tao.0);
        let protocol = u128::from(subnet.pool.alpha.0) + u128::from(subnet.protocol_alpha.0);
        let mut holders: Vec<(ColdkeyId, u128)> = Vec::new();
        for pool in subnet.stakes.values() {
            for (coldkey, value) in pool.values() {
                let v = u128::from(value.0);
                if v > 0 {
                    holders.push((coldkey, v));
                }
            }
        }
        let total = protocol + holders.iter().map(|h| h.1).sum::<u128>();
        let mut portions: Vec<(Option<ColdkeyId>, u128, u128)> = Vec::new();
        let mut distributed = 0u128;
        if pot > 0 && total > 0 {
            for (coldkey, value) in &holders {
                let share = super::math::mul_div(pot, *value, total).unwrap_or(0);
                let rem = (pot * *value).checked_rem(total).unwrap_or(0);
                distributed += share;
                portions.push((Some(*coldkey), share, rem));
            }
            if protocol > 0 {
                let share = super::math::mul_div(pot, protocol, total).unwrap_or(0);
                let rem = (pot * protocol).checked_rem(total).unwrap_or(0);
                distributed += share;
                portions.push((None, share, rem));
            }
            let leftover = pot - distributed;
            // Stable sort by remainder, descending; ties keep the (deterministic) order above.
            portions.sort_by_key(|p| std::cmp::Reverse(p.2));
            for p in portions.iter_mut().take(usize::try_from(leftover).unwrap_or(usize::MAX)) {
                p.1 += 1;
            }
        }
        let mut paid = 0u128;
        for (coldkey, share, _) in portions {
            if let Some(ck) = coldkey {
                self.give_balance(ck, Rao(share as u64));
                paid += share;
            }
        }
        self.recycle(Rao((pot - paid) as u64));
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_decay_factor_halves_the_burn_over_its_half_life() {
        let f = decay_factor_q32(360);
        assert!(pow_q32(f, 360) <= 1 << 31);
        assert!(pow_q32(f + 1, 360) > 1 << 31);
        // 2^(-1/360) = 0.998076...
        let real = (f as f64) / (1u64 << 32) as f64;
        assert!((real - 0.5f64.powf(1.0 / 360.0)).abs() < 1e-9);
        assert_eq!(decay_factor_q32(0), 1 << 32);
        assert_eq!(bump(Rao(1_000_000_000), 1.26), Rao(1_260_000_000));
    }

    #[test]
    fn the_pre_2026_interval_rule_moves_toward_the_target() {
        let mut g = crate::chain::genesis::small();
        g.params.burn_rule = BurnRule::Interval { interval_blocks: 100, target_registrations: 2 };
        let mut c = crate::chain::genesis::build(&g).expect("genesis");
        let funder = c.create_coldkey(Rao::from_tao(100)).expect("funded");
        c.step_block();
        let start = c.subnet(1).map(|s| s.burn).unwrap_or_default();
        for _ in 0..4 {
            let hk = c.create_hotkey(funder).expect("hotkey");
            c.register_neuron(funder, hk, 1).expect("registered");
        }
        assert_eq!(c.subnet(1).map(|s| s.burn), Some(start), "no per-registration bump");
        for _ in 0..99 {
            c.step_block();
        }
        // Block 100: 4 registrations against a target of 2: burn * (4 + 2) / (2 * 2).
        assert_eq!(c.subnet(1).map(|s| s.burn), Some(Rao(start.0 * 6 / 4)));
        for _ in 0..100 {
            c.step_block();
        }
        // No registrations: burn * 2 / 4.
        assert_eq!(c.subnet(1).map(|s| s.burn), Some(Rao(start.0 * 6 / 4 * 2 / 4)));
        c.check_conservation().expect("conserved");
    }
}
