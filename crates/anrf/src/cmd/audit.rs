//! `anrf audit`.

use clap::Args;

use crate::exit::Finish;

#[derive(Debug, Args)]
pub(crate) struct AuditArgs {}

pub(crate) fn exec(_args: AuditArgs) -> miette::Result<Finish> {
    Err(miette::miette!("`anrf audit` is not available in this build yet"))
}
