//! `anrf key`.

use clap::Args;

use crate::exit::Finish;

#[derive(Debug, Args)]
pub(crate) struct KeyArgs {}

pub(crate) fn exec(_args: KeyArgs) -> miette::Result<Finish> {
    Err(miette::miette!("`anrf key` is not available in this build yet"))
}
