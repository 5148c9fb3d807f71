//! `anrf`: the command-line interface. Thin: parse arguments, call the library
//! crates, map their results to the exit codes fixed in DESIGN.md.
#![forbid(unsafe_code)]

mod cmd;
mod exit;
mod home;
mod out;
mod policy_file;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cmd::Cli::parse();
    exit::finish(cmd::dispatch(cli))
}
