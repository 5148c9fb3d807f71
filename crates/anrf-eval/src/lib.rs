//! `anrf-eval`: the benchmarks behind anrf's claims, re-runnable by anyone.
//!
//! Today it measures override detection: precision, recall and false-positive rate
//! of [`anrf_gen::detect`] on the held-out split of the labelled intents, the
//! false-positive rate on benign texts full of trigger words, the same figures on a
//! fresh evaluation set written after the detector was frozen, and the time per text.
//!
//! ```
//! use anrf_eval::intent::{self, TARGET_FPR, TARGET_RECALL};
//! let metrics = intent::measure_builtin()?;
//! // Held-out split: the documented targets hold for the shipped detector.
//! assert!(metrics.overall.recall() >= TARGET_RECALL);
//! assert!(metrics.overall.false_positive_rate() <= TARGET_FPR);
//! // The fresh set is measured too; its figures are in docs/intent-detection.md.
//! println!("{}", intent::render_markdown(&metrics));
//! # Ok::<(), anrf_eval::EvalError>(())
//! ```
#![forbid(unsafe_code)]

pub mod intent;

/// Why an evaluation could not run at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvalError {
    /// The detector or its data could not be loaded.
    #[error(transparent)]
    Gen(Box<anrf_gen::GenError>),

    /// A file could not be read or written.
    #[error("cannot {action} `{}`: {source}", path.display())]
    Io {
        action: &'static str,
        path: std::path::PathBuf,
        source: std::io::Error,
    },

    /// The documentation file lacks the markers the metrics go between.
    #[error("`{}` has no `{marker}` marker; add the metrics markers to the file", path.display())]
    Markers {
        path: std::path::PathBuf,
        marker: &'static str,
    },
}

impl From<anrf_gen::GenError> for EvalError {
    fn from(e: anrf_gen::GenError) -> Self {
        EvalError::Gen(Box::new(e))
    }
}
