//! A weight-aware epoch stand-in for participant studies until Yuma consensus
//! (`sim::chain::yuma`) is installed: Yuma's clipping without bonds' memory.
//!
//! With the chain's stand-in (`StakeSplit`) weights do not matter, so cabals, copiers and
//! sybils cannot be studied. This keeps Yuma's central mechanism (`run_epoch.rs`): a
//! stake-weighted median consensus per miner with kappa = 1/2 (`weighted_median_col`), weights
//! clipped to it, ranks and incentive from the clipped weights, and validators paid by
//! "instant bonds" (`B_ij = S_i W̄_ij / sum_k S_k W̄_kj`, i.e. bonds without the EMA),
//! `D_i = sum_j B_ij I_j`. Simplified: no bond EMA or liquid alpha, no weight age or
//! activity cutoff, self-weights masked. Fixed point (`I64F64`) throughout. Tests that rely
//! on it (cabal, copier, sybil capture) should be re-pointed at Yuma once it lands.

use crate::chain::Rao;
use crate::chain::epoch::{EpochInput, EpochNeuronOutput, EpochOutput, EpochPayout, StakeSplit, weighted_stakes};
use substrate_fixed::types::I64F64;

/// The clipped-consensus stand-in (see the module docs).
#[derive(Clone, Copy, Debug, Default)]
pub struct ClippedConsensus;

fn fx(v: u64) -> I64F64 {
    I64F64::saturating_from_num(v)
}

/// The stake-weighted median of `values` at kappa = 1/2: the smallest value whose cumulative
/// stake (ascending by value, ties by index) exceeds half the total. Zero for zero stake.
pub fn weighted_median(values: &[I64F64], stakes: &[I64F64]) -> I64F64 {
    let zero = I64F64::from_num(0);
    let total = stakes.iter().fold(zero, |a, s| a.saturating_add(*s));
    if total <= zero {
        return zero;
    }
    let half = total / I64F64::from_num(2);
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|a, b| values[*a].cmp(&values[*b]).then(a.cmp(b)));
    let mut acc = zero;
    for i in order {
        acc = acc.saturating_add(stakes[i]);
        if acc > half {
            return values[i];
        }
    }
    zero
}

impl EpochPayout for ClippedConsensus {
    fn name(&self) -> &'static str {
        "clipped_consensus"
    }

    fn epoch(&self, input: &EpochInput) -> EpochOutput {
        let n = input.neurons.len();
        let zero = I64F64::from_num(0);
        let stakes_raw = weighted_stakes(input);
        // Permits as the stand-in gives them: top-k by stake, ties to the higher UID.
        let mut order: Vec<usize> = (0..n).filter(|i| stakes_raw[*i] > 0).collect();
        order.sort_by(|a, b| stakes_raw[*b].cmp(&stakes_raw[*a]).then(b.cmp(a)));
        order.truncate(usize::from(input.max_validators));
        let validators: Vec<usize> = order.iter().copied().filter(|i| !input.neurons[*i].weights.is_empty()).collect();
        if validators.is_empty() {
            return StakeSplit.epoch(input);
        }
        // Normalised stake of the validators.
        let stake: Vec<I64F64> = validators.iter().map(|i| fx(stakes_raw[*i].saturating_to_num::<u64>())).collect();
        let stake_total = stake.iter().fold(zero, |a, s| a.saturating_add(*s));
        let s: Vec<I64F64> = stake.iter().map(|x| x.checked_div(stake_total).unwrap_or(zero)).collect();
        // Normalised weight rows, self-weight masked.
        let w: Vec<Vec<I64F64>> = validators
            .iter()
            .map(|i| {
                let mut row = vec![zero; n];
                for (uid, v) in input.neurons[*i].weights.iter() {
                    let u = usize::from(*uid);
                    if u < n && u != *i {
                        row[u] = fx(u64::from(*v));
                    }
                }
                let sum = row.iter().fold(zero, |a, x| a.saturating_add(*x));
                row.iter().map(|x| x.checked_div(sum).unwrap_or(zero)).collect()
            })
            .collect();
        // Consensus per column, clipped weights, ranks.
        let mut clipped = w.clone();
        let mut ranks = vec![zero; n];
        for j in 0..n {
            let column: Vec<I64F64> = w.iter().map(|row| row[j]).collect();
            let consensus = weighted_median(&column, &s);
            for (v, row) in clipped.iter_mut().enumerate() {
                row[j] = row[j].min(consensus);
                ranks[j] = ranks[j].saturating_add(s[v].saturating_mul(row[j]));
            }
        }
        let rank_total = ranks.iter().fold(zero, |a, r| a.saturating_add(*r));
        if rank_total <= zero {
            return StakeSplit.epoch(input);
        }
        let incentive: Vec<I64F64> = ranks.iter().map(|r| r.checked_div(rank_total).unwrap_or(zero)).collect();
        // Instant bonds and dividends.
        let mut dividends = vec![zero; validators.len()];
        for j in 0..n {
            if incentive[j] <= zero || ranks[j] <= zero {
                continue;
            }
            for v in 0..validators.len() {
                let bond = s[v].saturating_mul(clipped[v][j]).checked_div(ranks[j]).unwrap_or(zero);
                dividends[v] = dividends[v].saturating_add(bond.saturating_mul(incentive[j]));
            }
        }
        let dividend_total = dividends.iter().fold(zero, |a, d| a.saturating_add(*d));
        let emission = fx(input.emission.0);
        let half = emission / I64F64::from_num(2);
        let unit = fx(u64::from(u16::MAX));
        let mut out: Vec<EpochNeuronOutput> = (0..n)
            .map(|i| EpochNeuronOutput { validator_permit: order.contains(&i), ..EpochNeuronOutput::default() })
            .collect();
        for j in 0..n {
            out[j].incentive = incentive[j].saturating_mul(unit).saturating_to_num::<u16>();
            out[j].server_emission = Rao(half.saturating_mul(incentive[j]).saturating_to_num::<u64>());
        }
        for (v, i) in validators.iter().enumerate() {
            let share = dividends[v].checked_div(dividend_total).unwrap_or(zero);
            out[*i].dividends = share.saturating_mul(unit).saturating_to_num::<u16>();
            out[*i].validator_emission = Rao(half.saturating_mul(share).saturating_to_num::<u64>());
        }
        EpochOutput { neurons: out, consensus: Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::epoch::EpochNeuron;
    use crate::chain::subnet::HotkeyId;

    fn neuron(alpha: u64, weights: Vec<(u16, u16)>) -> EpochNeuron<'static> {
        EpochNeuron {
            hotkey: HotkeyId(0),
            alpha_stake: Rao(alpha),
            root_stake: Rao(0),
            registered_at: 0,
            last_update: 0,
            validator_permit: false,
            weights: weights.into(),
            bonds: Vec::new().into(),
        }
    }

    fn input(neurons: Vec<EpochNeuron<'static>>) -> EpochInput<'static> {
        EpochInput {
            netuid: 1,
            block: 100,
            emission: Rao(1_000_000),
            tempo: 360,
            last_epoch_block: 0,
            owner_uid: None,
            tao_weight: 0,
            max_validators: 64,
            neurons,
            consensus_hint: Vec::new().into(),
        }
    }

    #[test]
    fn a_minority_cabal_is_clipped_and_a_majority_cabal_wins() {
        // Honest validators (uids 0, 1) weight miner 3; the cabal (uid 2) weights miner 4.
        let honest = vec![(3, u16::MAX)];
        let cabal = vec![(4, u16::MAX)];
        let minority = ClippedConsensus.epoch(&input(vec![
            neuron(40, honest.clone()),
            neuron(30, honest.clone()),
            neuron(30, cabal.clone()),
            neuron(0, vec![]),
            neuron(0, vec![]),
        ]));
        assert_eq!(minority.neurons[3].server_emission, Rao(500_000), "all incentive to the honest choice");
        assert_eq!(minority.neurons[4].server_emission, Rao(0), "the cabal's miner is clipped to zero");
        assert_eq!(minority.neurons[2].validator_emission, Rao(0), "the cabal validator earns nothing");
        let majority = ClippedConsensus.epoch(&input(vec![
            neuron(20, honest.clone()),
            neuron(20, honest),
            neuron(60, cabal),
            neuron(0, vec![]),
            neuron(0, vec![]),
        ]));
        assert_eq!(majority.neurons[4].server_emission, Rao(500_000));
        assert_eq!(majority.neurons[2].validator_emission, Rao(500_000));
        let total: u64 = majority.neurons.iter().map(|n| n.server_emission.0 + n.validator_emission.0).sum();
        assert!(total <= 1_000_000);
    }

    #[test]
    fn without_weights_it_is_the_chain_stand_in() {
        let i = input(vec![neuron(10, vec![]), neuron(0, vec![])]);
        assert_eq!(ClippedConsensus.epoch(&i), StakeSplit.epoch(&i));
    }

    #[test]
    fn weighted_median_takes_the_stake_majority() {
        let v = |x: f64| I64F64::from_num(x);
        assert_eq!(weighted_median(&[v(0.1), v(0.9), v(0.5)], &[v(0.2), v(0.5), v(0.3)]), v(0.9));
        assert_eq!(weighted_median(&[v(0.1), v(0.9)], &[v(0.5), v(0.5)]), v(0.9), "exactly half is no majority");
        assert_eq!(weighted_median(&[], &[]), v(0.0));
    }
}
