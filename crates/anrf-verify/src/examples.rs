//! `ANRF-T001`..`T004`: the intent examples, run in the sandbox under the
//! module's effective policy, must print their expected stdout and exit with
//! their expected code.

use std::path::Path;

use anrf_format::{Example, Module, Profile};
use anrf_policy::EffectivePolicy;
use anrf_runtime::{
    Capabilities, DirGrant, EngineKind, HostDir, Invocation, Metering, ModuleInput, RunPolicy,
    Runtime, RuntimeConfig, Status, WasmBinary,
};

use crate::effective::compile_budget;
use crate::finding::{CheckId, Finding, Location};
use crate::report::ExampleFact;
use crate::scratch;
use crate::verify::VerifyOptions;

/// Runs every example; one finding per mismatch.
pub(crate) fn run_examples(
    module: &Module,
    bytes: &[u8],
    examples: &[Example],
    locations: &[Location],
    effective: &EffectivePolicy,
    options: &VerifyOptions<'_>,
) -> (Vec<Finding>, Vec<ExampleFact>) {
    let mut findings = Vec::new();
    let mut facts = Vec::new();
    let manifest_location = || Location::file(anrf_format::MANIFEST_FILE);
    let prepared =
        Runtime::new(engine(options.profile), RuntimeConfig::default()).and_then(|runtime| {
            let binary = WasmBinary::new(ModuleInput::Wasm(bytes.to_vec()))?;
            let loaded = runtime.load_binary_within(binary, &compile_budget(effective))?;
            Ok((runtime, loaded))
        });
    let (runtime, loaded) = match prepared {
        Ok(ready) => ready,
        Err(err) => {
            findings.push(
                Finding::new(
                    CheckId::T004,
                    format!("the examples could not be run: {err}"),
                )
                .at(manifest_location()),
            );
            return (findings, facts);
        }
    };
    for (i, example) in examples.iter().enumerate() {
        let location = locations.get(i).cloned().unwrap_or_else(manifest_location);
        // Lives until the example has run: its read-write directories' copies.
        let scratch = match tempfile::Builder::new().prefix("anrf-verify-").tempdir() {
            Ok(dir) => dir,
            Err(err) => {
                findings.push(
                    Finding::new(
                        CheckId::T004,
                        format!(
                            "example `{}` could not be run: cannot create a scratch directory for its writable directories: {err}",
                            example.name
                        ),
                    )
                    .at(location)
                    .help("make the temporary directory writable (`TMPDIR`)"),
                );
                continue;
            }
        };
        let policy = match run_policy(module, effective, example, options, scratch.path()) {
            Ok(policy) => policy,
            Err((message, help)) => {
                let mut finding = Finding::new(
                    CheckId::T004,
                    format!("example `{}` could not be run: {message}", example.name),
                )
                .at(location);
                if let Some(help) = help {
                    finding = finding.help(help);
                }
                findings.push(finding);
                continue;
            }
        };
        let invocation = Invocation {
            stdin: example.stdin.as_bytes().to_vec(),
            args: example.args.clone(),
            program: module.name().to_owned(),
            stream_stdin: false,
        };
        let outcome = match runtime.run(&loaded, &policy, invocation) {
            Ok(outcome) => outcome,
            Err(err) => {
                findings.push(
                    Finding::new(
                        CheckId::T004,
                        format!("example `{}` could not be run: {err}", example.name),
                    )
                    .at(location),
                );
                continue;
            }
        };
        let stdout = String::from_utf8_lossy(&outcome.stdout).into_owned();
        let mut passed = true;
        if outcome.status == Status::Violation {
            passed = false;
            let what = outcome
                .violations
                .iter()
                .map(|v| format!("{}: {}", v.kind, v.message))
                .collect::<Vec<_>>()
                .join("; ");
            let mut finding = Finding::new(
                CheckId::T003,
                format!(
                    "example `{}` was stopped by the sandbox ({what})",
                    example.name
                ),
            )
            .at(location.clone());
            if let Some(help) = violation_help(&outcome.violations) {
                finding = finding.help(help);
            }
            findings.push(finding);
        } else if outcome.status == Status::Error {
            passed = false;
            let stderr = String::from_utf8_lossy(&outcome.stderr);
            findings.push(
                Finding::new(
                    CheckId::T004,
                    format!(
                        "example `{}` could not complete: {}",
                        example.name,
                        shorten(&stderr)
                    ),
                )
                .at(location.clone()),
            );
        } else {
            if stdout != example.stdout {
                passed = false;
                findings.push(
                    Finding::new(
                        CheckId::T001,
                        format!(
                            "example `{}` printed {:?} but {:?} is expected",
                            example.name,
                            shorten(&stdout),
                            shorten(&example.stdout)
                        ),
                    )
                    .at(location.clone()),
                );
            }
            if outcome.exit_code != example.exit_code {
                passed = false;
                findings.push(
                    Finding::new(
                        CheckId::T002,
                        format!(
                            "example `{}` exited with {} but {} is expected",
                            example.name, outcome.exit_code, example.exit_code
                        ),
                    )
                    .at(location.clone()),
                );
            }
        }
        facts.push(ExampleFact {
            name: example.name.clone(),
            passed,
            exit_code: outcome.exit_code,
            expected_exit_code: example.exit_code,
            violations: outcome
                .violations
                .iter()
                .map(|v| v.kind.to_string())
                .collect(),
            fuel_used: (outcome.fuel_used > 0).then_some(outcome.fuel_used),
            engine: outcome.engine.to_string(),
        });
    }
    (findings, facts)
}

/// The engine the examples run on: the one the profile runs in production use
/// (DESIGN.md): Cranelift JIT in `dev` and `test`, AOT in `prod`. The AOT
/// engine here has no cache directory (`RuntimeConfig::default()`): it
/// precompiles the module in memory for this verification and stores nothing.
fn engine(profile: Profile) -> EngineKind {
    match profile {
        Profile::Prod => EngineKind::Aot,
        Profile::Dev | Profile::Test => EngineKind::Jit,
    }
}

/// The fix when a read-write directory cannot be copied for an example.
const SCRATCH_HELP: &str = "examples run on a copy of each read-write directory: keep it to real directories and regular files (no symbolic links, FIFOs or devices), at most 64 MiB, 10000 entries and 64 levels deep";

/// The runtime policy for one example: the effective policy the policy engine
/// resolved, with fuel metering (deterministic) in every profile but `prod`.
/// Examples are hermetic: a granted environment variable is set only when the
/// example gives its value; nothing of the verifier's environment is passed.
/// Every read-write directory is a fresh copy in `scratch` (see
/// [`crate::scratch`]), so nothing an example writes reaches the module.
fn run_policy(
    module: &Module,
    effective: &EffectivePolicy,
    example: &Example,
    options: &VerifyOptions<'_>,
    scratch: &Path,
) -> Result<RunPolicy, (String, Option<String>)> {
    let limits = crate::effective::runtime_limits(effective);
    let metering = if options.profile == Profile::Prod {
        Metering::Epoch
    } else {
        Metering::Fuel
    };
    let mut caps = Capabilities::none();
    // Each read-only directory is opened once, beneath the opened module
    // directory and without following links; a read-write one is copied to a
    // scratch directory first. The example gets the opened descriptor.
    let base = std::fs::canonicalize(module.dir())
        .map_err(|e| (format!("cannot resolve the module directory: {e}"), None))?;
    let root =
        HostDir::from_opened(module.dir_handle(), &base).map_err(|e| (e.to_string(), None))?;
    let mut budget = scratch::Budget::new();
    for (i, dir) in effective.dirs.iter().enumerate() {
        let (access, opened) = match dir.access {
            anrf_format::Access::ReadOnly => (
                anrf_runtime::Access::ReadOnly,
                root.open_beneath(&dir.host).map_err(|e| {
                    (
                        format!(
                            "its read-only directory `{}` (`{}` in the guest) cannot be opened: {e}",
                            dir.host, dir.guest
                        ),
                        Some(missing_dir_help(module, &dir.host)),
                    )
                })?,
            ),
            anrf_format::Access::ReadWrite => {
                let copy = scratch.join(i.to_string());
                scratch::copy_dir(&base, &dir.host, &copy, &mut budget).map_err(|e| {
                    (
                        format!(
                            "its read-write directory `{}` (`{}` in the guest) cannot be copied to a scratch directory: {e}",
                            dir.host, dir.guest
                        ),
                        Some(SCRATCH_HELP.to_owned()),
                    )
                })?;
                let copy = std::fs::canonicalize(&copy)
                    .map_err(|e| (format!("cannot resolve the scratch directory: {e}"), None))?;
                (
                    anrf_runtime::Access::ReadWrite,
                    HostDir::open(&copy).map_err(|e| (e.to_string(), None))?,
                )
            }
        };
        let grant =
            DirGrant::new(dir.guest.clone(), opened, access).map_err(|e| (e.to_string(), None))?;
        caps.grant_dir(grant).map_err(|e| (e.to_string(), None))?;
    }
    for name in &effective.env {
        if let Some(value) = example.env.get(name.as_str()) {
            caps.grant_env(name.as_str(), value.as_str())
                .map_err(|e| (e.to_string(), None))?;
        }
    }
    if effective.clock {
        caps.grant_clock();
    }
    if effective.random {
        caps.grant_random();
    }
    Ok(RunPolicy::new(limits, metering)
        .with_capabilities(caps)
        .with_profile(options.profile.as_str())
        .with_compile_budget(compile_budget(effective)))
}

/// A read-only directory must be a real directory inside the module: create
/// it, or drop its entry.
fn missing_dir_help(module: &Module, host: &str) -> String {
    format!(
        "create `{host}` as a directory inside the module (`mkdir -p {}/{host}`; a symbolic link is not followed), or remove its entry from `security.capabilities.dirs`",
        module.dir().display()
    )
}

fn shorten(text: &str) -> String {
    const MAX: usize = 200;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

/// What the manifest needs for the first violation that stopped an example:
/// the capability and the effect it serves, or the limit (raised freely up to
/// the default, above it by an override).
fn violation_help(violations: &[anrf_runtime::Violation]) -> Option<String> {
    let capability = |key: &str, effect: &str| {
        format!(
            "set `{key} = true` under `[security.capabilities]` and add `\"{effect}\"` to `logic.effects`, or make the guest do without it"
        )
    };
    let limit = |name: &str, default: String| {
        format!(
            "raise `{name}` under `[security.limits]` (freely up to the default {default}; above it `anrf override request MODULE --raise {name}=VALUE`), or make the example do less"
        )
    };
    let d = anrf_format::Limits::DEFAULT;
    violations.iter().find_map(|v| {
        use anrf_runtime::ViolationKind as K;
        Some(match v.kind {
            K::CapabilityDenied if v.message.contains("random") => capability("random", "random"),
            K::CapabilityDenied if v.message.contains("clock") => capability("clock", "clock"),
            K::FuelExhausted => limit("fuel", d.fuel.units().to_string()),
            K::Timeout => limit("timeout", d.timeout.to_string()),
            K::MemoryLimit => limit("memory", d.memory.to_string()),
            K::OutputLimit => limit("stdout", d.stdout.to_string()),
            K::StackOverflow => limit("stack", d.stack.to_string()),
            _ => return None,
        })
    })
}
