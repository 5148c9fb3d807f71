//! `anrf run`.

use clap::Args;

use crate::exit::Finish;

#[derive(Debug, Args)]
pub(crate) struct RunArgs {}

pub(crate) fn exec(_args: RunArgs) -> miette::Result<Finish> {
    Err(miette::miette!("`anrf run` is not available in this build yet"))
}
