//! A subnet's state: its pool, alpha issuance, pending emission, registration price, flows,
//! and the per-neuron state the epoch needs (UIDs, hotkeys, registration blocks, weights,
//! bonds, validator permits), plus the hotkey share pools that hold its stake.
//!
//! Mirrors the per-netuid storage of subtensor (`SubnetTAO`, `SubnetAlphaIn`, `SubnetAlphaOut`,
//! `SubnetProtocolAlpha`, `SubnetMovingPrice`, `Pending*Emission`, `Burn`, `Keys`/`Uids`,
//! `BlockAtRegistration`, `LastUpdate`, `Weights`, `Bonds`, `ValidatorPermit`,
//! `TotalHotkeyAlpha`/`TotalHotkeyShares`/`Alpha`). Weights and bonds are sparse u16 rows as the
//! chain stores them.

use super::emission::EmissionCache;
use super::memo::Memo;
use super::pool::Pool;
use super::rao::Rao;
use serde::Serialize;
use std::collections::BTreeMap;
use substrate_fixed::types::{I32F32, I64F64, I96F32, U96F32};

/// A coldkey (an account holding free TAO and owning hotkeys).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct ColdkeyId(pub u32);

/// A hotkey (the key neurons register and stake is delegated to).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct HotkeyId(pub u32);

/// A subnet id (0 is root).
pub type NetUid = u16;

/// A hotkey: its owning coldkey and delegate take (`Owner`, `Delegates`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Hotkey {
    /// The coldkey that owns it.
    pub owner: ColdkeyId,
    /// Delegate take as a fraction of 65535 (default 11796, 18%).
    pub take: u16,
}

/// Stake held through one hotkey on one subnet: the hotkey's total alpha (`TotalHotkeyAlpha`)
/// and each coldkey's shares of it (`TotalHotkeyShares`, `Alpha`).
///
/// Dividends to nominators raise the total without new shares (`update_value_for_all`); a
/// coldkey's stake is `floor(shares * total / total_shares)`. The chain keeps shares in a
/// `SafeFloat`; we keep them as u128 integers (first stake 1 share per rao), so individual
/// values can differ from the chain's by rounding, while the hotkey totals match.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SharePool {
    /// The hotkey's alpha on this subnet (TAO on root), in rao.
    pub total: Rao,
    /// Sum of all shares.
    pub total_shares: u128,
    /// Shares per coldkey.
    pub shares: BTreeMap<ColdkeyId, u128>,
}

impl SharePool {
    /// The stake of `coldkey` through this hotkey.
    pub fn value_of(&self, coldkey: ColdkeyId) -> Rao {
        self.value_of_shares(self.shares.get(&coldkey).copied().unwrap_or(0))
    }

    /// Every holder's stake through this hotkey, in coldkey order (one pass over the shares,
    /// each valued as [`SharePool::value_of`] values it).
    pub fn values(&self) -> impl Iterator<Item = (ColdkeyId, Rao)> + '_ {
        self.shares.iter().map(|(coldkey, shares)| (*coldkey, self.value_of_shares(*shares)))
    }

    /// What `shares` of this pool are worth: `floor(shares * total / total_shares)`.
    fn value_of_shares(&self, shares: u128) -> Rao {
        if self.total_shares == 0 {
            return Rao::ZERO;
        }
        let value = super::math::mul_div(shares, u128::from(self.total.0), self.total_shares).unwrap_or(0);
        Rao(u64::try_from(value).unwrap_or(u64::MAX))
    }

    /// Adds `amount` for `coldkey` (`increase_stake_for_hotkey_and_coldkey_on_subnet`).
    pub fn add_for_one(&mut self, coldkey: ColdkeyId, amount: Rao) {
        if amount.0 == 0 {
            return;
        }
        let new_shares = if self.total_shares == 0 || self.total.0 == 0 {
            // A pool with no value restarts its share count.
            self.shares.clear();
            self.total_shares = 0;
            u128::from(amount.0)
        } else {
            super::math::mul_div(u128::from(amount.0), self.total_shares, u128::from(self.total.0)).unwrap_or(0)
        };
        *self.shares.entry(coldkey).or_insert(0) += new_shares;
        self.total_shares = self.total_shares.saturating_add(new_shares);
        self.total = self.total.saturating_add(amount);
    }

    /// Adds `amount` to everyone pro rata (`increase_stake_for_hotkey_on_subnet`).
    pub fn add_for_all(&mut self, amount: Rao) {
        self.total = self.total.saturating_add(amount);
    }

    /// Removes `amount` of `coldkey`'s stake; `false` (and no change) if it holds less.
    pub fn remove_for_one(&mut self, coldkey: ColdkeyId, amount: Rao) -> bool {
        let value = self.value_of(coldkey);
        if amount > value || amount.0 == 0 {
            return amount.0 == 0;
        }
        let held = self.shares.get(&coldkey).copied().unwrap_or(0);
        let remove = if amount == value {
            held
        } else {
            // Round the shares removed up, so what stays never exceeds what is left.
            let exact = super::math::mul_div(u128::from(amount.0), self.total_shares, u128::from(self.total.0));
            exact.map_or(held, |s| s.saturating_add(1).min(held))
        };
        let left = held - remove;
        if left == 0 {
            self.shares.remove(&coldkey);
        } else {
            self.shares.insert(coldkey, left);
        }
        self.total_shares -= remove;
        self.total = self.total.saturating_sub(amount);
        if self.total_shares == 0 && self.total.0 > 0 {
            // Dust value left with no shares: it stays with the hotkey's total (as on chain).
        }
        true
    }
}

/// Alpha emission waiting for the subnet's epoch (`PendingServerEmission`,
/// `PendingValidatorEmission`, `PendingRootAlphaDivs`, `PendingOwnerCut`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Pending {
    /// Miners' half.
    pub server: Rao,
    /// Alpha validators' part.
    pub validator: Rao,
    /// Root validators' part.
    pub root: Rao,
    /// The owner's cut.
    pub owner_cut: Rao,
}

impl Pending {
    /// All four parts together.
    pub fn total(&self) -> u128 {
        u128::from(self.server.0)
            + u128::from(self.validator.0)
            + u128::from(self.root.0)
            + u128::from(self.owner_cut.0)
    }
}

/// One UID of a subnet: what the epoch reads and writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Neuron {
    /// The registered hotkey (`Keys`).
    pub hotkey: HotkeyId,
    /// Block of registration (`BlockAtRegistration`).
    pub registered_at: u64,
    /// Block of the last weight update (`LastUpdate`).
    pub last_update: u64,
    /// Weights as (uid, u16) pairs (`Weights`).
    pub weights: Vec<(u16, u16)>,
    /// Bonds as (uid, u16) pairs (`Bonds`).
    pub bonds: Vec<(u16, u16)>,
    /// Validator permit as of the last epoch (`ValidatorPermit`).
    pub validator_permit: bool,
    /// Last epoch's incentive (u16 fraction).
    pub incentive: u16,
    /// Last epoch's dividends (u16 fraction).
    pub dividends: u16,
    /// Last epoch's emission in alpha rao (`Emission`), which pruning ranks by.
    pub emission: Rao,
}

impl Neuron {
    /// A neuron just registered at `block`.
    pub fn new(hotkey: HotkeyId, block: u64) -> Self {
        Self {
            hotkey,
            registered_at: block,
            last_update: block,
            weights: Vec::new(),
            bonds: Vec::new(),
            validator_permit: false,
            incentive: 0,
            dividends: 0,
            emission: Rao::ZERO,
        }
    }
}

/// Per-subnet TAO flows (`SubnetTaoFlow`, `SubnetEmaTaoFlow`, `SubnetProtocolFlow`,
/// `SubnetEmaProtocolFlow`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Flows {
    /// Users' net TAO in this block (stakes in minus unstakes out), in rao.
    pub user_block: i64,
    /// EMA of users' flow and the block it was last updated.
    pub user_ema: Option<(u64, I64F64)>,
    /// Protocol TAO in this block (injection plus chain buys), in rao.
    pub protocol_block: i64,
    /// EMA of the protocol flow and the block it was last updated.
    pub protocol_ema: Option<(u64, I64F64)>,
    /// Users' TAO staked in over the run (for outputs).
    pub user_in_total: u128,
    /// Users' TAO unstaked out over the run (for outputs).
    pub user_out_total: u128,
}

/// What the coinbase did to a subnet in the last block (for outputs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct LastBlock {
    /// Emission share (0..1) as a U64F64 fraction.
    pub share: f64,
    /// TAO emission routed to the subnet, in rao.
    pub tao_emission: Rao,
    /// TAO injected into the reserve.
    pub tao_in: Rao,
    /// Alpha injected into the reserve.
    pub alpha_in: Rao,
    /// TAO spent on the chain buy (excess).
    pub excess_tao: Rao,
    /// Alpha bought by the chain buy.
    pub alpha_bought: Rao,
    /// Alpha minted for participants (alpha out).
    pub alpha_out: Rao,
}

/// One subnet.
#[derive(Clone, Debug, PartialEq)]
pub struct Subnet {
    /// Its id.
    pub netuid: NetUid,
    /// Owner coldkey (`SubnetOwner`).
    pub owner_coldkey: ColdkeyId,
    /// Owner hotkey (`SubnetOwnerHotkey`).
    pub owner_hotkey: HotkeyId,
    /// Block of registration (`NetworkRegisteredAt`).
    pub registered_at: u64,
    /// Blocks between epochs (`Tempo`).
    pub tempo: u16,
    /// Block of the last epoch (`LastEpochBlock`).
    pub last_epoch_block: u64,
    /// A deferred epoch's block, 0 if none (`PendingEpochAt`).
    pub pending_epoch_at: u64,
    /// Blocks since the last epoch ran (`BlocksSinceLastStep`).
    pub blocks_since_last_step: u64,
    /// Block of the first emission (`FirstEmissionBlockNumber`); `None` before `start_call`.
    pub first_emission_block: Option<u64>,
    /// Blocks the subnet had been emitting before the run started (for the price EMA's speed).
    pub age_blocks_at_start: u64,
    /// Whether it receives TAO emission (`SubnetEmissionEnabled`).
    pub emission_enabled: bool,
    /// Whether neurons may register (`NetworkRegistrationAllowed`).
    pub registration_allowed: bool,
    /// The pool.
    pub pool: Pool,
    /// Alpha outstanding (`SubnetAlphaOut`).
    pub alpha_out: Rao,
    /// Alpha the chain bought with excess TAO (`SubnetProtocolAlpha`), part of alpha out.
    pub protocol_alpha: Rao,
    /// Price EMA (`SubnetMovingPrice`).
    pub moving_price: I96F32,
    /// Share of miner emission withheld last epoch (`MinerBurned`).
    pub miner_burned: U96F32,
    /// Emission waiting for the epoch.
    pub pending: Pending,
    /// Emission drained for an epoch scheduled this block and not yet paid.
    pub in_flight: Option<Pending>,
    /// Neuron registration price (`Burn`).
    pub burn: Rao,
    /// Registrations this block (`RegistrationsThisBlock`).
    pub registrations_this_block: u16,
    /// Registrations since the last interval adjustment (pre-2026 rule).
    pub registrations_this_interval: u16,
    /// Block of the last interval adjustment (pre-2026 rule).
    pub last_adjustment_block: u64,
    /// UIDs in order.
    pub neurons: Vec<Neuron>,
    /// Stake by hotkey.
    pub stakes: BTreeMap<HotkeyId, SharePool>,
    /// Flows.
    pub flows: Flows,
    /// Alpha burned (destroyed but still counted in `SubnetAlphaOut`, as `burn_subnet_alpha`).
    pub alpha_burned: Rao,
    /// Alpha recycled (removed from `SubnetAlphaOut`) over the run.
    pub alpha_recycled: Rao,
    /// Alpha counted in `SubnetAlphaOut` that no account holds: the rounding of the coinbase and
    /// epoch payouts (signed: an epoch may pay a few rao more than was pending).
    pub alpha_unassigned: i128,
    /// Alpha emission lookup.
    pub alpha_emission: EmissionCache,
    /// The coinbase's last block.
    pub last: LastBlock,
    /// Epochs run.
    pub epochs: u64,
    /// The last root proportion, keyed by (root TAO, TaoWeight fraction bits, alpha issuance): the coinbase
    /// asks for it twice a block, and where no root alpha is recycled the next block asks again
    /// with the same inputs.
    pub root_proportion: Memo<(u64, u128, u64), U96F32>,
    /// The consensus of the last epoch (raw `I32F32`, by UID), where Yuma ran it: the next
    /// epoch's first guess for its medians (see `EpochInput::consensus_hint`).
    pub consensus_hint: Vec<I32F32>,
}

impl Subnet {
    /// Alpha issuance (`SubnetAlphaIn + SubnetAlphaOut`).
    pub fn alpha_issuance(&self) -> Rao {
        self.pool.alpha.saturating_add(self.alpha_out)
    }

    /// The UID of `hotkey`, if registered.
    pub fn uid_of(&self, hotkey: HotkeyId) -> Option<u16> {
        self.neurons.iter().position(|n| n.hotkey == hotkey).map(|i| i as u16)
    }

    /// Sum of all hotkeys' stake on this subnet.
    pub fn total_stake(&self) -> u128 {
        self.stakes.values().map(|p| u128::from(p.total.0)).sum()
    }

    /// [`Subnet::total_stake`] in constant time, from the alpha ledger: alpha out less what no
    /// stake holds (pending and in-flight emission, burned, protocol-held and unassigned
    /// alpha). Equal to the sum whenever the conservation identity holds, which
    /// [`super::ChainState::check_conservation`] verifies (and tests assert after every kind of
    /// operation); participants read it many times a block.
    pub fn staked_alpha(&self) -> u128 {
        let staked = i128::from(self.alpha_out.0) - self.unstaked_alpha() as i128 - self.alpha_unassigned;
        u128::try_from(staked).unwrap_or(0)
    }

    /// Alpha out that sits in no stake and is accounted for: pending and in-flight emission,
    /// burned and protocol-held alpha (the conservation identity's other terms, besides the
    /// signed `alpha_unassigned`).
    pub fn unstaked_alpha(&self) -> u128 {
        self.pending.total()
            + self.in_flight.map_or(0, |p| p.total())
            + u128::from(self.alpha_burned.0)
            + u128::from(self.protocol_alpha.0)
    }

    /// A hotkey's alpha on this subnet.
    pub fn stake_of(&self, hotkey: HotkeyId) -> Rao {
        self.stakes.get(&hotkey).map_or(Rao::ZERO, |p| p.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The pool's total always equals the sum of what was added minus what was removed, and
        /// no coldkey's value exceeds the total.
        #[test]
        fn share_pool_keeps_totals_exact(ops in proptest::collection::vec((0u32..4, 0u64..1_000_000_000_000, 0u8..3), 1..60)) {
            let mut pool = SharePool::default();
            let mut expected: u128 = 0;
            for (who, amount, kind) in ops {
                let ck = ColdkeyId(who);
                match kind {
                    0 => { pool.add_for_one(ck, Rao(amount)); expected += u128::from(amount); }
                    1 => { pool.add_for_all(Rao(amount)); expected += u128::from(amount); }
                    _ => {
                        let value = pool.value_of(ck);
                        let take = Rao(amount.min(value.0));
                        prop_assert!(pool.remove_for_one(ck, take));
                        expected -= u128::from(take.0);
                    }
                }
                prop_assert_eq!(u128::from(pool.total.0), expected);
                let sum: u128 = (0..4).map(|c| u128::from(pool.value_of(ColdkeyId(c)).0)).sum();
                prop_assert!(sum <= expected);
                prop_assert!(pool.values().all(|(c, v)| v == pool.value_of(c)));
            }
        }
    }

    #[test]
    fn removing_more_than_held_changes_nothing() {
        let mut pool = SharePool::default();
        pool.add_for_one(ColdkeyId(1), Rao(100));
        pool.add_for_all(Rao(50));
        assert_eq!(pool.value_of(ColdkeyId(1)), Rao(150));
        assert!(!pool.remove_for_one(ColdkeyId(1), Rao(151)));
        assert!(!pool.remove_for_one(ColdkeyId(2), Rao(1)));
        assert!(pool.remove_for_one(ColdkeyId(1), Rao(150)));
        assert_eq!(pool.total, Rao(0));
    }
}
