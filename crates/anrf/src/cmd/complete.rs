//! `anrf completions SHELL` and `anrf man`: generated from the clap definition,
//! so they never drift from the real command line.

use std::path::PathBuf;

use clap::{Args, CommandFactory as _};
use miette::{IntoDiagnostic as _, WrapErr as _};

use crate::exit::Finish;

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  anrf completions bash > ~/.local/share/bash-completion/completions/anrf\n  anrf completions zsh > \"${fpath[1]}/_anrf\"\n  anrf completions fish > ~/.config/fish/completions/anrf.fish"
)]
pub(crate) struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  anrf man | man -l -\n  anrf man --out ~/.local/share/man/man1 && man anrf-run"
)]
pub(crate) struct ManArgs {
    /// Write `anrf.1` and one page per command (`anrf-run.1`, `anrf-override-approve.1`, ...)
    /// into DIR instead of printing `anrf.1` on stdout
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
}

pub(crate) fn completions(args: &CompletionsArgs) -> miette::Result<Finish> {
    let mut command = super::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "anrf", &mut script);
    crate::out::print(&String::from_utf8_lossy(&script))?;
    Ok(Finish::Code(0))
}

pub(crate) fn man(args: &ManArgs) -> miette::Result<Finish> {
    let command = super::Cli::command();
    let Some(dir) = &args.out else {
        let mut page = Vec::new();
        clap_mangen::Man::new(command)
            .render(&mut page)
            .into_diagnostic()?;
        crate::out::print(&String::from_utf8_lossy(&page))?;
        return Ok(Finish::Code(0));
    };
    std::fs::create_dir_all(dir)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot create `{}`", dir.display()))?;
    let mut written = 0;
    write_pages(&command, "anrf", dir, &mut written)?;
    eprintln!("wrote {written} man pages to {}", dir.display());
    Ok(Finish::Code(0))
}

/// Writes the page of `command` (named `name`) and of each of its subcommands.
fn write_pages(
    command: &clap::Command,
    name: &str,
    dir: &std::path::Path,
    written: &mut usize,
) -> miette::Result<()> {
    let path = dir.join(format!("{name}.1"));
    let mut page = Vec::new();
    clap_mangen::Man::new(
        command
            .clone()
            .display_name(name)
            .bin_name(name.replace('-', " ")),
    )
    .render(&mut page)
    .into_diagnostic()?;
    std::fs::write(&path, page)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write `{}`", path.display()))?;
    *written += 1;
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        write_pages(sub, &format!("{name}-{}", sub.get_name()), dir, written)?;
    }
    Ok(())
}
