//! `anrf eval`: the benchmarks and their metrics.

use std::path::PathBuf;

use anrf_eval::intent::{self, IntentRun};
use clap::{Args, Subcommand};
use miette::IntoDiagnostic;

use crate::exit::Finish;

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  anrf eval intent --write-docs docs/intent-detection.md")]
pub(crate) struct EvalArgs {
    #[command(subcommand)]
    benchmark: Option<Benchmark>,
}

#[derive(Debug, Subcommand)]
enum Benchmark {
    /// Override detection: precision, recall, false-positive rate, time per text
    #[command(after_help = "Examples:\n  anrf eval intent\n  \
        anrf eval intent --train --write-docs docs/intent-detection.md")]
    Intent(IntentEvalArgs),
}

/// Where `anrf eval intent --train` writes the retrained model unless told.
const TRAINED_MODEL: &str = "intent-model.json";

#[derive(Debug, Default, Args)]
struct IntentEvalArgs {
    /// Retrain the model on the dataset's train split, write it to `--model-out`,
    /// and measure the retrained model instead of the one built in
    #[arg(long)]
    train: bool,

    /// Where `--train` writes the model [default: `intent-model.json` in the
    /// working directory; never the source tree the binary was built from]
    #[arg(long, value_name = "PATH", requires = "train")]
    model_out: Option<PathBuf>,

    /// Replace the metrics block of this Markdown file
    #[arg(long, value_name = "PATH", num_args = 0..=1,
          default_missing_value = intent::DOCS_PATH)]
    write_docs: Option<PathBuf>,

    /// Print the metrics as JSON
    #[arg(long)]
    json: bool,
}

pub(crate) fn exec(args: EvalArgs) -> miette::Result<Finish> {
    let args = match args.benchmark {
        Some(Benchmark::Intent(args)) => args,
        None => IntentEvalArgs::default(),
    };
    let output = intent::run(&IntentRun {
        train: args.train,
        model_out: if args.train {
            Some(
                args.model_out
                    .unwrap_or_else(|| PathBuf::from(TRAINED_MODEL)),
            )
        } else {
            None
        },
        write_docs: args.write_docs,
        json: args.json,
    })
    .into_diagnostic()?;
    for note in &output.notes {
        eprintln!("{note}");
    }
    crate::out::print(&output.stdout)?;
    Ok(Finish::Code(0))
}
