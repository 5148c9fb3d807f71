//! Human text and JSON renderings of a [`Report`].

use std::fmt::Write as _;

use serde::Serialize;

use crate::finding::{Finding, Location};
use crate::report::{Report, Summary, blocks};

/// How paths are shown: module-relative paths get `prefix` in front (the module
/// directory as the user named it), so locations are clickable from where the
/// command ran and match the repository paths code scanning expects.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// Prepended to every module-relative path, e.g. `examples/hello`.
    pub prefix: Option<String>,
    /// Leave findings covered by approved overrides out (SARIF for GitHub).
    pub exclude_suppressed: bool,
}

impl RenderOptions {
    pub(crate) fn path(&self, location: &Location) -> String {
        match self.prefix.as_deref().map(|p| p.trim_end_matches('/')) {
            Some(prefix) if !prefix.is_empty() && prefix != "." => {
                format!("{prefix}/{}", location.file)
            }
            _ => location.file.clone(),
        }
    }

    pub(crate) fn location(&self, location: &Location) -> String {
        let mut shown = Location {
            file: self.path(location),
            ..location.clone()
        };
        if shown.line.is_none() {
            shown.column = None;
        }
        shown.to_string()
    }
}

/// Renders the report for a person: each finding with its location, ID,
/// severity, message and fix, then a summary and the result.
pub fn human(report: &Report, options: &RenderOptions) -> String {
    let mut out = String::new();
    for finding in &report.findings {
        if options.exclude_suppressed && finding.is_suppressed() {
            continue;
        }
        render_finding(&mut out, report, finding, options);
    }
    let s = report.summary();
    let digest = report
        .digest
        .as_deref()
        .map_or_else(String::new, |d| format!(" ({d})"));
    let _ = writeln!(
        out,
        "verified module `{}`{digest} under profile `{}` with policy `{}`",
        report.module, report.profile, report.policy
    );
    let _ = writeln!(
        out,
        "checks: {} passed, {} failed, {} skipped, {} not applicable",
        s.checks_passed, s.checks_failed, s.checks_skipped, s.checks_not_applicable
    );
    let _ = writeln!(
        out,
        "findings: {} error(s), {} warning(s), {} note(s), {} suppressed by approved overrides",
        s.errors, s.warnings, s.notes, s.suppressed
    );
    if report.passed() {
        let _ = writeln!(
            out,
            "result: passed, nothing blocks under `{}` (exit 0)",
            report.profile
        );
    } else {
        let _ = writeln!(
            out,
            "result: blocked, {} finding(s) block under `{}` (exit 1)",
            s.blocking, report.profile
        );
    }
    out
}

fn render_finding(out: &mut String, report: &Report, finding: &Finding, options: &RenderOptions) {
    let label = if finding.is_suppressed() {
        format!("{} (suppressed)", finding.severity)
    } else {
        finding.severity.to_string()
    };
    let _ = writeln!(out, "{label}[{}]: {}", finding.id, finding.message);
    if let Some(location) = &finding.location {
        let _ = writeln!(out, "  --> {}", options.location(location));
    }
    let _ = writeln!(out, "   = help: {}", finding.help);
    if let Some(s) = &finding.suppression {
        let approvers = if s.self_approved {
            format!(
                "self-approved by {} under `dev`, no signature",
                s.approvers.join(", ")
            )
        } else {
            format!("approved by {}", s.approvers.join(", "))
        };
        let expires = s
            .expires
            .as_deref()
            .map_or_else(String::new, |e| format!(", expires {e}"));
        let _ = writeln!(
            out,
            "   = suppressed by override `{}` ({approvers}{expires}): \"{}\"",
            s.override_id, s.justification
        );
    } else if blocks(finding, report.profile) {
        let _ = writeln!(out, "   = blocks under `{}`", report.profile);
    }
    out.push('\n');
}

#[derive(Serialize)]
struct JsonReport<'a> {
    #[serde(flatten)]
    report: &'a Report,
    summary: Summary,
    passed: bool,
    exit_code: u8,
}

/// Renders the report as pretty JSON: the [`Report`] plus `summary`, `passed`
/// and `exit_code`.
pub fn json(report: &Report) -> String {
    let view = JsonReport {
        report,
        summary: report.summary(),
        passed: report.passed(),
        exit_code: report.exit_code(),
    };
    serde_json::to_string_pretty(&view).unwrap_or_default()
}
