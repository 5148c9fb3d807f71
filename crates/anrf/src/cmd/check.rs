//! `anrf check`.

use clap::Args;

use crate::exit::Finish;

#[derive(Debug, Args)]
pub(crate) struct CheckArgs {}

pub(crate) fn exec(_args: CheckArgs) -> miette::Result<Finish> {
    Err(miette::miette!("`anrf check` is not available in this build yet"))
}
