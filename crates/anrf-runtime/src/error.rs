//! The crate's one error type: the runtime could not do the job at all.
//! Anything a guest does wrong is a [`crate::Violation`] in an [`crate::Outcome`], not an error.

use std::path::PathBuf;

/// Why the runtime could not load or run a module.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The input is not valid WebAssembly text.
    #[error("invalid WebAssembly text: {message}")]
    InvalidWat {
        /// The parser's message, with line and column.
        message: String,
    },
    /// The input is not a valid WebAssembly module.
    #[error("invalid WebAssembly module: {message}")]
    InvalidModule {
        /// What the validator rejected.
        message: String,
    },
    /// The module uses a feature the sandbox does not enable.
    #[error("the module uses {feature}, which the sandbox does not enable")]
    Unsupported {
        /// The feature, e.g. "shared memory (the threads proposal)".
        feature: String,
    },
    /// The module is not a WASI command.
    #[error("the module exports no `_start` function, so it is not a WASI command")]
    NotACommand,
    /// A capability grant is malformed.
    #[error("invalid grant `{what}`: {reason}")]
    InvalidGrant {
        /// The offending value.
        what: String,
        /// Why it is refused.
        reason: String,
    },
    /// The engine could not be configured.
    #[error("cannot configure the `{engine}` engine: {message}")]
    Engine {
        /// The engine.
        engine: String,
        /// Wasmtime's message.
        message: String,
    },
    /// The AOT cache could not be read or written.
    #[error("AOT cache error at `{path}`: {message}")]
    Cache {
        /// The file or directory.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// A granted directory could not be opened.
    #[error("cannot open granted directory `{path}`: {message}")]
    GrantedDir {
        /// The host path.
        path: PathBuf,
        /// The OS error.
        message: String,
    },
    /// The host failed while running the guest (not the guest's fault).
    #[error("internal runtime failure: {message}")]
    Internal {
        /// What failed.
        message: String,
    },
}

impl RuntimeError {
    pub(crate) fn internal(message: impl std::fmt::Display) -> RuntimeError {
        RuntimeError::Internal {
            message: message.to_string(),
        }
    }
}
