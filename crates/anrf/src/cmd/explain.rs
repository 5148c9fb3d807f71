//! `anrf explain`: why a module is safe to run and what it may touch, built only
//! from the facts `anrf verify` established, each statement with its evidence.

use std::io::Write as _;
use std::path::PathBuf;

use anrf_format::Profile;
use anrf_verify::Examples;
use clap::Args;

use crate::cmd::verify::{Request, verify};
use crate::exit::Finish;

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  anrf explain examples/wordcount
  anrf explain examples/checksum-unsafe --profile test --json

Every statement names its evidence: a check ID and its outcome (docs/verify.md),
a line of anrf.toml, or an approver's signature. Checks that failed or did not
run are listed as not established; nothing is claimed from them.")]
pub(crate) struct ExplainArgs {
    /// The module directory (or its `anrf.toml`)
    module: PathBuf,
    /// The profile to explain the module under
    #[arg(long, value_enum, default_value_t = Profile::Dev)]
    profile: Profile,
    /// Print the explanation as JSON
    #[arg(long)]
    json: bool,
    /// Verify from scratch instead of using a cached verification
    #[arg(long)]
    no_cache: bool,
    /// The project policy file (default: the nearest `anrf-policy.toml` above the module)
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
}

pub(crate) fn exec(args: ExplainArgs) -> miette::Result<Finish> {
    let request = Request {
        module: args.module,
        profile: args.profile,
        policy: args.policy,
        cache: !args.no_cache,
        examples: Examples::Run,
    };
    let verified = verify(&request)?;
    let explanation = anrf_verify::explain::explain(&verified.report);
    let text = if args.json {
        anrf_verify::explain::json(&explanation) + "\n"
    } else {
        anrf_verify::explain::human(&explanation)
    };
    // A closed pipe (`| head`) is not an error.
    let _ = crate::out::stdout().write_all(text.as_bytes());
    Ok(Finish::Code(0))
}
