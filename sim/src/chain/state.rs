//! The chain's state as the simulator keeps it, its parameters, its errors, and the ledger
//! that proves conservation.
//!
//! TAO ledger (exact to the rao, checked by [`ChainState::check_conservation`]):
//!
//! ```text
//! initial_issuance + minted           == total_issuance + recycled
//! total_issuance                      == free balances + sum of subnet TAO reserves + root TAO
//! ```
//!
//! `burned` TAO (sent to the burn address, which does not lower issuance, as `burn_tao`) is a
//! free balance of the burn account and so part of the free balances. Alpha ledger, per subnet:
//!
//! ```text
//! alpha_out == stakes + pending + in-flight epoch + burned + protocol alpha + unassigned
//! ```
//!
//! where stakes are summed from the hotkey share pools, `burned` is alpha destroyed with
//! `burn_subnet_alpha` (which leaves `SubnetAlphaOut` unchanged), protocol alpha what the chain
//! bought with excess TAO (`SubnetProtocolAlpha`), and `unassigned` the signed
//! rounding of the coinbase and epoch payouts, all maintained by the operations.

use super::emission::EmissionSchedule;
use super::emission_share::{FlowParams, ShareRule};
use super::epoch::{EpochPayout, StakeSplit};
use super::pool::{PoolDesign, SwapError};
use super::rao::Rao;
use super::registration::BurnRule;
use super::subnet::{ColdkeyId, Hotkey, HotkeyId, NetUid, SharePool, Subnet};
use crate::engine::Block;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// The coldkey holding all TAO not held by a modelled account ("the rest of the world").
pub const WORLD: ColdkeyId = ColdkeyId(0);
/// The block author's coldkey: swap fees go here.
pub const AUTHOR: ColdkeyId = ColdkeyId(1);
/// The burn address (`BurnAccountId`): burned TAO, still counted in issuance.
pub const BURN: ColdkeyId = ColdkeyId(2);

/// Chain-wide parameters (genesis defaults of `runtime/src/lib.rs` and `pallets/subtensor`).
#[derive(Clone, Debug, PartialEq)]
pub struct ChainParams {
    /// `TaoWeight` as a fraction of u64::MAX (runtime default 971,718,665,099,567,868 ~ 5.27%).
    pub tao_weight: u64,
    /// `SubnetOwnerCut` (fraction of 65535; 11796 = 18%).
    pub subnet_owner_cut: u16,
    /// Delegate take of new hotkeys (fraction of 65535; 11796 = 18%).
    pub default_take: u16,
    /// Pool design of every subnet.
    pub pool_design: PoolDesign,
    /// Swap fee of new pools (fraction of 65535).
    pub fee_rate: u16,
    /// `MinimumReserve` in rao.
    pub minimum_reserve: Rao,
    /// Emission-share rule.
    pub share_rule: ShareRule,
    /// Flow-rule parameters.
    pub flow: FlowParams,
    /// `SubnetMovingAlpha` (0.000003) as a fraction of 10^18.
    pub moving_alpha_parts: u64,
    /// `EMAPriceHalvingBlocks` (201,600).
    pub ema_price_halving_blocks: u64,
    /// Neuron registration price rule.
    pub burn_rule: BurnRule,
    /// `MinBurn` in rao (0.0005 TAO).
    pub min_burn: Rao,
    /// `MaxBurn` in rao (100 TAO).
    pub max_burn: Rao,
    /// Initial `Burn` of a new subnet (0.1 TAO).
    pub initial_burn: Rao,
    /// `ImmunityPeriod` of new subnets (4096 blocks).
    pub immunity_period: u16,
    /// `MaxAllowedUids` (256).
    pub max_allowed_uids: u16,
    /// `MinNonImmuneUids` (10).
    pub min_non_immune_uids: u16,
    /// `MaxAllowedValidators` (128).
    pub max_allowed_validators: u16,
    /// `NetworkMinLockCost` (1000 TAO).
    pub min_lock: Rao,
    /// `NetworkLockReductionInterval` (100,800 blocks, halved with each emission halving).
    pub lock_reduction_interval: u64,
    /// `NetworkRateLimit` (7200 blocks).
    pub network_rate_limit: u64,
    /// `NetworkImmunityPeriod` (1,296,000 blocks).
    pub network_immunity_period: u64,
    /// `SubnetLimit` (128).
    pub subnet_limit: u16,
    /// `MaxEpochsPerBlock` (2).
    pub max_epochs_per_block: u32,
    /// `DefaultMinStake` (0.002 TAO).
    pub min_stake: Rao,
    /// Tempo of new subnets.
    pub tempo: u16,
    /// Whether subnets registered during the run receive TAO emission (the chain registers them
    /// with `SubnetEmissionEnabled` off until governance turns it on).
    pub new_subnet_emission_enabled: bool,
}

impl Default for ChainParams {
    fn default() -> Self {
        Self {
            tao_weight: 971_718_665_099_567_868,
            subnet_owner_cut: 11_796,
            default_take: 11_796,
            pool_design: PoolDesign::Balancer,
            fee_rate: super::pool::DEFAULT_FEE_RATE,
            minimum_reserve: super::pool::DEFAULT_MINIMUM_RESERVE,
            share_rule: ShareRule::PriceEma,
            flow: FlowParams::default(),
            moving_alpha_parts: 3_000_000_000_000,
            ema_price_halving_blocks: 201_600,
            burn_rule: BurnRule::default(),
            min_burn: Rao(500_000),
            max_burn: Rao(100_000_000_000),
            initial_burn: Rao(100_000_000),
            immunity_period: 4_096,
            max_allowed_uids: 256,
            min_non_immune_uids: 10,
            max_allowed_validators: 128,
            min_lock: Rao(1_000_000_000_000),
            lock_reduction_interval: 14 * 7_200,
            network_rate_limit: 7_200,
            network_immunity_period: 1_296_000,
            subnet_limit: 128,
            max_epochs_per_block: 2,
            min_stake: Rao(2_000_000),
            tempo: 360,
            new_subnet_emission_enabled: true,
        }
    }
}

/// Why a participant's operation failed. Every variant leaves the state unchanged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// No such subnet (or it is root where root is not allowed).
    #[error("subnet {0} does not exist")]
    SubnetNotExists(NetUid),
    /// No such coldkey.
    #[error("coldkey {0} does not exist")]
    ColdkeyNotExists(u32),
    /// No such hotkey.
    #[error("hotkey {0} does not exist")]
    HotkeyNotExists(u32),
    /// The coldkey does not own the hotkey.
    #[error("coldkey does not own the hotkey")]
    NonAssociatedColdkey,
    /// Not enough free TAO.
    #[error("not enough free balance")]
    NotEnoughBalance,
    /// Not enough stake to remove.
    #[error("not enough stake to withdraw")]
    NotEnoughStake,
    /// Below the minimum stake (or zero).
    #[error("amount too low")]
    AmountTooLow,
    /// The pool refused the swap.
    #[error("swap failed: {0}")]
    Swap(#[from] SwapError),
    /// The hotkey is already registered on the subnet.
    #[error("hotkey already registered on the subnet")]
    HotkeyAlreadyRegistered,
    /// The subnet is full and no UID may be pruned.
    #[error("no neuron id available")]
    NoNeuronIdAvailable,
    /// Registration is closed on the subnet.
    #[error("registration disabled")]
    RegistrationDisabled,
    /// A subnet was registered too recently (`NetworkRateLimit`).
    #[error("network registration rate limit")]
    NetworkRateLimit,
    /// The subnet limit is reached and every subnet is immune.
    #[error("subnet limit reached")]
    SubnetLimitReached,
}

/// The root subnet: TAO staked 1:1 (`SubnetTAO[0]`) and its hotkey share pools.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Root {
    /// TAO staked on root, in rao.
    pub tao: Rao,
    /// Root stake by hotkey.
    pub stakes: BTreeMap<HotkeyId, SharePool>,
}

/// The chain state the block step advances.
#[derive(Clone, Debug)]
pub struct ChainState {
    /// The last block processed (0 before the first).
    pub block: Block,
    /// Total TAO issuance (`TotalIssuance`): what halvings are driven by.
    pub total_issuance: Rao,
    /// The emission minted in the last block (`BlockEmission`).
    pub block_emission: Rao,
    /// The issuance-to-emission rule.
    pub schedule: EmissionSchedule,
    /// Issuance when the run started.
    pub initial_issuance: Rao,
    /// TAO minted by this run's blocks.
    pub minted: Rao,
    /// TAO recycled by this run (removed from issuance: postpones halvings).
    pub recycled: Rao,
    /// Chain-wide parameters.
    pub params: ChainParams,
    /// Free balance of every coldkey (index = id); 0 is the world, 1 the block author, 2 burn.
    pub balances: Vec<Rao>,
    /// Every hotkey (index = id).
    pub hotkeys: Vec<Hotkey>,
    /// The root subnet.
    pub root: Root,
    /// Subnets by netuid (index 0 unused: root is [`ChainState::root`]).
    pub subnets: Vec<Option<Subnet>>,
    /// `NetworkLastLockCost`.
    pub network_last_lock: Rao,
    /// Block of the last subnet registration (0: never).
    pub network_last_lock_block: u64,
    /// The epoch implementation.
    pub payout: Arc<dyn EpochPayout>,
    /// `decay_factor_q32` for the burn half-life in use (half-life, factor).
    pub burn_decay_cache: Option<(u16, u64)>,
}

impl PartialEq for ChainState {
    fn eq(&self, other: &Self) -> bool {
        self.block == other.block
            && self.total_issuance == other.total_issuance
            && self.balances == other.balances
            && self.root == other.root
            && self.subnets == other.subnets
            && self.recycled == other.recycled
            && self.minted == other.minted
    }
}

impl ChainState {
    /// A chain with `initial_issuance` issued, all of it held by the world account, no subnets.
    pub fn new(initial_issuance: Rao, schedule: EmissionSchedule) -> Self {
        Self::with_params(initial_issuance, schedule, ChainParams::default())
    }

    /// As [`ChainState::new`] with parameters.
    pub fn with_params(initial_issuance: Rao, schedule: EmissionSchedule, params: ChainParams) -> Self {
        Self {
            block: Block(0),
            total_issuance: initial_issuance,
            block_emission: schedule.block_emission(initial_issuance),
            schedule,
            initial_issuance,
            minted: Rao::ZERO,
            recycled: Rao::ZERO,
            params,
            balances: vec![initial_issuance, Rao::ZERO, Rao::ZERO],
            hotkeys: Vec::new(),
            root: Root::default(),
            subnets: vec![None],
            network_last_lock: Rao::ZERO,
            network_last_lock_block: 0,
            payout: Arc::new(StakeSplit),
            burn_decay_cache: None,
        }
    }

    /// Replaces the epoch implementation.
    pub fn set_payout(&mut self, payout: Arc<dyn EpochPayout>) {
        self.payout = payout;
    }

    /// The current block number as the chain sees it.
    pub fn now(&self) -> u64 {
        self.block.0
    }

    /// A new coldkey funded with `amount` from the world account (as if bought on the market).
    pub fn create_coldkey(&mut self, amount: Rao) -> Result<ColdkeyId, ChainError> {
        let world = self.balances[0];
        if world < amount {
            return Err(ChainError::NotEnoughBalance);
        }
        self.balances[0] = world.saturating_sub(amount);
        self.balances.push(amount);
        Ok(ColdkeyId((self.balances.len() - 1) as u32))
    }

    /// Moves free TAO between coldkeys (`transfer_tao`).
    pub fn transfer(&mut self, from: ColdkeyId, to: ColdkeyId, amount: Rao) -> Result<(), ChainError> {
        self.check_coldkey(to)?;
        self.take_balance(from, amount)?;
        self.give_balance(to, amount);
        Ok(())
    }

    /// A new hotkey owned by `coldkey`, with the default take.
    pub fn create_hotkey(&mut self, coldkey: ColdkeyId) -> Result<HotkeyId, ChainError> {
        self.check_coldkey(coldkey)?;
        self.hotkeys.push(Hotkey { owner: coldkey, take: self.params.default_take });
        Ok(HotkeyId((self.hotkeys.len() - 1) as u32))
    }

    /// Free balance of a coldkey.
    pub fn balance(&self, coldkey: ColdkeyId) -> Rao {
        self.balances.get(coldkey.0 as usize).copied().unwrap_or(Rao::ZERO)
    }

    pub(crate) fn check_coldkey(&self, coldkey: ColdkeyId) -> Result<(), ChainError> {
        if (coldkey.0 as usize) < self.balances.len() { Ok(()) } else { Err(ChainError::ColdkeyNotExists(coldkey.0)) }
    }

    pub(crate) fn hotkey(&self, hotkey: HotkeyId) -> Result<Hotkey, ChainError> {
        self.hotkeys.get(hotkey.0 as usize).copied().ok_or(ChainError::HotkeyNotExists(hotkey.0))
    }

    pub(crate) fn take_balance(&mut self, coldkey: ColdkeyId, amount: Rao) -> Result<(), ChainError> {
        let slot = self.balances.get_mut(coldkey.0 as usize).ok_or(ChainError::ColdkeyNotExists(coldkey.0))?;
        *slot = slot.checked_sub(amount).ok_or(ChainError::NotEnoughBalance)?;
        Ok(())
    }

    pub(crate) fn give_balance(&mut self, coldkey: ColdkeyId, amount: Rao) {
        if let Some(slot) = self.balances.get_mut(coldkey.0 as usize) {
            *slot = slot.saturating_add(amount);
        }
    }

    /// Removes TAO held outside any account from issuance (`recycle_tao` / `recycle_credit`).
    pub(crate) fn recycle(&mut self, amount: Rao) {
        self.total_issuance = self.total_issuance.saturating_sub(amount);
        self.recycled = self.recycled.saturating_add(amount);
    }

    /// A subnet by netuid.
    pub fn subnet(&self, netuid: NetUid) -> Option<&Subnet> {
        self.subnets.get(usize::from(netuid)).and_then(Option::as_ref)
    }

    /// A subnet by netuid, mutable.
    pub fn subnet_mut(&mut self, netuid: NetUid) -> Option<&mut Subnet> {
        self.subnets.get_mut(usize::from(netuid)).and_then(Option::as_mut)
    }

    /// Netuids of the existing subnets (root excluded), ascending.
    pub fn netuids(&self) -> Vec<NetUid> {
        self.subnets.iter().enumerate().filter(|(_, s)| s.is_some()).map(|(i, _)| i as NetUid).collect()
    }

    /// Number of existing subnets (root excluded).
    pub fn subnet_count(&self) -> usize {
        self.subnets.iter().filter(|s| s.is_some()).count()
    }

    /// A hotkey's root stake.
    pub fn root_stake_of(&self, hotkey: HotkeyId) -> Rao {
        self.root.stakes.get(&hotkey).map_or(Rao::ZERO, |p| p.total)
    }

    /// Sum of free balances.
    pub fn free_total(&self) -> u128 {
        self.balances.iter().map(|b| u128::from(b.0)).sum()
    }

    /// Sum of subnet TAO reserves plus root TAO.
    pub fn staked_tao_total(&self) -> u128 {
        let subnets: u128 = self.subnets.iter().flatten().map(|s| u128::from(s.pool.tao.0)).sum();
        subnets + u128::from(self.root.tao.0)
    }

    /// Conservation, exactly (see the module docs), plus the pools' minimum reserves.
    pub fn check_conservation(&self) -> Result<(), String> {
        let expected = u128::from(self.initial_issuance.0) + u128::from(self.minted.0);
        let accounted = u128::from(self.total_issuance.0) + u128::from(self.recycled.0);
        if accounted != expected {
            return Err(format!(
                "issuance {} + recycled {} != initial + minted = {expected}",
                self.total_issuance.0, self.recycled.0
            ));
        }
        let held = self.free_total() + self.staked_tao_total();
        if held != u128::from(self.total_issuance.0) {
            return Err(format!(
                "issuance {} != free {} + staked {} (difference {})",
                self.total_issuance.0,
                self.free_total(),
                self.staked_tao_total(),
                i128::try_from(held).unwrap_or(i128::MAX) - i128::from(self.total_issuance.0)
            ));
        }
        let root_stake: u128 = self.root.stakes.values().map(|p| u128::from(p.total.0)).sum();
        if root_stake != u128::from(self.root.tao.0) {
            return Err(format!("root stakes {root_stake} != root TAO {}", self.root.tao.0));
        }
        for s in self.subnets.iter().flatten() {
            let pending = s.pending.total() + s.in_flight.map_or(0, |p| p.total());
            let held = s.total_stake() + s.unstaked_alpha();
            let located = i128::try_from(held).unwrap_or(i128::MAX) + s.alpha_unassigned;
            if located != i128::from(s.alpha_out.0) {
                return Err(format!(
                    "subnet {}: alpha out {} != stakes {} + pending {pending} + burned {} + protocol {} + unassigned {}",
                    s.netuid,
                    s.alpha_out.0,
                    s.total_stake(),
                    s.alpha_burned.0,
                    s.protocol_alpha.0,
                    s.alpha_unassigned
                ));
            }
            if s.pool.tao < s.pool.minimum_reserve || s.pool.alpha < s.pool.minimum_reserve {
                return Err(format!(
                    "subnet {}: reserves {} TAO / {} alpha below the minimum {}",
                    s.netuid, s.pool.tao.0, s.pool.alpha.0, s.pool.minimum_reserve.0
                ));
            }
        }
        Ok(())
    }
}
