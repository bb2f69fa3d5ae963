//! Sweep throughput: runs per second of small sweeps on 1 and 2 worker threads.
//!
//! Two small sweeps of the default network, each 2 points (halving, smooth) x N seeds:
//! - `16_runs_30d`: 30-day runs (216,000 blocks, 2,161 samples): the simulation dominates;
//!   this is the case the 2-thread speed-up target is about;
//! - `40_runs_1d`: 1-day runs (7,200 blocks): writing the run folders dominates (each run
//!   writes five files, each synced to disk, then renames its folder into place), so the
//!   speed-up depends on the disk more than on the cores.
//!
//! Each run does exactly what `taosim sweep` does. Every iteration writes into a fresh folder
//! (a sweep into an existing folder would reuse the finished runs), under the system's temp
//! folder or `TAOSIM_BENCH_DIR` if set. Criterion reports runs/s as elements/s.
//!
//!     cargo bench --bench sweep_throughput
//!
//! Peak memory of a 10,000-run sweep is measured by `benches/sweep_memory.sh`; on a busy
//! machine `benches/sweep_scaling.sh` (best of N) gives a steadier 1 -> 2 thread speed-up.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sim::sweep::{Options, plan, run_sweep};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn sweep_text(horizon: &str, seeds: usize) -> String {
    format!(
        "[sweep]\nname = \"bench\"\nseeds = {{ count = {seeds} }}\n[sweep.vary]\n\"chain.emission.schedule\" = [\"halving\", \"smooth\"]\n[base]\nrun.horizon = \"{horizon}\"\nrun.sample_every_blocks = 100\n"
    )
}

fn sweep_throughput(c: &mut Criterion) {
    let root = std::env::var_os("TAOSIM_BENCH_DIR").map_or_else(std::env::temp_dir, PathBuf::from);
    let mut group = c.benchmark_group("sweep_throughput");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    for (horizon, seeds) in [("30d", 8usize), ("1d", 20)] {
        let text = sweep_text(horizon, seeds);
        let plan = plan::load_text("bench.toml", "bench", &text, Path::new("."), &[]).expect("valid sweep");
        group.throughput(Throughput::Elements(plan.runs() as u64));
        for jobs in [1usize, 2] {
            group.bench_function(format!("{}_runs_{horizon}/jobs_{jobs}", plan.runs()), |b| {
                b.iter_custom(|iterations| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iterations {
                        let tmp = tempfile::tempdir_in(&root).expect("tempdir");
                        let out = tmp.path().join("sweep");
                        let started = Instant::now();
                        let stats = run_sweep(&plan, &out, &Options { jobs, shard: None }, &mut |_| {}).expect("sweep");
                        total += started.elapsed();
                        assert_eq!(stats.progress.ran, plan.runs());
                    }
                    total
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, sweep_throughput);
criterion_main!(benches);
