//! `anrf explain`.

use clap::Args;

use crate::exit::Finish;

#[derive(Debug, Args)]
pub(crate) struct ExplainArgs {}

pub(crate) fn exec(_args: ExplainArgs) -> miette::Result<Finish> {
    Err(miette::miette!("`anrf explain` is not available in this build yet"))
}
