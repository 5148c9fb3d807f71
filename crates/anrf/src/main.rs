//! `anrf`: the command-line interface. Thin: parse arguments, call the library
//! crates, map their results to the exit codes fixed in DESIGN.md.
#![forbid(unsafe_code)]

mod cmd;
mod exit;
mod home;
mod input;
mod out;
mod policy_file;

use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _};

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let color = exit::Color::from_args(&args).unwrap_or_default();
    let matches = cmd::Cli::command()
        .color(color.clap())
        .get_matches_from(args);
    let cli = match cmd::Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    exit::configure(cli.color, cmd::wants_json(&matches));
    exit::finish(cmd::dispatch(cli))
}
