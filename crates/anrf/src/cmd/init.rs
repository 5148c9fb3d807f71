//! `anrf init NAME`: a new module that builds and passes `anrf check` as it is.

use std::path::PathBuf;

use clap::Args;
use miette::{IntoDiagnostic, WrapErr};

use crate::exit::Finish;
use crate::out;

const MANIFEST: &str = include_str!("../../templates/anrf.toml");
const CARGO_TOML: &str = include_str!("../../templates/Cargo.toml");
const MAIN_RS: &str = include_str!("../../templates/main.rs");

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  anrf init shout && anrf build shout && anrf run shout <<< 'hi'"
)]
pub(crate) struct InitArgs {
    /// Name of the module: lowercase letters, digits and `-`, starting with a letter.
    name: String,
    /// Directory to create (default: `./NAME`).
    #[arg(long)]
    path: Option<PathBuf>,
}

pub(crate) fn exec(args: InitArgs) -> miette::Result<Finish> {
    let name = anrf_format::ModuleName::new(&args.name)
        .map_err(|e| miette::miette!(help = "e.g. `anrf init word-count`", "{e}"))?;
    let dir = args.path.unwrap_or_else(|| PathBuf::from(name.as_str()));
    if dir.exists() {
        return Err(miette::miette!(
            help = "choose another name or `--path`, or remove the directory",
            "`{}` already exists; `anrf init` never overwrites",
            dir.display()
        ));
    }
    let fill = |template: &str| template.replace("{{name}}", name.as_str());
    let files = [
        (dir.join("anrf.toml"), fill(MANIFEST)),
        (dir.join("Cargo.toml"), fill(CARGO_TOML)),
        (dir.join("src/main.rs"), fill(MAIN_RS)),
        (dir.join(".gitignore"), "/target\n".to_owned()),
    ];
    for (path, text) in files {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .into_diagnostic()
                .wrap_err_with(|| format!("cannot create `{}`", parent.display()))?;
        }
        std::fs::write(&path, text)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write `{}`", path.display()))?;
    }
    // What init wrote must pass `anrf check` as it is.
    anrf_format::Module::load(&dir)?;
    out::println(&format!(
        "created module `{name}` in `{0}`\nnext: anrf build {0} && anrf run {0} <<< 'hello'",
        dir.display()
    ))?;
    Ok(Finish::Code(0))
}
