//! The crate's error type.

use std::path::PathBuf;

/// Result with the crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the kernels, the calibration and the profile.
///
/// Every variant is recoverable for the caller: the command line reports it in one line and
/// exits non-zero; the simulator refuses to start with a profile it cannot use.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A step shape or a compression setting is out of range (names the field and the range).
    #[error("{field}: {message}")]
    Shape {
        /// The offending field (`d_model`, `top_k`, ...).
        field: &'static str,
        /// What is wrong and what is allowed.
        message: String,
    },

    /// No usable GPU: the reason in one line (missing driver, no device, forced CPU, ...).
    #[error("no GPU: {0}")]
    NoGpu(String),

    /// A CUDA call failed after the GPU was found (driver, NVRTC or cuBLAS error text).
    #[error("CUDA: {0}")]
    Cuda(String),

    /// A calibration profile cannot be read, parsed or used.
    #[error("{path}: {message}")]
    Profile {
        /// The profile file (or `built-in default`).
        path: PathBuf,
        /// What is wrong and what is allowed.
        message: String,
    },

    /// A GPU type is not in the profile's catalogue.
    #[error("unknown GPU type `{name}`; the profile knows: {known}")]
    UnknownGpu {
        /// The requested type.
        name: String,
        /// The catalogue's names, comma-separated.
        known: String,
    },

    /// A file could not be written.
    #[error("{path}: {action}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// A shape or setting error for `field`.
    pub fn shape(field: &'static str, message: impl Into<String>) -> Self {
        Error::Shape { field, message: message.into() }
    }
}
