//! `anrf policy init`: writes a project's `anrf-policy.toml` with the approvers
//! it is given (their public keys from `anrf key gen`), one Cedar rule and a
//! commented example of per-profile rules. The file is checked as every command
//! will read it before it is written, and an existing one is never replaced.

use std::fmt::Write as _;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use miette::{IntoDiagnostic as _, WrapErr as _};

use crate::exit::Finish;
use crate::out;

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  anrf key gen bob && anrf policy init --approver bob\n\nThe file's keys: docs/policy.md"
)]
pub(crate) struct PolicyArgs {
    #[command(subcommand)]
    command: PolicyCommand,
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Create anrf-policy.toml at the project root with the approvers you name
    Init(InitArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  anrf key gen bob && anrf key gen carol\n  anrf policy init --approver bob --approver carol:security,reviewer\n\n\
Each approver's public key is read from KEYS/NAME.pub (written by `anrf key gen NAME`).\n\
Exit status: 0 written, 2 usage error (a policy file already there, a missing key)."
)]
struct InitArgs {
    /// An approver: `NAME` (role `security`) or `NAME:ROLE[,ROLE...]`
    #[arg(long = "approver", value_name = "NAME[:ROLES]", required = true)]
    approvers: Vec<String>,
    /// Where the public keys are [default: `$ANRF_HOME/keys`, where `anrf key gen` writes them]
    #[arg(long, value_name = "DIR")]
    keys: Option<PathBuf>,
    /// The project root to write anrf-policy.toml into
    #[arg(long, value_name = "DIR", default_value = ".")]
    dir: PathBuf,
}

pub(crate) fn exec(args: PolicyArgs) -> miette::Result<Finish> {
    match args.command {
        PolicyCommand::Init(a) => init(&a),
    }
}

fn init(args: &InitArgs) -> miette::Result<Finish> {
    let keys = match &args.keys {
        Some(dir) => dir.clone(),
        None => crate::home::anrf_home()?.join("keys"),
    };
    let mut approvers = String::new();
    for spec in &args.approvers {
        let (name, roles) = spec.split_once(':').unwrap_or((spec, "security"));
        let roles: Vec<&str> = roles
            .split(',')
            .map(str::trim)
            .filter(|r| !r.is_empty())
            .collect();
        // Checked before anything is read or written: a name is also a file
        // name under KEYS and a string in the policy.
        if let Some(bad) = std::iter::once(name)
            .chain(roles.iter().copied())
            .find(|n| !anrf_policy::valid_name(n))
        {
            miette::bail!(
                help = "names and roles are 1-64 characters of `a-z`, `A-Z`, `0-9`, `.`, `_`, `-`, `@`",
                "`{bad}` in `--approver {spec}` is not a valid approver or role name"
            );
        }
        if roles.is_empty() {
            miette::bail!(
                "`--approver {spec}` names no role: write `NAME` or `NAME:ROLE[,ROLE...]`"
            );
        }
        let path = keys.join(format!("{name}.pub"));
        let public = anrf_format::fsread::read_regular_text(&path, crate::input::MAX_KEY_BYTES)
            .map_err(|e| {
                miette::miette!(
                    help = format!(
                        "generate it: anrf key gen {name}{}",
                        args.keys
                            .as_ref()
                            .map_or(String::new(), |d| format!(" --out {}", d.display()))
                    ),
                    "no public key for approver `{name}` at `{}`: {e}",
                    path.display()
                )
            })?;
        let roles = roles
            .iter()
            .map(|r| format!("\"{r}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = write!(
            approvers,
            "\n[[approvers]]\nname = \"{name}\"\npublic_key = \"{}\"\nroles = [{roles}]\n",
            public.trim()
        );
    }
    let text = format!("{TEMPLATE}{approvers}");
    let path = args.dir.join(anrf_policy::POLICY_FILE);
    // Checked as every command will read it: names, keys, roles, the rule.
    anrf_policy::ProjectPolicy::parse(&text, &path.display().to_string())
        .map_err(|e| miette::miette!("{e}"))
        .wrap_err("the policy would not be valid")?;
    // Readable by all, writable by its owner only: anrf reads a policy only
    // when no one else can write it.
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o644);
    let mut file = options
        .open(&path)
        .into_diagnostic()
        .wrap_err_with(|| {
            format!(
                "cannot create `{}` (an existing policy is never replaced: edit it, or remove it first)",
                path.display()
            )
        })?;
    std::io::Write::write_all(&mut file, text.as_bytes())
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write `{}`", path.display()))?;
    out::outln!(
        "wrote {} with {} approver(s); every module in or below `{}` (up to the version-control root) follows it",
        path.display(),
        args.approvers.len(),
        args.dir.display()
    )?;
    out::outln!("Next: request what a module needs, then have an approver sign it:")?;
    out::outln!("  anrf override request MODULE --allow-read data --justification \"...\"")?;
    Ok(Finish::Code(0))
}

/// Everything but the approvers. Kept valid by a test that parses it.
const TEMPLATE: &str = r#"# The project policy: who may approve overrides here, and what any module may
# ask for at most. Every anrf command on a module in or below this directory
# reads it. Each key is explained in docs/policy.md.
version = 1

# Who may approve what, in Cedar. `@id` names a rule in every decision.
cedar = """
@id("security-approves")
permit(principal in Role::"security", action == Action::"approve", resource);
"""

# The most a module may ask for. Without `[maxima]`, the built-in maxima hold
# (directories inside the project, limits up to 4x the defaults), e.g.:
# [maxima]
# read = ["data"]
# memory = "256MiB"

# How many distinct approvers each profile needs (defaults: 1 in test and prod).
# Uncomment to require two in prod for network access and memory-unsafe code:
# [profiles.prod]
# min_approvers = { default = 1, allow-network = 2, memory-unsafe = 2 }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_parses_and_its_commented_example_does_too() {
        let p = anrf_policy::ProjectPolicy::parse(TEMPLATE, "anrf-policy.toml").unwrap();
        assert!(p.approvers().is_empty());
        let uncommented = TEMPLATE
            .replace("# [", "[")
            .replace("# read = ", "read = ")
            .replace("# memory = ", "memory = ")
            .replace("# min_approvers = ", "min_approvers = ");
        assert_ne!(uncommented, TEMPLATE);
        anrf_policy::ProjectPolicy::parse(&uncommented, "anrf-policy.toml").unwrap();
    }
}
