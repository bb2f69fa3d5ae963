//! `taosim report` on 1,000-run sweeps: reading every run folder, metrics, bands, bootstrap
//! intervals, charts and the four output files.
//!
//! Two sweeps are built once under `target/bench-data/` (reused by later runs):
//! - `real-1000`: today's model, the default scenario (30 days, 2,161 samples of 5 columns),
//!   10 settings of `chain.initial_issuance_tao` x 100 seeds, made with `sim::run::run`;
//! - `synthetic-1000`: the columns later models will write (13 timeseries columns, events,
//!   a 32-subnet `subnets.csv`), 4 settings x 250 seeds, from `analysis::synthetic`.
//!
//! The figure is warm-cache (the folders are in the page cache after the first iteration).

use analysis::analyse::{Options, analyse_folder};
use analysis::report::write_report;
use analysis::synthetic::{Spec, SweepRow, write_sweep, write_sweep_index};
use criterion::{Criterion, criterion_group, criterion_main};
use sim::run::{OutTarget, run};
use sim::scenario::{Source, load};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-data")
}

fn build_real(dir: &Path) {
    let params = vec!["chain.initial_issuance_tao".to_string()];
    let mut rows = Vec::new();
    for point in 0..10usize {
        let issuance = 15_650_000 + 10_000 * point as u64;
        for seed in 1..=100u64 {
            let run_id = format!("p{point:02}-s{seed:03}");
            let overrides = vec![format!("seed={seed}"), format!("chain.initial_issuance_tao={issuance}.0")];
            let Ok(scenario) = load(Source::BuiltIn, &overrides) else { panic!("bench scenario must load") };
            let target = OutTarget::Exact { path: dir.join("runs").join(&run_id), force: true };
            if let Err(e) = run(&scenario, &target, None) {
                panic!("bench run failed: {e}");
            }
            rows.push(SweepRow { run_id, point, seed, params: vec![issuance.to_string()], error: None });
        }
    }
    if let Err(e) = write_sweep_index(dir, "bench-real", &params, &rows) {
        panic!("bench sweep index: {e}");
    }
}

fn build_synthetic(dir: &Path) {
    let params = vec!["market.depth_usd".to_string()];
    let points: Vec<(Vec<String>, Spec)> = [2e6, 5e6, 1e7, 2e7]
        .iter()
        .map(|&d| (vec![d.to_string()], Spec { depth_usd: d, subnets: 32, ..Spec::default() }))
        .collect();
    let seeds: Vec<u64> = (1..=250).collect();
    if let Err(e) = write_sweep(dir, &params, &points, &seeds, &[]) {
        panic!("bench synthetic sweep: {e}");
    }
}

/// The sweep folder `name`, built by `build` unless a complete one is there.
fn sweep(name: &str, build: fn(&Path)) -> PathBuf {
    let dir = data_dir().join(name);
    let done = dir.join(".complete");
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&dir);
        build(&dir);
        if let Err(e) = std::fs::write(&done, b"") {
            panic!("{}: {e}", done.display());
        }
    }
    dir
}

fn bench_report(c: &mut Criterion) {
    let mut group = c.benchmark_group("report");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(40));
    for (name, build) in [("real-1000", build_real as fn(&Path)), ("synthetic-1000", build_synthetic)] {
        let dir = sweep(name, build);
        let out = data_dir().join(format!("{name}-report"));
        group.bench_function(name, |b| {
            b.iter(|| {
                let analysis = match analyse_folder(&dir, &Options::default()) {
                    Ok(a) => a,
                    Err(e) => panic!("{e}"),
                };
                assert_eq!(analysis.study.runs.len(), 1_000);
                black_box(write_report(&analysis, &out).map(|files| files.len()).ok())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_report);
criterion_main!(benches);
