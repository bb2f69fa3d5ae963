//! A whole run of the default scenario (30 days, 216,000 blocks), outputs to memory.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sim::scenario::{Source, load};
use std::hint::black_box;

fn bench_default_run(c: &mut Criterion) {
    let Ok(scenario) = load(Source::BuiltIn, &[]) else { panic!("the default scenario must load") };
    let mut group = c.benchmark_group("whole_run");
    group.sample_size(10);
    group.throughput(Throughput::Elements(scenario.horizon_blocks()));
    group.bench_function("default_30d", |b| {
        b.iter(|| {
            let result = sim::run::simulate(&scenario, Vec::with_capacity(1 << 20), Vec::new(), Vec::new(), None);
            black_box(result.map(|(s, ts, _, _)| (s.blocks, ts.len())).ok())
        })
    });
    group.finish();
}

criterion_group!(benches, bench_default_run);
criterion_main!(benches);
