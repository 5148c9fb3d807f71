//! Wasm artifact checks (`ANRF-W001`..`ANRF-W008`) with `wasmparser`.
//!
//! The artifact is validated against the features the runtime enables, its
//! imports against the WASI preview 1 functions the runtime links, its declared
//! memories and tables against the limits, and threads (shared memory, atomics)
//! are reported unless a `threads` override covers them.

use serde::{Deserialize, Serialize};
use wasmparser::{Parser, Payload, TypeRef, Validator, WasmFeatures};

use crate::finding::{CheckId, Finding, Location};

/// The only module name guests may import from.
pub const WASI_PREVIEW1_MODULE: &str = "wasi_snapshot_preview1";

/// Every function the runtime links for `wasi_snapshot_preview1`: one list, kept
/// in `anrf-runtime`. A guest importing anything else does not instantiate; the
/// verifier says so before anything runs.
pub use anrf_runtime::WASI_PREVIEW1_FUNCTIONS;

/// The largest table (in elements) a module may declare.
pub const TABLE_ELEMENTS_LIMIT: u64 = 10_000;

/// Size of a wasm page (custom page sizes are not enabled).
pub const WASM_PAGE_BYTES: u64 = 65_536;

/// The wasm features the runtime enables: WebAssembly 2.0 plus tail calls,
/// extended constant expressions and the bulk-memory / call-indirect
/// refinements that current `rustc` and `clang` emit. Threads, shared memory,
/// memory64, GC, exceptions and component-model features are off.
pub fn runtime_features() -> WasmFeatures {
    WasmFeatures::WASM2
        | WasmFeatures::TAIL_CALL
        | WasmFeatures::EXTENDED_CONST
        | WasmFeatures::BULK_MEMORY_OPT
        | WasmFeatures::CALL_INDIRECT_OVERLONG
}

/// What the checks need to know from the manifest.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WasmLimits {
    /// `security.limits.memory`, in bytes (after approved raises).
    pub memory_bytes: u64,
    /// Whether the interface is a command (needs `_start`).
    pub command: bool,
}

/// One declared linear memory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryFact {
    /// Initial size in bytes.
    pub initial_bytes: u64,
    /// Declared maximum in bytes; `None` when the module declares none (the
    /// runtime's memory limit then bounds growth).
    pub maximum_bytes: Option<u64>,
    /// Whether it is shared (threads).
    pub shared: bool,
    /// Whether it is imported rather than defined.
    pub imported: bool,
}

/// One declared table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableFact {
    /// Initial elements.
    pub initial: u64,
    /// Declared maximum elements.
    pub maximum: Option<u64>,
}

/// What the wasm checks established about the artifact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WasmFacts {
    /// Artifact size in bytes.
    pub size_bytes: u64,
    /// Every import as `module::name`.
    pub imports: Vec<String>,
    /// Declared memories.
    pub memories: Vec<MemoryFact>,
    /// Declared tables.
    pub tables: Vec<TableFact>,
    /// Whether `_start` is exported as a function of type `[] -> []`.
    pub exports_start: bool,
    /// Whether the module needs the threads proposal.
    pub uses_threads: bool,
}

/// Checks one artifact. `file` is its path relative to the module.
pub(crate) fn check_wasm(
    file: &str,
    bytes: &[u8],
    limits: WasmLimits,
) -> (Vec<Finding>, Option<WasmFacts>) {
    let mut findings = Vec::new();
    let at = || Location::file(file);
    let uses_threads = match Validator::new_with_features(runtime_features()).validate_all(bytes) {
        Ok(_) => false,
        Err(err) => {
            let with_threads = runtime_features() | WasmFeatures::THREADS;
            if Validator::new_with_features(with_threads)
                .validate_all(bytes)
                .is_ok()
            {
                true
            } else {
                findings.push(
                    Finding::new(
                        CheckId::W001,
                        format!(
                            "`{file}` is not a valid wasm module for the runtime: {} (at byte offset {:#x})",
                            err.message(),
                            err.offset()
                        ),
                    )
                    .at(at()),
                );
                return (findings, None);
            }
        }
    };
    let mut facts = WasmFacts {
        size_bytes: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
        uses_threads,
        ..WasmFacts::default()
    };
    if uses_threads {
        findings.push(
            Finding::new(
                CheckId::W007,
                format!(
                    "`{file}` uses shared memory or atomic instructions (the threads proposal)"
                ),
            )
            .at(at()),
        );
    }
    if let Err(err) = collect(bytes, &mut facts) {
        findings.push(
            Finding::new(CheckId::W001, format!("`{file}` could not be read: {err}")).at(at()),
        );
        return (findings, None);
    }
    for import in &facts.imports {
        let (module, name) = import.split_once("::").unwrap_or((import.as_str(), ""));
        if module != WASI_PREVIEW1_MODULE || !WASI_PREVIEW1_FUNCTIONS.contains(&name) {
            findings.push(
                Finding::new(
                    CheckId::W002,
                    format!("import `{module}`.`{name}` is not provided by the runtime"),
                )
                .at(at())
                .help(format!(
                    "only functions of `{WASI_PREVIEW1_MODULE}` are linked ({} of them); remove the code or dependency that needs `{name}`",
                    WASI_PREVIEW1_FUNCTIONS.len()
                )),
            );
        }
    }
    for memory in &facts.memories {
        if memory.initial_bytes > limits.memory_bytes {
            findings.push(
                Finding::new(
                    CheckId::W003,
                    format!(
                        "the initial memory is {} bytes, above the memory limit of {} bytes: the module cannot start",
                        memory.initial_bytes, limits.memory_bytes
                    ),
                )
                .at(at()),
            );
        }
        if let Some(max) = memory
            .maximum_bytes
            .filter(|max| *max > limits.memory_bytes)
        {
            findings.push(
                Finding::new(
                    CheckId::W004,
                    format!(
                        "the declared maximum memory is {max} bytes, above the memory limit of {} bytes",
                        limits.memory_bytes
                    ),
                )
                .at(at()),
            );
        }
    }
    for table in &facts.tables {
        if table.initial > TABLE_ELEMENTS_LIMIT {
            findings.push(
                Finding::new(
                    CheckId::W005,
                    format!(
                        "a table starts with {} elements, above the limit of {TABLE_ELEMENTS_LIMIT}",
                        table.initial
                    ),
                )
                .at(at()),
            );
        }
        if let Some(max) = table.maximum.filter(|max| *max > TABLE_ELEMENTS_LIMIT) {
            findings.push(
                Finding::new(
                    CheckId::W006,
                    format!("a table declares a maximum of {max} elements, above the limit of {TABLE_ELEMENTS_LIMIT}"),
                )
                .at(at()),
            );
        }
    }
    if limits.command && !facts.exports_start {
        findings.push(
            Finding::new(
                CheckId::W008,
                format!(
                    "`{file}` does not export a `_start` function taking and returning nothing, so it cannot run as a command"
                ),
            )
            .at(at()),
        );
    }
    (findings, Some(facts))
}

fn collect(bytes: &[u8], facts: &mut WasmFacts) -> wasmparser::Result<()> {
    // (params, results) per type index, and the type index of every function.
    let mut types: Vec<Option<(usize, usize)>> = Vec::new();
    let mut functions: Vec<u32> = Vec::new();
    let mut start: Option<u32> = None;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload? {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub in group?.into_types() {
                        types.push(match &sub.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f) => {
                                Some((f.params().len(), f.results().len()))
                            }
                            _ => None,
                        });
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    functions.push(ty?);
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import?;
                    if let TypeRef::Func(ty) | TypeRef::FuncExact(ty) = import.ty {
                        functions.push(ty);
                    }
                    facts
                        .imports
                        .push(format!("{}::{}", import.module, import.name));
                    match import.ty {
                        TypeRef::Memory(memory) => facts.memories.push(memory_fact(memory, true)),
                        TypeRef::Table(table) => facts.tables.push(TableFact {
                            initial: table.initial,
                            maximum: table.maximum,
                        }),
                        _ => {}
                    }
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    facts.memories.push(memory_fact(memory?, false));
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    let table = table?.ty;
                    facts.tables.push(TableFact {
                        initial: table.initial,
                        maximum: table.maximum,
                    });
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    if export.name == "_start"
                        && matches!(export.kind, wasmparser::ExternalKind::Func)
                    {
                        start = Some(export.index);
                    }
                }
            }
            _ => {}
        }
    }
    facts.exports_start = start
        .and_then(|f| functions.get(usize::try_from(f).ok()?).copied())
        .and_then(|ty| types.get(usize::try_from(ty).ok()?).copied().flatten())
        == Some((0, 0));
    Ok(())
}

fn memory_fact(memory: wasmparser::MemoryType, imported: bool) -> MemoryFact {
    let page = memory.page_size_log2.map_or(WASM_PAGE_BYTES, |log2| {
        1u64.checked_shl(log2).unwrap_or(u64::MAX)
    });
    MemoryFact {
        initial_bytes: memory.initial.saturating_mul(page),
        maximum_bytes: memory.maximum.map(|max| max.saturating_mul(page)),
        shared: memory.shared,
        imported,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: WasmLimits = WasmLimits {
        memory_bytes: 64 * 1024 * 1024,
        command: true,
    };

    fn check(wat: &str) -> (Vec<CheckId>, Option<WasmFacts>) {
        let bytes = wat::parse_str(wat).unwrap();
        let (findings, facts) = check_wasm("guest.wasm", &bytes, LIMITS);
        (findings.into_iter().map(|f| f.id).collect(), facts)
    }

    const GOOD: &str = r#"(module
        (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
        (memory (export "memory") 1 16)
        (table 1 funcref)
        (func (export "_start")))"#;

    #[test]
    fn good_module_passes_with_facts() {
        let (ids, facts) = check(GOOD);
        assert!(ids.is_empty(), "{ids:?}");
        let facts = facts.unwrap();
        assert_eq!(facts.imports, vec!["wasi_snapshot_preview1::fd_write"]);
        assert_eq!(facts.memories[0].initial_bytes, 65_536);
        assert_eq!(facts.memories[0].maximum_bytes, Some(16 * 65_536));
        assert!(facts.exports_start);
    }

    #[test]
    fn the_import_list_is_wasi_preview1() {
        assert_eq!(WASI_PREVIEW1_FUNCTIONS.len(), 46);
        for name in [
            "fd_write",
            "fd_read",
            "proc_exit",
            "random_get",
            "path_open",
            "args_get",
        ] {
            assert!(WASI_PREVIEW1_FUNCTIONS.contains(&name), "{name}");
        }
        let mut sorted = WASI_PREVIEW1_FUNCTIONS.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), WASI_PREVIEW1_FUNCTIONS.len());
    }

    #[test]
    fn w001_invalid_module() {
        let (findings, facts) = check_wasm("guest.wasm", b"\0asm\x01\0\0\0garbage", LIMITS);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].id, CheckId::W001);
        assert!(facts.is_none());
        let (findings, _) = check_wasm("guest.wasm", b"not wasm at all", LIMITS);
        assert_eq!(findings[0].id, CheckId::W001);
    }

    #[test]
    fn w002_foreign_imports() {
        let (ids, _) = check(
            r#"(module
                (import "env" "system" (func))
                (import "wasi_snapshot_preview1" "not_a_wasi_call" (func))
                (import "wasi_snapshot_preview1" "fd_read" (func (param i32 i32 i32 i32) (result i32)))
                (func (export "_start")))"#,
        );
        assert_eq!(ids, vec![CheckId::W002, CheckId::W002]);
    }

    #[test]
    fn w003_initial_memory_over_limit() {
        // 2048 pages = 128 MiB > 64 MiB.
        let (ids, _) = check(r#"(module (memory 2048) (func (export "_start")))"#);
        assert_eq!(ids, vec![CheckId::W003]);
    }

    #[test]
    fn w004_maximum_memory_over_limit() {
        let (ids, facts) = check(r#"(module (memory 1 4096) (func (export "_start")))"#);
        assert_eq!(ids, vec![CheckId::W004]);
        let (ids, facts_unbounded) = check(r#"(module (memory 1) (func (export "_start")))"#);
        assert!(ids.is_empty());
        assert_eq!(facts_unbounded.unwrap().memories[0].maximum_bytes, None);
        assert_eq!(
            facts.unwrap().memories[0].maximum_bytes,
            Some(4096 * 65_536)
        );
    }

    #[test]
    fn w005_w006_tables_over_limit() {
        let (ids, _) = check(r#"(module (table 20000 funcref) (func (export "_start")))"#);
        assert_eq!(ids, vec![CheckId::W005]);
        let (ids, _) = check(r#"(module (table 1 20000 funcref) (func (export "_start")))"#);
        assert_eq!(ids, vec![CheckId::W006]);
    }

    #[test]
    fn w007_shared_memory_and_atomics() {
        let (ids, facts) = check(r#"(module (memory 1 1 shared) (func (export "_start")))"#);
        assert_eq!(ids, vec![CheckId::W007]);
        assert!(facts.unwrap().memories[0].shared);
        let (ids, _) = check(
            r#"(module (memory 1 1 shared)
                (func (export "_start") (drop (i32.atomic.load (i32.const 0)))))"#,
        );
        assert_eq!(ids, vec![CheckId::W007]);
    }

    #[test]
    fn w008_missing_start() {
        let (ids, _) = check(r#"(module (func (export "main")))"#);
        assert_eq!(ids, vec![CheckId::W008]);
        let (ids, _) = check(r#"(module (func (export "_start") (param i32)))"#);
        assert_eq!(
            ids,
            vec![CheckId::W008],
            "a mistyped `_start` is no entry point"
        );
        let bytes = wat::parse_str(r#"(module (func (export "main")))"#).unwrap();
        let (findings, _) = check_wasm(
            "g.wasm",
            &bytes,
            WasmLimits {
                command: false,
                ..LIMITS
            },
        );
        assert!(findings.is_empty());
    }
}
