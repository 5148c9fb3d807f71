//! `$ANRF_HOME`: where state that is not part of a module lives (the audit log,
//! caches, the log's signing key). Resolved here once; library crates take paths.

use std::path::PathBuf;

/// Environment variable that overrides the state directory.
pub(crate) const ANRF_HOME: &str = "ANRF_HOME";

/// The state directory: `$ANRF_HOME`, else the platform's data directory
/// (e.g. `~/.local/share/anrf`).
pub(crate) fn anrf_home() -> miette::Result<PathBuf> {
    if let Some(dir) = std::env::var_os(ANRF_HOME).filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(dir));
    }
    directories::ProjectDirs::from("", "", "anrf")
        .map(|dirs| dirs.data_dir().to_path_buf())
        .ok_or_else(|| {
            miette::miette!(
                help = "set `ANRF_HOME` to a directory anrf may write to",
                "cannot find a home directory for anrf's state"
            )
        })
}
