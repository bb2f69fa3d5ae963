//! The staged epoch: gather the input into fixed-point vectors and sparse matrices, compute
//! consensus, incentive, bonds and dividends, and turn them into stored `u16` values and rao.
//!
//! Follows `epoch_mechanism` in `pallets/subtensor/src/epoch/run_epoch.rs` step by step; the
//! comments name the chain's variables. The masks the chain applies one after another to the
//! weight matrix (permit rows, diagonal, outdated, commit-reveal) are all removals of entries,
//! so they are applied in one pass while the matrix is gathered; likewise the bond mask, and
//! input validation rides along the same passes.
//!
//! [`epoch_with`] also fuses a few consecutive chain steps into single passes (clip + trust +
//! ranks; Yuma3's normalised-bond dot product; classic bonds' normalise + dividends +
//! max-upscale) and skips the copy the chain makes of the weights for bonds when the bonds
//! penalty is 0 or 1. Where the weight and bond matrices are mostly full, it lays them out
//! densely instead (module `dense`; see [`EpochPath`]), with the same operations entry by entry.
//! [`epoch_reference`] runs the chain's steps one by one; property tests check every path
//! against it bit for bit.

mod dense;

use super::fixed;
use super::math::{
    ColumnScratch, MedianScratch, ONE, ZERO, alpha_sigmoid, col_clip_sparse, col_clip_trust_rank_sparse,
    col_normalized_row_dot_sparse, fixed_proportion_to_u16, fixed64_to_fixed32, fixed64_to_u64,
    inplace_col_max_upscale_sparse, inplace_col_normalize_dividends_max_upscale_sparse, inplace_col_normalize_sparse,
    inplace_mask_vector, inplace_normalize, inplace_normalize_64, inplace_normalize_using_sum,
    inplace_row_normalize_sparse, interpolate_sparse, is_topk_nonzero, is_zero, mat_ema_alpha_sparse, mat_ema_sparse,
    mat_vec_mul_sparse, matmul_sparse, matmul_transpose_sparse, merge_lookup_row, row_hadamard_sparse, row_sum_sparse,
    safe_div, safe_div_64, sum, u16_proportion_to_fixed, u16_to_fixed, vec_mul, weighted_median_col_sparse,
};
use super::sparse::SparseMatrix;
use super::{EpochError, EpochInput, EpochOutput, NeuronOutput};
use crate::chain::Rao;
use substrate_fixed::types::{I32F32, I64F64, U96F32};

/// Reusable buffers for [`epoch_with`]: keep one per thread and an epoch allocates only its
/// output. Holds no state between epochs; any workspace gives the same results.
#[derive(Clone, Debug, Default)]
pub struct EpochWorkspace {
    inactive: Vec<bool>,
    forbids: Vec<bool>,
    new_permits: Vec<bool>,
    last_update: Vec<u64>,
    registered: Vec<u64>,
    commit_blocks: Vec<u64>,
    total_stake: Vec<I64F64>,
    filtered_stake: Vec<I64F64>,
    stake: Vec<I32F32>,
    active_stake: Vec<I32F32>,
    consensus: Vec<I32F32>,
    validator_trust: Vec<I32F32>,
    incentive: Vec<I32F32>,
    dividends: Vec<I32F32>,
    bonds_per_validator: Vec<I32F32>,
    combined: Vec<I32F32>,
    server_share: Vec<I32F32>,
    validator_share: Vec<I32F32>,
    col_scratch: Vec<I32F32>,
    columns: ColumnScratch,
    dense_weights: Vec<I32F32>,
    dense_bonds: Vec<I32F32>,
    alpha_memo: Vec<Option<I32F32>>,
    pair_scratch: Vec<(I32F32, I32F32)>,
    median: MedianScratch,
    weights: SparseMatrix,
    clipped: SparseMatrix,
    weights_for_bonds: SparseMatrix,
    bonds: SparseMatrix,
    bonds_delta: SparseMatrix,
    ema_bonds: SparseMatrix,
    ema_bonds_norm: SparseMatrix,
    /// Row stamps for duplicate detection: `seen[j] == stamp` while row `stamp` lists `j`.
    seen: Vec<u32>,
    stamp: u32,
    /// The dense path's buffers, and whether the last epoch took it.
    dense: dense::DenseScratch,
    dense_used: bool,
    /// Which path [`epoch_with`] takes.
    path: EpochPath,
    /// Run the chain's steps one by one (see [`epoch_reference`]).
    reference: bool,
}

/// How [`epoch_with`] lays out the weight and bond matrices. Every path gives the same
/// results bit for bit; the choice only changes speed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EpochPath {
    /// Dense where the matrices are mostly full (at most two slots per stored weight or bond
    /// over the rows and columns in use), sparse otherwise.
    #[default]
    Auto,
    /// Always the sparse rows.
    Sparse,
    /// Dense wherever the dense path applies (not Yuma3 with liquid alpha), however sparse the
    /// matrices: for tests and benchmarks.
    Dense,
    /// As `Dense`, but every step in the fixed-point crate's saturating operations, as for
    /// values outside `[0, 1]`, instead of plain integer arithmetic: for tests.
    DenseSaturating,
}

impl EpochWorkspace {
    /// A workspace whose epochs take `path`.
    pub fn with_path(path: EpochPath) -> Self {
        EpochWorkspace { path, ..EpochWorkspace::default() }
    }

    /// The consensus (raw `I32F32`, by uid) of the last epoch that ran on this workspace
    /// without error: the next epoch's [`EpochInput::consensus_hint`] for the same subnet.
    pub fn consensus(&self) -> &[I32F32] {
        &self.consensus
    }
}

/// Runs one epoch with reusable buffers (see [`super::epoch`]); validates the input on the way.
pub fn epoch_with(ws: &mut EpochWorkspace, input: &EpochInput) -> Result<EpochOutput, EpochError> {
    ws.reference = false;
    input.validate_shape()?;
    compute(ws, input)
}

/// Runs one epoch as the chain's steps one by one, without [`epoch_with`]'s fused passes:
/// slower, kept to check the fused path (same results, bit for bit).
pub fn epoch_reference(input: &EpochInput) -> Result<EpochOutput, EpochError> {
    input.validate()?;
    let mut ws = EpochWorkspace { reference: true, ..EpochWorkspace::default() };
    compute(&mut ws, input)
}

/// Which matrix the bonds are computed from (chain: `weights_for_bonds`).
#[derive(Clone, Copy)]
enum BondWeights {
    /// Penalty 0: the weights.
    Weights,
    /// Penalty 1: the clipped weights.
    Clipped,
    /// In between (or the reference path): `ws.weights_for_bonds`.
    Interpolated,
}

impl EpochWorkspace {
    /// Starts a new row for duplicate detection.
    fn next_stamp(&mut self, n: usize) -> u32 {
        next_stamp(&mut self.seen, &mut self.stamp, n)
    }
}

/// Starts a new row for duplicate detection in `seen` (sized `n`).
fn next_stamp(seen: &mut Vec<u32>, stamp: &mut u32, n: usize) -> u32 {
    if seen.len() != n || *stamp == u32::MAX {
        seen.clear();
        seen.resize(n, 0);
        *stamp = 0;
    }
    *stamp += 1;
    *stamp
}

/// Checks one weight or bond entry: an existing uid, not yet listed in this row.
#[inline]
fn check_entry(
    seen: &mut [u32],
    stamp: u32,
    uid: usize,
    field: &'static str,
    index: usize,
    target: u16,
) -> Result<(), EpochError> {
    let n = seen.len();
    match seen.get_mut(usize::from(target)) {
        None => Err(EpochError::UnknownUid { uid, field, index, target, n }),
        Some(mark) if *mark == stamp => Err(EpochError::DuplicateUid { uid, field, index, target }),
        Some(mark) => {
            *mark = stamp;
            Ok(())
        }
    }
}

/// The epoch; `input` has a valid shape (size, owner, parameters), rows are checked here.
fn compute(ws: &mut EpochWorkspace, input: &EpochInput) -> Result<EpochOutput, EpochError> {
    let n = input.neurons.len();
    let p = &input.params;
    let block = input.block;
    let owner = input.owner_uid.map(usize::from);

    // == Active & updated ==
    let cutoff = p.activity_cutoff_blocks();
    ws.last_update.clear();
    ws.last_update.extend(input.neurons.iter().map(|x| x.last_update));
    ws.registered.clear();
    ws.registered.extend(input.neurons.iter().map(|x| x.registered_at));
    ws.inactive.clear();
    ws.inactive.extend(ws.last_update.iter().map(|&u| u.saturating_add(cutoff) < block));

    // == Stake == (get_stake_weights_for_network, then the threshold filter)
    let tao_weight = I64F64::saturating_from_num(
        U96F32::saturating_from_num(p.tao_weight)
            .checked_div(U96F32::saturating_from_num(u64::MAX))
            .unwrap_or(U96F32::from_bits(0)),
    );
    ws.total_stake.clear();
    ws.total_stake.extend(input.neurons.iter().map(|x| {
        I64F64::saturating_from_num(x.alpha_stake.0)
            .saturating_add(I64F64::saturating_from_num(x.root_stake.0).saturating_mul(tao_weight))
    }));
    ws.filtered_stake.clear();
    ws.filtered_stake.extend(ws.total_stake.iter().enumerate().map(|(uid, &s)| {
        if owner != Some(uid) && fixed64_to_u64(s) < p.stake_threshold { I64F64::from_bits(0) } else { s }
    }));
    inplace_normalize_64(&mut ws.filtered_stake);
    ws.stake.clear();
    ws.stake.extend(ws.filtered_stake.iter().map(|&s| fixed64_to_fixed32(s)));

    // == Validator permits == (stored permits, owner forced on; new top-k permits)
    ws.forbids.clear();
    ws.forbids.extend(input.neurons.iter().enumerate().map(|(uid, x)| !(x.validator_permit || owner == Some(uid))));
    is_topk_nonzero(&ws.stake, usize::from(p.max_allowed_validators), &mut ws.new_permits);
    if let Some(o) = owner {
        ws.new_permits[o] = true;
    }

    // == Active stake ==
    ws.active_stake.clone_from(&ws.stake);
    inplace_mask_vector(&ws.inactive, &mut ws.active_stake);
    inplace_mask_vector(&ws.forbids, &mut ws.active_stake);
    inplace_normalize(&mut ws.active_stake);

    // == Weights == (permit rows, diagonal except the owner, outdated, commit-reveal; normalise)
    ws.commit_blocks.clear();
    if p.commit_reveal {
        ws.commit_blocks.extend(input.neurons.iter().map(|x| {
            x.commits
                .iter()
                .filter(|c| input.epoch_index <= c.epoch.saturating_add(p.reveal_period))
                .map(|c| c.block)
                .min()
                .unwrap_or(u64::MAX)
        }));
    }
    let kappa = u16_proportion_to_fixed(p.kappa);
    let bonds_penalty = u16_proportion_to_fixed(p.bonds_penalty);
    // Bonds to miners registered since the last distributed epoch are dropped.
    let last_tempo = if input.last_mechanism_step_block == 0 {
        block.saturating_sub(u64::from(p.tempo))
    } else {
        input.last_mechanism_step_block.saturating_add(1)
    };
    // EMA alpha: 1 - bonds_moving_average / 1e6.
    let moving_average =
        safe_div_64(I64F64::saturating_from_num(p.bonds_moving_average), I64F64::saturating_from_num(1_000_000u64));
    let alpha = ONE.saturating_sub(I32F32::saturating_from_num(moving_average));
    let plan = match ws.path {
        _ if ws.reference => None,
        EpochPath::Auto => dense::plan(input, false),
        EpochPath::Dense | EpochPath::DenseSaturating => dense::plan(input, true),
        EpochPath::Sparse => None,
    };
    ws.dense_used = false;
    if let Some(b) = plan {
        let saturating = ws.path == EpochPath::DenseSaturating;
        ws.dense_used = dense::core(ws, input, b, kappa, bonds_penalty, last_tempo, alpha, saturating)?;
    }
    if !ws.dense_used {
        sparse_core(ws, input, kappa, bonds_penalty, last_tempo, alpha)?;
    }

    // == Emission ==
    ws.combined.clear();
    ws.combined.extend(ws.incentive.iter().zip(&ws.dividends).map(|(i, d)| i.saturating_add(*d)));
    let emission_sum = sum(&ws.combined);
    ws.server_share.clone_from(&ws.incentive);
    ws.validator_share.clone_from(&ws.dividends);
    inplace_normalize_using_sum(&mut ws.server_share, emission_sum);
    inplace_normalize_using_sum(&mut ws.validator_share, emission_sum);
    inplace_normalize(&mut ws.combined);
    if emission_sum == ZERO {
        // No weights set, outdated weights or self-weights only: validators share by stake.
        let fallback = if is_zero(&ws.active_stake) { &ws.stake } else { &ws.active_stake };
        ws.validator_share.clone_from(fallback);
        ws.combined.clone_from(fallback);
    }
    let to_rao = |share: I32F32| Rao(share_of_rao(share, input.emission.0));

    let neurons = (0..n)
        .map(|i| {
            let permit = ws.new_permits[i];
            let bonds = if !permit {
                Vec::new()
            } else if ws.dense_used {
                ws.dense.take_bond_row(i)
            } else {
                let (cols, vals) = ws.ema_bonds.row(i);
                cols.iter().zip(vals).map(|(&j, &b)| (j, fixed_proportion_to_u16(b))).collect()
            };
            NeuronOutput {
                active: !ws.inactive[i],
                stake: Rao(ws.total_stake[i].saturating_to_num::<u64>()),
                stake_weight: fixed_proportion_to_u16(ws.stake[i]),
                consensus: fixed_proportion_to_u16(ws.consensus[i]),
                incentive: fixed_proportion_to_u16(ws.incentive[i]),
                dividends: fixed_proportion_to_u16(ws.dividends.get(i).copied().unwrap_or(ZERO)),
                validator_trust: fixed_proportion_to_u16(ws.validator_trust[i]),
                server_emission: to_rao(ws.server_share[i]),
                validator_emission: to_rao(ws.validator_share.get(i).copied().unwrap_or(ZERO)),
                emission: to_rao(ws.combined.get(i).copied().unwrap_or(ZERO)),
                validator_permit: permit,
                bonds,
            }
        })
        .collect();
    Ok(EpochOutput { block, neurons })
}

/// `share x emission` in rao as the chain computes it, `I96F32::saturating_from_num(share)
/// .saturating_mul(I96F32::saturating_from_num(emission)).saturating_to_num::<u64>()`, without
/// 128-bit fixed-point arithmetic: the share's raw bits `s` times the emission's `e 2^32` is
/// `s e 2^32`, which the crate divides back by `2^32` exactly and never overflows (`|s e| <
/// 2^127`); the conversion floors `s e / 2^32` and saturates to `0 ..= u64::MAX`.
fn share_of_rao(share: I32F32, emission: u64) -> u64 {
    let s = share.to_bits();
    if s <= 0 {
        return 0;
    }
    u64::try_from((u128::from(s as u64) * u128::from(emission)) >> 32).unwrap_or(u64::MAX)
}

/// The sparse path from the weights to the dividends: gathers and masks the weight rows,
/// then consensus, trust, incentive, bonds and dividends into the workspace.
fn sparse_core(
    ws: &mut EpochWorkspace,
    input: &EpochInput,
    kappa: I32F32,
    bonds_penalty: I32F32,
    last_tempo: u64,
    alpha: I32F32,
) -> Result<(), EpochError> {
    let n = input.neurons.len();
    let columns = n as u16; // validated: n <= u16::MAX
    let p = &input.params;
    let owner = input.owner_uid.map(usize::from);
    ws.weights.clear();
    for (i, neuron) in input.neurons.iter().enumerate() {
        let stamp = ws.next_stamp(n);
        let allowed = !ws.forbids[i];
        let updated = ws.last_update[i];
        let committed = ws.commit_blocks.get(i).copied().unwrap_or(u64::MAX);
        for (index, &(j, w)) in neuron.weights.iter().enumerate() {
            check_entry(&mut ws.seen, stamp, i, "weights", index, j)?;
            let jj = usize::from(j);
            let self_weight = i == jj && owner != Some(i);
            let registered = ws.registered[jj];
            if allowed && !self_weight && updated > registered && committed >= registered {
                ws.weights.push(j, I32F32::saturating_from_num(w));
            }
        }
        ws.weights.end_row();
    }
    inplace_row_normalize_sparse(&mut ws.weights);

    // == Consensus, validator trust ==
    weighted_median_col_sparse(&ws.active_stake, &ws.weights, columns, kappa, &mut ws.median, &mut ws.consensus);
    if ws.reference {
        col_clip_sparse(&ws.weights, &ws.consensus, &mut ws.clipped);
        row_sum_sparse(&ws.clipped, &mut ws.validator_trust);
        matmul_sparse(&ws.clipped, &ws.active_stake, columns, &mut ws.incentive);
    } else {
        col_clip_trust_rank_sparse(
            &ws.weights,
            &ws.consensus,
            &ws.active_stake,
            columns,
            &mut ws.clipped,
            &mut ws.validator_trust,
            &mut ws.incentive,
        );
    }

    // == Ranks, incentive ==
    inplace_normalize(&mut ws.incentive);

    // == Bonds and dividends ==
    let bond_weights = if bonds_penalty == ZERO && !ws.reference {
        BondWeights::Weights
    } else if bonds_penalty == ONE && !ws.reference {
        BondWeights::Clipped
    } else {
        interpolate_sparse(
            &ws.weights,
            &ws.clipped,
            columns,
            bonds_penalty,
            &mut ws.weights_for_bonds,
            &mut ws.pair_scratch,
        );
        BondWeights::Interpolated
    };
    // Classic bonds are read raw (`get_bonds_sparse`), Yuma3 bonds as `b / 65535`
    // (`get_bonds_sparse_fixed_proportion`, i.e. `fixed_to_fixed_u16_proportion`).
    let u16_max = fixed::Divisor::new(I32F32::saturating_from_num(u16::MAX));
    ws.bonds.clear();
    for (i, neuron) in input.neurons.iter().enumerate() {
        let stamp = ws.next_stamp(n);
        for (index, &(j, b)) in neuron.bonds.iter().enumerate() {
            check_entry(&mut ws.seen, stamp, i, "bonds", index, j)?;
            if last_tempo > ws.registered[usize::from(j)] {
                let v = u16_to_fixed(b);
                ws.bonds.push(j, if p.yuma3 { u16_max.safe_div(v) } else { v });
            }
        }
        ws.bonds.end_row();
    }

    if p.yuma3 {
        yuma3_bonds(ws, input, bond_weights, alpha);
        // Dividends: (column-normalised EMA . incentive) x active stake, normalised.
        if ws.reference {
            ws.ema_bonds_norm.copy_from(&ws.ema_bonds);
            inplace_col_normalize_sparse(&mut ws.ema_bonds_norm, columns, &mut ws.columns);
            mat_vec_mul_sparse(&ws.ema_bonds_norm, &ws.incentive, &mut ws.bonds_delta);
            row_sum_sparse(&ws.bonds_delta, &mut ws.bonds_per_validator);
        } else {
            col_normalized_row_dot_sparse(
                &ws.ema_bonds,
                &ws.incentive,
                columns,
                &mut ws.columns,
                &mut ws.bonds_per_validator,
            );
        }
        vec_mul(&ws.bonds_per_validator, &ws.active_stake, &mut ws.dividends);
        inplace_normalize(&mut ws.dividends);
    } else {
        inplace_col_normalize_sparse(&mut ws.bonds, columns, &mut ws.columns);
        let EpochWorkspace { weights, clipped, weights_for_bonds, active_stake, bonds_delta, .. } = ws;
        let wfb = match bond_weights {
            BondWeights::Weights => &*weights,
            BondWeights::Clipped => &*clipped,
            BondWeights::Interpolated => &*weights_for_bonds,
        };
        row_hadamard_sparse(wfb, active_stake, bonds_delta);
        inplace_col_normalize_sparse(&mut ws.bonds_delta, columns, &mut ws.columns);
        mat_ema_sparse(&ws.bonds_delta, &ws.bonds, alpha, &mut ws.ema_bonds, &mut ws.col_scratch);
        if ws.reference {
            inplace_col_normalize_sparse(&mut ws.ema_bonds, columns, &mut ws.columns);
            matmul_transpose_sparse(&ws.ema_bonds, &ws.incentive, &mut ws.dividends);
            inplace_col_max_upscale_sparse(&mut ws.ema_bonds, columns, &mut ws.columns);
        } else {
            inplace_col_normalize_dividends_max_upscale_sparse(
                &mut ws.ema_bonds,
                &ws.incentive,
                columns,
                &mut ws.columns,
                &mut ws.dividends,
            );
        }
        inplace_normalize(&mut ws.dividends);
    }

    Ok(())
}

/// Yuma3 bonds into `ws.ema_bonds` (chain: `compute_bonds_sparse`): liquid alpha when it is on
/// and some consensus is non-zero, else one alpha for every entry.
fn yuma3_bonds(ws: &mut EpochWorkspace, input: &EpochInput, bond_weights: BondWeights, alpha: I32F32) {
    let p = &input.params;
    let liquid = p.liquid_alpha && ws.consensus.iter().any(|&c| c != ZERO);
    let EpochWorkspace {
        weights,
        clipped,
        weights_for_bonds,
        bonds,
        ema_bonds,
        consensus,
        dense_weights,
        dense_bonds,
        alpha_memo,
        col_scratch,
        ..
    } = ws;
    let wfb: &SparseMatrix = match bond_weights {
        BondWeights::Weights => weights,
        BondWeights::Clipped => clipped,
        BondWeights::Interpolated => weights_for_bonds,
    };
    if !liquid {
        mat_ema_sparse(wfb, bonds, alpha, ema_bonds, col_scratch);
        return;
    }
    // compute_liquid_alpha_values_sparse builds a dense alpha for every (i, j); only the
    // entries the EMA reads are needed, so they are computed on demand, row by row, from the
    // weight and bond each (i, j) is seen with by the chain's cursor walk.
    let steepness = I32F32::saturating_from_num(p.alpha_sigmoid_steepness);
    let low = safe_div(I32F32::saturating_from_num(p.alpha_low), I32F32::saturating_from_num(u16::MAX));
    let high = safe_div(I32F32::saturating_from_num(p.alpha_high), I32F32::saturating_from_num(u16::MAX));
    let columns = consensus.len();
    let mut current_row = usize::MAX;
    let alpha_of = |i: usize, j: u16| -> Option<I32F32> {
        let j = usize::from(j);
        if j >= columns {
            return None;
        }
        if i != current_row {
            current_row = i;
            let (c, v) = wfb.row(i);
            merge_lookup_row(c, v, columns, dense_weights);
            let (c, v) = bonds.row(i);
            merge_lookup_row(c, v, columns, dense_bonds);
            alpha_memo.clear();
            alpha_memo.resize(columns, None);
        }
        let a = *alpha_memo[j]
            .get_or_insert_with(|| alpha_sigmoid(consensus[j], dense_weights[j], dense_bonds[j], low, high, steepness));
        Some(a)
    };
    mat_ema_alpha_sparse(wfb, bonds, alpha_of, ema_bonds, col_scratch);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::chain::yuma::{EpochParams, NeuronInput, epoch};
    use substrate_fixed::types::I96F32;

    fn subnet(n: u16, yuma3: bool) -> EpochInput {
        let neurons = (0..n)
            .map(|uid| NeuronInput {
                alpha_stake: Rao(u64::from(uid % 3) * 1_000 + 1),
                last_update: 50,
                validator_permit: uid % 3 == 0,
                weights: (0..n).filter(|j| j % 2 == 1 && *j != uid).map(|j| (j, 1 + j * 97)).collect(),
                bonds: (0..n).filter(|j| j % 4 == 1).map(|j| (j, 30_000 + j)).collect(),
                ..NeuronInput::default()
            })
            .collect();
        EpochInput {
            block: 100,
            emission: Rao(1_000_000_000),
            params: EpochParams { yuma3, commit_reveal: false, ..EpochParams::default() },
            neurons,
            ..EpochInput::default()
        }
    }

    proptest::proptest! {
        #[test]
        fn share_of_rao_is_the_chains_i96f32_product(
            bits in proptest::prop_oneof![proptest::prelude::any::<i64>(), 0i64..=1 << 32, proptest::strategy::Just(i64::MAX)],
            emission in proptest::prop_oneof![proptest::prelude::any::<u64>(), proptest::strategy::Just(u64::MAX), 0u64..1 << 40],
        ) {
            let share = I32F32::from_bits(bits);
            let want = I96F32::saturating_from_num(share)
                .saturating_mul(I96F32::saturating_from_num(emission))
                .saturating_to_num::<u64>();
            proptest::prop_assert_eq!(share_of_rao(share, emission), want);
        }
    }

    #[test]
    fn a_reused_workspace_gives_the_results_of_a_fresh_one() {
        let mut ws = EpochWorkspace::default();
        for (n, yuma3) in [(40, true), (7, false), (40, false), (3, true), (7, true)] {
            let input = subnet(n, yuma3);
            let reused = epoch_with(&mut ws, &input).unwrap();
            assert_eq!(reused, epoch(&input).unwrap(), "n = {n}, yuma3 = {yuma3}");
            assert_eq!(reused, epoch_reference(&input).unwrap(), "n = {n}, yuma3 = {yuma3}");
            assert!(reused.neurons.iter().any(|x| x.incentive > 0), "weights count");
        }
        // A duplicate found after many rows still fails, with the workspace warm.
        let mut input = subnet(40, true);
        input.neurons[39].weights.push((1, 5));
        assert!(matches!(
            epoch_with(&mut ws, &input),
            Err(EpochError::DuplicateUid { uid: 39, field: "weights", target: 1, .. })
        ));
    }
}
