//! The one error type of this crate: the verifier could not do its job at all.
//! Everything it found about a module is a finding in the report instead.

use std::path::PathBuf;

/// Why a verification (or a cache access) could not be done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No `anrf.toml` where a module was expected.
    #[error("no module at `{}`: there is no `anrf.toml`", path.display())]
    NoModule {
        /// The directory looked in.
        path: PathBuf,
    },
    /// A file the verifier needs could not be read.
    #[error("cannot read `{}`", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The SARIF log did not fit the SARIF 2.1.0 types (a bug in the renderer).
    #[error("cannot render the report as SARIF 2.1.0: {0}")]
    Sarif(String),
    /// The result cache could not be written.
    #[error("cannot write the verification cache at `{}`", path.display())]
    CacheWrite {
        /// The cache file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}
