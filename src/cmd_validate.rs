//! `taosim validate`: a scenario's no-shock baseline over several seeds, its figures against
//! the reference bands. Glue only: runs are `sim::run::run`, figures, bands, the table and
//! `validation.csv` are `analysis::validation`.

use analysis::validation::{self, RunFigures, check_columns, check_horizon, evaluate, figures, read_daily};
use clap::Args;
use rayon::prelude::*;
use sim::debris::StagingDir;
use sim::run::{OutTarget, run, simulate};
use sim::scenario::{self, Horizon, Scenario, Source};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use super::{EXIT_FAILED, bad_input};

/// Most seeds one validation runs.
const MAX_SEEDS: u64 = 1_000;

/// Arguments of `taosim validate`.
#[derive(Args)]
pub struct ValidateArgs {
    /// Scenario file (TOML); without it the built-in default scenario. Its [[events]] are
    /// dropped: the baseline has no shocks.
    scenario: Option<PathBuf>,
    /// Seeds: the scenario's seed, seed + 1, ... (1 ..= 1000).
    #[arg(long, default_value_t = 16)]
    seeds: u64,
    /// Horizon: blocks or a duration ("120d"); at least 35 days after the burn-in.
    #[arg(long, allow_hyphen_values = true)]
    horizon: Option<String>,
    /// Folder for the run folders and validation.csv (default: runs/validate-<scenario>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace the --out folder if it exists and is not empty.
    #[arg(long)]
    force: bool,
    /// Override a scenario field: --set market.venue.depth_2pct_usd=1e7 (repeatable; value in TOML syntax).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// No progress bar or timing line on stderr.
    #[arg(long, short)]
    quiet: bool,
}

fn failed(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(EXIT_FAILED)
}

/// The scenario every seed runs: the file with the overrides, daily samples, no events.
fn baseline(args: &ValidateArgs) -> Result<Scenario, ExitCode> {
    let mut overrides = args.set.clone();
    if let Some(h) = &args.horizon {
        overrides.push(super::horizon_override(h));
    }
    overrides.push(format!("run.sample_every_blocks={}", validation::daily::BLOCKS_PER_DAY));
    let source = match &args.scenario {
        Some(path) => Source::File(path),
        None => Source::BuiltIn,
    };
    let mut scenario = scenario::load(source, &overrides).map_err(|errors| super::report_scenario_errors(&errors))?;
    scenario.events.clear();
    Ok(scenario)
}

/// The headers of `timeseries.csv` and `subnets.csv` the scenario writes, from a one-block
/// run in memory (cheap even for the largest scenario): the columns decide, not the
/// scenario's fields.
fn probe_headers(scenario: &Scenario) -> Result<(Vec<String>, Vec<String>), sim::Error> {
    let mut probe = scenario.clone();
    probe.run.horizon = Horizon::Blocks(1);
    probe.run.burn_in = None;
    probe.run.sample_every_blocks = 1;
    let (_, timeseries, _, subnets) = simulate(&probe, Vec::new(), Vec::new(), Vec::new(), None)?;
    let header = |bytes: &[u8]| -> Vec<String> {
        let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
        String::from_utf8_lossy(line).split(',').map(|c| c.trim().to_string()).collect()
    };
    Ok((header(&timeseries), header(&subnets)))
}

/// Runs one seed into `dir` and measures its figures.
fn run_seed(base: &Scenario, seed: u64, dir: &Path) -> Result<RunFigures, String> {
    let mut scenario = base.clone();
    scenario.seed = seed;
    let path = dir.join(format!("{}-seed{seed}", scenario.name));
    let report =
        run(&scenario, &OutTarget::Exact { path, force: false }, None).map_err(|e| format!("seed {seed}: {e}"))?;
    let daily = read_daily(&report.dir, scenario.burn_in_blocks()).map_err(|e| format!("seed {seed}: {e}"))?;
    Ok(figures(&daily))
}

/// `taosim validate [SCENARIO] [--seeds N] [--horizon D] [--out DIR [--force]] [--set K=V] [-q]`.
pub fn validate(args: ValidateArgs) -> ExitCode {
    if !(1..=MAX_SEEDS).contains(&args.seeds) {
        return bad_input(format!("--seeds: {} is out of range; allowed 1 ..= {MAX_SEEDS}", args.seeds));
    }
    let scenario = match baseline(&args) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let last_seed = scenario.seed.saturating_add(args.seeds - 1);
    if last_seed > i64::MAX as u64 {
        return bad_input(format!(
            "--seeds: seeds {} ..= {last_seed} go past the largest seed {}",
            scenario.seed,
            i64::MAX
        ));
    }
    if let Err(e) = check_horizon(scenario.horizon_blocks(), scenario.burn_in_blocks()) {
        return bad_input(format!("{}: {e}", scenario.name));
    }
    match probe_headers(&scenario) {
        Ok((timeseries, subnets)) => {
            if let Err(e) = check_columns(&timeseries, &subnets) {
                return bad_input(format!("{}: {e}", scenario.name));
            }
        }
        Err(e) => return failed(e),
    }
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("runs").join(format!("validate-{}", scenario.name)));
    if let Some(problem) = super::occupied(&out, args.force, "validate", "validation.csv") {
        return bad_input(problem);
    }
    let staging = match StagingDir::create(&out) {
        Ok(s) => s,
        Err(e) => return failed(format!("{}: cannot create the output folder: {e}", out.display())),
    };

    let bar = super::cmd_sweep::bar(args.quiet, format!("validate {}", scenario.name));
    bar.set_length(args.seeds);
    bar.set_message(format!("{} blocks each", scenario.horizon_blocks()));
    let started = Instant::now();
    let results: Vec<Result<RunFigures, String>> = (0..args.seeds)
        .into_par_iter()
        .map(|i| {
            let result = run_seed(&scenario, scenario.seed + i, staging.path());
            bar.inc(1);
            result
        })
        .collect();
    bar.finish_and_clear();
    let mut runs = Vec::with_capacity(results.len());
    for result in results {
        match result {
            Ok(f) => runs.push(f),
            Err(message) => return failed(message),
        }
    }
    let rows = evaluate(&runs);
    let csv = match validation::csv_text(&rows) {
        Ok(text) => text,
        Err(e) => return failed(e),
    };
    if let Err(e) = fs::write(staging.path().join("validation.csv"), csv) {
        return failed(format!("{}: cannot write validation.csv: {e}", out.display()));
    }
    // Replaces what `occupied` let through: nothing, an empty folder or, with --force, a
    // validate folder.
    if let Err(e) = staging.finish(args.force) {
        return failed(format!("{}: cannot move the folder into place: {e}", out.display()));
    }
    print!("{}", validation::table_text(&rows));
    let within = rows.iter().filter(|r| r.within).count();
    println!("{within} of {} figures within their bands; {}", rows.len(), out.join("validation.csv").display());
    if !args.quiet {
        eprintln!(
            "{}: {} seeds ({} ..= {last_seed}), {} blocks each, burn-in {} blocks; {:.2} s",
            scenario.name,
            args.seeds,
            scenario.seed,
            scenario.horizon_blocks(),
            scenario.burn_in_blocks(),
            started.elapsed().as_secs_f64()
        );
    }
    if within == rows.len() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_FAILED) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(scenario: Option<&str>, set: &[&str]) -> ValidateArgs {
        ValidateArgs {
            scenario: scenario.map(|s| Path::new(env!("CARGO_MANIFEST_DIR")).join(s)),
            seeds: 2,
            horizon: Some("36d".into()),
            out: None,
            force: false,
            set: set.iter().map(|s| s.to_string()).collect(),
            quiet: true,
        }
    }

    #[test]
    fn the_baseline_drops_events_samples_daily_and_keeps_the_rest() {
        let file = "scenarios/liquidity-shock.toml";
        let shocked = scenario::load(Source::File(&Path::new(env!("CARGO_MANIFEST_DIR")).join(file)), &[])
            .expect("shipped scenario");
        assert!(!shocked.events.is_empty(), "{file} has events to drop");
        let base = baseline(&args(Some(file), &["run.sample_every_blocks=50", "market.venue.depth_2pct_usd=1e7"]))
            .expect("loads");
        assert!(base.events.is_empty());
        assert_eq!(base.run.sample_every_blocks, 7200, "daily rows whatever --set says");
        assert_eq!(base.horizon_blocks(), 36 * 7200, "--horizon");
        assert_eq!(base.market.venue.depth_2pct_usd, 1e7, "other overrides reach the runs");
        assert_eq!(base.participants, shocked.participants);
    }

    #[test]
    fn the_probe_reads_the_columns_a_scenario_writes() {
        let with = baseline(&args(None, &[])).expect("loads");
        let (timeseries, subnets) = probe_headers(&with).expect("probe");
        assert_eq!(check_columns(&timeseries, &subnets), Ok(()));
        let without = baseline(&args(None, &["participants.enabled=false"])).expect("loads");
        let (timeseries, subnets) = probe_headers(&without).expect("probe");
        assert!(!timeseries.iter().any(|c| c == "tao_price_usd") && timeseries[0] == "block");
        assert!(check_columns(&timeseries, &subnets).is_err());
    }
}
