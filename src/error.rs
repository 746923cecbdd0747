//! The crate's one error type.
//!
//! Every fallible function in `localrec` returns [`Result<T>`]. Messages are written for the
//! person who supplied the input: they name the file, the line and the problem, or the field
//! and the value, on one line.

use std::path::Path;

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in localrec, with a message that names the problem.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A line of an input file could not be understood.
    #[error("{path}:{line}: {problem}")]
    Parse {
        /// The file.
        path: String,
        /// 1-based line number.
        line: u64,
        /// What is wrong with the line.
        problem: String,
    },
    /// An input file (or the part of it that holds data) is empty.
    #[error("{path}: the file holds no data")]
    EmptyFile {
        /// The file.
        path: String,
    },
    /// The data format could not be recognised.
    #[error("{path}: unknown data format: {reason}")]
    UnknownFormat {
        /// The file.
        path: String,
        /// Why detection failed, and what to do.
        reason: String,
    },
    /// A required event field is empty or missing.
    #[error("event field `{field}` is empty or missing")]
    EmptyField {
        /// Field name (`user`, `item`, `query`, ...).
        field: &'static str,
    },
    /// An event timestamp is missing, not a number, or out of range.
    #[error("event timestamp {value} is invalid: {reason}")]
    InvalidTimestamp {
        /// The value as given.
        value: String,
        /// Why it is rejected.
        reason: &'static str,
    },
    /// An event kind that localrec does not know.
    #[error("unknown event kind `{kind}` (expected one of: view, cart, purchase, search, rate, review)")]
    UnknownEventKind {
        /// The kind as given.
        kind: String,
    },
    /// A field is longer than allowed.
    #[error("event field `{field}` is {len} characters long; the limit is {max}")]
    TooLong {
        /// Field name.
        field: &'static str,
        /// Length given.
        len: usize,
        /// Maximum allowed.
        max: usize,
    },
    /// A value that is not acceptable for a field (NaN, negative count, ...).
    #[error("invalid value for `{field}`: {problem}")]
    InvalidValue {
        /// Field or option name.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// An item id that is not in the vocabulary.
    #[error("unknown item `{item}`")]
    UnknownItem {
        /// The external id.
        item: String,
    },
    /// A dataset or data file whose content cannot be used (not a valid dataset file, a
    /// directory where a file was expected, a malformed results file).
    #[error("{0}")]
    Data(String),
    /// Nothing to work on: the data leave no interactions, no cases to evaluate, no training
    /// sequence or target, or no values to plot.
    #[error("{0}")]
    Empty(String),
    /// Inputs that do not belong together: a model and a dataset of different catalogues, a
    /// split that needs what the data lack (timestamps).
    #[error("{0}")]
    Mismatch(String),
    /// A named dataset that is not known, or cannot be loaded or fetched here.
    #[error("{0}")]
    DatasetUnavailable(String),
    /// The compute device could not run the model or give its results back, or gave back
    /// the wrong amount.
    #[error("{0}")]
    Device(String),
    /// Training failed: the loss became infinite or NaN, or it ended before any validation.
    #[error("{0}")]
    Training(String),
    /// A result could not be written out (serialised, drawn).
    #[error("{0}")]
    Output(String),
    /// What a command needs around it is missing, or a program it runs failed (the demo's
    /// files, the package build, npm).
    #[error("{0}")]
    Setup(String),
    /// Fetching a dataset failed.
    #[error("could not fetch {what}: {problem}")]
    Fetch {
        /// What was being fetched.
        what: String,
        /// Why it failed.
        problem: String,
    },
    /// A model bundle, or the weights in it, that cannot be read or does not fit the model.
    #[error("{problem}")]
    Bundle {
        /// What is wrong, e.g. `not a localrec bundle` or `weights checksum mismatch: ...`.
        problem: String,
    },
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Error::Io { path: path.as_ref().display().to_string(), source }
    }

    /// A parse error at `path:line`.
    pub fn parse(path: impl AsRef<Path>, line: u64, problem: impl Into<String>) -> Self {
        Error::Parse { path: path.as_ref().display().to_string(), line, problem: problem.into() }
    }

    /// An invalid option or argument value.
    pub fn invalid(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Error::InvalidValue { field: field.into(), problem: problem.into() }
    }
}
