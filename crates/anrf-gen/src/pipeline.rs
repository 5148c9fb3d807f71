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
//!
//! Any [`ChatBackend`] can drive it; here a scripted one whose only answer is not in
//! the required format, so the single allowed round is rejected and nothing is written:
//!
//! ```
//! use anrf_gen::client::{ChatBackend, Message, Reply, Sampling};
//! use anrf_gen::pipeline::{self, GenRequest};
//! use anrf_gen::report::{GenStatus, RoundOutcome};
//!
//! struct Scripted;
//! impl ChatBackend for Scripted {
//!     fn chat(&self, _: &[Message], _: Sampling) -> Result<Reply, anrf_gen::GenError> {
//!         Ok(Reply {
//!             content: "fn main() {}".into(),
//!             model: "scripted".into(),
//!             finish_reason: Some("stop".into()),
//!             usage: None,
//!             attempts: 1,
//!         })
//!     }
//!     fn describe(&self) -> String { "scripted".into() }
//!     fn model(&self) -> &str { "scripted" }
//! }
//!
//! let tmp = tempfile::tempdir()?;
//! let out = tmp.path().join("wc");
//! let policy = anrf_policy::ProjectPolicy::builtin();
//! let request = GenRequest {
//!     intent: "count the words on stdin".into(),
//!     out_dir: out.clone(),
//!     module_name: pipeline::module_name_for(&out)?,
//!     max_rounds: 1,
//!     examples: vec![],
//!     policy: &policy,
//!     profile: anrf_format::Profile::Test,
//!     sampling: Sampling::default(),
//! };
//! let generated = pipeline::generate(&request, &Scripted, &mut anrf_gen::progress::Silent)?;
//! assert_eq!(generated.report.status, GenStatus::NotConverged);
//! assert_eq!(generated.report.rounds[0].outcome, RoundOutcome::MalformedReply);
//! assert_eq!(generated.report.confidence.score, 0.0);
//! assert_eq!(generated.commit(false)?, None);
//! assert!(!out.exists());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod files;
mod round;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anrf_format::{Example, Module, ModuleName, Profile};
use anrf_policy::ProjectPolicy;
use anrf_verify::{Report, Severity};

use crate::GenError;
use crate::client::{ChatBackend, Message, Sampling};
use crate::progress::{Event, Progress, Stage, State};
use crate::prompt;
use crate::relax::{self, OverridePlan};
use crate::report::{GenReport, GenStatus, RoundOutcome, RoundRecord};

pub use files::cargo_toml;
use files::{ensure_free, staging_dir, write, write_reports};
use round::{Attempt, Run};

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
        let reply = backend.chat_observed(&messages, request.sampling, &mut |retry| {
            emit(
                progress,
                Stage::Generate,
                round,
                State::Retrying,
                &retry.to_string(),
            );
        })?;
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
                    attempts: reply.attempts,
                    usage: reply.usage,
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
                let prefix = format!("round {round}: ");
                for note in state.notes.iter().filter_map(|n| n.strip_prefix(&prefix)) {
                    let _ = write!(details, "\n\nAlso: {note}.");
                }
                if reply.finish_reason.as_deref() == Some("length") {
                    details.push_str(
                        "\n\nYour reply was cut off at the token limit: keep the program and the manifest short.",
                    );
                }
                let feedback = prompt::repair_request(round, max_rounds, &problem, &details);
                state.rounds.push(RoundRecord {
                    round,
                    outcome,
                    attempts: reply.attempts,
                    usage: reply.usage,
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
        state.finalize_unverified(staging.path(), rounds_used, last.as_ref())?;
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
        state.finalize_unverified(staging.path(), rounds_used, Some(&final_report))?;
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

/// Whether a report makes the module verified: nothing blocks, no unsuppressed
/// error (examples included) remains, whatever the profile, and at least one intent
/// example ran in the sandbox and every one passed (a module without examples is
/// never verified: nothing would show that it does what the intent says).
pub fn accepts(report: &Report) -> bool {
    report.passed()
        && !report
            .findings
            .iter()
            .any(|f| f.severity == Severity::Error && !f.is_suppressed())
        && !report.facts.examples.is_empty()
        && report.facts.examples.iter().all(|e| e.passed)
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
}
