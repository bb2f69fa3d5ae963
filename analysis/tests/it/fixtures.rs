//! Run and sweep folders for the tests.

use analysis::synthetic::{Spec, SweepRow, write_sweep, write_sweep_index};
use sim::run::{OutTarget, run};
use sim::scenario::{Source, load};
use std::path::Path;

/// A real sweep: `chain.emission.schedule` in {halving, smooth} x `seeds`, 16 days (the
/// default scenario's halving comes at block 100,002, day 13.9), plus one failed run.
pub fn real_sweep(dir: &Path, seeds: &[u64]) {
    let params = vec!["chain.emission.schedule".to_string()];
    let mut rows = Vec::new();
    for (point, schedule) in ["halving", "smooth"].iter().enumerate() {
        for &seed in seeds {
            let run_id = format!("p{point}-s{seed}");
            let overrides = vec![
                format!("seed={seed}"),
                "run.horizon=\"16d\"".into(),
                format!("chain.emission.schedule=\"{schedule}\""),
            ];
            let scenario = load(Source::BuiltIn, &overrides).unwrap();
            let target = OutTarget::Exact { path: dir.join("runs").join(&run_id), force: false };
            run(&scenario, &target, None).unwrap();
            rows.push(SweepRow { run_id, point, seed, params: vec![schedule.to_string()], error: None });
        }
    }
    rows.push(SweepRow {
        run_id: "p1-s99".into(),
        point: 1,
        seed: 99,
        params: vec!["smooth".into()],
        error: Some("model panicked: test failure".into()),
    });
    write_sweep_index(dir, "real-test", &params, &rows).unwrap();
}

/// A short synthetic spec: 8 days, halving on day 3, a liquidity shock on days 5-6.
pub fn short_spec(depth_usd: f64, subnets: usize) -> Spec {
    Spec {
        days: 8,
        sample_every_blocks: 300,
        subnets,
        subnet_sample_every_blocks: 1_200,
        miners: 400,
        depth_usd,
        halving_day: Some(3.0),
        shock: Some((5.0, 1.5, 0.3)),
        attack_day: 4.0,
        ..Spec::default()
    }
}

/// A synthetic sweep over `market.depth_usd` with 128 subnets.
pub fn synthetic_sweep(dir: &Path, depths: &[f64], seeds: &[u64], subnets: usize) {
    let params = vec!["market.depth_usd".to_string()];
    let points: Vec<(Vec<String>, Spec)> =
        depths.iter().map(|d| (vec![d.to_string()], short_spec(*d, subnets))).collect();
    write_sweep(dir, &params, &points, seeds, &[]).unwrap();
}
