//! `anrf gen`.

use clap::Args;

use crate::exit::Finish;

#[derive(Debug, Args)]
pub(crate) struct GenArgs {}

pub(crate) fn exec(_args: GenArgs) -> miette::Result<Finish> {
    Err(miette::miette!("`anrf gen` is not available in this build yet"))
}
