//! Criterion benches of the CPU training step: the inner step (forward, backward, AdamW), the
//! SparseLoCo outer step, and the compression (chunked top-k + quantisation) alone; and the
//! decoder block's inner step (throughput in tokens).
//!
//! `cargo bench --bench kernels_cpu`; throughput is reported in elements (parameters) so that
//! criterion prints parameters per second next to each time.

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use kernels::TrainingStep;
use kernels::cpu::CpuStep;
use kernels::sparseloco::{self, CompressionConfig};
use kernels::step::{AdamW, StepShape, initial_state};
use std::hint::black_box;
use std::time::Duration;

const SHAPES: [StepShape; 2] = [StepShape::new(128, 128, 512), StepShape::new(256, 256, 1024)];

fn cpu_step(shape: StepShape) -> CpuStep {
    let (state, batch) = initial_state(&shape, 1);
    match CpuStep::new(shape, AdamW::default(), CompressionConfig::default(), state, batch) {
        Ok(step) => step,
        Err(e) => panic!("bench shape {shape}: {e}"),
    }
}

fn inner_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("kernels_cpu/inner_step");
    group.measurement_time(Duration::from_secs(4));
    for shape in SHAPES {
        let mut step = cpu_step(shape);
        group.throughput(Throughput::Elements(shape.params() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(shape), &shape, |b, _| {
            b.iter(|| black_box(step.inner_step().map(|t| t.loss).unwrap_or(f32::NAN)))
        });
    }
    group.finish();
}

fn outer_step(c: &mut Criterion) {
    let mut group = c.benchmark_group("kernels_cpu/outer_step");
    group.measurement_time(Duration::from_secs(4));
    for shape in SHAPES {
        let mut step = cpu_step(shape);
        // One inner step first, so that the pseudo-gradient is not zero.
        let _ = step.inner_step();
        group.throughput(Throughput::Elements(shape.params() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(shape), &shape, |b, _| {
            b.iter(|| black_box(step.outer_step().map(|t| t.total_s()).unwrap_or(f64::NAN)))
        });
    }
    group.finish();
}

fn compress(c: &mut Criterion) {
    let mut group = c.benchmark_group("kernels_cpu/sparseloco_encode_decode");
    let cfg = CompressionConfig::default();
    for (rows, cols) in [(256usize, 1024usize), (1024, 4096)] {
        let mut rng = kernels::step::SplitMix64::new(3);
        let x: Vec<f32> = (0..rows * cols).map(|_| rng.symmetric(1.0)).collect();
        group.throughput(Throughput::Elements((rows * cols) as u64));
        group.bench_with_input(BenchmarkId::from_parameter(format!("{rows}x{cols}")), &x, |b, x| {
            b.iter(|| {
                let c = sparseloco::encode(black_box(x), rows, cols, &cfg).and_then(|c| sparseloco::decode(&c));
                black_box(c.map(|d| d.len()).unwrap_or(0))
            })
        });
    }
    group.finish();
}

fn block_inner_step(c: &mut Criterion) {
    use kernels::block::train::{BlockState, CpuBlock, TrainingBlock};
    use kernels::block::{BlockShape, initial};
    let mut group = c.benchmark_group("kernels_cpu/block_inner_step");
    group.measurement_time(Duration::from_secs(4));
    for shape in [BlockShape::new(1, 128, 256, 4, 704), BlockShape::new(1, 256, 512, 8, 1408)] {
        let (params, batch) = initial(&shape, 1);
        let state = BlockState::new(&shape, params);
        let mut block = match CpuBlock::new(shape, AdamW::default(), CompressionConfig::default(), state, batch) {
            Ok(b) => b,
            Err(e) => panic!("bench shape {shape}: {e}"),
        };
        group.throughput(Throughput::Elements(shape.tokens() as u64));
        group.bench_with_input(BenchmarkId::from_parameter(shape), &shape, |b, _| {
            b.iter(|| black_box(block.inner_step().map(|t| t.loss).unwrap_or(f32::NAN)))
        });
    }
    group.finish();
}

criterion_group!(benches, inner_step, outer_step, compress, block_inner_step);
criterion_main!(benches);
