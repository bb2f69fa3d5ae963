//! The epoch interface: what a subnet's epoch reads and returns, and the stand-in that pays
//! epochs until Yuma consensus (`sim::chain::yuma`) implements [`EpochPayout`].
//!
//! Shaped like the chain's `epoch_with_mechanisms` (`pallets/subtensor/src/epoch/run_epoch.rs`):
//! a snapshot of the subnet ([`EpochInput`], gathered by the chain model) goes in; per-UID
//! incentive, dividends, server and validator emission, the new validator permits and bonds
//! ([`EpochOutput`]) come out; the chain model then pays it (`distribute_emission`: owner cut,
//! burned owner incentive, root/alpha dividend split, delegate take) in one place.

use super::rao::Rao;
use super::subnet::HotkeyId;
use serde::Serialize;
use std::borrow::Cow;
use substrate_fixed::types::{I32F32, U96F32};

/// One UID as the epoch sees it. Its weight and bond rows are borrowed from the chain state
/// when the chain model gathers the input (an epoch only reads them; copying every row of
/// every epoch cost more than some epochs), or owned where a test builds one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EpochNeuron<'a> {
    /// Its hotkey.
    pub hotkey: HotkeyId,
    /// Alpha staked through the hotkey on this subnet, in rao.
    pub alpha_stake: Rao,
    /// TAO staked through the hotkey on root, in rao.
    pub root_stake: Rao,
    /// Block of registration.
    pub registered_at: u64,
    /// Block of the last weight update.
    pub last_update: u64,
    /// Permit as stored before this epoch.
    pub validator_permit: bool,
    /// Weights as (uid, u16), as stored.
    pub weights: Cow<'a, [(u16, u16)]>,
    /// Bonds as (uid, u16), as stored.
    pub bonds: Cow<'a, [(u16, u16)]>,
}

/// A subnet's state at its epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct EpochInput<'a> {
    /// The subnet.
    pub netuid: u16,
    /// The current block.
    pub block: u64,
    /// Alpha to distribute (server + validator + root pending; owner cut excluded), in rao.
    pub emission: Rao,
    /// The subnet's tempo.
    pub tempo: u16,
    /// Block of the previous epoch.
    pub last_epoch_block: u64,
    /// UID of the owner's hotkey, if registered.
    pub owner_uid: Option<u16>,
    /// TaoWeight as the chain stores it (fraction of u64::MAX).
    pub tao_weight: u64,
    /// At most this many validator permits (`MaxAllowedValidators`).
    pub max_validators: u16,
    /// UIDs in order.
    pub neurons: Vec<EpochNeuron<'a>>,
    /// The consensus of the subnet's previous epoch (raw `I32F32`, by UID), or empty: a
    /// first guess for Yuma's medians that only changes how fast they are found.
    #[serde(skip)]
    pub consensus_hint: Cow<'a, [I32F32]>,
}

impl EpochInput<'_> {
    /// Each UID's hotkey and alpha stake as the epoch saw them: what paying it needs (see
    /// `ChainState::pay_epoch`) once the input, which borrows the chain, is gone.
    pub fn stakes(&self) -> Vec<(HotkeyId, Rao)> {
        self.neurons.iter().map(|n| (n.hotkey, n.alpha_stake)).collect()
    }
}

/// One UID's results.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EpochNeuronOutput {
    /// Incentive (u16 fraction of 65535).
    pub incentive: u16,
    /// Dividends (u16 fraction of 65535).
    pub dividends: u16,
    /// Miner emission in alpha rao.
    pub server_emission: Rao,
    /// Validator emission in alpha rao.
    pub validator_emission: Rao,
    /// The new validator permit.
    pub validator_permit: bool,
    /// The new bonds.
    pub bonds: Vec<(u16, u16)>,
}

/// An epoch's results, one entry per UID in order.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct EpochOutput {
    /// Per-UID results.
    pub neurons: Vec<EpochNeuronOutput>,
    /// The consensus (raw `I32F32`, by UID) where the implementation computes one (Yuma), or
    /// empty: the next epoch's [`EpochInput::consensus_hint`].
    #[serde(skip)]
    pub consensus: Vec<I32F32>,
}

/// Turns a subnet's state at its epoch into incentive and dividends. Implemented by the
/// stand-in [`StakeSplit`] now and by Yuma consensus later; must be deterministic and pure.
pub trait EpochPayout: Send + Sync + std::fmt::Debug {
    /// A short name, recorded in outputs.
    fn name(&self) -> &'static str;
    /// Runs one epoch.
    fn epoch(&self, input: &EpochInput) -> EpochOutput;
}

/// The stand-in epoch: validator permits to the top `max_validators` UIDs by stake
/// (`alpha + tao_weight * root`, ties to the higher UID, never to zero stake); a fixed
/// incentive vector, equal among the UIDs that set no weights (the miners; the subnet owner's UID
/// excepted); dividends in proportion to stake among permitted UIDs that set weights (among all
/// permitted UIDs if none does). Emission: miners `E I_j / 2`, validators `E D_i / 2`; with no
/// miners, validators share all of E by stake (the chain's fallback). Bonds are not kept.
#[derive(Clone, Copy, Debug, Default)]
pub struct StakeSplit;

/// The epoch's stake of each UID: `alpha + tao_weight * root` in U96F32, as the chain weighs it.
pub fn weighted_stakes(input: &EpochInput) -> Vec<U96F32> {
    let tao_weight = U96F32::saturating_from_num(input.tao_weight)
        .checked_div(U96F32::saturating_from_num(u64::MAX))
        .unwrap_or_default();
    input
        .neurons
        .iter()
        .map(|n| {
            U96F32::saturating_from_num(n.alpha_stake.0)
                .saturating_add(U96F32::saturating_from_num(n.root_stake.0).saturating_mul(tao_weight))
        })
        .collect()
}

impl EpochPayout for StakeSplit {
    fn name(&self) -> &'static str {
        "stake_split"
    }

    fn epoch(&self, input: &EpochInput) -> EpochOutput {
        let n = input.neurons.len();
        let stakes = weighted_stakes(input);
        let zero = U96F32::saturating_from_num(0);
        // Top-k permits: sort by stake descending, ties to the higher uid.
        let mut order: Vec<usize> = (0..n).filter(|i| stakes[*i] > zero).collect();
        order.sort_by(|a, b| stakes[*b].cmp(&stakes[*a]).then(b.cmp(a)));
        order.truncate(usize::from(input.max_validators));
        let mut permit = vec![false; n];
        for i in &order {
            permit[*i] = true;
        }
        // The fixed incentive vector: equal among UIDs that set no weights (miners), the owner's
        // excepted. Dividends go to permitted UIDs that set weights (all permitted if none do).
        let is_miner: Vec<bool> =
            (0..n).map(|i| input.neurons[i].weights.is_empty() && input.owner_uid != Some(i as u16)).collect();
        let miners = is_miner.iter().filter(|m| **m).count() as u64;
        let weighted_permits: Vec<usize> =
            order.iter().copied().filter(|i| !input.neurons[*i].weights.is_empty()).collect();
        let dividend_takers = if weighted_permits.is_empty() { order.clone() } else { weighted_permits };
        let mut takes_dividends = vec![false; n];
        for i in &dividend_takers {
            takes_dividends[*i] = true;
        }
        let validator_stake = dividend_takers.iter().fold(zero, |acc, i| acc.saturating_add(stakes[*i]));
        let emission = U96F32::saturating_from_num(input.emission.0);
        let half = emission.checked_div(U96F32::saturating_from_num(2)).unwrap_or_default();
        let validator_pot = if miners == 0 { emission } else { half };
        let neurons = (0..n)
            .map(|i| {
                let mut out = EpochNeuronOutput { validator_permit: permit[i], ..EpochNeuronOutput::default() };
                if takes_dividends[i] {
                    let share = stakes[i].checked_div(validator_stake).unwrap_or_default();
                    out.dividends =
                        share.saturating_mul(U96F32::saturating_from_num(u16::MAX)).saturating_to_num::<u16>();
                    out.validator_emission = Rao(validator_pot.saturating_mul(share).saturating_to_num::<u64>());
                }
                if is_miner[i] {
                    out.incentive = (u64::from(u16::MAX) / miners.max(1)) as u16;
                    let each = half.checked_div(U96F32::saturating_from_num(miners)).unwrap_or_default();
                    out.server_emission = Rao(each.saturating_to_num::<u64>());
                }
                out
            })
            .collect();
        EpochOutput { neurons, consensus: Vec::new() }
    }
}

/// Yuma consensus (`sim::chain::yuma`, exact to the chain's `epoch_mechanism`) as the epoch.
///
/// The subnet's tempo, TaoWeight and `MaxAllowedValidators` come from the chain state in
/// each [`EpochInput`]; the other consensus parameters (kappa, bonds, liquid alpha,
/// commit-reveal, ...) from `params`. The chain model does not record weight commits, so with
/// commit-reveal on no weight is masked by a commit (a copier's delayed view is modelled by the
/// participants instead). Should the epoch reject its input (it cannot for the states the
/// chain model builds), the stand-in pays that epoch rather than stopping the run.
#[derive(Clone, Debug, Default)]
pub struct YumaPayout {
    /// Consensus parameters in the chain's storage units.
    pub params: super::yuma::EpochParams,
}

impl EpochPayout for YumaPayout {
    fn name(&self) -> &'static str {
        "yuma"
    }

    fn epoch(&self, input: &EpochInput) -> EpochOutput {
        use super::yuma;
        // The Yuma input and scratch memory are reused across epochs on this thread: the input
        // is overwritten field by field (`clone_from` keeps the rows' allocations), and the
        // workspace is reset by each epoch, so results never depend on what they held before.
        thread_local! {
            static BUFFERS: std::cell::RefCell<(yuma::EpochInput, yuma::EpochWorkspace)> =
                std::cell::RefCell::new(Default::default());
        }
        let result = BUFFERS.with(|buffers| {
            let (yuma_input, workspace) = &mut *buffers.borrow_mut();
            yuma_input.block = input.block;
            yuma_input.emission = input.emission;
            yuma_input.params.clone_from(&self.params);
            yuma_input.params.tempo = input.tempo;
            yuma_input.params.tao_weight = input.tao_weight;
            yuma_input.params.max_allowed_validators = input.max_validators;
            yuma_input.owner_uid = input.owner_uid;
            yuma_input.last_mechanism_step_block = input.last_epoch_block;
            yuma_input.epoch_index = 0;
            yuma_input.neurons.resize_with(input.neurons.len(), Default::default);
            for (to, from) in yuma_input.neurons.iter_mut().zip(&input.neurons) {
                to.alpha_stake = from.alpha_stake;
                to.root_stake = from.root_stake;
                to.last_update = from.last_update;
                to.registered_at = from.registered_at;
                to.validator_permit = from.validator_permit;
                to.weights.clear();
                to.weights.extend_from_slice(&from.weights);
                to.bonds.clear();
                to.bonds.extend_from_slice(&from.bonds);
                to.commits.clear();
            }
            yuma_input.consensus_hint.clear();
            yuma_input.consensus_hint.extend_from_slice(&input.consensus_hint);
            yuma::epoch_with(workspace, yuma_input).map(|out| (out, workspace.consensus().to_vec()))
        });
        match result {
            Ok((out, consensus)) => EpochOutput {
                neurons: out
                    .neurons
                    .into_iter()
                    .map(|n| EpochNeuronOutput {
                        incentive: n.incentive,
                        dividends: n.dividends,
                        server_emission: n.server_emission,
                        validator_emission: n.validator_emission,
                        validator_permit: n.validator_permit,
                        bonds: n.bonds,
                    })
                    .collect(),
                consensus,
            },
            Err(_) => StakeSplit.epoch(input),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validator(alpha: u64, root: u64) -> EpochNeuron<'static> {
        EpochNeuron { weights: vec![(2, 1)].into(), ..neuron(alpha, root) }
    }

    fn neuron(alpha: u64, root: u64) -> EpochNeuron<'static> {
        EpochNeuron {
            hotkey: HotkeyId(0),
            alpha_stake: Rao(alpha),
            root_stake: Rao(root),
            registered_at: 0,
            last_update: 0,
            validator_permit: false,
            weights: Cow::Borrowed(&[]),
            bonds: Cow::Borrowed(&[]),
        }
    }

    fn input(neurons: Vec<EpochNeuron<'static>>, max_validators: u16) -> EpochInput<'static> {
        EpochInput {
            netuid: 1,
            block: 100,
            emission: Rao(1_000_000),
            tempo: 360,
            last_epoch_block: 0,
            owner_uid: None,
            tao_weight: u64::MAX,
            max_validators,
            neurons,
            consensus_hint: Cow::Borrowed(&[]),
        }
    }

    #[test]
    fn stand_in_splits_half_by_stake_and_half_equally() {
        let out = StakeSplit.epoch(&input(vec![validator(300, 0), validator(0, 100), neuron(0, 0), neuron(0, 0)], 2));
        let permits: Vec<bool> = out.neurons.iter().map(|n| n.validator_permit).collect();
        assert_eq!(permits, [true, true, false, false]);
        // Stakes 300 and 1.0 * 100 = 100: validators get 375,000 and 125,000.
        assert_eq!(out.neurons[0].validator_emission, Rao(375_000));
        assert_eq!(out.neurons[1].validator_emission, Rao(125_000));
        assert_eq!(out.neurons[2].server_emission, Rao(250_000));
        assert_eq!(out.neurons[3].server_emission, Rao(250_000));
        let total: u64 = out.neurons.iter().map(|n| n.server_emission.0 + n.validator_emission.0).sum();
        assert!(total <= 1_000_000);
    }

    #[test]
    fn without_miners_validators_take_everything() {
        let out = StakeSplit.epoch(&input(vec![validator(1, 0), validator(3, 0)], 8));
        assert_eq!(out.neurons[0].validator_emission, Rao(250_000));
        assert_eq!(out.neurons[1].validator_emission, Rao(750_000));
        assert!(out.neurons.iter().all(|n| n.incentive == 0));
    }

    #[test]
    fn yuma_pays_miners_by_consensus_weight_where_the_stand_in_pays_equally() {
        // Two validators (permits from last epoch, weights set after the miners registered)
        // both weight miner 3 three times as much as miner 2.
        let weighted = |alpha| EpochNeuron {
            validator_permit: true,
            last_update: 50,
            weights: vec![(2, 21845), (3, 65535)].into(),
            ..neuron(alpha, 0)
        };
        let mut miners = vec![neuron(0, 0), neuron(0, 0)];
        for m in &mut miners {
            m.registered_at = 10;
        }
        let mut neurons = vec![weighted(600), weighted(400)];
        neurons.extend(miners);
        let epoch = input(neurons, 2);
        let yuma = YumaPayout::default().epoch(&epoch);
        let stand_in = StakeSplit.epoch(&epoch);
        assert!(yuma.neurons[3].server_emission.0 > 2 * yuma.neurons[2].server_emission.0, "{yuma:?}");
        assert_eq!(stand_in.neurons[2].server_emission, stand_in.neurons[3].server_emission);
        // The adapter is exactly Yuma on the same state.
        let direct = super::super::yuma::epoch(&super::super::yuma::EpochInput {
            block: 100,
            emission: Rao(1_000_000),
            params: super::super::yuma::EpochParams {
                tao_weight: u64::MAX,
                max_allowed_validators: 2,
                ..Default::default()
            },
            owner_uid: None,
            last_mechanism_step_block: 0,
            epoch_index: 0,
            neurons: epoch
                .neurons
                .iter()
                .map(|n| super::super::yuma::NeuronInput {
                    alpha_stake: n.alpha_stake,
                    root_stake: n.root_stake,
                    last_update: n.last_update,
                    registered_at: n.registered_at,
                    validator_permit: n.validator_permit,
                    weights: n.weights.to_vec(),
                    bonds: n.bonds.to_vec(),
                    commits: vec![],
                })
                .collect(),
            consensus_hint: Vec::new(),
        })
        .expect("valid input");
        for (a, b) in yuma.neurons.iter().zip(&direct.neurons) {
            assert_eq!(
                (a.incentive, a.dividends, a.server_emission, a.validator_emission),
                (b.incentive, b.dividends, b.server_emission, b.validator_emission)
            );
            assert_eq!(&a.bonds, &b.bonds);
        }
        let paid: u64 = yuma.neurons.iter().map(|n| n.server_emission.0 + n.validator_emission.0).sum();
        assert!(paid <= 1_000_000 && paid > 999_000, "{paid}");
    }
}
