//! Engines, their configuration, and the [`Runtime`] that owns them.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use serde::Serialize;
use sha2::{Digest as _, Sha256};
use wasmtime::{Config, Engine, Linker, Module, OptLevel};

use crate::aot::{self, AotCache};
use crate::error::RuntimeError;
use crate::outcome::{CacheEvent, Outcome};
use crate::policy::{Metering, RunPolicy};
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

/// A validated module, not yet compiled for an engine.
#[derive(Debug, Clone)]
pub struct LoadedModule {
    bytes: Arc<[u8]>,
    digest: [u8; 32],
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

/// One configured engine, its linker and its compiled modules.
pub(crate) struct EngineSlot {
    pub(crate) engine: Engine,
    pub(crate) linker: Linker<HostState>,
    modules: Mutex<HashMap<[u8; 32], Module>>,
    fingerprint: String,
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
    cache: Option<AotCache>,
    slots: Arc<Mutex<HashMap<EngineSettings, Arc<EngineSlot>>>>,
    /// The private, empty directory behind every run's tripwire preopen at `/`
    /// (mode `0700`, a fresh random name; removed when the runtime is dropped).
    tripwire: sandbox::TripwireDir,
}

impl Runtime {
    /// A runtime for `kind`. Opens (and creates) the AOT cache directory if one
    /// is configured and the engine is [`EngineKind::Aot`].
    pub fn new(kind: EngineKind, config: RuntimeConfig) -> Result<Runtime, RuntimeError> {
        let cache = match (kind, config.cache_dir) {
            (EngineKind::Aot, Some(dir)) => Some(AotCache::open(&dir)?),
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

    /// Parses and validates a module. Malformed input, and features the sandbox
    /// does not enable (shared memory, threads), are an `Err`.
    pub fn load(&self, input: ModuleInput) -> Result<LoadedModule, RuntimeError> {
        self.load_binary(WasmBinary::new(input)?)
    }

    /// Validates a module already in binary form (see [`WasmBinary::new`]),
    /// or takes its artifact from the AOT cache.
    pub fn load_binary(&self, binary: WasmBinary) -> Result<LoadedModule, RuntimeError> {
        let WasmBinary { bytes, digest } = binary;
        let settings = self.default_settings();
        let slot = self.slot(settings)?;
        // An artifact in the AOT cache was compiled, and so validated, from
        // exactly these bytes (its entry is named by their SHA-256 and its
        // HMAC is checked before use): take it now instead of validating again.
        if !self.load_cached(&slot, settings, digest) {
            Module::validate(&slot.engine, &bytes).map_err(|e| validation_error(&e))?;
        }
        Ok(LoadedModule {
            bytes: bytes.into(),
            digest,
        })
    }

    /// Runs a loaded module under `policy`. Whatever the guest does, the result
    /// is an [`Outcome`]; `Err` only when the host could not run it at all.
    pub fn run(
        &self,
        module: &LoadedModule,
        policy: &RunPolicy,
        invocation: Invocation,
    ) -> Result<Outcome, RuntimeError> {
        let settings = EngineSettings {
            metering: policy.metering(),
            stack_bytes: policy.limits().stack_bytes,
        };
        let slot = self.slot(settings)?;
        let (compiled, cache) = self.compile(&slot, settings, module)?;
        let mut outcome = sandbox::run(&slot, &compiled, &self.tripwire, policy, invocation)?;
        outcome.engine = self.kind;
        outcome.cache = cache;
        Ok(outcome)
    }

    /// Compiles (or fetches) `module` for `settings` without running it.
    pub fn prepare(&self, module: &LoadedModule, policy: &RunPolicy) -> Result<(), RuntimeError> {
        let settings = EngineSettings {
            metering: policy.metering(),
            stack_bytes: policy.limits().stack_bytes,
        };
        let slot = self.slot(settings)?;
        self.compile(&slot, settings, module).map(|_| ())
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
        slot: &EngineSlot,
        settings: EngineSettings,
        module: &LoadedModule,
    ) -> Result<(Module, Option<CacheEvent>), RuntimeError> {
        if let Some(compiled) = slot
            .modules
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&module.digest)
        {
            let event = (self.kind == EngineKind::Aot).then_some(CacheEvent::Hit);
            return Ok((compiled.clone(), event));
        }
        let (compiled, event) = match self.kind {
            EngineKind::Interp | EngineKind::Jit => (
                Module::new(&slot.engine, module.bytes()).map_err(|e| validation_error(&e))?,
                None,
            ),
            EngineKind::Aot => match &self.cache {
                Some(cache) => {
                    let name = entry_name(slot, settings, module.digest);
                    let (m, e) = cache.load_or_compile(&slot.engine, &name, module.bytes())?;
                    (m, Some(e))
                }
                None => (
                    aot::load_fresh(&slot.engine, module.bytes())?,
                    Some(CacheEvent::Uncached),
                ),
            },
        };
        slot.modules
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(module.digest, compiled.clone());
        Ok((compiled, event))
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
                slot.modules
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(digest, module);
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

/// The engine configuration shared by all three kinds: deny what the sandbox
/// does not support, meter, bound the stack; Pulley for the interpreter.
fn build_engine(kind: EngineKind, settings: EngineSettings) -> Result<Engine, RuntimeError> {
    let mut config = Config::new();
    config
        .wasm_threads(false)
        .wasm_shared_everything_threads(false)
        .wasm_component_model(false)
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

fn validation_error(error: &wasmtime::Error) -> RuntimeError {
    let message = format!("{error:#}");
    if message.contains("threads") || message.contains("shared") {
        return RuntimeError::Unsupported {
            feature: format!(
                "shared memory or atomics (the threads proposal): {message}; a module that needs threads needs a `threads` override, which the v1 runtime does not support"
            ),
        };
    }
    RuntimeError::InvalidModule { message }
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
