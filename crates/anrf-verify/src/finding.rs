//! The findings model: stable check IDs, severities, locations, suppressions.
//!
//! Check IDs are a contract: CI configurations, SARIF baselines and override
//! reviews refer to them. An ID is never reused for a different meaning; the
//! catalogue in `docs/verify.md` lists every one.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How serious a finding is. Whether it blocks depends on the profile
/// (see [`crate::Profile::blocks`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Informational; never blocks.
    Note,
    /// Suspicious or incomplete; blocks only under `prod`.
    Warning,
    /// Wrong; blocks under every profile when it concerns safety, under `test`
    /// and `prod` when it concerns correctness.
    Error,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        })
    }
}

/// What an error-level finding puts at risk; decides under which profiles it blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Gate {
    /// Running would not be safe, or safety could not be established: blocks in
    /// every profile.
    Safety,
    /// The module would not do what its intent says: blocks under `test` and `prod`.
    Correctness,
}

/// The family a check belongs to, the letter after `ANRF-`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// `ANRF-M`: manifest completeness and consistency across the three layers.
    Metadata,
    /// `ANRF-W`: the built wasm artifact.
    Wasm,
    /// `ANRF-S`: guest source and its dependencies.
    Source,
    /// `ANRF-O`: overrides.
    Overrides,
    /// `ANRF-T`: intent examples run in the sandbox.
    Tests,
}

macro_rules! checks {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $code:literal, $name:literal, $severity:ident, $gate:ident,
        $title:literal, $help:literal;
    )*) => {
        /// A stable check identifier such as `ANRF-S001`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum CheckId {
            $( $(#[$doc])* $variant, )*
        }

        impl CheckId {
            /// Every check, in catalogue order.
            pub const ALL: &'static [CheckId] = &[$(CheckId::$variant),*];

            /// The stable code, e.g. `ANRF-S001`.
            pub const fn code(self) -> &'static str {
                match self { $(CheckId::$variant => $code,)* }
            }

            /// A short kebab-case name, e.g. `unsafe-block`.
            pub const fn name(self) -> &'static str {
                match self { $(CheckId::$variant => $name,)* }
            }

            /// The severity of every finding of this check.
            pub const fn severity(self) -> Severity {
                match self { $(CheckId::$variant => Severity::$severity,)* }
            }

            /// What an error of this check puts at risk.
            pub const fn gate(self) -> Gate {
                match self { $(CheckId::$variant => Gate::$gate,)* }
            }

            /// One line saying what the check establishes.
            pub const fn title(self) -> &'static str {
                match self { $(CheckId::$variant => $title,)* }
            }

            /// The general fix; findings may carry a more precise one.
            pub const fn help(self) -> &'static str {
                match self { $(CheckId::$variant => $help,)* }
            }
        }
    };
}

checks! {
    /// The manifest is missing, malformed or incomplete.
    M001 = "ANRF-M001", "manifest-invalid", Error, Safety,
        "the manifest parses and every required field is present",
        "fix the manifest at the reported line; `anrf check MODULE` explains each field";
    /// No artifact is recorded, or the recorded file does not exist.
    M002 = "ANRF-M002", "artifact-missing", Error, Safety,
        "the built artifact is recorded in the manifest and exists",
        "run `anrf build MODULE` to build the guest and record its artifact";
    /// The artifact's SHA-256 differs from the manifest's.
    M003 = "ANRF-M003", "artifact-hash-mismatch", Error, Safety,
        "the artifact's SHA-256 matches `implementation.artifact.sha256`",
        "rebuild with `anrf build MODULE` so the recorded hash is that of the artifact";
    /// A listed source file does not exist.
    M004 = "ANRF-M004", "source-missing", Error, Safety,
        "every file in `implementation.sources` exists inside the module",
        "add the file or remove it from `implementation.sources`";
    /// The declared language does not match the source files.
    M005 = "ANRF-M005", "language-mismatch", Error, Safety,
        "the source files are written in the declared `implementation.language`",
        "set `implementation.language` to the sources' language, or list only sources in that language";
    /// An intent example does not fit the declared interface and effects.
    M006 = "ANRF-M006", "example-interface-mismatch", Error, Correctness,
        "every intent example fits `logic.interface` and `logic.effects`",
        "make the example use only what the interface declares, or declare the effect in `logic.effects`";
    /// The intent has no examples, so nothing can be tested.
    M007 = "ANRF-M007", "no-examples", Warning, Correctness,
        "the intent has at least one example to run as a test",
        "add an `[[intent.examples]]` entry with stdin and the expected stdout";
    /// A capability in the manifest exceeds the project policy.
    M008 = "ANRF-M008", "capability-outside-policy", Error, Safety,
        "every capability the manifest names is granted: within the project policy's maxima and backed by an approved override where the policy requires one",
        "request the override the message names (`anrf override request MODULE --allow-read DIR ...`) and have it approved, or remove the capability";
    /// Declared effects and granted capabilities disagree.
    M009 = "ANRF-M009", "effect-capability-mismatch", Warning, Correctness,
        "the effects in `logic.effects` match the capabilities in `security.capabilities`",
        "declare the effect the capability serves, or drop the capability the module does not need";
    /// A limit exceeds the built-in default without an approved override.
    M010 = "ANRF-M010", "limit-raised-without-override", Error, Safety,
        "every limit is at or below its default unless an approved override raises it",
        "lower the limit, or request `anrf override request MODULE --raise LIMIT=VALUE`";
    /// A function named in `logic.functions` is not defined in the sources.
    M011 = "ANRF-M011", "function-not-found", Warning, Correctness,
        "every function in `logic.functions` is defined in the sources",
        "define the function or remove it from `logic.functions`";
    /// `memory_safety = \"enforced\"` is declared for memory-unsafe code.
    M012 = "ANRF-M012", "memory-safety-declaration", Error, Safety,
        "`security.memory_safety` states the truth about the sources",
        "declare `memory_safety = \"sandbox-only\"` with an approved `memory-unsafe` override, or remove the unsafe code";
    /// A Rust file in the module that `implementation.sources` does not list.
    M013 = "ANRF-M013", "source-not-listed", Error, Safety,
        "every Rust file in the module, and every file a `mod` or `include!` reaches, is listed in `implementation.sources`",
        "list the file in `implementation.sources` (so it is checked and bound into approvals), or delete it";
    /// The module asks for what this runtime cannot provide, so `anrf run` refuses it.
    M014 = "ANRF-M014", "runtime-unsupported", Error, Safety,
        "the module asks for nothing `anrf run` refuses as beyond this runtime: `isolation = \"process\"`, network hosts, wasm threads",
        "set `isolation = \"wasm\"`, remove the `network` entries and build without threads; the finding's message is the one `anrf run` gives";

    /// The artifact is not a valid module for the runtime's feature set.
    W001 = "ANRF-W001", "invalid-wasm", Error, Safety,
        "the artifact is a valid wasm module for the features the runtime enables",
        "rebuild for `wasm32-wasip1` without extra target features";
    /// An import the runtime does not provide.
    W002 = "ANRF-W002", "import-not-provided", Error, Safety,
        "every import is a `wasi_snapshot_preview1` function the runtime provides",
        "remove the dependency that needs this import; only WASI preview 1 functions are linked";
    /// Initial memory above the memory limit: the module cannot start.
    W003 = "ANRF-W003", "memory-initial-over-limit", Error, Safety,
        "the declared initial memory fits within `security.limits.memory`",
        "lower the initial memory (e.g. `-C link-arg=--initial-memory=...`) or raise the limit through an override";
    /// Declared maximum memory above the memory limit.
    W004 = "ANRF-W004", "memory-maximum-over-limit", Warning, Safety,
        "the declared maximum memory fits within `security.limits.memory`",
        "declare a maximum within the limit (`-C link-arg=--max-memory=...`); the runtime stops growth at the limit regardless";
    /// Initial table size above the runtime's table limit.
    W005 = "ANRF-W005", "table-initial-over-limit", Error, Safety,
        "the declared initial table sizes fit within the runtime's table limit",
        "reduce the number of indirect call targets or split the module";
    /// Declared maximum table size above the runtime's table limit.
    W006 = "ANRF-W006", "table-maximum-over-limit", Warning, Safety,
        "the declared maximum table sizes fit within the runtime's table limit",
        "declare a table maximum within the limit; the runtime stops growth at the limit regardless";
    /// Shared memory, atomics or threads without an approved override.
    W007 = "ANRF-W007", "threads-without-override", Error, Safety,
        "the module uses no shared memory or atomics unless a `threads` override allows it",
        "build without the `atomics` target feature, or request a `threads` override";
    /// A command module without a `_start` export.
    W008 = "ANRF-W008", "missing-start-export", Error, Correctness,
        "a `command` module exports `_start` as a function taking and returning nothing",
        "build a binary (`src/main.rs`) for `wasm32-wasip1`, not a library";
    /// The artifact is over a compile budget: `anrf run` refuses it before compiling.
    W009 = "ANRF-W009", "over-compile-budget", Error, Safety,
        "the artifact fits its compile budgets (sizes and counts the runtime checks before compiling), raised only by approved `raise:BUDGET=VALUE` overrides",
        "make the module smaller (fewer dependencies and functions, `opt-level = \"s\"`, `lto = true`, no debug info), or request `anrf override request MODULE --raise BUDGET=VALUE`";

    /// An `unsafe` block.
    S001 = "ANRF-S001", "unsafe-block", Error, Safety,
        "no `unsafe` block outside an approved `memory-unsafe` override",
        "rewrite without `unsafe`, or request `anrf override request MODULE --memory-unsafe --scope function:NAME`";
    /// An `unsafe fn`.
    S002 = "ANRF-S002", "unsafe-fn", Error, Safety,
        "no `unsafe fn` outside an approved `memory-unsafe` override",
        "make the function safe, or request a `memory-unsafe` override scoped to it";
    /// An `unsafe impl`.
    S003 = "ANRF-S003", "unsafe-impl", Error, Safety,
        "no `unsafe impl` outside an approved `memory-unsafe` override",
        "remove the `unsafe impl`, or request a `memory-unsafe` override for the module";
    /// An `unsafe trait`.
    S004 = "ANRF-S004", "unsafe-trait", Error, Safety,
        "no `unsafe trait` outside an approved `memory-unsafe` override",
        "make the trait safe, or request a `memory-unsafe` override for the module";
    /// An `extern` block (foreign functions).
    S005 = "ANRF-S005", "extern-block", Error, Safety,
        "no `extern` block outside an approved `memory-unsafe` override",
        "call WASI through `std` instead of declaring foreign functions";
    /// `#[no_mangle]` or `#[export_name]`.
    S006 = "ANRF-S006", "symbol-attribute", Error, Safety,
        "no `#[no_mangle]` or `#[export_name]` outside an approved `memory-unsafe` override",
        "remove the attribute; a command module needs no exported symbols besides `_start`";
    /// Inline assembly.
    S007 = "ANRF-S007", "inline-asm", Error, Safety,
        "no inline assembly (`asm!`, `global_asm!`, `naked_asm!`)",
        "remove the assembly; it has no place in a sandboxed guest";
    /// `transmute`.
    S008 = "ANRF-S008", "transmute", Error, Safety,
        "no `transmute` outside an approved `memory-unsafe` override",
        "use a safe conversion (`from_ne_bytes`, `From`, `TryFrom`, `as`)";
    /// `static mut`.
    S009 = "ANRF-S009", "static-mut", Error, Safety,
        "no `static mut` outside an approved `memory-unsafe` override",
        "use a local variable, `std::sync::OnceLock`, `Cell` or an atomic";
    /// Use of `std::fs`, `std::env`, `std::net` or `std::process` the capabilities do not cover.
    S010 = "ANRF-S010", "capability-creep", Error, Safety,
        "the source uses no `std::fs`, `std::env`, `std::net` or `std::process` API its capabilities do not cover",
        "grant the capability in `[security.capabilities]` (within the project policy) or stop using the API";
    /// A Rust source file that does not parse.
    S011 = "ANRF-S011", "source-parse-error", Error, Safety,
        "every Rust source file parses, so every construct could be checked",
        "fix the syntax error; `cargo check --target wasm32-wasip1` shows it in context";
    /// A source written in a memory-unsafe language (C).
    S012 = "ANRF-S012", "memory-unsafe-language", Error, Safety,
        "memory-unsafe source languages run only with `sandbox-only` and an approved `memory-unsafe` override",
        "declare `memory_safety = \"sandbox-only\"` and request `anrf override request MODULE --memory-unsafe --justification \"...\"`";
    /// A dependency with a build script.
    S101 = "ANRF-S101", "dependency-build-script", Warning, Safety,
        "no guest dependency runs a build script at build time",
        "replace the dependency with one without `build.rs`, or review its build script and vendor it";
    /// A proc-macro dependency.
    S102 = "ANRF-S102", "dependency-proc-macro", Warning, Safety,
        "no guest dependency is a procedural macro (code run inside the compiler)",
        "replace the dependency, or review the macro crate and vendor it";
    /// A dependency whose source could not be inspected offline.
    S103 = "ANRF-S103", "dependency-not-inspected", Warning, Safety,
        "every guest dependency's manifest could be read offline",
        "run `cargo fetch` in the module directory so the sources are in the local registry";
    /// Dependencies without a `Cargo.lock`.
    S104 = "ANRF-S104", "dependencies-unpinned", Warning, Safety,
        "a guest with dependencies pins them in `Cargo.lock`",
        "run `cargo generate-lockfile` in the module directory and commit `Cargo.lock`";
    /// The guest's own package has a build script.
    S105 = "ANRF-S105", "guest-build-script", Error, Safety,
        "the guest's own package runs no build script (`build.rs`) at build time",
        "delete `build.rs` (and any `[package] build = ...`); compute at run time in the guest, or commit generated code as a listed source";

    /// The policy engine rejected an override.
    O001 = "ANRF-O001", "override-rejected", Error, Safety,
        "every override is accepted by the policy engine (scope, signatures, authorization)",
        "fix the override as the message says, then `anrf override approve ID --key KEY`";
    /// An override has expired.
    O002 = "ANRF-O002", "override-expired", Error, Safety,
        "no override is past its `expires` date",
        "request a new override with `anrf override request` and have it approved";
    /// An override lacks the approvals the profile requires.
    O003 = "ANRF-O003", "override-not-approved", Error, Safety,
        "every override carries the approvals the profile requires",
        "have a trusted approver run `anrf override approve ID --key KEY`";
    /// A `function:NAME` scope on a relaxation that applies to the whole run.
    O004 = "ANRF-O004", "override-scope-ineffective", Error, Safety,
        "only `memory-unsafe` overrides are scoped to a function; capabilities, limits and threads are granted to the whole run",
        "request the override with `--scope module` (`anrf override request MODULE ... --scope module`)";
    /// `sandbox-only` without an approved `memory-unsafe` override.
    O005 = "ANRF-O005", "sandbox-only-without-override", Error, Safety,
        "`memory_safety = \"sandbox-only\"` is backed by an approved `memory-unsafe` override",
        "request `anrf override request MODULE --memory-unsafe --justification \"...\"` and have it approved";
    /// An override that relaxes nothing the module uses.
    O006 = "ANRF-O006", "override-unused", Warning, Safety,
        "every override relaxes something the module actually needs",
        "revoke the override with `anrf override revoke ID`; unused relaxations widen the attack surface";

    /// An example printed something other than its expected stdout.
    T001 = "ANRF-T001", "example-output-mismatch", Error, Correctness,
        "every intent example prints its expected stdout in the sandbox",
        "fix the guest, or the example's `stdout` if the expectation was wrong";
    /// An example exited with another code than expected.
    T002 = "ANRF-T002", "example-exit-code-mismatch", Error, Correctness,
        "every intent example exits with its expected code in the sandbox",
        "fix the guest, or the example's `exit_code` if the expectation was wrong";
    /// The sandbox stopped an example with a security violation.
    T003 = "ANRF-T003", "example-violation", Error, Correctness,
        "no intent example is stopped by the sandbox",
        "grant the capability or limit the example needs through the manifest, or fix the guest";
    /// The examples could not be run.
    T004 = "ANRF-T004", "examples-not-run", Error, Correctness,
        "the intent examples could be run in the sandbox",
        "build the module (`anrf build MODULE`) and fix the error in the message";

    /// A name whose meaning the verifier cannot resolve (a macro it cannot
    /// expand, a procedural macro, a path into a module that declares no such
    /// item, a resolution bound): what it reaches is undecided.
    S013 = "ANRF-S013", "capability-undecided", Error, Safety,
        "every name the source uses resolves, as the compiler resolves it, so which `std` APIs it reaches is known",
        "name what is used by a path the verifier can follow (`use std::...`, a `mod` of the module) instead of generating it with a macro; remove procedural macros and macros from dependencies";
    /// A path dependency outside the module directory, or one that cannot be read.
    S106 = "ANRF-S106", "path-dependency-outside", Error, Safety,
        "every path dependency lies inside the module directory, so its sources are verified as the module's own",
        "move the dependency into the module directory (e.g. `vendor/NAME`), point `path` there and list its sources in `implementation.sources`, or depend on a published version";
}

impl CheckId {
    /// The family of this check.
    pub fn family(self) -> Family {
        match self.code().as_bytes().get(5) {
            Some(b'M') => Family::Metadata,
            Some(b'W') => Family::Wasm,
            Some(b'S') => Family::Source,
            Some(b'O') => Family::Overrides,
            _ => Family::Tests,
        }
    }

    /// Looks up a check by its code (`ANRF-S001`) or its name (`unsafe-block`).
    pub fn from_code(code: &str) -> Option<CheckId> {
        CheckId::ALL
            .iter()
            .copied()
            .find(|id| id.code().eq_ignore_ascii_case(code) || id.name() == code)
    }
}

impl fmt::Display for CheckId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for CheckId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for CheckId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        CheckId::from_code(&code)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown check id `{code}`")))
    }
}

/// Where a finding is: a file relative to the module directory, and a 1-based
/// line and column when the check knows them.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Location {
    /// Path relative to the module directory, with `/` separators.
    pub file: String,
    /// 1-based line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based column (in characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
}

impl Location {
    /// A whole file.
    pub fn file(file: impl Into<String>) -> Self {
        Location {
            file: file.into(),
            line: None,
            column: None,
        }
    }

    /// A position in a file.
    pub fn at(file: impl Into<String>, line: u32, column: u32) -> Self {
        Location {
            file: file.into(),
            line: Some(line),
            column: Some(column),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// An approved override that covers a finding. The finding stays in the report
/// (and in SARIF as a suppression) but never blocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suppression {
    /// The override's id, e.g. `ovr-1a2b3c4d`.
    pub override_id: String,
    /// Why the relaxation is needed, as approved.
    pub justification: String,
    /// Who approved it: the approvers whose signatures count, or, for an
    /// override self-approved under `dev` (no signature), the requester.
    pub approvers: Vec<String>,
    /// Whether the approval is the requester's own (allowed under `dev` only:
    /// the justification stands in for a signature).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub self_approved: bool,
    /// The last day the override is valid (`YYYY-MM-DD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
}

/// One result of one check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The check that produced it.
    pub id: CheckId,
    /// Copied from the check, so JSON consumers need no catalogue.
    pub severity: Severity,
    /// What was found, with the user's values in backticks.
    pub message: String,
    /// Where, when there is a place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// The fix.
    pub help: String,
    /// The enclosing function, for source findings (what `function:NAME` overrides match).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    /// The approved override that covers this finding, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppression: Option<Suppression>,
}

impl Finding {
    /// A finding with the check's severity and general help.
    pub fn new(id: CheckId, message: impl Into<String>) -> Self {
        Finding {
            id,
            severity: id.severity(),
            message: message.into(),
            location: None,
            help: id.help().to_owned(),
            function: None,
            suppression: None,
        }
    }

    /// Sets the location.
    #[must_use]
    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    /// Replaces the general help with a precise one.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = help.into();
        self
    }

    /// Records the enclosing function.
    #[must_use]
    pub fn in_function(mut self, function: Option<String>) -> Self {
        self.function = function;
        self
    }

    /// Whether an approved override covers this finding.
    pub fn is_suppressed(&self) -> bool {
        self.suppression.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for id in CheckId::ALL {
            assert!(seen.insert(id.code()), "duplicate code {}", id.code());
            assert!(id.code().starts_with("ANRF-"));
            assert_eq!(id.code().len(), 9, "{}", id.code());
            assert!(!id.help().is_empty() && !id.title().is_empty());
        }
    }

    #[test]
    fn ids_round_trip_through_json() {
        for id in CheckId::ALL {
            let json = serde_json::to_string(id).unwrap();
            assert_eq!(serde_json::from_str::<CheckId>(&json).unwrap(), *id);
        }
        assert!(serde_json::from_str::<CheckId>("\"ANRF-X999\"").is_err());
    }

    #[test]
    fn families_follow_the_letter() {
        assert_eq!(CheckId::M001.family(), Family::Metadata);
        assert_eq!(CheckId::W002.family(), Family::Wasm);
        assert_eq!(CheckId::S101.family(), Family::Source);
        assert_eq!(CheckId::O003.family(), Family::Overrides);
        assert_eq!(CheckId::T001.family(), Family::Tests);
    }

    #[test]
    fn location_display() {
        assert_eq!(
            Location::at("src/main.rs", 3, 5).to_string(),
            "src/main.rs:3:5"
        );
        assert_eq!(Location::file("anrf.toml").to_string(), "anrf.toml");
    }
}
