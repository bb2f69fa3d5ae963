//! Yuma epoch benches: one subnet at full size, and every subnet's epoch in one block.
//!
//! The subnet: 256 uids, 64 validators each weighting all 192 miners (random weights as
//! `set_weights` stores them), stakes spread over three orders of magnitude, bonds from eight
//! earlier epochs (the steady state). Its matrices are full, so the epoch takes the dense
//! layout; `*_sparse_layout` runs the same subnets on the sparse one; `yuma3_consensus_hint`
//! starts the medians from the previous epoch's consensus, as the chain model does between two
//! weight settings. `cargo bench --bench epoch`.

use criterion::{Criterion, criterion_group, criterion_main};
use rayon::prelude::*;
use sim::chain::Rao;
use sim::chain::yuma::math::vec_u16_max_upscale_to_u16;
use sim::chain::yuma::{EpochInput, EpochParams, EpochPath, EpochWorkspace, NeuronInput, epoch_with};
use std::hint::black_box;

const UIDS: usize = 256;
const VALIDATORS: usize = 64;
const SUBNETS: u64 = 128;

/// A full subnet in its steady state (bonds built over eight epochs).
fn subnet(seed: u64, yuma3: bool, liquid_alpha: bool) -> EpochInput {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let params = EpochParams { yuma3, liquid_alpha, commit_reveal: false, ..EpochParams::default() };
    let mut input = EpochInput { block: 10_000, emission: Rao(147_600_000_000), params, ..EpochInput::default() };
    for uid in 0..UIDS {
        let validator = uid < VALIDATORS;
        let mut neuron = NeuronInput {
            alpha_stake: Rao(if validator { 1_000_000_000_000 * (1 + next() % 1_000) } else { next() % 1_000_000_000 }),
            root_stake: Rao(if validator { next() % 10_000_000_000_000_000 } else { 0 }),
            registered_at: next() % 5_000,
            validator_permit: validator,
            ..NeuronInput::default()
        };
        if validator {
            let raw: Vec<u16> = (VALIDATORS..UIDS).map(|_| (next() % 65_536) as u16).collect();
            neuron.weights = (VALIDATORS as u16..UIDS as u16).zip(vec_u16_max_upscale_to_u16(&raw)).collect();
        }
        input.neurons.push(neuron);
    }
    let mut ws = EpochWorkspace::default();
    for _ in 0..8 {
        for neuron in &mut input.neurons {
            neuron.last_update = input.block - 10;
        }
        if let Ok(out) = epoch_with(&mut ws, &input) {
            input.apply_output(&out);
        }
        input.block += 360;
    }
    for neuron in &mut input.neurons {
        neuron.last_update = input.block - 10;
    }
    input
}

fn one_subnet(c: &mut Criterion) {
    let mut group = c.benchmark_group("epoch_256_uids_64x192");
    let cases = [
        ("classic", false, false, EpochPath::Auto),
        ("yuma3", true, false, EpochPath::Auto),
        ("yuma3_liquid_alpha", true, true, EpochPath::Auto),
        // The same subnets on the sparse layout (what `Auto` picks for sparse weights).
        ("classic_sparse_layout", false, false, EpochPath::Sparse),
        ("yuma3_sparse_layout", true, false, EpochPath::Sparse),
    ];
    for (name, yuma3, liquid, path) in cases {
        let input = subnet(1, yuma3, liquid);
        let mut ws = EpochWorkspace::with_path(path);
        group.bench_function(name, |b| b.iter(|| epoch_with(&mut ws, black_box(&input))));
    }
    // Between two weight settings (a validator's day): the medians start from the previous
    // epoch's consensus, as the chain model passes it.
    let mut input = subnet(1, true, false);
    let mut ws = EpochWorkspace::default();
    let _ = epoch_with(&mut ws, &input);
    input.consensus_hint = ws.consensus().to_vec();
    group.bench_function("yuma3_consensus_hint", |b| b.iter(|| epoch_with(&mut ws, black_box(&input))));
    group.finish();
}

fn all_subnets(c: &mut Criterion) {
    let inputs: Vec<EpochInput> = (0..SUBNETS).map(|s| subnet(s + 1, true, false)).collect();
    let mut group = c.benchmark_group("epoch_128_subnets_yuma3");
    group.sample_size(20);
    let mut ws = EpochWorkspace::default();
    group.bench_function("serial", |b| b.iter(|| inputs.iter().map(|x| epoch_with(&mut ws, x)).collect::<Vec<_>>()));
    group.bench_function("rayon", |b| {
        b.iter(|| inputs.par_iter().map_init(EpochWorkspace::default, epoch_with).collect::<Vec<_>>())
    });
    group.finish();
}

criterion_group!(benches, one_subnet, all_subnets);
criterion_main!(benches);
