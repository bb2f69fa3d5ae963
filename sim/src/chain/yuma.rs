//! Yuma consensus: one subnet's epoch, computed exactly as the chain computes it.
//!
//! Mirrors `epoch_mechanism` in `pallets/subtensor/src/epoch/run_epoch.rs` (opentensor/subtensor
//! 14bc6f9f, the live epoch; `epoch_dense` is test-only on chain), with the math of
//! `pallets/subtensor/src/epoch/math.rs` in [`math`]. Weights, bonds and outputs are `u16`
//! as stored, the arithmetic is `I32F32`/`I64F64`/`I96F32` from `substrate-fixed` 0.6.0 in the
//! chain's order, emission is rao. The result is the chain's, bit for bit.
//!
//! The epoch is a pure function of an [`EpochInput`] (a snapshot of the subnet's state):
//! gather → [`epoch`] → apply. The caller keeps between epochs, per subnet:
//! - `validator_permit` and `bonds` of every neuron: replace them with the output's
//!   ([`EpochInput::apply_output`] does it); the chain stores the new permits and, for every
//!   uid, either its new bond row (new permit) or an empty row;
//! - `last_mechanism_step_block`: the block of the last epoch whose emission was distributed
//!   (the chain's `LastMechansimStepBlock`; `apply_output` sets it to the epoch's block);
//! - `epoch_index` (the chain's `SubnetEpochIndex`), only for commit-reveal expiry;
//! - per neuron `last_update` (block of its last weights, set by the caller when weights are
//!   set or revealed), `registered_at`, and stakes, which the epoch reads but never changes.
//!
//! Steps (i = validator row, j = miner column):
//! 1. active: `last_update_i + activity_cutoff >= block`;
//! 2. stake: `alpha_i + tao_weight * root_i` (`I64F64`), zeroed below `stake_threshold` (not the
//!    owner's), normalised, narrowed to `I32F32`;
//! 3. new permits: top `max_allowed_validators` non-zero stakes (ties to the higher uid), the
//!    owner always; the *stored* permits (owner forced on) mask active stake and weight rows;
//! 4. active stake: stake masked by inactivity and by the stored permits, normalised;
//! 5. weights: rows of non-permitted validators dropped, self-weights dropped (the owner's
//!    kept), `W_ij` dropped when `last_update_i <= registered_at_j`, with commit-reveal also when
//!    `i`'s earliest unexpired commit block `< registered_at_j`; rows normalised;
//! 6. consensus `C_j`: stake-weighted median of column `j` at `kappa`;
//! 7. clip `Wc_ij = min(W_ij, C_j)`; validator trust `sum_j Wc_ij`;
//! 8. incentive: `sum_i S_i Wc_ij`, normalised;
//! 9. bonds weights `W + penalty (Wc - W)`; bonds: classic EMA (column-normalised,
//!    max-upscaled for storage) or Yuma3 (EMA of weights, per-entry liquid alpha optional);
//!    bonds to miners registered since the last epoch are dropped first;
//! 10. dividends from bonds and incentive; emission split over incentive + dividends, or by
//!     stake when both are zero.
//!
//! Simplifications, documented where they apply: stakes are given per neuron (the caller
//! resolves parent/child inheritance, as the chain's `get_inherited_for_hotkey_on_subnet`
//! does); one mechanism per call (a subnet with several mechanisms calls the epoch once per
//! mechanism with its share of the emission, as `epoch_with_mechanisms` does); commits are
//! given as `(epoch, block)` pairs per neuron.

pub mod epoch;
pub mod fixed;
pub mod json;
pub mod math;
pub mod sparse;

pub use epoch::{EpochPath, EpochWorkspace, epoch_reference, epoch_with};

use crate::chain::Rao;
use serde::{Deserialize, Serialize};
use substrate_fixed::types::I32F32;

/// The chain's `ActivityCutoffFactorMilli` default: the cutoff is 13.889 tempos (5000 blocks
/// at tempo 360).
pub const DEFAULT_ACTIVITY_CUTOFF_FACTOR_MILLI: u32 = 13_889;
/// The runtime's `InitialTaoWeight`: about 5.27% of `u64::MAX`.
pub const DEFAULT_TAO_WEIGHT: u64 = 971_718_665_099_567_868;
/// The largest sum of combined stakes (alpha + tao_weight x root, in rao) `taosim epoch` accepts:
/// the integer range of the I64F64 the chain sums stakes in.
pub const MAX_TOTAL_STAKE: u128 = i64::MAX as u128;
/// The largest `bonds_moving_average` the epoch accepts: 1,000,000 ppm (EMA alpha 0).
pub const BONDS_MOVING_AVERAGE_MAX: u64 = 1_000_000;

/// A subnet's Yuma parameters, each in the unit the chain stores it in, defaulting to the value
/// a subnet registered today starts with: the runtime's `Initial*` constants
/// (`runtime/src/lib.rs`) and the storage defaults (`pallets/subtensor/src/lib.rs`), as
/// overridden by `init_new_network` (`subnets/subnet.rs`), which turns Yuma3 on and sets 64
/// validator permits. (The bare storage defaults, which subnets created before those lines
/// kept unless governance changed them, are Yuma3 off and 128 permits.)
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EpochParams {
    /// Blocks per epoch (`Tempo`, default 360). Sets the default activity cutoff and, before
    /// the first distributed epoch, the bond mask (`block - tempo`).
    pub tempo: u16,
    /// Activity cutoff in thousandths of a tempo (`ActivityCutoffFactorMilli`, default 13,889).
    pub activity_cutoff_factor_milli: u32,
    /// Activity cutoff in blocks, overriding `tempo * factor / 1000` (the chain derives it;
    /// older runtimes stored it directly as `ActivityCutoff`, 5000).
    pub activity_cutoff: Option<u64>,
    /// Consensus majority as a fraction of 65535 (`Kappa`, default 32,767 ≈ 0.5).
    pub kappa: u16,
    /// Bonds EMA retention in parts per million (`BondsMovingAverage`, default 900,000: the
    /// EMA takes 10% of the new value). At most 1,000,000.
    pub bonds_moving_average: u64,
    /// Bonds penalty as a fraction of 65535 (`BondsPenalty`, default 65,535: bonds use clipped
    /// weights).
    pub bonds_penalty: u16,
    /// Validator permits handed out (`MaxAllowedValidators`, default 64 as `init_new_network`
    /// sets it; the runtime's `InitialMaxAllowedValidators` is 128).
    pub max_allowed_validators: u16,
    /// Minimum stake in rao for a non-owner to count (`StakeThreshold`, default 0).
    pub stake_threshold: u64,
    /// Weight of root stake as a fraction of `u64::MAX` (`TaoWeight`, default
    /// 971,718,665,099,567,868 ≈ 0.0527).
    pub tao_weight: u64,
    /// Yuma3 bonds (`Yuma3On`, default on as `init_new_network` sets it; the storage default
    /// is off). Off selects the classic bonds EMA.
    pub yuma3: bool,
    /// Liquid alpha (`LiquidAlphaOn`, default off). On the chain at 14bc6f9f it only acts in
    /// Yuma3 mode; with classic bonds it has no effect, here too.
    pub liquid_alpha: bool,
    /// Liquid alpha's lower alpha as a fraction of 65535 (`AlphaValues.0`, default 45,875 ≈ 0.7).
    pub alpha_low: u16,
    /// Liquid alpha's upper alpha as a fraction of 65535 (`AlphaValues.1`, default 58,982 ≈ 0.9).
    pub alpha_high: u16,
    /// Liquid alpha's sigmoid steepness (`AlphaSigmoidSteepness`, default 1000).
    pub alpha_sigmoid_steepness: i16,
    /// Commit-reveal weights (`CommitRevealWeightsEnabled`, default on): weights of a validator
    /// with an unexpired commit made before a miner registered are dropped.
    pub commit_reveal: bool,
    /// Epochs until a commit is revealed (`RevealPeriodEpochs`, default 1); a commit of epoch
    /// `e` expires once `epoch_index > e + reveal_period`.
    pub reveal_period: u64,
}

impl Default for EpochParams {
    fn default() -> Self {
        EpochParams {
            tempo: 360,
            activity_cutoff_factor_milli: DEFAULT_ACTIVITY_CUTOFF_FACTOR_MILLI,
            activity_cutoff: None,
            kappa: 32_767,
            bonds_moving_average: 900_000,
            bonds_penalty: u16::MAX,
            max_allowed_validators: 64,
            stake_threshold: 0,
            tao_weight: DEFAULT_TAO_WEIGHT,
            yuma3: true,
            liquid_alpha: false,
            alpha_low: 45_875,
            alpha_high: 58_982,
            alpha_sigmoid_steepness: 1000,
            commit_reveal: true,
            reveal_period: 1,
        }
    }
}

impl EpochParams {
    /// The activity cutoff in blocks: the override, else `max(1, factor * tempo / 1000)` (the
    /// chain's `get_activity_cutoff_blocks`).
    pub fn activity_cutoff_blocks(&self) -> u64 {
        self.activity_cutoff.unwrap_or_else(|| {
            (u64::from(self.activity_cutoff_factor_milli).saturating_mul(u64::from(self.tempo)) / 1000).max(1)
        })
    }
}

/// A weight commit that may still mask weights: made in epoch `epoch` at block `block`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeightCommit {
    /// The subnet's epoch index when the commit was made (`commit_epoch`).
    pub epoch: u64,
    /// The block the commit was made in (`commit_block`).
    pub block: u64,
}

/// One neuron's state as the epoch reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NeuronInput {
    /// Alpha stake on the subnet, inherited stake included, in rao.
    pub alpha_stake: Rao,
    /// Root (TAO) stake, inherited stake included, in rao.
    pub root_stake: Rao,
    /// Block of the neuron's last weights (`LastUpdate`; registration sets it too).
    pub last_update: u64,
    /// Block the neuron was registered in (`BlockAtRegistration`).
    pub registered_at: u64,
    /// Validator permit as stored before this epoch (`ValidatorPermit`).
    pub validator_permit: bool,
    /// Weights as stored: `(uid, weight)`, max-upscaled so the largest is 65535 by `set_weights`.
    pub weights: Vec<(u16, u16)>,
    /// Bonds as stored: `(uid, bond)`.
    pub bonds: Vec<(u16, u16)>,
    /// Weight commits not yet removed (commit-reveal), any order.
    pub commits: Vec<WeightCommit>,
}

/// One subnet's state at an epoch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpochInput {
    /// The block the epoch runs in.
    pub block: u64,
    /// Alpha to distribute, in rao (pending server + validator + root alpha; owner cut excluded).
    pub emission: Rao,
    /// The subnet's parameters.
    #[serde(default)]
    pub params: EpochParams,
    /// The uid of the subnet owner's hotkey, if registered: always gets a permit, may weight
    /// itself, is exempt from the stake threshold.
    #[serde(default)]
    pub owner_uid: Option<u16>,
    /// Block of the last epoch whose emission was distributed (`LastMechansimStepBlock`; 0
    /// before the first). Bonds to miners registered at or after the block after it are dropped.
    #[serde(default)]
    pub last_mechanism_step_block: u64,
    /// The subnet's epoch index as this epoch sees it (`SubnetEpochIndex`, already counting
    /// this epoch). Only commit-reveal expiry reads it.
    #[serde(default)]
    pub epoch_index: u64,
    /// Neurons in uid order.
    pub neurons: Vec<NeuronInput>,
    /// The consensus of the subnet's previous epoch, by uid (raw, as
    /// [`EpochWorkspace::consensus`] gives it), or empty: a first guess for each column's median. Results never depend on it
    /// (a wrong guess is found out and searched past), only the time the epoch takes.
    #[serde(skip)]
    pub consensus_hint: Vec<I32F32>,
}

impl EpochInput {
    /// Carries an epoch's results into the state for the next epoch, as the chain persists
    /// them: new validator permits, new bond rows, and `last_mechanism_step_block`.
    pub fn apply_output(&mut self, output: &EpochOutput) {
        for (neuron, out) in self.neurons.iter_mut().zip(&output.neurons) {
            neuron.validator_permit = out.validator_permit;
            neuron.bonds.clone_from(&out.bonds);
        }
        self.last_mechanism_step_block = output.block;
    }

    /// Checks what the epoch relies on: at most 65,535 neurons, weights and bonds only to
    /// existing uids with no uid twice in a row, the owner uid exists, parameters in range.
    /// ([`epoch`] makes the same checks while it gathers the rows.)
    pub fn validate(&self) -> Result<(), EpochError> {
        self.validate_shape()?;
        let n = self.neurons.len();
        let mut seen = vec![u32::MAX; n];
        let mut stamp = 0u32;
        for (uid, neuron) in self.neurons.iter().enumerate() {
            for (field, row) in [("weights", &neuron.weights), ("bonds", &neuron.bonds)] {
                stamp = stamp.wrapping_add(1);
                for (index, &(target, _)) in row.iter().enumerate() {
                    let Some(mark) = seen.get_mut(usize::from(target)) else {
                        return Err(EpochError::UnknownUid { uid, field, index, target, n });
                    };
                    if *mark == stamp {
                        return Err(EpochError::DuplicateUid { uid, field, index, target });
                    }
                    *mark = stamp;
                }
            }
        }
        Ok(())
    }

    /// Whether the epoch's results would mean anything: tempo at least 1, and the neurons'
    /// combined stakes (alpha + tao_weight x root) summing to at most [`MAX_TOTAL_STAKE`].
    ///
    /// Not part of [`EpochInput::validate`]: the chain runs such inputs (its stake sum
    /// saturates in `I64F64`, and every normalised stake, so every result, comes out wrong;
    /// all zero with `u64::MAX` stakes), and [`epoch`] mirrors the chain bit for bit, its
    /// conformance tests included. `taosim epoch` refuses them instead of printing such
    /// results; the chain itself never gets near the limit (all TAO ever is 2.1e16 rao).
    pub fn check_computable(&self) -> Result<(), EpochError> {
        let p = &self.params;
        if p.tempo == 0 {
            return Err(EpochError::Param { field: "tempo", value: "0".into(), allowed: "1 ..= 65535" });
        }
        let total = self.neurons.iter().fold(0u128, |acc, x| {
            let root = (u128::from(x.root_stake.0) * u128::from(p.tao_weight)) >> 64;
            acc.saturating_add(u128::from(x.alpha_stake.0)).saturating_add(root)
        });
        if total > MAX_TOTAL_STAKE {
            return Err(EpochError::StakeTooLarge { total });
        }
        Ok(())
    }

    /// The size, owner and parameter checks of [`EpochInput::validate`], without the rows.
    pub(crate) fn validate_shape(&self) -> Result<(), EpochError> {
        let n = self.neurons.len();
        if n > usize::from(u16::MAX) {
            return Err(EpochError::TooManyNeurons { n });
        }
        if let Some(owner) = self.owner_uid
            && usize::from(owner) >= n
        {
            return Err(EpochError::OwnerUidOutOfRange { owner_uid: owner, n });
        }
        let p = &self.params;
        if p.bonds_moving_average > BONDS_MOVING_AVERAGE_MAX {
            return Err(EpochError::Param {
                field: "bonds_moving_average",
                value: p.bonds_moving_average.to_string(),
                allowed: "0 ..= 1000000 (parts per million)",
            });
        }
        if p.alpha_low > p.alpha_high {
            return Err(EpochError::Param {
                field: "alpha_low",
                value: p.alpha_low.to_string(),
                allowed: "at most alpha_high",
            });
        }
        Ok(())
    }
}

/// One neuron's epoch results, in the chain's storage units.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NeuronOutput {
    /// Active this epoch (`Active`).
    pub active: bool,
    /// Combined stake `alpha + tao_weight * root` before the threshold, in rao.
    pub stake: Rao,
    /// Normalised stake as a fraction of 65535 (`StakeWeight`).
    pub stake_weight: u16,
    /// Consensus weight on this neuron as a miner (`Consensus`).
    pub consensus: u16,
    /// Incentive, the miner's share (`Incentive`; sums to about 65535 or is all 0).
    pub incentive: u16,
    /// Dividends, the validator's share (`Dividends`; sums to about 65535 or is all 0).
    pub dividends: u16,
    /// Validator trust: the weight that survived clipping (`ValidatorTrust`).
    pub validator_trust: u16,
    /// Emission as a miner, rao.
    pub server_emission: Rao,
    /// Emission as a validator, rao.
    pub validator_emission: Rao,
    /// Combined emission score, rao (`Emission`: used for pruning; normalised separately, so
    /// it can differ by a rao or two from the sum of the two above).
    pub emission: Rao,
    /// The new validator permit.
    pub validator_permit: bool,
    /// The new bond row to store: `(uid, bond)`; empty without a new permit.
    pub bonds: Vec<(u16, u16)>,
}

/// An epoch's results, per neuron in uid order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpochOutput {
    /// The block the epoch ran in (the next epoch's `last_mechanism_step_block`).
    pub block: u64,
    /// Results in uid order.
    pub neurons: Vec<NeuronOutput>,
}

/// Why an [`EpochInput`] cannot be run. Every variant is the caller's to fix; none is fatal.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EpochError {
    /// More neurons than `u16` uids.
    #[error("neurons: {n} neurons; at most 65535 (uids are u16)")]
    TooManyNeurons {
        /// Number of neurons given.
        n: usize,
    },
    /// The owner uid names no neuron.
    #[error("owner_uid: uid {owner_uid} does not exist; the subnet has {n} neurons (uids 0 ..= {})", n.saturating_sub(1))]
    OwnerUidOutOfRange {
        /// The owner uid given.
        owner_uid: u16,
        /// Number of neurons.
        n: usize,
    },
    /// A weight or bond points at a uid that does not exist.
    #[error(
        "neuron {uid}: {field}[{index}]: uid {target} does not exist; the subnet has {n} neurons (uids 0 ..= {})",
        n.saturating_sub(1)
    )]
    UnknownUid {
        /// The neuron whose row it is.
        uid: usize,
        /// `weights` or `bonds`.
        field: &'static str,
        /// Position in the row.
        index: usize,
        /// The uid pointed at.
        target: u16,
        /// Number of neurons.
        n: usize,
    },
    /// A weight or bond row lists a uid twice.
    #[error("neuron {uid}: {field}[{index}]: uid {target} is listed twice; each uid may appear once per row")]
    DuplicateUid {
        /// The neuron whose row it is.
        uid: usize,
        /// `weights` or `bonds`.
        field: &'static str,
        /// Position of the second occurrence.
        index: usize,
        /// The repeated uid.
        target: u16,
    },
    /// The neurons' combined stakes sum past what the epoch's fixed point holds.
    #[error(
        "neurons: the stakes (alpha_stake + tao_weight x root_stake) sum to {total} rao; allowed at most {MAX_TOTAL_STAKE} rao (the chain's I64F64 stake sum; all TAO ever is 2.1e16 rao)"
    )]
    StakeTooLarge {
        /// The sum of the combined stakes, in rao.
        total: u128,
    },
    /// A parameter is out of range.
    #[error("params.{field}: {value} is out of range; allowed {allowed}")]
    Param {
        /// The parameter.
        field: &'static str,
        /// The value given.
        value: String,
        /// What is allowed.
        allowed: &'static str,
    },
}

/// Runs one epoch (allocating a fresh workspace; see [`epoch_with`] to reuse one).
pub fn epoch(input: &EpochInput) -> Result<EpochOutput, EpochError> {
    epoch_with(&mut EpochWorkspace::default(), input)
}
