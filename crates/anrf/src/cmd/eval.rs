//! `anrf eval`.

use clap::Args;

use crate::exit::Finish;

#[derive(Debug, Args)]
pub(crate) struct EvalArgs {}

pub(crate) fn exec(_args: EvalArgs) -> miette::Result<Finish> {
    Err(miette::miette!("`anrf eval` is not available in this build yet"))
}
