//! The verification pipeline: policy resolution, metadata, source, supply
//! chain, wasm, overrides, then (only when nothing unsafe was found) the intent
//! examples in the sandbox.

mod metadata;
mod overrides;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

use anrf_format::{ContentDigest, FormatError, Language, Module, Profile};
use anrf_policy::{OverrideDecision, ProjectPolicy, Resolution, ResolveInput, RevocationNotice};
use time::OffsetDateTime;

use crate::budget;
use crate::error::VerifyError;
use crate::examples;
use crate::finding::{CheckId, Family, Finding, Gate, Location, Severity, Suppression};
use crate::fsread::{self, ReadError};
use crate::locate::{Key, ManifestText};
use crate::report::{Facts, REPORT_FORMAT, Report, outcomes};
use crate::source::tree::{self, Resolved, Unit};
use crate::source::{self, Grants, ModRef, Resource};
use crate::supply;
use crate::wasm::{self, WasmLimits};

/// The verifier's name and version, part of every cache key and report.
pub const VERIFIER: &str = concat!("anrf-verify ", env!("CARGO_PKG_VERSION"));

/// Whether the intent examples are run in the sandbox (`ANRF-T`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Examples {
    /// Run them (the default).
    Run,
    /// Do not run them; the `ANRF-T` checks are reported as skipped.
    Skip,
}

/// What a verification depends on besides the module. Build with
/// [`VerifyOptions::new`]; every default is stated on its setter.
#[derive(Debug, Clone)]
pub struct VerifyOptions<'a> {
    pub(crate) policy: &'a ProjectPolicy,
    pub(crate) profile: Profile,
    pub(crate) now: OffsetDateTime,
    pub(crate) cargo_home: Option<PathBuf>,
    pub(crate) examples: Examples,
    pub(crate) revocations: Vec<RevocationNotice>,
}

impl<'a> VerifyOptions<'a> {
    /// Options for verifying under `profile` against the project `policy`
    /// (`ProjectPolicy::builtin()` when the project has none). Defaults: `now`
    /// is the current UTC time, no cargo home (dependencies are not inspected
    /// and are reported as such), examples are run, and no revocations known.
    pub fn new(policy: &'a ProjectPolicy, profile: Profile) -> Self {
        VerifyOptions {
            policy,
            profile,
            now: OffsetDateTime::now_utc(),
            cargo_home: None,
            examples: Examples::Run,
            revocations: Vec::new(),
        }
    }

    /// The time overrides' expiry is checked against.
    pub fn now(&mut self, now: OffsetDateTime) -> &mut Self {
        self.now = now;
        self
    }

    /// `$CARGO_HOME`, whose `registry/src` holds dependency sources.
    pub fn cargo_home(&mut self, dir: impl Into<PathBuf>) -> &mut Self {
        self.cargo_home = Some(dir.into());
        self
    }

    /// Whether to run the intent examples.
    pub fn examples(&mut self, examples: Examples) -> &mut Self {
        self.examples = examples;
        self
    }

    /// Revocations recorded outside the manifest.
    pub fn revocations(&mut self, revocations: Vec<RevocationNotice>) -> &mut Self {
        self.revocations = revocations;
        self
    }

    /// The profile.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The project policy.
    pub fn policy(&self) -> &ProjectPolicy {
        self.policy
    }
}

/// Loads the module at `path` and verifies it. A manifest that does not parse
/// is a finding (`ANRF-M001`) in the report, not an `Err`: CI gets a SARIF log
/// pointing at the line. `Err` only when there is no module at `path`.
pub fn verify_path(path: &Path, options: &VerifyOptions<'_>) -> Result<Report, VerifyError> {
    match Module::load(path) {
        Ok(module) => verify(&module, options),
        Err(FormatError::NoManifest { dir }) => Err(VerifyError::NoModule { path: dir }),
        Err(FormatError::Unreadable(anrf_format::fsread::ReadError::NotUtf8 { path: file })) => {
            Ok(not_utf8_manifest(path, &file, options))
        }
        Err(FormatError::Read { path, source }) => Err(VerifyError::Read { path, source }),
        Err(err) => Ok(invalid_manifest(path, &err, options)),
    }
}

/// A manifest that is not UTF-8 is an invalid manifest (`ANRF-M001`) at the
/// first byte that is not.
fn not_utf8_manifest(dir: &Path, file: &Path, options: &VerifyOptions<'_>) -> Report {
    let bytes = fsread::read_regular(file, anrf_format::MAX_MANIFEST_BYTES).unwrap_or_default();
    let valid = match std::str::from_utf8(&bytes) {
        Ok(_) => bytes.len(),
        Err(e) => e.valid_up_to(),
    };
    let before = bytes.get(..valid).unwrap_or_default();
    let line = before.split(|b| *b == b'\n').count();
    let column = before.iter().rev().take_while(|b| **b != b'\n').count() + 1;
    let finding = Finding::new(
        CheckId::M001,
        format!(
            "`{}` is not UTF-8 text (invalid byte at line {line}, byte {column} of the line); a manifest must be UTF-8",
            anrf_format::MANIFEST_FILE
        ),
    )
    .at(Location::at(
        anrf_format::MANIFEST_FILE,
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(column).unwrap_or(u32::MAX),
    ))
    .help(format!(
        "save `{}` as UTF-8 (e.g. `iconv -f LATIN1 -t UTF-8 anrf.toml > anrf.utf8.toml`, then replace it)",
        anrf_format::MANIFEST_FILE
    ));
    manifest_report(dir, vec![finding], options)
}

fn invalid_manifest(path: &Path, err: &FormatError, options: &VerifyOptions<'_>) -> Report {
    let (location, message, help) = match err {
        FormatError::Manifest(e) => (
            Location::at(
                anrf_format::MANIFEST_FILE,
                u32::try_from(e.line).unwrap_or(u32::MAX),
                u32::try_from(e.column).unwrap_or(u32::MAX),
            ),
            e.message.clone(),
            e.help.clone(),
        ),
        other => (
            Location::file(anrf_format::MANIFEST_FILE),
            other.to_string(),
            None,
        ),
    };
    let mut finding = Finding::new(CheckId::M001, message).at(location);
    if let Some(help) = help {
        finding = finding.help(help);
    }
    manifest_report(path, vec![finding], options)
}

/// The report of a module whose manifest could not be read: only `findings`
/// (`ANRF-M001`), every other check skipped.
fn manifest_report(path: &Path, findings: Vec<Finding>, options: &VerifyOptions<'_>) -> Report {
    let dir = if path
        .file_name()
        .is_some_and(|n| n == anrf_format::MANIFEST_FILE)
    {
        path.parent().unwrap_or(path)
    } else {
        path
    };
    let module = dir.file_name().map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let skipped: BTreeMap<CheckId, String> = CheckId::ALL
        .iter()
        .filter(|id| **id != CheckId::M001)
        .map(|id| (*id, "not run: the manifest is invalid".to_owned()))
        .collect();
    Report {
        format: REPORT_FORMAT,
        verifier: VERIFIER.to_owned(),
        module,
        digest: None,
        policy: options.policy.origin().to_owned(),
        policy_digest: options.policy.digest().to_string(),
        profile: options.profile,
        checks: outcomes(&findings, &skipped, &BTreeMap::new()),
        findings,
        facts: Facts::default(),
    }
}

/// Verifies a loaded module. Decisions are values: everything found is in the
/// [`Report`]; `Err` only when the manifest file cannot be read again.
pub fn verify(module: &Module, options: &VerifyOptions<'_>) -> Result<Report, VerifyError> {
    let manifest_src = fsread::read_regular_text(module.manifest_path(), budget::MANIFEST_BYTES)
        .map_err(|e| VerifyError::Read {
            path: module.manifest_path().to_path_buf(),
            source: std::io::Error::other(e),
        })?;
    let mut run = Run {
        module,
        options,
        text: ManifestText::new(anrf_format::MANIFEST_FILE, manifest_src),
        findings: Vec::new(),
        skipped: BTreeMap::new(),
        not_applicable: BTreeMap::new(),
        facts: Facts::default(),
        snapshot: None,
    };
    // One read of the sources and the artifact: the bytes hashed (digests,
    // `artifact.sha256`, the approvals' binding) are the bytes checked and run.
    run.snapshot = module.snapshot().ok();
    let digest = run
        .snapshot
        .as_ref()
        .map(anrf_format::ModuleSnapshot::content_digest);
    let code_digest = run.snapshot.as_ref().map_or_else(
        || ContentDigest::of(b"anrf-verify: module files missing"),
        anrf_format::ModuleSnapshot::code_digest,
    );
    let resolution = anrf_policy::resolve(&ResolveInput {
        project: options.policy,
        profile: options.profile,
        now: options.now,
        module: Some(anrf_policy::ModuleInput {
            manifest: module.manifest(),
            code_digest: &code_digest,
        }),
        cli_grants: &[],
        cli_justification: None,
        user: "",
        revocations: &options.revocations,
    });

    run.capabilities_and_limits(&resolution);
    run.runtime_support(&resolution);
    let artifact = run.artifact();
    run.sources_exist_and_language();
    run.examples_fit_interface();
    run.effects_match_capabilities();
    let functions = run.source(&resolution);
    if run.findings.iter().any(|f| f.id == CheckId::S011) {
        run.skip(
            &[CheckId::M011],
            "a Rust file could not be checked (ANRF-S011), so the functions it defines are unknown",
        );
    } else {
        run.functions_defined(functions.as_ref());
    }
    run.supply_chain();
    let threads = run.wasm(artifact.as_deref(), &resolution);
    run.overrides(&resolution, threads);
    run.memory_safety_declaration();
    run.unused_overrides(&resolution, threads);
    run.tests(artifact.as_deref(), &resolution);

    let Run {
        mut findings,
        skipped,
        not_applicable,
        mut facts,
        ..
    } = run;
    help_from_the_decisions(&mut findings, &resolution, options.profile);
    // The exact command, as the policy engine's fixes give it.
    let request = format!("anrf override request {}", module.name());
    for finding in &mut findings {
        finding.help = finding
            .help
            .replace("anrf override request MODULE", &request);
    }
    findings.sort_by(|a, b| a.id.cmp(&b.id).then_with(|| a.location.cmp(&b.location)));
    facts.overrides.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(Report {
        format: REPORT_FORMAT,
        verifier: VERIFIER.to_owned(),
        module: module.name().to_owned(),
        digest: digest.map(|d| d.to_string()),
        policy: options.policy.origin().to_owned(),
        policy_digest: options.policy.digest().to_string(),
        profile: options.profile,
        checks: outcomes(&findings, &skipped, &not_applicable),
        findings,
        facts,
    })
}

/// `ANRF-S011` for a Rust file the source checks could not read.
fn unreadable_source(file: &str, err: &ReadError, limit: u64) -> Finding {
    let (why, help) = match err {
        ReadError::NotUtf8 { .. } => (
            "it is not UTF-8, so it is not Rust source".to_owned(),
            "save the file as UTF-8".to_owned(),
        ),
        ReadError::TooLarge { .. } if limit < budget::SOURCE_BYTES => (
            format!(
                "the module's Rust sources exceed {} MiB in total",
                budget::SOURCES_TOTAL_BYTES / (1024 * 1024)
            ),
            "split the module; a guest of this size cannot be reviewed".to_owned(),
        ),
        ReadError::TooLarge { .. } => (
            format!(
                "it is larger than {} MiB",
                budget::SOURCE_BYTES / (1024 * 1024)
            ),
            "split the file into modules of at most 1 MiB each".to_owned(),
        ),
        ReadError::Symlink { .. } => (
            "it is a symbolic link, which the verifier does not follow".to_owned(),
            "replace the link with the file itself".to_owned(),
        ),
        ReadError::NotRegular { .. } => (
            format!("it is not a regular file ({err})"),
            "replace it with a regular file".to_owned(),
        ),
        _ => (
            format!("it could not be read ({err})"),
            "make the file readable".to_owned(),
        ),
    };
    Finding::new(
        CheckId::S011,
        format!("`{file}` was not read: {why}; so its constructs could not be checked"),
    )
    .at(Location::file(file.to_owned()))
    .help(help)
}

struct Run<'m, 'o> {
    module: &'m Module,
    options: &'o VerifyOptions<'o>,
    text: ManifestText,
    findings: Vec<Finding>,
    skipped: BTreeMap<CheckId, String>,
    not_applicable: BTreeMap<CheckId, String>,
    facts: Facts,
    /// The module's sources and artifact as read once, when every one could be.
    snapshot: Option<anrf_format::ModuleSnapshot>,
}

/// The suppression an approved override puts on a finding. Granted without a
/// counted signature means self-approved (only `dev` allows it): the requester
/// is named as the approver and the suppression says so.
fn suppression_of(decision: &OverrideDecision) -> Suppression {
    let self_approved = decision.approvers.is_empty();
    let approvers = if self_approved {
        vec![decision.requested_by.clone()]
    } else {
        decision.approvers.clone()
    };
    Suppression {
        override_id: decision.id.clone(),
        justification: decision.justification.clone(),
        approvers,
        self_approved,
        expires: Some(decision.expires.clone()),
    }
}

impl<'m> Run<'m, '_> {
    fn manifest(&self) -> &'m anrf_format::Manifest {
        self.module.manifest()
    }

    fn at(&self, path: &[Key<'_>]) -> Location {
        self.text.locate(path)
    }

    fn skip(&mut self, ids: &[CheckId], reason: &str) {
        for id in ids {
            self.skipped.entry(*id).or_insert_with(|| reason.to_owned());
        }
    }

    fn not_applicable(&mut self, ids: &[CheckId], reason: &str) {
        for id in ids {
            self.not_applicable
                .entry(*id)
                .or_insert_with(|| reason.to_owned());
        }
    }

    fn skip_family(&mut self, family: Family, reason: &str) {
        let ids: Vec<CheckId> = CheckId::ALL
            .iter()
            .copied()
            .filter(|id| id.family() == family)
            .collect();
        self.skip(&ids, reason);
    }

    /// `ANRF-S001`..`S012`: memory safety and capability creep in the sources.
    fn source(&mut self, resolution: &Resolution) -> Option<BTreeSet<String>> {
        let language = self.manifest().implementation.language;
        let sources: Vec<String> = self
            .manifest()
            .implementation
            .sources
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect();
        let memory_ids = [
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
        match language {
            Language::Rust => {
                self.not_applicable(&[CheckId::S012], "the guest is written in Rust");
                let eff = &resolution.effective;
                let mut grants =
                    Grants::none()
                        .env_names(eff.env.iter().map(|n| n.as_str().to_owned()))
                        .dirs(eff.dirs.iter().map(|d| {
                            (d.guest.clone(), d.access == anrf_format::Access::ReadWrite)
                        }));
                if !eff.network.is_empty() {
                    grants = grants.with(Resource::Network);
                }
                let functions = self.rust_sources(&sources, &grants, resolution, &memory_ids);
                Some(functions)
            }
            Language::C => {
                let reason =
                    "C sources are not parsed; the whole module is memory-unsafe (ANRF-S012)";
                self.not_applicable(&memory_ids, reason);
                self.not_applicable(
                    &[CheckId::M013],
                    "the guest is written in C, not built by cargo",
                );
                self.not_applicable(&[CheckId::S011, CheckId::S013], reason);
                self.skip(
                    &[CheckId::S010],
                    "C sources are not parsed for capability use (the sandbox still denies whatever is not granted)",
                );
                for (i, source) in sources.iter().enumerate() {
                    let location = self.at(&[
                        Key::Name("implementation"),
                        Key::Name("sources"),
                        Key::Index(i),
                    ]);
                    let mut finding = Finding::new(
                        CheckId::S012,
                        format!("`{source}` is C, a memory-unsafe language: the sandbox protects the host, not the guest's own memory"),
                    )
                    .at(location);
                    if let Some(d) = resolution.suppression("memory-unsafe", None) {
                        finding.suppression = Some(suppression_of(d));
                    }
                    self.facts.sources_checked.push(source.clone());
                    self.findings.push(finding);
                }
                None
            }
            Language::Wat => {
                let reason = "the guest is hand-written WebAssembly text; the wasm checks cover it";
                self.not_applicable(&memory_ids, reason);
                self.not_applicable(&[CheckId::M013], reason);
                self.not_applicable(
                    &[CheckId::S010, CheckId::S011, CheckId::S012, CheckId::S013],
                    reason,
                );
                None
            }
        }
    }

    /// Scans every Rust file the compiler would compile: the listed sources,
    /// then whatever their `mod` declarations and `include!`s reach (S011 when
    /// a reference cannot be followed), and reports every Rust file that is
    /// compiled or present but not listed (`ANRF-M013`). Returns the functions
    /// defined.
    fn rust_sources(
        &mut self,
        sources: &[String],
        grants: &Grants,
        resolution: &Resolution,
        memory_ids: &[CheckId],
    ) -> BTreeSet<String> {
        /// The most files one module may reach.
        const MAX_FILES: usize = 1000;
        let listed: BTreeSet<&str> = sources.iter().map(String::as_str).collect();
        let mut queue: VecDeque<Unit> = sources
            .iter()
            .filter(|s| Path::new(s.as_str()).extension().is_some_and(|e| e == "rs"))
            .map(|s| Unit::listed(s))
            .collect();
        let mut visited: BTreeSet<String> = BTreeSet::new();
        // Files reached but not listed, with the reference that reached them.
        let mut reached: BTreeMap<String, Location> = BTreeMap::new();
        // Path dependencies are part of the guest (ANRF-S106 when outside it).
        let deps = supply::path_dependencies(self.module.dir());
        self.findings.extend(deps.findings);
        for root in deps.roots {
            if !listed.contains(root.as_str()) {
                reached.insert(root.clone(), Location::file("Cargo.toml"));
            }
            queue.push_back(Unit::listed(&root));
        }
        let mut resolver = source::Resolver::new(grants, deps.crates);
        let mut functions = BTreeSet::new();
        let root = std::fs::canonicalize(self.module.dir()).ok();
        let mut total_left = budget::SOURCES_TOTAL_BYTES;
        while let Some(unit) = queue.pop_front() {
            if visited.contains(&unit.file) {
                continue;
            }
            if visited.len() >= MAX_FILES {
                self.findings.push(
                    Finding::new(
                        CheckId::S011,
                        format!("the sources reach more than {MAX_FILES} Rust files; the rest could not be checked"),
                    )
                    .at(Location::file(unit.file.clone()))
                    .help("split the module; a guest of this size cannot be reviewed"),
                );
                break;
            }
            visited.insert(unit.file.clone());
            let path = self.module.resolve(&unit.file);
            let inside = match (&root, std::fs::canonicalize(&path)) {
                (Some(root), Ok(real)) => real.starts_with(root),
                _ => true,
            };
            if !inside {
                self.findings.push(
                    Finding::new(
                        CheckId::S011,
                        format!("`{}` links to a file outside the module directory; it was not read, so its constructs could not be checked", unit.file),
                    )
                    .at(Location::file(unit.file.clone()))
                    .help("replace the link with the file itself, inside the module; the verifier reads nothing outside the module"),
                );
                continue;
            }
            let limit = budget::SOURCE_BYTES.min(total_left);
            let read = match self.snapshot.as_ref().and_then(|s| s.source(&unit.file)) {
                // A listed source: the bytes the digests hashed.
                Some(bytes) if bytes.len() as u64 > limit => Err(ReadError::TooLarge {
                    path: path.clone(),
                    size: bytes.len() as u64,
                    limit,
                }),
                Some(bytes) => String::from_utf8(bytes.to_vec())
                    .map_err(|_| ReadError::NotUtf8 { path: path.clone() }),
                None => fsread::read_regular_text(&path, limit),
            };
            let text = match read {
                Ok(text) => text,
                // A listed file that is missing, a link or not a regular file is `ANRF-M004`.
                Err(
                    ReadError::NotFound { .. }
                    | ReadError::Symlink { .. }
                    | ReadError::NotRegular { .. },
                ) if listed.contains(unit.file.as_str()) => continue,
                Err(err) => {
                    self.findings
                        .push(unreadable_source(&unit.file, &err, limit));
                    continue;
                }
            };
            total_left -= text.len() as u64;
            let scan = source::check_rust(&unit.file, &text);
            resolver.add(&unit, &scan);
            functions.extend(scan.functions);
            self.facts.sources_checked.push(unit.file.clone());
            for mut finding in scan.findings {
                if memory_ids.contains(&finding.id)
                    && let Some(d) =
                        resolution.suppression("memory-unsafe", finding.function.as_deref())
                {
                    finding.suppression = Some(suppression_of(d));
                }
                self.findings.push(finding);
            }
            for reference in &scan.modules {
                let exists = |file: &str| self.module.resolve(file).is_file();
                let (what, location) = match reference {
                    ModRef::File { name, location, .. } => (format!("`mod {name};`"), location),
                    ModRef::Include { location, .. } => ("`include!`".to_owned(), location),
                };
                match tree::resolve(&unit, reference, exists) {
                    Resolved::Units(units) => {
                        for next in units {
                            if !listed.contains(next.file.as_str()) {
                                reached
                                    .entry(next.file.clone())
                                    .or_insert_with(|| location.clone());
                            }
                            queue.push_back(next);
                        }
                    }
                    Resolved::Missing { tried } => self.findings.push(
                        Finding::new(
                            CheckId::S011,
                            format!(
                                "{what} in `{}` names no file in the module (tried {}), so what it compiles could not be checked",
                                unit.file,
                                tried.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
                            ),
                        )
                        .at(location.clone())
                        .help("add the module's file inside the module directory and list it in `implementation.sources`, or remove the declaration"),
                    ),
                    Resolved::Outside { path } => self.findings.push(
                        Finding::new(
                            CheckId::S011,
                            format!("{what} in `{}` points outside the module directory (`{path}`); the verifier does not read it, so its constructs could not be checked", unit.file),
                        )
                        .at(location.clone())
                        .help("move the file into the module directory, refer to it by a relative path and list it in `implementation.sources`"),
                    ),
                    Resolved::Computed => self.findings.push(
                        Finding::new(
                            CheckId::S011,
                            format!("{what} in `{}` has a computed path (not a string literal), so the included code could not be checked", unit.file),
                        )
                        .at(location.clone())
                        .help("include a file by a literal relative path and list it in `implementation.sources` (code generated into `OUT_DIR` needs a build script, see ANRF-S105)"),
                    ),
                }
            }
        }
        let (found, uses) = resolver.finish();
        self.findings.extend(found);
        self.facts.capability_uses.extend(uses);
        // Every Rust file present or reached that the manifest does not list.
        let mut unlisted: BTreeMap<String, Option<Location>> = reached
            .into_iter()
            .map(|(file, via)| (file, Some(via)))
            .collect();
        for file in tree::rust_files(self.module.dir()) {
            // The guest's own build script is ANRF-S105.
            if file != "build.rs" && !listed.contains(file.as_str()) {
                unlisted.entry(file).or_insert(None);
            }
        }
        for (file, via) in unlisted {
            let why = match via {
                Some(via) => format!("it is compiled into the guest (reached from {via})"),
                None => "cargo may compile it (through a `mod`, `#[path]`, `include!` or a target)"
                    .to_owned(),
            };
            self.findings.push(
                Finding::new(
                    CheckId::M013,
                    format!("`{file}` is not listed in `implementation.sources`, but {why}; unlisted files are not bound into override approvals"),
                )
                .at(Location::file(file.clone()))
                .help(format!("add `\"{file}\"` to `implementation.sources` in `anrf.toml` so it is checked and bound into approvals, or delete the file")),
            );
        }
        functions
    }

    /// `ANRF-S101`..`S105`.
    fn supply_chain(&mut self) {
        let ids = [
            CheckId::S101,
            CheckId::S102,
            CheckId::S103,
            CheckId::S104,
            CheckId::S105,
            CheckId::S106,
        ];
        if self.manifest().implementation.language != Language::Rust {
            self.not_applicable(&ids, "only Rust guests have cargo dependencies");
            return;
        }
        let scan =
            supply::check_dependencies(self.module.dir(), self.options.cargo_home.as_deref());
        if let Some(reason) = scan.skipped {
            self.not_applicable(&ids, &reason);
        }
        self.findings.extend(scan.findings);
        self.facts.dependencies = scan.dependencies;
    }

    /// `ANRF-W001`..`W009`. Returns whether the module uses threads.
    fn wasm(&mut self, artifact: Option<&[u8]>, resolution: &Resolution) -> bool {
        let Some(bytes) = artifact else {
            return false;
        };
        let file = self
            .manifest()
            .implementation
            .artifact
            .as_ref()
            .map_or_else(String::new, |a| a.path.as_str().to_owned());
        let limits = WasmLimits {
            memory_bytes: resolution.effective.limits.memory.bytes(),
            command: true,
        };
        let (findings, facts) = wasm::check_wasm(&file, bytes, limits);
        for mut finding in findings {
            if finding.id == CheckId::W007
                && let Some(d) = resolution.suppression("threads", None)
            {
                finding.suppression = Some(suppression_of(d));
                // Allowed by the policy, but not something this runtime runs.
                self.findings.push(
                    Finding::new(
                        CheckId::M014,
                        "the module uses wasm threads (shared memory or atomics), which this runtime does not enable, so `anrf run` cannot start it",
                    )
                    .at(Location::file(file.clone()))
                    .help("build without the `atomics` target feature; the `threads` override allows threads, but the v1 runtime does not provide them"),
                );
            }
            self.findings.push(finding);
        }
        // W009: the runtime's own measure, under the budgets the policy grants,
        // so `verify` refuses exactly what `anrf run` refuses before compiling.
        let budget = crate::effective::compile_budget(&resolution.effective);
        if let Err(anrf_runtime::RuntimeError::OverBudget { exceeded }) = budget.check_module(bytes)
        {
            let help = crate::effective::over_budget_help(&exceeded, Some(self.module.name()));
            self.findings.push(
                Finding::new(
                    CheckId::W009,
                    format!("`{file}` is over its compile budget, so `anrf run` refuses it before compiling: {exceeded}"),
                )
                .at(Location::file(file.clone()))
                .help(help),
            );
        }
        let threads = facts.as_ref().is_some_and(|f| f.uses_threads);
        self.facts.wasm = facts;
        threads
    }

    /// `ANRF-T001`..`T004`: the examples in the sandbox, only once nothing unsafe blocks.
    fn tests(&mut self, artifact: Option<&[u8]>, resolution: &Resolution) {
        let ids = [CheckId::T001, CheckId::T002, CheckId::T003, CheckId::T004];
        if self.options.examples == Examples::Skip {
            self.skip(&ids, "examples not run (`--no-tests`)");
            return;
        }
        if self.manifest().intent.examples.is_empty() {
            self.skip(&ids, "the intent has no examples");
            return;
        }
        let unsafe_findings = self
            .findings
            .iter()
            .filter(|f| {
                !f.is_suppressed() && f.severity == Severity::Error && f.id.gate() == Gate::Safety
            })
            .count();
        if unsafe_findings > 0 {
            self.skip(
                &ids,
                &format!("not run: {unsafe_findings} safety finding(s) must be fixed before anything runs"),
            );
            return;
        }
        let Some(bytes) = artifact else {
            self.skip(&ids, "no artifact to run");
            return;
        };
        if self.findings.iter().any(|f| f.id == CheckId::W008) {
            self.skip(
                &ids,
                "not run: the artifact has no `_start` entry point (ANRF-W008)",
            );
            return;
        }
        let examples = self.manifest().intent.examples.clone();
        let locations: Vec<Location> = (0..examples.len())
            .map(|i| {
                self.at(&[
                    Key::Name("intent"),
                    Key::Name("examples"),
                    Key::Index(i),
                    Key::Name("name"),
                ])
            })
            .collect();
        let (findings, facts) = examples::run_examples(
            self.module,
            bytes,
            &examples,
            &locations,
            &resolution.effective,
            self.options,
        );
        self.findings.extend(findings);
        self.facts.examples = facts;
    }
}

/// A finding whose generic fix ("grant it", "request an override") is not
/// what is missing when the manifest already declares the capability, or an
/// override for it already exists: then the fix is the policy decision's own
/// (the approval it lacks, with its id). Suppressed findings keep theirs.
fn help_from_the_decisions(
    findings: &mut [Finding],
    resolution: &anrf_policy::Resolution,
    profile: anrf_format::Profile,
) {
    use CheckId as C;
    for finding in findings.iter_mut().filter(|f| f.suppression.is_none()) {
        let help = match finding.id {
            C::S010 => {
                let prefix = if finding.message.contains("the file system") {
                    "dir "
                } else if finding.message.contains("environment variable") {
                    "env "
                } else if finding.message.contains("network") {
                    "network "
                } else {
                    continue;
                };
                resolution
                    .refused()
                    .find(|i| i.subject.starts_with(prefix))
                    .and_then(|item| {
                        Some(format!(
                            "the manifest declares `{}`, but it is not granted under `{profile}`: {}",
                            item.subject,
                            item.fix.as_deref()?
                        ))
                    })
            }
            C::S001 | C::S002 | C::S003 | C::S004 | C::S005 | C::S006 | C::S007 | C::S008
            | C::S009 | C::S012 => resolution
                .overrides
                .iter()
                .filter(|d| d.kind == "memory-unsafe" && !d.is_granted())
                .find(|d| match d.scope.strip_prefix("function:") {
                    Some(name) => finding.function.as_deref() == Some(name),
                    None => true,
                })
                .and_then(|d| {
                    Some(format!(
                        "the `memory-unsafe` override `{}` (scope `{}`) exists but does not hold under `{profile}`: {}",
                        d.id,
                        d.scope,
                        d.fix.as_deref()?
                    ))
                }),
            _ => None,
        };
        if let Some(help) = help {
            finding.help = help;
        }
    }
}
