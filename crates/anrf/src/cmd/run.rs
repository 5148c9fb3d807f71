//! `anrf run`: runs a module, a `.wasm` or a `.wat` in the sandbox.
//!
//! Raw arguments ([`RunArgs`]) become a validated [`Request`]; the effective
//! policy comes from `anrf-policy` and is turned into the runtime's
//! [`RunPolicy`] in one place ([`to_run_policy`]); the [`Outcome`] becomes the
//! exit code of DESIGN.md: the guest's own, `125` when a violation stopped it,
//! `2` for a usage or input error.

use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anrf_audit::{AuditLog, Decision, EventKind, LogOptions, NewEvent, Requirement};
use anrf_format::{ContentDigest, EnvName, Module, Profile, parse_duration, parse_size};
use anrf_policy::{
    CliGrant, EffectiveDir, EffectivePolicy, GrantDecision, HostBase, OffsetDateTime, Resolution,
    ResolveInput,
};
use anrf_runtime::{
    Access, CacheEvent, Capabilities, DirGrant, EngineKind, HostDir, Invocation, Metering,
    ModuleInput, Outcome, RunPolicy, Runtime, RuntimeConfig, WasmBinary,
};
use clap::{Args, ValueEnum};
use miette::{IntoDiagnostic as _, miette};

use crate::exit::{Finish, USAGE};

mod gate;
use gate::Gate;

/// Exit code when a violation stopped the guest (`anrf_runtime::VIOLATION_EXIT_CODE`).
const VIOLATION: u8 = 125;

/// Environment variable naming the AOT cache directory.
pub(crate) const ANRF_CACHE_DIR: &str = "ANRF_CACHE_DIR";

#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
anrf run examples/wordcount < input.txt\n  \
anrf run tool.wasm --json -- --verbose file.txt\n  \
anrf run hello --engine aot --profile prod --timeout 2s\n  \
anrf run hello --allow-read data --justification \"reads its sample CSV from data/\"\n\n\
Exit code: the guest's own when it ran to completion, 125 when a violation stopped it,\n\
2 for a usage or input error.")]
pub(crate) struct RunArgs {
    /// A module directory (or its `anrf.toml`), or a bare `.wasm` / `.wat` file
    /// (which runs with no capabilities and the default limits).
    target: PathBuf,
    /// Execution engine [default: `jit` in dev and test, `aot` in prod].
    #[arg(long, value_enum)]
    engine: Option<EngineArg>,
    /// Enforcement profile.
    #[arg(long, value_enum, default_value_t = Profile::Dev)]
    profile: Profile,
    /// Print one JSON object (status, exit code, output, violations, usage) on stdout.
    #[arg(long)]
    json: bool,
    /// Lower the linear memory limit (bytes or with a unit: `32MiB`).
    #[arg(long, value_name = "SIZE")]
    max_memory: Option<String>,
    /// Lower the wall-clock timeout (milliseconds or with a unit: `2s`).
    #[arg(long, value_name = "DURATION")]
    timeout: Option<String>,
    /// Lower the stdout and the stderr caps (bytes or with a unit: `64KiB`).
    #[arg(long, value_name = "SIZE")]
    max_output: Option<String>,
    /// Lower the instruction budget (fuel units; used with fuel metering).
    #[arg(long, value_name = "N")]
    fuel: Option<u64>,
    /// Directory of the AOT cache [default: `$ANRF_HOME/cache/aot`].
    #[arg(long, value_name = "DIR", env = ANRF_CACHE_DIR)]
    cache_dir: Option<PathBuf>,
    /// Dev only: let the guest read DIR (seen at `/DIR`, or at DIR if absolute).
    #[arg(long = "allow-read", value_name = "DIR")]
    allow_read: Vec<String>,
    /// Dev only: let the guest read and write DIR.
    #[arg(long = "allow-write", value_name = "DIR")]
    allow_write: Vec<String>,
    /// Dev only: pass the host's environment variable NAME.
    #[arg(long = "allow-env", value_name = "NAME")]
    allow_env: Vec<String>,
    /// Dev only: raise a limit above its default or above the manifest
    /// (`timeout=30s`, `memory=256MiB`), or a compile budget (`functions=30000`);
    /// also for a bare `.wasm`/`.wat`, within the project maxima.
    #[arg(long = "raise", value_name = "LIMIT=VALUE")]
    raise: Vec<String>,
    /// Why the `--allow-*` and `--raise` grants are needed (required with them; recorded in the audit log).
    #[arg(long, value_name = "TEXT")]
    justification: Option<String>,
    /// Arguments passed to the guest, after `--`.
    #[arg(last = true, value_name = "GUEST_ARGS")]
    guest_args: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum EngineArg {
    /// The Pulley interpreter.
    Interp,
    /// The Cranelift JIT.
    Jit,
    /// Ahead-of-time native code from the integrity-checked cache.
    Aot,
}

/// The validated request.
#[derive(Debug)]
struct Request {
    source: Source,
    engine: EngineKind,
    metering: Metering,
    profile: Profile,
    json: bool,
    lower: LimitFlags,
    cache_dir: PathBuf,
    grants: Vec<CliGrant>,
    justification: Option<String>,
    guest_args: Vec<String>,
}

#[derive(Debug)]
enum Source {
    Module(Box<Module>),
    Wasm(PathBuf),
    Wat(PathBuf),
}

/// Limits given on the command line; each may only lower the effective one.
#[derive(Debug, Default)]
struct LimitFlags {
    memory: Option<(u64, String)>,
    timeout: Option<(u64, String)>,
    output: Option<(u64, String)>,
    fuel: Option<u64>,
}

pub(crate) fn exec(args: RunArgs) -> miette::Result<Finish> {
    let json = args.json;
    let profile = args.profile;
    let engine = args.engine;
    match run(args) {
        Ok(finish) => Ok(finish),
        Err(report) => {
            if json {
                print_json_error(&report, profile, engine);
            }
            Err(report)
        }
    }
}

fn run(args: RunArgs) -> miette::Result<Finish> {
    let request = validate(args)?;
    // The disk work of the audit log (opening it, the synced commit of the
    // decision) runs on its own thread while this one reads the module,
    // resolves the policy, builds the engine and loads the module. The guest
    // starts only once the decision is committed; the thread has ended when
    // this returns.
    std::thread::scope(|scope| run_in(scope, &request))
}

fn run_in<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    request: &'scope Request,
) -> miette::Result<Finish> {
    let opening = spawn(scope, "anrf-audit", || RunAudit::open(request.profile))?;
    // Read (and for a module, check) what will run before deciding: the
    // decision names the content it was about.
    let (bytes_input, subject, digests) = module_input(&request.source, request.profile)?;
    let start = match &request.source {
        Source::Module(m) => m.dir().to_path_buf(),
        Source::Wasm(_) | Source::Wat(_) => std::env::current_dir().into_diagnostic()?,
    };
    let project = super::override_::load_project_policy(&start)?;
    // The log's key the project pins (`[audit] public_key`): a checked append
    // refuses a log under another key (docs/audit.md).
    let pinned = project.audit_public_key().map(str::to_owned);
    let audit = move || joined(opening).map(|a| a.pinned(pinned.as_deref()));
    let revocations = super::override_::load_revocations()?;
    let code_digest = digests.as_ref().map(|d| &d.code);
    let resolution = match resolve(request, &project, &revocations, code_digest, &subject) {
        Resolved::Granted(resolution) => resolution,
        Resolved::Refused(refused) => {
            return Err(refused.record(audit()?));
        }
    };
    // `prod` runs only what verifies; `test` warns.
    let gate = match (&request.source, &digests) {
        (Source::Module(module), Some(d)) => gate::check(
            module,
            d.content.as_str(),
            &project,
            request.profile,
            &revocations,
        )?,
        _ => Gate::NotChecked,
    };
    match &gate {
        Gate::Blocked { message } => {
            let refused = Refused {
                message: message.clone(),
                event: NewEvent::new(
                    EventKind::PolicyDecision,
                    anrf_audit::local_actor(),
                    subject.clone(),
                    Decision::Deny,
                )
                .with_details(serde_json::json!({
                    "profile": request.profile.as_str(),
                    "engine": request.engine.as_str(),
                    "policy_digest": resolution.policy_digest.as_str(),
                    "verification": gate.detail(),
                })),
            };
            return Err(refused.record(audit()?));
        }
        Gate::Warned { blocking } => eprintln!(
            "anrf: warning: this module does not verify under the `test` profile (`--profile prod` refuses to run what does not verify)\n{}",
            blocking.join("\n")
        ),
        Gate::NotChecked | Gate::Passed { .. } => {}
    }
    let policy = to_run_policy(&resolution.effective, &resolution.cli_grants, request)?;
    let policy = lower_limits(&policy, &request.lower)?;
    // stdin is passed to the guest whole: read it (bounded, and within the
    // run's timeout) before anything is decided or compiled.
    // A person typing at a terminal: the guest reads as they type.
    let stream_stdin = std::io::stdin().is_terminal();
    let stdin = if stream_stdin {
        Vec::new()
    } else {
        read_stdin(MAX_STDIN_BYTES, policy.limits().timeout)?
    };
    let binary = WasmBinary::new(bytes_input).map_err(|e| load_error(request, &e))?;
    let module_digest = binary.digest();

    // The decision is committed while the engine is built and the module loaded.
    let decision = NewEvent::new(
        EventKind::PolicyDecision,
        anrf_audit::local_actor(),
        subject.clone(),
        Decision::Allow,
    )
    .with_details(serde_json::json!({
        "profile": request.profile.as_str(),
        "engine": request.engine.as_str(),
        "module_digest": module_digest,
        "policy_digest": resolution.policy_digest.as_str(),
        "effective": resolution.effective,
        "overrides": granted_overrides(&resolution),
        "cli_grants": resolution.cli_grants,
        "justification": request.justification,
        "verification": gate.detail(),
    }));
    let recording = spawn(scope, "anrf-audit", move || {
        let mut audit = audit()?;
        let recorded = audit.record(&decision);
        Ok((audit, recorded))
    })?;
    let config = RuntimeConfig {
        cache_dir: (request.engine == EngineKind::Aot).then(|| request.cache_dir.clone()),
        metering: Some(request.metering),
        ..RuntimeConfig::default()
    };
    let loaded = Runtime::new(request.engine, config)
        .map_err(|e| miette!("{e}"))
        .and_then(|runtime| {
            let loaded = runtime
                .load_binary_within(binary, policy.compile_budget())
                .map_err(|e| load_error(request, &e))?;
            Ok((runtime, loaded))
        });
    let (mut audit, recorded) = joined(recording)?;
    if let Err(e) = recorded {
        return Err(miette!(
            help = AUDIT_HELP,
            "refusing to run without recording it in the audit log ({} profile): {e}",
            request.profile
        ));
    }
    let (runtime, loaded) = match loaded {
        Ok(ready) => ready,
        Err(report) => {
            // Allowed, but it could not start: the log says so.
            let _ = audit.record(
                &NewEvent::new(
                    EventKind::Run,
                    anrf_audit::local_actor(),
                    subject,
                    Decision::Error,
                )
                .with_details(serde_json::json!({
                    "profile": request.profile.as_str(),
                    "engine": request.engine.as_str(),
                    "module_digest": module_digest,
                    "error": report.to_string(),
                })),
            );
            return Err(report);
        }
    };

    let invocation = Invocation {
        stdin,
        stream_stdin,
        args: request.guest_args.clone(),
        program: request.source.program_name(),
    };
    let outcome = runtime
        .run(&loaded, &policy, invocation)
        .map_err(|e| miette!("{e}"))?;

    let decision = match outcome.status {
        anrf_runtime::Status::Ok => Decision::Allow,
        anrf_runtime::Status::Violation => Decision::Violation,
        anrf_runtime::Status::Error => Decision::Error,
    };
    let recorded = audit.record(
        &NewEvent::new(EventKind::Run, anrf_audit::local_actor(), subject, decision).with_details(
            serde_json::json!({
                "profile": request.profile.as_str(),
                "engine": request.engine.as_str(),
                "module_digest": loaded.digest(),
                "exit_code": outcome.exit_code,
                "violations": outcome.violations,
                "fuel_used": outcome.fuel_used,
                "peak_memory_bytes": outcome.peak_memory_bytes,
            }),
        ),
    );

    // The guest has run: its output is reported whatever happens to the
    // record of its outcome, so nothing it produced is lost.
    report(&outcome, request);
    if let Err(e) = recorded {
        // The outcome (one JSON object with `--json`) is already printed:
        // the error goes to stderr only, and the exit code says it failed.
        crate::exit::print_error(&miette!(
            help = AUDIT_HELP,
            "the run finished (exit code {}) but its outcome could not be recorded in the audit log ({} profile): {e}; the decision that allowed it is recorded",
            outcome.exit_code,
            request.profile
        ));
        return Ok(Finish::Code(USAGE));
    }
    Ok(Finish::Code(exit_code(&outcome)))
}

/// Starts `work` on a thread of `scope`.
fn spawn<'scope, T: Send + 'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    name: &str,
    work: impl FnOnce() -> miette::Result<T> + Send + 'scope,
) -> miette::Result<std::thread::ScopedJoinHandle<'scope, miette::Result<T>>> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn_scoped(scope, work)
        .map_err(|e| miette!("cannot start a thread of `anrf run`: {e}"))
}

/// What a thread of [`spawn`] returned; a panic there is an error here.
fn joined<T>(handle: std::thread::ScopedJoinHandle<'_, miette::Result<T>>) -> miette::Result<T> {
    let name = handle.thread().name().unwrap_or("anrf").to_owned();
    handle
        .join()
        .unwrap_or_else(|_| Err(miette!("internal error: the `{name}` thread stopped")))
}

/// Why a module could not be loaded, with what to check.
fn load_error(request: &Request, e: &anrf_runtime::RuntimeError) -> miette::Report {
    if let anrf_runtime::RuntimeError::OverBudget { exceeded } = e {
        let module = match &request.source {
            Source::Module(m) => Some(m.name()),
            Source::Wasm(_) | Source::Wat(_) => None,
        };
        return miette!(
            help = anrf_verify::effective::over_budget_help(exceeded, module),
            "cannot load `{}`: {e}",
            request.source.display()
        );
    }
    miette!(
        help = "check that the file is a WebAssembly module (`.wasm`) or text (`.wat`) built for wasm32-wasip1",
        "cannot load `{}`: {e}",
        request.source.display()
    )
}

/// What to do when the audit log cannot be written.
const AUDIT_HELP: &str = "free space or fix the permissions of `$ANRF_HOME/audit`, then run `anrf audit verify`; in the `dev` profile a run goes on with a warning";

/// The audit log of one run, opened once so that the decision and the outcome
/// go through one connection. In `test` and `prod` a failure to record is an
/// error (no record, no action); in `dev` it is a warning.
struct RunAudit {
    /// The open log, or why it could not be opened.
    log: Result<AuditLog, String>,
    requirement: Requirement,
}

impl RunAudit {
    fn open(profile: Profile) -> miette::Result<RunAudit> {
        let requirement = match profile {
            Profile::Dev => Requirement::BestEffort,
            Profile::Test | Profile::Prod => Requirement::Required,
        };
        let dir = crate::home::anrf_home()?.join("audit");
        // Each event is committed by its own append; the external head file
        // is written once, when the run is over. In `test`/`prod` every append
        // first checks that the log it extends is sound (docs/audit.md).
        let log = LogOptions::new()
            .defer_head_file(true)
            .check_before_append(requirement == Requirement::Required)
            .open(&dir)
            .map_err(|e| e.to_string());
        if let (Err(e), Requirement::Required) = (&log, requirement) {
            return Err(miette!(
                help = AUDIT_HELP,
                "refusing to run without recording it in the audit log ({profile} profile): {e}"
            ));
        }
        Ok(RunAudit { log, requirement })
    }

    /// Pins the log's key, when the project pins one.
    fn pinned(mut self, key: Option<&str>) -> RunAudit {
        if let Ok(log) = &mut self.log {
            log.pin_key(key);
        }
        self
    }

    /// Appends `event`. `Err` only when the profile requires the record.
    fn record(&mut self, event: &NewEvent) -> Result<(), String> {
        let appended = match &mut self.log {
            Ok(log) => log.append(event).map(drop).map_err(|e| e.to_string()),
            Err(e) => Err(e.clone()),
        };
        match (appended, self.requirement) {
            (Ok(()), _) => Ok(()),
            (Err(e), Requirement::Required) => Err(e),
            (Err(e), Requirement::BestEffort) => {
                eprintln!("anrf: warning: the run was not recorded in the audit log: {e}");
                Ok(())
            }
        }
    }
}

/// The overrides that widened this run, as the decision records them.
fn granted_overrides(resolution: &Resolution) -> Vec<&anrf_policy::OverrideDecision> {
    resolution
        .overrides
        .iter()
        .filter(|d| d.is_granted())
        .collect()
}

/// Raw arguments to a validated request.
fn validate(args: RunArgs) -> miette::Result<Request> {
    let source = source(&args.target)?;
    let engine = engine_kind(args.engine, args.profile);
    let metering = match args.profile {
        Profile::Dev | Profile::Test => Metering::Fuel,
        Profile::Prod => Metering::Epoch,
    };
    let size = |flag: &str, value: &Option<String>| -> miette::Result<Option<(u64, String)>> {
        value
            .as_ref()
            .map(|v| {
                parse_size(v)
                    .map(|s| (s.bytes(), v.clone()))
                    .map_err(|e| miette!("invalid `{flag} {v}`: {e}"))
            })
            .transpose()
    };
    let lower = LimitFlags {
        memory: size("--max-memory", &args.max_memory)?,
        output: size("--max-output", &args.max_output)?,
        timeout: args
            .timeout
            .as_ref()
            .map(|v| {
                parse_duration(v)
                    .map(|d| (d.ms(), v.clone()))
                    .map_err(|e| miette!("invalid `--timeout {v}`: {e}"))
            })
            .transpose()?,
        fuel: args.fuel,
    };
    if lower.fuel == Some(0) {
        return Err(miette!("invalid `--fuel 0`: the budget must be at least 1"));
    }
    let cache_dir = match args.cache_dir {
        Some(dir) => dir,
        None => crate::home::anrf_home()?.join("cache").join("aot"),
    };
    let mut grants = Vec::new();
    for dir in args.allow_read {
        grants.push(CliGrant::Read {
            host: dir,
            guest: None,
        });
    }
    for dir in args.allow_write {
        grants.push(CliGrant::Write {
            host: dir,
            guest: None,
        });
    }
    for name in args.allow_env {
        let name = EnvName::new(&name).map_err(|e| miette!("invalid `--allow-env {name}`: {e}"))?;
        grants.push(CliGrant::Env { name });
    }
    for spec in &args.raise {
        grants.push(CliGrant::raise(spec).map_err(|e| miette!("invalid `--raise {spec}`: {e}"))?);
    }
    if args.justification.is_some() && grants.is_empty() {
        return Err(miette!(
            help = "use it with `--allow-read DIR`, `--allow-write DIR`, `--allow-env NAME` or `--raise LIMIT=VALUE`",
            "`--justification` given without any `--allow-*` or `--raise` grant"
        ));
    }
    Ok(Request {
        source,
        engine,
        metering,
        profile: args.profile,
        json: args.json,
        lower,
        cache_dir,
        grants,
        justification: args.justification,
        guest_args: args.guest_args,
    })
}

/// The engine asked for, else the profile's default (DESIGN.md's table).
fn engine_kind(engine: Option<EngineArg>, profile: Profile) -> EngineKind {
    match (engine, profile) {
        (Some(EngineArg::Interp), _) => EngineKind::Interp,
        (Some(EngineArg::Jit), _) | (None, Profile::Dev | Profile::Test) => EngineKind::Jit,
        (Some(EngineArg::Aot), _) | (None, Profile::Prod) => EngineKind::Aot,
    }
}

fn source(target: &Path) -> miette::Result<Source> {
    let extension = target.extension().and_then(|e| e.to_str());
    match extension {
        Some("wasm") if target.is_file() => Ok(Source::Wasm(target.to_path_buf())),
        Some("wat") if target.is_file() => Ok(Source::Wat(target.to_path_buf())),
        Some("wasm" | "wat") => Err(miette!("cannot read `{}`: no such file", target.display())),
        _ => Ok(Source::Module(Box::new(Module::load(target)?))),
    }
}

impl Source {
    fn display(&self) -> String {
        match self {
            Source::Module(m) => m.dir().display().to_string(),
            Source::Wasm(p) | Source::Wat(p) => p.display().to_string(),
        }
    }

    fn program_name(&self) -> String {
        match self {
            Source::Module(m) => m.name().to_owned(),
            Source::Wasm(p) | Source::Wat(p) => p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }
    }
}

/// What the policy says of a run.
enum Resolved {
    Granted(Resolution),
    Refused(Refused),
}

/// A refused run: the message for the user and the `deny` decision to record.
struct Refused {
    message: String,
    event: NewEvent,
}

impl Refused {
    /// Records the refusal, then gives the error to report.
    fn record(self, mut audit: RunAudit) -> miette::Report {
        let Refused { message, event } = self;
        match audit.record(&event) {
            Ok(()) => miette!("{message}"),
            Err(e) => miette!(
                help = AUDIT_HELP,
                "{message}\nand the refusal could not be recorded in the audit log: {e}"
            ),
        }
    }
}

/// The effective policy, from `anrf-policy`. A run does not start while
/// anything it asked for was refused; the caller records the refusal first.
fn resolve(
    request: &Request,
    project: &anrf_policy::ProjectPolicy,
    revocations: &[anrf_policy::RevocationNotice],
    code_digest: Option<&ContentDigest>,
    subject: &str,
) -> Resolved {
    let module = match (&request.source, code_digest) {
        (Source::Module(m), Some(digest)) => Some(anrf_policy::ModuleInput {
            manifest: m.manifest(),
            code_digest: digest,
        }),
        _ => None,
    };
    let user = anrf_audit::local_actor();
    let resolution = anrf_policy::resolve(&ResolveInput {
        project,
        profile: request.profile,
        now: OffsetDateTime::now_utc(),
        module,
        cli_grants: &request.grants,
        cli_justification: request.justification.as_deref(),
        user: &user,
        revocations,
    });
    let refused_grants: Vec<_> = resolution
        .cli_grants
        .iter()
        .filter(|g| g.verdict == anrf_policy::Verdict::Refused)
        .collect();
    let refused_items: Vec<_> = resolution.refused().collect();
    if refused_grants.is_empty() && refused_items.is_empty() {
        return Resolved::Granted(resolution);
    }

    let mut lines = Vec::new();
    for grant in &refused_grants {
        lines.push(format!("- {}", grant.reasons.join("; ")));
        if let Some(fix) = &grant.fix {
            lines.push(format!("  to allow it: {fix}"));
        }
    }
    for item in &refused_items {
        lines.push(format!("- {}: {}", item.subject, item.reasons.join("; ")));
        if let Some(fix) = &item.fix {
            lines.push(format!("  to allow it: {fix}"));
        }
    }
    let message = if refused_grants.is_empty() {
        format!(
            "refusing to run `{}` under the `{}` profile: it asks for what the effective policy does not grant\n{}",
            request.source.display(),
            request.profile,
            lines.join("\n")
        )
    } else {
        format!(
            "refusing the command-line grants under the `{}` profile\n{}",
            request.profile,
            lines.join("\n")
        )
    };
    let event = NewEvent::new(
        EventKind::PolicyDecision,
        anrf_audit::local_actor(),
        subject.to_owned(),
        Decision::Deny,
    )
    .with_details(serde_json::json!({
        "profile": request.profile.as_str(),
        "engine": request.engine.as_str(),
        "policy_digest": resolution.policy_digest.as_str(),
        "refused": refused_items,
        "refused_cli_grants": refused_grants,
        "justification": request.justification,
    }));
    Resolved::Refused(Refused { message, event })
}

/// The one conversion from the effective policy to the runtime's policy:
/// granted directories opened once (see [`open_granted_dir`]), environment
/// values read for the granted names only, what the v1 runtime cannot provide
/// refused.
fn to_run_policy(
    effective: &EffectivePolicy,
    cli_grants: &[GrantDecision],
    request: &Request,
) -> miette::Result<RunPolicy> {
    if effective.isolation == anrf_format::Isolation::Process {
        return Err(miette!(
            help = "set `isolation = \"wasm\"` in `[security]`; the in-process wasm sandbox is what this runtime provides",
            "`isolation = \"process\"` is not supported by this runtime yet, and running with less isolation than declared is refused"
        ));
    }
    if let Some(host) = effective.network.first() {
        return Err(miette!(
            help = "remove the `network` entries from `[security.capabilities]`",
            "network access (`{host}`) is not supported by the v1 runtime: no socket is ever granted"
        ));
    }
    let limits = anrf_verify::effective::runtime_limits(effective);
    // The module directory was opened once, when it was loaded; its grants are
    // opened beneath that descriptor, never through its name again.
    let module_root = match &request.source {
        Source::Module(m) if effective.dirs.iter().any(|d| d.base == HostBase::ModuleDir) => {
            let shown = std::fs::canonicalize(m.dir()).unwrap_or_else(|_| m.dir().to_path_buf());
            Some(HostDir::from_opened(m.dir_handle(), shown).map_err(|e| miette!("{e}"))?)
        }
        _ => None,
    };
    let mut caps = Capabilities::none();
    for dir in &effective.dirs {
        let access = match dir.access {
            anrf_format::Access::ReadOnly => Access::ReadOnly,
            anrf_format::Access::ReadWrite => Access::ReadWrite,
        };
        let opened = open_granted_dir(dir, module_root.as_ref(), cli_grants)?;
        caps.grant_dir(
            DirGrant::new(dir.guest.clone(), opened, access).map_err(|e| miette!("{e}"))?,
        )
        .map_err(|e| miette!("{e}"))?;
    }
    for name in &effective.env {
        // Only the granted names are read from the host; an unset one is absent.
        if let Ok(value) = std::env::var(name.as_str()) {
            caps.grant_env(name.as_str(), value)
                .map_err(|e| miette!("{e}"))?;
        }
    }
    if effective.clock {
        caps.grant_clock();
    }
    if effective.random {
        caps.grant_random();
    }
    Ok(RunPolicy::new(limits, request.metering)
        .with_capabilities(caps)
        .with_profile(request.profile.as_str())
        .with_compile_budget(anrf_verify::effective::compile_budget(effective)))
}

/// Opens a granted directory once, without following a symbolic link in any
/// component; the runtime hands the guest this descriptor, never the name. A
/// directory of the manifest is opened beneath the opened module directory; a
/// command-line one at the canonical path `anrf-policy` compared with the
/// maxima, so a link swapped in after that check is refused, not followed.
fn open_granted_dir(
    dir: &EffectiveDir,
    module_root: Option<&HostDir>,
    cli_grants: &[GrantDecision],
) -> miette::Result<HostDir> {
    let refused = |e: anrf_runtime::RuntimeError| {
        miette!(
            help = "a granted directory must be a real directory where it was approved, with no symbolic link in its path; put the directory itself back, or grant the directory a link points to by its own path",
            "refusing to grant `{}` (at `{}` in the guest): {e}",
            dir.host,
            dir.guest
        )
    };
    let cwd = || std::env::current_dir().into_diagnostic();
    let canonical = |path: &Path| {
        std::fs::canonicalize(path).map_err(|e| {
            miette!(
                "granted directory `{}` (at `{}` in the guest) cannot be opened: {e}",
                path.display(),
                dir.guest
            )
        })
    };
    if let (HostBase::ModuleDir, Some(root)) = (dir.base, module_root) {
        root.open_beneath(&dir.host).map_err(refused)
    } else {
        {
            let checked = cli_grants
                .iter()
                .filter(|g| g.verdict == anrf_policy::Verdict::Granted)
                .find(|g| g.dir.as_ref() == Some(dir))
                .and_then(|g| g.host_path.as_ref())
                .map(PathBuf::from);
            let path = match checked {
                Some(path) => path,
                None => canonical(&cwd()?.join(&dir.host))?,
            };
            HostDir::open(path).map_err(refused)
        }
    }
}

/// Applies `--max-memory`, `--timeout`, `--max-output` and `--fuel`, which may
/// only lower a limit.
fn lower_limits(policy: &RunPolicy, flags: &LimitFlags) -> miette::Result<RunPolicy> {
    let mut limits = *policy.limits();
    let refuse = |flag: &str, given: &str, name: &str, current: String| {
        miette!(
            help = format!(
                "flags can only lower a limit; raising `{name}` needs `{name} = ...` in `[security.limits]` up to the default, and above it an approved `raise:{name}=...` override (`anrf override request`)"
            ),
            "`{flag} {given}` would raise the {name} limit above {current}"
        )
    };
    if let Some((bytes, given)) = &flags.memory {
        if *bytes > limits.memory_bytes {
            return Err(refuse(
                "--max-memory",
                given,
                "memory",
                format!("{} bytes", limits.memory_bytes),
            ));
        }
        limits.memory_bytes = *bytes;
    }
    if let Some((ms, given)) = &flags.timeout {
        let wanted = Duration::from_millis(*ms);
        if wanted > limits.timeout {
            return Err(refuse(
                "--timeout",
                given,
                "timeout",
                format!("{} ms", limits.timeout.as_millis()),
            ));
        }
        limits.timeout = wanted;
    }
    if let Some((bytes, given)) = &flags.output {
        let current = limits.stdout_bytes.min(limits.stderr_bytes);
        if *bytes > current {
            return Err(refuse(
                "--max-output",
                given,
                "stdout",
                format!("{current} bytes"),
            ));
        }
        limits.stdout_bytes = *bytes;
        limits.stderr_bytes = *bytes;
    }
    if let Some(fuel) = flags.fuel {
        if fuel > limits.fuel {
            return Err(refuse(
                "--fuel",
                &fuel.to_string(),
                "fuel",
                format!("{}", limits.fuel),
            ));
        }
        limits.fuel = fuel;
    }
    let profile = policy.profile().to_owned();
    Ok(RunPolicy::new(limits, policy.metering())
        .with_capabilities(policy.capabilities().clone())
        .with_profile(profile)
        .with_compile_budget(*policy.compile_budget()))
}

/// The digests of the one snapshot of a module that runs.
struct Digests {
    /// What approvals are bound to (with the fields each override relaxes).
    code: ContentDigest,
    /// What a verification is of.
    content: ContentDigest,
}

/// What will run, the audit subject naming its content (`NAME@sha256:...`),
/// and for a module its security digest (the one approvals are bound to).
///
/// Each file is read once: a module's sources and artifact are taken in one
/// snapshot beneath its directory, and the bytes whose digest the decision names
/// and whose sha256 is checked against the manifest are the bytes that run.
fn module_input(
    source: &Source,
    profile: Profile,
) -> miette::Result<(ModuleInput, String, Option<Digests>)> {
    match source {
        Source::Module(module) => {
            let Some(artifact) = &module.manifest().implementation.artifact else {
                return Err(miette!(
                    help = format!("build it first: anrf build {}", module.dir().display()),
                    "module `{}` has no built artifact (`[implementation.artifact]` is missing)",
                    module.name()
                ));
            };
            let snapshot = module.snapshot()?;
            let bytes = snapshot.artifact().unwrap_or_default();
            let actual = anrf_format::Sha256Hex::of(bytes);
            if actual.as_str() != artifact.sha256.as_str() {
                return Err(miette!(
                    help = format!("rebuild it: anrf build {}", module.dir().display()),
                    "the artifact `{}` does not match the sha256 recorded in the manifest (recorded {}, found {})",
                    artifact.path.as_str(),
                    artifact.sha256.as_str(),
                    actual.as_str()
                ));
            }
            // A source edited after `anrf build`: the artifact is not what the
            // sources say. `dev` goes on with a warning; `test` and `prod` refuse.
            if snapshot.built_from_these_sources() == Some(false) {
                let rebuild = format!("anrf build {}", module.dir().display());
                if profile == Profile::Dev {
                    eprintln!(
                        "anrf: warning: a source of `{}` changed after `anrf build`: running the artifact built before (rebuild: {rebuild})",
                        module.name()
                    );
                } else {
                    return Err(miette!(
                        help = format!("rebuild it: {rebuild}"),
                        "a source of `{}` changed after `anrf build`, so the artifact is not the one its sources describe; `{profile}` runs only what was built from the sources as they are",
                        module.name()
                    ));
                }
            }
            let digests = Digests {
                code: snapshot.code_digest(),
                content: snapshot.content_digest(),
            };
            let subject = anrf_audit::module_subject(module.name(), digests.code.as_str());
            let bytes = snapshot.into_artifact().unwrap_or_default();
            Ok((ModuleInput::Wasm(bytes), subject, Some(digests)))
        }
        Source::Wasm(path) => {
            let bytes = anrf_format::fsread::read_regular(&link_free(path), MAX_BARE_BYTES)
                .map_err(|e| miette!("{e}"))?;
            let subject = file_subject(path, &bytes);
            Ok((ModuleInput::Wasm(bytes), subject, None))
        }
        Source::Wat(path) => {
            let text = anrf_format::fsread::read_regular_text(&link_free(path), MAX_BARE_BYTES)
                .map_err(|e| miette!("{e}"))?;
            let subject = file_subject(path, text.as_bytes());
            Ok((ModuleInput::Wat(text), subject, None))
        }
    }
}

/// The most bytes of a bare `.wasm` or `.wat` that `anrf run` reads.
const MAX_BARE_BYTES: u64 = anrf_format::MAX_ARTIFACT_BYTES;

/// A bare file named through symbolic links is read at the path they lead to
/// (resolved once; the read then follows no link), so the bytes hashed for the
/// audit subject are the bytes that run.
fn link_free(path: &Path) -> std::path::PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The audit subject of a bare file: its path and the digest of its bytes.
fn file_subject(path: &Path, bytes: &[u8]) -> String {
    let digest = ContentDigest::of(bytes);
    anrf_audit::module_subject(&path.display().to_string(), digest.as_str())
}

/// The most stdin `anrf run` passes to a guest: it is held in memory whole.
const MAX_STDIN_BYTES: u64 = 64 << 20;

/// The host's stdin, passed to the guest whole (a terminal is streamed
/// instead, see `stream_stdin`). More than `limit` bytes, or input that has not ended within `timeout`
/// (the run's own wall-clock limit), is an input error: the guest never sees
/// part of its input.
fn read_stdin(limit: u64, timeout: Duration) -> miette::Result<Vec<u8>> {
    if stdin_is_null() {
        return Ok(Vec::new());
    }
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("anrf-stdin".into())
        .spawn(move || {
            let mut bytes = Vec::new();
            let read = std::io::stdin()
                .lock()
                .take(limit.saturating_add(1))
                .read_to_end(&mut bytes)
                .map(|_| bytes);
            let _ = tx.send(read);
        })
        .map_err(|e| miette!("cannot read stdin: {e}"))?;
    match rx.recv_timeout(timeout) {
        Ok(Ok(bytes)) => stdin_within(bytes, limit),
        Ok(Err(e)) => Err(miette!("cannot read stdin: {e}")),
        // The reader thread stays blocked on the pipe; the process ends
        // without it.
        Err(_) => Err(miette!(
            help = "close the input (e.g. `< file` or `</dev/null`), or give the run more time with a longer `timeout` in `[security.limits]`",
            "stdin did not end within the run's timeout of {} ms: the guest gets its whole input at start, so `anrf run` waits for the end of stdin and waited too long",
            timeout.as_millis()
        )),
    }
}

/// `bytes` read from stdin, or the error when there were more than `limit`.
fn stdin_within(bytes: Vec<u8>, limit: u64) -> miette::Result<Vec<u8>> {
    if bytes.len() as u64 > limit {
        return Err(miette!(
            help = "pass a smaller input, or grant the module a directory (`--allow-read DIR` in dev, `[security.capabilities]`) and let it read a file",
            "stdin is larger than {}, the most `anrf run` passes to a guest (stdin is held in memory whole)",
            anrf_format::ByteSize::new(limit)
                .map_or_else(|| "0 bytes".to_owned(), |s| s.to_string())
        ));
    }
    Ok(bytes)
}

/// Whether stdin is the null device, whose reads end at once. Anything else
/// (a pipe, a socket, a device, even a regular file on FUSE or `/proc`) may
/// block, and is read on a thread within the timeout.
fn stdin_is_null() -> bool {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd as _;
        use std::os::unix::fs::MetadataExt as _;
        let Ok(fd) = std::io::stdin().as_fd().try_clone_to_owned() else {
            return false;
        };
        let (Ok(stdin), Ok(null)) = (
            std::fs::File::from(fd).metadata(),
            std::fs::metadata("/dev/null"),
        ) else {
            return false;
        };
        stdin.dev() == null.dev() && stdin.ino() == null.ino()
    }
    #[cfg(not(unix))]
    false
}

/// Prints the outcome: guest output as is and violations on stderr, or one JSON object.
fn report(outcome: &Outcome, request: &Request) {
    if let Some(CacheEvent::Rejected { reason }) = &outcome.cache {
        eprintln!(
            "anrf: warning: the cached AOT artifact was rejected and recompiled (never executed): {reason}"
        );
    }
    if request.json {
        let value = JsonReport {
            outcome,
            profile: request.profile.as_str(),
        };
        let text = serde_json::to_string(&value).unwrap_or_default();
        let _ = writeln!(crate::out::stdout(), "{text}");
        return;
    }
    // A closed pipe downstream is not an error of the run.
    let _ = crate::out::stdout().write_all(&outcome.stdout);
    let _ = crate::out::stdout().flush();
    let mut err = std::io::stderr();
    let _ = err.write_all(&outcome.stderr);
    for violation in &outcome.violations {
        let _ = writeln!(
            err,
            "anrf: {} violation: {}",
            violation.kind, violation.message
        );
    }
    if outcome.stopped_by_violation() {
        let _ = writeln!(
            err,
            "anrf: the guest was stopped (exit code 125) by the sandbox"
        );
    } else if let Some(note) = guest_exit_note(outcome.exit_code) {
        let _ = writeln!(err, "anrf: {note}");
    }
}

/// Who spoke, when a guest's own exit code is one anrf also uses: `125` (a
/// violation), `2` (a usage or input error), or a code no process can exit
/// with. Printed on stderr so the two are never confused; `--json` says it with
/// `status`.
fn guest_exit_note(code: i32) -> Option<String> {
    match code {
        125 => Some(
            "the guest exited with 125 by itself (not a sandbox violation: none was recorded)"
                .to_owned(),
        ),
        2 => Some(
            "the guest exited with 2 by itself (not a usage or input error of anrf)".to_owned(),
        ),
        0..=255 => None,
        other => Some(format!(
            "the guest exited with {other}, which no process exit status can carry; anrf exits with 1 instead"
        )),
    }
}

#[derive(serde::Serialize)]
struct JsonReport<'a> {
    #[serde(flatten)]
    outcome: &'a Outcome,
    profile: &'a str,
}

/// The guest's own exit code when it ran to completion (`1` for one outside
/// `0..=255`, with a note on stderr), `125` when a violation stopped it.
fn exit_code(outcome: &Outcome) -> u8 {
    if outcome.stopped_by_violation() {
        return VIOLATION;
    }
    u8::try_from(outcome.exit_code).unwrap_or(1)
}

/// In `--json` mode an input error still prints one JSON object.
fn print_json_error(report: &miette::Report, profile: Profile, engine: Option<EngineArg>) {
    let engine = engine_kind(engine, profile).as_str();
    let value = ErrorJson {
        status: "error",
        exit_code: USAGE,
        stdout: "",
        stderr: report.to_string(),
        violations: [],
        fuel_used: 0,
        peak_memory_bytes: 0,
        duration_ms: 0,
        engine,
        profile: profile.as_str(),
    };
    let value = serde_json::to_string(&value).unwrap_or_default();
    let _ = crate::out::println(&value);
}

/// The `--json` object of a run that could not start (same fields, same order).
#[derive(serde::Serialize)]
struct ErrorJson {
    status: &'static str,
    exit_code: u8,
    stdout: &'static str,
    stderr: String,
    violations: [(); 0],
    fuel_used: u64,
    peak_memory_bytes: u64,
    duration_ms: u64,
    engine: &'static str,
    profile: &'static str,
}
