//! `taosim`: the command line of the simulator.
//!
//! Glue only: argument parsing, progress display and exit codes. Everything it runs lives in
//! the `sim`, `kernels` and `analysis` crates.

mod cmd_calibrate;
mod cmd_epoch;
mod cmd_report;
mod cmd_search;
mod cmd_sweep;
mod cmd_validate;

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sim::error::ScenarioError;
use sim::run::{OutTarget, replay, run};
use sim::scenario::{self, Scenario, Source};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Exit code for bad input (scenario errors, bad flags).
const EXIT_BAD_INPUT: u8 = 2;
/// Exit code for failures while running or a replay that does not match.
const EXIT_FAILED: u8 = 1;

#[derive(Parser)]
#[command(
    name = "taosim",
    version,
    about = "Deterministic, seeded discrete-event simulator of a Bittensor-like network"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario (the built-in default without FILE) into a new run folder.
    Run(RunArgs),
    /// Validate scenario or sweep files without running them.
    Check {
        /// Scenario or sweep files to check.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Re-run a run (or search) folder from its manifest and check every output digest.
    Replay {
        /// The run or search folder (it holds manifest.json).
        run_dir: PathBuf,
        /// No progress bar.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Time training steps on this machine's GPU (or CPU) and write a calibration profile.
    Calibrate(cmd_calibrate::CalibrateArgs),
    /// Run one subnet's Yuma epoch on a JSON state (file or `-` for stdin); results as JSON.
    Epoch(cmd_epoch::EpochArgs),
    /// Run a sweep file's runs in parallel into a sweep folder (resumable).
    Sweep(cmd_sweep::SweepArgs),
    /// Merge the folders of a sweep's shards into one sweep folder.
    Merge(cmd_sweep::MergeArgs),
    /// Write report.html and CSV tables for a run, a sweep or a folder of runs.
    Report(cmd_report::ReportArgs),
    /// Compare two runs or sweeps: which metrics moved, with confidence intervals.
    Compare(cmd_report::CompareArgs),
    /// Run a scenario's no-shock baseline over several seeds; check its figures against the
    /// real network's (exit 1 when one is outside its band).
    Validate(cmd_validate::ValidateArgs),
    /// Bisect, per seed, the smallest attacker budget (or another parameter) at which a
    /// scenario's attack captures; write the capture-probability curve.
    Search(cmd_search::SearchArgs),
}

#[derive(Args)]
struct RunArgs {
    /// Scenario file (TOML); without it the built-in default scenario runs.
    scenario: Option<PathBuf>,
    /// Seed for every random stream (default: the scenario's seed).
    #[arg(long)]
    seed: Option<u64>,
    /// Run folder to write (default: a new folder under runs/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace the --out folder if it exists.
    #[arg(long)]
    force: bool,
    /// Horizon: blocks (216000) or a duration ("30d", "12h").
    #[arg(long, allow_hyphen_values = true)]
    horizon: Option<String>,
    /// Override a scenario field: --set chain.tempo=99 (repeatable; value in TOML syntax).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// No progress bar or summary on stderr.
    #[arg(long, short)]
    quiet: bool,
}

/// The hidden first argument that makes `taosim` the debris watcher (see `sim::debris`).
const WATCH_ARG: &str = "__watch-staging";

fn main() -> ExitCode {
    if std::env::args_os().nth(1).is_some_and(|a| a == WATCH_ARG) {
        sim::debris::reap(std::io::stdin().lock());
        return ExitCode::SUCCESS;
    }
    sim::output::set_build(env!("TAOSIM_GIT_COMMIT"), env!("TAOSIM_RUSTC_VERSION"), env!("TAOSIM_TARGET"));
    let cli = Cli::parse();
    if matches!(
        cli.command,
        Command::Run(_)
            | Command::Replay { .. }
            | Command::Sweep(_)
            | Command::Merge(_)
            | Command::Validate(_)
            | Command::Search(_)
    ) {
        start_debris_watcher();
    }
    match cli.command {
        Command::Run(args) => cmd_run(args),
        Command::Check { files } => cmd_check(&files),
        Command::Replay { run_dir, quiet } => cmd_replay(&run_dir, quiet),
        Command::Calibrate(args) => cmd_calibrate::run(args),
        Command::Epoch(args) => cmd_epoch::cmd_epoch(&args),
        Command::Sweep(args) => cmd_sweep::sweep(args),
        Command::Merge(args) => cmd_sweep::merge(args),
        Command::Report(args) => cmd_report::report(args),
        Command::Compare(args) => cmd_report::compare(args),
        Command::Validate(args) => cmd_validate::validate(args),
        Command::Search(args) => cmd_search::search(args),
    }
}

/// Starts the helper that removes this process's staging folders if it is killed (Ctrl-C,
/// SIGTERM, SIGKILL): `taosim` itself, reading the folders to watch from a pipe, in a process
/// group of its own so that the Ctrl-C meant for this process does not end it too. Without it
/// (it cannot start) runs work as before, and the next run into the same folder clears what a
/// killed one left.
fn start_debris_watcher() {
    let Ok(exe) = std::env::current_exe() else { return };
    let mut cmd = std::process::Command::new(exe);
    cmd.arg(WATCH_ARG)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    // The child is not waited for: it outlives this process by design, and exits when the
    // pipe closes.
    if let Ok(mut child) = cmd.spawn()
        && let Some(stdin) = child.stdin.take()
    {
        sim::debris::set_watcher(Box::new(stdin));
    }
}

/// The exit code for a `sim` error: bad input 2, anything else 1.
fn exit_for(e: &sim::Error) -> ExitCode {
    ExitCode::from(if e.is_bad_input() { EXIT_BAD_INPUT } else { EXIT_FAILED })
}

fn report_scenario_errors(errors: &[ScenarioError]) -> ExitCode {
    for e in errors {
        eprintln!("error: {e}");
    }
    ExitCode::from(EXIT_BAD_INPUT)
}

fn progress_bar(quiet: bool, label: &str) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} blocks ({eta} left)")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_message(label.to_string());
    bar
}

/// The `--set` override of a `--horizon` flag: blocks as a TOML integer, a duration as a
/// TOML string.
fn horizon_override(h: &str) -> String {
    let value = if h.trim().parse::<i64>().is_ok() { h.trim().to_string() } else { format!("{:?}", h.trim()) };
    format!("run.horizon={value}")
}

fn cmd_run(args: RunArgs) -> ExitCode {
    let mut overrides = args.set.clone();
    if let Some(seed) = args.seed {
        if seed > i64::MAX as u64 {
            eprintln!("error: --seed: {seed} is out of range; allowed 0 ..= {}", i64::MAX);
            return ExitCode::from(EXIT_BAD_INPUT);
        }
        overrides.push(format!("seed={seed}"));
    }
    if let Some(h) = &args.horizon {
        if args.set.iter().any(|s| s.split_once('=').is_some_and(|(k, _)| k.trim() == "run.horizon")) {
            eprintln!("error: --horizon and --set run.horizon both set the horizon; give only one");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
        overrides.push(horizon_override(h));
    }
    let source = match &args.scenario {
        Some(path) => Source::File(path),
        None => Source::BuiltIn,
    };
    let scenario = match scenario::load(source, &overrides) {
        Ok(s) => s,
        Err(errors) => return report_scenario_errors(&errors),
    };
    // What would stop the run at its first block (a calibration profile, unfundable holders)
    // is bad input: reported before any folder is made.
    if let Err(e) = sim::run::preflight(&scenario) {
        eprintln!("error: {e}");
        return exit_for(&e);
    }
    warn_events_after_horizon(&scenario);
    let out = match &args.out {
        Some(path) => OutTarget::Exact { path: path.clone(), force: args.force },
        None => OutTarget::Auto { root: PathBuf::from("runs") },
    };
    let bar = progress_bar(args.quiet, &scenario.name);
    let mut on_progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let started = Instant::now();
    let result = run(&scenario, &out, Some(&mut on_progress));
    bar.finish_and_clear();
    match result {
        Ok(report) => {
            if !args.quiet {
                let s = &report.summary;
                eprintln!(
                    "{}: {} blocks, seed {}, {} halving(s); issuance {} -> {} TAO; {:.2} s",
                    s.scenario,
                    s.blocks,
                    s.seed,
                    s.halvings.len(),
                    s.initial_issuance_tao,
                    s.final_issuance_tao,
                    started.elapsed().as_secs_f64()
                );
            }
            println!("{}", report.dir.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit_for(&e)
        }
    }
}

/// A warning on stderr naming the scenario's events that its horizon cuts off.
fn warn_events_after_horizon(scenario: &Scenario) {
    let late = sim::run::events_after_horizon(scenario);
    if !late.is_empty() {
        eprintln!(
            "warning: {} after the horizon (block {}) never happen in this run",
            late.join(", "),
            scenario.horizon_blocks()
        );
    }
}

fn cmd_check(files: &[PathBuf]) -> ExitCode {
    let mut failed = false;
    for file in files {
        if cmd_sweep::is_sweep_file(file) {
            failed |= !cmd_sweep::check(file);
            continue;
        }
        match scenario::load(Source::File(file), &[]) {
            Ok(s) => {
                // What `run` checks before its first block (the calibration profile, funding
                // the holders), so that a file `check` accepts also starts.
                if let Err(e) = sim::run::preflight(&s) {
                    eprintln!("error: {}: {e}", file.display());
                    failed = true;
                    continue;
                }
                warn_events_after_horizon(&s);
                println!(
                    "{}: ok (scenario `{}`, {} blocks, seed {})",
                    file.display(),
                    s.name,
                    s.horizon_blocks(),
                    s.seed
                );
            }
            Err(errors) => {
                report_scenario_errors(&errors);
                failed = true;
            }
        }
    }
    if failed { ExitCode::from(EXIT_BAD_INPUT) } else { ExitCode::SUCCESS }
}

fn cmd_replay(run_dir: &Path, quiet: bool) -> ExitCode {
    // A search folder's manifest: the search re-run.
    if let Some(manifest) = std::fs::read_to_string(run_dir.join(sim::output::MANIFEST))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .filter(|m| m["format"] == sim::search::MANIFEST_FORMAT)
    {
        return cmd_search::replay(run_dir, &manifest);
    }
    let bar = progress_bar(quiet, "replay");
    let mut on_progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let result = replay(run_dir, Some(&mut on_progress));
    bar.finish_and_clear();
    match result {
        Ok(checks) => {
            let code = print_checks(&checks);
            note_other_build(run_dir);
            code
        }
        Err(e) => {
            eprintln!("error: {e}");
            exit_for(&e)
        }
    }
}

/// Prints `error: MESSAGE` and gives the bad-input exit code (2).
pub(crate) fn bad_input(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(EXIT_BAD_INPUT)
}

/// Why a command's output folder `out` may not be written: a file, a folder with something in
/// it (without `force`), or (with `force`) a folder that is not one of this command's
/// (`kind`, recognised by its `marker` file): `--force` never wipes a folder the command did
/// not write.
pub(crate) fn occupied(out: &Path, force: bool, kind: &str, marker: &str) -> Option<String> {
    if !out.exists() {
        return None;
    }
    if !out.is_dir() {
        return Some(format!("{}: exists and is not a folder", out.display()));
    }
    if std::fs::read_dir(out).is_ok_and(|mut entries| entries.next().is_none()) {
        return None;
    }
    if !force {
        return Some(format!("{}: already exists and is not empty; use --force to replace it", out.display()));
    }
    (!out.join(marker).is_file()).then(|| {
        format!(
            "{}: is not a {kind} folder (no {marker}); --force replaces only {kind} folders: remove it yourself or choose another --out",
            out.display()
        )
    })
}

/// Prints each file's replay check (match, missing, modified, differs) and the verdict: exit 0
/// when every file matches its recorded digest, 1 otherwise. Shared by run and search replays.
pub(crate) fn print_checks(checks: &[sim::run::FileCheck]) -> ExitCode {
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0) + 2;
    for c in checks {
        let status = match (&c.on_disk, &c.replayed) {
            _ if c.matches() => "match".to_string(),
            (None, _) => "MISSING from the folder".to_string(),
            (_, None) => "NOT PRODUCED by the re-run".to_string(),
            (Some(d), Some(r)) if d != &c.recorded && r == &c.recorded => {
                "MODIFIED since it was written (re-run matches the manifest)".to_string()
            }
            (Some(d), Some(r)) if d == &c.recorded => format!("DIFFERS: re-run gives {r}"),
            (Some(_), Some(r)) => format!("DIFFERS: file modified and re-run gives {r}"),
        };
        println!("{:<width$}{status}", c.name);
    }
    if checks.iter().all(sim::run::FileCheck::matches) {
        println!("all {} digests match", checks.len());
        ExitCode::SUCCESS
    } else {
        println!("replay does NOT match the manifest");
        ExitCode::from(EXIT_FAILED)
    }
}

/// A note on stderr when the run was written by another build than this one: outputs are a
/// function of the scenario, not of the build, so this is no failure, but worth knowing when
/// digests differ.
fn note_other_build(run_dir: &Path) {
    let (Ok(manifest), Some(now)) = (sim::output::read_manifest(run_dir), sim::output::build_info()) else { return };
    match manifest.build {
        None => eprintln!("note: the manifest records no build (written before taosim recorded one)"),
        Some(then) if then.binary_sha256 != now.binary_sha256 => eprintln!(
            "note: the run was written by another binary (sha256 {}, commit {}, {}); this is sha256 {}, commit {}, {}",
            short(&then.binary_sha256),
            short(&then.git_commit),
            then.rustc,
            short(&now.binary_sha256),
            short(&now.git_commit),
            now.rustc
        ),
        Some(_) => {}
    }
}

fn short(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}

#[allow(dead_code)]
fn _assert_scenario_is_send(s: Scenario) -> impl Send {
    s
}
