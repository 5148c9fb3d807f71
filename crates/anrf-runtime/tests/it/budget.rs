//! Compile budgets and the compile deadline: a module over its budget is
//! refused before anything compiles it, on every engine; compiling counts
//! against the run's timeout. The large modules are generated here, in memory.

use std::time::Duration;

use anrf_runtime::{
    CompileBudget, EngineKind, Invocation, LoadedModule, ModuleInput, RunPolicy, Runtime,
    RuntimeConfig, RuntimeError, Status, ViolationKind, WasmBinary,
};
use wasm_encoder::{
    CodeSection, EntityType, ExportKind, ExportSection, Function, FunctionSection, ImportSection,
    Instruction, MemorySection, MemoryType, Module, TypeSection, ValType,
};

use crate::support::{policy, runtime};

/// A WASI command that defines `functions` functions besides `_start`, each
/// adding one `i32` to a local `ops` times, and exits with `exit`.
pub fn generated(functions: u32, ops: u32, exit: i32) -> Vec<u8> {
    let mut types = TypeSection::new();
    types.ty().function([], []);
    types.ty().function([ValType::I32], []);
    let mut imports = ImportSection::new();
    imports.import(
        "wasi_snapshot_preview1",
        "proc_exit",
        EntityType::Function(1),
    );
    let mut funcs = FunctionSection::new();
    let mut code = CodeSection::new();
    for _ in 0..=functions {
        funcs.function(0);
    }
    let mut start = Function::new([]);
    start
        .instruction(&Instruction::I32Const(exit))
        .instruction(&Instruction::Call(0))
        .instruction(&Instruction::End);
    code.function(&start);
    let mut body = Function::new([(1, ValType::I32)]);
    for _ in 0..ops {
        body.instruction(&Instruction::LocalGet(0))
            .instruction(&Instruction::I32Const(1))
            .instruction(&Instruction::I32Add)
            .instruction(&Instruction::LocalSet(0));
    }
    body.instruction(&Instruction::End);
    for _ in 0..functions {
        code.function(&body);
    }
    let mut memories = MemorySection::new();
    memories.memory(MemoryType {
        minimum: 1,
        maximum: None,
        memory64: false,
        shared: false,
        page_size_log2: None,
    });
    let mut exports = ExportSection::new();
    exports.export("memory", ExportKind::Memory, 0);
    exports.export("_start", ExportKind::Func, 1);
    let mut module = Module::new();
    module
        .section(&types)
        .section(&imports)
        .section(&funcs)
        .section(&memories)
        .section(&exports)
        .section(&code);
    module.finish()
}

fn over_budget(err: &RuntimeError, budget: &str) -> bool {
    matches!(err, RuntimeError::OverBudget { exceeded } if exceeded.0.iter().any(|e| e.budget == budget))
}

const ENGINES: [EngineKind; 3] = [EngineKind::Interp, EngineKind::Jit, EngineKind::Aot];

/// The compile bomb of the issue, scaled to one function past the default
/// budget: on today's code it compiles (seconds, and memory) and runs `ok`.
#[test]
fn a_module_over_the_function_budget_is_refused_before_compiling_on_every_engine() {
    let functions = u32::try_from(CompileBudget::DEFAULT.functions).unwrap();
    let bomb = generated(functions, 0, 0);
    for kind in ENGINES {
        let rt = runtime(kind);
        let before = rt.compiled_modules();
        let err = rt.load(ModuleInput::Wasm(bomb.clone())).unwrap_err();
        assert!(over_budget(&err, "functions"), "{kind}: {err:?}");
        let text = err.to_string();
        for part in [
            "refused before compiling",
            &format!(
                "it has {} defined functions, above the budget of {} (`functions`)",
                functions + 1,
                CompileBudget::DEFAULT.functions
            ),
            "raise the budget through an approved override",
            &format!("`raise:functions={}`", functions + 1),
        ] {
            assert!(text.contains(part), "{kind}: `{part}` not in: {text}");
        }
        assert_eq!(rt.compiled_modules(), before, "{kind}: something compiled");
    }
}

#[test]
fn a_run_policy_with_a_smaller_budget_refuses_a_loaded_module_before_compiling() {
    let module = generated(40, 1, 0);
    for kind in ENGINES {
        let dir = tempfile::tempdir().unwrap();
        let rt = Runtime::new(
            kind,
            RuntimeConfig {
                cache_dir: Some(dir.path().join("aot")),
                ..RuntimeConfig::default()
            },
        )
        .unwrap();
        let loaded = rt.load(ModuleInput::Wasm(module.clone())).unwrap();
        let small = CompileBudget {
            functions: 10,
            ..CompileBudget::DEFAULT
        };
        let tight = policy(kind, anrf_runtime::Capabilities::none()).with_compile_budget(small);
        let err = rt.run(&loaded, &tight, Invocation::default()).unwrap_err();
        assert!(over_budget(&err, "functions"), "{kind}: {err:?}");
        let err = rt.prepare(&loaded, &tight).unwrap_err();
        assert!(over_budget(&err, "functions"), "{kind}: {err:?}");
        assert_eq!(rt.compiled_modules(), 0, "{kind}: something compiled");
        if kind == EngineKind::Aot {
            assert_eq!(cache_entries(&dir.path().join("aot")), 0);
        }
        // Within the default budget, the same module compiles and runs.
        let usual = policy(kind, anrf_runtime::Capabilities::none());
        rt.prepare(&loaded, &usual).unwrap();
        let outcome = rt.run(&loaded, &usual, Invocation::default()).unwrap();
        assert_eq!(outcome.status, Status::Ok, "{kind}: {outcome:?}");
    }
}

#[test]
fn a_raised_budget_admits_what_the_default_refuses() {
    let module = generated(30, 0, 4);
    let small = CompileBudget {
        functions: 10,
        ..CompileBudget::DEFAULT
    };
    let rt = runtime(EngineKind::Jit);
    let binary = || WasmBinary::new(ModuleInput::Wasm(module.clone())).unwrap();
    let err = rt.load_binary_within(binary(), &small).unwrap_err();
    assert!(over_budget(&err, "functions"), "{err:?}");
    let loaded = rt
        .load_binary_within(binary(), &CompileBudget::DEFAULT)
        .unwrap();
    let usual = policy(EngineKind::Jit, anrf_runtime::Capabilities::none());
    rt.prepare(&loaded, &usual).unwrap();
    let outcome = rt.run(&loaded, &usual, Invocation::default()).unwrap();
    assert_eq!(
        (outcome.status, outcome.exit_code),
        (Status::Ok, 4),
        "{outcome:?}"
    );
}

/// Sets one budget.
type SetBudget = fn(&mut CompileBudget, u64);

#[test]
fn each_budget_is_enforced() {
    // One small module per budget, and a budget one below its value.
    let cases: [(&str, String, SetBudget); 8] = [
        ("module-bytes", "(module)".into(), |b, v| b.module_bytes = v),
        (
            "function-bytes",
            "(module (func i32.const 1 drop i32.const 2 drop))".into(),
            |b, v| b.function_bytes = v,
        ),
        (
            "locals",
            "(module (func (local i32 i32)) (func (local i64)))".into(),
            |b, v| b.locals = v,
        ),
        (
            "data-segments",
            r#"(module (memory 1) (data (i32.const 0) "a") (data (i32.const 1) "b"))"#.into(),
            |b, v| b.data_segments = v,
        ),
        (
            "data-bytes",
            r#"(module (memory 1) (data (i32.const 0) "abcdef"))"#.into(),
            |b, v| b.data_bytes = v,
        ),
        (
            "globals",
            "(module (global i32 (i32.const 0)) (global i32 (i32.const 1)))".into(),
            |b, v| b.globals = v,
        ),
        (
            "elements",
            "(module (table 3 funcref) (func $f) (elem (i32.const 0) func $f $f $f))".into(),
            |b, v| b.elements = v,
        ),
        (
            "exports",
            r#"(module (func (export "a")) (func (export "b")))"#.into(),
            |b, v| b.exports = v,
        ),
    ];
    let rt = runtime(EngineKind::Jit);
    for (name, wat, set) in cases {
        let bytes = wat::parse_str(&wat).unwrap();
        let binary = || WasmBinary::new(ModuleInput::Wasm(bytes.clone())).unwrap();
        let value = match rt.load_binary_within(binary(), &zero_budget()) {
            _ if name == "module-bytes" => u64::try_from(bytes.len()).unwrap(),
            Err(RuntimeError::OverBudget { exceeded }) => {
                exceeded
                    .0
                    .iter()
                    .find(|e| e.budget == name)
                    .unwrap_or_else(|| panic!("{name} not measured: {exceeded:?}"))
                    .value
            }
            other => panic!("{name}: {other:?}"),
        };
        let mut budget = CompileBudget::DEFAULT;
        set(&mut budget, value - 1);
        let err = rt.load_binary_within(binary(), &budget).unwrap_err();
        assert!(over_budget(&err, name), "{name}: {err:?}");
        set(&mut budget, value);
        assert!(rt.load_binary_within(binary(), &budget).is_ok(), "{name}");
    }
}

/// Every budget zero but the size (which, exceeded, stops the measuring):
/// whatever a module has is over it.
fn zero_budget() -> CompileBudget {
    CompileBudget {
        module_bytes: u64::MAX,
        code_bytes: 0,
        functions: 0,
        function_bytes: 0,
        function_locals: 0,
        locals: 0,
        types: 0,
        imports: 0,
        exports: 0,
        globals: 0,
        tables: 0,
        element_segments: 0,
        elements: 0,
        data_segments: 0,
        data_bytes: 0,
    }
}

/// Compiling counts against the timeout: a module that takes far longer
/// than 1 ms to compile (hundreds of functions, within the budget) run
/// under a 1 ms timeout never starts, and says so, on every engine.
#[test]
fn a_compile_that_outlives_the_timeout_is_a_timeout_and_the_guest_never_starts() {
    for (i, kind) in ENGINES.into_iter().enumerate() {
        // A module no other test compiles (its exit code differs per engine).
        let module = generated(200, 10, 60 + i32::try_from(i).unwrap());
        let dir = tempfile::tempdir().unwrap();
        let rt = Runtime::new(
            kind,
            RuntimeConfig {
                cache_dir: Some(dir.path().join("aot")),
                ..RuntimeConfig::default()
            },
        )
        .unwrap();
        let loaded: LoadedModule = rt.load(ModuleInput::Wasm(module)).unwrap();
        let mut quick = policy(kind, anrf_runtime::Capabilities::none());
        quick = RunPolicy::new(
            anrf_runtime::Limits {
                timeout: Duration::from_millis(1),
                ..*quick.limits()
            },
            quick.metering(),
        );
        let outcome = rt.run(&loaded, &quick, Invocation::default()).unwrap();
        assert_eq!(outcome.status, Status::Violation, "{kind}: {outcome:?}");
        assert_eq!(outcome.exit_code, 125, "{kind}: the guest ran: {outcome:?}");
        assert_eq!(outcome.violations.len(), 1, "{kind}: {outcome:?}");
        assert_eq!(outcome.violations[0].kind, ViolationKind::Timeout);
        assert!(
            outcome.violations[0].message.contains(
                "compiling the module did not finish within the run's wall-clock timeout of 1 ms"
            ),
            "{}",
            outcome.violations[0].message
        );
        assert_eq!(outcome.engine, kind);
        // The abandoned compilation finishes in the background; waiting for
        // it shares it, and the next run starts the guest at once.
        let usual = policy(kind, anrf_runtime::Capabilities::none());
        rt.prepare(&loaded, &usual).unwrap();
        let outcome = rt.run(&loaded, &usual, Invocation::default()).unwrap();
        assert_eq!(
            (outcome.status, outcome.exit_code),
            (Status::Ok, 60 + i32::try_from(i).unwrap()),
            "{kind}: {outcome:?}"
        );
    }
}

fn cache_entries(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| {
        d.flatten()
            .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
            .count()
    })
}

/// A long-lived runtime keeps at most `MAX_KEPT_MODULES` compiled modules per
/// engine: running more distinct modules drops the least recently used.
#[test]
fn compiled_modules_kept_in_memory_are_bounded() {
    // A runtime of its own: the shared one compiles other tests' modules.
    let rt = Runtime::new(EngineKind::Jit, RuntimeConfig::default()).unwrap();
    let usual = policy(EngineKind::Jit, anrf_runtime::Capabilities::none());
    let first = generated(1, 0, 0);
    let first = rt.load(ModuleInput::Wasm(first)).unwrap();
    rt.prepare(&first, &usual).unwrap();
    for i in 0..anrf_runtime::MAX_KEPT_MODULES + 5 {
        // Distinct modules: each exits with a code of its own.
        let module = generated(1, 0, i32::try_from(i + 1).unwrap());
        let loaded = rt.load(ModuleInput::Wasm(module)).unwrap();
        rt.prepare(&loaded, &usual).unwrap();
        if i == 0 {
            // Used again, so it is not the least recently used one.
            rt.prepare(&first, &usual).unwrap();
        }
    }
    assert_eq!(rt.compiled_modules(), anrf_runtime::MAX_KEPT_MODULES);
    // The bound evicted, and the evicted module still runs (compiled anew).
    let outcome = rt.run(&first, &usual, Invocation::default()).unwrap();
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
}
