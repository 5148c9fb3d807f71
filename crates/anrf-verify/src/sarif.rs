//! SARIF 2.1.0 rendering, as GitHub code scanning accepts it.
//!
//! One run, one tool (`anrf-verify`) whose rules are the whole check catalogue,
//! one result per finding. A finding covered by an approved override carries a
//! SARIF `suppression` (kind `external`: the approval lives in the manifest,
//! status `accepted`) with the override's justification, approvers and expiry.
//!
//! GitHub code scanning does not honour SARIF suppressions and would show those
//! results as open alerts; [`RenderOptions::exclude_suppressed`] leaves them
//! out of the log for upload (they stay in the human and JSON reports).

use serde_json::{Value, json};

use crate::error::VerifyError;
use crate::finding::{CheckId, Finding, Gate, Severity};
use crate::render::RenderOptions;
use crate::report::{Report, blocks};

/// The SARIF version written.
pub const SARIF_VERSION: &str = "2.1.0";
/// The schema URI written into `$schema`.
pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Renders the report as a SARIF 2.1.0 log (pretty JSON).
///
/// The log is checked against the `serde-sarif` types before it is returned:
/// a log that does not fit them is an `Err`, never an empty or invalid upload.
pub fn sarif(report: &Report, options: &RenderOptions) -> Result<String, VerifyError> {
    let value = sarif_value(report, options);
    let typed = serde_json::from_value::<serde_sarif::sarif::Sarif>(value)
        .map_err(|e| VerifyError::Sarif(e.to_string()))?;
    serde_json::to_string_pretty(&typed).map_err(|e| VerifyError::Sarif(e.to_string()))
}

/// The SARIF log as a JSON value.
pub fn sarif_value(report: &Report, options: &RenderOptions) -> Value {
    let rules: Vec<Value> = CheckId::ALL.iter().map(|id| rule(*id)).collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .filter(|f| !(options.exclude_suppressed && f.is_suppressed()))
        .map(|f| result(report, f, options))
        .collect();
    json!({
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [{
            "tool": {
                "driver": {
                    "name": "anrf-verify",
                    "semanticVersion": env!("CARGO_PKG_VERSION"),
                    "rules": rules,
                }
            },
            "automationDetails": { "id": format!("anrf-verify/{}/{}/", report.module, report.profile) },
            "invocations": [{
                "executionSuccessful": true,
                "properties": {
                    "profile": report.profile.as_str(),
                    "passed": report.passed(),
                }
            }],
            "properties": {
                "module": report.module,
                "digest": report.digest,
                "policy": report.policy,
                "policyDigest": report.policy_digest,
            },
            "results": results,
        }]
    })
}

fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Note => "note",
    }
}

/// GitHub's `security-severity` (0.0-10.0) per check, so code scanning ranks alerts.
fn security_severity(id: CheckId) -> &'static str {
    match (id.severity(), id.gate()) {
        (Severity::Error, Gate::Safety) => "8.0",
        (Severity::Error, Gate::Correctness) => "5.0",
        (Severity::Warning, _) => "4.0",
        (Severity::Note, _) => "2.0",
    }
}

fn family_tag(id: CheckId) -> &'static str {
    match id.family() {
        crate::finding::Family::Metadata => "metadata",
        crate::finding::Family::Wasm => "wasm",
        crate::finding::Family::Source => "source",
        crate::finding::Family::Overrides => "overrides",
        crate::finding::Family::Tests => "tests",
    }
}

fn rule(id: CheckId) -> Value {
    json!({
        "id": id.code(),
        "name": id.name(),
        "shortDescription": { "text": id.title() },
        "fullDescription": { "text": id.title() },
        "help": { "text": id.help() },
        "defaultConfiguration": { "level": level(id.severity()) },
        "properties": {
            "tags": ["security", family_tag(id)],
            "security-severity": security_severity(id),
            "gate": match id.gate() { Gate::Safety => "safety", Gate::Correctness => "correctness" },
        }
    })
}

fn result(report: &Report, finding: &Finding, options: &RenderOptions) -> Value {
    let rule_index = CheckId::ALL
        .iter()
        .position(|id| *id == finding.id)
        .unwrap_or(0);
    let mut value = json!({
        "ruleId": finding.id.code(),
        "ruleIndex": rule_index,
        "level": level(finding.severity),
        "message": { "text": format!("{} (help: {})", finding.message, finding.help) },
        "properties": {
            "blocks": blocks(finding, report.profile),
            "help": finding.help,
        }
    });
    let location = finding
        .location
        .clone()
        .unwrap_or_else(|| crate::finding::Location::file("anrf.toml"));
    let mut physical = json!({
        "artifactLocation": { "uri": options.path(&location) }
    });
    if let Some(line) = location.line {
        let mut region = json!({ "startLine": line });
        if let Some(column) = location.column {
            region["startColumn"] = json!(column);
        }
        physical["region"] = region;
    }
    let mut loc = json!({ "physicalLocation": physical });
    if let Some(function) = &finding.function {
        loc["logicalLocations"] = json!([{ "name": function, "kind": "function" }]);
    }
    value["locations"] = json!([loc]);
    if let Some(s) = &finding.suppression {
        value["suppressions"] = json!([{
            "kind": "external",
            "status": "accepted",
            "justification": s.justification,
            "properties": {
                "overrideId": s.override_id,
                "approvers": s.approvers,
                "approval": if s.self_approved {
                    "self-approved by the requester under the dev profile: no signature, the justification stands in for one"
                } else {
                    "signed by the approvers, checked by the policy engine"
                },
                "expires": s.expires,
            }
        }]);
    }
    value
}
