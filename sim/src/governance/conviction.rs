//! Conviction locks and the owner change they drive, ported from subtensor's
//! `pallets/subtensor/src/staking/lock.rs` (commit 14bc6f9f, Jun 2026) in the chain's own
//! fixed point (`U64F64`, `I64F64`, `substrate-fixed`'s `exp`) and order of operations.
//!
//! A coldkey locks alpha it has staked on a subnet to one hotkey. The locked mass decays with
//! the unlock timescale `UnlockRate` (a perpetual lock does not decay) and its conviction
//! matures towards it with `MaturityRate`; both default to 934,866 blocks (half in about 90
//! days). Once a subnet is [`ONE_YEAR_BLOCKS`] old and the total conviction on it reaches 10 %
//! of its alpha outstanding, the hotkey with the most conviction (the "king") becomes the
//! subnet's owner at its next epoch (`change_subnet_owner_if_needed`, called from
//! `run_coinbase` after each epoch's drain).
//!
//! Locks move no tokens: they are records over stake the coldkey already holds, so the chain's
//! conservation ledger is untouched.

use crate::chain::math::div_u64f64;
use substrate_fixed::transcendental::exp;
use substrate_fixed::types::{I64F64, U64F64};

/// `ONE_YEAR`: a subnet's age before its owner can change (blocks).
pub const ONE_YEAR_BLOCKS: u64 = 7200 * 365 + 1800;
/// `DefaultUnlockRate`: decay timescale of the locked mass, blocks (50 % in ~90 days).
pub const UNLOCK_RATE: u64 = 934_866;
/// `DefaultMaturityRate`: decay timescale of conviction's maturity, blocks.
pub const MATURITY_RATE: u64 = 934_866;
/// `LOCK_STATE_ZERO_THRESHOLD`: below this (rao) a lock counts as empty.
pub const ZERO_THRESHOLD: u64 = 100;

/// `LockState`: one lock, or an aggregate of locks on a hotkey.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockState {
    /// Locked alpha, rao.
    pub locked_mass: u64,
    /// Matured score (the integral of the locked mass over time, decayed).
    pub conviction: U64F64,
    /// Block of the last roll-forward.
    pub last_update: u64,
}

impl LockState {
    /// A fresh lock of `mass` rao at `block`, with no conviction yet.
    pub fn new(mass: u64, block: u64) -> Self {
        Self { locked_mass: mass, conviction: U64F64::from_bits(0), last_update: block }
    }

    /// `LockState::is_zero`.
    pub fn is_zero(&self) -> bool {
        self.locked_mass < ZERO_THRESHOLD && self.conviction < U64F64::saturating_from_num(ZERO_THRESHOLD)
    }
}

/// `ConvictionModel::exp_decay`: `exp(-dt / tau)` with the ratio clamped at -40.
pub fn exp_decay(dt: u64, tau: u64) -> U64F64 {
    if tau == 0 || dt == 0 {
        return if dt == 0 { U64F64::saturating_from_num(1) } else { U64F64::from_bits(0) };
    }
    let min_ratio = I64F64::saturating_from_num(-40);
    let neg_ratio =
        I64F64::saturating_from_num(-(dt as i128)).checked_div(I64F64::saturating_from_num(tau)).unwrap_or(min_ratio);
    let clamped = neg_ratio.max(min_ratio);
    let decay: I64F64 = exp(clamped).unwrap_or(I64F64::from_bits(0));
    if decay < I64F64::from_bits(0) { U64F64::from_bits(0) } else { U64F64::saturating_from_num(decay) }
}

/// `calculate_decayed_mass_and_conviction`: the mass and conviction `dt` blocks later.
///
/// Decaying lock: mass `m e^{-dt/τu}`; with equal rates conviction gains `m (dt/τ) e^{-dt/τ}`
/// (it peaks at `m/e` after τ blocks), otherwise `m τu (e^{-dt/τu} - e^{-dt/τm}) / (τu - τm)`.
/// Perpetual lock: the mass stays and conviction gains `m (1 - e^{-dt/τm})`.
pub fn decay(mass: u64, conviction: U64F64, dt: u64, unlock: u64, maturity: u64, perpetual: bool) -> (u64, U64F64) {
    let unlock_decay = exp_decay(dt, unlock);
    let maturity_decay = exp_decay(dt, maturity);
    let mass_fixed = U64F64::saturating_from_num(mass);
    let new_mass = if perpetual { mass } else { unlock_decay.saturating_mul(mass_fixed).saturating_to_num::<u64>() };
    let from_existing = maturity_decay.saturating_mul(conviction);
    let one = U64F64::saturating_from_num(1);
    let from_mass = if perpetual {
        mass_fixed.saturating_mul(one.saturating_sub(maturity_decay))
    } else if unlock == maturity {
        let ratio = div_u64f64(U64F64::saturating_from_num(dt), U64F64::saturating_from_num(maturity))
            .unwrap_or(U64F64::from_bits(0));
        mass_fixed.saturating_mul(ratio.saturating_mul(maturity_decay))
    } else if unlock == 0 || maturity == 0 {
        U64F64::from_bits(0)
    } else {
        let tau_x = I64F64::saturating_from_num(unlock);
        let tau_delta = I64F64::saturating_from_num((unlock as i128).saturating_sub(maturity as i128));
        let decay_delta =
            I64F64::saturating_from_num(unlock_decay).saturating_sub(I64F64::saturating_from_num(maturity_decay));
        let gamma = tau_x.saturating_mul(decay_delta).checked_div(tau_delta).unwrap_or(I64F64::from_bits(0));
        if gamma <= I64F64::from_bits(0) {
            U64F64::from_bits(0)
        } else {
            mass_fixed.saturating_mul(U64F64::saturating_from_num(gamma))
        }
    };
    (new_mass, from_existing.saturating_add(from_mass))
}

/// `ConvictionModel::roll_forward_lock`: the lock at block `now`. An owner's lock has full
/// conviction (its locked mass) at once.
pub fn roll_forward(lock: LockState, now: u64, unlock: u64, maturity: u64, owner: bool, perpetual: bool) -> LockState {
    let mut rolled = if now > lock.last_update {
        let (locked_mass, conviction) =
            decay(lock.locked_mass, lock.conviction, now - lock.last_update, unlock, maturity, perpetual);
        LockState { locked_mass, conviction, last_update: now }
    } else {
        lock
    };
    if owner {
        rolled.conviction = U64F64::saturating_from_num(rolled.locked_mass);
    }
    if rolled.is_zero() {
        rolled.locked_mass = 0;
        rolled.conviction = U64F64::from_bits(0);
    }
    rolled
}

/// `do_lock_stake`'s top-up: rolls the lock forward to `now` and adds `amount` to its mass.
pub fn top_up(lock: Option<LockState>, amount: u64, now: u64, perpetual: bool) -> LockState {
    match lock {
        None => LockState::new(amount, now),
        Some(l) => {
            let mut rolled = roll_forward(l, now, UNLOCK_RATE, MATURITY_RATE, false, perpetual);
            rolled.locked_mass = rolled.locked_mass.saturating_add(amount);
            rolled
        }
    }
}

/// The gates of `change_subnet_owner_if_needed`: alpha outstanding, the subnet at least
/// [`ONE_YEAR_BLOCKS`] old, and total conviction at least 10 % of alpha outstanding
/// (`total * 10 >= alpha_out`).
pub fn owner_change_allowed(age_blocks: u64, total_conviction: U64F64, alpha_out: u64) -> bool {
    alpha_out > 0
        && age_blocks >= ONE_YEAR_BLOCKS
        && total_conviction.saturating_mul(U64F64::saturating_from_num(10)) >= U64F64::saturating_from_num(alpha_out)
}

/// `subnet_king`: the key with the most conviction (ties: the last in key order, as
/// `max_by` over the chain's `BTreeMap`).
pub fn king<K: Copy>(scores: &[(K, U64F64)]) -> Option<K> {
    scores.iter().max_by(|a, b| a.1.cmp(&b.1)).map(|(k, _)| *k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decaying_conviction_peaks_at_mass_over_e_after_tau() {
        // dt = τ: mass e^{-1} m, conviction (τ/τ) e^{-1} m. m = 1e12 rao.
        let m = 1_000_000_000_000u64;
        let l = roll_forward(LockState::new(m, 0), MATURITY_RATE, UNLOCK_RATE, MATURITY_RATE, false, false);
        let e_inv = 0.367_879_441_171_442_3;
        assert!((l.locked_mass as f64 / m as f64 - e_inv).abs() < 1e-9, "{}", l.locked_mass);
        assert!((l.conviction.to_num::<f64>() / m as f64 - e_inv).abs() < 1e-9, "{}", l.conviction);
        // Half of τ: conviction m (1/2) e^{-1/2} = 0.3033 m, below the peak.
        let h = roll_forward(LockState::new(m, 0), MATURITY_RATE / 2, UNLOCK_RATE, MATURITY_RATE, false, false);
        assert!((h.conviction.to_num::<f64>() / m as f64 - 0.5 * libm::exp(-0.5)).abs() < 1e-6);
    }

    #[test]
    fn perpetual_lock_keeps_its_mass_and_matures_to_it() {
        let m = 1_000_000_000_000u64;
        let l = roll_forward(LockState::new(m, 10), 10 + 648_000, UNLOCK_RATE, MATURITY_RATE, false, true);
        assert_eq!(l.locked_mass, m);
        // 90 days: 1 - e^{-648000/934866} = 0.50000 (the chain's "half in ~90 days").
        let frac = l.conviction.to_num::<f64>() / m as f64;
        assert!((frac - (1.0 - libm::exp(-648_000.0 / 934_866.0))).abs() < 1e-9, "{frac}");
        assert!((frac - 0.5).abs() < 1e-5, "{frac}");
        // Rolling in two steps equals rolling once (the chain's exp is exact enough that the
        // conviction agrees to within a few rao).
        let a = roll_forward(LockState::new(m, 0), 300_000, UNLOCK_RATE, MATURITY_RATE, false, true);
        let b = roll_forward(a, 648_000, UNLOCK_RATE, MATURITY_RATE, false, true);
        let once = roll_forward(LockState::new(m, 0), 648_000, UNLOCK_RATE, MATURITY_RATE, false, true);
        assert!((b.conviction.to_num::<f64>() - once.conviction.to_num::<f64>()).abs() < 10.0);
    }

    #[test]
    fn an_owner_lock_has_full_conviction_and_small_locks_vanish() {
        let l = roll_forward(LockState::new(5_000, 0), 1, UNLOCK_RATE, MATURITY_RATE, true, true);
        assert_eq!(l.conviction, U64F64::saturating_from_num(5_000));
        let z = roll_forward(LockState::new(99, 0), 1, UNLOCK_RATE, MATURITY_RATE, false, false);
        assert_eq!((z.locked_mass, z.conviction), (0, U64F64::from_bits(0)));
        assert_eq!(exp_decay(0, 5), U64F64::saturating_from_num(1));
        assert_eq!(exp_decay(5, 0), U64F64::from_bits(0));
    }

    #[test]
    fn owner_change_needs_a_year_and_ten_percent() {
        let c = U64F64::saturating_from_num(100);
        assert!(owner_change_allowed(ONE_YEAR_BLOCKS, c, 1_000));
        assert!(!owner_change_allowed(ONE_YEAR_BLOCKS - 1, c, 1_000));
        assert!(!owner_change_allowed(ONE_YEAR_BLOCKS, c, 1_001));
        assert!(!owner_change_allowed(ONE_YEAR_BLOCKS, c, 0));
        assert_eq!(king(&[(1u32, c), (2, U64F64::saturating_from_num(7)), (3, c)]), Some(3));
        assert_eq!(king::<u32>(&[]), None);
    }

    #[test]
    fn top_up_rolls_then_adds() {
        let l = top_up(Some(LockState::new(1_000_000, 0)), 500, 100, true);
        assert_eq!(l.locked_mass, 1_000_500);
        assert_eq!(l.last_update, 100);
        assert!(l.conviction > U64F64::from_bits(0));
        assert_eq!(top_up(None, 7, 3, false), LockState::new(7, 3));
    }
}
