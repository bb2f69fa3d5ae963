//! The crate's error type: every variant says where the problem is and what is allowed.

use std::path::PathBuf;

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in loading, running or writing a simulation.
///
/// All variants are recoverable for the caller (the command line reports them in one line
/// and exits non-zero); none leaves partial output behind.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A scenario (or sweep) file or an override is invalid.
    #[error("{0}")]
    Scenario(#[from] ScenarioError),

    /// A file or folder could not be read or written.
    #[error("{path}: {action}: {source}")]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// What was being done ("cannot create the run folder", ...).
        action: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// The output folder exists and `--force` was not given.
    #[error("{0}: the output folder already exists; choose another --out or pass --force to replace it")]
    OutputExists(PathBuf),

    /// The output folder cannot be (re)placed where asked: `--out` names no folder (`.`, `/`),
    /// or `--force` would replace something that is not a taosim run folder. Checked before
    /// any simulation work.
    #[error("{path}: {message}")]
    OutputRefused {
        /// The `--out` path.
        path: PathBuf,
        /// Why, and what to do instead.
        message: String,
    },

    /// A calibration profile is missing, unreadable or malformed (the scenario's
    /// `calibration_profile`, or the copy a manifest records).
    #[error("{message}")]
    Profile {
        /// The profile's path (or `manifest.json` for a recorded copy).
        path: PathBuf,
        /// What is wrong with it, starting with the path.
        message: String,
    },

    /// A run folder's manifest is missing, unreadable or inconsistent.
    #[error("{path}: {message}")]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },

    /// A CSV or JSON writer failed.
    #[error("{path}: cannot write: {message}")]
    Write {
        /// The file being written.
        path: PathBuf,
        /// The writer's message.
        message: String,
    },

    /// A model invariant broke during a run (a bug in taosim, reported rather than hidden).
    #[error("invariant violated at block {block}: {message}")]
    Invariant {
        /// The block at which it was detected.
        block: u64,
        /// Which invariant and by how much.
        message: String,
    },
}

impl Error {
    /// Whether the error is the user's input (exit code 2: a scenario, a profile, a manifest,
    /// an output folder that is taken or refused) rather than a failure while running (exit
    /// code 1: I/O, a writer, a broken invariant).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Error::Scenario(_)
                | Error::OutputExists(_)
                | Error::OutputRefused { .. }
                | Error::Profile { .. }
                | Error::Manifest { .. }
        )
    }

    /// An I/O error on `path` while doing `action`.
    pub fn io(path: impl Into<PathBuf>, action: &'static str, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), action, source }
    }
}

/// A problem with a scenario: the file (or `--set`), the field path and what is allowed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}: {}{message}", field_prefix(.field))]
pub struct ScenarioError {
    /// The file the value came from, `--set` for an override, or `built-in default`.
    pub source_name: String,
    /// The dotted path of the field (`chain.tempo`), empty for whole-file problems.
    pub field: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

fn field_prefix(field: &str) -> String {
    if field.is_empty() { String::new() } else { format!("{field}: ") }
}

impl ScenarioError {
    /// An error about `field` of `source_name`.
    pub fn new(source_name: impl Into<String>, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { source_name: source_name.into(), field: field.into(), message: message.into() }
    }
}

/// Why `v` is not a finite value in `lo ..= hi`, in the words every parameter check uses, or
/// `None` when it is.
pub fn out_of_range(v: f64, lo: f64, hi: f64) -> Option<String> {
    (!(v.is_finite() && v >= lo && v <= hi)).then(|| format!("{v} is out of range; allowed {lo} ..= {hi}"))
}
