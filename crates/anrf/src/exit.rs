//! The one place where results become process exit codes (DESIGN.md, "Contracts"),
//! and where errors and refusals are printed: on stderr for a person, and with
//! `--json` also as one JSON object on stdout when the command printed nothing
//! there itself.

use std::fmt::Write as _;
use std::io::IsTerminal as _;
use std::process::ExitCode;
use std::sync::OnceLock;

/// Exit code for a usage or input error (bad manifest, malformed wasm, ...).
pub(crate) const USAGE: u8 = 2;
/// Exit code for a refusal that policy decided (an approval refused, a request
/// beyond the maxima); `verify` uses it for blocking findings.
pub(crate) const REFUSED: u8 = 1;

/// What a command ended with, before it becomes a process exit code.
#[derive(Debug)]
pub(crate) enum Finish {
    /// The command did its job; the code is the one the contract gives it
    /// (e.g. the guest's own exit code, `125` for a violation, `1` for blocking findings).
    Code(u8),
    /// Policy refused what was asked: exit [`REFUSED`], the reason on stderr
    /// (and as `{"status": "refused", ...}` with `--json`).
    Refused(Refusal),
}

/// A refusal as the CLI reports it.
#[derive(Debug, serde::Serialize)]
pub(crate) struct Refusal {
    /// The stable refusal code (`self_approval`, `wider_than_maxima`, ...).
    pub(crate) code: String,
    pub(crate) message: String,
    /// The command or edit that would allow it, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) help: Option<String>,
}

/// `--color`: whether diagnostics on stderr are colored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub(crate) enum Color {
    /// Colored on a terminal, unless `NO_COLOR` is set.
    #[default]
    Auto,
    Always,
    Never,
}

impl Color {
    /// The choice given as `--color WHEN` or `--color=WHEN` in `args`, before
    /// they are parsed (so clap's own help and errors follow it too).
    pub(crate) fn from_args(args: &[std::ffi::OsString]) -> Option<Color> {
        let mut iter = args.iter().map(|a| a.to_string_lossy());
        while let Some(arg) = iter.next() {
            if arg == "--" {
                break;
            }
            let value = match arg.strip_prefix("--color") {
                Some("") => iter.next().map(std::borrow::Cow::into_owned),
                Some(rest) => rest.strip_prefix('=').map(str::to_owned),
                None => None,
            };
            if let Some(value) = value {
                return <Color as clap::ValueEnum>::from_str(&value, true).ok();
            }
        }
        None
    }

    pub(crate) fn clap(self) -> clap::ColorChoice {
        match self {
            Color::Auto if no_color() => clap::ColorChoice::Never,
            Color::Auto => clap::ColorChoice::Auto,
            Color::Always => clap::ColorChoice::Always,
            Color::Never => clap::ColorChoice::Never,
        }
    }
}

/// `NO_COLOR` set to anything but the empty string (<https://no-color.org>).
fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

#[derive(Debug, Clone, Copy, Default)]
struct Style {
    color: Color,
    json: bool,
}

static STYLE: OnceLock<Style> = OnceLock::new();

/// Sets how errors are printed: once, from `main`, after the arguments are parsed.
pub(crate) fn configure(color: Color, json: bool) {
    let _ = STYLE.set(Style { color, json });
}

fn style() -> Style {
    STYLE.get().copied().unwrap_or_default()
}

/// Maps a command's result to the process exit code, printing errors on stderr:
/// rendered diagnostics on a terminal, plain `error: ...` lines when piped.
pub(crate) fn finish(result: miette::Result<Finish>) -> ExitCode {
    let json = style().json && !crate::out::wrote_anything();
    match result {
        Ok(Finish::Code(code)) => ExitCode::from(code),
        Ok(Finish::Refused(refusal)) => {
            eprintln!("refused ({}): {}", refusal.code, refusal.message);
            if let Some(help) = &refusal.help {
                eprintln!("  help: {help}");
            }
            if json {
                print_json(&serde_json::json!({ "status": "refused", "error": refusal }));
            }
            ExitCode::from(REFUSED)
        }
        Err(report) => {
            print_error(&report);
            if json {
                print_json(&serde_json::json!({ "status": "error", "error": error_json(&report) }));
            }
            ExitCode::from(USAGE)
        }
    }
}

/// An error as JSON: its message, each cause, and the help.
pub(crate) fn error_json(report: &miette::Report) -> serde_json::Value {
    serde_json::json!({
        "message": report.to_string(),
        "causes": report.chain().skip(1).map(ToString::to_string).collect::<Vec<_>>(),
        "help": report.help().map(|h| h.to_string()),
    })
}

fn print_json(value: &serde_json::Value) {
    // Nothing else to do when stdout itself fails: the exit code says it.
    let _ = crate::out::println(&value.to_string());
}

/// Prints an error on stderr: rendered on a terminal (colored as `--color`
/// and `NO_COLOR` say), plain when piped unless `--color always`.
pub(crate) fn print_error(report: &miette::Report) {
    let terminal = std::io::stderr().is_terminal();
    let (graphical, color) = match style().color {
        Color::Always => (true, true),
        Color::Never => (terminal, false),
        Color::Auto => (terminal, !no_color()),
    };
    if graphical {
        let mut out = String::new();
        let handler = miette::GraphicalReportHandler::new_themed(if color {
            miette::GraphicalTheme::unicode()
        } else {
            miette::GraphicalTheme::unicode_nocolor()
        });
        if handler.render_report(&mut out, report.as_ref()).is_ok() {
            eprint!("{out}");
            return;
        }
    }
    eprintln!("{}", plain(report));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<std::ffi::OsString> {
        list.iter().map(Into::into).collect()
    }

    #[test]
    fn color_is_read_in_both_spellings_and_not_after_the_separator() {
        assert_eq!(
            Color::from_args(&args(&["anrf", "--color", "never", "run"])),
            Some(Color::Never)
        );
        assert_eq!(
            Color::from_args(&args(&["anrf", "run", "--color=always"])),
            Some(Color::Always)
        );
        assert_eq!(
            Color::from_args(&args(&["anrf", "run", "m", "--", "--color=always"])),
            None
        );
        assert_eq!(
            Color::from_args(&args(&["anrf", "--color=sometimes"])),
            None
        );
        assert_eq!(Color::from_args(&args(&["anrf", "run"])), None);
    }
}
