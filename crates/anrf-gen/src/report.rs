//! The report of one generation: what was asked, what was not granted, every
//! round, the confidence and its breakdown, the explanation. Rendered for a person
//! (stdout and `GEN-REPORT.md`), as JSON (`--json` and `GEN-REPORT.json`), and the
//! pending override requests as TOML.

use std::fmt::Write as _;

use anrf_verify::Finding;
use anrf_verify::report::ExampleFact;
use serde::Serialize;

use crate::client::Usage;
use crate::confidence::Confidence;
use crate::relax::OverridePlan;

/// How a generation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GenStatus {
    /// A module that verifies: no error finding, every example passed.
    Verified,
    /// The round limit was reached without a module that verifies.
    NotConverged,
    /// The intent was refused before any generation.
    Blocked,
}

impl GenStatus {
    /// The `snake_case` name.
    pub fn as_str(self) -> &'static str {
        match self {
            GenStatus::Verified => "verified",
            GenStatus::NotConverged => "not_converged",
            GenStatus::Blocked => "blocked",
        }
    }
}

/// How one round ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundOutcome {
    /// The module verified.
    Accepted,
    /// The reply was not in the required format.
    MalformedReply,
    /// The manifest did not parse or check.
    InvalidManifest,
    /// The sources read host files or the build environment at compile time
    /// (`include_str!`, `env!`, `#[path]`), refused before building.
    BuildTimeAccess,
    /// The manifest has no intent examples, so nothing could show the module works.
    NoExamples,
    /// The guest did not compile.
    CompileError,
    /// The verifier found errors in the manifest, source or wasm.
    VerifyFailed,
    /// The module is safe as far as checked, but examples failed.
    ExamplesFailed,
}

/// One round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoundRecord {
    /// 1-based.
    pub round: u32,
    /// How it ended.
    pub outcome: RoundOutcome,
    /// HTTP attempts the model's answer took (more than 1 after retries on 429/5xx).
    pub attempts: u32,
    /// Tokens the server reported for this round, if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// The problem, when rejected.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// What the problem consists of: the parse error, compiler output or findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// The repair message built from it (sent to the model unless it was the last round).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
}

/// Provenance as recorded (the manifest's `implementation.provenance` holds the same,
/// plus the confidence).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProvenanceFacts {
    /// `anrf gen` and its version.
    pub generator: String,
    /// The backend's description (never a key).
    pub backend: String,
    /// The model.
    pub model: String,
    /// `sha256:` of the system prompt and the first request.
    pub prompt_digest: String,
    /// Rounds used.
    pub rounds: u32,
    /// `rustc --version` of the last build.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub toolchain: Option<String>,
}

/// Everything about one generation.
#[derive(Debug, Clone, Serialize)]
pub struct GenReport {
    /// How it ended.
    pub status: GenStatus,
    /// The module's name.
    pub module: String,
    /// The output directory as given.
    pub output: String,
    /// The intent as the person wrote it.
    pub intent: String,
    /// Override detection and what was made of it.
    pub overrides: OverridePlan,
    /// Rounds allowed.
    pub max_rounds: u32,
    /// Every round.
    pub rounds: Vec<RoundRecord>,
    /// The round whose files are in the module (the last one that parsed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub files_from_round: Option<u32>,
    /// Provenance.
    pub provenance: ProvenanceFacts,
    /// Confidence and its breakdown.
    pub confidence: Confidence,
    /// Content digest of the module as written (verified modules only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// Findings of the last verification.
    pub findings: Vec<Finding>,
    /// Examples of the last verification.
    pub examples: Vec<ExampleFact>,
    /// The security explanation (verified modules only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
    /// What the pipeline changed or decided along the way.
    pub notes: Vec<String>,
}

/// `ANRF-S010 src/main.rs:3:5: message (help: ...)`.
pub fn finding_line(finding: &Finding) -> String {
    let location = finding
        .location
        .as_ref()
        .map_or_else(String::new, |l| format!(" {l}"));
    format!(
        "{} {}{location}: {}\n  help: {}",
        finding.id.code(),
        finding.severity,
        finding.message,
        finding.help
    )
}

/// The report as pretty JSON.
pub fn json(report: &GenReport) -> String {
    serde_json::to_string_pretty(report).unwrap_or_default()
}

/// The report for a person, as printed by `anrf gen` on stdout. `written` is where
/// the module was written, if it was.
pub fn human(report: &GenReport, written: Option<&str>) -> String {
    let mut out = String::new();
    let rounds = report.rounds.len();
    match report.status {
        GenStatus::Verified => {
            let _ = writeln!(
                out,
                "module `{}` generated and verified in {rounds} round(s){}",
                report.module,
                written.map_or_else(String::new, |w| format!(": {w}"))
            );
        }
        GenStatus::NotConverged => {
            let _ = writeln!(
                out,
                "gave up: no module that verifies after {rounds} of {} round(s); the module is NOT verified{}",
                report.max_rounds,
                match written {
                    Some(w) => format!(" (last attempt written to {w}, marked NOT verified)"),
                    None => " and was not written (`--keep-unverified` writes the last attempt, marked as such)".to_owned(),
                }
            );
        }
        GenStatus::Blocked => {
            let _ = writeln!(out, "refused: nothing was generated");
        }
    }
    if report.status != GenStatus::Blocked {
        let _ = writeln!(out, "confidence {}", report.confidence.line());
    }
    if !report.overrides.removed.is_empty() || report.status == GenStatus::Blocked {
        let _ = writeln!(
            out,
            "\nrefused parts of the intent (no approval can make them legitimate; the model never saw them):"
        );
        for part in &report.overrides.removed {
            let _ = writeln!(out, "  - \"{part}\"");
        }
        if let Some(stop) = &report.overrides.stop {
            let _ = writeln!(out, "  {stop}");
        }
    }
    pending_section(&mut out, report, written);
    if !report.rounds.is_empty() {
        let _ = writeln!(out, "\nrounds:");
        for r in &report.rounds {
            let what = r.problem.as_deref().unwrap_or("accepted");
            let retries = if r.attempts > 1 {
                format!(" (the model server answered on attempt {})", r.attempts)
            } else {
                String::new()
            };
            let _ = writeln!(out, "  {}. {what}{retries}", r.round);
        }
    }
    if report.status != GenStatus::Verified {
        let errors: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| !f.is_suppressed())
            .collect();
        if !errors.is_empty() {
            let _ = writeln!(out, "\nfindings of the last round:");
            for f in errors {
                let _ = writeln!(out, "  {}", finding_line(f).replace('\n', "\n  "));
            }
        } else if let Some(last) = report.rounds.last().and_then(|r| r.details.as_deref()) {
            let _ = writeln!(out, "\nthe last round's problem:");
            for line in last.lines().take(30) {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    // Notes of earlier rounds are in GEN-REPORT.json; the last round's matter here.
    let last = format!("round {}: ", report.rounds.len());
    for note in report
        .notes
        .iter()
        .filter(|n| !n.starts_with("round ") || n.starts_with(&last))
    {
        let _ = writeln!(out, "note: {note}");
    }
    if let Some(explanation) = &report.explanation {
        let _ = writeln!(out, "\nexplanation:");
        for line in explanation.lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

/// What was not granted. `written` is where the module is (then its
/// `pending-overrides.toml` holds the requests and the commands name it); when no
/// module was written, the requests are not recorded as files (the audit event
/// lists them) and no command is printed for a directory that does not exist.
fn pending_section(out: &mut String, report: &GenReport, written: Option<&str>) {
    if report.overrides.pending.is_empty() {
        return;
    }
    match written {
        Some(dir) => {
            let file = std::path::Path::new(dir).join(crate::pipeline::PENDING_FILE);
            let _ = writeln!(
                out,
                "\nnot granted (recorded as pending requests in {}; nothing is approved by generation):",
                file.display()
            );
        }
        None => {
            let _ = writeln!(
                out,
                "\nnot granted (nothing is approved by generation; the requests were NOT recorded in a \
                 pending-overrides.toml because no module was written, so there is nothing yet to ask \
                 them for; they are listed in the audit event):"
            );
        }
    }
    for p in &report.overrides.pending {
        let _ = writeln!(out, "  - {}", p.not_granted);
        match (written, p.command(&report.output), p.flags.as_deref()) {
            (Some(_), Some(command), _) => {
                let _ = writeln!(out, "    to ask for approval: {command}");
            }
            (None, Some(_), Some(flags)) => {
                let _ = writeln!(
                    out,
                    "    once a module exists, ask for it with: anrf override request DIR {flags} --justification ..."
                );
            }
            _ => {
                let _ = writeln!(out, "    no override can grant this");
            }
        }
    }
}

/// `GEN-REPORT.md`.
pub fn markdown(report: &GenReport) -> String {
    let mut out = String::new();
    let title = match report.status {
        GenStatus::Verified => "verified",
        GenStatus::NotConverged | GenStatus::Blocked => "NOT VERIFIED",
    };
    let _ = writeln!(
        out,
        "# `{}`: generated by anrf gen, {title}\n",
        report.module
    );
    if report.status != GenStatus::Verified {
        let _ = writeln!(
            out,
            "**This module is NOT verified.** It is the last attempt of a generation that did not converge in {} round(s). Its confidence is 0. Do not run it before `anrf verify` passes.\n",
            report.max_rounds
        );
    }
    let _ = writeln!(
        out,
        "## Intent\n\n> {}\n",
        report.intent.replace('\n', "\n> ")
    );
    let _ = writeln!(
        out,
        "## Confidence\n\n`{}`\n\n(see docs/gen.md for the formula)\n",
        report.confidence.line()
    );
    let _ = writeln!(out, "## Provenance\n");
    let p = &report.provenance;
    let _ = writeln!(out, "- generator: {}", p.generator);
    let _ = writeln!(out, "- backend: {}", p.backend);
    let _ = writeln!(out, "- model: {}", p.model);
    let _ = writeln!(out, "- prompt digest: {}", p.prompt_digest);
    let _ = writeln!(out, "- rounds: {} of {}", p.rounds, report.max_rounds);
    if let Some(t) = &p.toolchain {
        let _ = writeln!(out, "- toolchain: {t}");
    }
    if let Some(d) = &report.digest {
        let _ = writeln!(out, "- content digest: {d}");
    }
    let mut rest = String::new();
    // GEN-REPORT.md exists only in a module that is written, beside its
    // pending-overrides.toml.
    pending_section(&mut rest, report, Some(&report.output));
    if !rest.is_empty() {
        let _ = writeln!(out, "\n## Overrides{rest}");
    }
    let _ = writeln!(out, "\n## Rounds\n");
    for r in &report.rounds {
        let _ = writeln!(
            out,
            "{}. {}",
            r.round,
            r.problem.as_deref().unwrap_or("accepted")
        );
        if let Some(details) = r.details.as_deref().filter(|d| !d.is_empty()) {
            let _ = writeln!(out, "\n   ```\n{}\n   ```", indent(details, "   "));
        }
    }
    if !report.notes.is_empty() {
        let _ = writeln!(out, "\n## Notes\n");
        for n in &report.notes {
            let _ = writeln!(out, "- {n}");
        }
    }
    if !report.findings.is_empty() {
        let _ = writeln!(out, "\n## Findings\n\n```");
        for f in &report.findings {
            let _ = writeln!(out, "{}", finding_line(f));
        }
        let _ = writeln!(out, "```");
    }
    if let Some(e) = &report.explanation {
        let _ = writeln!(out, "\n## Explanation\n\n```\n{e}```");
    }
    out
}

fn indent(text: &str, prefix: &str) -> String {
    text.lines()
        .map(|l| format!("{prefix}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `pending-overrides.toml`: the relaxations asked for and not granted.
pub fn pending_toml(report: &GenReport) -> String {
    let mut out = String::from(
        "# Relaxations the intent asked for that `anrf gen` did NOT grant.\n\
         # Nothing here is approved. Review each draft justification, then run its\n\
         # command; an approver decides (`anrf override approve`).\n",
    );
    for p in &report.overrides.pending {
        let mut table = toml::Table::new();
        table.insert("category".into(), p.category.as_str().into());
        if let Some(r) = &p.relaxation {
            table.insert("relaxation".into(), r.clone().into());
        }
        table.insert("scope".into(), p.scope.clone().into());
        table.insert(
            "evidence".into(),
            toml::Value::Array(p.evidence.iter().map(|e| e.clone().into()).collect()),
        );
        table.insert(
            "draft_justification".into(),
            p.draft_justification.clone().unwrap_or_default().into(),
        );
        table.insert("not_granted".into(), p.not_granted.clone().into());
        if let Some(command) = p.command(&report.output) {
            table.insert("command".into(), command.into());
        }
        let _ = write!(
            out,
            "\n[[request]]\n{}",
            toml::to_string(&table).unwrap_or_default()
        );
    }
    out
}
