//! The crate's error type: every failure a user can cause names what to fix.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A config value outside its allowed range or otherwise unusable.
    #[error("config error: `{key}` {message}")]
    Config { key: String, message: String },
    /// The config file could not be parsed (syntax, unknown key, wrong type).
    #[error("config error in {path}: {message}")]
    Parse { path: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("output directory {0} is not empty (use --force to write into it)")]
    OutputNotEmpty(PathBuf),
    #[error("image output failed for {path}: {message}")]
    Image { path: PathBuf, message: String },
    #[error("solver failure at step {step}: {message}")]
    Solver { step: u64, message: String },
    /// A checkpoint that cannot be read, or does not belong to this run.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// The run stopped on SIGINT (2) or SIGTERM (15) after writing a checkpoint.
    #[error("interrupted by signal {signal}: checkpoint written; continue with `mgpf run --resume {dir}`")]
    Interrupted { signal: i32, dir: String },
    /// A sweep stopped on SIGINT or SIGTERM: its running points wrote checkpoints.
    #[error("interrupted by signal {signal}: the running points wrote checkpoints; run the same `mgpf sweep` command again to continue the study in {dir}")]
    StudyInterrupted { signal: i32, dir: String },
    /// No usable GPU adapter, or a grid the adapter cannot hold.
    #[error("gpu: {0}")]
    Gpu(String),
    #[error("{0}")]
    Other(String),
}

impl Error {
    pub fn config(key: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Config {
            key: key.into(),
            message: message.into(),
        }
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
