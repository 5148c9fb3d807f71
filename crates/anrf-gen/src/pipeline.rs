//! The generation pipeline: intent -> override detection -> model -> reply ->
//! manifest -> build -> verify (which runs the intent examples in the sandbox) ->
//! repair rounds -> confidence -> explanation -> provenance.
//!
//! **Invariant:** nothing the model says is trusted. Its reply is parsed strictly
//! (only `anrf.toml` and `src/*.rs`), its manifest is parsed by `anrf-format`, the
//! module name, language, sources, overrides and memory-safety basis are forced,
//! `Cargo.toml` is written by the pipeline (no dependencies, no build script), and
//! the verifier checks the security section against the code. A module is called
//! verified only when the verifier found no error and every example passed.
//!
//! Everything happens in a staging directory beside the output; [`Generated::commit`]
//! moves it into place, so a half-generated module never appears at `-o DIR`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anrf_build::{BuildError, BuildOptions};
use anrf_format::{
    Example, FormatError, Manifest, MemorySafety, Module, ModuleName, Profile, RelPath,
};
use anrf_policy::ProjectPolicy;
use anrf_verify::{Finding, Report, Severity, VerifyOptions};

use crate::GenError;
use crate::client::{ChatBackend, Message, Sampling};
use crate::confidence::{self, Confidence};
use crate::progress::{Event, Progress, Stage, State};
use crate::prompt;
use crate::relax::{self, OverridePlan};
use crate::reply;
use crate::report::{self, GenReport, GenStatus, ProvenanceFacts, RoundOutcome, RoundRecord};
use crate::screen;

/// The default number of rounds (the first answer plus repairs).
pub const DEFAULT_MAX_ROUNDS: u32 = 4;

/// The generator's name in provenance.
pub const GENERATOR: &str = concat!("anrf gen ", env!("CARGO_PKG_VERSION"));

/// The file listing relaxations that were asked for and not granted.
pub const PENDING_FILE: &str = "pending-overrides.toml";

/// The human report written beside the module.
pub const REPORT_MD: &str = "GEN-REPORT.md";

/// The machine report written beside the module.
pub const REPORT_JSON: &str = "GEN-REPORT.json";

/// What to generate and how.
#[derive(Debug, Clone)]
pub struct GenRequest<'a> {
    /// The intent as the person wrote it.
    pub intent: String,
    /// Where the module goes (must not exist, or be empty).
    pub out_dir: PathBuf,
    /// The module's name (see [`module_name_for`]).
    pub module_name: ModuleName,
    /// Rounds allowed, at least 1: the first answer plus `max_rounds - 1` repairs.
    pub max_rounds: u32,
    /// Examples the person gave; they are added to the manifest whatever the model wrote.
    pub examples: Vec<Example>,
    /// The project policy the module is verified against.
    pub policy: &'a ProjectPolicy,
    /// The profile the module is verified under.
    pub profile: Profile,
    /// Sampling of every request.
    pub sampling: Sampling,
}

/// The module name derived from the output directory's last component: lowercased,
/// other characters than `a-z0-9-` turned into `-`.
pub fn module_name_for(dir: &Path) -> Result<ModuleName, String> {
    let base = std::path::absolute(dir)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_default();
    let mut name: String = base
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    name = name.trim_matches('-').to_owned();
    while name.contains("--") {
        name = name.replace("--", "-");
    }
    ModuleName::new(name.clone()).map_err(|e| {
        format!(
            "cannot derive a module name from `{}` (`{name}`): {e}; give the output directory a name like `orders`",
            dir.display()
        )
    })
}

/// Parses a file of examples the person gives (`anrf gen --examples FILE`): TOML
/// with `[[examples]]` tables, each with the fields of `[[intent.examples]]`
/// (`name`, `stdin`, `args`, `stdout`, `exit_code`).
pub fn parse_examples(text: &str, origin: &str) -> Result<Vec<Example>, String> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        examples: Vec<Example>,
    }
    let file: File = toml::from_str(text).map_err(|e| format!("`{origin}`: {e}"))?;
    if file.examples.is_empty() {
        return Err(format!("`{origin}` has no `[[examples]]`"));
    }
    Ok(file.examples)
}

/// A finished generation, staged beside the output directory until
/// [`Generated::commit`].
#[derive(Debug)]
pub struct Generated {
    /// Everything that happened, as written to `GEN-REPORT.json`.
    pub report: GenReport,
    staging: Option<tempfile::TempDir>,
    out_dir: PathBuf,
}

impl Generated {
    /// Whether the module verified.
    pub fn verified(&self) -> bool {
        self.report.status == GenStatus::Verified
    }

    /// Whether there are module files to write (a verified module, or the last
    /// attempt of one that did not converge).
    pub fn has_files(&self) -> bool {
        self.staging.is_some() && self.report.files_from_round.is_some()
    }

    /// The staged module directory, before commit.
    pub fn staged_dir(&self) -> Option<&Path> {
        self.staging.as_ref().map(tempfile::TempDir::path)
    }

    /// Moves the staged module to the output directory. A module that did not
    /// verify is written only when `keep_unverified` is set, and then carries a
    /// `GEN-REPORT.md` saying it is NOT verified and confidence 0. Returns where
    /// the module was written, if it was.
    pub fn commit(mut self, keep_unverified: bool) -> Result<Option<PathBuf>, GenError> {
        if !(self.verified() || keep_unverified && self.has_files()) {
            return Ok(None);
        }
        let Some(staging) = self.staging.take() else {
            return Ok(None);
        };
        ensure_free(&self.out_dir)?;
        if self.out_dir.exists() {
            std::fs::remove_dir(&self.out_dir).map_err(|source| GenError::Io {
                path: self.out_dir.clone(),
                source,
            })?;
        }
        let staged = staging.keep();
        std::fs::rename(&staged, &self.out_dir).map_err(|source| GenError::Io {
            path: self.out_dir.clone(),
            source,
        })?;
        Ok(Some(self.out_dir))
    }
}

/// Runs the pipeline. `Err` only when generation could not be done at all (the
/// model server failed, the toolchain is missing, a file could not be written);
/// a module that does not converge is an `Ok` with its report.
pub fn generate(
    request: &GenRequest<'_>,
    backend: &dyn ChatBackend,
    progress: &mut dyn Progress,
) -> Result<Generated, GenError> {
    let max_rounds = request.max_rounds.max(1);
    ensure_free(&request.out_dir)?;

    // (1) Override detection.
    emit(
        progress,
        Stage::Detect,
        0,
        State::Started,
        "checking the intent for override requests",
    );
    let plan = relax::plan(&request.intent)?;
    emit(
        progress,
        Stage::Detect,
        0,
        detect_state(&plan),
        &detect_detail(&plan),
    );
    let mut state = Run::new(request, plan, backend, max_rounds);
    if state.plan.stop.is_some() {
        return Ok(state.finish(GenStatus::Blocked, None, None));
    }

    let staging = staging_dir(&request.out_dir)?;
    write(
        &staging.path().join("Cargo.toml"),
        &cargo_toml(request.module_name.as_str()),
    )?;

    // (2)..(6) Generation and repair rounds.
    let first = prompt::first_request(
        request.module_name.as_str(),
        &state.plan.intent_for_model,
        &state.plan.not_granted_for_model(),
        &request.examples,
    );
    state.prompt_digest = prompt::prompt_digest(prompt::SYSTEM_PROMPT, &first);
    let mut messages = vec![Message::system(prompt::SYSTEM_PROMPT), Message::user(first)];
    let mut accepted = None;
    for round in 1..=max_rounds {
        emit(
            progress,
            Stage::Generate,
            round,
            State::Started,
            &format!("asking `{}`", backend.model()),
        );
        let reply = backend.chat(&messages, request.sampling)?;
        emit(
            progress,
            Stage::Generate,
            round,
            State::Passed,
            &format!("{} bytes from `{}`", reply.content.len(), backend.model()),
        );
        messages.push(Message::assistant(reply.content.clone()));
        let result = state.attempt(round, &reply.content, staging.path(), progress)?;
        match result {
            Attempt::Accepted(report) => {
                state.rounds.push(RoundRecord {
                    round,
                    outcome: RoundOutcome::Accepted,
                    problem: None,
                    details: None,
                    feedback: None,
                });
                accepted = Some(*report);
                break;
            }
            Attempt::Rejected {
                outcome,
                problem,
                details,
            } => {
                let mut details = details;
                if reply.finish_reason.as_deref() == Some("length") {
                    details.push_str(
                        "\n\nYour reply was cut off at the token limit: keep the program and the manifest short.",
                    );
                }
                let feedback = prompt::repair_request(round, max_rounds, &problem, &details);
                state.rounds.push(RoundRecord {
                    round,
                    outcome,
                    problem: Some(problem),
                    details: Some(prompt::truncate(details.trim(), prompt::MAX_FEEDBACK_BYTES)),
                    feedback: Some(prompt::truncate(&feedback, prompt::MAX_FEEDBACK_BYTES)),
                });
                if round < max_rounds {
                    messages.push(Message::user(feedback));
                }
            }
        }
    }

    let rounds_used = u32::try_from(state.rounds.len()).unwrap_or(u32::MAX);
    let Some(report) = accepted else {
        state.notes.push(format!(
            "no round of {max_rounds} produced a module that verifies; the last problem: {}",
            state
                .rounds
                .last()
                .and_then(|r| r.problem.clone())
                .unwrap_or_default()
        ));
        let last = state.last_report.take();
        state.finalize_unverified(staging.path(), rounds_used)?;
        emit(
            progress,
            Stage::Confidence,
            0,
            State::Skipped,
            "0: the module did not verify",
        );
        let generated = state.finish(GenStatus::NotConverged, Some(staging), last.as_ref());
        write_reports(&generated)?;
        return Ok(generated);
    };

    // (7) Confidence, (9) provenance, then the module as written is verified again.
    emit(progress, Stage::Confidence, 0, State::Started, "");
    let confidence = state.confidence(Some(&report), true, rounds_used);
    emit(
        progress,
        Stage::Confidence,
        0,
        State::Passed,
        &confidence.line(),
    );
    state.write_provenance(staging.path(), rounds_used, confidence.score)?;
    emit(
        progress,
        Stage::Verify,
        0,
        State::Started,
        "the module as written",
    );
    let final_report = state.verify(staging.path())?;
    if !accepts(&final_report) {
        emit(
            progress,
            Stage::Verify,
            0,
            State::Failed,
            "the module as written does not verify",
        );
        state.notes.push(
            "the module verified, but not once its provenance was written; it is not marked verified"
                .to_owned(),
        );
        state.finalize_unverified(staging.path(), rounds_used)?;
        let generated = state.finish(GenStatus::NotConverged, Some(staging), Some(&final_report));
        write_reports(&generated)?;
        return Ok(generated);
    }
    emit(
        progress,
        Stage::Verify,
        0,
        State::Passed,
        "the module as written verifies",
    );

    // (8) Explanation, from the verifier's facts only.
    emit(progress, Stage::Explain, 0, State::Started, "");
    let explanation = anrf_verify::explain::explain(&final_report);
    state.explanation = Some(anrf_verify::explain::human(&explanation));
    emit(
        progress,
        Stage::Explain,
        0,
        State::Passed,
        "from the verification report",
    );
    state.confidence = Some(confidence);
    state.digest = Module::load(staging.path())
        .and_then(|m| m.content_digest())
        .ok()
        .map(|d| d.to_string());
    let generated = state.finish(GenStatus::Verified, Some(staging), Some(&final_report));
    write_reports(&generated)?;
    Ok(generated)
}

/// Whether a report makes the module verified: nothing blocks and no unsuppressed
/// error (examples included) remains, whatever the profile.
pub fn accepts(report: &Report) -> bool {
    report.passed()
        && !report
            .findings
            .iter()
            .any(|f| f.severity == Severity::Error && !f.is_suppressed())
}

enum Attempt {
    Accepted(Box<Report>),
    Rejected {
        outcome: RoundOutcome,
        problem: String,
        details: String,
    },
}

/// The state of one generation.
struct Run<'r, 'b> {
    request: &'r GenRequest<'r>,
    backend: &'b dyn ChatBackend,
    plan: OverridePlan,
    max_rounds: u32,
    prompt_digest: String,
    rounds: Vec<RoundRecord>,
    notes: Vec<String>,
    last_report: Option<Report>,
    manifest: Option<Manifest>,
    files_from_round: Option<u32>,
    toolchain: Option<String>,
    confidence: Option<Confidence>,
    explanation: Option<String>,
    digest: Option<String>,
}

impl<'r, 'b> Run<'r, 'b> {
    fn new(
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
    fn attempt(
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
                    details: output,
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
            Err(source) => return Err(GenError::Build { source }),
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

    fn verify(&self, dir: &Path) -> Result<Report, GenError> {
        let module = load(dir)?;
        let options = VerifyOptions::new(self.request.policy, self.request.profile);
        anrf_verify::verify(&module, &options).map_err(|source| GenError::Verify { source })
    }

    fn confidence(&self, report: Option<&Report>, verified: bool, rounds: u32) -> Confidence {
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
        }
    }

    /// Writes the provenance into the staged manifest (confidence as given).
    fn write_provenance(
        &mut self,
        dir: &Path,
        rounds: u32,
        confidence: f64,
    ) -> Result<(), GenError> {
        let path = dir.join(anrf_format::MANIFEST_FILE);
        let Ok(mut manifest) = Manifest::from_path(&path) else {
            return Ok(());
        };
        manifest.implementation.provenance = Some(self.provenance(rounds, confidence));
        let text = manifest.to_toml().map_err(|e| GenError::Io {
            path: path.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        write(&path, &text)
    }

    /// Marks the last attempt as not verified: confidence 0 in its provenance.
    fn finalize_unverified(&mut self, dir: &Path, rounds: u32) -> Result<(), GenError> {
        self.confidence = Some(self.confidence(None, false, rounds));
        if self.files_from_round.is_some() {
            self.write_provenance(dir, rounds, 0.0)?;
        }
        Ok(())
    }

    fn finish(
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

fn detect_state(plan: &OverridePlan) -> State {
    if plan.stop.is_some() {
        State::Failed
    } else {
        State::Passed
    }
}

fn detect_detail(plan: &OverridePlan) -> String {
    let d = &plan.detection;
    if d.categories.is_empty() {
        return "no override requested".to_owned();
    }
    let categories: Vec<&str> = d.categories.iter().map(|c| c.as_str()).collect();
    let mut out = format!("{}: {}", d.decision, categories.join(", "));
    if !plan.removed.is_empty() {
        let _ = write!(
            out,
            "; {} clause(s) refused and removed",
            plan.removed.len()
        );
    }
    if !plan.pending.is_empty() {
        let _ = write!(
            out,
            "; {} request(s) recorded as pending",
            plan.pending.len()
        );
    }
    if let Some(stop) = &plan.stop {
        let _ = write!(out, "; stopped: {stop}");
    }
    out
}

fn emit(progress: &mut dyn Progress, stage: Stage, round: u32, outcome: State, detail: &str) {
    progress.event(&Event {
        stage,
        round,
        state: outcome,
        detail: detail.to_owned(),
    });
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

fn load(dir: &Path) -> Result<Module, GenError> {
    Module::load(dir).map_err(|e| GenError::Io {
        path: dir.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })
}

/// The guest's `Cargo.toml`: no dependencies, no build script, its own workspace.
pub fn cargo_toml(name: &str) -> String {
    format!(
        "# Written by anrf gen: the standard library only, no build script.\n\
         [package]\n\
         name = \"{name}\"\n\
         version = \"0.1.0\"\n\
         edition = \"2024\"\n\
         publish = false\n\
         build = false\n\
         \n\
         [dependencies]\n\
         \n\
         [profile.release]\n\
         opt-level = \"s\"\n\
         lto = true\n\
         strip = true\n\
         \n\
         # A guest is its own workspace, never a member of an enclosing one.\n\
         [workspace]\n"
    )
}

fn write_module(
    dir: &Path,
    manifest: &str,
    sources: &std::collections::BTreeMap<String, String>,
) -> Result<(), GenError> {
    let src = dir.join("src");
    if src.exists() {
        std::fs::remove_dir_all(&src).map_err(|source| GenError::Io {
            path: src.clone(),
            source,
        })?;
    }
    std::fs::create_dir_all(&src).map_err(|source| GenError::Io {
        path: src.clone(),
        source,
    })?;
    for (path, text) in sources {
        write(&dir.join(path), text)?;
    }
    write(&dir.join(anrf_format::MANIFEST_FILE), manifest)
}

fn write(path: &Path, text: &str) -> Result<(), GenError> {
    std::fs::write(path, text).map_err(|source| GenError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Refuses an output directory that exists and is not empty.
fn ensure_free(dir: &Path) -> Result<(), GenError> {
    if dir.exists() {
        let empty = dir.is_dir()
            && std::fs::read_dir(dir).is_ok_and(|mut entries| entries.next().is_none());
        if !empty {
            return Err(GenError::OutputExists {
                path: dir.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// A staging directory beside `out`, so the final move is a rename.
fn staging_dir(out: &Path) -> Result<tempfile::TempDir, GenError> {
    let parent = std::path::absolute(out)
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&parent).map_err(|source| GenError::Io {
        path: parent.clone(),
        source,
    })?;
    tempfile::Builder::new()
        .prefix(".anrf-gen-")
        .tempdir_in(&parent)
        .map_err(|source| GenError::Io {
            path: parent,
            source,
        })
}

/// Writes `GEN-REPORT.md`, `GEN-REPORT.json` and, when relaxations are pending,
/// `pending-overrides.toml` into the staged module.
fn write_reports(generated: &Generated) -> Result<(), GenError> {
    let Some(dir) = generated.staged_dir() else {
        return Ok(());
    };
    let report = &generated.report;
    write(&dir.join(REPORT_MD), &report::markdown(report))?;
    write(&dir.join(REPORT_JSON), &report::json(report))?;
    if !report.overrides.pending.is_empty() {
        write(&dir.join(PENDING_FILE), &report::pending_toml(report))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_come_from_the_output_directory() {
        assert_eq!(
            module_name_for(Path::new("out/orders")).unwrap().as_str(),
            "orders"
        );
        assert_eq!(
            module_name_for(Path::new("My_Word Counter"))
                .unwrap()
                .as_str(),
            "my-word-counter"
        );
        assert!(module_name_for(Path::new("42")).is_err());
    }

    #[test]
    fn the_guest_cargo_toml_has_no_dependencies_and_its_own_workspace() {
        let text = cargo_toml("demo");
        let table: toml::Table = text.parse().unwrap();
        assert!(table["dependencies"].as_table().unwrap().is_empty());
        assert!(table.contains_key("workspace"));
        assert_eq!(table["package"]["build"].as_bool(), Some(false));
    }

    #[test]
    fn examples_files_are_parsed_strictly() {
        let examples = parse_examples(
            "[[examples]]\nname = \"two\"\nstdin = \"a b\\n\"\nstdout = \"2\\n\"\n",
            "ex.toml",
        )
        .unwrap();
        assert_eq!(examples[0].stdout, "2\n");
        assert!(
            parse_examples(
                "[[examples]]\nname = \"x\"\nstdout = \"\"\nextra = 1\n",
                "ex.toml"
            )
            .is_err()
        );
        assert!(
            parse_examples("examples = []\n", "ex.toml")
                .unwrap_err()
                .contains("no `[[examples]]`")
        );
    }

    #[test]
    fn a_non_empty_output_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert!(ensure_free(dir.path()).is_ok());
        std::fs::write(dir.path().join("x"), "").unwrap();
        assert!(matches!(
            ensure_free(dir.path()),
            Err(GenError::OutputExists { .. })
        ));
    }
}
