//! `anrf schema`: the manifest's JSON Schema, for editors and tools.

use clap::Args;
use miette::IntoDiagnostic;

use crate::exit::Finish;
use crate::out;

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  anrf schema > anrf.schema.json\n  (then point your editor's TOML schema setting at it, e.g. taplo's `#:schema anrf.schema.json`)"
)]
pub(crate) struct SchemaArgs {}

pub(crate) fn exec(_args: SchemaArgs) -> miette::Result<Finish> {
    let schema = anrf_format::Manifest::json_schema();
    out::println(&serde_json::to_string_pretty(&schema).into_diagnostic()?)?;
    Ok(Finish::Code(0))
}
