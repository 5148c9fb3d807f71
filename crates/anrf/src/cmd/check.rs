//! `anrf check PATH`: validates a module's manifest.

use std::path::PathBuf;

use clap::Args;

use crate::exit::Finish;
use crate::out;

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  anrf check examples/wordcount")]
pub(crate) struct CheckArgs {
    /// Module directory or its `anrf.toml`.
    #[arg(default_value = ".")]
    path: PathBuf,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn exec(args: CheckArgs) -> miette::Result<Finish> {
    let CheckArgs { path, json } = args;
    let module = anrf_format::Module::load(&path)?;
    let manifest = module.manifest();
    let security = &manifest.security;
    let artifact = manifest.implementation.artifact.as_ref();
    let built = artifact.is_some_and(|a| module.resolve(a.path.as_str()).is_file());
    if json {
        let report = serde_json::json!({
            "ok": true,
            "module": module.name(),
            "manifest": module.manifest_path(),
            "memory_safety": security.memory_safety,
            "isolation": security.isolation,
            "overrides": security.overrides.len(),
            "artifact": artifact.map(|a| a.path.as_str()),
            "built": built,
        });
        out::println(&report.to_string())?;
    } else {
        let artifact = match artifact {
            Some(a) if built => format!("artifact {}", a.path),
            Some(a) => format!(
                "artifact {} recorded but not built yet (build it with `anrf build {}`)",
                a.path,
                module.dir().display()
            ),
            None => format!(
                "not built yet (build it with `anrf build {}`)",
                module.dir().display()
            ),
        };
        out::println(&format!(
            "ok: `{}` ({}) is a valid ANRF v1 manifest\n  memory safety {}, isolation {}, {} override(s), {artifact}",
            module.name(),
            module.manifest_path().display(),
            serde_plain(&security.memory_safety),
            serde_plain(&security.isolation),
            security.overrides.len(),
        ))?;
    }
    Ok(Finish::Code(0))
}

/// The kebab-case name serde gives a unit enum value.
fn serde_plain<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}
