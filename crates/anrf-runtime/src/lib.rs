//! `anrf-runtime`: the sandbox. An effective policy in, an [`Outcome`] out.
//!
//! Every module runs memory-safe and deny-by-default on wasmtime, whatever the
//! engine: the Pulley interpreter, the Cranelift JIT, or AOT artifacts from an
//! integrity-checked cache. A guest reaches only what its [`RunPolicy`] grants;
//! every attempt to step outside is refused or stopped and reported as a
//! [`Violation`], and the host stays healthy for the next run.
//!
//! ```
//! use anrf_runtime::{EngineKind, Invocation, Limits, Metering, ModuleInput, RunPolicy,
//!     Runtime, RuntimeConfig, Status};
//!
//! let runtime = Runtime::new(EngineKind::Jit, RuntimeConfig::default())?;
//! let module = runtime.load(ModuleInput::Wat(r#"
//!     (module
//!       (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
//!       (memory (export "memory") 1)
//!       (func (export "_start") (call $exit (i32.const 3))))
//! "#.into()))?;
//! let policy = RunPolicy::new(Limits::default(), Metering::Fuel);
//! let outcome = runtime.run(&module, &policy, Invocation::default())?;
//! assert_eq!((outcome.status, outcome.exit_code), (Status::Ok, 3));
//! # Ok::<(), anrf_runtime::RuntimeError>(())
//! ```
//!
//! The only `unsafe` code is in `aot/artifact.rs`: loading native code that
//! passed its integrity check.

mod aot;
mod budget;
mod compile;
mod engine;
mod error;
mod features;
mod guard;
mod hostdir;
mod limiter;
mod outcome;
mod output;
mod policy;
mod sandbox;

pub use budget::{BudgetExcess, BudgetExcesses, CompileBudget};
pub use engine::{
    EngineKind, LoadedModule, MAX_KEPT_MODULES, ModuleInput, Runtime, RuntimeConfig, WasmBinary,
};
pub use error::RuntimeError;
pub use features::{
    FeatureError, FeatureRefusal, Proposal, REFUSED_PROPOSALS, check_features, wasm_features,
};
pub use guard::P1_FUNCTIONS as WASI_PREVIEW1_FUNCTIONS;
pub use hostdir::HostDir;
pub use outcome::{CacheEvent, Outcome, Status, VIOLATION_EXIT_CODE, Violation, ViolationKind};
pub use policy::{Access, Capabilities, DirGrant, Limits, Metering, RunPolicy};
pub use sandbox::Invocation;
