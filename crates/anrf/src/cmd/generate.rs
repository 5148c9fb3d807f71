//! `anrf gen`: intent -> model -> module -> build -> verify -> examples -> repair
//! -> confidence -> explanation -> provenance, with an audit event.
//!
//! Exit codes: `0` a verified module was written; `1` generation did not converge
//! or the intent was refused; `2` a usage error or a model-server failure.

use std::path::PathBuf;
use std::time::Duration;

use anrf_format::Profile;
use anrf_gen::GenError;
use anrf_gen::client::{ChatClient, ClientConfig, Overrides, Sampling};
use anrf_gen::pipeline::{self, GenRequest};
use anrf_gen::progress::Terminal;
use anrf_gen::report::{self, GenStatus};
use clap::Args;
use miette::IntoDiagnostic as _;

use crate::exit::Finish;

/// The most rounds `--max-rounds` accepts.
const MAX_ROUNDS_LIMIT: u32 = 10;

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    anrf gen \"sum order totals per customer from CSV on stdin\" -o orders\n  \
    anrf gen \"count the words on stdin\" -o wc --examples wc-examples.toml --json\n  \
    ANRF_LLM_ENDPOINT=http://127.0.0.1:8080/v1 anrf gen \"reverse each line\" -o rev --max-rounds 6\n\n\
Exit codes: 0 a verified module was written; 1 no module verified within the round limit, \
or the intent was refused; 2 usage error or model-server failure.")]
pub(crate) struct GenArgs {
    /// What the module is for, in words, or `-` to read it from stdin
    #[arg(value_name = "INTENT")]
    intent: String,

    /// The module directory to create (must not exist, or be empty); its name is the module's name
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    output: PathBuf,

    /// Rounds allowed: the first answer plus repairs fed with compiler errors,
    /// verifier findings and failing examples
    #[arg(long, value_name = "N", default_value_t = pipeline::DEFAULT_MAX_ROUNDS)]
    max_rounds: u32,

    /// Examples the module must satisfy, from a TOML file of `[[examples]]`
    /// (`name`, `stdin`, `args`, `stdout`, `exit_code`); added to the manifest
    #[arg(long, value_name = "FILE")]
    examples: Option<PathBuf>,

    /// The profile the module is verified under
    #[arg(long, value_enum, default_value_t = Profile::Test)]
    profile: Profile,

    /// The project policy file (default: the nearest `anrf-policy.toml` above DIR,
    /// else the built-in policy)
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,

    /// When no module verifies, still write the last attempt to DIR, marked NOT
    /// verified (GEN-REPORT.md, confidence 0)
    #[arg(long)]
    keep_unverified: bool,

    /// Print the generation report as JSON on stdout
    #[arg(long)]
    json: bool,

    /// The OpenAI-compatible endpoint (default: `$ANRF_LLM_ENDPOINT`, the config file,
    /// then `http://127.0.0.1:11434/v1`)
    #[arg(long, value_name = "URL")]
    endpoint: Option<String>,

    /// The model name (default: `$ANRF_LLM_MODEL`, the config file, then a built-in default)
    #[arg(long, value_name = "NAME")]
    model: Option<String>,

    /// Timeout of one model request: milliseconds or with a unit (`90s`, `5m`)
    #[arg(long, value_name = "DURATION", value_parser = parse_timeout)]
    llm_timeout: Option<Duration>,

    /// Retries of a model request on HTTP 429/5xx and connection failures
    #[arg(long, value_name = "N")]
    llm_retries: Option<u32>,
}

fn parse_timeout(text: &str) -> Result<Duration, String> {
    anrf_format::parse_duration(text)
        .map(|ms| Duration::from_millis(ms.ms()))
        .map_err(|e| e.to_string())
}

pub(crate) fn exec(args: GenArgs) -> miette::Result<Finish> {
    let intent = read_intent(&args.intent)?;
    if args.max_rounds == 0 || args.max_rounds > MAX_ROUNDS_LIMIT {
        return Err(miette::miette!(
            help = format!("use a number from 1 to {MAX_ROUNDS_LIMIT}"),
            "`--max-rounds {}` is out of range",
            args.max_rounds
        ));
    }
    let module_name = pipeline::module_name_for(&args.output).map_err(|e| {
        miette::miette!(
            help = "the module's name is the output directory's name: `[a-z][a-z0-9-]*`",
            "{e}"
        )
    })?;
    let examples = match &args.examples {
        Some(path) => {
            let text = crate::input::read_text(
                path,
                crate::input::MAX_EXAMPLES_BYTES,
                "the examples file",
            )?;
            pipeline::parse_examples(&text, &path.display().to_string()).map_err(|e| {
                miette::miette!(
                    help = "write `[[examples]]` tables with `name`, `stdin`, `stdout` (and optionally `args`, `exit_code`)",
                    "invalid examples file: {e}"
                )
            })?
        }
        None => Vec::new(),
    };
    let policy = super::verify::load_policy(&args.output, args.policy.as_deref())?;
    let config = ClientConfig::resolve(&Overrides {
        endpoint: args.endpoint,
        model: args.model,
        timeout: args.llm_timeout,
        max_retries: args.llm_retries,
    })
    .map_err(|e| miette::miette!("{e}"))?;
    for warning in &config.warnings {
        eprintln!("warning: {warning}");
    }
    let client = ChatClient::new(config);
    let request = GenRequest {
        intent,
        out_dir: args.output,
        module_name,
        max_rounds: args.max_rounds,
        examples,
        policy: &policy,
        profile: args.profile,
        sampling: Sampling::default(),
    };

    let mut progress = Terminal::stderr();
    let generated = match pipeline::generate(&request, &client, &mut progress) {
        Ok(generated) => generated,
        Err(error) => {
            drop(progress);
            audit_failure(&request, &client, &error);
            return Err(gen_error(&client, &error));
        }
    };
    drop(progress);

    let status = generated.report.status;
    let report = generated.report.clone();
    // Commit first, so the audit event records what was actually written; if the
    // event is required and cannot be recorded, what was written is taken back.
    let written = generated
        .commit(args.keep_unverified)
        .map_err(|e| gen_error(&client, &e))?;
    if let Err(error) = audit(&request, &report, written.as_deref()) {
        if let Some(dir) = &written {
            let _ = std::fs::remove_dir_all(dir);
        }
        return Err(error);
    }
    let shown = written.as_deref().map(|p| p.display().to_string());
    let out = if args.json {
        let mut value = serde_json::to_value(&report).into_diagnostic()?;
        if let Some(map) = value.as_object_mut() {
            map.insert("written".to_owned(), serde_json::json!(shown));
        }
        let mut text = serde_json::to_string_pretty(&value).into_diagnostic()?;
        text.push('\n');
        text
    } else {
        report::human(&report, shown.as_deref())
    };
    print_stdout(&out)?;
    Ok(Finish::Code(match status {
        GenStatus::Verified => 0,
        GenStatus::NotConverged | GenStatus::Blocked => 1,
    }))
}

fn read_intent(arg: &str) -> miette::Result<String> {
    let text = if arg == "-" {
        crate::input::read_stdin_text(crate::input::MAX_INTENT_BYTES, "the intent")?
    } else {
        arg.to_owned()
    };
    if text.trim().is_empty() {
        return Err(miette::miette!(
            help = "say what the module is for, e.g. `anrf gen \"count the words on stdin\" -o wc`",
            "the intent is empty: there is nothing to generate"
        ));
    }
    Ok(text)
}

/// The error for a person, with the API key scrubbed from it whatever its origin
/// (the client already quotes server text through a scrubbing quote; this is the
/// last line of defence).
fn gen_error(client: &ChatClient, error: &GenError) -> miette::Report {
    miette::miette!("{}", client.redact(&error.to_string()))
}

/// Appends the generation to the audit log: required under `test` and `prod`
/// (the module is not written when it cannot be recorded), best effort under `dev`.
fn audit(
    request: &GenRequest<'_>,
    report: &anrf_gen::report::GenReport,
    written: Option<&std::path::Path>,
) -> miette::Result<()> {
    use anrf_audit::{Decision, EventKind, NewEvent};
    let decision = match report.status {
        GenStatus::Verified => Decision::Allow,
        GenStatus::NotConverged | GenStatus::Blocked => Decision::Deny,
    };
    let subject = report
        .digest
        .clone()
        .unwrap_or_else(|| request.out_dir.display().to_string());
    let plan = &report.overrides;
    let event = NewEvent::new(EventKind::Gen, anrf_audit::local_actor(), subject, decision)
        .with_details(serde_json::json!({
            "status": report.status.as_str(),
            "module": report.module,
            "output": report.output,
            "intent": anrf_gen::prompt::truncate(&report.intent, 2000),
            "intent_decision": plan.detection.decision.as_str(),
            "categories": plan.detection.categories,
            "refused_clauses": plan.removed.len(),
            "pending_overrides": plan.pending.iter().map(|p| {
                serde_json::json!({
                    "category": p.category,
                    "relaxation": p.relaxation,
                    "draft_justification": p.draft_justification,
                })
            }).collect::<Vec<_>>(),
            "generator": report.provenance.generator,
            "backend": report.provenance.backend,
            "model": report.provenance.model,
            "prompt_digest": report.provenance.prompt_digest,
            "rounds": report.provenance.rounds,
            "max_rounds": report.max_rounds,
            "confidence": report.confidence.score,
            "profile": request.profile.as_str(),
            "written": written.is_some(),
            "written_to": written.map(|p| p.display().to_string()),
        }));
    record(request.profile, &event)
}

/// Records a generation that could not be done (model server, toolchain); best
/// effort, since the error is reported anyway.
fn audit_failure(request: &GenRequest<'_>, client: &ChatClient, error: &GenError) {
    use anrf_audit::{Decision, EventKind, NewEvent};
    use anrf_gen::client::ChatBackend as _;
    let event = NewEvent::new(
        EventKind::Gen,
        anrf_audit::local_actor(),
        request.out_dir.display().to_string(),
        Decision::Error,
    )
    .with_details(serde_json::json!({
        "status": "error",
        "module": request.module_name.as_str(),
        "error": client.redact(&error.to_string()),
        "backend": client.describe(),
        "model": client.model(),
        "profile": request.profile.as_str(),
    }));
    let _ = record(Profile::Dev, &event);
}

fn record(profile: Profile, event: &anrf_audit::NewEvent) -> miette::Result<()> {
    use anrf_audit::{Recorded, Requirement};
    let dir = crate::home::anrf_home()?.join("audit");
    let requirement = if profile == Profile::Dev {
        Requirement::BestEffort
    } else {
        Requirement::Required
    };
    match anrf_audit::record(&dir, event, requirement) {
        Ok(Recorded::Appended(_)) => Ok(()),
        Ok(Recorded::Skipped(e)) => {
            eprintln!("warning: the generation was not recorded in the audit log: {e}");
            Ok(())
        }
        Err(e) => Err(miette::miette!(
            help = "fix the audit log (see `anrf audit verify`); under `test` and `prod` nothing is generated unrecorded",
            "cannot record the generation in the audit log, so the module is not written: {e}"
        )),
    }
}

/// Prints to stdout; a closed pipe (`| head`) is not an error.
fn print_stdout(text: &str) -> miette::Result<()> {
    use std::io::Write as _;
    let mut stdout = crate::out::stdout();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e).into_diagnostic(),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_take_units() {
        assert_eq!(parse_timeout("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_timeout("250").unwrap(), Duration::from_millis(250));
        assert!(parse_timeout("soon").is_err());
    }

    #[test]
    fn an_empty_intent_is_a_usage_error() {
        assert!(read_intent("  ").is_err());
        assert_eq!(read_intent("count").unwrap(), "count");
    }
}
