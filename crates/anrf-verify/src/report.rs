//! The report: every finding, which checks ran and passed, and the facts the
//! checks established (what `anrf explain` is built from). Whether a finding
//! blocks is decided here, per profile, in one function: [`blocks`].

use std::collections::BTreeMap;

use anrf_format::Profile;
use serde::{Deserialize, Serialize};

use crate::finding::{CheckId, Finding, Gate, Severity};
use crate::source::CapabilityUse;
use crate::wasm::WasmFacts;

/// Version of the report's JSON shape.
pub const REPORT_FORMAT: u32 = 1;

/// Whether `finding` blocks under `profile` (DESIGN.md's tiered enforcement):
///
/// | finding | dev | test | prod |
/// |---|---|---|---|
/// | error, gate `safety` | blocks | blocks | blocks |
/// | error, gate `correctness` | reported | blocks | blocks |
/// | warning | reported | reported | blocks |
/// | note | reported | reported | reported |
/// | suppressed by an approved override | reported | reported | reported |
///
/// How strictly overrides must be approved also differs by profile; that is
/// decided by the policy engine and surfaces as `ANRF-O` errors.
pub fn blocks(finding: &Finding, profile: Profile) -> bool {
    if finding.is_suppressed() {
        return false;
    }
    matches!(
        (finding.severity, finding.id.gate(), profile),
        (Severity::Error, Gate::Safety, _)
            | (
                Severity::Error,
                Gate::Correctness,
                Profile::Test | Profile::Prod
            )
            | (Severity::Warning, _, Profile::Prod)
    )
}

/// Outcome of one check over the module.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Ran and found nothing.
    Passed,
    /// Ran and found something not covered by an override.
    Failed,
    /// Ran; everything it found is covered by approved overrides.
    Suppressed,
    /// Could not run, so nothing is established (the reason says why).
    Skipped,
    /// Does not apply to this module (e.g. Rust source checks on a C guest).
    NotApplicable,
}

/// One check's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckOutcome {
    /// The check.
    pub id: CheckId,
    /// Its outcome.
    pub status: Status,
    /// Why it was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One override as the policy engine decided it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverrideFact {
    /// `ovr-...`.
    pub id: String,
    /// What it relaxes, e.g. `memory-unsafe`.
    pub relaxes: String,
    /// `project`, `module` or `function:NAME`.
    pub scope: String,
    /// Why.
    pub justification: String,
    /// Who asked.
    pub requested_by: String,
    /// Last valid day.
    pub expires: String,
    /// Whether the policy engine granted it under the report's profile.
    pub granted: bool,
    /// Distinct approvers whose signatures count.
    pub approvers: Vec<String>,
    /// The policy engine's chain of reasons.
    pub reasons: Vec<String>,
    /// Its line in the manifest (`None` for a project override in the policy file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// The signatures it carries, as checked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub signatures: Vec<SignatureFact>,
}

/// One approval signature as the policy engine checked it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureFact {
    /// The approver's name.
    pub approver: String,
    /// The role signed under.
    pub role: String,
    /// `ed25519:<base64>` key.
    pub public_key: String,
    /// When it was signed.
    pub signed_at: String,
    /// Whether it counts towards the profile's minimum.
    pub counted: bool,
    /// What the policy engine found.
    pub note: String,
}

/// Something the run may reach or use, as the policy engine granted it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantFact {
    /// What, e.g. `dir /data -> data (read-only)`, `limit memory = 67108864`.
    pub subject: String,
    /// Overrides that granted it (empty: the secure default or a lowered value).
    pub via: Vec<String>,
    /// The policy engine's reasons.
    pub reasons: Vec<String>,
    /// The manifest line it comes from, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

/// One intent example as run in the sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExampleFact {
    /// The example's name.
    pub name: String,
    /// Whether stdout and exit code matched and nothing was violated.
    pub passed: bool,
    /// The exit code it ended with.
    pub exit_code: i32,
    /// The exit code expected.
    pub expected_exit_code: i32,
    /// Violation kinds, if the sandbox stopped it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<String>,
    /// Fuel the run consumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fuel_used: Option<u64>,
    /// The engine it ran on (`jit`, or `aot` under `prod`).
    #[serde(default)]
    pub engine: String,
}

/// One guest dependency as inspected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DependencyFact {
    /// Crate name.
    pub name: String,
    /// Version (from `Cargo.lock`), or the requirement when unpinned.
    pub version: String,
    /// Whether it has a build script; `None` when it could not be inspected.
    pub build_script: Option<bool>,
    /// Whether it is a proc-macro crate; `None` when it could not be inspected.
    pub proc_macro: Option<bool>,
}

/// What the checks established, beyond pass/fail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// The artifact's SHA-256 when it matched the manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_sha256: Option<String>,
    /// The artifact's structure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wasm: Option<WasmFacts>,
    /// Every capability-bearing `std` API use in the sources.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capability_uses: Vec<CapabilityUse>,
    /// Overrides as decided.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<OverrideFact>,
    /// Intent examples as run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<ExampleFact>,
    /// Guest dependencies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<DependencyFact>,
    /// Source files checked.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources_checked: Vec<String>,
    /// What the policy engine granted: limits, directories, variables, clock,
    /// random, network, memory-safety basis, threads.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub granted: Vec<GrantFact>,
}

/// The result of verifying one module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// [`REPORT_FORMAT`].
    pub format: u32,
    /// `anrf-verify` and its version.
    pub verifier: String,
    /// The module's name (its directory when the manifest could not be read).
    pub module: String,
    /// The module's content digest, when it could be computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The project policy's digest.
    pub policy_digest: String,
    /// The project policy's origin (its path, or `<built-in policy>`).
    pub policy: String,
    /// The profile the module was verified under.
    pub profile: Profile,
    /// Every finding, in check order, then by location.
    pub findings: Vec<Finding>,
    /// Every check and its outcome, in catalogue order.
    pub checks: Vec<CheckOutcome>,
    /// What the checks established.
    pub facts: Facts,
}

/// Counts for a summary line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// Unsuppressed errors.
    pub errors: usize,
    /// Unsuppressed warnings.
    pub warnings: usize,
    /// Unsuppressed notes.
    pub notes: usize,
    /// Findings covered by approved overrides.
    pub suppressed: usize,
    /// Findings that block under the profile.
    pub blocking: usize,
    /// Checks that passed.
    pub checks_passed: usize,
    /// Checks that failed.
    pub checks_failed: usize,
    /// Checks skipped.
    pub checks_skipped: usize,
    /// Checks that do not apply.
    pub checks_not_applicable: usize,
}

impl Report {
    /// Findings that block under the report's profile.
    pub fn blocking(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| blocks(f, self.profile))
    }

    /// Whether nothing blocks: the module may run under this profile.
    pub fn passed(&self) -> bool {
        self.blocking().next().is_none()
    }

    /// The exit code of `anrf verify`: `0` nothing blocks, `1` findings block.
    pub fn exit_code(&self) -> u8 {
        u8::from(!self.passed())
    }

    /// The outcome of one check.
    pub fn outcome(&self, id: CheckId) -> Option<&CheckOutcome> {
        self.checks.iter().find(|c| c.id == id)
    }

    /// Whether `id` ran and passed (nothing found).
    pub fn check_passed(&self, id: CheckId) -> bool {
        self.outcome(id).is_some_and(|c| c.status == Status::Passed)
    }

    /// Counts.
    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for f in &self.findings {
            if f.is_suppressed() {
                s.suppressed += 1;
                continue;
            }
            match f.severity {
                Severity::Error => s.errors += 1,
                Severity::Warning => s.warnings += 1,
                Severity::Note => s.notes += 1,
            }
            if blocks(f, self.profile) {
                s.blocking += 1;
            }
        }
        for c in &self.checks {
            match c.status {
                Status::Passed | Status::Suppressed => s.checks_passed += 1,
                Status::Failed => s.checks_failed += 1,
                Status::Skipped => s.checks_skipped += 1,
                Status::NotApplicable => s.checks_not_applicable += 1,
            }
        }
        s
    }
}

/// Builds the per-check outcomes from the findings and what was skipped.
pub(crate) fn outcomes(
    findings: &[Finding],
    skipped: &BTreeMap<CheckId, String>,
    not_applicable: &BTreeMap<CheckId, String>,
) -> Vec<CheckOutcome> {
    CheckId::ALL
        .iter()
        .map(|&id| {
            let mine: Vec<&Finding> = findings.iter().filter(|f| f.id == id).collect();
            let (status, reason) =
                if let Some(reason) = not_applicable.get(&id).filter(|_| mine.is_empty()) {
                    (Status::NotApplicable, Some(reason.clone()))
                } else if let Some(reason) = skipped.get(&id).filter(|_| mine.is_empty()) {
                    (Status::Skipped, Some(reason.clone()))
                } else if mine.is_empty() {
                    (Status::Passed, None)
                } else if mine.iter().all(|f| f.is_suppressed()) {
                    (Status::Suppressed, None)
                } else {
                    (Status::Failed, None)
                };
            CheckOutcome { id, status, reason }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Suppression;

    fn finding(id: CheckId) -> Finding {
        Finding::new(id, "x")
    }

    #[test]
    fn the_profile_table_holds() {
        let safety_error = finding(CheckId::S001);
        let correctness_error = finding(CheckId::T001);
        let warning = finding(CheckId::S101);
        let mut suppressed = finding(CheckId::S001);
        suppressed.suppression = Some(Suppression {
            override_id: "ovr-1".into(),
            justification: "j".into(),
            approvers: vec![],
            self_approved: false,
            expires: None,
        });
        let table = [
            (&safety_error, [true, true, true]),
            (&correctness_error, [false, true, true]),
            (&warning, [false, false, true]),
            (&suppressed, [false, false, false]),
        ];
        for (f, expected) in table {
            let got = [Profile::Dev, Profile::Test, Profile::Prod].map(|p| blocks(f, p));
            assert_eq!(got, expected, "{}", f.id);
        }
    }

    #[test]
    fn outcomes_classify_checks() {
        let mut skipped = BTreeMap::new();
        skipped.insert(CheckId::T001, "no examples".to_owned());
        let findings = vec![finding(CheckId::S001)];
        let out = outcomes(&findings, &skipped, &BTreeMap::new());
        assert_eq!(out.len(), CheckId::ALL.len());
        let get = |id| out.iter().find(|c| c.id == id).unwrap().status;
        assert_eq!(get(CheckId::S001), Status::Failed);
        assert_eq!(get(CheckId::S002), Status::Passed);
        assert_eq!(get(CheckId::T001), Status::Skipped);
    }
}
