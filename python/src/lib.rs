//! `taosim._taosim`: the native half of the Python package.
//!
//! Glue only, as the command line in `src/` is: every call goes to the same `sim` and
//! `analysis` functions the CLI calls, in the same order (load with the same overrides,
//! preflight, run), so a call writes the same bytes as the command. The Python half
//! (`python/taosim/`) turns the folders written here into DataFrames. Long calls release
//! the GIL (`Python::detach`), so other Python threads run meanwhile.

use analysis::analyse::{Options, analyse_folder};
use analysis::compare::{CompareOptions, compare as compare_studies, text_table, write_comparison};
use analysis::report::write_report;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use sim::error::ScenarioError as SimScenarioError;
use sim::run::OutTarget;
use sim::scenario::{self, Source};
use sim::sweep as sim_sweep;
use sim::sweep::execute::MAX_JOBS;
use sim::sweep::{Shard, SweepError, plan};
use std::path::{Path, PathBuf};

pyo3::create_exception!(
    _taosim,
    TaosimError,
    PyException,
    "A taosim call failed while running (the CLI's exit code 1)."
);
pyo3::create_exception!(
    _taosim,
    ScenarioError,
    TaosimError,
    "Bad input: the scenario, sweep, folder or argument (the CLI's exit code 2); the message is the CLI's."
);

/// Why a call failed: bad input (the CLI's exit 2) or a failure while running (exit 1), with
/// the message the CLI prints after `error: ` (one line per problem).
enum Failure {
    BadInput(String),
    Failed(String),
}

impl From<Failure> for PyErr {
    fn from(f: Failure) -> PyErr {
        match f {
            Failure::BadInput(m) => ScenarioError::new_err(m),
            Failure::Failed(m) => TaosimError::new_err(m),
        }
    }
}

fn scenario_errors(errors: &[SimScenarioError]) -> Failure {
    Failure::BadInput(errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"))
}

fn sim_failure(e: &sim::Error) -> Failure {
    if e.is_bad_input() { Failure::BadInput(e.to_string()) } else { Failure::Failed(e.to_string()) }
}

fn sweep_failure(e: &SweepError) -> Failure {
    let message = match e {
        SweepError::Invalid(errors) => errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
        other => other.to_string(),
    };
    if e.is_bad_input() { Failure::BadInput(message) } else { Failure::Failed(message) }
}

fn analysis_failure(e: &analysis::Error) -> Failure {
    match e {
        analysis::Error::Io { .. } => Failure::Failed(e.to_string()),
        _ => Failure::BadInput(e.to_string()),
    }
}

/// The `--set` override of a horizon, as the CLI's `--horizon` makes it: blocks as a TOML
/// integer, a duration as a TOML string.
fn horizon_override(h: &str) -> String {
    let value = if h.trim().parse::<i64>().is_ok() { h.trim().to_string() } else { format!("{:?}", h.trim()) };
    format!("run.horizon={value}")
}

/// The overrides of `taosim run --seed S --horizon H --set ...`, checked as the CLI checks them.
fn run_overrides(seed: Option<u64>, horizon: Option<&str>, set: &[String]) -> Result<Vec<String>, Failure> {
    let mut overrides = set.to_vec();
    if let Some(seed) = seed {
        if seed > i64::MAX as u64 {
            return Err(Failure::BadInput(format!("--seed: {seed} is out of range; allowed 0 ..= {}", i64::MAX)));
        }
        overrides.push(format!("seed={seed}"));
    }
    if let Some(h) = horizon {
        if set.iter().any(|s| s.split_once('=').is_some_and(|(k, _)| k.trim() == "run.horizon")) {
            return Err(Failure::BadInput(
                "--horizon and --set run.horizon both set the horizon; give only one".into(),
            ));
        }
        overrides.push(horizon_override(h));
    }
    Ok(overrides)
}

/// A scenario given as JSON (a Python dict through `json.dumps`) as TOML text.
fn json_to_toml(name: &str, json: &str) -> Result<String, Failure> {
    let table: toml::Table =
        serde_json::from_str(json).map_err(|e| Failure::BadInput(format!("{name}: not a scenario table: {e}")))?;
    toml::to_string(&table).map_err(|e| Failure::BadInput(format!("{name}: cannot be written as TOML: {e}")))
}

/// Where a scenario or sweep comes from: `kind` is `"default"`, `"file"`, `"toml"` or `"json"`.
fn text_of(kind: &str, value: &str) -> Result<Option<String>, Failure> {
    match kind {
        "default" | "file" => Ok(None),
        "toml" => Ok(Some(value.to_string())),
        "json" => json_to_toml("<dict>", value).map(Some),
        other => Err(Failure::BadInput(format!("scenario kind `{other}` is not default, file, toml or json"))),
    }
}

/// The scenario `taosim run` would load for these inputs (see [`run`] for `kind`).
fn load_scenario(
    kind: &str,
    value: &str,
    seed: Option<u64>,
    horizon: Option<&str>,
    set: &[String],
) -> PyResult<scenario::Scenario> {
    let overrides = run_overrides(seed, horizon, set)?;
    let text = text_of(kind, value)?;
    let path = PathBuf::from(value);
    let source = match (&text, kind) {
        (Some(text), _) => Source::Text { name: "<scenario>", text },
        (None, "file") => Source::File(&path),
        (None, _) => Source::BuiltIn,
    };
    Ok(scenario::load(source, &overrides).map_err(|e| scenario_errors(&e))?)
}

/// Runs a scenario into a run folder; returns the folder. `kind` says what `value` is
/// (`default`: the built-in scenario, `file`: a path, `toml`: TOML text, `json`: a table as
/// JSON). The steps are `taosim run`'s.
#[pyfunction]
#[pyo3(signature = (kind, value, seed=None, horizon=None, set=Vec::new(), out=None, force=false))]
#[allow(clippy::too_many_arguments)]
fn run(
    py: Python<'_>,
    kind: &str,
    value: &str,
    seed: Option<u64>,
    horizon: Option<String>,
    set: Vec<String>,
    out: Option<PathBuf>,
    force: bool,
) -> PyResult<String> {
    let scenario = load_scenario(kind, value, seed, horizon.as_deref(), &set)?;
    sim::run::preflight(&scenario).map_err(|e| sim_failure(&e))?;
    let target = match out {
        Some(path) => OutTarget::Exact { path, force },
        None => OutTarget::Auto { root: PathBuf::from("runs") },
    };
    let report = py.detach(|| sim::run::run(&scenario, &target, None)).map_err(|e| sim_failure(&e))?;
    Ok(report.dir.display().to_string())
}

/// Names the events a scenario's horizon cuts off (the CLI's warning), for the same inputs as
/// [`run`]; empty when none.
#[pyfunction]
#[pyo3(signature = (kind, value, seed=None, horizon=None, set=Vec::new()))]
fn events_after_horizon(
    kind: &str,
    value: &str,
    seed: Option<u64>,
    horizon: Option<String>,
    set: Vec<String>,
) -> PyResult<Vec<String>> {
    let scenario = load_scenario(kind, value, seed, horizon.as_deref(), &set)?;
    Ok(sim::run::events_after_horizon(&scenario))
}

/// Runs a sweep (resuming what `out` holds) as `taosim sweep` does; returns the counts
/// `(total, ran, reused, failed, sweep_runs, summary_path)`. `kind` is `file` or `toml`.
#[pyfunction]
#[pyo3(signature = (kind, value, out, jobs=None, shard=None, set=Vec::new()))]
fn sweep(
    py: Python<'_>,
    kind: &str,
    value: &str,
    out: PathBuf,
    jobs: Option<usize>,
    shard: Option<String>,
    set: Vec<String>,
) -> PyResult<(usize, usize, usize, usize, usize, String)> {
    let jobs = match jobs {
        Some(n) if n == 0 || n > MAX_JOBS => {
            return Err(Failure::BadInput(format!("--jobs: {n} is out of range; allowed 1 ..= {MAX_JOBS}")).into());
        }
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let shard =
        shard.as_deref().map(Shard::parse).transpose().map_err(|m| Failure::BadInput(format!("--shard: {m}")))?;
    let (plan, name) = match text_of(kind, value)? {
        None if kind == "file" => (plan::load(Path::new(value), &set), value.to_string()),
        Some(text) => (plan::load_text("<sweep>", "sweep", &text, Path::new(""), &set), "<sweep>".to_string()),
        None => return Err(Failure::BadInput("a sweep needs a file, TOML text or a dict".into()).into()),
    };
    let plan = plan.map_err(|e| sweep_failure(&SweepError::Invalid(e)))?;
    if let Some(problem) = plan.profile_problem() {
        return Err(Failure::BadInput(format!("{name}: {problem}")).into());
    }
    let options = sim_sweep::Options { jobs, shard };
    let stats =
        py.detach(|| sim_sweep::run_sweep(&plan, &out, &options, &mut |_| {})).map_err(|e| sweep_failure(&e))?;
    let p = stats.progress;
    Ok((p.total, p.ran, p.reused, p.failed, stats.sweep_runs, stats.summary.display().to_string()))
}

/// `taosim report DIR [--out OUT]` with the CLI's default options; returns the files written.
#[pyfunction]
#[pyo3(signature = (dir, out=None))]
fn report(py: Python<'_>, dir: PathBuf, out: Option<PathBuf>) -> PyResult<Vec<String>> {
    let options = Options { bands: true, ..Options::default() };
    let out = out.unwrap_or_else(|| dir.clone());
    let files = py
        .detach(|| analyse_folder(&dir, &options).and_then(|a| write_report(&a, &out)))
        .map_err(|e| analysis_failure(&e))?;
    Ok(files.iter().map(|f| f.display().to_string()).collect())
}

/// `taosim compare A B [--out OUT]` with the CLI's default options; returns the terminal
/// table the CLI prints and the files written.
#[pyfunction]
#[pyo3(signature = (a, b, out=None, min_effect=0.01, top=30))]
fn compare(
    py: Python<'_>,
    a: PathBuf,
    b: PathBuf,
    out: Option<PathBuf>,
    min_effect: f64,
    top: usize,
) -> PyResult<(String, Vec<String>)> {
    if !(0.0..=1.0).contains(&min_effect) {
        return Err(Failure::BadInput(format!("--min-effect: {min_effect} is out of range; allowed 0 ..= 1")).into());
    }
    if !(1..=10_000).contains(&top) {
        return Err(Failure::BadInput(format!("--top: {top} is out of range; allowed 1 ..= 10000")).into());
    }
    let options = Options { bands: true, ..Options::default() };
    let out = out.unwrap_or_else(|| {
        let absolute = std::fs::canonicalize(&a).unwrap_or_else(|_| a.clone());
        absolute.parent().map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("."))
    });
    let result = py.detach(|| {
        let studies = analyse_folder(&a, &options).and_then(|sa| Ok((sa, analyse_folder(&b, &options)?)));
        studies.and_then(|(sa, sb)| {
            let comparison = compare_studies(sa, sb, CompareOptions { min_effect, top });
            let files = write_comparison(&comparison, &out)?;
            Ok((text_table(&comparison), files))
        })
    });
    let (table, files) = result.map_err(|e| analysis_failure(&e))?;
    Ok((table, files.iter().map(|f| f.display().to_string()).collect()))
}

/// One subnet's Yuma epoch: `taosim epoch`'s JSON in, its JSON out.
#[pyfunction]
fn epoch(json: &str) -> PyResult<String> {
    sim::chain::yuma::json::run_json(json).map_err(|e| Failure::BadInput(e.to_string()).into())
}

/// Whether TOML text is a sweep (has a top-level `[sweep]` table).
#[pyfunction]
fn is_sweep_text(text: &str) -> bool {
    sim_sweep::is_sweep_text(text)
}

#[pymodule]
fn _taosim(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("TaosimError", m.py().get_type::<TaosimError>())?;
    m.add("ScenarioError", m.py().get_type::<ScenarioError>())?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(events_after_horizon, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(report, m)?)?;
    m.add_function(wrap_pyfunction!(compare, m)?)?;
    m.add_function(wrap_pyfunction!(epoch, m)?)?;
    m.add_function(wrap_pyfunction!(is_sweep_text, m)?)?;
    Ok(())
}
