//! `anrf build`.

use clap::Args;

use crate::exit::Finish;

#[derive(Debug, Args)]
pub(crate) struct BuildArgs {}

pub(crate) fn exec(_args: BuildArgs) -> miette::Result<Finish> {
    Err(miette::miette!("`anrf build` is not available in this build yet"))
}
