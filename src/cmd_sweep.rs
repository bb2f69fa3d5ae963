//! `taosim sweep`, `taosim merge` and `taosim check` of sweep files: argument handling,
//! progress display and exit codes. The work is in `sim::sweep`.

use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sim::sweep::execute::MAX_JOBS;
use sim::sweep::{self, Options, Plan, Progress, Shard, SweepError, plan};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use super::{EXIT_BAD_INPUT, EXIT_FAILED};

/// Arguments of `taosim sweep`.
#[derive(Args)]
pub struct SweepArgs {
    /// Sweep file (TOML with a [sweep] table).
    file: PathBuf,
    /// Sweep folder to write; running the same command again resumes it.
    #[arg(long)]
    out: PathBuf,
    /// Worker threads (default: the number of CPUs).
    #[arg(long, short)]
    jobs: Option<usize>,
    /// Run only shard K of N (runs whose number i has i % N == K - 1); merge with `taosim merge`.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
    /// Override a field of every run: --set run.horizon=100 (repeatable; not a varied field).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// No progress bar or summary on stderr.
    #[arg(long, short)]
    quiet: bool,
}

/// Arguments of `taosim merge`.
#[derive(Args)]
pub struct MergeArgs {
    /// The shard folders (one per shard, all of one sweep).
    #[arg(required = true)]
    dirs: Vec<PathBuf>,
    /// The merged sweep folder to write.
    #[arg(long)]
    out: PathBuf,
    /// No progress bar or summary on stderr.
    #[arg(long, short)]
    quiet: bool,
}

/// Whether `path` holds a sweep file (a top-level `[sweep]` table) rather than a scenario.
pub fn is_sweep_file(path: &Path) -> bool {
    std::fs::read_to_string(path).is_ok_and(|text| sweep::is_sweep_text(&text))
}

/// `taosim check` of a sweep file: structure, then every point's ranges. Returns success.
pub fn check(file: &Path) -> bool {
    let plan = match plan::load(file, &[]) {
        Ok(plan) => plan,
        Err(errors) => {
            for e in errors {
                eprintln!("error: {e}");
            }
            return false;
        }
    };
    if let Some(problem) = plan.profile_problem() {
        eprintln!("error: {}: {problem}", file.display());
        return false;
    }
    let problems = plan.check_points();
    if problems.is_empty() {
        println!("{}: ok (sweep `{}`, {})", file.display(), plan.name, shape(&plan));
        return true;
    }
    // One line per distinct problem, with the points it hits.
    let mut grouped: Vec<(String, Vec<usize>)> = Vec::new();
    for p in &problems {
        let text = p.error.to_string();
        match grouped.iter_mut().find(|(t, _)| *t == text) {
            Some((_, points)) => points.push(p.point),
            None => grouped.push((text, vec![p.point])),
        }
    }
    for (text, points) in &grouped {
        let shown: Vec<String> =
            points.iter().take(3).map(|&pt| format!("{} ({})", plan.point_id(pt), plan.describe_point(pt))).collect();
        let more = if points.len() > 3 { format!(" and {} more", points.len() - 3) } else { String::new() };
        eprintln!("error: {text} at {}{more}", shown.join(", "));
    }
    let mut bad: Vec<usize> = problems.iter().map(|p| p.point).collect();
    bad.dedup();
    eprintln!(
        "{}: {} of {} points are out of range; `taosim sweep` would record their runs as failed",
        file.display(),
        bad.len(),
        plan.points()
    );
    false
}

fn shape(plan: &Plan) -> String {
    format!(
        "{} point{} x {} seed{} = {} runs",
        plan.points(),
        if plan.points() == 1 { "" } else { "s" },
        plan.seeds.len(),
        if plan.seeds.len() == 1 { "" } else { "s" },
        plan.runs()
    )
}

/// A progress bar of runs on stderr (hidden when quiet or piped).
pub(crate) fn bar(quiet: bool, label: String) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} runs, {msg} ({eta} left)")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(label);
    bar
}

fn show(bar: &ProgressBar, p: &Progress, reused_word: &str) {
    bar.set_length(p.total as u64);
    bar.set_position(p.done as u64);
    bar.set_message(format!("{} failed, {} {reused_word}", p.failed, p.reused));
}

fn report_error(e: &SweepError) -> ExitCode {
    match e {
        SweepError::Invalid(errors) => errors.iter().for_each(|e| eprintln!("error: {e}")),
        other => eprintln!("error: {other}"),
    }
    ExitCode::from(if e.is_bad_input() { EXIT_BAD_INPUT } else { EXIT_FAILED })
}

/// `taosim sweep FILE --out DIR [--jobs N] [--shard K/N] [--set K=V] [--quiet]`.
pub fn sweep(args: SweepArgs) -> ExitCode {
    let jobs = match args.jobs {
        Some(n) if n == 0 || n > MAX_JOBS => {
            eprintln!("error: --jobs: {n} is out of range; allowed 1 ..= {MAX_JOBS}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let shard = match args.shard.as_deref().map(Shard::parse).transpose() {
        Ok(shard) => shard,
        Err(message) => {
            eprintln!("error: --shard: {message}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let plan = match plan::load(&args.file, &args.set) {
        Ok(plan) => plan,
        Err(errors) => return report_error(&SweepError::Invalid(errors)),
    };
    if let Some(problem) = plan.profile_problem() {
        eprintln!("error: {}: {problem}", args.file.display());
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    if !args.quiet {
        let bad = plan.check_points().iter().map(|p| p.point).collect::<std::collections::BTreeSet<_>>().len();
        if bad > 0 {
            eprintln!(
                "warning: {bad} of {} points are out of range (see `taosim check {}`); their runs are recorded as failed",
                plan.points(),
                args.file.display()
            );
        }
    }
    let label = match shard {
        Some(s) => format!("{} {s}", plan.name),
        None => plan.name.clone(),
    };
    let bar = bar(args.quiet, label.clone());
    let started = Instant::now();
    let result = sweep::run_sweep(&plan, &args.out, &Options { jobs, shard }, &mut |p| show(&bar, p, "reused"));
    bar.finish_and_clear();
    match result {
        Ok(stats) => {
            let p = stats.progress;
            if !args.quiet {
                eprintln!(
                    "{label}: {} of {} runs ({} ran, {} reused, {} failed) on {jobs} thread{} in {:.2} s",
                    p.total,
                    stats.sweep_runs,
                    p.ran,
                    p.reused,
                    p.failed,
                    if jobs == 1 { "" } else { "s" },
                    started.elapsed().as_secs_f64()
                );
                if p.failed > 0 {
                    eprintln!(
                        "{} run(s) failed: see the status and error columns of {}",
                        p.failed,
                        stats.summary.display()
                    );
                }
            }
            println!("{}", args.out.display());
            ExitCode::SUCCESS
        }
        Err(e) => report_error(&e),
    }
}

/// `taosim merge DIR... --out DIR`.
pub fn merge(args: MergeArgs) -> ExitCode {
    let bar = bar(args.quiet, "merge".into());
    let started = Instant::now();
    let result = sweep::merge(&args.dirs, &args.out, &mut |p| show(&bar, p, "already merged"));
    bar.finish_and_clear();
    match result {
        Ok(stats) => {
            let p = stats.progress;
            if !args.quiet {
                eprintln!(
                    "merged {} shard folder(s): {} runs ({} linked, {} already merged, {} failed) in {:.2} s",
                    args.dirs.len(),
                    p.total,
                    p.ran,
                    p.reused,
                    p.failed,
                    started.elapsed().as_secs_f64()
                );
            }
            println!("{}", args.out.display());
            ExitCode::SUCCESS
        }
        Err(e) => report_error(&e),
    }
}
