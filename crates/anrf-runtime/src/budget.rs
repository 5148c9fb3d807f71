//! Compile budgets: how large a module may be before anything compiles it.
//!
//! Compiling is the one step whose cost the guest's limits do not bound: a
//! 15 MB module of 500 000 empty functions takes a minute and gigabytes of
//! host memory to compile, whatever its memory limit. So before wasmtime sees
//! a module, one `wasmparser` pass (parsing only, function bodies skipped
//! except their local declarations) measures it, and a module over any
//! [`CompileBudget`] is refused with every budget it exceeds.

use wasmparser::{ElementItems, Parser, Payload};

use crate::error::RuntimeError;

/// The sizes and counts a module must fit before it is validated or compiled.
/// Every field is a maximum; [`CompileBudget::DEFAULT`] states the defaults.
/// Each budget has a name (the field's, in kebab case, in the table below):
/// [`CompileBudget::get`] and [`CompileBudget::set`] take it, and an embedder
/// that grants raises by name (`raise:functions=50000`) uses them.
/// Compile time and host memory grow with the code size, the number of
/// functions and the size of the largest function, so these budgets bound
/// them (docs/runtime.md, "Compile budgets", has the measured bound).
///
/// | budget | default | what is counted |
/// |---|---|---|
/// | `module-bytes` | 64 MiB | the whole binary, custom sections included |
/// | `code-bytes` | 16 MiB | the function bodies together |
/// | `functions` | 20 000 | functions the module defines (imports not counted) |
/// | `function-bytes` | 1 MiB | the largest function body |
/// | `function-locals` | 10 000 | locals one function declares |
/// | `locals` | 1 000 000 | locals all functions declare together |
/// | `types` | 10 000 | type definitions |
/// | `imports` | 1 000 | imports |
/// | `exports` | 10 000 | exports |
/// | `globals` | 10 000 | globals the module defines |
/// | `tables` | 16 | tables the module defines |
/// | `element-segments` | 10 000 | element segments |
/// | `elements` | 100 000 | entries of all element segments together |
/// | `data-segments` | 10 000 | data segments |
/// | `data-bytes` | 32 MiB | bytes of all data segments together |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompileBudget {
    /// Size of the binary, in bytes.
    pub module_bytes: u64,
    /// Bytes of all function bodies together.
    pub code_bytes: u64,
    /// Functions the module defines.
    pub functions: u64,
    /// Bytes of the largest function body.
    pub function_bytes: u64,
    /// Locals declared by one function.
    pub function_locals: u64,
    /// Locals declared by all functions together.
    pub locals: u64,
    /// Type definitions.
    pub types: u64,
    /// Imports.
    pub imports: u64,
    /// Exports.
    pub exports: u64,
    /// Globals the module defines.
    pub globals: u64,
    /// Tables the module defines.
    pub tables: u64,
    /// Element segments.
    pub element_segments: u64,
    /// Entries of all element segments together.
    pub elements: u64,
    /// Data segments.
    pub data_segments: u64,
    /// Bytes of all data segments together.
    pub data_bytes: u64,
}

impl CompileBudget {
    /// The built-in budgets: generous for what `rustc` and `clang` emit for a
    /// tool (a few thousand functions, a few MiB of code), small enough that
    /// compiling the largest module within them stays within a few hundred
    /// MiB of host memory and seconds of work.
    pub const DEFAULT: CompileBudget = CompileBudget {
        module_bytes: 64 << 20,
        code_bytes: 16 << 20,
        functions: 20_000,
        function_bytes: 1 << 20,
        function_locals: 10_000,
        locals: 1_000_000,
        types: 10_000,
        imports: 1_000,
        exports: 10_000,
        globals: 10_000,
        tables: 16,
        element_segments: 10_000,
        elements: 100_000,
        data_segments: 10_000,
        data_bytes: 32 << 20,
    };

    /// The name of every budget, in the order of the table above.
    pub fn names() -> impl Iterator<Item = &'static str> {
        ITEMS.iter().map(|(name, _)| *name)
    }

    /// The budget called `name` (e.g. `functions`, `code-bytes`), if there is
    /// one.
    pub fn get(&self, name: &str) -> Option<u64> {
        let at = ITEMS.iter().position(|(n, _)| *n == name)?;
        Some(self.values()[at])
    }

    /// Sets the budget called `name` to `value`; `false` (and nothing
    /// changed) when no budget has that name.
    pub fn set(&mut self, name: &str, value: u64) -> bool {
        let Some(at) = ITEMS.iter().position(|(n, _)| *n == name) else {
            return false;
        };
        let fields = [
            &mut self.module_bytes,
            &mut self.code_bytes,
            &mut self.functions,
            &mut self.function_bytes,
            &mut self.function_locals,
            &mut self.locals,
            &mut self.types,
            &mut self.imports,
            &mut self.exports,
            &mut self.globals,
            &mut self.tables,
            &mut self.element_segments,
            &mut self.elements,
            &mut self.data_segments,
            &mut self.data_bytes,
        ];
        if let Some(field) = fields.into_iter().nth(at) {
            *field = value;
        }
        true
    }

    /// Measures `bytes` (one parsing pass) and refuses them if they exceed
    /// any budget, naming every budget exceeded: what `Runtime::load` does
    /// first, for a caller (the verifier, say) that only wants the answer.
    pub fn check_module(&self, bytes: &[u8]) -> Result<(), RuntimeError> {
        measure(bytes, self).map(drop)
    }

    /// Every budget `measured` exceeds, in the order of the table above.
    pub(crate) fn excesses(&self, measured: &ModuleShape) -> Vec<BudgetExcess> {
        let limits = self.values();
        measured
            .0
            .values()
            .into_iter()
            .zip(limits)
            .zip(ITEMS)
            .filter(|((value, limit), _)| value > limit)
            .map(|((value, limit), (budget, what))| BudgetExcess {
                budget,
                what,
                value,
                limit,
            })
            .collect()
    }

    /// Refuses `measured` if it exceeds any budget.
    pub(crate) fn check(&self, measured: &ModuleShape) -> Result<(), RuntimeError> {
        let exceeded = self.excesses(measured);
        if exceeded.is_empty() {
            Ok(())
        } else {
            Err(RuntimeError::OverBudget {
                exceeded: BudgetExcesses(exceeded),
            })
        }
    }

    fn values(&self) -> [u64; ITEMS.len()] {
        [
            self.module_bytes,
            self.code_bytes,
            self.functions,
            self.function_bytes,
            self.function_locals,
            self.locals,
            self.types,
            self.imports,
            self.exports,
            self.globals,
            self.tables,
            self.element_segments,
            self.elements,
            self.data_segments,
            self.data_bytes,
        ]
    }
}

impl Default for CompileBudget {
    fn default() -> Self {
        CompileBudget::DEFAULT
    }
}

/// Each budget's name (the one a `raise:NAME=VALUE` override uses: the field
/// name in kebab case) and what it counts, in the order of
/// [`CompileBudget::values`].
const ITEMS: [(&str, &str); 15] = [
    ("module-bytes", "bytes in the module"),
    ("code-bytes", "bytes of function bodies"),
    ("functions", "defined functions"),
    ("function-bytes", "bytes in its largest function body"),
    ("function-locals", "locals in one function"),
    ("locals", "locals in all functions"),
    ("types", "types"),
    ("imports", "imports"),
    ("exports", "exports"),
    ("globals", "globals"),
    ("tables", "tables"),
    ("element-segments", "element segments"),
    ("elements", "element segment entries"),
    ("data-segments", "data segments"),
    ("data-bytes", "bytes in data segments"),
];

/// One budget a module exceeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetExcess {
    /// The budget's name, e.g. `functions` or `code-bytes`.
    pub budget: &'static str,
    /// What it counts, e.g. `defined functions`.
    pub what: &'static str,
    /// The module's value.
    pub value: u64,
    /// The budget's value.
    pub limit: u64,
}

/// Every budget a module exceeds (never empty in an error).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BudgetExcesses(pub Vec<BudgetExcess>);

impl BudgetExcesses {
    /// The raises that would admit the module, as an override writes them:
    /// `` `raise:functions=30000` ``, comma-separated.
    pub fn raises(&self) -> String {
        self.0
            .iter()
            .map(|e| format!("`raise:{}={}`", e.budget, e.value))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl std::fmt::Display for BudgetExcesses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(
                f,
                "it has {} {}, above the budget of {} (`{}`)",
                e.value, e.what, e.limit, e.budget
            )?;
        }
        Ok(())
    }
}

/// What a module measured, in the shape of a budget (each field the module's
/// own value).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ModuleShape(CompileBudget);

/// Measures `bytes` in one parsing pass and refuses it if it exceeds `budget`.
/// The size is checked before anything is parsed; parsing is linear in the
/// size, never validates and never compiles. A binary that does not parse is
/// `InvalidModule`. A component stops the measuring (it is refused later, by
/// validation, with the words of [`crate::REFUSED_PROPOSALS`]).
pub(crate) fn measure(bytes: &[u8], budget: &CompileBudget) -> Result<ModuleShape, RuntimeError> {
    let mut shape = ModuleShape(CompileBudget {
        module_bytes: len(bytes.len()),
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
    });
    if shape.0.module_bytes > budget.module_bytes {
        budget.check(&shape)?;
    }
    walk(bytes, &mut shape.0).map_err(|e| RuntimeError::InvalidModule {
        message: format!("{} (at byte offset {:#x})", e.message(), e.offset()),
    })?;
    budget.check(&shape)?;
    Ok(shape)
}

fn walk(bytes: &[u8], m: &mut CompileBudget) -> wasmparser::Result<()> {
    for payload in Parser::new(0).parse_all(bytes) {
        match payload? {
            Payload::Version {
                encoding: wasmparser::Encoding::Component,
                ..
            } => break,
            Payload::TypeSection(reader) => {
                for group in reader {
                    m.types += len(group?.types().len());
                }
            }
            Payload::ImportSection(reader) => m.imports += u64::from(reader.count()),
            Payload::FunctionSection(reader) => m.functions += u64::from(reader.count()),
            Payload::TableSection(reader) => m.tables += u64::from(reader.count()),
            Payload::GlobalSection(reader) => m.globals += u64::from(reader.count()),
            Payload::ExportSection(reader) => m.exports += u64::from(reader.count()),
            Payload::ElementSection(reader) => {
                m.element_segments += u64::from(reader.count());
                for element in reader {
                    m.elements += u64::from(match element?.items {
                        ElementItems::Functions(items) => items.count(),
                        ElementItems::Expressions(_, items) => items.count(),
                    });
                }
            }
            Payload::DataCountSection { count, .. } => {
                m.data_segments = m.data_segments.max(u64::from(count));
            }
            Payload::DataSection(reader) => {
                m.data_segments = m.data_segments.max(u64::from(reader.count()));
                for data in reader {
                    m.data_bytes += len(data?.data.len());
                }
            }
            Payload::CodeSectionStart { count, .. } => {
                m.functions = m.functions.max(u64::from(count));
            }
            Payload::CodeSectionEntry(body) => {
                let size = len(body.range().len());
                m.code_bytes += size;
                m.function_bytes = m.function_bytes.max(size);
                let mut locals = 0u64;
                for group in body.get_locals_reader()? {
                    locals += u64::from(group?.0);
                }
                m.function_locals = m.function_locals.max(locals);
                m.locals += locals;
            }
            _ => {}
        }
    }
    Ok(())
}

fn len(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(wat: &str) -> ModuleShape {
        let bytes = wat::parse_str(wat).unwrap();
        measure(&bytes, &CompileBudget::DEFAULT).unwrap()
    }

    #[test]
    fn counts_what_the_module_declares() {
        let m = shape(
            r#"(module
                (type (func)) (type (func (param i32)))
                (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
                (memory (export "memory") 1)
                (global (mut i32) (i32.const 0))
                (table 4 funcref)
                (elem (i32.const 0) func $a $b)
                (data (i32.const 0) "hello")
                (data (i32.const 8) "abc")
                (func $a (local i32 i64) (local f32))
                (func $b (export "_start") (local i32)))"#,
        )
        .0;
        assert_eq!(m.functions, 2);
        assert_eq!((m.function_locals, m.locals), (3, 4));
        assert_eq!((m.types, m.imports, m.exports, m.globals), (2, 1, 2, 1));
        assert_eq!((m.tables, m.element_segments, m.elements), (1, 1, 2));
        assert_eq!((m.data_segments, m.data_bytes), (2, 8));
        assert!(m.code_bytes >= 2 && m.function_bytes <= m.code_bytes);
    }

    #[test]
    fn every_exceeded_budget_is_named_with_value_and_limit() {
        let bytes = wat::parse_str("(module (func (local i32 i32 i32)) (func) (func))").unwrap();
        let budget = CompileBudget {
            functions: 2,
            function_locals: 2,
            ..CompileBudget::DEFAULT
        };
        let err = measure(&bytes, &budget).unwrap_err();
        let RuntimeError::OverBudget { exceeded } = &err else {
            panic!("{err:?}");
        };
        let names: Vec<&str> = exceeded.0.iter().map(|e| e.budget).collect();
        assert_eq!(names, ["functions", "function-locals"]);
        let text = err.to_string();
        assert!(
            text.contains("it has 3 defined functions, above the budget of 2 (`functions`)"),
            "{text}"
        );
        assert!(
            text.contains(
                "it has 3 locals in one function, above the budget of 2 (`function-locals`)"
            ),
            "{text}"
        );
    }

    #[test]
    fn every_budget_is_reachable_by_its_name() {
        let names: Vec<&str> = CompileBudget::names().collect();
        assert_eq!(names.len(), 15);
        let mut budget = CompileBudget::DEFAULT;
        for (i, name) in names.iter().enumerate() {
            assert_eq!(budget.get(name), Some(CompileBudget::DEFAULT.values()[i]));
            let raised = 1_000_000_000 + u64::try_from(i).unwrap();
            assert!(budget.set(name, raised), "{name}");
            assert_eq!(budget.get(name), Some(raised), "{name}");
        }
        // Each name set its own field: all fifteen values differ now.
        let mut values = budget.values().to_vec();
        values.dedup();
        assert_eq!(values.len(), 15);
        assert!(!budget.set("memory", 1));
        assert_eq!(budget.get("function_bytes"), None);
    }

    #[test]
    fn the_size_is_refused_before_parsing() {
        // Not wasm at all: only the size is looked at.
        let bytes = vec![0xffu8; 100];
        let budget = CompileBudget {
            module_bytes: 99,
            ..CompileBudget::DEFAULT
        };
        let err = measure(&bytes, &budget).unwrap_err();
        assert!(matches!(err, RuntimeError::OverBudget { .. }), "{err:?}");
        assert!(matches!(
            measure(&bytes, &CompileBudget::DEFAULT),
            Err(RuntimeError::InvalidModule { .. })
        ));
    }

    #[test]
    fn locals_are_summed_without_overflow() {
        // Two groups of 2^32 - 1 locals each: wasmparser's own reader refuses
        // the overflow, and nothing here wraps around.
        let mut body = vec![0x02];
        for _ in 0..2 {
            body.extend([0xff, 0xff, 0xff, 0xff, 0x0f, 0x7f]);
        }
        body.push(0x0b);
        let mut code = vec![0x01];
        code.extend(leb(body.len()));
        code.extend(&body);
        let mut bytes = b"\0asm\x01\0\0\0".to_vec();
        bytes.extend([0x01, 0x04, 0x01, 0x60, 0x00, 0x00]); // type () -> ()
        bytes.extend([0x03, 0x02, 0x01, 0x00]); // one function
        bytes.push(0x0a);
        bytes.extend(leb(code.len()));
        bytes.extend(&code);
        match measure(&bytes, &CompileBudget::DEFAULT) {
            Err(RuntimeError::InvalidModule { message }) => {
                assert!(message.contains("too many locals"), "{message}");
            }
            Err(RuntimeError::OverBudget { .. }) => {}
            other => panic!("{other:?}"),
        }
    }

    fn leb(mut n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        loop {
            let byte = u8::try_from(n & 0x7f).unwrap();
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return out;
            }
            out.push(byte | 0x80);
        }
    }
}
