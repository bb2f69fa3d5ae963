//! The crate's error type: every variant names the file and what is wrong with it.

use std::path::PathBuf;

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong reading run or sweep folders and writing reports.
///
/// All variants are recoverable for the caller: the command line prints them in one line and
/// exits non-zero. None leaves a partial report behind (outputs are written atomically).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or folder could not be read or written.
    #[error("{path}: {action}: {source}")]
    Io {
        /// The file or folder concerned.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// A folder is neither a run folder, a sweep folder nor a folder of run folders.
    #[error(
        "{0}: not a taosim run or sweep folder (expected manifest.json with format taosim-run/1, or summary.csv with runs/, or sub-folders that are run folders)"
    )]
    NotAStudy(PathBuf),

    /// A file does not have the layout this crate reads (missing column, bad number...).
    #[error("{path}: {message}")]
    Format {
        /// The file concerned.
        path: PathBuf,
        /// What is wrong and what is expected.
        message: String,
    },

    /// A run folder's file is missing or differs from the digest its manifest records.
    #[error("{path}: {message}")]
    Integrity {
        /// The file concerned.
        path: PathBuf,
        /// What differs and what to do.
        message: String,
    },

    /// A run folder's manifest is missing, malformed or of another format.
    #[error("{0}")]
    Manifest(String),
}

impl Error {
    /// An I/O error on `path` while doing `action`.
    pub fn io(path: impl Into<PathBuf>, action: &'static str, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), action, source }
    }

    /// A layout problem in `path`.
    pub fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        Error::Format { path: path.into(), message: message.into() }
    }
}
