//! The one place where results become process exit codes (DESIGN.md, "Contracts").

use std::fmt::Write as _;
use std::io::IsTerminal as _;
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

/// Maps a command's result to the process exit code, printing errors on stderr:
/// rendered diagnostics on a terminal, plain `error: ...` lines when piped.
pub(crate) fn finish(result: miette::Result<Finish>) -> ExitCode {
    match result {
        Ok(Finish::Code(code)) => ExitCode::from(code),
        Err(report) => {
            print_error(&report);
            ExitCode::from(USAGE)
        }
    }
}

/// Prints an error on stderr: rendered on a terminal, plain when piped.
pub(crate) fn print_error(report: &miette::Report) {
    if std::io::stderr().is_terminal() {
        eprintln!("{report:?}");
    } else {
        eprintln!("{}", plain(report));
    }
}

/// `error: what`, each cause on its own line, then the help.
pub(crate) fn plain(report: &miette::Report) -> String {
    let mut out = format!("error: {report}");
    for cause in report.chain().skip(1) {
        let _ = write!(out, "\n  caused by: {cause}");
    }
    if let Some(help) = report.help() {
        let _ = write!(
            out,
            "\n  help: {}",
            help.to_string().replace('\n', "\n        ")
        );
    }
    out
}
