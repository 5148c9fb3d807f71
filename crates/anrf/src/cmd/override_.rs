//! `anrf override`.

use clap::Args;

use crate::exit::Finish;

#[derive(Debug, Args)]
pub(crate) struct OverrideArgs {}

pub(crate) fn exec(_args: OverrideArgs) -> miette::Result<Finish> {
    Err(miette::miette!("`anrf override` is not available in this build yet"))
}
