//! Wasm artifact checks (`ANRF-W001`..`ANRF-W008`) with `wasmparser`.
//!
//! The artifact is validated against the features the runtime enables, its
//! imports against the WASI preview 1 functions the runtime links, its declared
//! memories and tables against the limits, and threads (shared memory, atomics)
//! are reported unless a `threads` override covers them.

use anrf_runtime::FeatureError;
use serde::{Deserialize, Serialize};
use wasmparser::{Parser, Payload, TypeRef, ValType, Validator, WasmFeatures};

use crate::finding::{CheckId, Finding, Location};

/// The only module name guests may import from.
pub const WASI_PREVIEW1_MODULE: &str = "wasi_snapshot_preview1";

/// Every function the runtime links for `wasi_snapshot_preview1`: one list, kept
/// in `anrf-runtime`. A guest importing anything else does not instantiate; the
/// verifier says so before anything runs.
pub use anrf_runtime::WASI_PREVIEW1_FUNCTIONS;

/// The core wasm signature of every WASI preview 1 function, `(name, params,
/// results)`, from `wasi_snapshot_preview1.witx` as `wasmtime-wasi` links it.
/// A function import with another signature does not instantiate, so `ANRF-W002`
/// reports it. A test keeps this table and [`WASI_PREVIEW1_FUNCTIONS`] in step,
/// and one instantiates every entry in the runtime.
pub const WASI_PREVIEW1_SIGNATURES: &[(&str, &[ValType], &[ValType])] = {
    use ValType::{I32, I64};
    &[
        ("args_get", &[I32, I32], &[I32]),
        ("args_sizes_get", &[I32, I32], &[I32]),
        ("environ_get", &[I32, I32], &[I32]),
        ("environ_sizes_get", &[I32, I32], &[I32]),
        ("clock_res_get", &[I32, I32], &[I32]),
        ("clock_time_get", &[I32, I64, I32], &[I32]),
        ("fd_advise", &[I32, I64, I64, I32], &[I32]),
        ("fd_allocate", &[I32, I64, I64], &[I32]),
        ("fd_close", &[I32], &[I32]),
        ("fd_datasync", &[I32], &[I32]),
        ("fd_fdstat_get", &[I32, I32], &[I32]),
        ("fd_fdstat_set_flags", &[I32, I32], &[I32]),
        ("fd_fdstat_set_rights", &[I32, I64, I64], &[I32]),
        ("fd_filestat_get", &[I32, I32], &[I32]),
        ("fd_filestat_set_size", &[I32, I64], &[I32]),
        ("fd_filestat_set_times", &[I32, I64, I64, I32], &[I32]),
        ("fd_pread", &[I32, I32, I32, I64, I32], &[I32]),
        ("fd_prestat_get", &[I32, I32], &[I32]),
        ("fd_prestat_dir_name", &[I32, I32, I32], &[I32]),
        ("fd_pwrite", &[I32, I32, I32, I64, I32], &[I32]),
        ("fd_read", &[I32, I32, I32, I32], &[I32]),
        ("fd_readdir", &[I32, I32, I32, I64, I32], &[I32]),
        ("fd_renumber", &[I32, I32], &[I32]),
        ("fd_seek", &[I32, I64, I32, I32], &[I32]),
        ("fd_sync", &[I32], &[I32]),
        ("fd_tell", &[I32, I32], &[I32]),
        ("fd_write", &[I32, I32, I32, I32], &[I32]),
        ("path_create_directory", &[I32, I32, I32], &[I32]),
        ("path_filestat_get", &[I32, I32, I32, I32, I32], &[I32]),
        (
            "path_filestat_set_times",
            &[I32, I32, I32, I32, I64, I64, I32],
            &[I32],
        ),
        ("path_link", &[I32, I32, I32, I32, I32, I32, I32], &[I32]),
        (
            "path_open",
            &[I32, I32, I32, I32, I32, I64, I64, I32, I32],
            &[I32],
        ),
        ("path_readlink", &[I32, I32, I32, I32, I32, I32], &[I32]),
        ("path_remove_directory", &[I32, I32, I32], &[I32]),
        ("path_rename", &[I32, I32, I32, I32, I32, I32], &[I32]),
        ("path_symlink", &[I32, I32, I32, I32, I32], &[I32]),
        ("path_unlink_file", &[I32, I32, I32], &[I32]),
        ("poll_oneoff", &[I32, I32, I32, I32], &[I32]),
        ("proc_exit", &[I32], &[]),
        ("proc_raise", &[I32], &[I32]),
        ("sched_yield", &[], &[I32]),
        ("random_get", &[I32, I32], &[I32]),
        ("sock_accept", &[I32, I32, I32], &[I32]),
        ("sock_recv", &[I32, I32, I32, I32, I32, I32], &[I32]),
        ("sock_send", &[I32, I32, I32, I32, I32], &[I32]),
        ("sock_shutdown", &[I32, I32], &[I32]),
    ]
};

/// The signature the runtime links for `wasi_snapshot_preview1::name`.
pub fn wasi_signature(name: &str) -> Option<(&'static [ValType], &'static [ValType])> {
    WASI_PREVIEW1_SIGNATURES
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, params, results)| (*params, *results))
}

/// The largest table (in elements) a module may declare.
pub const TABLE_ELEMENTS_LIMIT: u64 = 10_000;

/// Size of a wasm page (custom page sizes are not enabled).
pub const WASM_PAGE_BYTES: u64 = 65_536;

/// The wasm features the runtime enables, from the runtime's one list
/// ([`anrf_runtime::wasm_features`]): WebAssembly 2.0 plus tail calls and
/// extended constant expressions. Every other proposal
/// ([`anrf_runtime::REFUSED_PROPOSALS`]) is refused, with the runtime's words.
pub fn runtime_features() -> WasmFeatures {
    anrf_runtime::wasm_features()
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

/// What kind of entity an import is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ImportKind {
    /// A function (the only kind the runtime provides).
    Func,
    /// A linear memory.
    Memory,
    /// A table.
    Table,
    /// A global.
    Global,
    /// An exception tag.
    Tag,
}

impl ImportKind {
    fn word(self) -> &'static str {
        match self {
            ImportKind::Func => "function",
            ImportKind::Memory => "memory",
            ImportKind::Table => "table",
            ImportKind::Global => "global",
            ImportKind::Tag => "tag",
        }
    }
}

/// One import as declared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportFact {
    /// The import's module, e.g. `wasi_snapshot_preview1`.
    pub module: String,
    /// The import's name, e.g. `fd_write`.
    pub name: String,
    /// What it is.
    pub kind: ImportKind,
    /// For a function, its type, e.g. `(i32, i32) -> (i32)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// What the wasm checks established about the artifact.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WasmFacts {
    /// Artifact size in bytes.
    pub size_bytes: u64,
    /// Every import, with its kind and (for functions) its type.
    pub imports: Vec<ImportFact>,
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
    // The runtime's own check, so that both refuse a proposal in the same words.
    let threads = match anrf_runtime::check_features(bytes) {
        Ok(()) => None,
        Err(FeatureError::Refused(refusal))
            if refusal.proposal().is_threads()
                && Validator::new_with_features(runtime_features() | WasmFeatures::THREADS)
                    .validate_all(bytes)
                    .is_ok() =>
        {
            Some(refusal)
        }
        Err(err) => {
            let message = match &err {
                FeatureError::Refused(refusal) => format!("`{file}` {refusal}"),
                FeatureError::Invalid { .. } => {
                    format!("`{file}` is not a valid wasm module for the runtime: {err}")
                }
            };
            findings.push(Finding::new(CheckId::W001, message).at(at()));
            return (findings, None);
        }
    };
    let uses_threads = threads.is_some();
    let mut facts = WasmFacts {
        size_bytes: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
        uses_threads,
        ..WasmFacts::default()
    };
    if let Some(refusal) = threads {
        findings.push(Finding::new(CheckId::W007, format!("`{file}` {refusal}")).at(at()));
    }
    if let Err(err) = collect(bytes, &mut facts) {
        findings.push(
            Finding::new(CheckId::W001, format!("`{file}` could not be read: {err}")).at(at()),
        );
        return (findings, None);
    }
    for import in &facts.imports {
        if let Some(problem) = import_problem(import) {
            findings.push(
                Finding::new(
                    CheckId::W002,
                    format!(
                        "import `{}`.`{}` {problem}",
                        import.module, import.name
                    ),
                )
                .at(at())
                .help(format!(
                    "the runtime links only the {} functions of `{WASI_PREVIEW1_MODULE}`, each with its WASI signature, and no memory, table, global or tag; remove the code or dependency that needs `{}`, and build for `wasm32-wasip1`",
                    WASI_PREVIEW1_FUNCTIONS.len(),
                    import.name
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

/// Why the runtime cannot satisfy `import`, if it cannot.
fn import_problem(import: &ImportFact) -> Option<String> {
    if import.module != WASI_PREVIEW1_MODULE {
        return Some(format!(
            "is not provided by the runtime: only `{WASI_PREVIEW1_MODULE}` is linked"
        ));
    }
    let Some((params, results)) = wasi_signature(&import.name) else {
        return Some(format!(
            "is not provided by the runtime: `{}` is not a WASI preview 1 function",
            import.name
        ));
    };
    if import.kind != ImportKind::Func {
        return Some(format!(
            "is a {}, but the runtime provides `{}` only as a function: no memory, table, global or tag is ever imported",
            import.kind.word(),
            import.name
        ));
    }
    let expected = signature_text(params, results);
    match &import.signature {
        Some(sig) if *sig == expected => None,
        Some(sig) => Some(format!(
            "has type `{sig}`, but the runtime's `{}` is `{expected}`: the module cannot instantiate",
            import.name
        )),
        None => Some(format!(
            "has a type that is not a plain function type; the runtime's `{}` is `{expected}`",
            import.name
        )),
    }
}

/// A function type as text, e.g. `(i32, i64) -> (i32)`.
fn signature_text(params: &[ValType], results: &[ValType]) -> String {
    let list = |types: &[ValType]| {
        types
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("({}) -> ({})", list(params), list(results))
}

fn collect(bytes: &[u8], facts: &mut WasmFacts) -> wasmparser::Result<()> {
    // (params, results) per type index, and the type index of every function.
    let mut types: Vec<Option<(usize, usize)>> = Vec::new();
    let mut signatures: Vec<Option<String>> = Vec::new();
    let mut functions: Vec<u32> = Vec::new();
    let mut start: Option<u32> = None;
    for payload in Parser::new(0).parse_all(bytes) {
        match payload? {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub in group?.into_types() {
                        if let wasmparser::CompositeInnerType::Func(f) = &sub.composite_type.inner {
                            types.push(Some((f.params().len(), f.results().len())));
                            signatures.push(Some(signature_text(f.params(), f.results())));
                        } else {
                            types.push(None);
                            signatures.push(None);
                        }
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
                    let (kind, signature) = match import.ty {
                        TypeRef::Func(ty) | TypeRef::FuncExact(ty) => {
                            functions.push(ty);
                            let sig = usize::try_from(ty)
                                .ok()
                                .and_then(|i| signatures.get(i).cloned().flatten());
                            (ImportKind::Func, sig)
                        }
                        TypeRef::Memory(_) => (ImportKind::Memory, None),
                        TypeRef::Table(_) => (ImportKind::Table, None),
                        TypeRef::Global(_) => (ImportKind::Global, None),
                        TypeRef::Tag(_) => (ImportKind::Tag, None),
                    };
                    facts.imports.push(ImportFact {
                        module: import.module.to_owned(),
                        name: import.name.to_owned(),
                        kind,
                        signature,
                    });
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
        assert_eq!(
            facts.imports,
            vec![ImportFact {
                module: "wasi_snapshot_preview1".into(),
                name: "fd_write".into(),
                kind: ImportKind::Func,
                signature: Some("(i32, i32, i32, i32) -> (i32)".into()),
            }]
        );
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
    fn w002_only_functions_are_provided() {
        for import in ["(memory 1)", "(table 1 funcref)", "(global i32)"] {
            let wat = format!(
                r#"(module (import "wasi_snapshot_preview1" "fd_write" {import}) (func (export "_start")))"#
            );
            let bytes = wat::parse_str(&wat).unwrap();
            let (findings, facts) = check_wasm("guest.wasm", &bytes, LIMITS);
            let ids: Vec<CheckId> = findings.iter().map(|f| f.id).collect();
            assert_eq!(ids, vec![CheckId::W002], "{import}");
            assert!(
                findings[0].message.contains("only as a function"),
                "{}",
                findings[0].message
            );
            assert_ne!(facts.unwrap().imports[0].kind, ImportKind::Func);
        }
    }

    #[test]
    fn w002_function_imports_need_the_wasi_signature() {
        let (ids, _) = check(
            r#"(module
                (import "wasi_snapshot_preview1" "fd_write" (func (param i32) (result i32)))
                (import "wasi_snapshot_preview1" "proc_exit" (func (param i32) (result i32)))
                (func (export "_start")))"#,
        );
        assert_eq!(ids, vec![CheckId::W002, CheckId::W002]);
        let bytes = wat::parse_str(
            r#"(module (import "wasi_snapshot_preview1" "clock_time_get" (func (param i32 i32 i32) (result i32))) (func (export "_start")))"#,
        )
        .unwrap();
        let (findings, _) = check_wasm("guest.wasm", &bytes, LIMITS);
        assert!(
            findings[0]
                .message
                .contains("the runtime's `clock_time_get` is `(i32, i64, i32) -> (i32)`"),
            "{}",
            findings[0].message
        );
    }

    #[test]
    fn the_signature_table_covers_exactly_the_runtime_list() {
        let names: Vec<&str> = WASI_PREVIEW1_SIGNATURES
            .iter()
            .map(|(n, _, _)| *n)
            .collect();
        let mut a = names.clone();
        a.sort_unstable();
        let mut b = WASI_PREVIEW1_FUNCTIONS.to_vec();
        b.sort_unstable();
        assert_eq!(a, b);
    }

    /// Every signature in the table instantiates in the runtime, and a wrong one
    /// does not: the table is the runtime's truth, not a guess.
    #[test]
    fn the_runtime_links_every_signature_in_the_table() {
        use anrf_runtime::{
            EngineKind, Invocation, Limits, Metering, ModuleInput, RunPolicy, Runtime,
            RuntimeConfig, Status,
        };
        let wat_type = |types: &[ValType]| {
            types
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(" ")
        };
        let imports = WASI_PREVIEW1_SIGNATURES.iter().fold(
            String::new(),
            |mut out, (name, params, results)| {
                use std::fmt::Write as _;
                let _ = writeln!(
                    out,
                    "(import \"wasi_snapshot_preview1\" \"{name}\" (func (param {}) (result {})))",
                    wat_type(params),
                    wat_type(results)
                );
                out
            },
        );
        let runtime = Runtime::new(EngineKind::Jit, RuntimeConfig::default()).unwrap();
        let run = |wat: &str| {
            let bytes = wat::parse_str(wat).unwrap();
            let (findings, _) = check_wasm("guest.wasm", &bytes, LIMITS);
            let loaded = runtime.load(ModuleInput::Wasm(bytes)).unwrap();
            let policy = RunPolicy::new(Limits::DEFAULT, Metering::Fuel);
            let invocation = Invocation {
                stdin: Vec::new(),
                args: Vec::new(),
                program: "t".into(),
                stream_stdin: false,
            };
            let outcome = runtime.run(&loaded, &policy, invocation).unwrap();
            (findings, outcome.status)
        };
        let good =
            format!("(module {imports} (memory (export \"memory\") 1) (func (export \"_start\")))");
        let (findings, status) = run(&good);
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(status, Status::Ok);
        let wrong = r#"(module (import "wasi_snapshot_preview1" "fd_write" (func (param i32) (result i32))) (memory (export "memory") 1) (func (export "_start")))"#;
        let (findings, status) = run(wrong);
        assert_eq!(findings.len(), 1);
        assert_ne!(
            status,
            Status::Ok,
            "the runtime refuses a wrong signature too"
        );
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

    /// The samples the runtime's tests refuse on every engine
    /// (`tests/hostile/wat/proposals/`): each is a finding here, in the same words.
    #[test]
    fn w001_w007_each_refused_proposal_in_the_runtimes_words() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/hostile/wat/proposals");
        let runtime = anrf_runtime::Runtime::new(
            anrf_runtime::EngineKind::Jit,
            anrf_runtime::RuntimeConfig::default(),
        )
        .unwrap();
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let bytes = wat::parse_file(&path).unwrap();
            let (findings, _) = check_wasm("guest.wasm", &bytes, LIMITS);
            let proposal = anrf_runtime::REFUSED_PROPOSALS
                .iter()
                .find(|p| p.name() == name)
                .unwrap();
            let expected = if proposal.is_threads() {
                CheckId::W007
            } else {
                CheckId::W001
            };
            assert_eq!(findings[0].id, expected, "{name}");
            let words = format!("`guest.wasm` {}: ", proposal.refusal());
            assert!(
                findings[0].message.starts_with(&words),
                "{name}: {}",
                findings[0].message
            );
            let err = runtime
                .load(anrf_runtime::ModuleInput::Wasm(bytes))
                .unwrap_err();
            assert!(
                err.to_string().contains(&proposal.refusal()),
                "{name}: {err}"
            );
            seen += 1;
        }
        assert!(seen >= 12, "{seen} samples");
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
