//! The wasm proposals the runtime enables, in one place: every engine's
//! wasmtime `Config` is built from [`wasm_features`], and the verifier
//! (`anrf-verify`'s `wasm.rs`) validates with the same set and words.
//!
//! Enabled: WebAssembly 2.0 (mutable globals, non-trapping float-to-int,
//! sign extension, multi-value, bulk memory, reference types, 128-bit SIMD)
//! plus tail calls and extended constant expressions. Everything else is off,
//! including proposals wasmtime enables by default (GC, typed function
//! references, exception handling, memory64, multi-memory, relaxed SIMD) and
//! any proposal a later wasmtime adds: the engine starts from nothing and
//! enables exactly this list.

use wasmparser::{Validator, WasmFeatures};

/// The wasm features every engine enables, and the only ones the verifier
/// accepts: WebAssembly 2.0 ([`WasmFeatures::WASM2`]) plus tail calls and
/// extended constant expressions.
pub fn wasm_features() -> WasmFeatures {
    WasmFeatures::WASM2 | WasmFeatures::TAIL_CALL | WasmFeatures::EXTENDED_CONST
}

/// A wasm proposal the runtime does not enable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proposal {
    name: &'static str,
    what: &'static str,
    /// What must be added to [`wasm_features`] for a module using it to validate.
    flags: WasmFeatures,
}

impl Proposal {
    /// The proposal's name, e.g. `exception-handling`.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// What the module uses, in words, e.g. `exception handling (the
    /// `exception-handling` proposal)`.
    pub fn feature(&self) -> String {
        format!("{} (the `{}` proposal)", self.what, self.name)
    }

    /// The words every refusal of this proposal uses, in the runtime and in the
    /// verifier: `uses ... (the `...` proposal), which the sandbox does not enable`.
    pub fn refusal(&self) -> String {
        format!("uses {}, which the sandbox does not enable", self.feature())
    }

    /// Whether this is the threads proposal (shared memory and atomics),
    /// which the verifier reports as its own finding.
    pub fn is_threads(&self) -> bool {
        self.name == "threads"
    }
}

/// Every proposal the runtime refuses, in the order a module is examined for
/// them. Each engine refuses a module that uses one, and so does the verifier.
pub const REFUSED_PROPOSALS: &[Proposal] = &[
    Proposal {
        name: "threads",
        what: "shared memory or atomics",
        flags: WasmFeatures::THREADS,
    },
    Proposal {
        name: "shared-everything-threads",
        what: "shared globals, tables or types",
        flags: WasmFeatures::THREADS.union(WasmFeatures::SHARED_EVERYTHING_THREADS),
    },
    Proposal {
        name: "function-references",
        what: "typed function references",
        flags: WasmFeatures::FUNCTION_REFERENCES,
    },
    Proposal {
        name: "gc",
        what: "garbage-collected structs, arrays or `i31` references",
        flags: WasmFeatures::GC.union(WasmFeatures::FUNCTION_REFERENCES),
    },
    Proposal {
        name: "exception-handling",
        what: "exception handling",
        flags: WasmFeatures::EXCEPTIONS,
    },
    Proposal {
        name: "legacy-exceptions",
        what: "legacy exception handling (`try`, `catch`, `delegate`)",
        flags: WasmFeatures::LEGACY_EXCEPTIONS,
    },
    Proposal {
        name: "memory64",
        what: "64-bit memories or tables",
        flags: WasmFeatures::MEMORY64,
    },
    Proposal {
        name: "multi-memory",
        what: "more than one linear memory",
        flags: WasmFeatures::MULTI_MEMORY,
    },
    Proposal {
        name: "relaxed-simd",
        what: "relaxed SIMD instructions",
        flags: WasmFeatures::RELAXED_SIMD,
    },
    Proposal {
        name: "wide-arithmetic",
        what: "128-bit wide arithmetic",
        flags: WasmFeatures::WIDE_ARITHMETIC,
    },
    Proposal {
        name: "custom-page-sizes",
        what: "a custom memory page size",
        flags: WasmFeatures::CUSTOM_PAGE_SIZES,
    },
    Proposal {
        name: "stack-switching",
        what: "stack switching (continuations)",
        flags: WasmFeatures::STACK_SWITCHING
            .union(WasmFeatures::FUNCTION_REFERENCES)
            .union(WasmFeatures::EXCEPTIONS),
    },
    Proposal {
        name: "memory-control",
        what: "memory control instructions",
        flags: WasmFeatures::MEMORY_CONTROL,
    },
    Proposal {
        name: "custom-descriptors",
        what: "custom descriptors",
        flags: WasmFeatures::CUSTOM_DESCRIPTORS
            .union(WasmFeatures::GC)
            .union(WasmFeatures::FUNCTION_REFERENCES),
    },
    Proposal {
        name: "compact-imports",
        what: "compact import sections",
        flags: WasmFeatures::COMPACT_IMPORTS,
    },
    Proposal {
        name: "component-model",
        what: "a component, not a core module",
        flags: WasmFeatures::COMPONENT_MODEL,
    },
];

/// A module the runtime does not accept because it uses a proposal it does
/// not enable. Its `Display` is the one wording of the refusal: [`Proposal::refusal`],
/// then what the validator found and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeatureRefusal {
    proposal: Proposal,
    detail: String,
    offset: usize,
}

impl FeatureRefusal {
    /// The proposal the module uses.
    pub fn proposal(&self) -> Proposal {
        self.proposal
    }

    /// What the validator found, e.g. `exceptions proposal not enabled`.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The byte offset in the module where the validator found it.
    pub fn offset(&self) -> usize {
        self.offset
    }
}

impl std::fmt::Display for FeatureRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} (at byte offset {:#x}); no setting enables it, docs/verify.md lists the proposals the runtime enables",
            self.proposal.refusal(),
            self.detail,
            self.offset
        )
    }
}

/// Why a module does not validate for the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FeatureError {
    /// It uses a proposal the runtime does not enable.
    Refused(FeatureRefusal),
    /// It is not valid WebAssembly, whatever the proposals.
    Invalid {
        /// The validator's message.
        message: String,
        /// Where, in bytes from the start of the module.
        offset: usize,
    },
}

impl std::fmt::Display for FeatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FeatureError::Refused(refusal) => refusal.fmt(f),
            FeatureError::Invalid { message, offset } => {
                write!(f, "{message} (at byte offset {offset:#x})")
            }
        }
    }
}

/// Validates `bytes` with exactly [`wasm_features`]. A module that does not
/// validate is examined once more per refused proposal (in the order of
/// [`REFUSED_PROPOSALS`]): the first proposal whose features let validation
/// get past the point where it failed is the one named. Each pass is linear
/// in the module's size, which the compile budget bounds.
pub fn check_features(bytes: &[u8]) -> Result<(), FeatureError> {
    let Err(first) = Validator::new_with_features(wasm_features()).validate_all(bytes) else {
        return Ok(());
    };
    for proposal in REFUSED_PROPOSALS {
        let further = match Validator::new_with_features(wasm_features() | proposal.flags)
            .validate_all(bytes)
        {
            Ok(_) => true,
            Err(e) => e.offset() > first.offset(),
        };
        if further {
            return Err(FeatureError::Refused(FeatureRefusal {
                proposal: *proposal,
                detail: first.message().to_owned(),
                offset: first.offset(),
            }));
        }
    }
    Err(FeatureError::Invalid {
        message: first.message().to_owned(),
        offset: first.offset(),
    })
}

/// Makes `config` enable exactly [`wasm_features`]: every feature wasmtime
/// knows (and any it may learn) is switched off first.
pub(crate) fn configure(config: &mut wasmtime::Config) {
    config
        .wasm_features(WasmFeatures::all(), false)
        .wasm_features(wasm_features(), true);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(wat: &str) -> Result<(), FeatureError> {
        check_features(&wat::parse_str(wat).unwrap())
    }

    fn refused(wat: &str) -> &'static str {
        match check(wat) {
            Err(FeatureError::Refused(r)) => r.proposal().name(),
            other => panic!("not refused for a proposal: {other:?}"),
        }
    }

    #[test]
    fn the_enabled_set_is_wasm2_plus_tail_calls_and_extended_const() {
        let features = wasm_features();
        for on in [
            WasmFeatures::SIMD,
            WasmFeatures::BULK_MEMORY,
            WasmFeatures::REFERENCE_TYPES,
            WasmFeatures::MULTI_VALUE,
            WasmFeatures::TAIL_CALL,
            WasmFeatures::EXTENDED_CONST,
        ] {
            assert!(features.contains(on), "{on:?}");
        }
        for proposal in REFUSED_PROPOSALS {
            assert!(
                !features.intersects(proposal.flags),
                "{} is enabled",
                proposal.name
            );
        }
    }

    #[test]
    fn a_module_using_two_proposals_is_named_by_the_first_it_uses() {
        // The memory64 memory comes before the exception handler.
        let name =
            refused(r#"(module (memory i64 1) (tag $e) (func (export "_start") (throw $e)))"#);
        assert_eq!(name, "memory64");
    }

    #[test]
    fn an_invalid_module_is_invalid_not_refused() {
        let err = check(r#"(module (func (result i32)))"#).unwrap_err();
        assert!(matches!(err, FeatureError::Invalid { .. }), "{err:?}");
    }

    #[test]
    fn refusal_words_name_the_proposal() {
        let err = check(r#"(module (memory 1 2) (memory 1 2))"#).unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(
                "uses more than one linear memory (the `multi-memory` proposal), which the sandbox does not enable: "
            ),
            "{text}"
        );
    }
}
