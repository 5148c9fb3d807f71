//! The crate's one error type: the runtime could not do the job at all.
//! Anything a guest does wrong is a [`crate::Violation`] in an [`crate::Outcome`], not an error.

use std::path::PathBuf;

use crate::budget::BudgetExcesses;
use crate::features::FeatureRefusal;

/// Why the runtime could not load or run a module.
#[derive(Debug, Clone, thiserror::Error)]
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
    /// The module uses a wasm proposal the sandbox does not enable (the
    /// same words as the verifier's: [`crate::Proposal::refusal`]).
    #[error("the module {refusal}")]
    Unsupported {
        /// The proposal, and where the validator found it.
        refusal: FeatureRefusal,
    },
    /// The module exceeds its compile budget: it was refused before it was
    /// validated or compiled.
    #[error(
        "the module is over its compile budget, so it was refused before compiling: {exceeded}; the budgets bound the time and host memory compiling takes (docs/runtime.md, \"Compile budgets\"): make the module smaller (fewer dependencies and functions, `opt-level = \"s\"`, `lto = true`, no debug info), or raise the budget through an approved override ({})",
        exceeded.raises()
    )]
    OverBudget {
        /// Every budget exceeded, with the module's value and the budget's.
        exceeded: BudgetExcesses,
    },
    /// Too many compilations abandoned by runs that timed out are still
    /// running in this runtime to start another.
    #[error(
        "{running} compilations that outlived their runs' timeouts are still running in this runtime, so no other is started; run again once they finish (their modules then start at once), and give large modules a longer `timeout`"
    )]
    CompileBacklog {
        /// How many are still running.
        running: usize,
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
