//! `anrf build PATH`: compiles a module's guest to `wasm32-wasip1` and records the
//! artifact's path and hash in the manifest (comments and layout are kept).

use std::path::PathBuf;

use anrf_build::BuildOptions;
use anrf_format::Module;
use clap::Args;

use crate::exit::Finish;
use crate::out;

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  anrf build examples/wordcount\n\n\
Rust guests need the target installed once: rustup target add wasm32-wasip1")]
pub(crate) struct BuildArgs {
    /// Module directory or its `anrf.toml`.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn exec(args: BuildArgs) -> miette::Result<Finish> {
    let BuildArgs { path, json } = args;
    let module = Module::load(&path)?;
    let built = anrf_build::build(&module, &BuildOptions::default())?;
    if json {
        let report = serde_json::json!({
            "module": module.name(),
            "artifact": built.path.as_str(),
            "sha256": built.sha256.as_str(),
            "toolchain": built.toolchain,
        });
        out::println(&report.to_string())?;
    } else {
        out::println(&format!(
            "built `{}`: {} (sha256 {})",
            module.name(),
            module.dir().join(built.path.as_str()).display(),
            built.sha256
        ))?;
    }
    Ok(Finish::Code(0))
}
