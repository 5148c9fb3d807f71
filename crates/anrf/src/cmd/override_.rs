//! `anrf override`: request, approve, revoke, list and show overrides.
//!
//! Requests are written into the module's manifest (`[[security.overrides]]`, with
//! the capability declared in `[security]` when missing) — or, for `--scope
//! project`, into the project policy's `[[overrides]]` — and indexed under
//! `$ANRF_HOME/overrides/<id>.toml`, so `approve ID` finds the module. Approvals
//! are checked (trusted key, role, Cedar rules, no self-approval outside `dev`)
//! before anything is signed. Every step is recorded in the audit log.
//!
//! Also the loaders the `run`, `verify` and `explain` commands use:
//! [`load_revocations`] and [`resolve_module`], and (from [`crate::policy_file`],
//! where the project policy is found and read as trusted) [`load_project_policy`].
//!
//! The index keeps one record per module and override id
//! (`<id>.<module>.toml`), so revoking one module's `ovr-…` never touches
//! another module's override with the same id; a record from before (`<id>.toml`)
//! is still read, and one without a module revokes by id alone.

use std::path::{Path, PathBuf};

use anrf_audit::{Decision, EventKind, NewEvent, Requirement};
use anrf_format::{Manifest, Module, Override, Profile, Relaxation, Revocation, Scope};
use anrf_policy::{
    ApproveAs, CliGrant, IndexRecord, ManifestEdit, ModuleInput, NewOverride, OffsetDateTime,
    OverrideContext, OverrideDecision, POLICY_FILE, ProjectPolicy, Resolution, ResolveInput,
    RevocationNotice, RevokedEntry, Subject, Verdict,
};
use clap::{Args, Subcommand};
use miette::{IntoDiagnostic as _, WrapErr as _};

use crate::exit::Finish;
use crate::out;

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  anrf override request hello --allow-read data/ --justification \"reads the bundled word list\"\n  anrf override approve ovr-1a2b3c4d5e6f7a8b --key keys/bob.key --profile prod\n  anrf override list hello --profile prod"
)]
pub(crate) struct OverrideArgs {
    #[command(subcommand)]
    command: OverrideCommand,
}

#[derive(Debug, Subcommand)]
enum OverrideCommand {
    /// Ask for a relaxation: writes it into the manifest, unapproved
    Request(RequestArgs),
    /// Sign an override with an approver key (checked against the project policy first)
    Approve(ApproveArgs),
    /// Revoke an override: it grants nothing from now on
    Revoke(RevokeArgs),
    /// List a module's overrides and whether each holds under a profile
    List(ListArgs),
    /// Show one override: its approvals and the reasons it holds or not
    Show(ShowArgs),
    /// What a module still needs under a profile: which overrides do not hold and who may approve them
    Status(StatusArgs),
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  anrf override status hello --profile prod\n\n\
Exit status: 0 everything the module asks for holds, 1 something is missing (each\n\
missing piece is named with the command that supplies it), 2 usage error."
)]
struct StatusArgs {
    /// Module directory or its `anrf.toml`.
    module: PathBuf,
    #[arg(long, value_enum, default_value = "prod")]
    profile: Profile,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Examples:\n  anrf override request hello --allow-read data --justification \"reads the bundled stop-word list\"\n  anrf override request hello --raise memory=256MiB --expires 2027-03-31 \\\n      --justification \"parses 150MB CSV exports in memory for the monthly report\"\n  anrf override request cparse --memory-unsafe --scope function:parse_header \\\n      --justification \"legacy C header parser, fuzzed nightly, not yet ported\"\n\n\
Exit status: 0 requested, 1 refused by policy (the reason is printed), 2 usage error."
)]
#[allow(
    clippy::struct_excessive_bools,
    reason = "each bool is an independent command-line flag"
)]
struct RequestArgs {
    /// Module directory or its `anrf.toml`.
    module: PathBuf,
    /// Read a directory (relative to the module).
    #[arg(long = "allow-read", value_name = "DIR")]
    allow_read: Vec<String>,
    /// Read and write a directory (relative to the module).
    #[arg(long = "allow-write", value_name = "DIR")]
    allow_write: Vec<String>,
    /// Read an environment variable.
    #[arg(long = "allow-env", value_name = "NAME")]
    allow_env: Vec<String>,
    /// Raise a limit above its default (`memory=256MiB`, `timeout=30s`) or a
    /// compile budget (`functions=30000`, `code-bytes=32MiB`; docs/runtime.md).
    #[arg(long = "raise", value_name = "LIMIT=VALUE")]
    raise: Vec<String>,
    /// Reach a network host (the v1 runtime has no sockets yet).
    #[arg(long = "allow-network", value_name = "HOST")]
    allow_network: Vec<String>,
    /// Shared memory and atomics.
    #[arg(long)]
    threads: bool,
    /// The guest's memory safety rests on the sandbox alone (C, `unsafe` Rust).
    #[arg(long = "memory-unsafe")]
    memory_unsafe: bool,
    /// `module` (default), `function:NAME` (a function in `logic.functions`), or
    /// `project` (every module: written into anrf-policy.toml's `[[overrides]]`).
    #[arg(long, default_value = "module")]
    scope: String,
    /// Why the module needs it and why the secure default does not work.
    #[arg(long)]
    justification: Option<String>,
    /// Last valid day, `YYYY-MM-DD` (UTC) [default: 90 days from today].
    #[arg(long)]
    expires: Option<String>,
    /// Who asks [default: `$USER`].
    #[arg(long = "as", value_name = "NAME")]
    requested_by: Option<String>,
    /// Print the new override(s) as JSON.
    #[arg(long)]
    json: bool,
    /// Print only the new override ids, one per line (for `id=$(...)`).
    #[arg(short, long, conflicts_with = "json")]
    quiet: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  anrf override approve ovr-1a2b3c4d5e6f7a8b --key keys/bob.key --profile prod\n\n\
The key must belong to a trusted approver of anrf-policy.toml whom its Cedar rules\n\
authorize; the requester may approve their own override only in `dev`.\n\
Exit status: 0 approved, 1 refused by policy (the reason is printed), 2 usage error."
)]
struct ApproveArgs {
    /// The override id (`ovr-...`).
    id: String,
    /// The approver's private key file (from `anrf key gen`), or the approver's
    /// name for the key `anrf key gen NAME` wrote (`$ANRF_HOME/keys/NAME.key`).
    #[arg(long, value_name = "FILE|NAME")]
    key: PathBuf,
    /// The role to sign under [default: the first of the approver's roles the rules permit].
    #[arg(long)]
    role: Option<String>,
    /// The profile the approval is for (it also counts in weaker profiles).
    #[arg(long, value_enum, default_value = "prod")]
    profile: Profile,
    /// The module, when the override is not in this machine's index.
    #[arg(long)]
    module: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  anrf override revoke ovr-1a2b3c4d5e6f7a8b --reason \"the word list now ships inside the module\""
)]
struct RevokeArgs {
    id: String,
    /// Why it is revoked.
    #[arg(long)]
    reason: String,
    /// Who revokes [default: `$USER`].
    #[arg(long = "as", value_name = "NAME")]
    by: Option<String>,
    #[arg(long)]
    module: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Example:\n  anrf override list hello --profile prod\n  anrf override list --json"
)]
struct ListArgs {
    /// Module directory [default: every module in this machine's index].
    module: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "dev")]
    profile: Profile,
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
#[command(after_help = "Example:\n  anrf override show ovr-1a2b3c4d5e6f7a8b --profile prod --json")]
struct ShowArgs {
    id: String,
    #[arg(long, value_enum, default_value = "dev")]
    profile: Profile,
    #[arg(long)]
    module: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

pub(crate) fn exec(args: OverrideArgs) -> miette::Result<Finish> {
    match args.command {
        OverrideCommand::Request(a) => request(&a),
        OverrideCommand::Approve(a) => approve(&a),
        OverrideCommand::Revoke(a) => revoke(&a),
        OverrideCommand::List(a) => list(&a),
        OverrideCommand::Show(a) => show(&a),
        OverrideCommand::Status(a) => status(&a),
    }
}

// ------------------------------------------------------------ shared loaders

// The project policy is found and read by `crate::policy_file`; these names
// stay so that `run` and `verify` reach it as before.
use crate::policy_file::{compile_policy, read_policy_text};
pub(crate) use crate::policy_file::{find_policy_file, load_policy_file, load_project_policy};

/// Revocations recorded in `$ANRF_HOME/overrides`.
pub(crate) fn load_revocations() -> miette::Result<Vec<RevocationNotice>> {
    Ok(index_records()?
        .iter()
        .filter_map(|(_, r)| r.revocation())
        .collect())
}

/// The effective policy of a run or check of `module` under `profile`, with the
/// command-line grants (refused outside `dev`) and the time now.
pub(crate) fn resolve_module(
    module: &Module,
    profile: Profile,
    cli_grants: &[CliGrant],
    justification: Option<&str>,
) -> miette::Result<Resolution> {
    let project = load_project_policy(module.dir())?;
    let digest = module.code_digest()?;
    let revocations = load_revocations()?;
    let user = anrf_audit::local_actor();
    Ok(anrf_policy::resolve(&ResolveInput {
        project: &project,
        profile,
        now: OffsetDateTime::now_utc(),
        module: Some(ModuleInput {
            manifest: module.manifest(),
            code_digest: &digest,
        }),
        cli_grants,
        cli_justification: justification,
        user: &user,
        revocations: &revocations,
    }))
}

/// Records a policy event, best effort in `dev`, required otherwise; a
/// checked append refuses a log under another key than the one `pinned`
/// (the project policy's `[audit] public_key`) names.
pub(crate) fn audit(
    event: &NewEvent,
    profile: Profile,
    pinned: Option<&str>,
) -> miette::Result<()> {
    let dir = crate::home::anrf_home()?.join("audit");
    let requirement = if profile == Profile::Dev {
        Requirement::BestEffort
    } else {
        Requirement::Required
    };
    let options = anrf_audit::LogOptions::new().pinned_key(pinned).clone();
    match anrf_audit::record_with(&options, &dir, event, requirement) {
        Ok(anrf_audit::Recorded::Appended(_)) => Ok(()),
        Ok(anrf_audit::Recorded::Skipped(e)) => {
            eprintln!("warning: not recorded in the audit log: {e}");
            Ok(())
        }
        Err(e) => Err(miette::miette!("{e}")),
    }
}

/// The most bytes read from a manifest being edited or an index record.
const MAX_EDIT_BYTES: u64 = 1 << 20;

/// A bounded read of a regular file (a manifest to edit, an index record).
fn read_text(path: &Path) -> miette::Result<String> {
    anrf_format::fsread::read_regular_text(path, MAX_EDIT_BYTES)
        .map_err(|e| miette::miette!("cannot read `{}`: {e}", path.display()))
}

fn index_dir() -> miette::Result<PathBuf> {
    Ok(crate::home::anrf_home()?.join("overrides"))
}

/// Every index record, with the file it was read from.
fn index_records() -> miette::Result<Vec<(PathBuf, IndexRecord)>> {
    let dir = index_dir()?;
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut records = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let text = read_text(&path)?;
        let record = IndexRecord::parse(&text, &path.display().to_string())
            .map_err(|e| miette::miette!("{e}"))?;
        records.push((path, record));
    }
    records.sort_by(|a, b| (&a.1.id, &a.1.module).cmp(&(&b.1.id, &b.1.module)));
    Ok(records)
}

/// The index records of override `id` (one per module that has an override
/// with this id), with their files.
fn read_index(id: &str) -> miette::Result<Vec<(PathBuf, IndexRecord)>> {
    Ok(index_records()?
        .into_iter()
        .filter(|(_, r)| r.id == id)
        .collect())
}

/// Writes `record` back to the file it was read from, or to its own file
/// ([`IndexRecord::file_name`]: keyed by module and id) when new.
fn write_index(record: &IndexRecord, from: Option<&Path>) -> miette::Result<()> {
    let dir = index_dir()?;
    std::fs::create_dir_all(&dir)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot create `{}`", dir.display()))?;
    let path = from.map_or_else(|| dir.join(record.file_name()), Path::to_path_buf);
    let text = record.to_toml().map_err(|e| miette::miette!("{e}"))?;
    std::fs::write(&path, text)
        .into_diagnostic()
        .wrap_err_with(|| format!("cannot write `{}`", path.display()))
}

/// Where an override is written: a module's manifest, or (scope `project`) the
/// project policy file.
enum Holder {
    Module(Box<Module>),
    Project(PathBuf),
}

impl Holder {
    /// `--module DIR`, else the index; module `*` in the index is the policy
    /// file. Returns the index record of this holder's override, if any, and
    /// the file it is kept in.
    fn locate(
        id: &str,
        module: Option<&Path>,
    ) -> miette::Result<(Holder, Option<(PathBuf, IndexRecord)>)> {
        let records = read_index(id)?;
        let holder = match (module, records.as_slice()) {
            (Some(m), _) => Holder::Module(Box::new(Module::load(m)?)),
            (None, [(_, r)]) if r.module == "*" => {
                Holder::Project(PathBuf::from(&r.module_dir).join(POLICY_FILE))
            }
            (None, [(_, r)]) => Holder::Module(Box::new(Module::load(Path::new(&r.module_dir))?)),
            (None, []) => miette::bail!(
                help = "pass the module with `--module DIR`",
                "override `{id}` is not in this machine's index (`$ANRF_HOME/overrides`)"
            ),
            (None, many) => miette::bail!(
                help = "pass the module with `--module DIR`",
                "override `{id}` belongs to {} modules in this machine's index ({}): say which",
                many.len(),
                many.iter()
                    .map(|(_, r)| format!("`{}` in `{}`", r.module, r.module_dir))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        let name = holder.name();
        // This holder's record; a legacy record (no module) when it is the only one.
        let mine = records
            .iter()
            .position(|(_, r)| r.module == name)
            .or_else(|| (records.len() == 1 && records[0].1.module.is_empty()).then_some(0));
        let record = mine.and_then(|i| records.into_iter().nth(i));
        Ok((holder, record))
    }

    /// The module name, or `*` for the project.
    fn name(&self) -> String {
        match self {
            Holder::Module(m) => m.name().to_owned(),
            Holder::Project(_) => "*".to_owned(),
        }
    }

    fn file(&self) -> &Path {
        match self {
            Holder::Module(m) => m.manifest_path(),
            Holder::Project(p) => p,
        }
    }

    fn dir(&self) -> PathBuf {
        let dir = match self {
            Holder::Module(m) => m.dir(),
            Holder::Project(p) => p.parent().unwrap_or(Path::new(".")),
        };
        std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf())
    }

    fn policy(&self) -> miette::Result<ProjectPolicy> {
        match self {
            Holder::Module(m) => load_project_policy(m.dir()),
            Holder::Project(p) => load_policy_file(p),
        }
    }

    fn overrides(&self) -> miette::Result<Vec<Override>> {
        Ok(match self {
            Holder::Module(m) => m.manifest().security.overrides.clone(),
            Holder::Project(_) => self.policy()?.overrides().to_vec(),
        })
    }

    fn find(&self, id: &str) -> miette::Result<Override> {
        self.overrides()?
            .into_iter()
            .find(|o| o.id.as_str() == id)
            .ok_or_else(|| miette::miette!("no override `{id}` in `{}`", self.file().display()))
    }

    /// What approvals bind to: the module's code and security section, or the
    /// project ([`Subject::binding`]).
    fn subject(&self) -> miette::Result<Subject> {
        Ok(match self {
            Holder::Module(m) => {
                Subject::module(m.name(), m.code_digest()?, &m.manifest().security)
            }
            Holder::Project(_) => Subject::project(),
        })
    }

    fn functions(&self) -> Vec<String> {
        match self {
            Holder::Module(m) => m.manifest().logic.functions.clone(),
            Holder::Project(_) => Vec::new(),
        }
    }

    fn text(&self) -> miette::Result<String> {
        match self {
            Holder::Module(_) => read_text(self.file()),
            Holder::Project(p) => read_policy_text(p),
        }
    }

    /// Writes the edited file back after checking that it still parses.
    fn write(&self, text: &str) -> miette::Result<()> {
        let path = self.file();
        match self {
            Holder::Module(_) => {
                Manifest::from_str(text, &path.display().to_string())
                    .wrap_err("the edited manifest does not parse; it was not written")?;
            }
            Holder::Project(p) => {
                compile_policy(p, text)
                    .wrap_err("the edited project policy does not parse; it was not written")?;
            }
        }
        std::fs::write(path, text)
            .into_diagnostic()
            .wrap_err_with(|| format!("cannot write `{}`", path.display()))
    }

    /// Re-reads the holder after a write.
    fn reload(&self) -> miette::Result<Holder> {
        Ok(match self {
            Holder::Module(m) => Holder::Module(Box::new(Module::load(m.manifest_path())?)),
            Holder::Project(p) => Holder::Project(p.clone()),
        })
    }

    fn decide(
        &self,
        ovr: &Override,
        profile: Profile,
        policy: &ProjectPolicy,
    ) -> miette::Result<OverrideDecision> {
        let subject = self.subject()?;
        let functions = self.functions();
        let revocations = load_revocations()?;
        Ok(anrf_policy::check_override(
            ovr,
            &OverrideContext {
                project: policy,
                profile,
                now: OffsetDateTime::now_utc(),
                subject: &subject,
                functions: &functions,
                revocations: &revocations,
            },
        ))
    }
}

#[expect(clippy::needless_pass_by_value, reason = "a `map_err` adapter")]
fn edit_err(e: anrf_policy::PolicyError) -> miette::Report {
    miette::miette!("{e}")
}

// ------------------------------------------------------------------ request

fn relaxations(args: &RequestArgs) -> miette::Result<Vec<Relaxation>> {
    let mut out = Vec::new();
    let parse = |s: String| s.parse::<Relaxation>().map_err(|e| miette::miette!("{e}"));
    for d in &args.allow_read {
        out.push(parse(format!("allow-read:{}", d.trim_end_matches('/')))?);
    }
    for d in &args.allow_write {
        out.push(parse(format!("allow-write:{}", d.trim_end_matches('/')))?);
    }
    for n in &args.allow_env {
        out.push(parse(format!("allow-env:{n}"))?);
    }
    for r in &args.raise {
        out.push(parse(format!("raise:{r}"))?);
    }
    for h in &args.allow_network {
        out.push(parse(format!("allow-network:{h}"))?);
    }
    if args.threads {
        out.push(Relaxation::Threads);
    }
    if args.memory_unsafe {
        out.push(Relaxation::MemoryUnsafe);
    }
    if out.is_empty() {
        miette::bail!(
            help = "e.g. `--allow-read data`, `--allow-env NAME`, `--raise memory=256MiB`, `--memory-unsafe`",
            "nothing to request: name at least one relaxation"
        );
    }
    Ok(out)
}

/// Refuses what could never be used: a directory that does not exist beside
/// the module, and a capability or limit scoped to one function (the sandbox
/// grants those to the whole run, so it would be accepted and grant nothing).
fn refuse_unusable(module: &Module, scope: &Scope, wanted: &[Relaxation]) -> miette::Result<()> {
    for relaxes in wanted {
        if let Scope::Function(name) = scope
            && *relaxes != Relaxation::MemoryUnsafe
        {
            miette::bail!(
                help = format!(
                    "request it for the whole module: anrf override request {} {} --justification \"...\"",
                    module.dir().display(),
                    anrf_policy::request_flag(relaxes)
                ),
                "`{relaxes}` cannot be scoped to `function:{name}`: a run executes the whole module and the sandbox grants capabilities, limits and threads to all of it; only `memory-unsafe` can be scoped to a function"
            );
        }
        if let Relaxation::AllowRead(dir) | Relaxation::AllowWrite(dir) = relaxes {
            let path = module.dir().join(dir.as_str());
            match std::fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => miette::bail!(
                    help = "grant a real directory inside the module (not a file or a link)",
                    "`{}` is not a directory",
                    path.display()
                ),
                Err(_) => miette::bail!(
                    help = format!("create it first: mkdir -p {}", path.display()),
                    "the directory `{}` does not exist, so granting it would grant nothing",
                    path.display()
                ),
            }
        }
    }
    Ok(())
}

fn request(args: &RequestArgs) -> miette::Result<Finish> {
    let wanted = relaxations(args)?;
    // A manifest that is invalid only until what is asked for is declared
    // (an example setting the variable requested) is checked as it will be.
    let module = match Module::load(&args.module) {
        Ok(module) => module,
        Err(first) => Module::load_edited(&args.module, &|text| {
            let mut text = text.to_owned();
            for relaxes in &wanted {
                text = anrf_policy::declare(&text, relaxes, "anrf.toml").ok()?.0;
            }
            Some(text)
        })
        .map_err(|_| first)?,
    };
    let scope: Scope = args.scope.parse().map_err(|e| miette::miette!("{e}"))?;
    // A project-scoped override lives in the project policy file.
    let holder = if scope == Scope::Project {
        let Some(path) = find_policy_file(module.dir()) else {
            miette::bail!(
                help = "create anrf-policy.toml at the project root (see docs/policy.md), or use `--scope module`",
                "`--scope project` overrides live in the project policy, and `{}` has none above it",
                module.dir().display()
            );
        };
        Holder::Project(path)
    } else {
        Holder::Module(Box::new(module.clone()))
    };
    let project = holder.policy()?;
    let expires = args
        .expires
        .as_deref()
        .map(anrf_policy::parse_date)
        .transpose()
        .map_err(|e| miette::miette!("invalid `--expires`: {e}"))?;
    let requested_by = args
        .requested_by
        .clone()
        .unwrap_or_else(anrf_audit::local_actor);
    let justification = args.justification.clone().unwrap_or_default();
    let now = OffsetDateTime::now_utc();

    // Decide every relaxation before writing anything.
    let mut created = Vec::new();
    for relaxes in &wanted {
        let new = NewOverride {
            module: module.name(),
            functions: &module.manifest().logic.functions,
            scope: scope.clone(),
            relaxes: relaxes.clone(),
            justification: &justification,
            requested_by: &requested_by,
            expires,
            now,
        };
        match anrf_policy::new_override(&new, &project) {
            Ok(o) => created.push(o),
            Err(refused) => {
                let event = NewEvent::new(
                    EventKind::OverrideRequest,
                    &requested_by,
                    module.name(),
                    Decision::Deny,
                )
                .with_details(serde_json::json!({
                    "module": module.name(), "relaxes": relaxes.to_string(), "scope": scope.to_string(),
                    "refusal": refused.refusal.code(), "reason": refused.message,
                }));
                audit(&event, Profile::Dev, project.audit_public_key())?;
                return Ok(Finish::Refused(crate::exit::Refusal {
                    code: refused.refusal.code().to_owned(),
                    message: format!(
                        "`{relaxes}` for module `{}`: {}",
                        module.name(),
                        refused.message
                    ),
                    help: None,
                }));
            }
        }
    }

    refuse_unusable(&module, &scope, &wanted)?;

    // Declare what the module needs in its manifest; write the overrides where they live.
    let origin = module.manifest_path().display().to_string();
    let mut manifest_text = read_text(module.manifest_path())?;
    let mut declared = Vec::new();
    for o in &created {
        let (t, edit) =
            anrf_policy::declare(&manifest_text, &o.relaxes, &origin).map_err(edit_err)?;
        if let ManifestEdit::Declared(what) = edit {
            declared.push(what);
        }
        manifest_text = t;
    }
    let holder_origin = holder.file().display().to_string();
    let mut holder_text = match &holder {
        Holder::Module(_) => manifest_text.clone(),
        Holder::Project(_) => holder.text()?,
    };
    for o in &created {
        holder_text =
            anrf_policy::add_override(&holder_text, o, &holder_origin).map_err(edit_err)?;
    }
    match &holder {
        Holder::Module(_) => holder.write(&holder_text)?,
        Holder::Project(_) => {
            holder.write(&holder_text)?;
            if !declared.is_empty() {
                Holder::Module(Box::new(module.clone())).write(&manifest_text)?;
            }
        }
    }
    let requested_at = anrf_policy::format_time(now).map_err(edit_err)?;
    for o in &created {
        write_index(
            &IndexRecord {
                id: o.id.as_str().to_owned(),
                module: holder.name(),
                module_dir: holder.dir().display().to_string(),
                relaxes: o.relaxes.to_string(),
                scope: o.scope.to_string(),
                requested_by: requested_by.clone(),
                requested_at: requested_at.clone(),
                expires: o.expires.to_string(),
                revoked: None,
            },
            None,
        )?;
        let event = NewEvent::new(
            EventKind::OverrideRequest,
            &requested_by,
            o.id.as_str(),
            Decision::Info,
        )
        .with_details(serde_json::json!({
            "module": holder.name(), "relaxes": o.relaxes.to_string(), "scope": o.scope.to_string(),
            "justification": o.justification.as_str(), "expires": o.expires.to_string(),
            "file": holder_origin,
        }));
        audit(&event, Profile::Dev, project.audit_public_key())?;
    }

    if args.json {
        let out: Vec<_> = created
            .iter()
            .map(|o| {
                serde_json::json!({
                    "id": o.id.as_str(), "module": holder.name(), "relaxes": o.relaxes.to_string(),
                    "scope": o.scope.to_string(), "requested_by": o.requested_by, "expires": o.expires.to_string(),
                    "file": holder_origin,
                })
            })
            .collect();
        out::outln!("{}", serde_json::Value::Array(out))?;
        return Ok(Finish::Code(0));
    }
    if args.quiet {
        for o in &created {
            out::outln!("{}", o.id)?;
        }
        return Ok(Finish::Code(0));
    }
    for o in &created {
        out::outln!(
            "requested {} in {}: `{}` at scope `{}`, expires end of {}",
            o.id,
            holder_origin,
            o.relaxes,
            o.scope,
            o.expires
        )?;
    }
    for d in &declared {
        out::outln!("declared {d} in {origin}")?;
    }
    if project.is_builtin() {
        out::outln!(
            "note: no {POLICY_FILE} above `{}`: under the built-in policy this holds in `dev` only (self-approved); add trusted approvers to allow `test` and `prod` (see docs/policy.md)",
            module.dir().display()
        )?;
    }
    out::outln!()?;
    let shown = module.dir().display();
    if project.is_builtin() {
        out::outln!("Next: it holds in `dev` now (self-approved, justified):")?;
        out::outln!("  anrf run {shown}")?;
        out::outln!("For `test` and `prod`, name the approvers in a project policy:")?;
        out::outln!("  anrf policy init --approver NAME --key keys/NAME.pub")?;
        return Ok(Finish::Code(0));
    }
    out::outln!("Next: an approver signs it (`prod` approvals count in `test` and `dev` too):")?;
    for o in &created {
        let who = anrf_policy::candidates(o, &holder.name(), &project, Profile::Prod, &[]);
        let key = who
            .first()
            .map_or_else(|| "APPROVER.key".to_owned(), |c| c.approver.clone());
        out::outln!(
            "  anrf override approve {} --key {key} --profile prod",
            o.id
        )?;
        if !who.is_empty() {
            let names: Vec<String> = who
                .iter()
                .map(|c| format!("{} ({})", c.approver, c.role))
                .collect();
            out::outln!("    may approve in `prod`: {}", names.join(", "))?;
        }
    }
    out::outln!("What is still missing: anrf override status {shown} --profile prod")?;
    Ok(Finish::Code(0))
}

// ------------------------------------------------------------------ approve

fn approve(args: &ApproveArgs) -> miette::Result<Finish> {
    let (holder, record) = Holder::locate(&args.id, args.module.as_deref())?;
    let ovr = holder.find(&args.id)?;
    let project = holder.policy()?;
    let key = super::key::read_secret_key(&super::key::key_path(&args.key)?)?;
    let subject = holder.subject()?;
    let now = OffsetDateTime::now_utc();
    let actor = project
        .approver_by_key(&key.public_key())
        .map_or_else(|| key.public_key().to_string(), |a| a.name.clone());
    let who = ApproveAs {
        key: &key,
        role: args.role.as_deref(),
        profile: args.profile,
        now,
    };
    let (approval, rules) = match anrf_policy::approve(&ovr, &subject, &project, &who) {
        Ok(ok) => ok,
        Err(refused) => {
            let event = NewEvent::new(
                EventKind::OverrideApprove,
                &actor,
                ovr.id.as_str(),
                Decision::Deny,
            )
            .with_details(serde_json::json!({
                "module": holder.name(), "relaxes": ovr.relaxes.to_string(), "profile": args.profile.as_str(),
                "refusal": refused.refusal.code(), "reason": refused.message, "policy": project.origin(),
            }));
            audit(&event, args.profile, project.audit_public_key())?;
            return Ok(Finish::Refused(crate::exit::Refusal {
                code: refused.refusal.code().to_owned(),
                message: refused.message,
                help: None,
            }));
        }
    };
    // Record first: outside dev an approval that cannot be recorded is not written.
    let event = NewEvent::new(
        EventKind::OverrideApprove,
        &approval.approver,
        ovr.id.as_str(),
        Decision::Allow,
    )
    .with_details(serde_json::json!({
        "module": holder.name(), "relaxes": ovr.relaxes.to_string(), "scope": ovr.scope.to_string(),
        "role": approval.role, "profile": args.profile.as_str(), "cedar_policies": rules,
        "subject_digest": approval.subject_digest.as_str(), "policy_digest": approval.policy_digest.as_str(),
        "public_key": approval.public_key, "signed_at": approval.signed_at,
    }));
    audit(&event, args.profile, project.audit_public_key())?;
    let origin = holder.file().display().to_string();
    let text = anrf_policy::add_approval(&holder.text()?, ovr.id.as_str(), &approval, &origin)
        .map_err(edit_err)?;
    holder.write(&text)?;
    // Found through `--module` only: index it, so the next approver needs
    // only the id.
    if record.is_none() {
        write_index(
            &IndexRecord {
                id: ovr.id.as_str().to_owned(),
                module: holder.name(),
                module_dir: holder.dir().display().to_string(),
                relaxes: ovr.relaxes.to_string(),
                scope: ovr.scope.to_string(),
                requested_by: ovr.requested_by.to_string(),
                requested_at: approval.signed_at.clone(),
                expires: ovr.expires.to_string(),
                revoked: None,
            },
            None,
        )?;
    }

    let reloaded = holder.reload()?;
    let policy = reloaded.policy()?;
    let updated = reloaded.find(&args.id)?;
    let decision = reloaded.decide(&updated, args.profile, &policy)?;
    if args.json {
        let out = serde_json::json!({ "approval": approval, "cedar_policies": rules, "decision": decision });
        out::outln!("{out}")?;
        return Ok(Finish::Code(0));
    }
    out::outln!(
        "approved {} (`{}` on `{}`) as `{}` ({}) for profile `{}`, permitted by Cedar rule(s) {}",
        updated.id,
        updated.relaxes,
        holder.name(),
        approval.approver,
        approval.role,
        args.profile,
        rules.join(", ")
    )?;
    if decision.is_granted() {
        out::outln!(
            "it now holds in `{}`: {} of {} approver(s)",
            args.profile,
            decision.approvers.len(),
            decision.required_approvers
        )?;
    } else {
        out::outln!(
            "it does not hold in `{}` yet: {}",
            args.profile,
            decision.reasons.last().map_or("", String::as_str)
        )?;
    }
    Ok(Finish::Code(0))
}

// ------------------------------------------------------------------- status

fn status(args: &StatusArgs) -> miette::Result<Finish> {
    let module = Module::load(&args.module)?;
    let project = load_project_policy(module.dir())?;
    let resolution = resolve_module(&module, args.profile, &[], None)?;
    let pinned = project.audit_public_key().map(str::to_owned);
    let shown = module.dir().display().to_string();
    let mut overrides = Vec::new();
    for d in &resolution.overrides {
        let own = module
            .manifest()
            .security
            .overrides
            .iter()
            .find(|o| o.id.as_str() == d.id);
        let (holder, ovr) = match own {
            Some(o) => (module.name(), o),
            None => match project.overrides().iter().find(|o| o.id.as_str() == d.id) {
                Some(o) => ("*", o),
                None => continue,
            },
        };
        audit(
            &decision_event("override status", holder, d, args.profile),
            args.profile,
            pinned.as_deref(),
        )?;
        let missing = (d.required_approvers as usize).saturating_sub(d.approvers.len());
        let candidates = if d.is_granted() {
            Vec::new()
        } else {
            anrf_policy::candidates(ovr, holder, &project, args.profile, &d.approvers)
        };
        let next = if d.is_granted() {
            None
        } else if missing > 0
            && d.refusal.is_some_and(|r| {
                matches!(
                    r,
                    anrf_policy::Refusal::Unsigned
                        | anrf_policy::Refusal::TooFewApprovers
                        | anrf_policy::Refusal::SelfApproval
                        | anrf_policy::Refusal::ProfileMismatch
                        | anrf_policy::Refusal::DigestMismatch
                )
            })
        {
            Some(match candidates.first() {
                Some(c) => format!(
                    "anrf override approve {} --key {} --profile {} (the key of `{}`, role `{}`)",
                    d.id,
                    c.approver.clone(),
                    args.profile,
                    c.approver,
                    c.role
                ),
                None => format!(
                    "no approver in `{}` may approve it under `{}`: add one under `[[approvers]]` with a role its Cedar rules permit",
                    project.origin(),
                    args.profile
                ),
            })
        } else {
            d.fix.clone()
        };
        overrides.push(serde_json::json!({
            "id": d.id, "relaxes": d.relaxes, "scope": d.scope, "module": holder,
            "verdict": d.verdict, "refusal": d.refusal.map(anrf_policy::Refusal::code),
            "approvers": d.approvers, "required_approvers": d.required_approvers,
            "missing_approvals": if d.is_granted() { 0 } else { missing.max(1) },
            "candidates": candidates, "reasons": d.reasons, "next": next,
        }));
    }
    let refused: Vec<_> = resolution
        .refused()
        .map(|i| serde_json::json!({ "subject": i.subject, "reasons": i.reasons, "fix": i.fix }))
        .collect();
    let ready = refused.is_empty();
    if args.json {
        out::outln!(
            "{}",
            serde_json::json!({
                "module": module.name(), "profile": args.profile.as_str(), "policy": project.origin(),
                "ready": ready, "overrides": overrides, "refused": refused,
            })
        )?;
        return Ok(Finish::Code(u8::from(!ready)));
    }
    let holding = overrides
        .iter()
        .filter(|o| o["verdict"] == "granted")
        .count();
    out::outln!(
        "`{}` ({shown}) under `{}` with `{}`: {}",
        module.name(),
        args.profile,
        project.origin(),
        if ready {
            "everything it asks for holds".to_owned()
        } else {
            format!("{} thing(s) it asks for are refused", refused.len())
        }
    )?;
    out::outln!("{holding} of {} override(s) hold", overrides.len())?;
    for o in &overrides {
        let text = |k: &str| o[k].as_str().unwrap_or_default().to_owned();
        if o["verdict"] == "granted" {
            let by = o["approvers"].as_array().map_or(0, Vec::len);
            out::outln!(
                "  holds    {} `{}` ({by} approval(s))",
                text("id"),
                text("relaxes")
            )?;
            continue;
        }
        out::outln!(
            "  missing  {} `{}`: {} ({} of {} approval(s))",
            text("id"),
            text("relaxes"),
            o["reasons"]
                .as_array()
                .and_then(|r| r.last())
                .and_then(|r| r.as_str())
                .unwrap_or(""),
            o["approvers"].as_array().map_or(0, Vec::len),
            o["required_approvers"]
        )?;
        if let Some(list) = o["candidates"].as_array().filter(|l| !l.is_empty()) {
            let names: Vec<String> = list
                .iter()
                .map(|c| {
                    format!(
                        "{} ({})",
                        c["approver"].as_str().unwrap_or(""),
                        c["role"].as_str().unwrap_or("")
                    )
                })
                .collect();
            out::outln!("           may approve: {}", names.join(", "))?;
        }
        if let Some(next) = o["next"].as_str() {
            out::outln!("           next: {next}")?;
        }
    }
    for r in &refused {
        out::outln!(
            "  refused  {}{}",
            r["subject"].as_str().unwrap_or(""),
            r["fix"]
                .as_str()
                .map(|f| format!("\n           next: {f}"))
                .unwrap_or_default()
        )?;
    }
    Ok(Finish::Code(u8::from(!ready)))
}

// ------------------------------------------------------------------- revoke

fn revoke(args: &RevokeArgs) -> miette::Result<Finish> {
    let (holder, record) = Holder::locate(&args.id, args.module.as_deref())?;
    let ovr = holder.find(&args.id)?;
    if args.reason.trim().len() < 4 {
        miette::bail!("give a real `--reason` for the revocation");
    }
    let by = args.by.clone().unwrap_or_else(anrf_audit::local_actor);
    let at = anrf_policy::format_time(OffsetDateTime::now_utc()).map_err(edit_err)?;
    let revocation = Revocation {
        by: by.clone(),
        at: at.clone(),
        reason: args.reason.clone(),
    };
    let event = NewEvent::new(
        EventKind::OverrideRevoke,
        &by,
        ovr.id.as_str(),
        Decision::Allow,
    )
    .with_details(serde_json::json!({
        "module": holder.name(), "relaxes": ovr.relaxes.to_string(), "reason": args.reason,
    }));
    // A revocation is never stopped by the policy file: a pin is used when
    // the policy reads, and without it the append is still checked.
    let pinned = holder
        .policy()
        .ok()
        .and_then(|p| p.audit_public_key().map(str::to_owned));
    audit(&event, Profile::Prod, pinned.as_deref())?;
    let (from, record) = record.map_or((None, None), |(p, r)| (Some(p), Some(r)));
    let mut record = record.unwrap_or_else(|| IndexRecord {
        id: ovr.id.as_str().to_owned(),
        module: holder.name(),
        module_dir: holder.dir().display().to_string(),
        relaxes: ovr.relaxes.to_string(),
        scope: ovr.scope.to_string(),
        requested_by: ovr.requested_by.to_string(),
        requested_at: String::new(),
        expires: ovr.expires.to_string(),
        revoked: None,
    });
    // A legacy record revoked again is rewritten with its module.
    if record.module.is_empty() {
        record.module = holder.name();
    }
    record.revoked = Some(RevokedEntry {
        by,
        at,
        reason: args.reason.clone(),
    });
    write_index(&record, from.as_deref())?;
    if ovr.revoked.is_none() {
        let origin = holder.file().display().to_string();
        let text = anrf_policy::set_revoked(&holder.text()?, ovr.id.as_str(), &revocation, &origin)
            .map_err(edit_err)?;
        holder.write(&text)?;
    }
    out::outln!(
        "revoked {} (`{}` on `{}`): it grants nothing from now on",
        ovr.id,
        ovr.relaxes,
        holder.name()
    )?;
    Ok(Finish::Code(0))
}

// -------------------------------------------------------------- list, show

fn list(args: &ListArgs) -> miette::Result<Finish> {
    let mut holders: Vec<Holder> = Vec::new();
    if let Some(m) = &args.module {
        let module = Module::load(m)?;
        if let Some(p) = find_policy_file(module.dir()) {
            holders.push(Holder::Project(p));
        }
        holders.push(Holder::Module(Box::new(module)));
    } else {
        let mut seen: Vec<(String, String)> = index_records()?
            .into_iter()
            .map(|(_, r)| (r.module, r.module_dir))
            .collect();
        seen.sort();
        seen.dedup();
        for (module, dir) in seen {
            let holder = if module == "*" {
                Ok(Holder::Project(PathBuf::from(&dir).join(POLICY_FILE)))
            } else {
                Module::load(Path::new(&dir)).map(|m| Holder::Module(Box::new(m)))
            };
            match holder {
                Ok(h) => holders.push(h),
                Err(e) => eprintln!("warning: skipping `{dir}`: {e}"),
            }
        }
    }
    let mut rows = Vec::new();
    for holder in &holders {
        let policy = holder.policy()?;
        let pinned = policy.audit_public_key().map(str::to_owned);
        for ovr in holder.overrides()? {
            let decision = holder.decide(&ovr, args.profile, &policy)?;
            rows.push((holder.name(), decision, pinned.clone()));
        }
    }
    // `list` decides validity now: each decision is recorded.
    for (module, d, pinned) in &rows {
        audit(
            &decision_event("override list", module, d, args.profile),
            args.profile,
            pinned.as_deref(),
        )?;
    }
    if args.json {
        let out: Vec<_> = rows
            .iter()
            .map(|(m, d, _)| serde_json::json!({ "module": m, "profile": args.profile.as_str(), "override": d }))
            .collect();
        out::outln!("{}", serde_json::Value::Array(out))?;
        return Ok(Finish::Code(0));
    }
    if rows.is_empty() {
        out::outln!("no overrides")?;
        return Ok(Finish::Code(0));
    }
    out::outln!(
        "{:<22} {:<14} {:<28} {:<18} {:<10} {:<9} status ({})",
        "id",
        "module",
        "relaxes",
        "scope",
        "expires",
        "approvals",
        args.profile
    )?;
    for (m, d, _) in &rows {
        let status = match (d.verdict, d.refusal) {
            (Verdict::Granted, _) => "granted".to_owned(),
            (Verdict::Refused, Some(r)) => format!("refused: {}", r.code()),
            (Verdict::Refused, None) => "refused".to_owned(),
        };
        out::outln!(
            "{:<22} {:<14} {:<28} {:<18} {:<10} {:<9} {status}",
            d.id,
            m,
            d.relaxes,
            d.scope,
            d.expires,
            format!("{}/{}", d.approvers.len(), d.required_approvers)
        )?;
    }
    Ok(Finish::Code(0))
}

/// The `policy_decision` event of `list` and `show`: they decide whether an
/// override holds now (expiry, revocation, signatures, rules), so the decision
/// is recorded like any other.
fn decision_event(command: &str, module: &str, d: &OverrideDecision, profile: Profile) -> NewEvent {
    let decision = if d.is_granted() {
        Decision::Allow
    } else {
        Decision::Deny
    };
    NewEvent::new(
        EventKind::PolicyDecision,
        anrf_audit::local_actor(),
        d.id.as_str(),
        decision,
    )
    .with_details(serde_json::json!({
        "command": command, "module": module, "profile": profile.as_str(),
        "relaxes": d.relaxes, "scope": d.scope, "expires": d.expires,
        "refusal": d.refusal.map(anrf_policy::Refusal::code), "approvers": d.approvers,
    }))
}

fn show(args: &ShowArgs) -> miette::Result<Finish> {
    let (holder, record) = Holder::locate(&args.id, args.module.as_deref())?;
    let ovr = holder.find(&args.id)?;
    let project = holder.policy()?;
    let decision = holder.decide(&ovr, args.profile, &project)?;
    audit(
        &decision_event("override show", &holder.name(), &decision, args.profile),
        args.profile,
        project.audit_public_key(),
    )?;
    if args.json {
        let out = serde_json::json!({
            "module": holder.name(),
            "file": holder.file().display().to_string(),
            "policy": project.origin(),
            "profile": args.profile.as_str(),
            "override": ovr,
            "decision": decision,
            "index": record,
        });
        out::outln!("{out}")?;
        return Ok(Finish::Code(0));
    }
    out::outln!(
        "override {} on `{}` ({})",
        ovr.id,
        holder.name(),
        holder.file().display()
    )?;
    out::outln!("  relaxes:       {}", ovr.relaxes)?;
    out::outln!("  scope:         {}", ovr.scope)?;
    out::outln!("  justification: {}", ovr.justification.as_str())?;
    out::outln!("  requested by:  {}", ovr.requested_by)?;
    out::outln!("  expires:       end of {} (UTC)", ovr.expires)?;
    out::outln!("  approvals:     {}", ovr.approvals.len())?;
    for a in &decision.approvals {
        let status = if a.counted {
            "counts".to_owned()
        } else {
            format!("ignored: {}", a.refusal.map_or("", |r| r.code()))
        };
        out::outln!(
            "    - {} as {} for {} at {} ({status})",
            a.approver,
            a.role,
            a.profile,
            a.signed_at
        )?;
    }
    out::outln!("  policy:        {}", project.origin())?;
    let verdict = if decision.is_granted() {
        "GRANTED"
    } else {
        "REFUSED"
    };
    out::outln!("{verdict} in profile `{}`:", args.profile)?;
    for r in &decision.reasons {
        out::outln!("  - {r}")?;
    }
    if let Some(fix) = &decision.fix {
        out::outln!("to allow: {fix}")?;
    }
    Ok(Finish::Code(0))
}
