//! Running a sweep: runs in parallel on a dedicated rayon pool, results in order, resumable.
//!
//! Each run is independent: its scenario (and so its seed) comes from the plan by run number,
//! never from the thread that happens to run it, and it writes its own atomic run folder. The
//! main thread dispatches runs to the pool at most `window` ahead of the next row the summary
//! needs, and holds finished results in a reorder buffer until their turn: memory stays bounded
//! by the window however many runs the sweep has, and rows come out in run order whatever
//! the completion order.
//!
//! A run that fails (a point out of range, a model error, a panic in a model, caught with
//! `catch_unwind`) becomes a `failed` row and the sweep goes on. A failure of the machine
//! (I/O errors) stops the sweep: nothing partial is published and the same command resumes.
//! Resuming skips runs whose folders are complete and verify against their manifests.
//! Catching panics needs `panic = "unwind"` (the default) in the profile taosim is built with.

use super::SweepError;
use super::columnar;
use super::folder::{self, RUNS, SUMMARY, SUMMARY_PARTIAL, Shard, verify_run};
use super::plan::{Plan, errors_text};
use super::summary::{Metrics, RowStatus, SummaryWriter, read_metrics};
use crate::error::Error;
use crate::run::{OutTarget, run};
use std::any::Any;
use std::collections::BTreeMap;
use std::fs;
use std::io::{self, BufWriter};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

/// Most worker threads a sweep may use.
pub const MAX_JOBS: usize = 1024;

/// How to run a sweep.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// Worker threads (1 ..= [`MAX_JOBS`]).
    pub jobs: usize,
    /// Run only this shard of the sweep.
    pub shard: Option<Shard>,
}

/// Where a sweep (or merge) stands, for progress display.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// Runs this command handles.
    pub total: usize,
    /// Runs finished so far (ran, reused or failed).
    pub done: usize,
    /// Of those, runs simulated by this command.
    pub ran: usize,
    /// Of those, complete run folders found and verified (not recomputed).
    pub reused: usize,
    /// Of those, runs that failed.
    pub failed: usize,
}

/// What a finished sweep did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Stats {
    /// The final counts.
    pub progress: Progress,
    /// Runs in the whole sweep (all shards).
    pub sweep_runs: usize,
    /// The most results the reorder buffer held at once (bounded by the dispatch window).
    pub reorder_peak: usize,
    /// The summary file written.
    pub summary: PathBuf,
}

/// How one run ended.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Simulated now.
    Ran(Metrics),
    /// Found complete and verified.
    Reused(Metrics),
    /// Failed; recorded in the summary.
    Failed(String),
    /// The machine failed (I/O); stops the sweep.
    Fatal(Error),
}

/// The dispatch window for `jobs` threads: how far ahead of the summary runs may start.
pub fn window_for(jobs: usize) -> usize {
    jobs.saturating_mul(8).max(64)
}

/// Runs `plan` (or the shard in `options`) into sweep folder `dir`, resuming what is there.
pub fn run_sweep(
    plan: &Plan,
    dir: &Path,
    options: &Options,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Stats, SweepError> {
    let jobs = options.jobs.clamp(1, MAX_JOBS);
    folder::prepare(dir, plan, options.shard)?;
    let runs_dir = dir.join(RUNS);
    let indices: Vec<usize> = options.shard.unwrap_or(Shard::WHOLE).runs(plan.runs()).collect();
    let runner = |index: usize| run_one(plan, &runs_dir, index);
    columnar::clear_partials(dir).map_err(|e| Error::io(dir, "cannot remove a stale partial file", e))?;
    let gather = |finished: &[usize]| columnar::write_tables(dir, plan, finished);
    execute(plan, dir, &indices, jobs, window_for(jobs), &runner, &gather, progress)
}

/// One run: its scenario, a verified folder to reuse, or a fresh simulation.
fn run_one(plan: &Plan, runs_dir: &Path, index: usize) -> Outcome {
    let scenario = match plan.scenario(index) {
        Ok(s) => s,
        Err(errors) => return Outcome::Failed(errors_text(&errors)),
    };
    let path = runs_dir.join(plan.run_id(index));
    if path.exists()
        && let Some(metrics) = verify_run(&path, &scenario)
    {
        return Outcome::Reused(metrics);
    }
    match run(&scenario, &OutTarget::Exact { path, force: true }, None) {
        Ok(report) => match read_metrics(&report.dir.join("summary.json")) {
            Ok(metrics) => Outcome::Ran(metrics),
            Err(e) => Outcome::Fatal(e),
        },
        Err(
            e @ (Error::Io { .. }
            | Error::Write { .. }
            | Error::OutputExists(_)
            | Error::OutputRefused { .. }
            | Error::Profile { .. }
            | Error::Manifest { .. }),
        ) => Outcome::Fatal(e),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

fn panic_text(payload: Box<dyn Any + Send>) -> String {
    let message = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    };
    format!("panic: {message}")
}

/// What a sweep gathers from its finished runs (their run numbers, in run order) once all
/// have ended, before its summary is renamed into place: the sweep's Parquet file.
pub(crate) type Gather<'a> = dyn Fn(&[usize]) -> Result<(), Error> + 'a;

/// Runs `indices` (run numbers, ascending) with `runner` on `jobs` threads and writes the
/// summary of `dir` in order; then `gather`s the finished runs and renames the summary into
/// place (so a sweep folder with a `summary.csv` has its Parquet file too). `runner` must be
/// safe to call from any thread.
#[allow(clippy::too_many_arguments)]
pub(crate) fn execute(
    plan: &Plan,
    dir: &Path,
    indices: &[usize],
    jobs: usize,
    window: usize,
    runner: &(dyn Fn(usize) -> Outcome + Sync),
    gather: &Gather<'_>,
    progress: &mut dyn FnMut(&Progress),
) -> Result<Stats, SweepError> {
    let partial = dir.join(SUMMARY_PARTIAL);
    let file = fs::File::create(&partial).map_err(|e| Error::io(&partial, "cannot create", e))?;
    let mut writer = SummaryWriter::new(plan, BufWriter::new(file), &partial);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .thread_name(|i| format!("taosim-sweep-{i}"))
        .build()
        .map_err(|e| Error::io(dir, "cannot start the worker threads", io::Error::other(e)))?;
    let window = window.max(1);
    let mut counts = Progress { total: indices.len(), ..Progress::default() };
    progress(&counts);
    let mut reorder_peak = 0usize;
    let mut fatal: Option<Error> = None;
    let mut finished: Vec<usize> = Vec::new();
    let (tx, rx) = mpsc::channel::<(usize, Outcome)>();

    pool.in_place_scope(|scope| {
        let mut next_dispatch = 0usize; // position in `indices`
        let mut next_write = 0usize;
        let mut in_flight = 0usize;
        let mut pending: BTreeMap<usize, Outcome> = BTreeMap::new();
        loop {
            while fatal.is_none() && next_dispatch < indices.len() && next_dispatch < next_write + window {
                let (position, index, tx) = (next_dispatch, indices[next_dispatch], tx.clone());
                scope.spawn(move |_| {
                    let outcome = catch_unwind(AssertUnwindSafe(|| runner(index)))
                        .unwrap_or_else(|payload| Outcome::Failed(panic_text(payload)));
                    // The receiver outlives the scope; a send cannot fail while it waits.
                    let _ = tx.send((position, outcome));
                });
                next_dispatch += 1;
                in_flight += 1;
            }
            if in_flight == 0 {
                break;
            }
            let Ok((position, outcome)) = rx.recv() else { break };
            in_flight -= 1;
            if fatal.is_some() {
                continue; // draining the runs in flight; their folders are complete or absent
            }
            counts.done += 1;
            match &outcome {
                Outcome::Ran(_) => counts.ran += 1,
                Outcome::Reused(_) => counts.reused += 1,
                Outcome::Failed(_) => counts.failed += 1,
                Outcome::Fatal(_) => {}
            }
            pending.insert(position, outcome);
            reorder_peak = reorder_peak.max(pending.len());
            while let Some(outcome) = pending.remove(&next_write) {
                let status = match outcome {
                    Outcome::Ran(m) | Outcome::Reused(m) => {
                        finished.push(indices[next_write]);
                        RowStatus::Ok(m)
                    }
                    Outcome::Failed(e) => RowStatus::Failed(e),
                    Outcome::Fatal(e) => {
                        fatal = Some(e);
                        pending.clear();
                        break;
                    }
                };
                if let Err(e) = writer.push(indices[next_write], status) {
                    fatal = Some(e);
                    pending.clear();
                    break;
                }
                next_write += 1;
            }
            progress(&counts);
        }
    });
    if let Some(e) = fatal {
        return Err(SweepError::Io(e));
    }
    let buffered = writer.finish()?;
    let file = buffered.into_inner().map_err(|e| Error::io(&partial, "cannot write", e.into_error()))?;
    file.sync_all().map_err(|e| Error::io(&partial, "cannot write", e))?;
    drop(file);
    gather(&finished)?;
    let summary = dir.join(SUMMARY);
    fs::rename(&partial, &summary).map_err(|e| Error::io(&summary, "cannot rename into place", e))?;
    Ok(Stats { progress: counts, sweep_runs: plan.runs(), reorder_peak, summary })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::plan::load_text;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    fn plan(seeds: usize) -> Plan {
        let text = format!(
            "[sweep]\nseeds = {{ count = {seeds} }}\n[sweep.vary]\n\"chain.tempo\" = [1, 2]\n[base]\nrun.horizon = 20\n"
        );
        load_text("s.toml", "s", &text, Path::new("."), &[]).expect("valid")
    }

    fn metrics(index: usize) -> Metrics {
        [("value".to_string(), (index * 10).to_string())].into_iter().collect()
    }

    /// A runner whose runs take uneven, index-dependent times, so they finish out of order.
    fn uneven(index: usize) -> Outcome {
        std::thread::sleep(Duration::from_micros(((index * 7919) % 13) as u64 * 150));
        if index == 5 {
            panic!("model exploded at run {index}");
        }
        if index == 8 {
            return Outcome::Failed("invariant violated".into());
        }
        Outcome::Ran(metrics(index))
    }

    fn summary_with(plan: &Plan, jobs: usize, window: usize) -> (String, Stats) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let indices: Vec<usize> = (0..plan.runs()).collect();
        let stats =
            execute(plan, tmp.path(), &indices, jobs, window, &uneven, &|_| Ok(()), &mut |_| {}).expect("sweep");
        (fs::read_to_string(tmp.path().join(SUMMARY)).expect("summary"), stats)
    }

    #[test]
    fn rows_come_out_in_run_order_for_any_thread_count_and_the_buffer_stays_in_its_window() {
        let p = plan(20);
        let (one, stats) = summary_with(&p, 1, 64);
        assert_eq!(one.lines().count(), 41, "header and 40 rows");
        assert!(one.lines().nth(6).expect("row 5").contains(",failed,panic: model exploded at run 5,"), "{one}");
        assert!(one.lines().nth(9).expect("row 8").contains(",failed,invariant violated,"));
        assert!(one.lines().nth(10).expect("row 9").ends_with(",ok,,90"));
        assert_eq!((stats.progress.done, stats.progress.ran, stats.progress.failed), (40, 38, 2));
        for (jobs, window) in [(2, 64), (4, 5), (8, 3)] {
            let (text, stats) = summary_with(&p, jobs, window);
            assert_eq!(text, one, "jobs {jobs}, window {window}");
            assert!(stats.reorder_peak <= window, "peak {} > window {window}", stats.reorder_peak);
        }
    }

    #[test]
    fn a_machine_failure_stops_the_sweep_and_publishes_no_summary() {
        let p = plan(10);
        let tmp = tempfile::tempdir().expect("tempdir");
        let started = AtomicUsize::new(0);
        let runner = |index: usize| {
            started.fetch_add(1, Ordering::SeqCst);
            if index == 3 {
                Outcome::Fatal(Error::io("disk", "cannot write", io::Error::other("disk full")))
            } else {
                Outcome::Ran(metrics(index))
            }
        };
        let indices: Vec<usize> = (0..p.runs()).collect();
        let err = execute(&p, tmp.path(), &indices, 2, 4, &runner, &|_| Ok(()), &mut |_| {}).expect_err("fatal");
        assert!(err.to_string().contains("disk full"), "{err}");
        assert!(!err.is_bad_input());
        assert!(!tmp.path().join(SUMMARY).exists());
        assert!(started.load(Ordering::SeqCst) < p.runs(), "no new runs after the failure beyond the window");
    }
}
