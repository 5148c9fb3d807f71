//! `anrf intent`.

use clap::Args;

use crate::exit::Finish;

#[derive(Debug, Args)]
pub(crate) struct IntentArgs {}

pub(crate) fn exec(_args: IntentArgs) -> miette::Result<Finish> {
    Err(miette::miette!("`anrf intent` is not available in this build yet"))
}
