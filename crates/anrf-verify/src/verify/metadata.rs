//! Metadata checks (`ANRF-M`): completeness beyond parsing, and consistency
//! across the three layers and with what the policy granted.

use std::collections::BTreeSet;
use std::path::Path;

use anrf_format::{Effect, Language, MemorySafety, Sha256Hex};
use anrf_policy::{Resolution, Verdict};

use super::Run;
use crate::budget;
use crate::finding::{CheckId, Family, Finding};
use crate::fsread::{self, ReadError};
use crate::locate::Key;
use crate::report::GrantFact;

impl Run<'_, '_> {
    /// `ANRF-M008`, `M010`, `O005`: what the manifest asks for and the policy refused.
    pub(super) fn capabilities_and_limits(&mut self, resolution: &Resolution) {
        for item in resolution
            .items
            .iter()
            .filter(|i| i.verdict == Verdict::Granted)
        {
            let line = self.text.line(&item_key(&item.subject));
            self.facts.granted.push(GrantFact {
                subject: item.subject.clone(),
                via: item.via.clone(),
                reasons: item.reasons.clone(),
                line,
            });
        }
        for item in resolution.refused() {
            let subject = item.subject.as_str();
            let why = item.reasons.first().cloned().unwrap_or_default();
            let (id, location) = if let Some(rest) = subject.strip_prefix("limit ") {
                let name = rest.split_whitespace().next().unwrap_or_default();
                (
                    CheckId::M010,
                    self.at(&[Key::Name("security"), Key::Name("limits"), Key::Name(name)]),
                )
            } else if subject.starts_with("memory safety") {
                (
                    CheckId::O005,
                    self.at(&[Key::Name("security"), Key::Name("memory_safety")]),
                )
            } else {
                let key = if subject.starts_with("dir ") {
                    "dirs"
                } else if subject.starts_with("env ") {
                    "env"
                } else if subject.starts_with("network ") {
                    "network"
                } else {
                    subject
                };
                (
                    CheckId::M008,
                    self.at(&[
                        Key::Name("security"),
                        Key::Name("capabilities"),
                        Key::Name(key),
                    ]),
                )
            };
            let mut finding = Finding::new(
                id,
                format!(
                    "`{subject}` is not granted under `{}`: {why}",
                    self.options.profile
                ),
            )
            .at(location);
            if let Some(fix) = &item.fix {
                finding = finding.help(fix.clone());
            }
            self.findings.push(finding);
        }
    }

    /// `ANRF-M014`: what `anrf run` refuses as beyond this runtime, in the words
    /// `anrf run` uses.
    pub(super) fn runtime_support(&mut self, resolution: &Resolution) {
        for refused in crate::unsupported::unsupported(&resolution.effective) {
            let key: Vec<Key<'_>> = refused.key.iter().map(|k| Key::Name(k)).collect();
            let location = self.at(&key);
            self.findings.push(
                Finding::new(CheckId::M014, refused.message)
                    .at(location)
                    .help(refused.help),
            );
        }
    }

    /// `ANRF-M002`, `M003`: the artifact is recorded, exists and matches its hash.
    pub(super) fn artifact(&mut self) -> Option<Vec<u8>> {
        let Some(artifact) = &self.manifest().implementation.artifact else {
            let location = self.at(&[Key::Name("implementation")]);
            self.findings.push(
                Finding::new(CheckId::M002, "no artifact is recorded in `[implementation.artifact]`, so the wasm cannot be checked or run")
                    .at(location),
            );
            self.skip(&[CheckId::M003], "no artifact recorded");
            self.skip_family(Family::Wasm, "no artifact recorded");
            return None;
        };
        let path = artifact.path.as_str().to_owned();
        let expected = artifact.sha256.clone();
        if !budget::inside(self.module, &path) {
            let location = self.at(&[
                Key::Name("implementation"),
                Key::Name("artifact"),
                Key::Name("path"),
            ]);
            self.findings.push(
                Finding::new(
                    CheckId::M002,
                    format!("artifact `{path}` lies behind a directory link that leads outside the module directory; the verifier does not read it"),
                )
                .at(location)
                .help("replace the link with a real directory inside the module and rebuild with `anrf build MODULE`"),
            );
            self.skip(&[CheckId::M003], "artifact missing");
            self.skip_family(Family::Wasm, "artifact missing");
            return None;
        }
        // The bytes the digests hashed, when the module could be read whole.
        let read = match self
            .snapshot
            .as_ref()
            .and_then(anrf_format::ModuleSnapshot::artifact)
        {
            Some(bytes) => Ok(bytes.to_vec()),
            None => fsread::read_regular(&self.module.resolve(&path), budget::ARTIFACT_BYTES),
        };
        let bytes = match read {
            Ok(bytes) => bytes,
            Err(err) => {
                let location = self.at(&[
                    Key::Name("implementation"),
                    Key::Name("artifact"),
                    Key::Name("path"),
                ]);
                let finding = match err {
                    ReadError::NotFound { .. } => Finding::new(
                        CheckId::M002,
                        format!("artifact `{path}` recorded in the manifest does not exist"),
                    ),
                    err => Finding::new(
                        CheckId::M002,
                        format!("artifact `{path}` recorded in the manifest was not read: {err}"),
                    )
                    .help(format!(
                        "the artifact must be a regular file inside the module (not a link, FIFO or device) of at most {} MiB: rebuild it with `anrf build MODULE`",
                        budget::ARTIFACT_BYTES / (1024 * 1024)
                    )),
                };
                self.findings.push(finding.at(location));
                self.skip(&[CheckId::M003], "artifact missing");
                self.skip_family(Family::Wasm, "artifact missing");
                return None;
            }
        };
        let actual = Sha256Hex::of(&bytes);
        if actual == expected {
            self.facts.artifact_sha256 = Some(actual.as_str().to_owned());
        } else {
            let location = self.at(&[
                Key::Name("implementation"),
                Key::Name("artifact"),
                Key::Name("sha256"),
            ]);
            self.findings.push(
                Finding::new(
                    CheckId::M003,
                    format!(
                        "artifact `{path}` has SHA-256 `{}` but the manifest records `{}`",
                        actual.as_str(),
                        expected.as_str()
                    ),
                )
                .at(location),
            );
        }
        Some(bytes)
    }

    /// `ANRF-M004`, `M005`: listed sources exist and are in the declared language.
    pub(super) fn sources_exist_and_language(&mut self) {
        let language = self.manifest().implementation.language;
        let sources: Vec<String> = self
            .manifest()
            .implementation
            .sources
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect();
        for (i, source) in sources.iter().enumerate() {
            let location = self.at(&[
                Key::Name("implementation"),
                Key::Name("sources"),
                Key::Index(i),
            ]);
            // The entry itself, a link not followed: a source is a regular file.
            let problem = match std::fs::symlink_metadata(self.module.resolve(source)) {
                Ok(_) if !budget::inside(self.module, source) => Some(
                    "lies behind a directory link that leads outside the module directory, which the verifier does not read",
                ),
                Ok(meta) if meta.is_file() && meta.len() > anrf_format::MAX_SOURCE_BYTES => {
                    Some("is larger than the 4 MiB anrf reads from one source file")
                }
                Ok(meta) if meta.is_file() => None,
                Ok(meta) if meta.is_symlink() => Some(
                    "is a symbolic link, which the verifier does not follow (sources are read as regular files only)",
                ),
                Ok(meta) if meta.is_dir() => Some("is a directory"),
                Ok(_) => Some("is not a regular file (a FIFO, socket or device)"),
                Err(_) => Some("does not exist"),
            };
            if let Some(problem) = problem {
                self.findings.push(
                    Finding::new(
                        CheckId::M004,
                        format!("source `{source}` listed in `implementation.sources` {problem}"),
                    )
                    .at(location.clone()),
                );
            }
            let ext = Path::new(source)
                .extension()
                .and_then(|e| e.to_str())
                .unwrap_or_default();
            let fits = match language {
                Language::Rust => ext == "rs",
                Language::C => matches!(ext, "c" | "h"),
                Language::Wat => matches!(ext, "wat" | "wast"),
            };
            if !fits {
                self.findings.push(
                    Finding::new(
                        CheckId::M005,
                        format!("source `{source}` is not {} source, but `implementation.language` is `{}`", language_name(language), language_name(language)),
                    )
                    .at(location),
                );
            }
        }
    }

    /// `ANRF-M006`, `M007`: the intent examples fit the command interface and effects.
    pub(super) fn examples_fit_interface(&mut self) {
        let examples = self.manifest().intent.examples.clone();
        let effects = self.manifest().logic.effects.clone();
        let granted_env: Vec<String> = self
            .manifest()
            .security
            .capabilities
            .env
            .iter()
            .map(|n| n.as_str().to_owned())
            .collect();
        if examples.is_empty() {
            let location = self.at(&[Key::Name("intent")]);
            self.findings.push(
                Finding::new(
                    CheckId::M007,
                    "the intent has no examples, so the module's behaviour is not tested",
                )
                .at(location),
            );
            self.not_applicable(&[CheckId::M006], "the intent has no examples");
            return;
        }
        let mut names = BTreeSet::new();
        for (i, example) in examples.iter().enumerate() {
            let at = |key: &'static str| {
                [
                    Key::Name("intent"),
                    Key::Name("examples"),
                    Key::Index(i),
                    Key::Name(key),
                ]
            };
            let mut problems: Vec<(String, &'static str)> = Vec::new();
            if !names.insert(example.name.clone()) {
                problems.push((
                    "its name is used by an earlier example; test names must be unique".into(),
                    "name",
                ));
            }
            if !example.stdin.is_empty() && !effects.contains(&Effect::Stdin) {
                problems.push((
                    "it gives stdin but `logic.effects` does not declare `stdin`".into(),
                    "stdin",
                ));
            }
            if !example.stdout.is_empty() && !effects.contains(&Effect::Stdout) {
                problems.push((
                    "it expects stdout but `logic.effects` does not declare `stdout`".into(),
                    "stdout",
                ));
            }
            for name in example.env.keys() {
                if !granted_env.iter().any(|g| g == name) {
                    problems.push((
                        format!(
                            "it sets `{name}`, which `security.capabilities.env` does not declare"
                        ),
                        "env",
                    ));
                }
            }
            if !(0..=255).contains(&example.exit_code) {
                problems.push((
                    format!(
                        "`exit_code = {}` is outside a command's 0..=255",
                        example.exit_code
                    ),
                    "exit_code",
                ));
            } else if example.exit_code == 125 {
                problems.push((
                    "`exit_code = 125` is reserved for security violations (DESIGN.md)".into(),
                    "exit_code",
                ));
            }
            for (problem, key) in problems {
                let location = self.at(&at(key));
                self.findings.push(
                    Finding::new(
                        CheckId::M006,
                        format!(
                            "example `{}` does not fit the `command` interface: {problem}",
                            example.name
                        ),
                    )
                    .at(location),
                );
            }
        }
    }

    /// `ANRF-M009`: declared effects and granted capabilities agree, both ways.
    pub(super) fn effects_match_capabilities(&mut self) {
        let effects: BTreeSet<Effect> = self.manifest().logic.effects.iter().copied().collect();
        let caps = &self.manifest().security.capabilities;
        let has_dir = !caps.dirs.is_empty();
        let has_rw = caps
            .dirs
            .iter()
            .any(|d| d.access == anrf_format::Access::ReadWrite);
        let fs_effect = effects.contains(&Effect::FsRead) || effects.contains(&Effect::FsWrite);
        // (effect declared, capability granted, effect name, capability key)
        let pairs = [
            (fs_effect, has_dir, "fs-read", "dirs"),
            (
                effects.contains(&Effect::FsWrite),
                has_rw,
                "fs-write",
                "dirs",
            ),
            (
                effects.contains(&Effect::Env),
                !caps.env.is_empty(),
                "env",
                "env",
            ),
            (
                effects.contains(&Effect::Clock),
                caps.clock,
                "clock",
                "clock",
            ),
            (
                effects.contains(&Effect::Random),
                caps.random,
                "random",
                "random",
            ),
            (
                effects.contains(&Effect::Network),
                !caps.network.is_empty(),
                "network",
                "network",
            ),
        ];
        for (declared, granted, name, key) in pairs {
            let (message, location) = match (declared, granted) {
                (true, false) => (
                    format!(
                        "`logic.effects` declares `{name}` but `[security.capabilities]` grants nothing for it, so every such access will be denied"
                    ),
                    self.at(&[Key::Name("logic"), Key::Name("effects")]),
                ),
                (false, true) => (
                    format!(
                        "`[security.capabilities]` grants `{key}` for `{name}` but `logic.effects` does not declare `{name}`: the module gets more than it says it needs"
                    ),
                    self.at(&[
                        Key::Name("security"),
                        Key::Name("capabilities"),
                        Key::Name(key),
                    ]),
                ),
                _ => continue,
            };
            self.findings
                .push(Finding::new(CheckId::M009, message).at(location));
        }
    }

    /// `ANRF-M011`: functions named in `logic.functions` exist in the sources.
    pub(super) fn functions_defined(&mut self, defined: Option<&BTreeSet<String>>) {
        let Some(defined) = defined else {
            if self.manifest().logic.functions.is_empty() {
                self.not_applicable(&[CheckId::M011], "`logic.functions` names no function");
            } else {
                self.skip(
                    &[CheckId::M011],
                    "only Rust sources are parsed for function names",
                );
            }
            return;
        };
        let declared = self.manifest().logic.functions.clone();
        for (i, name) in declared.iter().enumerate() {
            if !defined.contains(name) {
                let location =
                    self.at(&[Key::Name("logic"), Key::Name("functions"), Key::Index(i)]);
                self.findings.push(
                    Finding::new(
                        CheckId::M011,
                        format!(
                            "function `{name}` in `logic.functions` is not defined in the sources"
                        ),
                    )
                    .at(location),
                );
            }
        }
    }

    /// `ANRF-M012`: `enforced` is only declared for code without memory-unsafe constructs.
    pub(super) fn memory_safety_declaration(&mut self) {
        if self.manifest().security.memory_safety != MemorySafety::Enforced {
            return;
        }
        let unsafe_found: Vec<CheckId> = self
            .findings
            .iter()
            .filter(|f| {
                matches!(
                    f.id,
                    CheckId::S001
                        | CheckId::S002
                        | CheckId::S003
                        | CheckId::S004
                        | CheckId::S005
                        | CheckId::S006
                        | CheckId::S007
                        | CheckId::S008
                        | CheckId::S009
                        | CheckId::S012
                )
            })
            .map(|f| f.id)
            .collect();
        if unsafe_found.is_empty() {
            return;
        }
        let location = self.at(&[Key::Name("security"), Key::Name("memory_safety")]);
        self.findings.push(
            Finding::new(
                CheckId::M012,
                format!(
                    "`memory_safety = \"enforced\"` is declared, but the sources contain {} memory-unsafe construct(s) ({})",
                    unsafe_found.len(),
                    unsafe_found.iter().map(|id| id.code()).collect::<BTreeSet<_>>().into_iter().collect::<Vec<_>>().join(", ")
                ),
            )
            .at(location),
        );
    }
}

/// Where in the manifest a policy item comes from.
pub(super) fn item_key(subject: &str) -> Vec<Key<'_>> {
    let first = subject.split_whitespace().nth(1).unwrap_or_default();
    let section = [Key::Name("security")];
    let rest: Vec<Key<'_>> = if subject.starts_with("limit ") {
        vec![Key::Name("limits"), Key::Name(first)]
    } else if subject.starts_with("memory safety") {
        vec![Key::Name("memory_safety")]
    } else if subject.starts_with("dir ") {
        vec![Key::Name("capabilities"), Key::Name("dirs")]
    } else if subject.starts_with("env ") {
        vec![Key::Name("capabilities"), Key::Name("env")]
    } else if subject.starts_with("network ") {
        vec![Key::Name("capabilities"), Key::Name("network")]
    } else if subject == "clock" || subject == "random" {
        vec![Key::Name("capabilities"), Key::Name(subject)]
    } else {
        vec![Key::Name("overrides")]
    };
    section.into_iter().chain(rest).collect()
}

pub(super) fn language_name(language: Language) -> &'static str {
    match language {
        Language::Rust => "rust",
        Language::C => "c",
        Language::Wat => "wat",
    }
}
