//! Compiling a module for one engine, within a run's deadline.
//!
//! Cranelift cannot be interrupted, so a compilation runs on a thread of its
//! own and the run waits for it only until its deadline: a compile that
//! outlives the deadline is abandoned (the run reports `timeout` and the guest
//! never starts). The abandoned compilation finishes in the background, within
//! the compile budget, and its result is kept for the next run of the module.
//! Runs of the same module share one compilation. At most
//! [`MAX_ABANDONED_COMPILES`] abandoned compilations may still be running in
//! one runtime; past that a new one is refused, so a caller that keeps timing
//! out cannot pile up compilations (and their memory) without bound.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Instant;

use wasmtime::Module;

use crate::aot::{self, AotCache};
use crate::engine::{EngineKind, EngineSlot};
use crate::error::RuntimeError;
use crate::outcome::CacheEvent;

/// How many compilations abandoned by their runs may still run in one runtime.
pub(crate) const MAX_ABANDONED_COMPILES: usize = 2;

/// Native stack of a compiling thread (the same as the main thread's).
const COMPILE_STACK: usize = 8 << 20;

/// What compiling produced, or that the deadline came first.
pub(crate) enum Compiled {
    /// The module, and what the AOT cache did.
    Ready(Module, Option<CacheEvent>),
    /// The deadline passed before the compilation finished.
    TimedOut,
}

type JobResult = Result<(Module, Option<CacheEvent>), RuntimeError>;

/// One compilation in flight, shared by every run waiting for it.
#[derive(Default)]
pub(crate) struct Job {
    state: Mutex<JobState>,
    done: Condvar,
}

#[derive(Default)]
struct JobState {
    result: Option<JobResult>,
    /// A run stopped waiting for it: counted in [`Compiler::abandoned`].
    abandoned: bool,
}

/// The compilations in flight of one engine, by module digest.
pub(crate) type Jobs = Mutex<HashMap<[u8; 32], Arc<Job>>>;

/// What a compilation needs, owned, so that it can outlive the run.
pub(crate) struct Task {
    pub(crate) kind: EngineKind,
    pub(crate) slot: Arc<EngineSlot>,
    pub(crate) cache: Option<(Arc<AotCache>, String)>,
    pub(crate) bytes: Arc<[u8]>,
    pub(crate) digest: [u8; 32],
}

/// The runtime's count of abandoned compilations still running.
#[derive(Debug, Default)]
pub(crate) struct Compiler {
    abandoned: Arc<AtomicUsize>,
}

impl Compiler {
    /// The compiled module of `task`: from the engine's compiled modules, or
    /// from a compilation in flight, or from a new one. Waits until
    /// `deadline` at most (`None`: until it is done).
    pub(crate) fn compile(
        &self,
        task: Task,
        deadline: Option<Instant>,
    ) -> Result<Compiled, RuntimeError> {
        if let Some(module) = task.slot.compiled(&task.digest) {
            let event = (task.kind == EngineKind::Aot).then_some(CacheEvent::Hit);
            return Ok(Compiled::Ready(module, event));
        }
        let job = self.job(task)?;
        let mut state = job.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(result) = &state.result {
                return result.clone().map(|(m, e)| Compiled::Ready(m, e));
            }
            match deadline {
                None => state = job.done.wait(state).unwrap_or_else(PoisonError::into_inner),
                Some(deadline) => {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        if !state.abandoned {
                            state.abandoned = true;
                            self.abandoned.fetch_add(1, Ordering::SeqCst);
                        }
                        return Ok(Compiled::TimedOut);
                    }
                    state = job
                        .done
                        .wait_timeout(state, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0;
                }
            }
        }
    }

    /// How many abandoned compilations are still running.
    pub(crate) fn abandoned(&self) -> usize {
        self.abandoned.load(Ordering::SeqCst)
    }

    /// The job compiling `task`'s module: the one in flight, or a new one.
    fn job(&self, task: Task) -> Result<Arc<Job>, RuntimeError> {
        let mut jobs = task
            .slot
            .jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(job) = jobs.get(&task.digest) {
            return Ok(job.clone());
        }
        // A compilation that ended between the caller's look and this lock
        // kept its module before it left `jobs`.
        if let Some(module) = task.slot.compiled(&task.digest) {
            let event = (task.kind == EngineKind::Aot).then_some(CacheEvent::Hit);
            let job = Job::default();
            job.state
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .result = Some(Ok((module, event)));
            return Ok(Arc::new(job));
        }
        let running = self.abandoned();
        if running >= MAX_ABANDONED_COMPILES {
            return Err(RuntimeError::CompileBacklog { running });
        }
        let job = Arc::new(Job::default());
        jobs.insert(task.digest, job.clone());
        drop(jobs);
        let (slot, digest) = (task.slot.clone(), task.digest);
        let shared = job.clone();
        let abandoned = self.abandoned.clone();
        let spawned = std::thread::Builder::new()
            .name("anrf-compile".into())
            .stack_size(COMPILE_STACK)
            .spawn(move || {
                let result = task.run();
                if let Ok((module, _)) = &result {
                    task.slot.keep(task.digest, module.clone());
                }
                task.slot
                    .jobs
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&task.digest);
                let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
                state.result = Some(result);
                if state.abandoned {
                    abandoned.fetch_sub(1, Ordering::SeqCst);
                }
                drop(state);
                shared.done.notify_all();
            });
        match spawned {
            Ok(_) => Ok(job),
            Err(e) => {
                // Never started: forget it, so that the next run tries again.
                slot.jobs
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&digest);
                Err(RuntimeError::internal(format!(
                    "cannot start a compiling thread: {e}"
                )))
            }
        }
    }
}

impl Task {
    fn run(&self) -> JobResult {
        match (self.kind, &self.cache) {
            (EngineKind::Interp | EngineKind::Jit, _) => {
                Module::new(&self.slot.engine, &self.bytes)
                    .map(|m| (m, None))
                    .map_err(|e| crate::engine::validation_error(&self.bytes, &e))
            }
            (EngineKind::Aot, Some((cache, name))) => cache
                .load_or_compile(&self.slot.engine, name, &self.bytes)
                .map(|(m, e)| (m, Some(e))),
            (EngineKind::Aot, None) => aot::load_fresh(&self.slot.engine, &self.bytes)
                .map(|m| (m, Some(CacheEvent::Uncached))),
        }
    }
}
