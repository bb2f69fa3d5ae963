//! What a report is about: one run, a sweep, or a folder of run folders, as runs in groups.
//!
//! - **Run folder**: `manifest.json` of format `taosim-run/1`. One group, one run.
//! - **Sweep folder**: `summary.csv` (one row per run: `run_id, point, seed`, then each varied
//!   parameter by its scenario path, then `status` (`ok`|`failed`), `error`, then the headline
//!   metrics), `manifest.json` and `runs/<run_id>/` run folders. A group is a sweep point (a
//!   setting of the varied parameters); its runs differ by seed.
//! - **Folder of run folders** (e.g. `runs/`): every sub-folder that is a run folder. The
//!   varied parameters are the scenario fields (from the manifests, seed and name aside) whose
//!   values differ between runs; runs with equal values form a group.

use crate::error::{Error, Result};
use crate::folder::{SUMMARY, read_json, read_summary};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The sweep's per-run table.
pub const SWEEP_SUMMARY: &str = "summary.csv";

/// What kind of folder a study was read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StudyKind {
    /// One run folder.
    Run,
    /// A sweep folder.
    Sweep,
    /// A folder of run folders.
    Collection,
}

impl StudyKind {
    /// The kind in words.
    pub fn word(self) -> &'static str {
        match self {
            StudyKind::Run => "run",
            StudyKind::Sweep => "sweep",
            StudyKind::Collection => "folder of runs",
        }
    }
}

/// A setting of the varied parameters and the runs made with it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Stable key: the sweep's point id, or the parameter values.
    pub key: String,
    /// For people: `chain.tempo=99, market.depth_usd=1e6`, or `all runs`.
    pub label: String,
    /// The value of each varied parameter, in [`Study::params`] order.
    pub values: Vec<String>,
}

/// One successful run.
#[derive(Clone, Debug, PartialEq)]
pub struct RunEntry {
    /// Run id (the sweep's `run_id` or the folder's name).
    pub id: String,
    /// Index into [`Study::groups`].
    pub group: usize,
    /// The run's seed, when known.
    pub seed: Option<u64>,
    /// Its run folder, when present.
    pub dir: Option<PathBuf>,
    /// Headline scalars (from `summary.csv` or the run's `summary.json`), in file order.
    pub summary: Vec<(String, f64)>,
}

/// A run that failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailedRun {
    /// Run id.
    pub id: String,
    /// Its group's label.
    pub group: String,
    /// Its seed as written.
    pub seed: String,
    /// The error recorded for it.
    pub error: String,
}

/// Runs grouped by parameter setting.
#[derive(Clone, Debug, PartialEq)]
pub struct Study {
    /// What the folder is.
    pub kind: StudyKind,
    /// The folder's name (never a full path: reports do not depend on where they are made).
    pub name: String,
    /// The folder.
    pub root: PathBuf,
    /// Facts for the report's header (`taosim version`, `scenario`, ...).
    pub facts: Vec<(String, String)>,
    /// Varied parameters by scenario path.
    pub params: Vec<String>,
    /// Parameter settings, in the order they first appear.
    pub groups: Vec<Group>,
    /// Successful runs, in the folder's order.
    pub runs: Vec<RunEntry>,
    /// Failed runs.
    pub failed: Vec<FailedRun>,
    /// Remarks about what could not be read.
    pub notes: Vec<String>,
}

impl Study {
    /// The short label of setting `g` (`s01`, `s02`, ...; three digits from 100 settings):
    /// every CSV row and chart names a setting by it, and `settings.csv` maps it to the
    /// parameters' full values (which can be long TOML, e.g. a list of events).
    pub fn setting_label(&self, g: usize) -> String {
        sim::sweep::setting_label(g, self.groups.len())
    }

    /// Indices of the runs of group `g`.
    pub fn runs_of(&self, g: usize) -> Vec<usize> {
        self.runs.iter().enumerate().filter(|(_, r)| r.group == g).map(|(i, _)| i).collect()
    }
}

fn folder_name(path: &Path) -> String {
    std::fs::canonicalize(path)
        .ok()
        .as_deref()
        .and_then(Path::file_name)
        .or_else(|| path.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| ".".into())
}

fn json_scalar(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Reads a run, sweep or collection folder.
pub fn load(root: &Path) -> Result<Study> {
    if !root.is_dir() {
        return Err(Error::NotAStudy(root.to_path_buf()));
    }
    if root.join(SWEEP_SUMMARY).is_file() {
        load_sweep(root)
    } else if root.join(sim::output::MANIFEST).is_file() {
        load_run(root)
    } else {
        load_collection(root)
    }
}

/// A run folder's manifest and headline scalars.
fn read_run(dir: &Path) -> Result<(sim::output::Manifest, Vec<(String, f64)>)> {
    let manifest = sim::output::read_manifest(dir).map_err(|e| Error::Manifest(e.to_string()))?;
    let summary_path = dir.join(SUMMARY);
    let summary = if summary_path.is_file() { read_summary(&summary_path)? } else { Vec::new() };
    Ok((manifest, summary))
}

fn run_facts(manifest: &sim::output::Manifest) -> Vec<(String, String)> {
    let mut facts = vec![("taosim version".to_string(), manifest.taosim_version.clone())];
    if let Some(name) = manifest.scenario.get("name") {
        facts.push(("scenario".into(), json_scalar(name)));
    }
    if let Some(description) = manifest.scenario.get("description").map(json_scalar).filter(|d| !d.is_empty()) {
        facts.push(("description".into(), description));
    }
    if let Some(profile) = &manifest.calibration_profile {
        facts.push(("calibration profile".into(), profile_summary(profile)));
    }
    facts
}

/// Most characters of a fact taken from a manifest's text (a profile's source or origin).
const MAX_FACT_CHARS: usize = 160;

/// A calibration profile in one line: its name or source and the start of its digest (the
/// manifest also holds its whole TOML, ~60 lines, which a report header must not repeat).
fn profile_summary(profile: &serde_json::Value) -> String {
    let field = |key: &str| profile.get(key).map(json_scalar).filter(|v| !v.trim().is_empty());
    let mut text = field("name").or_else(|| field("source")).unwrap_or_else(|| "unnamed".into());
    if text.chars().count() > MAX_FACT_CHARS {
        text = text.chars().take(MAX_FACT_CHARS - 1).chain(['…']).collect();
    }
    match field("sha256") {
        Some(digest) => format!("{text} (sha256 {}…)", digest.chars().take(12).collect::<String>()),
        None => text,
    }
}

fn load_run(root: &Path) -> Result<Study> {
    let (manifest, summary) = read_run(root)?;
    let mut facts = run_facts(&manifest);
    facts.push(("seed".into(), manifest.seed.to_string()));
    Ok(Study {
        kind: StudyKind::Run,
        name: folder_name(root),
        root: root.to_path_buf(),
        facts,
        params: Vec::new(),
        groups: vec![Group { key: "run".into(), label: "this run".into(), values: Vec::new() }],
        runs: vec![RunEntry {
            id: folder_name(root),
            group: 0,
            seed: Some(manifest.seed),
            dir: Some(root.to_path_buf()),
            summary,
        }],
        failed: Vec::new(),
        notes: Vec::new(),
    })
}

fn group_label(params: &[String], values: &[String]) -> String {
    if params.is_empty() {
        return "all runs".into();
    }
    params.iter().zip(values).map(|(p, v)| format!("{p}={v}")).collect::<Vec<_>>().join(", ")
}

fn load_sweep(root: &Path) -> Result<Study> {
    let path = root.join(SWEEP_SUMMARY);
    let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, "cannot read", e))?;
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(std::io::BufReader::new(file));
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| Error::format(&path, format!("malformed CSV: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let find = |name: &str| header.iter().position(|h| h == name);
    let (Some(id_at), Some(seed_at), Some(status_at)) = (find("run_id"), find("seed"), find("status")) else {
        return Err(Error::format(&path, "a sweep summary needs the columns run_id, seed and status"));
    };
    if status_at < seed_at {
        return Err(Error::format(
            &path,
            "the varied parameters sit between `seed` and `status`: `status` must come after `seed`",
        ));
    }
    let point_at = find("point");
    let error_at = find("error");
    let params: Vec<String> = header[seed_at + 1..status_at].to_vec();
    let param_at: Vec<usize> = (seed_at + 1..status_at).collect();
    let metrics_from = error_at.filter(|&e| e > status_at).unwrap_or(status_at) + 1;
    let metric_at: Vec<usize> = (metrics_from..header.len()).collect();
    let mut study = Study {
        kind: StudyKind::Sweep,
        name: folder_name(root),
        root: root.to_path_buf(),
        facts: Vec::new(),
        params,
        groups: Vec::new(),
        runs: Vec::new(),
        failed: Vec::new(),
        notes: Vec::new(),
    };
    let manifest_path = root.join(sim::output::MANIFEST);
    if manifest_path.is_file() {
        let manifest = read_json(&manifest_path)?;
        for key in ["format", "name", "taosim_version", "description"] {
            if let Some(v) = manifest.get(key).map(json_scalar).filter(|v| !v.is_empty()) {
                study.facts.push((key.replace('_', " "), v));
            }
        }
    }
    let mut group_of: BTreeMap<String, usize> = BTreeMap::new();
    let mut missing_dirs = 0usize;
    let mut record = csv::StringRecord::new();
    let mut line = 1u64;
    while reader.read_record(&mut record).map_err(|e| Error::format(&path, format!("malformed CSV: {e}")))? {
        line += 1;
        let cell = |i: usize| record.get(i).unwrap_or("").trim().to_string();
        let values: Vec<String> = param_at.iter().map(|&i| cell(i)).collect();
        let key = point_at.map(cell).filter(|p| !p.is_empty()).unwrap_or_else(|| values.join("\u{1f}"));
        let group = *group_of.entry(key.clone()).or_insert_with(|| {
            study.groups.push(Group { key: key.clone(), label: group_label(&study.params, &values), values });
            study.groups.len() - 1
        });
        let id = cell(id_at);
        if id.is_empty() {
            return Err(Error::format(&path, format!("line {line}: empty run_id")));
        }
        let status = cell(status_at);
        if status != "ok" {
            study.failed.push(FailedRun {
                id,
                group: study.groups[group].label.clone(),
                seed: cell(seed_at),
                error: error_at.map(cell).filter(|e| !e.is_empty()).unwrap_or(status),
            });
            continue;
        }
        let dir = root.join("runs").join(&id);
        let dir = if dir.join(sim::output::MANIFEST).is_file() {
            Some(dir)
        } else {
            missing_dirs += 1;
            None
        };
        let summary = metric_at
            .iter()
            .filter_map(|&i| {
                let x: f64 = record.get(i)?.trim().parse().ok()?;
                x.is_finite().then(|| (header[i].clone(), x))
            })
            .collect();
        study.runs.push(RunEntry { id, group, seed: cell(seed_at).parse().ok(), dir, summary });
    }
    if missing_dirs > 0 {
        study.notes.push(format!(
            "{missing_dirs} successful run(s) have no run folder under runs/: only their summary.csv metrics are used"
        ));
    }
    Ok(study)
}

fn load_collection(root: &Path) -> Result<Study> {
    let entries = std::fs::read_dir(root).map_err(|e| Error::io(root, "cannot list", e))?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        // Hidden folders are runs still being written (`.NAME.partial-PID`).
        .filter(|p| p.file_name().is_some_and(|n| !n.to_string_lossy().starts_with('.')))
        .filter(|p| p.join(sim::output::MANIFEST).is_file())
        .collect();
    dirs.sort();
    if dirs.is_empty() {
        return Err(Error::NotAStudy(root.to_path_buf()));
    }
    let mut loaded = Vec::new();
    for dir in dirs {
        let (manifest, summary) = read_run(&dir)?;
        let mut fields = Vec::new();
        flatten_scenario(&manifest.scenario, "", &mut fields);
        loaded.push((dir, manifest, summary, fields));
    }
    // Varied parameters: scenario fields whose values differ between runs (seed and name aside).
    let mut params: Vec<String> = Vec::new();
    let value_of = |fields: &[(String, String)], key: &str| {
        fields.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone()).unwrap_or_default()
    };
    for (_, _, _, fields) in &loaded {
        for (key, _) in fields {
            if !params.contains(key)
                && !matches!(key.as_str(), "seed" | "name" | "description")
                && loaded.iter().any(|(_, _, _, other)| value_of(other, key) != value_of(&loaded[0].3, key))
            {
                params.push(key.clone());
            }
        }
    }
    let mut study = Study {
        kind: StudyKind::Collection,
        name: folder_name(root),
        root: root.to_path_buf(),
        facts: run_facts(&loaded[0].1),
        params,
        groups: Vec::new(),
        runs: Vec::new(),
        failed: Vec::new(),
        notes: Vec::new(),
    };
    study.facts.retain(|(k, _)| k != "description");
    let mut group_of: BTreeMap<Vec<String>, usize> = BTreeMap::new();
    for (dir, manifest, summary, fields) in loaded {
        let values: Vec<String> = study.params.iter().map(|p| value_of(&fields, p)).collect();
        let group = *group_of.entry(values.clone()).or_insert_with(|| {
            study.groups.push(Group {
                key: values.join("\u{1f}"),
                label: group_label(&study.params, &values),
                values: values.clone(),
            });
            study.groups.len() - 1
        });
        study.runs.push(RunEntry { id: folder_name(&dir), group, seed: Some(manifest.seed), dir: Some(dir), summary });
    }
    Ok(study)
}

/// Every scalar of a scenario as `(dotted path, value text)`.
fn flatten_scenario(value: &serde_json::Value, prefix: &str, out: &mut Vec<(String, String)>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                let name = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
                flatten_scenario(v, &name, out);
            }
        }
        other => out.push((prefix.to_string(), json_scalar(other))),
    }
}

/// The numeric value of a parameter setting, if it is a number.
pub fn numeric_value(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|x| x.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_calibration_profile_is_summarised_in_one_line() {
        let toml = "format = \"taosim-calibration/1\"\n".repeat(60);
        let profile = serde_json::json!({
            "origin": "published GPU peaks x assumed efficiency 0.40",
            "sha256": "f0f4c1a366f1d6d32d6788ad73b2625e1adea9faa8dad95c47b63097cbdd7ae3",
            "source": "built-in default profile (kernels/profiles/default.toml)",
            "toml": toml,
        });
        let summary = profile_summary(&profile);
        assert_eq!(summary, "built-in default profile (kernels/profiles/default.toml) (sha256 f0f4c1a366f1…)");
        assert_eq!(profile_summary(&serde_json::json!({"name": "h100-measured"})), "h100-measured");
    }
}
