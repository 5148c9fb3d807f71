//! `anrf-eval`: the metrics commands without building the whole CLI (and its
//! sandbox), so that an optimized build is quick:
//!
//! ```text
//! cargo run --release -p anrf-eval -- train-intent     # retrain, then measure
//! cargo run --release -p anrf-eval -- intent --write-docs docs/intent-detection.md
//! ```
//!
//! `anrf eval intent` runs the same code.
#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use anrf_eval::intent::{self, IntentRun};

const USAGE: &str =
    "usage: anrf-eval (intent | train-intent) [--write-docs [PATH]] [--model-out PATH] [--json]";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut run = IntentRun::default();
    match args.next().as_deref() {
        Some("intent") => {}
        Some("train-intent") => run.train = true,
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    }
    let mut rest: Vec<String> = args.collect();
    rest.reverse();
    while let Some(arg) = rest.pop() {
        match arg.as_str() {
            "--json" => run.json = true,
            "--write-docs" => {
                let path = match rest.last() {
                    Some(next) if !next.starts_with("--") => rest.pop().unwrap_or_default(),
                    _ => intent::DOCS_PATH.to_owned(),
                };
                run.write_docs = Some(PathBuf::from(path));
            }
            "--model-out" => {
                let Some(path) = rest.pop() else {
                    eprintln!("`--model-out` needs a path\n{USAGE}");
                    return ExitCode::from(2);
                };
                run.model_out = Some(PathBuf::from(path));
            }
            other => {
                eprintln!("unknown argument `{other}`\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    match intent::run(&run) {
        Ok(output) => {
            for note in &output.notes {
                eprintln!("{note}");
            }
            print!("{}", output.stdout);
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
    }
}
