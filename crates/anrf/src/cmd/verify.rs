//! `anrf verify`: the CI gate. Static and dynamic checks with stable IDs,
//! rendered as text, JSON or SARIF; exit 0 when nothing blocks under the
//! profile, 1 when findings block, 2 on a usage or input error.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anrf_format::{Module, Profile};
use anrf_policy::ProjectPolicy;
use anrf_verify::{Cache, Examples, RenderOptions, Report, VerifyOptions};
use clap::{Args, ValueEnum};
use miette::{IntoDiagnostic as _, WrapErr as _};

use crate::exit::Finish;

/// Environment variable naming cargo's home (dependency sources for supply-chain checks).
const CARGO_HOME: &str = "CARGO_HOME";

#[derive(Debug, Args)]
#[command(after_help = "Examples:
  anrf verify examples/wordcount
  anrf verify examples/wordcount --profile prod --format sarif --exclude-suppressed -o anrf.sarif

Exit codes: 0 nothing blocks under the profile, 1 findings block, 2 usage or input error.
Every check ID is explained in docs/verify.md.")]
#[allow(
    clippy::struct_excessive_bools,
    reason = "each bool is an independent command-line flag"
)]
pub(crate) struct VerifyArgs {
    /// The module directory (or its `anrf.toml`)
    module: PathBuf,
    /// How strictly findings and overrides are judged
    #[arg(long, value_enum, default_value_t = Profile::Dev)]
    profile: Profile,
    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// The report as JSON (the same as `--format json`)
    #[arg(long, conflicts_with = "format")]
    json: bool,
    /// Write the report to FILE instead of stdout
    #[arg(short = 'o', long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Verify from scratch and do not store the result
    #[arg(long)]
    no_cache: bool,
    /// Leave findings covered by approved overrides out of the output (for GitHub
    /// code scanning, which shows SARIF suppressions as open alerts)
    #[arg(long)]
    exclude_suppressed: bool,
    /// Do not run the intent examples in the sandbox (the ANRF-T checks are skipped)
    #[arg(long)]
    no_tests: bool,
    /// The project policy file (default: the nearest `anrf-policy.toml` above the module)
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Diagnostics for a person
    Human,
    /// The report as JSON
    Json,
    /// SARIF 2.1.0 for code scanning
    Sarif,
}

/// What `verify` and `explain` share: a validated request.
pub(crate) struct Request {
    pub(crate) module: PathBuf,
    pub(crate) profile: Profile,
    pub(crate) policy: Option<PathBuf>,
    pub(crate) cache: bool,
    pub(crate) examples: Examples,
}

/// A report and whether it came from the cache.
pub(crate) struct Verified {
    pub(crate) report: Report,
    pub(crate) cached: bool,
}

pub(crate) fn exec(args: VerifyArgs) -> miette::Result<Finish> {
    let VerifyArgs {
        module,
        profile,
        format,
        json,
        output,
        no_cache,
        exclude_suppressed,
        no_tests,
        policy,
    } = args;
    let format = if json { Format::Json } else { format };
    let prefix = display_prefix(&module);
    let request = Request {
        module,
        profile,
        policy,
        cache: !no_cache,
        examples: if no_tests {
            Examples::Skip
        } else {
            Examples::Run
        },
    };
    let verified = verify(&request)?;
    let report = &verified.report;
    if verified.cached && format == Format::Human {
        eprintln!("note: result from the verification cache (`--no-cache` verifies again)");
    }
    let options = RenderOptions {
        prefix: Some(prefix),
        exclude_suppressed,
    };
    let text = match format {
        Format::Human => anrf_verify::render::human(report, &options),
        Format::Json => anrf_verify::render::json(report) + "\n",
        Format::Sarif => {
            anrf_verify::sarif::sarif(report, &options).map_err(|e| {
                miette::miette!(
                    help = "nothing was written; use `--format json` meanwhile and report this to the anrf maintainers",
                    "{e}"
                )
            })? + "\n"
        }
    };
    if let Some(path) = &output {
        std::fs::write(path, &text)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write the report to `{}`", path.display()))?;
        let summary = report.summary();
        eprintln!(
            "anrf verify: {} under `{}`: {} blocking finding(s); report written to `{}`",
            report.module,
            report.profile,
            summary.blocking,
            path.display()
        );
    } else {
        // A closed pipe (`| head`) is not an error.
        let _ = crate::out::stdout().write_all(text.as_bytes());
    }
    Ok(Finish::Code(report.exit_code()))
}

/// Verifies the requested module, through the cache unless told not to, and
/// records the decision in the audit log.
pub(crate) fn verify(request: &Request) -> miette::Result<Verified> {
    if !request.module.exists() {
        return Err(miette::miette!(
            help = "pass a module directory containing `anrf.toml`, e.g. `anrf verify examples/wordcount`",
            "no module at `{}`",
            request.module.display()
        ));
    }
    if request
        .module
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("wasm") || e.eq_ignore_ascii_case("wat"))
    {
        return Err(miette::miette!(
            help = "make it a module with a manifest (`anrf init NAME`, then list the file in `implementation.sources`) and verify the module directory",
            "`{}` is a bare wasm module: `anrf verify` checks a module against its manifest, which a bare module does not have",
            request.module.display()
        ));
    }
    let policy = load_policy(&request.module, request.policy.as_deref())?;
    let module = Module::load(&request.module);
    let mut options = VerifyOptions::new(&policy, request.profile);
    options.examples(request.examples);
    if let Some(home) = cargo_home() {
        options.cargo_home(home);
    }
    options.revocations(super::override_::load_revocations()?);
    let cache = Cache::new(crate::home::anrf_home()?.join("cache").join("verify"));
    let key = match (&module, request.cache) {
        (Ok(module), true) => Cache::key(module, &options),
        _ => None,
    };
    if let Some(report) = key.as_ref().and_then(|k| cache.get(k)) {
        audit(&report, true, policy.audit_public_key())?;
        return Ok(Verified {
            report,
            cached: true,
        });
    }
    let report = match &module {
        Ok(module) => anrf_verify::verify(module, &options),
        Err(_) => anrf_verify::verify_path(&request.module, &options),
    }
    .map_err(|e| verify_error(&e))?;
    if let Some(key) = &key
        && let Err(e) = cache.put(key, &report)
    {
        eprintln!("warning: {e}; the result is not cached");
    }
    audit(&report, false, policy.audit_public_key())?;
    Ok(Verified {
        report,
        cached: false,
    })
}

/// An error of the verifier for a person: what failed, its cause, and the fix.
fn verify_error(err: &anrf_verify::VerifyError) -> miette::Report {
    use anrf_verify::VerifyError;
    let mut message = err.to_string();
    let mut cause: Option<&dyn std::error::Error> = std::error::Error::source(err);
    while let Some(c) = cause {
        message.push_str(": ");
        message.push_str(&c.to_string());
        cause = c.source();
    }
    let help = match err {
        VerifyError::NoModule { .. } => {
            "pass a module directory containing `anrf.toml`, e.g. `anrf verify examples/wordcount`"
        }
        VerifyError::Read { .. } => {
            "make the file readable by the user running `anrf verify` (check its permissions)"
        }
        _ => "see the cause above",
    };
    miette::miette!(help = help, "{message}")
}

/// The module path as shown in reports: relative paths as given (so SARIF
/// locations match the repository layout), `.` dropped.
fn display_prefix(module: &Path) -> String {
    let dir = if module
        .file_name()
        .is_some_and(|n| n == anrf_format::MANIFEST_FILE)
    {
        module.parent().unwrap_or(module)
    } else {
        module
    };
    let text = dir.to_string_lossy().replace('\\', "/");
    text.trim_start_matches("./")
        .trim_end_matches('/')
        .to_owned()
}

/// `$CARGO_HOME`, else `~/.cargo`: where dependency sources are read from.
pub(crate) fn cargo_home() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os(CARGO_HOME).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    directories::BaseDirs::new().map(|d| d.home_dir().join(".cargo"))
}

/// The project policy: `--policy FILE`, else the nearest `anrf-policy.toml` in the
/// module directory or above it, else the strict built-in policy.
pub(crate) fn load_policy(module: &Path, explicit: Option<&Path>) -> miette::Result<ProjectPolicy> {
    match explicit {
        Some(path) => super::override_::load_policy_file(path),
        None => super::override_::load_project_policy(module),
    }
}

/// Appends the verification decision to the audit log: required under `test`
/// and `prod` (no unrecorded verdict), best effort under `dev`.
fn audit(report: &Report, cached: bool, pinned: Option<&str>) -> miette::Result<()> {
    use anrf_audit::{Decision, EventKind, NewEvent, Recorded, Requirement};
    let dir = crate::home::anrf_home()?.join("audit");
    let summary = report.summary();
    let decision = if report.passed() {
        Decision::Allow
    } else {
        Decision::Deny
    };
    let subject = report
        .digest
        .clone()
        .unwrap_or_else(|| report.module.clone());
    let event = NewEvent::new(
        EventKind::Verify,
        anrf_audit::local_actor(),
        subject,
        decision,
    )
    .with_details(serde_json::json!({
        "module": report.module,
        "profile": report.profile.as_str(),
        "policy_digest": report.policy_digest,
        "verifier": report.verifier,
        "exit_code": report.exit_code(),
        "blocking": summary.blocking,
        "errors": summary.errors,
        "warnings": summary.warnings,
        "suppressed": summary.suppressed,
        "blocking_checks": report.blocking().map(|f| f.id.code()).collect::<Vec<_>>(),
        "cached": cached,
    }));
    let requirement = if report.profile == Profile::Dev {
        Requirement::BestEffort
    } else {
        Requirement::Required
    };
    // A checked append refuses a log under another key than the pinned one.
    let options = anrf_audit::LogOptions::new().pinned_key(pinned).clone();
    match anrf_audit::record_with(&options, &dir, &event, requirement) {
        Ok(Recorded::Appended(_)) => Ok(()),
        Ok(Recorded::Skipped(e)) => {
            eprintln!("warning: the verification was not recorded in the audit log: {e}");
            Ok(())
        }
        Err(e) => Err(miette::miette!(
            help = "fix the audit log (see `anrf audit verify`); under `test` and `prod` no verdict goes unrecorded",
            "cannot record the verification in the audit log: {e}"
        )),
    }
}
