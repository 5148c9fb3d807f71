//! `anrf init`.

use clap::Args;

use crate::exit::Finish;

#[derive(Debug, Args)]
pub(crate) struct InitArgs {}

pub(crate) fn exec(_args: InitArgs) -> miette::Result<Finish> {
    Err(miette::miette!("`anrf init` is not available in this build yet"))
}
