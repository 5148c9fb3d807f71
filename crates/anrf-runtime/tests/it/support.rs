//! Shared helpers: one runtime per engine for the whole test binary (so every
//! test also checks that the host stays usable after the previous runs), the
//! hostile guests, and outcome assertions.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use anrf_runtime::{
    Capabilities, EngineKind, HostDir, Invocation, Limits, LoadedModule, Metering, ModuleInput,
    Outcome, RunPolicy, Runtime, RuntimeConfig, Status, ViolationKind,
};

pub fn hostile_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/hostile")
}

pub fn tmp_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
}

/// One shared runtime per engine; AOT uses a cache under the target directory.
pub fn runtime(kind: EngineKind) -> &'static Runtime {
    static INTERP: OnceLock<Runtime> = OnceLock::new();
    static JIT: OnceLock<Runtime> = OnceLock::new();
    static AOT: OnceLock<Runtime> = OnceLock::new();
    let cell = match kind {
        EngineKind::Interp => &INTERP,
        EngineKind::Jit => &JIT,
        EngineKind::Aot => &AOT,
    };
    cell.get_or_init(|| {
        let config = RuntimeConfig {
            cache_dir: (kind == EngineKind::Aot).then(|| tmp_dir().join("aot-cache-it")),
            metering: None,
            ..RuntimeConfig::default()
        };
        Runtime::new(kind, config).expect("runtime")
    })
}

/// The metering each engine's profile uses by default: fuel for the
/// interpreter and the JIT (dev, test), epoch deadline for AOT (prod).
pub fn metering(kind: EngineKind) -> Metering {
    match kind {
        EngineKind::Interp | EngineKind::Jit => Metering::Fuel,
        EngineKind::Aot => Metering::Epoch,
    }
}

/// Default limits, with a budget small enough that runaway guests end fast.
pub fn test_limits() -> Limits {
    Limits {
        fuel: 50_000_000,
        timeout: Duration::from_millis(1500),
        ..Limits::default()
    }
}

/// The test limits for an engine's metering. Under fuel metering the timeout is
/// far longer than the fuel takes to run out even on a loaded machine, so the
/// outcome never depends on timing; under epoch metering the timeout is the
/// budget and stays short.
pub fn policy(kind: EngineKind, capabilities: Capabilities) -> RunPolicy {
    let mut limits = test_limits();
    limits.timeout = match metering(kind) {
        Metering::Fuel => Duration::from_secs(30),
        Metering::Epoch => Duration::from_secs(2),
    };
    RunPolicy::new(limits, metering(kind)).with_capabilities(capabilities)
}

pub fn wat(name: &str) -> ModuleInput {
    let path = hostile_dir().join("wat").join(format!("{name}.wat"));
    ModuleInput::Wat(std::fs::read_to_string(&path).expect("read .wat"))
}

pub fn load_wat(kind: EngineKind, name: &str) -> LoadedModule {
    runtime(kind).load(wat(name)).expect("load .wat")
}

/// Builds the Rust hostile guests once per test run.
pub fn rust_guest(kind: EngineKind, name: &str) -> LoadedModule {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let target = tmp_dir().join("hostile-guests");
        anrf_build::ensure_wasm_target(&hostile_dir().join("rust"))
            .expect("the wasm32-wasip1 target");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--release", "--quiet", "--target", "wasm32-wasip1"])
            .current_dir(hostile_dir().join("rust"))
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .status()
            .expect("run cargo");
        assert!(status.success(), "building the hostile Rust guests failed");
        target.join("wasm32-wasip1/release")
    });
    let bytes = std::fs::read(dir.join(format!("{name}.wasm"))).expect("read guest");
    runtime(kind)
        .load(ModuleInput::Wasm(bytes))
        .expect("load guest")
}

pub fn run(kind: EngineKind, module: &LoadedModule, policy: &RunPolicy) -> Outcome {
    run_with(kind, module, policy, Invocation::default())
}

pub fn run_with(
    kind: EngineKind,
    module: &LoadedModule,
    policy: &RunPolicy,
    invocation: Invocation,
) -> Outcome {
    // Compiling counts against a run's timeout: compile first (waiting as
    // long as it takes, in an unoptimized build on a busy machine), so that
    // each guest's timeout is what the guest itself gets.
    runtime(kind)
        .prepare(module, policy)
        .expect("the runtime could compile the module");
    let outcome = runtime(kind)
        .run(module, policy, invocation)
        .expect("the runtime could run the module");
    assert_ne!(outcome.status, Status::Error, "host failure: {outcome:?}");
    assert_eq!(outcome.engine, kind);
    assert!(
        outcome.peak_memory_bytes <= policy.limits().memory_bytes,
        "peak memory {} above the limit",
        outcome.peak_memory_bytes
    );
    assert!(outcome.stdout.len() as u64 <= policy.limits().stdout_bytes);
    assert!(outcome.stderr.len() as u64 <= policy.limits().stderr_bytes);
    for violation in &outcome.violations {
        assert!(!violation.message.contains("panicked"), "{violation:?}");
    }
    outcome
}

/// The guest was stopped by a violation of `kind`, and every violation listed
/// is of that kind.
pub fn assert_stopped(outcome: &Outcome, kind: ViolationKind) {
    assert_stopped_after(outcome, &[], kind);
}

/// The guest was stopped by a violation of `kind` (the last one listed); every
/// violation before it is of one of the kinds in `before` or of `kind`.
pub fn assert_stopped_after(outcome: &Outcome, before: &[ViolationKind], kind: ViolationKind) {
    assert_eq!(outcome.status, Status::Violation, "{outcome:#?}");
    assert_eq!(outcome.exit_code, 125, "{outcome:#?}");
    let kinds: Vec<ViolationKind> = outcome.violations.iter().map(|v| v.kind).collect();
    assert_eq!(kinds.last(), Some(&kind), "{outcome:#?}");
    for k in &kinds {
        assert!(*k == kind || before.contains(k), "{outcome:#?}");
    }
    for v in &outcome.violations {
        assert!(!v.message.is_empty());
    }
}

/// The guest finished with `exit_code` after being refused at least once, and
/// every violation is `capability_denied`.
pub fn assert_denied_and_survived(outcome: &Outcome, exit_code: i32) {
    assert_eq!(outcome.status, Status::Violation, "{outcome:#?}");
    assert_eq!(outcome.exit_code, exit_code, "{outcome:#?}");
    assert!(!outcome.violations.is_empty(), "{outcome:#?}");
    for v in &outcome.violations {
        assert_eq!(v.kind, ViolationKind::CapabilityDenied, "{outcome:#?}");
        assert!(v.message.starts_with("refused"), "{v:?}");
    }
}

pub fn stdout(outcome: &Outcome) -> String {
    String::from_utf8_lossy(&outcome.stdout).into_owned()
}

/// A temporary directory with a file, a symlink to `/etc/passwd` and one to `..`.
pub fn data_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("hello.txt"), "hello from the host\n").expect("write");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("/etc/passwd", dir.path().join("link")).expect("symlink");
        std::os::unix::fs::symlink("..", dir.path().join("up")).expect("symlink");
    }
    dir
}

/// `path` opened as a grantable directory (by its canonical path).
pub fn host_dir(path: &Path) -> HostDir {
    HostDir::open(std::fs::canonicalize(path).expect("canonical path")).expect("open directory")
}

/// No entry under `dir` (at any depth) is a symbolic link, except the ones the
/// host planted there (`planted`, names directly in `dir`).
pub fn assert_no_symlink_made(dir: &Path, planted: &[&str]) {
    let planted: Vec<PathBuf> = planted.iter().map(|name| dir.join(name)).collect();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at).expect("read_dir") {
            let entry = entry.expect("entry");
            let kind = entry.file_type().expect("file type");
            assert!(
                !kind.is_symlink() || planted.contains(&entry.path()),
                "the guest made a link: {}",
                entry.path().display()
            );
            if kind.is_dir() {
                pending.push(entry.path());
            }
        }
    }
}

/// Resident set size of this process, from `/proc/self/status`.
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}
