//! `anrf verify`.

use clap::Args;

use crate::exit::Finish;

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {}

pub(crate) fn exec(_args: VerifyArgs) -> miette::Result<Finish> {
    Err(miette::miette!("`anrf verify` is not available in this build yet"))
}
