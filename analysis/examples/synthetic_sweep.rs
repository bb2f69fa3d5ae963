//! Writes a synthetic sweep folder (see `analysis::synthetic`) to try `taosim report` and
//! `taosim compare` on the columns later models will write:
//!
//! ```sh
//! cargo run --release -p taosim-analysis --example synthetic_sweep -- /tmp/synthetic-sweep [SEEDS] [SUBNETS]
//! taosim report /tmp/synthetic-sweep
//! ```
//!
//! Two varied parameters: `market.depth_usd` and `market.sell_fraction` (2 values each).

use analysis::synthetic::{Spec, write_sweep};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(dir) = args.next().map(PathBuf::from) else {
        eprintln!("usage: synthetic_sweep DIR [SEEDS] [SUBNETS]");
        return ExitCode::from(2);
    };
    let seeds: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(20);
    let subnets: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(128);
    let params = vec!["market.depth_usd".to_string(), "market.sell_fraction".to_string()];
    let mut points = Vec::new();
    for depth in [2e6, 2e7] {
        for sell in [0.3, 0.7] {
            let spec = Spec { depth_usd: depth, sell_fraction: sell, subnets, ..Spec::default() };
            points.push((vec![depth.to_string(), sell.to_string()], spec));
        }
    }
    let seeds: Vec<u64> = (1..=seeds).collect();
    match write_sweep(&dir, &params, &points, &seeds, &[(0, 3)]) {
        Ok(()) => {
            println!("{}", dir.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}
