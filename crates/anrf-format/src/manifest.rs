//! The manifest's types: three layers (intent, logic, implementation) and the
//! required security section. Every struct denies unknown fields; nothing in
//! `security` that grants or relaxes has a serde default. The one defaulted field
//! there, `Override::revoked`, can only take a grant away.

mod overrides;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use overrides::{
    Approval, BudgetName, LimitName, Override, Relaxation, RelaxationError, Revocation, Scope,
    parse_date,
};

use crate::names::{EnvName, GuestPath, ModuleName, RelPath, Sha256Hex};
use crate::units::{ByteSize, Millis};

/// The only manifest format version this crate reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// An `anrf.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "ANRF manifest v1",
    description = "anrf.toml: an ANRF module's intent, logic, implementation and security metadata"
)]
pub struct Manifest {
    /// Manifest format version; must be `1`.
    #[schemars(range(min = 1, max = 1))]
    pub anrf: u32,
    pub module: ModuleInfo,
    pub intent: Intent,
    pub logic: Logic,
    pub implementation: Implementation,
    pub security: Security,
}

/// Who the module is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ModuleInfo {
    pub name: ModuleName,
    /// The module's version, e.g. `0.1.0`; not empty.
    #[schemars(length(min = 1), regex(pattern = r"\S"))]
    pub version: String,
}

/// Layer 1: what the module is for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Intent {
    /// What the module is for, in words; not empty.
    #[schemars(length(min = 1), regex(pattern = r"\S"))]
    pub summary: String,
    #[serde(default)]
    pub requirements: Vec<String>,
    /// Input -> expected output pairs; they double as tests.
    #[serde(default)]
    pub examples: Vec<Example>,
}

/// One intent example: run with `stdin` and `args`, expect `stdout` and `exit_code`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub name: String,
    #[serde(default)]
    pub stdin: String,
    #[serde(default)]
    pub args: Vec<String>,
    /// Values for environment variables the module declares in
    /// `security.capabilities.env`; nothing else of the host's environment is passed.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub env: std::collections::BTreeMap<String, String>,
    pub stdout: String,
    #[serde(default)]
    pub exit_code: i32,
}

/// Layer 2: the interface, named functions and effects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Logic {
    pub interface: Interface,
    /// Functions that `function:NAME` overrides may target; no name is empty.
    #[serde(default)]
    #[schemars(inner(length(min = 1), regex(pattern = r"\S")))]
    pub functions: Vec<String>,
    /// The effects the module needs.
    #[serde(default)]
    pub effects: Vec<Effect>,
}

/// How the module is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Interface {
    /// A command: bytes on stdin and arguments in, bytes on stdout and an exit code out.
    Command,
}

/// An effect a module declares it needs.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Effect {
    Stdin,
    Stdout,
    Stderr,
    FsRead,
    FsWrite,
    Env,
    Clock,
    Random,
    Network,
}

/// Layer 3: the source, the built artifact and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Implementation {
    pub language: Language,
    /// Source files, relative to the module directory.
    pub sources: Vec<RelPath>,
    /// The built artifact; written by `anrf build`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provenance: Option<Provenance>,
}

/// The guest's source language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Language {
    Rust,
    C,
    Wat,
}

/// The built WebAssembly module and its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    pub path: RelPath,
    pub sha256: Sha256Hex,
}

/// How the module was made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub toolchain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generator: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rounds: Option<u32>,
    /// Confidence in 0..1 as computed by `anrf gen`, with its breakdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
    /// SHA-256 of the listed sources the artifact was built from, recorded by
    /// `anrf build`: a source edited since is reported by `anrf run`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources_sha256: Option<crate::Sha256Hex>,
}

/// The security metadata. Required, and every field in it is required: absence is an
/// error, never a silently filled-in default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Security {
    pub memory_safety: MemorySafety,
    pub isolation: Isolation,
    pub limits: Limits,
    pub capabilities: Capabilities,
    pub overrides: Vec<Override>,
}

/// The basis of the module's memory safety.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum MemorySafety {
    /// Safe source language, no `unsafe`, plus the wasm sandbox.
    Enforced,
    /// Memory-unsafe source: the host is protected by the sandbox, the guest is not.
    /// Needs a `memory-unsafe` override.
    SandboxOnly,
}

/// How the module is isolated from the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Isolation {
    /// The in-process wasm sandbox.
    Wasm,
    /// The wasm sandbox inside an OS-restricted worker process.
    Process,
}

/// Resource limits. Each may be lowered freely; raising one above its default takes
/// a `raise:LIMIT=VALUE` override.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Linear memory, bytes.
    pub memory: ByteSize,
    /// Instruction budget (wasmtime fuel units).
    pub fuel: Fuel,
    /// Wall-clock timeout.
    pub timeout: Millis,
    /// Wasm stack, bytes.
    pub stack: ByteSize,
    /// Captured stdout, bytes; output past it is cut and reported.
    pub stdout: ByteSize,
    /// Captured stderr, bytes; output past it is cut and reported.
    pub stderr: ByteSize,
}

/// An instruction budget, greater than zero.
///
/// Read from a TOML integer (which is signed), so a negative budget is refused with
/// its own message rather than a type error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "u64")]
pub struct Fuel(u64);

impl JsonSchema for Fuel {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Fuel".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "instruction budget in wasmtime fuel units, a whole number greater than zero",
            "type": "integer",
            "minimum": 1
        })
    }
}

impl Fuel {
    pub const fn new(units: u64) -> Option<Self> {
        if units == 0 { None } else { Some(Self(units)) }
    }
    pub const fn units(self) -> u64 {
        self.0
    }
}

impl TryFrom<u64> for Fuel {
    type Error = crate::units::UnitError;
    fn try_from(v: u64) -> Result<Self, Self::Error> {
        Self::new(v).ok_or_else(|| crate::units::UnitError::Zero(v.to_string()))
    }
}

impl TryFrom<i64> for Fuel {
    type Error = crate::units::UnitError;
    fn try_from(v: i64) -> Result<Self, Self::Error> {
        let units =
            u64::try_from(v).map_err(|_| crate::units::UnitError::Negative(v.to_string()))?;
        Self::try_from(units)
    }
}

impl From<Fuel> for u64 {
    fn from(v: Fuel) -> u64 {
        v.0
    }
}

impl Limits {
    /// The built-in defaults, which are also the most a manifest may set without an
    /// override. See `docs/defaults.md` for why each is what it is.
    pub const DEFAULT: Limits = Limits {
        memory: ByteSize::literal(64 << 20),
        fuel: Fuel(1_000_000_000),
        timeout: Millis::literal(5_000),
        stack: ByteSize::literal(512 << 10),
        stdout: ByteSize::literal(1 << 20),
        stderr: ByteSize::literal(1 << 20),
    };

    /// The value of one limit as a plain number (bytes, fuel units or milliseconds).
    pub fn get(&self, name: LimitName) -> u64 {
        match name {
            LimitName::Memory => self.memory.bytes(),
            LimitName::Fuel => self.fuel.units(),
            LimitName::Timeout => self.timeout.ms(),
            LimitName::Stack => self.stack.bytes(),
            LimitName::Stdout => self.stdout.bytes(),
            LimitName::Stderr => self.stderr.bytes(),
        }
    }
}

/// What the module may reach. Deny by default: anything not listed is unreachable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    /// Directories: guest path -> host path (relative to the module directory).
    pub dirs: Vec<DirGrant>,
    /// Names of environment variables the module may read.
    pub env: Vec<EnvName>,
    /// Wall clock and monotonic clock.
    pub clock: bool,
    /// Random numbers.
    pub random: bool,
    /// Network hosts; the v1 runtime provides no sockets, so any entry is refused at run time.
    pub network: Vec<String>,
}

/// One granted directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DirGrant {
    pub guest: GuestPath,
    pub host: RelPath,
    pub access: Access,
}

/// Read-only or read-write access to a granted directory.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    ReadOnly,
    ReadWrite,
}

/// How strictly overrides are governed and how enforcement is implemented.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    JsonSchema,
    clap::ValueEnum,
)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// Justification required, self-approval allowed, audited.
    Dev,
    /// A trusted approver's signature.
    Test,
    /// Signatures that satisfy the project's rules.
    Prod,
}

impl Profile {
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Dev => "dev",
            Profile::Test => "test",
            Profile::Prod => "prod",
        }
    }
}

impl std::fmt::Display for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
