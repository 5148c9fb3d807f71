//! One run: build the WASI context from the policy, check imports, run the
//! guest on a worker thread under its limits, and turn what happened into an
//! [`Outcome`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use wasmtime::{ExternType, Module, Store, Trap, UpdateDeadline};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtxBuilder};

use crate::engine::{EngineKind, EngineSlot};
use crate::error::RuntimeError;
use crate::guard::{Guard, GuestDir, SharedLog, TimeoutHit, ViolationLog};
use crate::limiter::{GrowthRefused, Limiter};
use crate::outcome::{Outcome, Status, VIOLATION_EXIT_CODE, Violation, ViolationKind};
use crate::output::{BoundedPipe, OutputLimitHit, Stream};
use crate::policy::{Access, Limits, Metering, RunPolicy};

/// How long the waiting thread gives a guest past its deadline before it stops
/// waiting (the guest is stopped at its next wasm instruction or host call).
const GRACE: Duration = Duration::from_millis(500);

/// Extra native stack for the worker thread, beyond the wasm stack limit.
const HOST_STACK: usize = 8 << 20;

/// What the guest receives besides its policy.
#[derive(Debug, Clone, Default)]
pub struct Invocation {
    /// Bytes the guest reads on stdin (then end of file).
    pub stdin: Vec<u8>,
    /// Give the guest the host's own stdin instead of `stdin`, read as the
    /// guest asks for it (for a person typing at a terminal). The guest still
    /// sees descriptor 0 only; reads block until input comes, within the run's
    /// timeout.
    pub stream_stdin: bool,
    /// Arguments after the program name.
    pub args: Vec<String>,
    /// The program name (`argv[0]`); empty means `main`.
    pub program: String,
}

/// The data of a store.
pub(crate) struct HostState {
    pub(crate) wasi: WasiP1Ctx,
    pub(crate) guard: Guard,
    limiter: Limiter,
}

/// Why the guest's execution ended.
enum Ending {
    Exited(i32),
    Stopped(Violation),
    HostFailure(String),
}

struct WorkerReport {
    ending: Ending,
    fuel_used: u64,
}

pub(crate) fn run(
    slot: &EngineSlot,
    module: &Module,
    tripwire_dir: &TripwireDir,
    policy: &RunPolicy,
    invocation: Invocation,
    deadline: Instant,
) -> Result<Outcome, RuntimeError> {
    let limits = *policy.limits();
    if !matches!(module.get_export("_start"), Some(ExternType::Func(_))) {
        return Err(RuntimeError::NotACommand);
    }
    let undeclared = undeclared_imports(module);
    if !undeclared.is_empty() {
        return Ok(refused_before_start(undeclared));
    }
    let pre = match slot.linker.instantiate_pre(module) {
        Ok(pre) => pre,
        Err(e) => {
            return Ok(refused_before_start(vec![Violation::new(
                ViolationKind::UndeclaredImport,
                format!("the module's imports do not match what the host provides: {e:#}"),
            )]));
        }
    };

    let stdout = BoundedPipe::new(Stream::Stdout, limits.stdout_bytes);
    let stderr = BoundedPipe::new(Stream::Stderr, limits.stderr_bytes);
    let log: SharedLog = Arc::new(Mutex::new(ViolationLog::default()));
    let peak = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let (wasi, dirs, tripwire) = wasi_context(policy, tripwire_dir, invocation, &stdout, &stderr)?;
    let caps = policy.capabilities();
    let state = HostState {
        wasi,
        guard: Guard::new(
            caps.clock(),
            caps.random(),
            deadline,
            dirs,
            tripwire,
            log.clone(),
        ),
        limiter: Limiter::new(limits.memory_bytes, limits.table_elements, peak.clone()),
    };

    let engine = slot.engine.clone();
    let metering = policy.metering();
    let (tx, rx) = mpsc::channel();
    let stack = usize::try_from(limits.stack_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(HOST_STACK);
    std::thread::Builder::new()
        .name("anrf-guest".into())
        .stack_size(stack)
        .spawn(move || {
            let mut store = Store::new(&engine, state);
            store.limiter(|state| &mut state.limiter);
            if metering == Metering::Fuel {
                // Cannot fail: fuel is enabled on this engine.
                let _ = store.set_fuel(limits.fuel);
            }
            store.set_epoch_deadline(1);
            store.epoch_deadline_callback(move |_| {
                if Instant::now() >= deadline {
                    Ok(UpdateDeadline::Interrupt)
                } else {
                    Ok(UpdateDeadline::Continue(1))
                }
            });
            let result = pre
                .instantiate(&mut store)
                .and_then(|instance| instance.get_typed_func::<(), ()>(&mut store, "_start"))
                .and_then(|start| start.call(&mut store, ()));
            let fuel_used = match metering {
                Metering::Fuel => limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0)),
                Metering::Epoch => 0,
            };
            let ending = match result {
                Ok(()) => Ending::Exited(0),
                Err(e) => classify(&e, &limits, metering),
            };
            let _ = tx.send(WorkerReport { ending, fuel_used });
        })
        .map_err(RuntimeError::internal)?;

    let waited = deadline.saturating_duration_since(Instant::now()) + GRACE;
    let report = rx.recv_timeout(waited).unwrap_or_else(|e| match e {
        // Stuck in a host call that does not return (e.g. opening a FIFO in a
        // granted directory): stop waiting; the worker is stopped by the guard
        // as soon as the call returns.
        mpsc::RecvTimeoutError::Timeout => WorkerReport {
            ending: Ending::Stopped(timeout_violation(&limits)),
            fuel_used: 0,
        },
        mpsc::RecvTimeoutError::Disconnected => WorkerReport {
            ending: Ending::HostFailure("the guest's worker thread ended without a report".into()),
            fuel_used: 0,
        },
    });
    let duration = start.elapsed();

    let (out, out_cut) = stdout.contents();
    let (err, err_cut) = stderr.contents();
    let mut violations = log.lock().unwrap_or_else(PoisonError::into_inner).take();
    let (status, exit_code) = match report.ending {
        Ending::Exited(code) => {
            // A cut stream always stops the guest, so it cannot have exited
            // after one; this keeps the report honest if that ever changes.
            for (cut, stream, cap) in [
                (out_cut, Stream::Stdout, limits.stdout_bytes),
                (err_cut, Stream::Stderr, limits.stderr_bytes),
            ] {
                if cut {
                    violations.push(output_violation(stream, cap));
                }
            }
            let status = if violations.is_empty() {
                Status::Ok
            } else {
                Status::Violation
            };
            (status, code)
        }
        Ending::Stopped(violation) => {
            violations.push(violation);
            (Status::Violation, VIOLATION_EXIT_CODE)
        }
        Ending::HostFailure(message) => {
            violations.push(Violation::new(ViolationKind::Trap, message));
            (Status::Error, VIOLATION_EXIT_CODE)
        }
    };
    Ok(Outcome {
        status,
        exit_code,
        stdout: out,
        stderr: err,
        violations,
        fuel_used: report.fuel_used,
        peak_memory_bytes: peak.load(Ordering::Relaxed),
        duration,
        engine: EngineKind::Jit,
        cache: None,
    })
}

/// Builds the WASI context: nothing of the host is inherited; stdin is an
/// in-memory pipe (reads never block) or, when asked, the host's stdin read
/// through wasmtime's worker thread; stdout and stderr are bounded pipes.
fn wasi_context(
    policy: &RunPolicy,
    tripwire_dir: &TripwireDir,
    invocation: Invocation,
    stdout: &BoundedPipe,
    stderr: &BoundedPipe,
) -> Result<(WasiP1Ctx, Vec<GuestDir>, Option<u32>), RuntimeError> {
    let caps = policy.capabilities();
    let mut builder = WasiCtxBuilder::new();
    let program = if invocation.program.is_empty() {
        "main"
    } else {
        &invocation.program
    };
    if invocation.stream_stdin {
        builder.stdin(std::io::stdin());
    } else {
        builder.stdin(MemoryInputPipe::new(invocation.stdin));
    }
    builder
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .arg(program)
        .args(&invocation.args)
        .envs(caps.env())
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    let mut dirs = Vec::new();
    let mut fd = 3u32;
    for grant in caps.dirs() {
        let perms = match grant.access() {
            Access::ReadOnly => FsPerms::ReadOnly,
            Access::ReadWrite => FsPerms::ReadWrite,
        };
        // The directory opened (and checked) when the grant was made, through
        // its descriptor: the name is never looked up again.
        builder
            .preopened_dir(grant.dir().descriptor_path(), grant.guest_path(), perms)
            .map_err(|e| RuntimeError::GrantedDir {
                path: grant.host_path().to_path_buf(),
                message: format!("cannot reopen its descriptor: {e:#}"),
            })?;
        dirs.push(GuestDir {
            fd,
            guest_path: grant.guest_path().to_string(),
            access: grant.access(),
        });
        fd += 1;
    }
    let tripwire = if caps.dirs().iter().any(|d| d.guest_path() == "/") {
        None
    } else {
        let root = tripwire_dir.checked()?;
        builder
            .preopened_dir(root, "/", FsPerms::ReadOnly)
            .map_err(|e| RuntimeError::GrantedDir {
                path: root.to_path_buf(),
                message: format!("{e:#}"),
            })?;
        Some(fd)
    };
    Ok((builder.build_p1(), dirs, tripwire))
}

/// The directory backing the tripwire preopen: created by `tempfile` with a
/// random name (`create_new`, never an existing path) and mode `0700`, so no other user can create it first, put
/// anything in it or replace it (a fixed name in a shared temporary directory
/// could be planted by anyone). The guard refuses every operation on the
/// preopen anyway; it is kept empty and private so that even a guard bug would
/// find nothing behind it.
#[derive(Debug)]
pub(crate) struct TripwireDir(tempfile::TempDir);

impl TripwireDir {
    pub(crate) fn new() -> Result<TripwireDir, RuntimeError> {
        let mut builder = tempfile::Builder::new();
        builder.prefix("anrf-tripwire-");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            builder.permissions(std::fs::Permissions::from_mode(0o700));
        }
        builder
            .tempdir()
            .map(TripwireDir)
            .map_err(|e| RuntimeError::GrantedDir {
                path: std::env::temp_dir(),
                message: format!("cannot create the private tripwire directory: {e}"),
            })
    }

    /// The path, once checked to be still an empty directory no one else can open.
    fn checked(&self) -> Result<&std::path::Path, RuntimeError> {
        let path = self.0.path();
        let refuse = |message: String| RuntimeError::GrantedDir {
            path: path.to_path_buf(),
            message,
        };
        let meta = std::fs::symlink_metadata(path).map_err(|e| refuse(e.to_string()))?;
        if !meta.is_dir() {
            return Err(refuse(
                "the tripwire directory is no longer a directory".into(),
            ));
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = meta.permissions().mode() & 0o7777;
            if mode & 0o077 != 0 {
                return Err(refuse(format!(
                    "the tripwire directory has mode {mode:04o}: it must be private (0700)"
                )));
            }
        }
        let mut entries = std::fs::read_dir(path).map_err(|e| refuse(e.to_string()))?;
        if entries.next().is_some() {
            return Err(refuse("the tripwire directory is not empty".into()));
        }
        Ok(path)
    }
}

fn undeclared_imports(module: &Module) -> Vec<Violation> {
    let mut violations = Vec::new();
    for import in module.imports() {
        let provided = import.module() == "wasi_snapshot_preview1"
            && matches!(import.ty(), ExternType::Func(_))
            && crate::guard::provides(import.name());
        if !provided {
            violations.push(Violation::new(
                ViolationKind::UndeclaredImport,
                format!(
                    "the module imports `{}::{}`, which the host does not provide; a module may import only `wasi_snapshot_preview1` functions, and nothing is linked in from elsewhere",
                    import.module(),
                    import.name()
                ),
            ));
        }
    }
    violations
}

fn refused_before_start(violations: Vec<Violation>) -> Outcome {
    Outcome {
        status: Status::Violation,
        exit_code: VIOLATION_EXIT_CODE,
        stdout: Vec::new(),
        stderr: Vec::new(),
        violations,
        fuel_used: 0,
        peak_memory_bytes: 0,
        duration: Duration::ZERO,
        engine: EngineKind::Jit,
        cache: None,
    }
}

fn classify(error: &wasmtime::Error, limits: &Limits, metering: Metering) -> Ending {
    if let Some(exit) = error.downcast_ref::<I32Exit>() {
        return Ending::Exited(exit.0);
    }
    if let Some(hit) = error.downcast_ref::<OutputLimitHit>() {
        return Ending::Stopped(output_violation(hit.stream, hit.cap));
    }
    if error.downcast_ref::<TimeoutHit>().is_some() {
        return Ending::Stopped(timeout_violation(limits));
    }
    if let Some(refused) = error.downcast_ref::<GrowthRefused>() {
        let message = match refused {
            GrowthRefused::Memory { desired, limit } => format!(
                "the guest asked for {desired} bytes of linear memory, past its limit of {limit} bytes; lower its memory use, or raise `memory` in `[security.limits]` (above the default it needs a `raise:memory=...` override)"
            ),
            GrowthRefused::Table { desired, limit } => format!(
                "the guest asked for {desired} table elements, past the limit of {limit}; tables this large are refused"
            ),
        };
        return Ending::Stopped(Violation::new(ViolationKind::MemoryLimit, message));
    }
    if let Some(trap) = error.downcast_ref::<Trap>() {
        let (kind, message) = match trap {
            Trap::OutOfFuel => (
                ViolationKind::FuelExhausted,
                format!(
                    "the guest used its whole instruction budget of {} fuel; lower its work, or raise `fuel` in `[security.limits]` (above the default it needs a `raise:fuel=...` override)",
                    limits.fuel
                ),
            ),
            Trap::Interrupt => return Ending::Stopped(timeout_violation(limits)),
            Trap::StackOverflow => (
                ViolationKind::StackOverflow,
                format!(
                    "the guest exhausted its wasm stack of {} bytes (deep or unbounded recursion); raise `stack` in `[security.limits]` (above the default it needs a `raise:stack=...` override)",
                    limits.stack_bytes
                ),
            ),
            Trap::MemoryOutOfBounds | Trap::TableOutOfBounds | Trap::HeapMisaligned => (
                ViolationKind::OutOfBounds,
                format!(
                    "the guest was stopped at an access outside its own memory or tables ({trap}); the sandbox never lets an access leave the guest's linear memory, and no setting allows it"
                ),
            ),
            Trap::UnreachableCodeReached => (
                ViolationKind::Trap,
                "the guest trapped: wasm `unreachable` executed (a Rust panic or `abort` ends this way; see its stderr)".to_string(),
            ),
            other => (ViolationKind::Trap, format!("the guest trapped: {other}")),
        };
        return Ending::Stopped(Violation::new(kind, message));
    }
    // With fuel metering, wasmtime reports running out of fuel inside a host
    // call's own budget as an ordinary error; everything else ends here too.
    let _ = metering;
    Ending::Stopped(Violation::new(
        ViolationKind::Trap,
        format!("the guest was stopped: {error:#}"),
    ))
}

fn timeout_violation(limits: &Limits) -> Violation {
    Violation::new(
        ViolationKind::Timeout,
        format!(
            "the guest ran past its wall-clock timeout of {} ms; raise `timeout` in `[security.limits]` or pass a larger `--timeout` (above the default it needs a `raise:timeout=...` override)",
            limits.timeout.as_millis()
        ),
    )
}

fn output_violation(stream: Stream, cap: u64) -> Violation {
    let name = stream.name();
    Violation::new(
        ViolationKind::OutputLimit,
        format!(
            "the guest wrote more than {cap} bytes to {name}; its {name} was cut at {cap} bytes and it was stopped; raise `{name}` in `[security.limits]` (above the default it needs a `raise:{name}=...` override)"
        ),
    )
}
