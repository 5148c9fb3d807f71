//! Override checks (`ANRF-O`): each override as the policy engine decided it,
//! scopes that cannot work, and overrides that relax nothing the module uses.

use anrf_format::{Language, Relaxation};
use anrf_policy::{Refusal, Resolution, Verdict};

use super::Run;
use crate::finding::{CheckId, Finding, Location};
use crate::locate::Key;
use crate::report::{OverrideFact, SignatureFact};

impl Run<'_, '_> {
    /// `ANRF-O001`..`O004`: every override as the policy engine decided it.
    /// A refused project override is reported only for a module it applies to
    /// (one that declares what it relaxes; `threads` when the module uses them,
    /// a compile budget when the module is over its default), at the policy
    /// file it is written in. Runs after the wasm checks, which tell both.
    pub(super) fn overrides(&mut self, resolution: &Resolution, threads: bool) {
        let module_overrides = &self.manifest().security.overrides;
        let over_budget = self.findings.iter().any(|f| f.id == CheckId::W009);
        for decision in &resolution.overrides {
            let index = module_overrides
                .iter()
                .position(|o| o.id.as_str() == decision.id);
            let location = match index {
                Some(i) => self.at(&[
                    Key::Name("security"),
                    Key::Name("overrides"),
                    Key::Index(i),
                    Key::Name("id"),
                ]),
                None => Location::file(self.options.policy.origin()),
            };
            self.facts.overrides.push(OverrideFact {
                id: decision.id.clone(),
                relaxes: decision.relaxes.clone(),
                scope: decision.scope.clone(),
                justification: decision.justification.clone(),
                requested_by: decision.requested_by.clone(),
                expires: decision.expires.clone(),
                granted: decision.is_granted(),
                approvers: decision.approvers.clone(),
                reasons: decision.reasons.clone(),
                line: location.line,
                signatures: decision
                    .approvals
                    .iter()
                    .map(|a| SignatureFact {
                        approver: a.approver.clone(),
                        role: a.role.clone(),
                        public_key: a.public_key.clone(),
                        signed_at: a.signed_at.clone(),
                        counted: a.counted,
                        note: a.note.clone(),
                    })
                    .collect(),
            });
            if decision.verdict == Verdict::Granted {
                continue;
            }
            let applies = index.is_some()
                || decision.relaxes.parse::<Relaxation>().is_ok_and(|r| {
                    anrf_policy::applies_to(&r, self.manifest()).unwrap_or(match r {
                        Relaxation::Threads => threads,
                        _ => over_budget,
                    })
                });
            if !applies {
                continue;
            }
            let id = match decision.refusal {
                Some(Refusal::Expired) => CheckId::O002,
                Some(
                    Refusal::Unsigned
                    | Refusal::TooFewApprovers
                    | Refusal::SelfApproval
                    | Refusal::ProfileMismatch,
                ) => CheckId::O003,
                Some(Refusal::Scope) if decision.scope.starts_with("function:") => CheckId::O004,
                _ => CheckId::O001,
            };
            let why = decision.reasons.last().cloned().unwrap_or_default();
            let mut finding = Finding::new(
                id,
                format!(
                    "override `{}` (`{}`, scope `{}`{}) is refused under `{}`: {why}",
                    decision.id,
                    decision.relaxes,
                    decision.scope,
                    if index.is_none() {
                        format!(", in `{}`", self.options.policy.origin())
                    } else {
                        String::new()
                    },
                    self.options.profile
                ),
            )
            .at(location);
            if let Some(fix) = &decision.fix {
                finding = finding.help(fix.clone());
            }
            self.findings.push(finding);
        }
    }

    /// `ANRF-O006`: granted `memory-unsafe` or `threads` overrides that cover nothing.
    pub(super) fn unused_overrides(&mut self, resolution: &Resolution, threads: bool) {
        let language = self.manifest().implementation.language;
        let module_overrides = self.manifest().security.overrides.clone();
        for (i, ovr) in module_overrides.iter().enumerate() {
            let granted = resolution
                .overrides
                .iter()
                .any(|d| d.id == ovr.id.as_str() && d.is_granted());
            if !granted {
                continue;
            }
            if matches!(ovr.scope, anrf_format::Scope::Function(_))
                && ovr.relaxes != Relaxation::MemoryUnsafe
            {
                let location = self.at(&[
                    Key::Name("security"),
                    Key::Name("overrides"),
                    Key::Index(i),
                    Key::Name("scope"),
                ]);
                self.findings.push(
                    Finding::new(
                        CheckId::O004,
                        format!(
                            "override `{}` scopes `{}` to `{}`, but the sandbox grants capabilities, limits and threads to the whole run, so it grants nothing",
                            ovr.id.as_str(),
                            ovr.relaxes,
                            ovr.scope
                        ),
                    )
                    .at(location),
                );
            }
            let unused = match ovr.relaxes {
                Relaxation::MemoryUnsafe => {
                    language == Language::Rust
                        && !self.findings.iter().any(|f| {
                            f.suppression
                                .as_ref()
                                .is_some_and(|s| s.override_id == ovr.id.as_str())
                        })
                }
                Relaxation::Threads => self.facts.wasm.is_some() && !threads,
                _ => false,
            };
            if unused {
                let location = self.at(&[
                    Key::Name("security"),
                    Key::Name("overrides"),
                    Key::Index(i),
                    Key::Name("relaxes"),
                ]);
                self.findings.push(
                    Finding::new(
                        CheckId::O006,
                        format!("override `{}` relaxes `{}` but nothing in the module needs it", ovr.id.as_str(), ovr.relaxes),
                    )
                    .at(location)
                    .help(format!("revoke it with `anrf override revoke {}`; an unused relaxation only widens what the module could do", ovr.id.as_str())),
                );
            }
        }
    }
}
