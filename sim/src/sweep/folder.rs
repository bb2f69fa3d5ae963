//! Sweep folders: the sweep manifest, shards, and checks that a run folder is complete.
//!
//! A sweep folder is created with its `manifest.json` before any run starts; running the same
//! sweep into it again resumes it, and any other sweep (or another shard, or another taosim
//! version) is refused, so runs of two sweeps never mix. One process writes a sweep folder at a
//! time: shards running at once each get their own folder and are merged afterwards.

use super::SweepError;
use super::plan::Plan;
use super::summary::{Metrics, read_metrics};
use crate::error::Error;
use crate::output::{file_digest, read_manifest};
use crate::scenario::Scenario;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The sweep manifest's format tag.
pub const SWEEP_MANIFEST_FORMAT: &str = "taosim-sweep/1";
/// The sweep manifest's file name.
pub const MANIFEST: &str = "manifest.json";
/// The summary's file name.
pub const SUMMARY: &str = "summary.csv";
/// The summary while it is being written (renamed to [`SUMMARY`] when complete).
pub const SUMMARY_PARTIAL: &str = ".summary.csv.partial";
/// The folder of run folders.
pub const RUNS: &str = "runs";

/// A deterministic part of a sweep: shard `index` of `count` holds the runs whose number
/// `i` has `i % count == index - 1` (round robin, so every shard gets a share of each point).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// Which shard, 1 ..= count (as `--shard K/N` and Slurm array indices count).
    pub index: usize,
    /// How many shards the sweep is split into.
    pub count: usize,
}

/// Most shards a sweep may be split into.
pub const MAX_SHARDS: usize = 100_000;

impl Shard {
    /// The whole sweep as one shard.
    pub const WHOLE: Shard = Shard { index: 1, count: 1 };

    /// Parses `K/N` with 1 <= K <= N.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("`{text}` is not a shard; expected K/N with 1 <= K <= N, e.g. 2/8");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let index: usize = k.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count {
            return Err(bad());
        }
        if count > MAX_SHARDS {
            return Err(format!("{count} shards is more than the limit of {MAX_SHARDS}"));
        }
        Ok(Shard { index, count })
    }

    /// Whether run `run_index` belongs to this shard.
    pub fn contains(&self, run_index: usize) -> bool {
        run_index % self.count == self.index - 1
    }

    /// The run numbers of this shard among `total` runs, in order.
    pub fn runs(&self, total: usize) -> impl Iterator<Item = usize> + use<> {
        (self.index - 1..total).step_by(self.count.max(1))
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// One run as the sweep manifest lists it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunEntry {
    /// The run's folder name under `runs/`.
    pub run_id: String,
    /// The run's number in the whole sweep (its row order in `summary.csv`).
    pub index: usize,
    /// The point (parameter combination) it belongs to.
    pub point: usize,
    /// Its seed.
    pub seed: u64,
    /// The point's varied fields and their values.
    pub overrides: BTreeMap<String, serde_json::Value>,
}

/// What `DIR/manifest.json` records about a sweep. It holds nothing that depends on the
/// machine, the thread count or the time, so a merged sweep's manifest equals a single run's.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepManifest {
    /// Format tag, [`SWEEP_MANIFEST_FORMAT`].
    pub format: String,
    /// The taosim version that ran the sweep.
    pub taosim_version: String,
    /// The sweep's name.
    pub name: String,
    /// What it studies.
    pub description: String,
    /// SHA-256 of `sweep_toml`: the sweep's identity.
    pub sweep_digest: String,
    /// The resolved sweep as a runnable sweep file (inline base, explicit seeds).
    pub sweep_toml: String,
    /// The resolved sweep as JSON, for readers that prefer it (same content as `sweep_toml`).
    pub sweep: serde_json::Value,
    /// The varied fields, in column order of `summary.csv`.
    pub parameters: Vec<String>,
    /// Points (parameter combinations) in the whole sweep.
    pub points: usize,
    /// Runs in the whole sweep.
    pub total_runs: usize,
    /// The shard this folder holds, `None` for the whole sweep.
    pub shard: Option<Shard>,
    /// The runs this folder holds, in order.
    pub runs: Vec<RunEntry>,
}

impl SweepManifest {
    /// The shard this folder holds, the whole sweep as `1/1`.
    pub fn shard_or_whole(&self) -> Shard {
        self.shard.unwrap_or(Shard::WHOLE)
    }
}

/// The manifest without its run list: what resuming and merging compare. Reading it skips the
/// run list without holding it, so opening a 10,000-run sweep costs no memory per run.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ManifestHead {
    /// Format tag, [`SWEEP_MANIFEST_FORMAT`].
    pub format: String,
    /// The taosim version that ran the sweep.
    pub taosim_version: String,
    /// The sweep's name.
    pub name: String,
    /// SHA-256 of `sweep_toml`.
    pub sweep_digest: String,
    /// The resolved sweep as a sweep file.
    pub sweep_toml: String,
    /// The shard the folder holds, `None` for the whole sweep.
    pub shard: Option<Shard>,
}

impl ManifestHead {
    /// The shard this folder holds, the whole sweep as `1/1`.
    pub fn shard_or_whole(&self) -> Shard {
        self.shard.unwrap_or(Shard::WHOLE)
    }
}

/// [`SweepManifest`] as written: the same fields in the same order, with the run list
/// generated from the plan while it is serialised instead of collected first.
#[derive(Serialize)]
struct ManifestOut<'a> {
    format: &'a str,
    taosim_version: &'a str,
    name: &'a str,
    description: &'a str,
    sweep_digest: &'a str,
    sweep_toml: &'a str,
    sweep: serde_json::Value,
    parameters: Vec<&'a str>,
    points: usize,
    total_runs: usize,
    shard: Option<Shard>,
    runs: RunList<'a>,
}

struct RunList<'a> {
    plan: &'a Plan,
    shard: Shard,
}

impl Serialize for RunList<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(None)?;
        for index in self.shard.runs(self.plan.runs()) {
            seq.serialize_element(&run_entry(self.plan, index))?;
        }
        seq.end()
    }
}

/// Run `index` as the manifest lists it.
pub fn run_entry(plan: &Plan, index: usize) -> RunEntry {
    let point = plan.point_of(index);
    let overrides = plan
        .overrides(point)
        .into_iter()
        .map(|(path, value)| (path.to_string(), serde_json::to_value(value).unwrap_or_default()))
        .collect();
    RunEntry { run_id: plan.run_id(index), index, point, seed: plan.seed_of(index), overrides }
}

/// Writes the sweep manifest of `plan` (or one shard of it) to `path`, atomically.
pub fn write_sweep_manifest(path: &Path, plan: &Plan, shard: Option<Shard>) -> Result<(), SweepError> {
    let resolved: toml::Table = plan
        .resolved_toml()
        .parse()
        .map_err(|e| SweepError::folder(path, format!("the resolved sweep does not parse: {e}")))?;
    let sweep = serde_json::to_value(&resolved)
        .map_err(|e| SweepError::folder(path, format!("cannot render the sweep as JSON: {e}")))?;
    let manifest = ManifestOut {
        format: SWEEP_MANIFEST_FORMAT,
        taosim_version: crate::VERSION,
        name: &plan.name,
        description: &plan.description,
        sweep_digest: plan.digest(),
        sweep_toml: plan.resolved_toml(),
        sweep,
        parameters: plan.parameters.iter().map(|p| p.path.as_str()).collect(),
        points: plan.points(),
        total_runs: plan.runs(),
        shard,
        runs: RunList { plan, shard: shard.unwrap_or(Shard::WHOLE) },
    };
    write_atomic_with(path, |out| {
        serde_json::to_writer_pretty(&mut *out, &manifest).map_err(io::Error::other)?;
        out.write_all(b"\n")
    })?;
    Ok(())
}

fn read_json<T: serde::de::DeserializeOwned>(dir: &Path) -> Result<T, SweepError> {
    let path = dir.join(MANIFEST);
    let file = fs::File::open(&path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => SweepError::folder(dir, "no manifest.json: not a taosim sweep folder"),
        _ => SweepError::Io(Error::io(&path, "cannot read", e)),
    })?;
    serde_json::from_reader(io::BufReader::new(file))
        .map_err(|e| SweepError::folder(&path, format!("not a sweep manifest: {e}")))
}

fn check_format(dir: &Path, format: &str) -> Result<(), SweepError> {
    if format == SWEEP_MANIFEST_FORMAT {
        Ok(())
    } else {
        Err(SweepError::folder(dir.join(MANIFEST), format!("format `{format}` is not `{SWEEP_MANIFEST_FORMAT}`")))
    }
}

/// Reads a sweep folder's whole manifest, run list included.
pub fn read_sweep_manifest(dir: &Path) -> Result<SweepManifest, SweepError> {
    let manifest: SweepManifest = read_json(dir)?;
    check_format(dir, &manifest.format)?;
    Ok(manifest)
}

/// Reads a sweep folder's manifest without its run list.
pub fn read_sweep_head(dir: &Path) -> Result<ManifestHead, SweepError> {
    let head: ManifestHead = read_json(dir)?;
    check_format(dir, &head.format)?;
    Ok(head)
}

/// Writes a file atomically: a temporary file beside it, synced, then renamed.
pub fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut io::BufWriter<fs::File>) -> io::Result<()>,
) -> Result<(), Error> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let file = fs::File::create(&tmp).map_err(|e| Error::io(&tmp, "cannot create", e))?;
    let mut out = io::BufWriter::new(file);
    write(&mut out).map_err(|e| Error::io(&tmp, "cannot write", e))?;
    let file = out.into_inner().map_err(|e| Error::io(&tmp, "cannot write", e.into_error()))?;
    file.sync_all().map_err(|e| Error::io(&tmp, "cannot write", e))?;
    drop(file);
    fs::rename(&tmp, path).map_err(|e| Error::io(path, "cannot rename into place", e))
}

/// Opens `dir` for `plan` (one shard of it, or all): creates it with its manifest, or checks
/// that the manifest already there is this very sweep (then the sweep resumes). Clears
/// staging folders that interrupted runs left behind.
pub fn prepare(dir: &Path, plan: &Plan, shard: Option<Shard>) -> Result<(), SweepError> {
    let manifest_path = dir.join(MANIFEST);
    if !check_reusable(dir, plan, shard)? {
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, "cannot create the sweep folder", e))?;
        write_sweep_manifest(&manifest_path, plan, shard)?;
    }
    let runs = dir.join(RUNS);
    fs::create_dir_all(&runs).map_err(|e| Error::io(&runs, "cannot create the runs folder", e))?;
    clear_staging(&runs)?;
    Ok(())
}

/// Whether `dir` may hold `plan` (one shard of it, or all) without writing anything: `true`
/// when it already is a folder of this very sweep, `false` when it is new or empty (hidden
/// entries aside), an error for anything else.
pub fn check_reusable(dir: &Path, plan: &Plan, shard: Option<Shard>) -> Result<bool, SweepError> {
    let manifest_path = dir.join(MANIFEST);
    if manifest_path.exists() {
        let existing = read_sweep_head(dir)?;
        if existing.sweep_digest != plan.digest() {
            return Err(SweepError::folder(
                dir,
                format!(
                    "holds another sweep (`{}`, digest {}); this one is `{}` ({}); use another --out",
                    existing.name,
                    short(&existing.sweep_digest),
                    plan.name,
                    short(plan.digest())
                ),
            ));
        }
        if existing.taosim_version != crate::VERSION {
            return Err(SweepError::folder(
                dir,
                format!(
                    "was started by taosim {}; this is taosim {}: finish it with {} or use another --out",
                    existing.taosim_version,
                    crate::VERSION,
                    existing.taosim_version
                ),
            ));
        }
        if existing.shard != shard {
            let what = |s: Option<Shard>| s.map_or("the whole sweep".to_string(), |s| format!("shard {s}"));
            return Err(SweepError::folder(
                dir,
                format!("holds {} of this sweep, not {}; use another --out", what(existing.shard), what(shard)),
            ));
        }
        return Ok(true);
    }
    if dir.exists() {
        let entries = fs::read_dir(dir).map_err(|e| Error::io(dir, "cannot read the folder", e))?;
        let foreign = entries.filter_map(|e| e.ok()).any(|e| !e.file_name().to_string_lossy().starts_with('.'));
        if foreign {
            return Err(SweepError::folder(
                dir,
                "exists and is not a sweep folder (no manifest.json); use a new or empty folder",
            ));
        }
    }
    Ok(false)
}

fn short(digest: &str) -> &str {
    digest.get(..12).unwrap_or(digest)
}

/// Removes the staging folders (`.NAME.partial-PID`, `...old`) that killed runs leave in `runs/`.
fn clear_staging(runs: &Path) -> Result<(), Error> {
    let entries = fs::read_dir(runs).map_err(|e| Error::io(runs, "cannot read the runs folder", e))?;
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') && name.contains(".partial-") {
            let path = entry.path();
            fs::remove_dir_all(&path).map_err(|e| Error::io(&path, "cannot remove a stale staging folder", e))?;
        }
    }
    Ok(())
}

/// The metrics of a complete run folder made from `scenario`, or `None` if the folder is
/// incomplete, from another scenario, seed or taosim version, or any file's digest differs
/// from its manifest.
pub fn verify_run(run_dir: &Path, scenario: &Scenario) -> Option<Metrics> {
    let manifest = read_manifest(run_dir).ok()?;
    if manifest.seed != scenario.seed || manifest.taosim_version != crate::VERSION {
        return None;
    }
    let expected = hex::encode(Sha256::digest(scenario.to_toml().as_bytes()));
    if manifest.outputs.get("scenario.toml") != Some(&expected) || !manifest.outputs.contains_key("summary.json") {
        return None;
    }
    for (name, digest) in &manifest.outputs {
        if file_digest(&run_dir.join(name)).ok().as_ref() != Some(digest) {
            return None;
        }
    }
    read_metrics(&run_dir.join("summary.json")).ok()
}

/// Puts a copy of run folder `src` at `dst` atomically, by hard links where the file system
/// allows (no extra space; run outputs are never modified) and by copying otherwise.
pub fn link_run(src: &Path, dst: &Path) -> Result<(), Error> {
    let parent = dst.parent().unwrap_or(Path::new("."));
    let name = dst.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, "cannot clear a stale staging folder", e))?;
    }
    link_tree(src, &staging)?;
    if dst.exists() {
        fs::remove_dir_all(dst).map_err(|e| Error::io(dst, "cannot replace an incomplete run folder", e))?;
    }
    fs::rename(&staging, dst).map_err(|e| Error::io(dst, "cannot move the run folder into place", e))
}

fn link_tree(src: &Path, dst: &Path) -> Result<(), Error> {
    fs::create_dir(dst).map_err(|e| Error::io(dst, "cannot create", e))?;
    let entries = fs::read_dir(src).map_err(|e| Error::io(src, "cannot read the run folder", e))?;
    let mut entries: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    entries.sort();
    for from in entries {
        let Some(file_name) = from.file_name() else { continue };
        let to = dst.join(file_name);
        if from.is_dir() {
            link_tree(&from, &to)?;
        } else if fs::hard_link(&from, &to).is_err() {
            fs::copy(&from, &to).map_err(|e| Error::io(&to, "cannot copy a run file", e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_runs_round_robin_and_cover_each_run_once() {
        let shards: Vec<Shard> = (1..=3).map(|k| Shard { index: k, count: 3 }).collect();
        let lists: Vec<Vec<usize>> = shards.iter().map(|s| s.runs(8).collect()).collect();
        assert_eq!(lists, [vec![0, 3, 6], vec![1, 4, 7], vec![2, 5]]);
        for i in 0..8 {
            assert_eq!(shards.iter().filter(|s| s.contains(i)).count(), 1);
        }
        assert_eq!(Shard { index: 4, count: 5 }.runs(3).count(), 0, "more shards than runs: some are empty");
    }

    #[test]
    fn the_streamed_manifest_reads_back_as_a_sweep_manifest() {
        let plan = crate::sweep::plan::load_text(
            "s.toml",
            "s",
            "[sweep]\nseeds = [4, 2]\n[sweep.vary]\n\"chain.tempo\" = [5, 6, 7]\n",
            Path::new("."),
            &[],
        )
        .expect("valid");
        let tmp = tempfile::tempdir().expect("tempdir");
        let shard = Shard { index: 2, count: 4 };
        prepare(tmp.path(), &plan, Some(shard)).expect("prepare");
        let m = read_sweep_manifest(tmp.path()).expect("manifest");
        assert_eq!((m.name.as_str(), m.points, m.total_runs, m.shard), ("s", 3, 6, Some(shard)));
        assert_eq!(m.sweep_digest, plan.digest());
        assert_eq!(m.parameters, ["chain.tempo"]);
        assert_eq!(m.runs, [run_entry(&plan, 1), run_entry(&plan, 5)]);
        assert_eq!(m.runs[1].run_id, "p0002-s2");
        assert_eq!(m.runs[1].overrides.get("chain.tempo"), Some(&serde_json::json!(7)));
        assert_eq!(m.sweep["sweep"]["seeds"], serde_json::json!([4, 2]));
        let head = read_sweep_head(tmp.path()).expect("head");
        assert_eq!((head.sweep_digest.as_str(), head.shard), (plan.digest(), Some(shard)));
        // Reopening resumes; the whole sweep is refused in a shard's folder.
        prepare(tmp.path(), &plan, Some(shard)).expect("resume");
        let e = prepare(tmp.path(), &plan, None).expect_err("other shard");
        assert!(e.to_string().contains("holds shard 2/4 of this sweep, not the whole sweep"), "{e}");
    }

    #[test]
    fn shard_text_is_k_of_n() {
        assert_eq!(Shard::parse("2/8"), Ok(Shard { index: 2, count: 8 }));
        assert_eq!(Shard::parse(" 1 / 1 ").map(|s| s.to_string()), Ok("1/1".into()));
        for bad in ["0/3", "4/3", "3", "a/b", "-1/2", ""] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        assert!(Shard::parse("1/1000000").expect_err("limit").contains("limit"));
    }
}
