//! `taosim search`: the smallest value of a scenario parameter (an attacker's budget) at which
//! the scenario's attack captures, by bisection per seed; the capture probability against it.
//! Glue only: the search is `sim::search`.

use clap::Args;
use sim::debris::StagingDir;
use sim::scenario::{self, Scenario, Source};
use sim::search::{self, Threshold};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use super::{EXIT_BAD_INPUT, EXIT_FAILED, bad_input};

/// Arguments of `taosim search`.
#[derive(Args)]
pub struct SearchArgs {
    /// Scenario file (TOML) with an attack.
    scenario: PathBuf,
    /// The parameter searched, a dotted scenario field: attacker.budget_tao.
    #[arg(long, default_value = "attacker.budget_tao")]
    param: String,
    /// Lowest value tried.
    #[arg(long, allow_hyphen_values = true)]
    lo: f64,
    /// Highest value tried.
    #[arg(long, allow_hyphen_values = true)]
    hi: f64,
    /// Seeds: the scenario's seed, seed + 1, ... (1 ..= 1000).
    #[arg(long, default_value_t = 8)]
    seeds: u64,
    /// Bisection steps per seed after the two ends (1 ..= 30): the bracket is (hi - lo) / 2^steps.
    #[arg(long, default_value_t = 6)]
    steps: u32,
    /// Points of the capture-probability curve from lo to hi (2 ..= 1000).
    #[arg(long, default_value_t = 21)]
    points: usize,
    /// Folder for thresholds.csv and curve.csv (default: runs/search-<scenario>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Replace the files in --out if they exist.
    #[arg(long)]
    force: bool,
    /// Horizon: blocks or a duration ("30d"); default the scenario's.
    #[arg(long, allow_hyphen_values = true)]
    horizon: Option<String>,
    /// Override a scenario field: --set governance.model="collectives" (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
    /// No timing line on stderr.
    #[arg(long, short)]
    quiet: bool,
}

/// Runs `taosim search`.
pub fn search(args: SearchArgs) -> ExitCode {
    let started = Instant::now();
    if !(args.lo.is_finite() && args.hi.is_finite() && args.lo < args.hi) {
        return bad_input(format!("--lo {} and --hi {}: need finite values with lo < hi", args.lo, args.hi));
    }
    if !(1..=1_000).contains(&args.seeds) {
        return bad_input(format!("--seeds: {} is out of range; allowed 1 ..= 1000", args.seeds));
    }
    if !(1..=30).contains(&args.steps) {
        return bad_input(format!("--steps: {} is out of range; allowed 1 ..= 30", args.steps));
    }
    if !(2..=1_000).contains(&args.points) {
        return bad_input(format!("--points: {} is out of range; allowed 2 ..= 1000", args.points));
    }
    if args.set.iter().any(|s| s.split_once('=').is_some_and(|(k, _)| k.trim() == args.param || k.trim() == "seed")) {
        return bad_input(format!("--set: {} and seed are set by the search itself", args.param));
    }
    let mut set = args.set.clone();
    if let Some(h) = &args.horizon {
        set.push(super::horizon_override(h));
    }
    let load_at = |v: f64| -> Result<Scenario, Vec<sim::error::ScenarioError>> {
        let mut overrides = set.clone();
        overrides.push(format!("{}={v:?}", args.param));
        scenario::load(Source::File(&args.scenario), &overrides)
    };
    // Both ends must load (bad input otherwise) before any run.
    let base = match load_at(args.lo).and_then(|s| load_at(args.hi).map(|_| s)) {
        Ok(s) => s,
        Err(errors) => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    if base.participants.enabled && !base.events.is_empty() {
        // An attack to search for.
    } else {
        return bad_input(format!("{}: no participants or no events: nothing can capture", args.scenario.display()));
    }
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("runs").join(format!("search-{}", base.name)));
    if let Some(problem) = super::occupied(&out, args.force, "search", search::FILES[0]) {
        return bad_input(problem);
    }
    // The folder is built beside `out` and renamed into place when complete: an interrupted
    // or failed search leaves nothing (the watcher removes the staging folder after a kill).
    let staging = match StagingDir::create(&out) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {}: cannot create the output folder: {e}", out.display());
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let scenario_at = |v: f64| load_at(v).map_err(|e| e.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "));
    let settings = Settings { param: &args.param, lo: args.lo, hi: args.hi, steps: args.steps, points: args.points };
    let (rows, files) = match outcome(&settings, args.seeds, base.seed, &base.name, &scenario_at) {
        Ok(done) => done,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let written = write_folder(staging.path(), &files, |outputs| manifest(&args, &base, &rows, outputs))
        .and_then(|()| staging.finish(args.force).map(|_| ()));
    if let Err(e) = written {
        eprintln!("error: cannot write {}: {e}", out.display());
        return ExitCode::from(EXIT_FAILED);
    }
    println!("seed  status       {} capturing", args.param);
    for (seed, t) in &rows {
        println!("{seed:<5} {:<12} {}", t.status(), t.value());
    }
    let mut finite: Vec<f64> = rows.iter().map(|(_, t)| t.value()).filter(|v| v.is_finite()).collect();
    finite.sort_by(f64::total_cmp);
    if let (Some(min), Some(max)) = (finite.first(), finite.last()) {
        println!("captures from {min} to {max} across {} of {} seeds", finite.len(), rows.len());
    } else {
        println!("no seed captures up to {}", args.hi);
    }
    if !args.quiet {
        eprintln!("{} seeds in {:.1} s; wrote {}", rows.len(), started.elapsed().as_secs_f64(), out.display());
    }
    ExitCode::SUCCESS
}

/// What a search computes, as its manifest records it.
struct Settings<'a> {
    param: &'a str,
    lo: f64,
    hi: f64,
    steps: u32,
    points: usize,
}

/// A search folder's files besides its manifest: (name, text).
type Files = [(&'static str, String); 3];

/// The seeds' thresholds and the folder's files (name, text): the search itself, shared by
/// `taosim search` and the replay of a search folder.
fn outcome(
    settings: &Settings<'_>,
    seeds: u64,
    first_seed: u64,
    name: &str,
    scenario_at: &(dyn Fn(f64) -> Result<Scenario, String> + Sync),
) -> Result<(Vec<(u64, Threshold)>, Files), String> {
    let Settings { param, lo, hi, steps, points } = *settings;
    let rows = search::search(seeds, first_seed, lo, hi, steps, scenario_at).map_err(|e| e.to_string())?;
    let thresholds: Vec<Threshold> = rows.iter().map(|(_, t)| *t).collect();
    let mut grid = search::grid(lo, hi, points);
    grid.extend(thresholds.iter().map(Threshold::value).filter(|v| v.is_finite()));
    grid.sort_by(f64::total_cmp);
    grid.dedup();
    let curve = search::curve(&thresholds, &grid);
    let files = [
        (search::FILES[0], search::thresholds_csv(param, &rows)),
        (search::FILES[1], search::curve_csv(param, &curve)),
        (search::FILES[2], curve_svg(name, param, rows.len(), &curve)),
    ];
    Ok((rows, files))
}

/// `taosim replay DIR` of a search folder: the search re-run from its manifest (the recorded
/// scenario with the parameter set to each value tried, the recorded seeds and settings), and
/// each file's digest compared with the manifest's and the file's on disk. Exit 0 when all
/// match, 1 when one differs, 2 when the manifest cannot be read.
pub fn replay(dir: &Path, manifest: &serde_json::Value) -> ExitCode {
    let bad = |message: String| bad_input(format!("{}: {message}", dir.join(sim::output::MANIFEST).display()));
    let search = &manifest["search"];
    let (Some(param), Some(lo), Some(hi), Some(steps), Some(points)) = (
        search["param"].as_str(),
        search["lo"].as_f64(),
        search["hi"].as_f64(),
        search["steps"].as_u64().and_then(|s| u32::try_from(s).ok()),
        search["points"].as_u64().and_then(|p| usize::try_from(p).ok()),
    ) else {
        return bad("not a search manifest (search.param, lo, hi, steps and points are needed)".into());
    };
    let seeds: Vec<u64> =
        manifest["seeds"].as_array().map(|a| a.iter().filter_map(|s| s.as_u64()).collect()).unwrap_or_default();
    let consecutive = seeds.windows(2).all(|w| w[1] == w[0].wrapping_add(1));
    let (Some(&first_seed), true) = (seeds.first(), consecutive) else {
        return bad("seeds: a list of consecutive seeds is needed".into());
    };
    let recorded: Scenario = match serde_json::from_value(manifest["scenario"].clone()) {
        Ok(s) => s,
        Err(e) => return bad(format!("the recorded scenario is not valid: {e}")),
    };
    let text = recorded.to_toml();
    let source = format!("{} (recorded scenario)", dir.join(sim::output::MANIFEST).display());
    let scenario_at = |v: f64| {
        scenario::load(Source::Text { name: &source, text: &text }, &[format!("{param}={v:?}")])
            .map_err(|e| e.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))
    };
    if let Err(e) = scenario_at(lo) {
        return bad(e);
    }
    let settings = Settings { param, lo, hi, steps, points };
    let files = match outcome(&settings, seeds.len() as u64, first_seed, &recorded.name, &scenario_at) {
        Ok((_, files)) => files,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let checks: Vec<sim::run::FileCheck> = files
        .iter()
        .map(|(name, text)| sim::run::FileCheck {
            name: name.to_string(),
            recorded: manifest["outputs"][*name].as_str().unwrap_or("").to_string(),
            on_disk: sim::output::file_digest(&dir.join(name)).ok(),
            replayed: Some(sim::output::bytes_digest(text.as_bytes())),
        })
        .collect();
    super::print_checks(&checks)
}

/// What a search folder records about how it was made: the command's settings, the resolved
/// scenario at `--lo` (the searched field aside, every run's scenario), the seeds, the build
/// and the SHA-256 of each file, so a published threshold names what produced it.
fn manifest(
    args: &SearchArgs,
    base: &Scenario,
    rows: &[(u64, Threshold)],
    outputs: serde_json::Map<String, serde_json::Value>,
) -> serde_json::Value {
    serde_json::json!({
        "format": search::MANIFEST_FORMAT,
        "taosim_version": sim::VERSION,
        "build": sim::output::build_info(),
        "search": {
            "scenario_file": args.scenario.display().to_string(),
            "param": args.param,
            "lo": args.lo,
            "hi": args.hi,
            "steps": args.steps,
            "points": args.points,
            "horizon": args.horizon,
            "set": args.set,
        },
        "seeds": rows.iter().map(|(seed, _)| *seed).collect::<Vec<u64>>(),
        "scenario": serde_json::to_value(base).unwrap_or(serde_json::Value::Null),
        "outputs": outputs,
    })
}

/// Writes the files into the staging folder, then the manifest made from their SHA-256.
fn write_folder(
    dir: &Path,
    files: &[(&str, String)],
    manifest: impl FnOnce(serde_json::Map<String, serde_json::Value>) -> serde_json::Value,
) -> std::io::Result<()> {
    let mut outputs = serde_json::Map::new();
    for (name, text) in files {
        let path = dir.join(name);
        fs::write(&path, text)?;
        outputs.insert(name.to_string(), serde_json::Value::String(sim::output::file_digest(&path)?));
    }
    let text = serde_json::to_string_pretty(&manifest(outputs)).map_err(std::io::Error::other)?;
    fs::write(dir.join(sim::output::MANIFEST), text + "\n")
}

/// The capture probability against the parameter as an SVG chart (the report's band chart,
/// one line, no bands).
fn curve_svg(name: &str, param: &str, seeds: usize, curve: &[(f64, f64)]) -> String {
    let p: Vec<f64> = curve.iter().map(|c| c.1).collect();
    let layer = analysis::svg::BandLayer {
        name: format!("{name}, {seeds} seeds"),
        color: analysis::svg::color(0).to_string(),
        x: curve.iter().map(|c| c.0).collect(),
        levels: [p.clone(), p.clone(), p.clone(), p.clone(), p],
        shade: false,
    };
    let text = analysis::svg::ChartText {
        title: format!("Capture probability against {param}"),
        subtitle: "share of seeds whose smallest capturing value is at or below x".into(),
        x_label: param.to_string(),
        y_label: "capture probability".into(),
    };
    analysis::svg::band_chart(&text, &[layer])
}
