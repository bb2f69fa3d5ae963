//! The per-block chain step for 128 subnets: registration prices, the issuance-driven
//! emission, the coinbase (shares, capped injection, chain buys, alpha out, pending
//! emission), the epoch drain and the price EMAs. `coinbase/128` is the block alone (its due
//! epochs are paid outside the timing); `block_with_epochs/128` adds the stand-in epoch payouts.
//!
//! Run: `cargo bench --bench coinbase -- --warm-up-time 1 --measurement-time 3`

use criterion::{Criterion, criterion_group, criterion_main};
use sim::chain::emission::EmissionSchedule;
use sim::chain::genesis::{Genesis, Shape, build};
use sim::chain::{ChainParams, ChainState, Rao};
use std::hint::black_box;
use std::time::{Duration, Instant};

fn network(subnets: u16) -> ChainState {
    let g = Genesis {
        initial_issuance: Rao::from_tao(10_800_000),
        schedule: EmissionSchedule::default(),
        params: ChainParams { tao_weight: 3_320_413_933_267_719_168, ..ChainParams::default() },
        subnets,
        tao_reserve: Rao::from_tao(30_000),
        price_max: 0.12,
        price_min: 0.004,
        staked_alpha_ratio: 1.5,
        neurons_per_subnet: 64,
        validators: 8,
        root_stake: Rao::from_tao(3_000_000),
        subnet_age_blocks: 300_000,
        shape: Shape::Ladder,
    };
    let mut chain = match build(&g) {
        Ok(c) => c,
        Err(e) => panic!("genesis: {e}"),
    };
    // Warm the chain up past the first epochs so every code path is exercised.
    for _ in 0..400 {
        chain.step_block_with_epochs();
    }
    chain
}

fn bench(c: &mut Criterion) {
    let base = network(128);
    let mut group = c.benchmark_group("coinbase");
    let mut chain = base.clone();
    group.bench_function("128", |b| {
        b.iter_custom(|iters| {
            // Time the block step only; pay the epochs it made due outside the timing.
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                let outcome = black_box(chain.step_block());
                total += start.elapsed();
                for netuid in outcome.epochs_due {
                    chain.run_epoch(netuid);
                }
            }
            total
        })
    });
    group.finish();
    let mut group = c.benchmark_group("block_with_epochs");
    let mut chain = base.clone();
    group.bench_function("128", |b| b.iter(|| black_box(chain.step_block_with_epochs().emission)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
