//! Subcommands. Each module owns its raw clap arguments and its `exec` function.

mod audit;
mod build;
mod check;
mod complete;
mod eval;
mod explain;
mod generate;
mod init;
mod intent;
mod key;
mod override_;
mod policy;
mod run;
mod schema;
mod verify;

use clap::{Parser, Subcommand};

use crate::exit::Finish;

/// Secure-by-default toolchain and runtime for AI-generated code.
///
/// Every module runs in a wasm sandbox that grants nothing by default; every
/// relaxation is an explicit override that is justified, approved, scoped and audited.
#[derive(Debug, Parser)]
#[command(
    name = "anrf",
    version,
    about,
    long_about = None,
    after_help = "Example:\n  anrf init shout && anrf build shout && anrf run shout <<< 'hello'\n  anrf verify shout\n\nEach command has its own examples: anrf COMMAND --help"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
    /// When to color diagnostics
    #[arg(long, global = true, value_enum, default_value_t = crate::exit::Color::Auto, value_name = "WHEN")]
    pub(crate) color: crate::exit::Color,
}

/// Whether the command line asks for JSON (`--json`, or `--format json`): then
/// an error or refusal is also printed as one JSON object on stdout.
pub(crate) fn wants_json(matches: &clap::ArgMatches) -> bool {
    let mut current = Some(matches);
    while let Some(m) = current {
        if let Ok(Some(true)) = m.try_get_one::<bool>("json") {
            return true;
        }
        if let Ok(Some(format)) = m.try_get_raw("format")
            && format.into_iter().any(|f| f == "json")
        {
            return true;
        }
        current = m.subcommand().map(|(_, sub)| sub);
    }
    false
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a new module: manifest plus a Rust guest that reads stdin and writes stdout
    Init(init::InitArgs),
    /// Validate a module's manifest (`anrf.toml`)
    Check(check::CheckArgs),
    /// Compile a module's Rust guest to wasm32-wasip1 and record the artifact hash
    Build(build::BuildArgs),
    /// Print the JSON Schema of the manifest
    Schema(schema::SchemaArgs),
    /// Run a module, `.wasm` or `.wat` in the sandbox
    Run(run::RunArgs),
    /// Verify a module: metadata, wasm, source, overrides, tests
    Verify(verify::VerifyArgs),
    /// Explain, from verified facts, what a module may touch and why
    Explain(explain::ExplainArgs),
    /// Manage approver signing keys
    Key(key::KeyArgs),
    /// Request, approve, revoke and inspect overrides
    #[command(name = "override")]
    Override(override_::OverrideArgs),
    /// Create the project policy (anrf-policy.toml): approvers and rules
    Policy(policy::PolicyArgs),
    /// Read, verify and export the audit trail
    Audit(audit::AuditArgs),
    /// Generate a module from an intent with a language model
    Gen(generate::GenArgs),
    /// Detect requests to relax security in an intent
    Intent(intent::IntentArgs),
    /// Run the security benchmark and print its metrics
    Eval(eval::EvalArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions(complete::CompletionsArgs),
    /// Write man pages, generated from this command line (one per command)
    Man(complete::ManArgs),
}

pub(crate) fn dispatch(cli: Cli) -> miette::Result<Finish> {
    match cli.command {
        Command::Init(args) => init::exec(args),
        Command::Check(args) => check::exec(args),
        Command::Build(args) => build::exec(args),
        Command::Schema(args) => schema::exec(args),
        Command::Run(args) => run::exec(args),
        Command::Verify(args) => verify::exec(args),
        Command::Explain(args) => explain::exec(args),
        Command::Key(args) => key::exec(args),
        Command::Override(args) => override_::exec(args),
        Command::Policy(args) => policy::exec(args),
        Command::Audit(args) => audit::exec(args),
        Command::Gen(args) => generate::exec(args),
        Command::Intent(args) => intent::exec(args),
        Command::Eval(args) => eval::exec(args),
        Command::Completions(args) => complete::completions(&args),
        Command::Man(args) => complete::man(&args),
    }
}
