//! The ANRF manifest v1 (`anrf.toml`): types for its three layers (intent, logic,
//! implementation) and its required security section, strict parsing with
//! diagnostics that name the file, line and column, canonical content digests and
//! the JSON Schema.
//!
//! ```
//! let text = r#"
//! anrf = 1
//! [module]
//! name = "echo"
//! version = "0.1.0"
//! [intent]
//! summary = "Copy stdin to stdout"
//! [logic]
//! interface = "command"
//! [implementation]
//! language = "rust"
//! sources = ["src/main.rs"]
//! [security]
//! memory_safety = "enforced"
//! isolation = "wasm"
//! overrides = []
//! [security.limits]
//! memory = "16MiB"
//! fuel = 1000000
//! timeout = "1s"
//! stack = "256KiB"
//! stdout = "64KiB"
//! stderr = "64KiB"
//! [security.capabilities]
//! dirs = []
//! env = []
//! clock = false
//! random = false
//! network = []
//! "#;
//! let manifest = anrf_format::Manifest::from_str(text, "anrf.toml")?;
//! assert_eq!(manifest.security.limits.memory.bytes(), 16 << 20);
//!
//! // Unknown keys are errors, with the place and the fix:
//! let err = anrf_format::Manifest::from_str(&text.replace("isolation", "isolaton"), "anrf.toml")
//!     .unwrap_err();
//! assert!(err.to_string().contains("unknown field `isolaton` in `[security]`"), "{err}");
//! assert!(miette::Diagnostic::help(&err).is_some(), "every error says how to fix it");
//! # Ok::<(), anrf_format::FormatError>(())
//! ```
//!
//! **Invariant:** this crate never depends on wasmtime, the policy engine or the
//! audit log. The crates that read manifests depend on it (`anrf-policy`,
//! `anrf-build`, `anrf-verify`, `anrf-gen`, the CLI); `anrf-runtime` and `anrf-audit`
//! do not.
#![forbid(unsafe_code)]

mod error;
pub mod fsread;
pub mod manifest;
mod module;
pub mod names;
mod parse;
pub mod units;

use std::path::Path;

pub use error::{FormatError, ManifestError};
pub use manifest::{
    Access, Approval, Artifact, BudgetName, Capabilities, DirGrant, Effect, Example, Fuel,
    Implementation, Intent, Interface, Isolation, Language, LimitName, Limits, Logic, Manifest,
    MemorySafety, ModuleInfo, Override, Profile, Provenance, Relaxation, Revocation, Scope,
    Security,
};
pub use module::{
    MANIFEST_FILE, MAX_ARTIFACT_BYTES, MAX_EXAMPLES, MAX_MANIFEST_BYTES, MAX_SOURCE_BYTES,
    MAX_SOURCES_TOTAL_BYTES, Module, ModuleSnapshot, approval_binding, path_within,
};
pub use names::{
    ContentDigest, EnvName, GuestPath, Justification, ModuleName, NameError, OverrideId, RelPath,
    Requester, Sha256Hex,
};
pub use units::{ByteSize, Millis, UnitError, parse_duration, parse_size};

impl Manifest {
    /// Parses and checks a manifest's text. `path` names the file in errors.
    pub fn from_str(source: &str, path: &str) -> Result<Self, FormatError> {
        parse::parse_manifest(source, path)
    }

    /// Reads, parses and checks the manifest at `path`.
    pub fn from_path(path: &Path) -> Result<Self, FormatError> {
        let source =
            fsread::read_regular_text(path, module::MAX_MANIFEST_BYTES).map_err(|e| match e {
                fsread::ReadError::Io { path, source } => FormatError::Read { path, source },
                other => FormatError::Unreadable(other),
            })?;
        Self::from_str(&source, &path.display().to_string())
    }

    /// The manifest in normal form as TOML (what `anrf build` writes back).
    pub fn to_toml(&self) -> Result<String, FormatError> {
        toml::to_string(self).map_err(FormatError::Serialize)
    }

    /// The manifest's JSON Schema (draft 2020-12), for editors and tools.
    pub fn json_schema() -> serde_json::Value {
        serde_json::to_value(schemars::schema_for!(Manifest)).unwrap_or_default()
    }
}
