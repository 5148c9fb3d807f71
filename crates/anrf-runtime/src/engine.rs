//! Engines, their configuration, and the [`Runtime`] that owns them.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest as _, Sha256};
use wasmtime::{Config, Engine, Linker, Module, OptLevel};

use crate::aot::{self, AotCache};
use crate::budget::{self, CompileBudget, ModuleShape};
use crate::compile::{Compiled, Compiler, Jobs, Task};
use crate::error::RuntimeError;
use crate::features::{self, FeatureError};
use crate::outcome::{Outcome, Status, VIOLATION_EXIT_CODE, Violation, ViolationKind};
use crate::policy::{Limits, Metering, RunPolicy};
use crate::sandbox::{self, HostState, Invocation};

/// How often the epoch ticks; the wall-clock timeout is checked at each tick.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Which execution engine runs the guest. All three run the same sandbox.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineKind {
    /// The Pulley interpreter: wasm compiled to portable bytecode, interpreted.
    Interp,
    /// Cranelift just-in-time compilation to native code, in memory, per run.
    Jit,
    /// Cranelift ahead-of-time compilation to native code, stored in the
    /// integrity-checked AOT cache and loaded from it.
    Aot,
}

impl EngineKind {
    /// `interp`, `jit` or `aot`.
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Interp => "interp",
            EngineKind::Jit => "jit",
            EngineKind::Aot => "aot",
        }
    }
}

impl std::fmt::Display for EngineKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Runtime-wide settings.
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    /// Directory of the AOT cache. `None`: the AOT engine compiles in memory
    /// for every run and caches nothing.
    pub cache_dir: Option<PathBuf>,
    /// The metering most runs will use, so that its engine is the one built
    /// (and used to validate modules) when the runtime starts. `None`: the
    /// engine kind's usual one (fuel for `interp` and `jit`, epoch for `aot`).
    /// Runs under other metering still work; their engine is built on demand.
    pub metering: Option<Metering>,
    /// The most bytes the AOT cache directory's entries may take together;
    /// past it the least recently used entries are deleted. `None`:
    /// [`RuntimeConfig::DEFAULT_CACHE_MAX_BYTES`].
    pub cache_max_bytes: Option<u64>,
}

impl RuntimeConfig {
    /// The default bound of the AOT cache: 1 GiB.
    pub const DEFAULT_CACHE_MAX_BYTES: u64 = 1 << 30;
}

/// Input to [`Runtime::load`].
#[derive(Debug, Clone)]
pub enum ModuleInput {
    /// A binary module.
    Wasm(Vec<u8>),
    /// A module in the WebAssembly text format.
    Wat(String),
}

/// A module in binary form and its digest, before any engine has seen it:
/// the digest is known (to record a decision about it, say) while the engine
/// is still being built.
#[derive(Debug, Clone)]
pub struct WasmBinary {
    bytes: Vec<u8>,
    digest: [u8; 32],
}

impl WasmBinary {
    /// The binary of `input`: text is parsed, nothing is validated yet.
    pub fn new(input: ModuleInput) -> Result<WasmBinary, RuntimeError> {
        let bytes = match input {
            ModuleInput::Wasm(bytes) => bytes,
            ModuleInput::Wat(text) => {
                wat::parse_str(&text).map_err(|e| RuntimeError::InvalidWat {
                    message: e.to_string(),
                })?
            }
        };
        let digest = Sha256::digest(&bytes).into();
        Ok(WasmBinary { bytes, digest })
    }

    /// The SHA-256 of the binary, as `sha256:<hex>`: the same as
    /// [`LoadedModule::digest`] once it is loaded.
    pub fn digest(&self) -> String {
        digest_text(&self.digest)
    }
}

/// A SHA-256 as `sha256:<hex>`.
fn digest_text(digest: &[u8; 32]) -> String {
    format!("sha256:{}", hex::encode(digest))
}

/// A validated module within its compile budget, not yet compiled for an engine.
#[derive(Debug, Clone)]
pub struct LoadedModule {
    bytes: Arc<[u8]>,
    digest: [u8; 32],
    shape: ModuleShape,
}

impl LoadedModule {
    /// The SHA-256 of the binary module, as `sha256:<hex>`.
    pub fn digest(&self) -> String {
        digest_text(&self.digest)
    }

    /// The binary module.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// What shapes compiled code: one engine per combination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct EngineSettings {
    pub(crate) metering: Metering,
    pub(crate) stack_bytes: u64,
}

/// One configured engine, its linker, its compiled modules and the
/// compilations in flight.
pub(crate) struct EngineSlot {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<HostState>,
    modules: Mutex<KeptModules>,
    pub(crate) jobs: Jobs,
    fingerprint: String,
}

/// The most compiled modules one engine keeps in memory for later runs; past
/// it the least recently used is dropped (a run holding it keeps its own
/// handle). Each is within its compile budget, so this bounds the memory one
/// engine of a long-lived runtime spends on modules it ran once (a runtime
/// has one engine per metering and stack size its policies use).
pub const MAX_KEPT_MODULES: usize = 64;

/// Compiled modules by the digest of their bytes, least recently used first
/// to go.
#[derive(Default)]
pub(crate) struct KeptModules {
    modules: HashMap<[u8; 32], (Module, u64)>,
    clock: u64,
}

impl KeptModules {
    fn get(&mut self, digest: &[u8; 32]) -> Option<Module> {
        self.clock += 1;
        let now = self.clock;
        self.modules.get_mut(digest).map(|(module, used)| {
            *used = now;
            module.clone()
        })
    }

    fn insert(&mut self, digest: [u8; 32], module: Module) {
        self.clock += 1;
        if !self.modules.contains_key(&digest) && self.modules.len() >= MAX_KEPT_MODULES {
            let oldest = self
                .modules
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(d, _)| *d);
            if let Some(oldest) = oldest {
                self.modules.remove(&oldest);
            }
        }
        self.modules.insert(digest, (module, self.clock));
    }

    fn len(&self) -> usize {
        self.modules.len()
    }
}

impl EngineSlot {
    /// The module compiled from `digest`, if this engine holds it.
    pub(crate) fn compiled(&self, digest: &[u8; 32]) -> Option<Module> {
        self.modules
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(digest)
    }

    /// Keeps the module compiled from `digest` for later runs (at most
    /// [`MAX_KEPT_MODULES`], the least recently used dropped first).
    pub(crate) fn keep(&self, digest: [u8; 32], module: Module) {
        self.modules
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(digest, module);
    }
}

impl std::fmt::Debug for EngineSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineSlot")
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// The sandbox runtime: one engine kind, engines built on demand per policy
/// settings, and an epoch ticker that enforces wall-clock timeouts.
#[derive(Debug)]
pub struct Runtime {
    kind: EngineKind,
    metering: Metering,
    cache: Option<Arc<AotCache>>,
    slots: Arc<Mutex<HashMap<EngineSettings, Arc<EngineSlot>>>>,
    compiler: Compiler,
    /// The private, empty directory behind every run's tripwire preopen at `/`
    /// (mode `0700`, a fresh random name; removed when the runtime is dropped).
    tripwire: sandbox::TripwireDir,
}

impl Runtime {
    /// A runtime for `kind`. Opens (and creates) the AOT cache directory if one
    /// is configured and the engine is [`EngineKind::Aot`].
    pub fn new(kind: EngineKind, config: RuntimeConfig) -> Result<Runtime, RuntimeError> {
        let max_bytes = config
            .cache_max_bytes
            .unwrap_or(RuntimeConfig::DEFAULT_CACHE_MAX_BYTES);
        let cache = match (kind, config.cache_dir) {
            (EngineKind::Aot, Some(dir)) => Some(Arc::new(AotCache::open(&dir, max_bytes)?)),
            _ => None,
        };
        let runtime = Runtime {
            kind,
            metering: config.metering.unwrap_or(match kind {
                EngineKind::Interp | EngineKind::Jit => Metering::Fuel,
                EngineKind::Aot => Metering::Epoch,
            }),
            cache,
            slots: Arc::default(),
            compiler: Compiler::default(),
            tripwire: sandbox::TripwireDir::new()?,
        };
        // Fail early if the engine cannot be configured on this machine.
        runtime.slot(runtime.default_settings())?;
        spawn_ticker(Arc::downgrade(&runtime.slots))?;
        Ok(runtime)
    }

    /// The engine kind.
    pub fn engine_kind(&self) -> EngineKind {
        self.kind
    }

    /// Parses and validates a module within [`CompileBudget::DEFAULT`].
    /// Malformed input, a module over the budget, and proposals the sandbox
    /// does not enable ([`crate::REFUSED_PROPOSALS`]) are an `Err`.
    pub fn load(&self, input: ModuleInput) -> Result<LoadedModule, RuntimeError> {
        self.load_binary(WasmBinary::new(input)?)
    }

    /// Validates a module already in binary form (see [`WasmBinary::new`])
    /// within [`CompileBudget::DEFAULT`], or takes its artifact from the AOT cache.
    pub fn load_binary(&self, binary: WasmBinary) -> Result<LoadedModule, RuntimeError> {
        self.load_binary_within(binary, &CompileBudget::DEFAULT)
    }

    /// Like [`Runtime::load_binary`], within `budget`: the module is measured
    /// (one parsing pass) and refused if over the budget before wasmtime sees
    /// it; only then is it validated, or its artifact taken from the AOT cache.
    pub fn load_binary_within(
        &self,
        binary: WasmBinary,
        budget: &CompileBudget,
    ) -> Result<LoadedModule, RuntimeError> {
        let WasmBinary { bytes, digest } = binary;
        let shape = budget::measure(&bytes, budget)?;
        let settings = self.default_settings();
        let slot = self.slot(settings)?;
        // An artifact in the AOT cache was compiled, and so validated, from
        // exactly these bytes (its entry is named by their SHA-256 and its
        // HMAC is checked before use): take it now instead of validating again.
        if !self.load_cached(&slot, settings, digest) {
            Module::validate(&slot.engine, &bytes).map_err(|e| validation_error(&bytes, &e))?;
        }
        Ok(LoadedModule {
            bytes: bytes.into(),
            digest,
            shape,
        })
    }

    /// Runs a loaded module under `policy`. Whatever the guest does, the result
    /// is an [`Outcome`]; `Err` only when the host could not run it at all, or
    /// the module is over the policy's compile budget.
    ///
    /// The timeout starts here: compiling counts against it. A compilation
    /// still running at the deadline is abandoned and the run is a `timeout`
    /// in which the guest never started.
    pub fn run(
        &self,
        module: &LoadedModule,
        policy: &RunPolicy,
        invocation: Invocation,
    ) -> Result<Outcome, RuntimeError> {
        let start = Instant::now();
        let limits = policy.limits();
        // A timeout too large for the clock is no deadline at all.
        let deadline = start
            .checked_add(limits.timeout)
            .unwrap_or_else(|| start + Duration::from_hours(100 * 365 * 24));
        policy.compile_budget().check(&module.shape)?;
        let settings = EngineSettings {
            metering: policy.metering(),
            stack_bytes: limits.stack_bytes,
        };
        let slot = self.slot(settings)?;
        let (compiled, cache) = match self.compile(&slot, settings, module, Some(deadline))? {
            Compiled::Ready(compiled, cache) if Instant::now() < deadline => (compiled, cache),
            _ => return Ok(compile_timeout(self.kind, limits, start)),
        };
        let mut outcome = sandbox::run(
            &slot,
            &compiled,
            &self.tripwire,
            policy,
            invocation,
            deadline,
        )?;
        outcome.engine = self.kind;
        outcome.cache = cache;
        Ok(outcome)
    }

    /// Compiles (or fetches) `module` for `policy` without running it, within
    /// the policy's compile budget; waits for the compilation, however long.
    pub fn prepare(&self, module: &LoadedModule, policy: &RunPolicy) -> Result<(), RuntimeError> {
        policy.compile_budget().check(&module.shape)?;
        let settings = EngineSettings {
            metering: policy.metering(),
            stack_bytes: policy.limits().stack_bytes,
        };
        let slot = self.slot(settings)?;
        self.compile(&slot, settings, module, None).map(drop)
    }

    /// How many compiled modules this runtime holds in memory, over all its
    /// engines (each compiled once, then reused by later runs; at most
    /// [`MAX_KEPT_MODULES`] per engine).
    pub fn compiled_modules(&self) -> usize {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(|slot| {
                slot.modules
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .len()
            })
            .sum()
    }

    /// The settings most runs use ([`RuntimeConfig::metering`], the default
    /// stack), whose engine validates modules.
    fn default_settings(&self) -> EngineSettings {
        EngineSettings {
            metering: self.metering,
            stack_bytes: crate::Limits::DEFAULT.stack_bytes,
        }
    }

    fn compile(
        &self,
        slot: &Arc<EngineSlot>,
        settings: EngineSettings,
        module: &LoadedModule,
        deadline: Option<Instant>,
    ) -> Result<Compiled, RuntimeError> {
        let cache = match (self.kind, &self.cache) {
            (EngineKind::Aot, Some(cache)) => {
                Some((cache.clone(), entry_name(slot, settings, module.digest)))
            }
            _ => None,
        };
        let task = Task {
            kind: self.kind,
            slot: slot.clone(),
            cache,
            bytes: module.bytes.clone(),
            digest: module.digest,
        };
        self.compiler.compile(task, deadline)
    }

    /// Puts the module compiled from `digest` into `slot` if the AOT cache
    /// holds an intact artifact for it; whether it did. Any problem with the
    /// entry is left for [`Runtime::compile`] to find, report and repair.
    fn load_cached(&self, slot: &EngineSlot, settings: EngineSettings, digest: [u8; 32]) -> bool {
        let (EngineKind::Aot, Some(cache)) = (self.kind, &self.cache) else {
            return false;
        };
        match cache.load_intact(&slot.engine, &entry_name(slot, settings, digest)) {
            Some(module) => {
                slot.keep(digest, module);
                true
            }
            None => false,
        }
    }

    fn slot(&self, settings: EngineSettings) -> Result<Arc<EngineSlot>, RuntimeError> {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(slot) = slots.get(&settings) {
            return Ok(slot.clone());
        }
        let engine = build_engine(self.kind, settings)?;
        let mut linker = Linker::new(&engine);
        crate::guard::add_to_linker(&mut linker).map_err(|e| RuntimeError::Engine {
            engine: self.kind.to_string(),
            message: format!("{e:#}"),
        })?;
        let fingerprint = aot::fingerprint(&engine, &settings_label(settings));
        let slot = Arc::new(EngineSlot {
            engine,
            linker,
            modules: Mutex::default(),
            jobs: Mutex::default(),
            fingerprint,
        });
        slots.insert(settings, slot.clone());
        Ok(slot)
    }
}

/// The AOT cache entry of the module `digest` compiled by `slot`.
fn entry_name(slot: &EngineSlot, settings: EngineSettings, digest: [u8; 32]) -> String {
    format!(
        "{}-{}-{}",
        hex::encode(digest),
        slot.fingerprint,
        settings_label(settings)
    )
}

fn settings_label(settings: EngineSettings) -> String {
    let metering = match settings.metering {
        Metering::Fuel => "fuel",
        Metering::Epoch => "epoch",
    };
    format!("{metering}-s{}", settings.stack_bytes)
}

/// The engine configuration shared by all three kinds: exactly the proposals
/// of [`features::wasm_features`], meter, bound the stack; Pulley for the
/// interpreter.
fn build_engine(kind: EngineKind, settings: EngineSettings) -> Result<Engine, RuntimeError> {
    let mut config = Config::new();
    features::configure(&mut config);
    config
        .consume_fuel(settings.metering == Metering::Fuel)
        .epoch_interruption(true)
        .max_wasm_stack(usize::try_from(settings.stack_bytes).unwrap_or(usize::MAX))
        // 4 GiB of address space per memory (not resident) lets compiled code
        // drop bounds checks; 32 MiB guard pages catch offsets past it.
        .memory_reservation(4 << 30)
        .memory_guard_size(32 << 20)
        .cranelift_opt_level(OptLevel::Speed);
    if kind == EngineKind::Interp {
        config
            .target("pulley64")
            .map_err(|e| RuntimeError::Engine {
                engine: kind.to_string(),
                message: format!("{e:#}"),
            })?;
    }
    Engine::new(&config).map_err(|e| RuntimeError::Engine {
        engine: kind.to_string(),
        message: format!("{e:#}"),
    })
}

/// Why wasmtime refused `bytes`: a proposal the sandbox does not enable, in
/// the verifier's words ([`features::check_features`]), or an invalid module.
pub(crate) fn validation_error(bytes: &[u8], error: &wasmtime::Error) -> RuntimeError {
    match features::check_features(bytes) {
        Err(FeatureError::Refused(refusal)) => RuntimeError::Unsupported { refusal },
        Err(FeatureError::Invalid { .. }) | Ok(()) => RuntimeError::InvalidModule {
            message: format!("{error:#}"),
        },
    }
}

/// The outcome of a run whose compilation did not finish before its deadline.
fn compile_timeout(kind: EngineKind, limits: &Limits, start: Instant) -> Outcome {
    Outcome {
        status: Status::Violation,
        exit_code: VIOLATION_EXIT_CODE,
        stdout: Vec::new(),
        stderr: Vec::new(),
        violations: vec![Violation::new(
            ViolationKind::Timeout,
            format!(
                "compiling the module did not finish within the run's wall-clock timeout of {} ms, so the guest never started (compiling counts against the timeout); raise `timeout` in `[security.limits]` or pass a larger `--timeout` (above the default it needs a `raise:timeout=...` override), or make the module smaller",
                limits.timeout.as_millis()
            ),
        )],
        fuel_used: 0,
        peak_memory_bytes: 0,
        duration: start.elapsed(),
        engine: kind,
        cache: None,
    }
}

/// Advances the epoch of every engine of a runtime every [`EPOCH_TICK`], until
/// the runtime is dropped.
fn spawn_ticker(
    slots: Weak<Mutex<HashMap<EngineSettings, Arc<EngineSlot>>>>,
) -> Result<(), RuntimeError> {
    std::thread::Builder::new()
        .name("anrf-epoch".into())
        .spawn(move || {
            while let Some(slots) = slots.upgrade() {
                let engines: Vec<Engine> = slots
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .values()
                    .map(|s| s.engine.clone())
                    .collect();
                drop(slots);
                for engine in &engines {
                    engine.increment_epoch();
                }
                drop(engines);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .map(drop)
        .map_err(|e| RuntimeError::internal(format!("cannot start the epoch ticker: {e}")))
}
