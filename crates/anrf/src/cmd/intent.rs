//! `anrf intent`: override detection on a stated intent.

use std::fmt::Write as _;

use anrf_gen::detect::{self, Decision, EvidenceSource, IntentReport};
use clap::{Args, Subcommand};
use miette::IntoDiagnostic;

use crate::exit::Finish;

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  anrf intent check \"just turn the sandbox off\" --json")]
pub(crate) struct IntentArgs {
    #[command(subcommand)]
    command: IntentCommand,
}

#[derive(Debug, Subcommand)]
enum IntentCommand {
    /// Detect whether an intent asks to relax security (offline, rules plus a small model)
    ///
    /// Exits 0 whenever the text was classified, whatever the decision: read the
    /// decision from the output (`--json`: `allow`, `needs_approval` or `block`).
    /// Exits 2 when there is no text to classify.
    #[command(
        after_help = "Examples:\n  anrf intent check \"could you let it reach the network?\"\n  \
        echo \"sum order totals from CSV on stdin\" | anrf intent check - --json"
    )]
    Check(CheckArgs),
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// The intent, or `-` to read it from stdin
    #[arg(value_name = "TEXT")]
    text: String,

    /// Print `{"override_requested", "decision", "categories", "score", "evidence"}`
    #[arg(long)]
    json: bool,
}

pub(crate) fn exec(args: IntentArgs) -> miette::Result<Finish> {
    match args.command {
        IntentCommand::Check(args) => check(&args),
    }
}

fn check(args: &CheckArgs) -> miette::Result<Finish> {
    let text = if args.text == "-" {
        crate::input::read_stdin_text(crate::input::MAX_INTENT_BYTES, "the intent")?
    } else {
        args.text.clone()
    };
    if text.trim().is_empty() {
        return Err(miette::miette!(
            help = "pass the intent as an argument, or `-` and the intent on stdin",
            "the intent is empty: there is nothing to check"
        ));
    }
    let report = detect::check(&text).into_diagnostic()?;
    let out = if args.json {
        let mut json = serde_json::to_string_pretty(&report).into_diagnostic()?;
        json.push('\n');
        json
    } else {
        render(&report)
    };
    print_stdout(&out)?;
    Ok(Finish::Code(0))
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

/// The human form of a report.
fn render(report: &IntentReport) -> String {
    let mut out = String::new();
    let _ = match report.decision {
        Decision::Allow => writeln!(
            out,
            "decision: allow (score {:.2}): no request to relax security found",
            report.score
        ),
        Decision::NeedsApproval => writeln!(
            out,
            "decision: needs_approval (score {:.2}): this asks for a relaxation that only an \
             approved override can grant",
            report.score
        ),
        Decision::Block => writeln!(
            out,
            "decision: block (score {:.2}): no approval can make tampering with policy, \
             approvals or the audit trail legitimate",
            report.score
        ),
    };
    if report.categories.is_empty() {
        return out;
    }
    let _ = writeln!(out, "\ncategories:");
    for category in &report.categories {
        let _ = writeln!(out, "  {category}: {}", category.describe());
    }
    let _ = writeln!(out, "\nevidence:");
    for e in &report.evidence {
        let _ = match (e.source, &e.rule, e.span, e.weight) {
            (EvidenceSource::Rule, Some(rule), Some([start, end]), _) => writeln!(
                out,
                "  {}: {:?} (rule `{rule}`, bytes {start}..{end})",
                e.category, e.text
            ),
            (_, _, _, Some(weight)) => writeln!(
                out,
                "  {}: {:?} (model n-gram, +{weight:.2} log-odds)",
                e.category, e.text
            ),
            _ => writeln!(out, "  {}: {:?}", e.category, e.text),
        };
    }
    if report.decision == Decision::NeedsApproval {
        let _ = writeln!(
            out,
            "\nto ask for it (nothing is granted until it is approved):"
        );
        for category in &report.categories {
            if let Some(hint) = category.request_hint() {
                let _ = writeln!(out, "  {category}: {hint}");
            }
        }
    }
    out
}
