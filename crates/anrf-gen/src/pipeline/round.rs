//! One generation's state and one round: parse the reply, screen and normalize,
//! write, build, verify; what is kept for the report.

use std::path::Path;

use anrf_build::{BuildError, BuildOptions};
use anrf_format::{FormatError, Manifest, MemorySafety, RelPath};
use anrf_verify::{Finding, Report, Severity, VerifyOptions};

use super::files::{load, write, write_module};
use super::{GENERATOR, GenRequest, Generated, accepts, emit};
use crate::GenError;
use crate::client::ChatBackend;
use crate::confidence::{self, Confidence};
use crate::progress::{Progress, Stage, State};
use crate::relax::OverridePlan;
use crate::reply;
use crate::report::{self, GenReport, GenStatus, ProvenanceFacts, RoundOutcome, RoundRecord};
use crate::screen;

pub(super) enum Attempt {
    Accepted(Box<Report>),
    Rejected {
        outcome: RoundOutcome,
        problem: String,
        details: String,
    },
}

/// The state of one generation.
pub(super) struct Run<'r, 'b> {
    pub(super) request: &'r GenRequest<'r>,
    pub(super) backend: &'b dyn ChatBackend,
    pub(super) plan: OverridePlan,
    pub(super) max_rounds: u32,
    pub(super) prompt_digest: String,
    pub(super) rounds: Vec<RoundRecord>,
    pub(super) notes: Vec<String>,
    pub(super) last_report: Option<Report>,
    pub(super) manifest: Option<Manifest>,
    pub(super) files_from_round: Option<u32>,
    pub(super) toolchain: Option<String>,
    pub(super) confidence: Option<Confidence>,
    pub(super) explanation: Option<String>,
    pub(super) digest: Option<String>,
}

impl<'r, 'b> Run<'r, 'b> {
    pub(super) fn new(
        request: &'r GenRequest<'r>,
        plan: OverridePlan,
        backend: &'b dyn ChatBackend,
        max_rounds: u32,
    ) -> Self {
        Run {
            request,
            backend,
            plan,
            max_rounds,
            prompt_digest: String::new(),
            rounds: Vec::new(),
            notes: Vec::new(),
            last_report: None,
            manifest: None,
            files_from_round: None,
            toolchain: None,
            confidence: None,
            explanation: None,
            digest: None,
        }
    }

    /// One round: parse, write, build, verify.
    pub(super) fn attempt(
        &mut self,
        round: u32,
        text: &str,
        dir: &Path,
        progress: &mut dyn Progress,
    ) -> Result<Attempt, GenError> {
        self.last_report = None;
        emit(progress, Stage::Parse, round, State::Started, "");
        let files = match reply::parse(text) {
            Ok(files) => files,
            Err(malformed) => {
                emit(progress, Stage::Parse, round, State::Failed, &malformed.0);
                return Ok(Attempt::Rejected {
                    outcome: RoundOutcome::MalformedReply,
                    problem: "the reply is not in the required format".to_owned(),
                    details: format!(
                        "{malformed}\n\nThe format: a line `### FILE: anrf.toml` followed by one fenced code block with the whole manifest, then `### FILE: src/main.rs` followed by one fenced code block with the whole program."
                    ),
                });
            }
        };
        let manifest = match Manifest::from_str(&files.manifest, anrf_format::MANIFEST_FILE) {
            Ok(manifest) => manifest,
            Err(error) => {
                let details = format_error(&error);
                emit(
                    progress,
                    Stage::Parse,
                    round,
                    State::Failed,
                    &first_line(&details),
                );
                return Ok(Attempt::Rejected {
                    outcome: RoundOutcome::InvalidManifest,
                    problem: "the manifest `anrf.toml` is invalid".to_owned(),
                    details,
                });
            }
        };
        let refused = screen::screen(&files.sources);
        if !refused.is_empty() {
            let details = refused
                .iter()
                .map(|r| format!("{r}; remove it: the program gets its input from stdin and arguments at run time"))
                .collect::<Vec<_>>()
                .join("\n");
            emit(
                progress,
                Stage::Parse,
                round,
                State::Failed,
                &format!(
                    "{} construct(s) reach the host at build time",
                    refused.len()
                ),
            );
            return Ok(Attempt::Rejected {
                outcome: RoundOutcome::BuildTimeAccess,
                problem: "the sources reach the host while they are compiled".to_owned(),
                details,
            });
        }
        let (manifest, notes) = self.normalize(manifest, &files.sources);
        for note in &notes {
            self.notes.push(format!("round {round}: {note}"));
        }
        // Examples are the only evidence that the module does what the intent says:
        // a module without any is never accepted as verified.
        if manifest.intent.examples.is_empty() {
            emit(
                progress,
                Stage::Parse,
                round,
                State::Failed,
                "the manifest has no intent examples",
            );
            return Ok(Attempt::Rejected {
                outcome: RoundOutcome::NoExamples,
                problem: "the manifest has no intent examples".to_owned(),
                details: "Add at least two `[[intent.examples]]` tables to `anrf.toml` (`name`, `stdin`, `stdout`, optionally `args` and `exit_code`) that show what the program must print for a given input: they are run in the sandbox as the module's tests, and a module is verified only when they pass.".to_owned(),
            });
        }
        let manifest_text = match manifest.to_toml() {
            Ok(text) => text,
            Err(error) => {
                return Ok(Attempt::Rejected {
                    outcome: RoundOutcome::InvalidManifest,
                    problem: "the manifest `anrf.toml` cannot be written back".to_owned(),
                    details: error.to_string(),
                });
            }
        };
        emit(
            progress,
            Stage::Parse,
            round,
            State::Passed,
            &format!("anrf.toml and {} source file(s)", files.sources.len()),
        );
        write_module(dir, &manifest_text, &files.sources)?;
        self.files_from_round = Some(round);
        self.manifest = Some(manifest);

        emit(
            progress,
            Stage::Build,
            round,
            State::Started,
            "cargo build --target wasm32-wasip1",
        );
        let module = load(dir)?;
        match anrf_build::build(
            &module,
            &BuildOptions {
                capture_diagnostics: true,
            },
        ) {
            Ok(built) => {
                self.toolchain = Some(built.toolchain.clone());
                emit(
                    progress,
                    Stage::Build,
                    round,
                    State::Passed,
                    &format!("{} {}", built.path, built.sha256),
                );
            }
            Err(BuildError::Compile { output, .. }) => {
                emit(
                    progress,
                    Stage::Build,
                    round,
                    State::Failed,
                    "the guest does not compile",
                );
                return Ok(Attempt::Rejected {
                    outcome: RoundOutcome::CompileError,
                    problem: "the guest does not compile".to_owned(),
                    details: without_dir(&output, dir),
                });
            }
            Err(BuildError::NoArtifact) => {
                emit(
                    progress,
                    Stage::Build,
                    round,
                    State::Failed,
                    "no wasm executable",
                );
                return Ok(Attempt::Rejected {
                    outcome: RoundOutcome::CompileError,
                    problem: "the build produced no `.wasm` executable".to_owned(),
                    details: "a command module is a binary crate with `fn main()` in `src/main.rs`"
                        .to_owned(),
                });
            }
            Err(source) => {
                return Err(GenError::Build {
                    source: Box::new(source),
                });
            }
        }

        emit(
            progress,
            Stage::Verify,
            round,
            State::Started,
            "metadata, wasm, source, overrides",
        );
        let report = self.verify(dir)?;
        let static_errors: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| rejects(f, &report) && f.id.family() != anrf_verify::Family::Tests)
            .collect();
        let test_errors: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| rejects(f, &report) && f.id.family() == anrf_verify::Family::Tests)
            .collect();
        if static_errors.is_empty() {
            emit(
                progress,
                Stage::Verify,
                round,
                State::Passed,
                &verify_detail(&report),
            );
        } else {
            emit(
                progress,
                Stage::Verify,
                round,
                State::Failed,
                &format!(
                    "{} finding(s): {}",
                    static_errors.len(),
                    ids(&static_errors)
                ),
            );
        }
        let examples = &report.facts.examples;
        let passed = examples.iter().filter(|e| e.passed).count();
        if examples.is_empty() {
            emit(
                progress,
                Stage::Examples,
                round,
                State::Skipped,
                &examples_skip_reason(&report),
            );
        } else if test_errors.is_empty() && passed == examples.len() {
            emit(
                progress,
                Stage::Examples,
                round,
                State::Passed,
                &format!("{passed}/{} passed in the sandbox", examples.len()),
            );
        } else {
            emit(
                progress,
                Stage::Examples,
                round,
                State::Failed,
                &format!("{passed}/{} passed in the sandbox", examples.len()),
            );
        }
        if accepts(&report) {
            return Ok(Attempt::Accepted(Box::new(report)));
        }
        let blocking: Vec<&Finding> = report
            .findings
            .iter()
            .filter(|f| rejects(f, &report))
            .collect();
        let (outcome, problem) = if static_errors.is_empty() {
            (
                RoundOutcome::ExamplesFailed,
                "the program does not do what the examples say".to_owned(),
            )
        } else {
            (
                RoundOutcome::VerifyFailed,
                "the verifier rejected the module".to_owned(),
            )
        };
        let details = blocking
            .iter()
            .map(|f| report::finding_line(f))
            .collect::<Vec<_>>()
            .join("\n");
        self.last_report = Some(report);
        Ok(Attempt::Rejected {
            outcome,
            problem,
            details,
        })
    }

    /// Forces what the model may not decide; returns notes on what was changed.
    fn normalize(
        &self,
        mut manifest: Manifest,
        sources: &std::collections::BTreeMap<String, String>,
    ) -> (Manifest, Vec<String>) {
        let mut notes = Vec::new();
        if manifest.module.name != self.request.module_name {
            notes.push(format!(
                "the module name `{}` was replaced by `{}` (from the output directory)",
                manifest.module.name.as_str(),
                self.request.module_name.as_str()
            ));
            manifest.module.name = self.request.module_name.clone();
        }
        if !manifest.security.overrides.is_empty() {
            notes.push(format!(
                "{} override(s) the model wrote were removed: generation approves nothing",
                manifest.security.overrides.len()
            ));
            manifest.security.overrides.clear();
        }
        if manifest.security.memory_safety != MemorySafety::Enforced {
            notes.push(
                "`memory_safety = \"sandbox-only\"` was replaced by `enforced`: generation approves nothing"
                    .to_owned(),
            );
            manifest.security.memory_safety = MemorySafety::Enforced;
        }
        manifest.implementation.language = anrf_format::Language::Rust;
        manifest.implementation.sources = sources
            .keys()
            .filter_map(|p| RelPath::new(p.clone()).ok())
            .collect();
        manifest.implementation.artifact = None;
        manifest.implementation.provenance = None;
        for example in &self.request.examples {
            manifest.intent.examples.retain(|e| e.name != example.name);
            manifest.intent.examples.push(example.clone());
        }
        (manifest, notes)
    }

    pub(super) fn verify(&self, dir: &Path) -> Result<Report, GenError> {
        let module = load(dir)?;
        let options = VerifyOptions::new(self.request.policy, self.request.profile);
        anrf_verify::verify(&module, &options).map_err(|source| GenError::Verify {
            source: Box::new(source),
        })
    }

    pub(super) fn confidence(
        &self,
        report: Option<&Report>,
        verified: bool,
        rounds: u32,
    ) -> Confidence {
        let manifest = report.and(self.manifest.as_ref());
        confidence::compute(&confidence::Inputs {
            report,
            verified,
            person_examples: !self.request.examples.is_empty(),
            pending_overrides: self.plan.pending.len(),
            refused_part: !self.plan.removed.is_empty(),
            capabilities: manifest.map(|m| &m.security.capabilities),
            rounds,
        })
    }

    fn provenance(&self, rounds: u32, confidence: f64) -> anrf_format::Provenance {
        anrf_format::Provenance {
            toolchain: self.toolchain.clone(),
            generator: Some(GENERATOR.to_owned()),
            backend: Some(self.backend.describe()),
            model: Some(self.backend.model().to_owned()),
            prompt_digest: Some(self.prompt_digest.clone()),
            rounds: Some(rounds),
            confidence: Some(confidence),
            sources_sha256: None,
        }
    }

    /// Writes the provenance into the staged manifest (confidence as given).
    pub(super) fn write_provenance(
        &mut self,
        dir: &Path,
        rounds: u32,
        confidence: f64,
    ) -> Result<(), GenError> {
        let path = dir.join(anrf_format::MANIFEST_FILE);
        let Ok(mut manifest) = Manifest::from_path(&path) else {
            return Ok(());
        };
        // What `anrf build` recorded about the sources stays.
        let built_from = manifest
            .implementation
            .provenance
            .as_ref()
            .and_then(|p| p.sources_sha256.clone());
        manifest.implementation.provenance = Some(anrf_format::Provenance {
            sources_sha256: built_from,
            ..self.provenance(rounds, confidence)
        });
        let text = manifest.to_toml().map_err(|e| GenError::Io {
            path: path.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        write(&path, &text)
    }

    /// Marks the last attempt as not verified: confidence 0 in its provenance, with
    /// the breakdown computed from `last`, the last verification report (if any).
    pub(super) fn finalize_unverified(
        &mut self,
        dir: &Path,
        rounds: u32,
        last: Option<&Report>,
    ) -> Result<(), GenError> {
        self.confidence = Some(self.confidence(last, false, rounds));
        if self.files_from_round.is_some() {
            self.write_provenance(dir, rounds, 0.0)?;
        }
        Ok(())
    }

    pub(super) fn finish(
        self,
        status: GenStatus,
        staging: Option<tempfile::TempDir>,
        last: Option<&Report>,
    ) -> Generated {
        let rounds_used = u32::try_from(self.rounds.len()).unwrap_or(u32::MAX);
        let confidence = self
            .confidence
            .clone()
            .unwrap_or_else(|| self.confidence(None, false, rounds_used));
        let report = GenReport {
            status,
            module: self.request.module_name.as_str().to_owned(),
            output: self.request.out_dir.display().to_string(),
            intent: self.request.intent.clone(),
            overrides: self.plan.clone(),
            max_rounds: self.max_rounds,
            rounds: self.rounds.clone(),
            files_from_round: if staging.is_some() {
                self.files_from_round
            } else {
                None
            },
            provenance: ProvenanceFacts {
                generator: GENERATOR.to_owned(),
                backend: self.backend.describe(),
                model: self.backend.model().to_owned(),
                prompt_digest: self.prompt_digest.clone(),
                rounds: rounds_used,
                toolchain: self.toolchain.clone(),
            },
            confidence,
            digest: self.digest.clone(),
            findings: last
                .as_ref()
                .map(|r| r.findings.clone())
                .unwrap_or_default(),
            examples: last.map(|r| r.facts.examples.clone()).unwrap_or_default(),
            explanation: self.explanation.clone(),
            notes: self.notes.clone(),
        };
        Generated {
            report,
            staging,
            out_dir: self.request.out_dir.clone(),
        }
    }
}

/// Whether a finding keeps the module from being accepted.
fn rejects(finding: &Finding, report: &Report) -> bool {
    !finding.is_suppressed()
        && (finding.severity == Severity::Error || anrf_verify::blocks(finding, report.profile))
}

fn ids(findings: &[&Finding]) -> String {
    let mut ids: Vec<&str> = findings.iter().map(|f| f.id.code()).collect();
    ids.dedup();
    ids.join(", ")
}

fn verify_detail(report: &Report) -> String {
    let s = report.summary();
    format!(
        "{} checks passed, {} warning(s), {} note(s)",
        s.checks_passed, s.warnings, s.notes
    )
}

fn examples_skip_reason(report: &Report) -> String {
    report
        .outcome(anrf_verify::CheckId::T001)
        .and_then(|o| o.reason.clone())
        .unwrap_or_else(|| "no examples ran".to_owned())
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}

fn format_error(error: &FormatError) -> String {
    match error {
        FormatError::Manifest(e) => match &e.help {
            Some(help) => format!("{e}\n  help: {help}"),
            None => e.to_string(),
        },
        other => other.to_string(),
    }
}

/// `text` with the module directory's absolute path (as given and canonical)
/// replaced by `.`, so no local path goes to the model server.
fn without_dir(text: &str, dir: &Path) -> String {
    let mut out = text.to_owned();
    let mut forms = vec![dir.display().to_string()];
    if let Ok(canonical) = dir.canonicalize() {
        forms.push(canonical.display().to_string());
    }
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    for form in forms.iter().filter(|f| f.len() > 1) {
        out = out.replace(form.as_str(), ".");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_paths_are_not_fed_back() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!("error at {}/src/main.rs:3:5", dir.path().display());
        assert_eq!(without_dir(&text, dir.path()), "error at ./src/main.rs:3:5");
    }
}
