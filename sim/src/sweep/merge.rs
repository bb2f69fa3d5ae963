//! `taosim merge`: the folders of a sweep's shards combined into the folder one machine
//! running the whole sweep would have written (same `manifest.json`, same `summary.csv`).
//!
//! Checks before writing anything: every folder is a shard of the same sweep (same resolved
//! sweep digest and taosim version) from the same split `N`, each of shards `1..=N` is there
//! exactly once, and each finished (its `summary.csv` exists). Then, in run order, each run's
//! row comes from its shard: a successful run's folder is verified against its manifest and the
//! scenario the sweep gives it, and linked (hard links, or copies across file systems) into
//! `OUT/runs/`; a failed run's recorded error is carried over. The summary is rebuilt from the
//! run folders exactly as a sweep writes it.
//!
//! The merged folder is built in a staging folder beside `OUT` (`.OUT.partial-PID`) and
//! renamed into place only when complete: a merge that fails (a truncated shard summary, a
//! damaged run) leaves no half-built `OUT`, and an earlier merge at `OUT` stays as it was.
//! Merging again is idempotent: run folders of an earlier merge that verify are linked again
//! rather than taken from the shards.

use super::SweepError;
use super::columnar;
use super::execute::Progress;
use super::execute::Stats;
use super::folder::{self, ManifestHead, RUNS, SUMMARY, SUMMARY_PARTIAL, link_run, read_sweep_head, verify_run};
use super::plan::load_text;
use super::summary::{RowStatus, SummaryWriter};
use crate::debris::StagingDir;
use crate::error::Error;
use std::fs;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

/// Merges shard folders `inputs` into `out` (new, empty, or an earlier merge of the same sweep).
pub fn merge(inputs: &[PathBuf], out: &Path, progress: &mut dyn FnMut(&Progress)) -> Result<Stats, SweepError> {
    let Some(first_dir) = inputs.first() else {
        return Err(SweepError::folder(out, "no shard folders to merge"));
    };
    let manifests: Vec<ManifestHead> = inputs.iter().map(|d| read_sweep_head(d)).collect::<Result<_, _>>()?;
    let first = &manifests[0];
    let count = first.shard_or_whole().count;
    let mut slots: Vec<Option<&Path>> = vec![None; count];
    for (dir, m) in inputs.iter().zip(&manifests) {
        if m.sweep_digest != first.sweep_digest {
            return Err(SweepError::folder(
                dir,
                format!("is from another sweep than {} (`{}` vs `{}`)", first_dir.display(), m.name, first.name),
            ));
        }
        if m.taosim_version != first.taosim_version {
            return Err(SweepError::folder(
                dir,
                format!("was run by taosim {}, {} by {}", m.taosim_version, first_dir.display(), first.taosim_version),
            ));
        }
        let shard = m.shard_or_whole();
        if shard.count != count {
            return Err(SweepError::folder(
                dir,
                format!(
                    "is shard {shard}, but {} is shard {}: shards of different splits",
                    first_dir.display(),
                    first.shard_or_whole()
                ),
            ));
        }
        let slot = &mut slots[shard.index - 1];
        if let Some(other) = slot {
            return Err(SweepError::folder(dir, format!("and {} are both shard {shard}", other.display())));
        }
        *slot = Some(dir);
        if !dir.join(SUMMARY).exists() {
            return Err(SweepError::folder(
                dir,
                format!(
                    "shard {shard} is unfinished (no summary.csv): run its `taosim sweep ... --shard {shard}` command again to finish it"
                ),
            ));
        }
    }
    let mut shard_dirs: Vec<&Path> = Vec::with_capacity(count);
    for (k, slot) in slots.iter().enumerate() {
        match slot {
            Some(dir) => shard_dirs.push(dir),
            None => {
                return Err(SweepError::folder(
                    out,
                    format!("shard {}/{count} is missing: give the folders of all {count} shards", k + 1),
                ));
            }
        }
    }
    let out_canonical = out.canonicalize().ok();
    if inputs.iter().any(|d| d.canonicalize().ok() == out_canonical && out_canonical.is_some()) {
        return Err(SweepError::folder(out, "is one of the shard folders; merge into a new folder"));
    }

    let plan =
        load_text(&format!("{}/manifest.json", first_dir.display()), &first.name, &first.sweep_toml, first_dir, &[])
            .map_err(|errors| {
                let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
                SweepError::folder(
                    first_dir.join(folder::MANIFEST),
                    format!("its sweep does not load: {}", text.join("; ")),
                )
            })?;
    if plan.digest() != first.sweep_digest {
        return Err(SweepError::folder(
            first_dir.join(folder::MANIFEST),
            "its sweep_toml does not match its sweep_digest (edited by hand?)",
        ));
    }
    let earlier = folder::check_reusable(out, &plan, None)?;
    if !earlier && fs::read_dir(out).is_ok_and(|mut e| e.next().is_some()) {
        // Only hidden entries (check_reusable refuses others): the merged folder replaces
        // `out` whole, which would lose them.
        return Err(SweepError::folder(out, "holds hidden files but no sweep; merge into a new or empty folder"));
    }
    let staging = StagingDir::create(out).map_err(|e| Error::io(out, "cannot create the merge's staging folder", e))?;
    let building = staging.path().to_path_buf();
    folder::prepare(&building, &plan, None)?;

    let mut readers = Vec::with_capacity(count);
    for dir in &shard_dirs {
        let path = dir.join(SUMMARY);
        let mut reader =
            csv::Reader::from_path(&path).map_err(|e| SweepError::folder(&path, format!("cannot read: {e}")))?;
        let headers = reader.headers().map_err(|e| SweepError::folder(&path, format!("cannot read: {e}")))?.clone();
        let column = |name: &str| headers.iter().position(|h| h == name);
        let (Some(id), Some(status), Some(error)) = (column("run_id"), column("status"), column("error")) else {
            return Err(SweepError::folder(&path, "is not a sweep summary (no run_id, status and error columns)"));
        };
        readers.push((path, reader.into_records(), id, status, error));
    }

    let partial = building.join(SUMMARY_PARTIAL);
    let file = fs::File::create(&partial).map_err(|e| Error::io(&partial, "cannot create", e))?;
    let mut writer = SummaryWriter::new(&plan, BufWriter::new(file), &partial);
    let mut counts = Progress { total: plan.runs(), ..Progress::default() };
    let mut finished: Vec<usize> = Vec::new();
    let runs_out = building.join(RUNS);
    let runs_earlier = out.join(RUNS);
    for index in 0..plan.runs() {
        let k = index % count;
        let (path, records, id_col, status_col, error_col) = &mut readers[k];
        let run_id = plan.run_id(index);
        let record = match records.next() {
            Some(Ok(record)) => record,
            Some(Err(e)) => return Err(SweepError::folder(&*path, format!("cannot read: {e}"))),
            None => {
                return Err(SweepError::folder(&*path, format!("ends before run {run_id}: the shard is incomplete")));
            }
        };
        let cell = |i: usize| record.get(i).unwrap_or_default();
        if cell(*id_col) != run_id {
            return Err(SweepError::folder(
                &*path,
                format!("has run `{}` where run `{run_id}` belongs: not this sweep's shard summary", cell(*id_col)),
            ));
        }
        let status = match cell(*status_col) {
            "ok" => {
                let scenario = plan.scenario(index).map_err(|_| {
                    SweepError::folder(&*path, format!("run {run_id} is marked ok but its scenario is out of range"))
                })?;
                let target = runs_out.join(&run_id);
                let previous = runs_earlier.join(&run_id);
                let metrics = match earlier.then(|| verify_run(&previous, &scenario)).flatten() {
                    Some(m) => {
                        link_run(&previous, &target)?;
                        counts.reused += 1;
                        m
                    }
                    None => {
                        let source = shard_dirs[k].join(RUNS).join(&run_id);
                        if verify_run(&source, &scenario).is_none() {
                            return Err(SweepError::folder(
                                source,
                                "is missing or does not verify against its manifest: run that shard's sweep command again to redo it",
                            ));
                        }
                        link_run(&source, &target)?;
                        counts.ran += 1;
                        verify_run(&target, &scenario)
                            .ok_or_else(|| SweepError::folder(&target, "does not verify after linking it into place"))?
                    }
                };
                finished.push(index);
                RowStatus::Ok(metrics)
            }
            "failed" => {
                counts.failed += 1;
                RowStatus::Failed(cell(*error_col).to_string())
            }
            other => {
                return Err(SweepError::folder(
                    &*path,
                    format!("run {run_id} has status `{other}`; expected ok or failed"),
                ));
            }
        };
        writer.push(index, status)?;
        counts.done += 1;
        if counts.done.is_multiple_of(64) || counts.done == counts.total {
            progress(&counts);
        }
    }
    for (path, records, ..) in &mut readers {
        if records.next().is_some() {
            return Err(SweepError::folder(&*path, "has more rows than its shard of the sweep"));
        }
    }
    let buffered = writer.finish()?;
    let file = buffered.into_inner().map_err(|e| Error::io(&partial, "cannot write", e.into_error()))?;
    file.sync_all().map_err(|e| Error::io(&partial, "cannot write", e))?;
    drop(file);
    columnar::write_tables(&building, &plan, &finished)?;
    let summary = building.join(SUMMARY);
    fs::rename(&partial, &summary).map_err(|e| Error::io(&summary, "cannot rename into place", e))?;
    staging.finish(earlier).map_err(|e| Error::io(out, "cannot move the merged folder into place", e))?;
    let summary = out.join(SUMMARY);
    Ok(Stats { progress: counts, sweep_runs: plan.runs(), reorder_peak: 0, summary })
}
