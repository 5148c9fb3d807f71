//! The one place where results become process exit codes (DESIGN.md, "Contracts").

use std::process::ExitCode;

/// Exit code for a usage or input error (bad manifest, malformed wasm, ...).
pub(crate) const USAGE: u8 = 2;

/// What a command ended with, before it becomes a process exit code.
#[derive(Debug)]
pub(crate) enum Finish {
    /// The command did its job; the code is the one the contract gives it
    /// (e.g. the guest's own exit code, `125` for a violation, `1` for blocking findings).
    Code(u8),
}

/// Maps a command's result to the process exit code, printing errors on stderr.
pub(crate) fn finish(result: miette::Result<Finish>) -> ExitCode {
    match result {
        Ok(Finish::Code(code)) => ExitCode::from(code),
        Err(report) => {
            eprintln!("{report:?}");
            ExitCode::from(USAGE)
        }
    }
}
