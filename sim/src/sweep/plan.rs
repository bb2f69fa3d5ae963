//! Sweep files and the plan they resolve to: which runs a sweep has and each run's scenario.
//!
//! ```toml
//! [sweep]
//! name = "halving-timing"            # optional; the file's stem otherwise
//! description = "..."
//! base = "../default.toml"           # relative to this file; or an inline [base] table
//! mode = "grid"                      # "grid" (every combination) or "zip" (i-th with i-th)
//! seeds = { count = 8, first = 1 }   # or a list: seeds = [1, 2, 3]
//!
//! [sweep.set]                        # optional: fixed for every run of this sweep
//! "run.horizon" = "7d"
//!
//! [sweep.vary]                       # the parameters, by scenario path (quoted or nested)
//! "chain.emission.schedule" = ["halving", "smooth"]
//! "chain.initial_issuance_tao" = [15.6e6, 15.7e6]
//! ```
//!
//! Parameters are ordered by path (sorted), whatever the order in the file, so a sweep's run
//! numbering cannot depend on how the TOML library orders tables. In a grid the first
//! parameter varies slowest and the last fastest. Runs are numbered point-major:
//! run `i` is point `i / seeds` with seed `seeds[i % seeds]`, named `p<point>-s<seed>`.
//!
//! Loading resolves the file: the base scenario with `sweep.set` and `--set` applied and every
//! default filled in. The resolved sweep is itself a sweep file (inline base, explicit seed
//! list); its SHA-256 identifies the sweep in manifests, resumption and merges.
//!
//! Errors are checked in two stages, like scenarios. Structure (unknown fields, wrong types,
//! a value the scenario cannot take at all, mismatched zip lengths, bad seeds) makes the sweep
//! file invalid. Ranges are checked per point: a point whose combination of values is out of
//! range is a failed run of the sweep, recorded in its summary, and `taosim check` reports it.

use crate::error::ScenarioError;
use crate::scenario::{self, BUILT_IN, Scenario};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// Most runs one sweep may have (points x seeds): a limit against a mistyped grid.
pub const MAX_RUNS: usize = 1_000_000;

/// How the parameter lists combine into points.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Every combination (the Cartesian product); the last parameter varies fastest.
    #[default]
    Grid,
    /// The i-th value of every list together; all lists have the same length.
    Zip,
}

/// The sweep file as written (the first stage: structure only).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepFile {
    sweep: SweepSection,
    #[serde(default)]
    base: Option<toml::Table>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepSection {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    base: Option<String>,
    #[serde(default)]
    mode: Mode,
    seeds: toml::Value,
    #[serde(default)]
    vary: toml::Table,
    #[serde(default)]
    set: toml::Table,
}

/// The resolved sweep as written into manifests (and loadable as a sweep file).
#[derive(Serialize)]
struct ResolvedFile<'a> {
    sweep: ResolvedSection<'a>,
    base: &'a toml::Table,
}

#[derive(Serialize)]
struct ResolvedSection<'a> {
    name: &'a str,
    description: &'a str,
    mode: Mode,
    seeds: &'a [u64],
    vary: BTreeMap<&'a str, &'a [toml::Value]>,
}

/// One varied scenario field and its values.
#[derive(Clone, Debug, PartialEq)]
pub struct Parameter {
    /// The dotted scenario path (`chain.emission.schedule`).
    pub path: String,
    /// Its values, in the order given.
    pub values: Vec<toml::Value>,
}

/// A point whose scenario is out of range, for `taosim check`.
#[derive(Clone, Debug, PartialEq)]
pub struct PointError {
    /// The point's number.
    pub point: usize,
    /// The problem, naming the sweep file and the varied field where one is to blame.
    pub error: ScenarioError,
}

/// A resolved sweep: its points, seeds and the base every run starts from.
#[derive(Clone, Debug)]
pub struct Plan {
    /// The sweep's name.
    pub name: String,
    /// What it studies.
    pub description: String,
    /// How parameter lists combine.
    pub mode: Mode,
    /// The seeds every point runs with, in order.
    pub seeds: Vec<u64>,
    /// The varied fields, sorted by path.
    pub parameters: Vec<Parameter>,
    /// The resolved base scenario (defaults, `sweep.set` and `--set` applied) as a table.
    pub base: toml::Table,
    /// The sweep file's name, for errors.
    pub source_name: String,
    points: usize,
    strides: Vec<usize>,
    resolved_toml: String,
    digest: String,
}

/// A parameter value as it appears in `summary.csv`: strings bare, the rest as TOML.
pub fn render_value(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Loads a sweep file; `cli_set` are `--set key=value` overrides applied to every run.
pub fn load(path: &Path, cli_set: &[String]) -> Result<Plan, Vec<ScenarioError>> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .map_err(|e| vec![ScenarioError::new(&name, "", format!("cannot read the sweep file: {}", read_error(&e)))])?;
    let base_dir = path.parent().unwrap_or(Path::new(""));
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "sweep".into());
    load_text(&name, &stem, &text, base_dir, cli_set)
}

fn read_error(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::InvalidData => "not UTF-8 text".into(),
        _ => e.to_string(),
    }
}

/// Loads sweep text named `name` (for errors); `default_name` names the sweep when the file
/// does not; a base file path is relative to `base_dir`.
pub fn load_text(
    name: &str,
    default_name: &str,
    text: &str,
    base_dir: &Path,
    cli_set: &[String],
) -> Result<Plan, Vec<ScenarioError>> {
    let err = |field: &str, message: String| ScenarioError::new(name, field, message);
    let table = scenario::parse_toml(name, text).map_err(|e| vec![e])?;
    if !table.contains_key("sweep") {
        return Err(vec![err(
            "",
            "no [sweep] table: this is not a sweep file (run a scenario with `taosim run`)".into(),
        )]);
    }
    let file: SweepFile = scenario::from_table(name, table).map_err(|e| vec![e])?;
    let section = file.sweep;
    let mut errors = Vec::new();

    let sweep_name = section.name.unwrap_or_else(|| default_name.to_string());
    if sweep_name.is_empty()
        || !sweep_name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        errors.push(err("sweep.name", format!("`{sweep_name}` is not allowed; use letters, digits, '-', '_' or '.'")));
    }
    let seeds = parse_seeds(&section.seeds).unwrap_or_else(|message| {
        errors.push(err("sweep.seeds", message));
        Vec::new()
    });

    // The base scenario: a file, an inline table, or the built-in default.
    let (base_source, base_prefix, mut base_table) = match (section.base, file.base) {
        (Some(_), Some(_)) => {
            errors.push(err("sweep.base", "give a base file (sweep.base) or an inline [base] table, not both".into()));
            return Err(errors);
        }
        (Some(relative), None) => {
            let path = base_dir.join(&relative);
            let base_name = path.display().to_string();
            let text = std::fs::read_to_string(&path).map_err(|e| {
                errors
                    .push(err("sweep.base", format!("cannot read the base scenario {base_name}: {}", read_error(&e))));
                errors.clone()
            })?;
            let table = scenario::parse_toml(&base_name, &text).map_err(|e| {
                errors.push(e);
                errors.clone()
            })?;
            (base_name, "", table)
        }
        (None, Some(table)) => (name.to_string(), "base.", table),
        (None, None) => (BUILT_IN.to_string(), "", toml::Table::new()),
    };

    // Fixed overrides: the file's [sweep.set], then the command line's --set.
    let mut fixed_paths: Vec<(String, String)> = Vec::new(); // (path, the field to blame)
    let mut set_list = Vec::new();
    flatten("", &section.set, &mut set_list);
    for (path, value) in set_list {
        let field = format!("sweep.set.{path}");
        if paths_touch(&path, "seed") {
            errors.push(err(&field, "the seed is not fixed here: list the seeds in sweep.seeds".into()));
        } else if let Err(message) = set_path(&mut base_table, &path, value) {
            errors.push(err(&field, message));
        }
        fixed_paths.push((path, field));
    }
    for spec in cli_set {
        let key = spec.split_once('=').map_or(spec.as_str(), |(k, _)| k).trim().to_string();
        if key == "seed" {
            errors.push(ScenarioError::new("--set", "seed", "a sweep's seeds come from sweep.seeds"));
            continue;
        }
        match scenario::apply_override(&mut base_table, spec) {
            Ok(()) => fixed_paths.push((key.clone(), key)),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }

    // Resolve the base: every default filled in, structure checked (ranges are per point).
    let base_scenario: Scenario = scenario::from_table(&base_source, base_table).map_err(|e| {
        let blamed = fixed_paths.iter().find(|(path, _)| paths_touch(&e.field, path));
        vec![match blamed {
            Some((_, field)) if field.starts_with("sweep.") => err(field, e.message),
            Some((_, field)) => ScenarioError::new("--set", field.as_str(), e.message),
            None => ScenarioError::new(&base_source, format!("{base_prefix}{}", e.field), e.message),
        }]
    })?;
    let mut base = toml::Table::try_from(&base_scenario)
        .map_err(|e| vec![err("base", format!("cannot render the resolved base scenario: {e}"))])?;
    // Each run's seed comes from sweep.seeds; a seed left in the base would only mislead.
    base.remove("seed");

    // The varied parameters, sorted by path, each value checked for structure on the base.
    let mut vary_list = Vec::new();
    flatten("", &section.vary, &mut vary_list);
    vary_list.sort_by(|a, b| a.0.cmp(&b.0));
    let mut parameters: Vec<Parameter> = Vec::new();
    for (path, value) in vary_list {
        let field = format!("sweep.vary.{path}");
        if paths_touch(&path, "seed") {
            errors.push(err(&field, "the seed is not a parameter: list the seeds in sweep.seeds".into()));
            continue;
        }
        if let Some((_, fixed)) = fixed_paths.iter().find(|(p, _)| paths_touch(p, &path)) {
            errors.push(err(&field, format!("is also fixed by {fixed}; a field is either varied or fixed")));
            continue;
        }
        if let Some(other) = parameters.iter().find(|p| paths_touch(&p.path, &path)) {
            errors.push(err(&field, format!("overlaps sweep.vary.{}; vary each field once", other.path)));
            continue;
        }
        let toml::Value::Array(values) = value else {
            errors.push(err(&field, format!("`{value}` is not a list; give the values to try, e.g. [1, 2, 3]")));
            continue;
        };
        if values.is_empty() {
            errors.push(err(&field, "the list is empty; give at least one value".into()));
            continue;
        }
        // Keyed by TOML text: 1 and 1.0 differ, as they do for the scenario's types.
        let mut seen = std::collections::BTreeSet::new();
        if let Some((i, v)) = values.iter().enumerate().find(|(_, v)| !seen.insert(v.to_string())) {
            errors.push(err(&field, format!("the value {} appears twice (item {})", render_value(v), i + 1)));
            continue;
        }
        let problems: Vec<(String, String)> = values
            .iter()
            .filter_map(|v| {
                let mut table = base.clone();
                set_path(&mut table, &path, v.clone())
                    .and_then(|()| {
                        scenario::from_table::<Scenario>(name, table).map(|_| ()).map_err(|e| e_text(&e, &path))
                    })
                    .err()
                    .map(|message| (message, render_value(v)))
            })
            .collect();
        if values.len() > 1 && problems.len() == values.len() && problems.iter().all(|(m, _)| *m == problems[0].0) {
            // The path itself is wrong (every value fails alike): say it once.
            errors.push(err(&field, problems[0].0.clone()));
        } else if !problems.is_empty() {
            errors
                .extend(problems.into_iter().map(|(message, value)| err(&field, format!("{message} (value {value})"))));
        } else {
            parameters.push(Parameter { path, values });
        }
    }

    let points = match section.mode {
        Mode::Grid => parameters.iter().try_fold(1usize, |acc, p| acc.checked_mul(p.values.len())),
        Mode::Zip => {
            let lengths: Vec<usize> = parameters.iter().map(|p| p.values.len()).collect();
            if lengths.windows(2).any(|w| w[0] != w[1]) {
                let list: Vec<String> =
                    parameters.iter().map(|p| format!("{} has {}", p.path, p.values.len())).collect();
                errors.push(err(
                    "sweep.vary",
                    format!("in zip mode every list has the same length; {}", list.join(", ")),
                ));
            }
            Some(lengths.first().copied().unwrap_or(1))
        }
    };
    let runs = points.and_then(|p| p.checked_mul(seeds.len().max(1)));
    if runs.is_none_or(|r| r > MAX_RUNS) {
        errors.push(err("sweep", format!("more than {MAX_RUNS} runs (points x seeds); split the sweep")));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Plan::new(
        sweep_name,
        section.description,
        section.mode,
        seeds,
        parameters,
        base,
        name.to_string(),
        points.unwrap_or(1),
    )
    .map_err(|message| vec![err("", message)])
}

/// A scenario error's text relative to a parameter path: a field below the path is named.
fn e_text(e: &ScenarioError, path: &str) -> String {
    let below = e.field.starts_with(&format!("{path}."));
    if below { format!("{}: {}", e.field, e.message) } else { e.message.clone() }
}

/// Whether two dotted paths are the same field or one contains the other.
fn paths_touch(a: &str, b: &str) -> bool {
    let inside = |long: &str, short: &str| {
        long.len() > short.len() && long.starts_with(short) && long[short.len()..].starts_with('.')
    };
    !a.is_empty() && !b.is_empty() && (a == b || inside(a, b) || inside(b, a))
}

fn parse_seeds(value: &toml::Value) -> Result<Vec<u64>, String> {
    let max = i64::MAX;
    let expected = "expected a list of seeds ([1, 2, 3]) or a count ({ count = 10, first = 1 })";
    let seed = |v: &toml::Value| match v {
        toml::Value::Integer(n) if *n >= 0 => Ok(*n as u64),
        other => Err(format!("`{other}` is not a seed; seeds are integers 0 ..= {max}")),
    };
    match value {
        toml::Value::Array(items) => {
            if items.is_empty() {
                return Err(format!("the list is empty; {expected}"));
            }
            if items.len() > MAX_RUNS {
                return Err(format!("{} seeds is more than the limit of {MAX_RUNS}", items.len()));
            }
            let seeds = items.iter().map(seed).collect::<Result<Vec<u64>, String>>()?;
            let mut sorted = seeds.clone();
            sorted.sort_unstable();
            if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
                return Err(format!("seed {} appears twice; every run of a point needs its own seed", w[0]));
            }
            Ok(seeds)
        }
        toml::Value::Table(t) => {
            if let Some(key) = t.keys().find(|k| *k != "count" && *k != "first") {
                return Err(format!("unknown key `{key}`; expected `count` and optionally `first`"));
            }
            let count = match t.get("count") {
                Some(toml::Value::Integer(n)) if *n >= 1 && *n as u64 <= MAX_RUNS as u64 => *n as u64,
                Some(other) => return Err(format!("count `{other}` is out of range; allowed 1 ..= {MAX_RUNS}")),
                None => return Err(format!("missing `count`; {expected}")),
            };
            let first = match t.get("first") {
                None => 0,
                Some(v) => seed(v).map_err(|m| format!("first: {m}"))?,
            };
            if first.checked_add(count - 1).is_none_or(|last| last > max as u64) {
                return Err(format!("seeds {first} .. {first} + {count} go past {max}"));
            }
            Ok((first..first + count).collect())
        }
        other => Err(format!("`{other}` is not a seed list; {expected}")),
    }
}

/// Flattens nested tables into (dotted path, leaf value) pairs, in the table's order.
fn flatten(prefix: &str, table: &toml::Table, out: &mut Vec<(String, toml::Value)>) {
    for (key, value) in table {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        match value {
            toml::Value::Table(inner) => flatten(&path, inner, out),
            leaf => out.push((path, leaf.clone())),
        }
    }
}

/// Sets the field at a dotted path, creating sections on the way (like `--set`).
pub fn set_path(table: &mut toml::Table, path: &str, value: toml::Value) -> Result<(), String> {
    let segments: Vec<&str> = path.split('.').collect();
    if segments.iter().any(|s| s.trim().is_empty()) {
        return Err(format!("`{path}` has an empty segment; expected a dotted path such as chain.tempo"));
    }
    let Some((last, parents)) = segments.split_last() else {
        return Err("empty path".into());
    };
    let mut current = table;
    for (depth, segment) in parents.iter().enumerate() {
        let entry = current.entry((*segment).to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        match entry {
            toml::Value::Table(inner) => current = inner,
            _ => {
                return Err(format!(
                    "`{}` is a value, not a section; cannot set a field inside it",
                    segments[..=depth].join(".")
                ));
            }
        }
    }
    current.insert((*last).to_string(), value);
    Ok(())
}

impl Plan {
    #[allow(clippy::too_many_arguments)]
    fn new(
        name: String,
        description: String,
        mode: Mode,
        seeds: Vec<u64>,
        parameters: Vec<Parameter>,
        base: toml::Table,
        source_name: String,
        points: usize,
    ) -> Result<Self, String> {
        let mut strides = vec![1usize; parameters.len()];
        if mode == Mode::Grid {
            for j in (0..parameters.len().saturating_sub(1)).rev() {
                strides[j] = strides[j + 1].saturating_mul(parameters[j + 1].values.len());
            }
        }
        let resolved = ResolvedFile {
            sweep: ResolvedSection {
                name: &name,
                description: &description,
                mode,
                seeds: &seeds,
                vary: parameters.iter().map(|p| (p.path.as_str(), p.values.as_slice())).collect(),
            },
            base: &base,
        };
        let resolved_toml =
            toml::to_string(&resolved).map_err(|e| format!("cannot render the resolved sweep as TOML: {e}"))?;
        let digest = hex::encode(Sha256::digest(resolved_toml.as_bytes()));
        Ok(Self {
            name,
            description,
            mode,
            seeds,
            parameters,
            base,
            source_name,
            points,
            strides,
            resolved_toml,
            digest,
        })
    }

    /// Number of points (parameter combinations).
    pub fn points(&self) -> usize {
        self.points
    }

    /// Number of runs: points x seeds.
    pub fn runs(&self) -> usize {
        self.points * self.seeds.len()
    }

    /// The point of run `index`.
    pub fn point_of(&self, index: usize) -> usize {
        index / self.seeds.len().max(1)
    }

    /// The seed of run `index`.
    pub fn seed_of(&self, index: usize) -> u64 {
        self.seeds.get(index % self.seeds.len().max(1)).copied().unwrap_or(0)
    }

    /// The name of a point: `p0003` (digits widen past 9999 points).
    pub fn point_id(&self, point: usize) -> String {
        let width = self.points.saturating_sub(1).to_string().len().max(4);
        format!("p{point:0width$}")
    }

    /// The name of run `index`'s folder: `p0003-s42`.
    pub fn run_id(&self, index: usize) -> String {
        format!("{}-s{}", self.point_id(self.point_of(index)), self.seed_of(index))
    }

    /// The (path, value) overrides of a point, in parameter order.
    pub fn overrides(&self, point: usize) -> Vec<(&str, &toml::Value)> {
        self.parameters
            .iter()
            .zip(&self.strides)
            .filter_map(|(p, stride)| {
                let i = match self.mode {
                    Mode::Grid => (point / stride) % p.values.len().max(1),
                    Mode::Zip => point,
                };
                p.values.get(i).map(|v| (p.path.as_str(), v))
            })
            .collect()
    }

    /// A point's overrides for people: `chain.tempo = 99, chain.emission.schedule = smooth`.
    pub fn describe_point(&self, point: usize) -> String {
        let parts: Vec<String> =
            self.overrides(point).iter().map(|(path, v)| format!("{path} = {}", render_value(v))).collect();
        if parts.is_empty() { "the base scenario".into() } else { parts.join(", ") }
    }

    /// The first calibration profile the points name that does not load (each distinct profile
    /// is read once): bad input for the whole sweep, which `check` and `sweep` (and Python's
    /// `taosim.sweep`) report before any run, as `run` does for one scenario.
    pub fn profile_problem(&self) -> Option<String> {
        let mut seen = std::collections::BTreeSet::new();
        for point in 0..self.points() {
            let Ok(scenario) = self.scenario(point * self.seeds.len()) else { continue };
            if seen.insert(scenario.calibration_profile.clone())
                && let Err(e) = crate::calibration::UsedProfile::for_scenario(&scenario)
            {
                return Some(e.to_string());
            }
        }
        None
    }

    /// The resolved scenario of run `index`, or the range errors of its point.
    pub fn scenario(&self, index: usize) -> Result<Scenario, Vec<ScenarioError>> {
        self.scenario_at(self.point_of(index), self.seed_of(index))
    }

    fn scenario_at(&self, point: usize, seed: u64) -> Result<Scenario, Vec<ScenarioError>> {
        let mut table = self.base.clone();
        for (path, value) in self.overrides(point) {
            set_path(&mut table, path, value.clone())
                .map_err(|m| vec![ScenarioError::new(&self.source_name, format!("sweep.vary.{path}"), m)])?;
        }
        table.insert("seed".into(), toml::Value::Integer(i64::try_from(seed).unwrap_or(i64::MAX)));
        let scenario: Scenario = scenario::from_table(&self.source_name, table).map_err(|e| vec![e])?;
        scenario.validate(&self.source_name)?;
        Ok(scenario)
    }

    /// Every point whose scenario fails validation, each error naming the varied field to
    /// blame (`sweep.vary.<path>`) or, for a field the sweep does not vary, that field.
    pub fn check_points(&self) -> Vec<PointError> {
        let first_seed = self.seeds.first().copied().unwrap_or(0);
        let mut out = Vec::new();
        for point in 0..self.points {
            let Err(errors) = self.scenario_at(point, first_seed) else { continue };
            let overrides = self.overrides(point);
            for e in errors {
                let field = match overrides.iter().find(|(path, _)| paths_touch(&e.field, path)) {
                    Some((path, _)) => format!("sweep.vary.{path}"),
                    None => e.field.clone(),
                };
                out.push(PointError { point, error: ScenarioError::new(&self.source_name, field, e.message) });
            }
        }
        out
    }

    /// The resolved sweep as a sweep file (inline base, explicit seeds): what manifests record.
    pub fn resolved_toml(&self) -> &str {
        &self.resolved_toml
    }

    /// SHA-256 (hex) of [`Plan::resolved_toml`]: the sweep's identity.
    pub fn digest(&self) -> &str {
        &self.digest
    }
}

/// The text of a run's failure from its scenario errors, without the file name (the row
/// names the run): `chain.tempo: 0 is out of range; allowed 1 ..= 50400`.
pub fn errors_text(errors: &[ScenarioError]) -> String {
    errors
        .iter()
        .map(|e| if e.field.is_empty() { e.message.clone() } else { format!("{}: {}", e.field, e.message) })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str) -> Result<Plan, Vec<ScenarioError>> {
        load_text("s.toml", "s", text, Path::new("."), &[])
    }

    fn first_error(text: &str) -> String {
        plan(text).expect_err("should fail")[0].to_string()
    }

    const GRID: &str = r#"
        [sweep]
        seeds = [7, 3]
        [sweep.vary]
        "chain.tempo" = [10, 20, 30]
        chain.emission.schedule = ["halving", "smooth"]
        [base]
        run.horizon = 50
    "#;

    #[test]
    fn a_grid_numbers_runs_point_major_with_the_last_parameter_fastest() {
        let p = plan(GRID).expect("valid");
        assert_eq!((p.points(), p.runs()), (6, 12));
        assert_eq!(
            p.parameters.iter().map(|x| x.path.as_str()).collect::<Vec<_>>(),
            ["chain.emission.schedule", "chain.tempo"]
        );
        assert_eq!(p.run_id(0), "p0000-s7");
        assert_eq!(p.run_id(1), "p0000-s3");
        assert_eq!(p.run_id(11), "p0005-s3");
        assert_eq!(p.describe_point(0), "chain.emission.schedule = halving, chain.tempo = 10");
        assert_eq!(p.describe_point(2), "chain.emission.schedule = halving, chain.tempo = 30");
        assert_eq!(p.describe_point(3), "chain.emission.schedule = smooth, chain.tempo = 10");
        let s = p.scenario(7).expect("valid");
        assert_eq!((s.seed, s.chain.tempo, s.horizon_blocks()), (3, 10, 50));
        assert_eq!(s.chain.emission.schedule, scenario::ScheduleKind::Smooth);
        assert!(p.check_points().is_empty());
    }

    #[test]
    fn zip_pairs_values_and_seed_counts_expand() {
        let p = plan(
            "[sweep]\nmode = \"zip\"\nseeds = { count = 3, first = 10 }\n[sweep.vary]\n\"chain.tempo\" = [1, 2]\n\"run.sample_every_blocks\" = [5, 6]\n",
        )
        .expect("valid");
        assert_eq!(p.seeds, [10, 11, 12]);
        assert_eq!((p.points(), p.runs()), (2, 6));
        assert_eq!(p.describe_point(1), "chain.tempo = 2, run.sample_every_blocks = 6");
        let e = first_error(
            "[sweep]\nmode = \"zip\"\nseeds = [1]\n[sweep.vary]\n\"chain.tempo\" = [1, 2]\n\"run.sample_every_blocks\" = [5]\n",
        );
        assert_eq!(
            e,
            "s.toml: sweep.vary: in zip mode every list has the same length; chain.tempo has 2, run.sample_every_blocks has 1"
        );
    }

    #[test]
    fn no_parameters_is_one_point_and_ids_widen_past_9999_points() {
        let p = plan("[sweep]\nseeds = [5]\n").expect("valid");
        assert_eq!((p.points(), p.run_id(0), p.describe_point(0)), (1, "p0000-s5".into(), "the base scenario".into()));
        let every: Vec<String> = (1..=1001).map(|n| n.to_string()).collect();
        let text = format!(
            "[sweep]\nseeds = [1]\n[sweep.vary]\n\"chain.tempo\" = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n\"run.sample_every_blocks\" = [{}]\n",
            every.join(", ")
        );
        let p = plan(&text).expect("valid");
        assert_eq!(p.points(), 10_010);
        assert_eq!(p.run_id(0), "p00000-s1");
        assert_eq!(p.run_id(10_009), "p10009-s1");
    }

    #[test]
    fn the_resolved_sweep_loads_back_to_the_same_plan() {
        let p = plan(GRID).expect("valid");
        let again = load_text("r.toml", "other", p.resolved_toml(), Path::new("."), &[]).expect("valid");
        assert_eq!(again.resolved_toml(), p.resolved_toml());
        assert_eq!(again.digest(), p.digest());
        assert_eq!(again.name, "s");
        let changed = plan(&GRID.replace("[7, 3]", "[7, 4]")).expect("valid");
        assert_ne!(changed.digest(), p.digest());
    }

    #[test]
    fn fixed_overrides_fold_into_the_base() {
        let text = "[sweep]\nseeds = [1]\n[sweep.set]\n\"run.horizon\" = \"2h\"\n";
        let p = load_text("s.toml", "s", text, Path::new("."), &["chain.tempo=7".into()]).expect("valid");
        let s = p.scenario(0).expect("valid");
        assert_eq!((s.horizon_blocks(), s.chain.tempo), (600, 7));
        let e = load_text(
            "s.toml",
            "s",
            "[sweep]\nseeds=[1]\n[sweep.vary]\n\"chain.tempo\"=[1]\n",
            Path::new("."),
            &["chain.tempo=7".into()],
        )
        .expect_err("conflict");
        assert_eq!(
            e[0].to_string(),
            "s.toml: sweep.vary.chain.tempo: is also fixed by chain.tempo; a field is either varied or fixed"
        );
    }

    #[test]
    fn structural_errors_name_the_sweep_file_and_the_field() {
        assert_eq!(
            first_error("[run]\nhorizon = 5\n"),
            "s.toml: no [sweep] table: this is not a sweep file (run a scenario with `taosim run`)"
        );
        assert!(
            first_error("[sweep]\nseeds = [1]\nmode = \"gird\"\n")
                .starts_with("s.toml: sweep.mode: unknown variant `gird`, expected `grid` or `zip`")
        );
        assert!(
            first_error("[sweep]\nseeds = [1]\nvaryy = 1\n").starts_with("s.toml: sweep.varyy: unknown field `varyy`")
        );
        assert!(first_error("[sweep]\n").starts_with("s.toml: sweep: missing field `seeds`"));
        assert_eq!(
            first_error("[sweep]\nseeds = []\n"),
            "s.toml: sweep.seeds: the list is empty; expected a list of seeds ([1, 2, 3]) or a count ({ count = 10, first = 1 })"
        );
        assert_eq!(
            first_error("[sweep]\nseeds = [1, -2]\n"),
            format!("s.toml: sweep.seeds: `-2` is not a seed; seeds are integers 0 ..= {}", i64::MAX)
        );
        assert_eq!(
            first_error("[sweep]\nseeds = [4, 1, 4]\n"),
            "s.toml: sweep.seeds: seed 4 appears twice; every run of a point needs its own seed"
        );
        assert_eq!(
            first_error("[sweep]\nseeds = { count = 0 }\n"),
            format!("s.toml: sweep.seeds: count `0` is out of range; allowed 1 ..= {MAX_RUNS}")
        );
        assert_eq!(
            first_error("[sweep]\nseeds = 5\n"),
            "s.toml: sweep.seeds: `5` is not a seed list; expected a list of seeds ([1, 2, 3]) or a count ({ count = 10, first = 1 })"
        );
        assert!(
            first_error("[sweep]\nseeds = [1]\n[sweep.vary]\n\"chain.tempoo\" = [1]\n")
                .starts_with("s.toml: sweep.vary.chain.tempoo: unknown field `tempoo`, expected one of")
        );
        assert!(first_error("[sweep]\nseeds = [1]\n[sweep.vary]\n\"chain.emission.schedule\" = [\"halving\", \"cliff\"]\n")
            .starts_with("s.toml: sweep.vary.chain.emission.schedule: unknown variant `cliff`, expected `halving` or `smooth` (value cliff)"));
        assert!(
            first_error("[sweep]\nseeds = [1]\n[sweep.vary]\n\"chain.tempo\" = [1, \"fast\"]\n")
                .starts_with("s.toml: sweep.vary.chain.tempo: invalid type: string \"fast\"")
        );
        assert_eq!(
            first_error("[sweep]\nseeds = [1]\n[sweep.vary]\n\"chain.tempo\" = 5\n"),
            "s.toml: sweep.vary.chain.tempo: `5` is not a list; give the values to try, e.g. [1, 2, 3]"
        );
        assert_eq!(
            first_error("[sweep]\nseeds = [1]\n[sweep.vary]\n\"chain.tempo\" = [5, 5]\n"),
            "s.toml: sweep.vary.chain.tempo: the value 5 appears twice (item 2)"
        );
        assert_eq!(
            first_error("[sweep]\nseeds = [1]\n[sweep.vary]\n\"seed\" = [5]\n"),
            "s.toml: sweep.vary.seed: the seed is not a parameter: list the seeds in sweep.seeds"
        );
        assert_eq!(
            first_error("[sweep]\nseeds = [1]\n[sweep.vary]\n\"chain\" = [{ tempo = 1 }]\n\"chain.tempo\" = [2]\n"),
            "s.toml: sweep.vary.chain.tempo: overlaps sweep.vary.chain; vary each field once"
        );
        assert_eq!(
            first_error("[sweep]\nseeds = [1]\n[sweep.vary]\n\"seed.x\" = [5]\n"),
            "s.toml: sweep.vary.seed.x: the seed is not a parameter: list the seeds in sweep.seeds"
        );
        assert_eq!(
            first_error("[sweep]\nseeds = [1]\n[sweep.vary]\n\"run.horizon.x\" = [5]\n"),
            "s.toml: sweep.vary.run.horizon.x: `run.horizon` is a value, not a section; cannot set a field inside it (value 5)"
        );
        assert!(
            first_error("[sweep]\nseeds = [1]\n[base]\nchain.tempoo = 3\n")
                .starts_with("s.toml: base.chain.tempoo: unknown field `tempoo`")
        );
        assert!(
            first_error("[sweep]\nseeds = [1]\n[sweep.set]\n\"chain.tempoo\" = 3\n")
                .starts_with("s.toml: sweep.set.chain.tempoo: unknown field `tempoo`")
        );
        assert_eq!(
            first_error("[sweep]\nseeds = [1]\nbase = \"nope.toml\"\n"),
            "s.toml: sweep.base: cannot read the base scenario ./nope.toml: no such file"
        );
        assert_eq!(
            first_error("[sweep]\nseeds = [1]\nbase = \"x.toml\"\n[base]\n"),
            "s.toml: sweep.base: give a base file (sweep.base) or an inline [base] table, not both"
        );
        assert_eq!(
            first_error("[sweep]\nname = \"a b\"\nseeds = [1]\n"),
            "s.toml: sweep.name: `a b` is not allowed; use letters, digits, '-', '_' or '.'"
        );
        assert!(first_error("[sweep\n").starts_with("s.toml: malformed TOML: line 1"));
        assert_eq!(
            first_error("[sweep]\nseeds = { count = 1000001 }\n"),
            format!("s.toml: sweep.seeds: count `1000001` is out of range; allowed 1 ..= {MAX_RUNS}")
        );
    }

    #[test]
    fn out_of_range_points_are_reported_per_point_and_blame_the_varied_field() {
        let p = plan("[sweep]\nseeds = [1, 2]\n[sweep.vary]\n\"chain.tempo\" = [0, 360]\n\"chain.emission.supply_cap_tao\" = [1e6, 21e6]\n")
            .expect("structurally valid");
        let errors = p.check_points();
        let text: Vec<String> = errors.iter().map(|e| format!("{}: {}", e.point, e.error)).collect();
        assert_eq!(
            text,
            [
                "0: s.toml: sweep.vary.chain.tempo: 0 is out of range; allowed 1 ..= 50400",
                "0: s.toml: chain.initial_issuance_tao: 15700000 TAO is out of range; allowed 0 ..= 1000000 TAO",
                "1: s.toml: chain.initial_issuance_tao: 15700000 TAO is out of range; allowed 0 ..= 1000000 TAO",
                "2: s.toml: sweep.vary.chain.tempo: 0 is out of range; allowed 1 ..= 50400",
            ]
        );
        let e = p.scenario(0).expect_err("point 0 is out of range");
        assert_eq!(
            errors_text(&e),
            "chain.tempo: 0 is out of range; allowed 1 ..= 50400; chain.initial_issuance_tao: 15700000 TAO is out of range; allowed 0 ..= 1000000 TAO"
        );
        assert!(p.scenario(6).is_ok());
    }

    #[test]
    fn paths_touch_only_on_segment_boundaries() {
        assert!(paths_touch("chain", "chain.tempo"));
        assert!(paths_touch("chain.tempo", "chain.tempo"));
        assert!(!paths_touch("chain.tempo", "chain.tempos"));
        assert!(!paths_touch("", "chain"));
    }
}
