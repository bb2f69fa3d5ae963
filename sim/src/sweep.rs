//! Sweeps: many runs of one scenario over a grid (or zip) of parameters times a list of seeds.
//!
//! A sweep file (TOML, with a top-level `[sweep]` table) names a base scenario, the seeds and
//! the scenario fields to vary. [`plan`] turns it into a [`Plan`]: the numbered runs, each a
//! (point, seed) pair whose scenario is the base with the point's overrides applied as table
//! edits before validation (so a bad field path or value gets the usual scenario error, naming
//! the sweep file and the field). [`execute`] runs a plan in parallel into a sweep folder:
//!
//! ```text
//! DIR/manifest.json    the sweep: resolved sweep, taosim version, the runs, shard info
//! DIR/summary.csv      one row per run in plan order (point-major, then seed)
//! DIR/timeseries.parquet  every finished run's timeseries, labelled by run, setting and seed
//! DIR/subnets.parquet     every finished run's per-subnet series, labelled the same way
//! DIR/runs/<run_id>/   each run's own run folder (run_id like `p0003-s42`)
//! ```
//!
//! Every byte of `summary.csv`, the Parquet files and `manifest.json` is a function of the resolved sweep alone:
//! not of the thread count, the completion order, the shard split or earlier interruptions.
//! [`merge`] combines the folders of `--shard K/N` runs into the folder a single machine would
//! have written.

pub mod columnar;
pub mod execute;
pub mod folder;
pub mod merge;
pub mod plan;
pub mod summary;

pub use columnar::{TABLES, TIMESERIES_PARQUET, setting_label};
pub use execute::{Options, Progress, Stats, run_sweep};
pub use folder::{ManifestHead, SWEEP_MANIFEST_FORMAT, Shard, SweepManifest, read_sweep_head, read_sweep_manifest};
pub use merge::merge;
pub use plan::{Mode, Plan, PointError};

use crate::error::ScenarioError;
use std::path::PathBuf;

/// What can go wrong with a sweep.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SweepError {
    /// The sweep file (or an override) is invalid; every problem found is listed.
    /// Bad input: fix the file.
    #[error("{}", join_errors(.0))]
    Invalid(Vec<ScenarioError>),

    /// A sweep folder is not what the command needs (it holds another sweep, a shard is
    /// missing or incomplete, ...). Bad input: choose another folder or finish the shards.
    #[error("{path}: {message}")]
    Folder {
        /// The folder (or file in it) concerned.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },

    /// Reading or writing failed (disk full, permissions...). The sweep stops; running the
    /// same command again resumes it.
    #[error(transparent)]
    Io(#[from] crate::Error),
}

impl SweepError {
    /// Whether the error is the user's input (exit code 2) rather than the environment.
    pub fn is_bad_input(&self) -> bool {
        match self {
            SweepError::Invalid(_) | SweepError::Folder { .. } => true,
            SweepError::Io(e) => e.is_bad_input(),
        }
    }

    pub(crate) fn folder(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        SweepError::Folder { path: path.into(), message: message.into() }
    }
}

fn join_errors(errors: &[ScenarioError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
}

/// Whether the TOML text is a sweep file (it has a top-level `[sweep]` table) rather than a
/// scenario. Text that is not TOML is not a sweep (the scenario loader reports the syntax).
pub fn is_sweep_text(text: &str) -> bool {
    text.parse::<toml::Table>().is_ok_and(|t| t.contains_key("sweep"))
}
