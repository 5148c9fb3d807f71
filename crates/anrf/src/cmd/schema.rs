//! `anrf schema`.

use clap::Args;

use crate::exit::Finish;

#[derive(Debug, Args)]
pub(crate) struct SchemaArgs {}

pub(crate) fn exec(_args: SchemaArgs) -> miette::Result<Finish> {
    Err(miette::miette!("`anrf schema` is not available in this build yet"))
}
