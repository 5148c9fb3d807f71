//! `anrf explain`: a security explanation across the three layers, built only
//! from a verification [`Report`]. Every statement carries its evidence (a
//! check ID and its outcome, a manifest line, a signature); a check that did not
//! run or did not pass produces no claim, only an entry under "not established".

use std::fmt::Write as _;

use serde::Serialize;

use crate::finding::{CheckId, Family};
use crate::report::{Report, Status};
use crate::source::Resource;
use crate::wasm::{ImportKind, WASI_PREVIEW1_MODULE};

/// What backs a statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// A check and its outcome.
    Check {
        /// `ANRF-...`.
        id: CheckId,
        /// Its outcome in the report.
        status: Status,
    },
    /// A line of the manifest.
    Manifest {
        /// `anrf.toml`.
        file: String,
        /// 1-based line.
        line: u32,
    },
    /// An approval signature the policy engine verified.
    Signature {
        /// The override.
        override_id: String,
        /// Who signed.
        approver: String,
        /// Under which role.
        role: String,
        /// Their key.
        public_key: String,
    },
    /// A place in a source file.
    Source {
        /// `file:line:column`.
        location: String,
    },
    /// A fact the checks recorded in the report, by its JSON path.
    Fact {
        /// E.g. `facts.wasm.imports`.
        field: String,
    },
    /// A guarantee of the anrf runtime itself, true of every module it runs and
    /// documented there; not something a check established about this module.
    Runtime {
        /// The guarantee.
        property: String,
        /// Where it is documented and tested.
        doc: String,
    },
}

impl Evidence {
    fn short(&self) -> String {
        match self {
            Evidence::Check { id, status } => format!("{id} {}", status_word(*status)),
            Evidence::Manifest { file, line } => format!("{file}:{line}"),
            Evidence::Signature {
                override_id,
                approver,
                role,
                ..
            } => {
                format!("signature of `{approver}` ({role}) on {override_id}")
            }
            Evidence::Source { location } => location.clone(),
            Evidence::Fact { field } => format!("report `{field}`"),
            Evidence::Runtime { doc, .. } => format!("runtime guarantee ({doc})"),
        }
    }
}

fn status_word(status: Status) -> &'static str {
    match status {
        Status::Passed => "passed",
        Status::Failed => "failed",
        Status::Suppressed => "suppressed by approved override",
        Status::Skipped => "skipped",
        Status::NotApplicable => "not applicable",
    }
}

/// One statement and what backs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    /// The claim.
    pub text: String,
    /// Its evidence; never empty.
    pub evidence: Vec<Evidence>,
}

/// A titled group of statements.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Section {
    /// E.g. `memory safety`.
    pub title: String,
    /// The statements.
    pub statements: Vec<Statement>,
}

/// The whole explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    /// The module.
    pub module: String,
    /// Its content digest.
    pub digest: Option<String>,
    /// The profile it was verified under.
    pub profile: String,
    /// Whether it may run under that profile.
    pub may_run: bool,
    /// The sections, in reading order.
    pub sections: Vec<Section>,
    /// Checks that failed or did not run: nothing is claimed about them.
    pub not_established: Vec<Statement>,
}

struct Builder<'r> {
    report: &'r Report,
    manifest_file: String,
}

impl Builder<'_> {
    fn check(&self, id: CheckId) -> Evidence {
        let status = self
            .report
            .outcome(id)
            .map_or(Status::Skipped, |c| c.status);
        Evidence::Check { id, status }
    }

    fn passed(&self, ids: &[CheckId]) -> bool {
        ids.iter().all(|id| {
            self.report
                .outcome(*id)
                .is_some_and(|c| matches!(c.status, Status::Passed | Status::Suppressed))
        })
    }

    fn line(&self, line: Option<u32>) -> Option<Evidence> {
        line.map(|line| Evidence::Manifest {
            file: self.manifest_file.clone(),
            line,
        })
    }

    fn fact(field: &str) -> Evidence {
        Evidence::Fact {
            field: field.to_owned(),
        }
    }

    /// Every check with its outcome: what a verdict rests on.
    fn all_checks(&self) -> Vec<Evidence> {
        self.report
            .checks
            .iter()
            .map(|c| Evidence::Check {
                id: c.id,
                status: c.status,
            })
            .collect()
    }

    fn statement(text: impl Into<String>, evidence: Vec<Evidence>) -> Statement {
        Statement {
            text: text.into(),
            evidence,
        }
    }
}

const MEMORY_CHECKS: [CheckId; 9] = [
    CheckId::S001,
    CheckId::S002,
    CheckId::S003,
    CheckId::S004,
    CheckId::S005,
    CheckId::S006,
    CheckId::S007,
    CheckId::S008,
    CheckId::S009,
];

/// Builds the explanation of a report.
pub fn explain(report: &Report) -> Explanation {
    let b = Builder {
        report,
        manifest_file: anrf_format::MANIFEST_FILE.to_owned(),
    };
    let facts = &report.facts;
    let mut sections = Vec::new();

    // Verdict.
    let summary = report.summary();
    let verdict = if report.passed() {
        let mut evidence = b.all_checks();
        evidence.push(Builder::fact("findings"));
        Builder::statement(
            format!(
                "Under profile `{}` nothing blocks: the module may run ({} checks passed, {} suppressed finding(s), {} skipped, {} not applicable; {} finding(s) reported without blocking).",
                report.profile,
                summary.checks_passed,
                summary.suppressed,
                summary.checks_skipped,
                summary.checks_not_applicable,
                summary.errors + summary.warnings + summary.notes
            ),
            evidence,
        )
    } else {
        let mut evidence: Vec<Evidence> = Vec::new();
        for f in report.blocking() {
            let e = b.check(f.id);
            if !evidence.contains(&e) {
                evidence.push(e);
            }
        }
        evidence.push(Builder::fact("findings"));
        Builder::statement(
            format!(
                "Under profile `{}` the module may NOT run: {} finding(s) block.",
                report.profile, summary.blocking
            ),
            evidence,
        )
    };
    sections.push(Section {
        title: "verdict".into(),
        statements: vec![verdict],
    });

    // Layer 1: intent, as tested.
    let mut intent = Vec::new();
    let tests = [CheckId::T001, CheckId::T002, CheckId::T003, CheckId::T004];
    if !facts.examples.is_empty() && b.passed(&tests) {
        let names: Vec<String> = facts
            .examples
            .iter()
            .map(|e| format!("`{}`", e.name))
            .collect();
        let mut engines: Vec<&str> = facts
            .examples
            .iter()
            .map(|e| e.engine.as_str())
            .filter(|e| !e.is_empty())
            .collect();
        engines.dedup();
        let on = if engines.is_empty() {
            String::new()
        } else {
            format!(" on the `{}` engine", engines.join("`, `"))
        };
        let mut evidence: Vec<Evidence> = tests.iter().map(|id| b.check(*id)).collect();
        evidence.push(Builder::fact("facts.examples"));
        intent.push(Builder::statement(
            format!(
                "All {} intent examples ran in the sandbox{on} and produced their expected stdout and exit code: {}.",
                facts.examples.len(),
                names.join(", ")
            ),
            evidence,
        ));
    } else if !facts.examples.is_empty() {
        let passed = facts.examples.iter().filter(|e| e.passed).count();
        intent.push(Builder::statement(
            format!(
                "{passed} of {} intent examples behave as the intent says in the sandbox.",
                facts.examples.len()
            ),
            tests.iter().map(|id| b.check(*id)).collect(),
        ));
    }
    if b.passed(&[CheckId::M006])
        && report
            .outcome(CheckId::M006)
            .is_some_and(|c| c.status == Status::Passed)
    {
        intent.push(Builder::statement(
            "The intent examples fit the declared interface and effects.",
            vec![b.check(CheckId::M006)],
        ));
    }
    sections.push(Section {
        title: "intent (layer 1)".into(),
        statements: intent,
    });

    // Layers 2-3 and security: memory safety.
    let mut memory = Vec::new();
    if let Some(g) = facts
        .granted
        .iter()
        .find(|g| g.subject.starts_with("memory safety"))
        && b.passed(&[CheckId::O005])
    {
        let mut evidence = vec![b.check(CheckId::O005)];
        evidence.extend(b.line(g.line));
        for o in facts.overrides.iter().filter(|o| g.via.contains(&o.id)) {
            evidence.extend(o.signatures.iter().filter(|s| s.counted).map(|s| {
                Evidence::Signature {
                    override_id: o.id.clone(),
                    approver: s.approver.clone(),
                    role: s.role.clone(),
                    public_key: s.public_key.clone(),
                }
            }));
        }
        memory.push(Builder::statement(
            format!(
                "It declares `memory_safety = \"sandbox-only\"`: the sandbox protects the host, not the guest's own memory; granted by {}.",
                g.via.iter().map(|v| format!("override `{v}`")).collect::<Vec<_>>().join(", ")
            ),
            evidence,
        ));
    }
    let rust_checked = !facts.sources_checked.is_empty()
        && report
            .outcome(CheckId::S001)
            .is_some_and(|c| c.status != Status::Skipped);
    if rust_checked
        && b.passed(&MEMORY_CHECKS)
        && b.passed(&[CheckId::S011, CheckId::M012, CheckId::M013])
    {
        let all_clean = MEMORY_CHECKS.iter().all(|id| report.check_passed(*id));
        let text = if all_clean {
            format!(
                "The guest source ({}, every Rust file in the module and every file its `mod`s and `include!`s reach) is safe Rust: no `unsafe` block, fn, impl or trait, no `extern` block, no `#[no_mangle]`/`#[export_name]`, no inline assembly, no `transmute`, no `static mut`.",
                facts.sources_checked.join(", ")
            )
        } else {
            format!(
                "The guest source ({}) contains memory-unsafe code, each instance covered by an approved `memory-unsafe` override (below).",
                facts.sources_checked.join(", ")
            )
        };
        let mut evidence: Vec<Evidence> = MEMORY_CHECKS.iter().map(|id| b.check(*id)).collect();
        evidence.push(b.check(CheckId::S011));
        evidence.push(b.check(CheckId::M013));
        evidence.push(Builder::fact("facts.sources_checked"));
        memory.push(Builder::statement(text, evidence));
        for f in report
            .findings
            .iter()
            .filter(|f| f.is_suppressed() && f.id.family() == Family::Source)
        {
            if let (Some(s), Some(loc)) = (&f.suppression, &f.location) {
                memory.push(Builder::statement(
                    format!(
                        "{} is allowed by override `{}`: \"{}\".",
                        f.message, s.override_id, s.justification
                    ),
                    vec![
                        Evidence::Source {
                            location: loc.to_string(),
                        },
                        b.check(f.id),
                    ],
                ));
            }
        }
    }
    if report
        .outcome(CheckId::S012)
        .is_some_and(|c| c.status == Status::Suppressed)
    {
        memory.push(Builder::statement(
            "The guest is written in C, a memory-unsafe language: its memory safety rests on the wasm sandbox alone (`sandbox-only`), by an approved override (below).",
            vec![b.check(CheckId::S012), b.check(CheckId::O005)],
        ));
    }
    if b.passed(&[CheckId::M003, CheckId::W001])
        && let (Some(sha), Some(wasm)) = (&facts.artifact_sha256, &facts.wasm)
    {
        let validity = if wasm.uses_threads {
            "is a valid wasm module only with the threads proposal, which the runtime does not enable: it cannot start"
        } else {
            "is a valid wasm module for the features the runtime enables"
        };
        memory.push(Builder::statement(
            format!(
                "The artifact ({} bytes, SHA-256 `{sha}`) matches the manifest and {validity}.",
                wasm.size_bytes
            ),
            vec![
                b.check(CheckId::M003),
                b.check(CheckId::W001),
                b.check(CheckId::W007),
                Builder::fact("facts.wasm.uses_threads"),
            ],
        ));
    }
    if b.passed(&[CheckId::W007]) && facts.wasm.as_ref().is_some_and(|w| !w.uses_threads) {
        memory.push(Builder::statement(
            "It uses no shared memory or atomics (no threads).",
            vec![
                b.check(CheckId::W007),
                Builder::fact("facts.wasm.uses_threads"),
            ],
        ));
    }
    sections.push(Section {
        title: "memory safety".into(),
        statements: memory,
    });

    // What it may touch.
    let mut touch = Vec::new();
    if let Some(wasm) = facts
        .wasm
        .as_ref()
        .filter(|_| b.report.check_passed(CheckId::W002))
    {
        let names: Vec<&str> = wasm
            .imports
            .iter()
            .filter(|i| i.kind == ImportKind::Func && i.module == WASI_PREVIEW1_MODULE)
            .map(|i| i.name.as_str())
            .collect();
        // W002 passed, so every import is one of these; say so only if it holds.
        if names.len() == wasm.imports.len() {
            touch.push(Builder::statement(
                format!(
                    "It imports {} function(s) and nothing else, each a WASI preview 1 function the runtime provides, with its WASI signature: {}.",
                    names.len(),
                    if names.is_empty() { "none".to_owned() } else { names.join(", ") }
                ),
                vec![b.check(CheckId::W002), Builder::fact("facts.wasm.imports")],
            ));
        }
    }
    let grants: Vec<_> = facts
        .granted
        .iter()
        .filter(|g| {
            !g.subject.starts_with("limit ")
                && !g.subject.starts_with("compile budget ")
                && !g.subject.starts_with("memory safety")
        })
        .collect();
    if b.passed(&[CheckId::M008]) {
        if grants.is_empty() {
            touch.push(Builder::statement(
                "The policy grants it no directory, no environment variable, no network host, no clock and no random source.",
                vec![b.check(CheckId::M008), Builder::fact("facts.granted")],
            ));
        }
        // A granted host is not something this runtime provides (ANRF-M014):
        // `anrf run` refuses it, so it is never stated as what the module may use.
        for g in grants
            .iter()
            .filter(|g| !g.subject.starts_with("network ") || b.passed(&[CheckId::M014]))
        {
            let mut evidence = vec![b.check(CheckId::M008)];
            evidence.extend(b.line(g.line));
            for via in &g.via {
                if let Some(o) = facts.overrides.iter().find(|o| &o.id == via) {
                    evidence.extend(b.line(o.line));
                    evidence.extend(o.signatures.iter().filter(|s| s.counted).map(|s| {
                        Evidence::Signature {
                            override_id: o.id.clone(),
                            approver: s.approver.clone(),
                            role: s.role.clone(),
                            public_key: s.public_key.clone(),
                        }
                    }));
                }
            }
            let why = g.reasons.last().cloned().unwrap_or_default();
            touch.push(Builder::statement(
                format!("It may use `{}`: {why}.", g.subject),
                evidence,
            ));
        }
    }
    // What the source reaches is known only when every name resolved (S013)
    // and every path dependency is part of the module (S106).
    if b.passed(&[CheckId::S010, CheckId::S013, CheckId::S106])
        && [CheckId::S010, CheckId::S013].iter().all(|id| {
            report
                .outcome(*id)
                .is_some_and(|c| c.status == Status::Passed)
        })
    {
        let uses = &facts.capability_uses;
        if uses.is_empty() {
            touch.push(Builder::statement(
                "Its source calls nothing in `std::fs`, `std::env` (other than its constants), `std::net` or `std::process`, and no `Path` method that queries the file system (every name resolved as the compiler resolves it, across every file of the module and its path dependencies).",
                vec![
                    b.check(CheckId::S010),
                    b.check(CheckId::S013),
                    b.check(CheckId::S106),
                    Builder::fact("facts.capability_uses"),
                ],
            ));
        }
        for (resource, only) in [
            (
                Resource::Exit,
                "Its source uses `std::process` only to end or identify its own process",
            ),
            (
                Resource::Args,
                "Its source reads its own command-line arguments",
            ),
        ] {
            let places: Vec<_> = uses.iter().filter(|u| u.resource == resource).collect();
            if places.is_empty() {
                continue;
            }
            let mut paths: Vec<&str> = places.iter().map(|u| u.path.as_str()).collect();
            paths.sort_unstable();
            paths.dedup();
            let mut evidence: Vec<Evidence> = places
                .iter()
                .map(|u| Evidence::Source {
                    location: u.location.to_string(),
                })
                .collect();
            evidence.push(b.check(CheckId::S010));
            let process_only =
                resource != Resource::Exit || !uses.iter().any(|u| u.resource == Resource::Process);
            if process_only {
                touch.push(Builder::statement(
                    format!(
                        "{only} ({}), which needs no capability.",
                        paths
                            .iter()
                            .map(|p| format!("`{p}`"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    evidence,
                ));
            }
        }
        for u in uses
            .iter()
            .filter(|u| u.covered && !matches!(u.resource, Resource::Exit | Resource::Args))
        {
            touch.push(Builder::statement(
                format!(
                    "Its source calls `{}` ({}), which its granted capabilities cover.",
                    u.path,
                    resource_word(u.resource)
                ),
                vec![
                    Evidence::Source {
                        location: u.location.to_string(),
                    },
                    b.check(CheckId::S010),
                ],
            ));
        }
    }
    sections.push(Section {
        title: "what it may touch".into(),
        statements: touch,
    });

    // What the runtime guarantees for every module: stated as the runtime's
    // property, with its documentation, and only when the module may run.
    if report.passed() && facts.wasm.is_some() {
        sections.push(Section {
            title: "runtime guarantees (properties of anrf-runtime, not checks of this module)".into(),
            statements: vec![
                Builder::statement(
                    "The runtime runs it in the wasm sandbox on every engine: the guest addresses only its own linear memory, never the host's.",
                    vec![Evidence::Runtime {
                        property: "wasm isolation: a guest can address only its own linear memory".into(),
                        doc: "docs/runtime.md".into(),
                    }],
                ),
                Builder::statement(
                    "The runtime provides nothing the effective policy does not grant: no other directory, environment variable, socket, clock or random source.",
                    vec![Evidence::Runtime {
                        property: "deny by default: `Capabilities::none()` plus the policy's grants".into(),
                        doc: "docs/runtime.md#capabilities".into(),
                    }],
                ),
            ],
        });
    }

    // Limits, and the compile budgets the artifact is measured against.
    let mut limits = Vec::new();
    for (prefix, check, fits) in [
        ("limit ", CheckId::M010, ""),
        (
            "compile budget ",
            CheckId::W009,
            ", and the artifact fits it",
        ),
    ] {
        if !b.passed(&[check]) {
            continue;
        }
        for g in facts
            .granted
            .iter()
            .filter(|g| g.subject.starts_with(prefix))
        {
            let mut evidence = vec![b.check(check)];
            evidence.extend(b.line(g.line));
            let why = g.reasons.join("; ");
            limits.push(Builder::statement(
                format!("`{}`{fits} ({why}).", g.subject),
                evidence,
            ));
        }
    }
    if let Some(wasm) = facts
        .wasm
        .as_ref()
        .filter(|_| b.passed(&[CheckId::W003, CheckId::W004]))
    {
        for m in &wasm.memories {
            let max = m.maximum_bytes.map_or_else(
                || "no maximum of its own (the memory limit bounds growth)".to_owned(),
                |x| format!("a maximum of {x} bytes"),
            );
            limits.push(Builder::statement(
                format!(
                    "Its memory starts at {} bytes with {max}, within the memory limit.",
                    m.initial_bytes
                ),
                vec![b.check(CheckId::W003), b.check(CheckId::W004)],
            ));
        }
    }
    sections.push(Section {
        title: "limits".into(),
        statements: limits,
    });

    // Overrides.
    let mut overrides = Vec::new();
    for o in &facts.overrides {
        let mut evidence: Vec<Evidence> = b.line(o.line).into_iter().collect();
        evidence.extend(
            o.signatures
                .iter()
                .filter(|s| s.counted)
                .map(|s| Evidence::Signature {
                    override_id: o.id.clone(),
                    approver: s.approver.clone(),
                    role: s.role.clone(),
                    public_key: s.public_key.clone(),
                }),
        );
        evidence.extend([CheckId::O001, CheckId::O002, CheckId::O003].map(|id| b.check(id)));
        let approvers = if o.approvers.is_empty() {
            format!(
                "self-approved by `{}` (allowed in `dev` only)",
                o.requested_by
            )
        } else {
            format!(
                "approved by {}",
                o.approvers
                    .iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let text = if o.granted {
            format!(
                "Override `{}` relaxes `{}` at scope `{}`, requested by `{}`, {approvers}, valid through {}: \"{}\".",
                o.id, o.relaxes, o.scope, o.requested_by, o.expires, o.justification
            )
        } else {
            format!(
                "Override `{}` (`{}`) is NOT granted under `{}`: {}.",
                o.id,
                o.relaxes,
                report.profile,
                o.reasons.last().cloned().unwrap_or_default()
            )
        };
        overrides.push(Builder::statement(text, evidence));
    }
    if facts.overrides.is_empty() && b.passed(&[CheckId::O001]) {
        overrides.push(Builder::statement(
            "No override applies to it: nothing is relaxed by an override.",
            vec![
                b.check(CheckId::O001),
                b.check(CheckId::O005),
                Builder::fact("facts.overrides"),
            ],
        ));
    }
    sections.push(Section {
        title: "overrides".into(),
        statements: overrides,
    });

    // Supply chain.
    let mut supply = Vec::new();
    let supply_ids = [
        CheckId::S101,
        CheckId::S102,
        CheckId::S103,
        CheckId::S104,
        CheckId::S105,
        CheckId::S106,
    ];
    if b.passed(&supply_ids) {
        let text = if facts.dependencies.is_empty() {
            "The guest has no dependencies and no build script of its own.".to_owned()
        } else {
            format!(
                "Its {} dependencies were inspected offline: none has a build script or is a procedural macro; the guest has no build script of its own.",
                facts.dependencies.len()
            )
        };
        let mut evidence: Vec<Evidence> = supply_ids.iter().map(|id| b.check(*id)).collect();
        evidence.push(Builder::fact("facts.dependencies"));
        supply.push(Builder::statement(text, evidence));
    }
    sections.push(Section {
        title: "supply chain".into(),
        statements: supply,
    });

    let not_established = report
        .checks
        .iter()
        .filter(|c| matches!(c.status, Status::Failed | Status::Skipped))
        .map(|c| {
            let why = c
                .reason
                .clone()
                .unwrap_or_else(|| "it found problems (see `anrf verify`)".to_owned());
            Builder::statement(
                format!("{} ({}) is not established: {why}.", c.id.title(), c.id),
                vec![Evidence::Check {
                    id: c.id,
                    status: c.status,
                }],
            )
        })
        .collect();
    sections.retain(|s| !s.statements.is_empty());
    Explanation {
        module: report.module.clone(),
        digest: report.digest.clone(),
        profile: report.profile.as_str().to_owned(),
        may_run: report.passed(),
        sections,
        not_established,
    }
}

fn resource_word(resource: Resource) -> &'static str {
    match resource {
        Resource::FsRead => "reads files",
        Resource::FsWrite => "writes files",
        Resource::Env => "reads environment variables",
        Resource::Network => "network",
        Resource::Process => "processes",
        Resource::Exit => "ends its own process",
        Resource::Args => "reads its arguments",
    }
}

/// Renders the explanation for a person; each statement is followed by its evidence.
pub fn human(explanation: &Explanation) -> String {
    let mut out = String::new();
    let digest = explanation
        .digest
        .as_deref()
        .map_or_else(String::new, |d| format!(" ({d})"));
    let _ = writeln!(
        out,
        "module `{}`{digest}, profile `{}`",
        explanation.module, explanation.profile
    );
    for section in &explanation.sections {
        let _ = writeln!(out, "\n{}:", section.title);
        for s in &section.statements {
            let _ = writeln!(out, "  - {}", s.text);
            let _ = writeln!(out, "    evidence: {}", evidence_line(&s.evidence));
        }
    }
    if !explanation.not_established.is_empty() {
        let _ = writeln!(out, "\nnot established (nothing above relies on these):");
        for s in &explanation.not_established {
            let _ = writeln!(out, "  - {}", s.text);
        }
    }
    out
}

/// One line of evidence; a long list of checks (a verdict's) is grouped by outcome.
fn evidence_line(evidence: &[Evidence]) -> String {
    let checks = evidence
        .iter()
        .filter(|e| matches!(e, Evidence::Check { .. }))
        .count();
    if checks <= 8 {
        return evidence
            .iter()
            .map(Evidence::short)
            .collect::<Vec<_>>()
            .join("; ");
    }
    let mut parts = Vec::new();
    for status in [
        Status::Passed,
        Status::Suppressed,
        Status::Failed,
        Status::Skipped,
        Status::NotApplicable,
    ] {
        let ids: Vec<String> = evidence
            .iter()
            .filter_map(|e| match e {
                Evidence::Check { id, status: s } if *s == status => Some(id.code().to_owned()),
                _ => None,
            })
            .collect();
        if !ids.is_empty() {
            parts.push(format!(
                "{} {}: {}",
                ids.len(),
                status_word(status),
                ids.join(", ")
            ));
        }
    }
    parts.extend(
        evidence
            .iter()
            .filter(|e| !matches!(e, Evidence::Check { .. }))
            .map(Evidence::short),
    );
    parts.join("; ")
}

/// Renders the explanation as pretty JSON.
pub fn json(explanation: &Explanation) -> String {
    serde_json::to_string_pretty(explanation).unwrap_or_default()
}
