//! Overrides: each relaxation of the secure default, with its scope, justification,
//! requester, expiry and the approvals (signatures) it carries. The meaning of an
//! approval's signature is `anrf-policy`'s; this module only fixes the shape.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::names::{ContentDigest, EnvName, Justification, OverrideId, RelPath, Requester};
use crate::units::{parse_duration, parse_size};

/// One relaxation of the secure default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Override {
    pub id: OverrideId,
    /// `project`, `module` or `function:NAME`.
    pub scope: Scope,
    /// What it relaxes, e.g. `memory-unsafe`, `allow-read:data`, `raise:memory=256MiB`.
    pub relaxes: Relaxation,
    /// Why it is needed, in real words.
    pub justification: Justification,
    /// Who asked.
    pub requested_by: Requester,
    /// Last day on which it is valid (`YYYY-MM-DD`, UTC).
    #[serde(with = "date_format")]
    #[schemars(schema_with = "date_schema")]
    pub expires: time::Date,
    /// Signatures; see `anrf-policy` for what they sign.
    pub approvals: Vec<Approval>,
    /// Set when the override was revoked; a revoked override grants nothing.
    ///
    /// The one serde default in `security`, and a safe one: absence means "not
    /// revoked", which grants nothing the other fields do not already grant (TOML has
    /// no null, so an optional field cannot be required). `anrf override revoke` also
    /// records the revocation under `$ANRF_HOME`, which is honoured even if this field
    /// is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<Revocation>,
}

/// One approver's signature over an override.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Approval {
    /// The approver's name, as in the project policy.
    pub approver: String,
    /// The role under which the approver signed.
    pub role: String,
    /// `ed25519:<base64>` public key of the signer.
    pub public_key: String,
    /// Profile the approval was given for.
    pub profile: super::Profile,
    /// The module's security digest the approval binds to.
    pub subject_digest: ContentDigest,
    /// The project policy's digest at approval time.
    pub policy_digest: ContentDigest,
    /// RFC 3339 time of signing.
    pub signed_at: String,
    /// Base64 ed25519 signature over the canonical approval record.
    pub signature: String,
}

/// Who revoked an override, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Revocation {
    pub by: String,
    /// RFC 3339 time of revocation.
    pub at: String,
    pub reason: String,
}

/// Where an override applies.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Scope {
    /// Every module of the project.
    Project,
    /// This module.
    Module,
    /// One named function of this module (listed in `logic.functions`).
    Function(String),
}

/// What an override relaxes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Relaxation {
    /// `memory-unsafe`: the guest's memory safety rests on the sandbox alone.
    MemoryUnsafe,
    /// `allow-read:PATH`: read a directory (relative to the module).
    AllowRead(RelPath),
    /// `allow-write:PATH`: read and write a directory (relative to the module).
    AllowWrite(RelPath),
    /// `allow-env:NAME`: read one environment variable.
    AllowEnv(EnvName),
    /// `allow-network:HOST`: reach a network host.
    AllowNetwork(String),
    /// `threads`: shared memory and atomics.
    Threads,
    /// `raise:LIMIT=VALUE`: raise a limit above its default (value in bytes, fuel
    /// units or milliseconds).
    Raise(LimitName, u64),
    /// `raise:BUDGET=VALUE`: raise a compile budget (a size or count a module
    /// must fit before it is compiled) to `VALUE`. Budgets are not written in
    /// `[security.limits]`: only an override raises one.
    RaiseBudget(BudgetName, u64),
}

/// The name of one limit, as written in `[security.limits]`.
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
pub enum LimitName {
    Memory,
    Fuel,
    Timeout,
    Stack,
    Stdout,
    Stderr,
}

/// The name of one compile budget: a size or count a module must fit before
/// anything compiles it (`docs/runtime.md`, "Compile budgets"). The runtime's
/// `CompileBudget` has one field per name, with the default; only an approved
/// `raise:NAME=VALUE` override raises one.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum BudgetName {
    ModuleBytes,
    CodeBytes,
    Functions,
    FunctionBytes,
    FunctionLocals,
    Locals,
    Types,
    Imports,
    Exports,
    Globals,
    Tables,
    ElementSegments,
    Elements,
    DataSegments,
    DataBytes,
}

impl BudgetName {
    pub const ALL: [BudgetName; 15] = [
        BudgetName::ModuleBytes,
        BudgetName::CodeBytes,
        BudgetName::Functions,
        BudgetName::FunctionBytes,
        BudgetName::FunctionLocals,
        BudgetName::Locals,
        BudgetName::Types,
        BudgetName::Imports,
        BudgetName::Exports,
        BudgetName::Globals,
        BudgetName::Tables,
        BudgetName::ElementSegments,
        BudgetName::Elements,
        BudgetName::DataSegments,
        BudgetName::DataBytes,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            BudgetName::ModuleBytes => "module-bytes",
            BudgetName::CodeBytes => "code-bytes",
            BudgetName::Functions => "functions",
            BudgetName::FunctionBytes => "function-bytes",
            BudgetName::FunctionLocals => "function-locals",
            BudgetName::Locals => "locals",
            BudgetName::Types => "types",
            BudgetName::Imports => "imports",
            BudgetName::Exports => "exports",
            BudgetName::Globals => "globals",
            BudgetName::Tables => "tables",
            BudgetName::ElementSegments => "element-segments",
            BudgetName::Elements => "elements",
            BudgetName::DataSegments => "data-segments",
            BudgetName::DataBytes => "data-bytes",
        }
    }

    /// The runtime's default for this budget (`anrf_runtime::CompileBudget::DEFAULT`,
    /// which a test compares with this table): what a module gets without an
    /// override.
    pub fn default_value(self) -> u64 {
        match self {
            BudgetName::ModuleBytes => 64 << 20,
            BudgetName::CodeBytes => 16 << 20,
            BudgetName::Functions => 20_000,
            BudgetName::FunctionBytes => 1 << 20,
            BudgetName::Locals => 1_000_000,
            BudgetName::FunctionLocals
            | BudgetName::Types
            | BudgetName::Exports
            | BudgetName::Globals
            | BudgetName::ElementSegments
            | BudgetName::DataSegments => 10_000,
            BudgetName::Imports => 1_000,
            BudgetName::Tables => 16,
            BudgetName::Elements => 100_000,
            BudgetName::DataBytes => 32 << 20,
        }
    }

    /// Whether the budget counts bytes (its value takes size units).
    pub fn is_bytes(self) -> bool {
        self.as_str().ends_with("-bytes")
    }

    /// Parses a value: sizes for the `-bytes` budgets, a positive count else.
    pub fn parse_value(self, value: &str) -> Result<u64, RelaxationError> {
        let invalid = |reason: String| RelaxationError::Value {
            input: value.to_owned(),
            reason,
        };
        if self.is_bytes() {
            parse_size(value)
                .map(u64::from)
                .map_err(|e| invalid(e.to_string()))
        } else {
            match value.trim().replace('_', "").parse::<u64>() {
                Ok(0) | Err(_) => Err(invalid(format!("`{self}` must be a positive integer"))),
                Ok(n) => Ok(n),
            }
        }
    }

    /// A value of this budget as people write it: `32MiB`, `50000`.
    pub fn format_value(self, value: u64) -> String {
        if self.is_bytes() {
            crate::units::ByteSize::new(value).map_or_else(|| value.to_string(), |b| b.to_string())
        } else {
            value.to_string()
        }
    }
}

impl FromStr for BudgetName {
    type Err = RelaxationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BudgetName::ALL
            .into_iter()
            .find(|b| b.as_str() == s)
            .ok_or_else(|| RelaxationError::Limit(s.to_owned()))
    }
}

impl fmt::Display for BudgetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a scope or relaxation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RelaxationError {
    #[error("scope `{0}` is not one of `project`, `module`, `function:NAME`")]
    Scope(String),
    #[error(
        "`{0}` is not a relaxation: use `memory-unsafe`, `threads`, `allow-read:PATH`, `allow-write:PATH`, `allow-env:NAME`, `allow-network:HOST` or `raise:LIMIT=VALUE`"
    )]
    Unknown(String),
    #[error(
        "unknown limit `{0}` (use memory, fuel, timeout, stack, stdout or stderr, or a compile budget: module-bytes, code-bytes, functions, function-bytes, function-locals, locals, types, imports, exports, globals, tables, element-segments, elements, data-segments, data-bytes)"
    )]
    Limit(String),
    #[error("in `{input}`: {reason}")]
    Value { input: String, reason: String },
}

impl LimitName {
    pub const ALL: [LimitName; 6] = [
        LimitName::Memory,
        LimitName::Fuel,
        LimitName::Timeout,
        LimitName::Stack,
        LimitName::Stdout,
        LimitName::Stderr,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            LimitName::Memory => "memory",
            LimitName::Fuel => "fuel",
            LimitName::Timeout => "timeout",
            LimitName::Stack => "stack",
            LimitName::Stdout => "stdout",
            LimitName::Stderr => "stderr",
        }
    }

    /// Parses a value for this limit: sizes take size units, the timeout duration
    /// units, fuel a plain count.
    pub fn parse_value(self, value: &str) -> Result<u64, RelaxationError> {
        let invalid = |reason: String| RelaxationError::Value {
            input: value.to_owned(),
            reason,
        };
        match self {
            LimitName::Timeout => parse_duration(value)
                .map(u64::from)
                .map_err(|e| invalid(e.to_string())),
            LimitName::Fuel => match value.trim().replace('_', "").parse::<u64>() {
                Ok(0) | Err(_) => Err(invalid("fuel must be a positive integer".into())),
                Ok(n) => Ok(n),
            },
            _ => parse_size(value)
                .map(u64::from)
                .map_err(|e| invalid(e.to_string())),
        }
    }

    /// A value of this limit as people write it: `64MiB`, `5s`, `1000000`.
    pub fn format_value(self, value: u64) -> String {
        match self {
            LimitName::Fuel => value.to_string(),
            LimitName::Timeout => crate::units::Millis::new(value)
                .map_or_else(|| value.to_string(), |m| m.to_string()),
            _ => crate::units::ByteSize::new(value)
                .map_or_else(|| value.to_string(), |b| b.to_string()),
        }
    }
}

impl FromStr for LimitName {
    type Err = RelaxationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LimitName::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| RelaxationError::Limit(s.to_owned()))
    }
}

impl fmt::Display for LimitName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Relaxation {
    /// A short kind name, stable for policies and reports: `memory-unsafe`,
    /// `allow-read`, `allow-write`, `allow-env`, `allow-network`, `threads`, `raise`.
    pub fn kind(&self) -> &'static str {
        match self {
            Relaxation::MemoryUnsafe => "memory-unsafe",
            Relaxation::AllowRead(_) => "allow-read",
            Relaxation::AllowWrite(_) => "allow-write",
            Relaxation::AllowEnv(_) => "allow-env",
            Relaxation::AllowNetwork(_) => "allow-network",
            Relaxation::Threads => "threads",
            Relaxation::Raise(..) | Relaxation::RaiseBudget(..) => "raise",
        }
    }
}

impl FromStr for Relaxation {
    type Err = RelaxationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let value_err = |e: crate::names::NameError| RelaxationError::Value {
            input: s.to_owned(),
            reason: e.to_string(),
        };
        match s {
            "memory-unsafe" => return Ok(Relaxation::MemoryUnsafe),
            "threads" => return Ok(Relaxation::Threads),
            _ => {}
        }
        let Some((kind, rest)) = s.split_once(':') else {
            return Err(RelaxationError::Unknown(s.to_owned()));
        };
        match kind {
            "allow-read" => RelPath::new(rest)
                .map(Relaxation::AllowRead)
                .map_err(value_err),
            "allow-write" => RelPath::new(rest)
                .map(Relaxation::AllowWrite)
                .map_err(value_err),
            "allow-env" => EnvName::new(rest)
                .map(Relaxation::AllowEnv)
                .map_err(value_err),
            "allow-network" if !rest.trim().is_empty() => {
                Ok(Relaxation::AllowNetwork(rest.to_owned()))
            }
            "raise" => {
                let (limit, value) = rest
                    .split_once('=')
                    .ok_or_else(|| RelaxationError::Unknown(s.to_owned()))?;
                if let Ok(budget) = limit.parse::<BudgetName>() {
                    return Ok(Relaxation::RaiseBudget(budget, budget.parse_value(value)?));
                }
                let limit: LimitName = limit.parse()?;
                Ok(Relaxation::Raise(limit, limit.parse_value(value)?))
            }
            _ => Err(RelaxationError::Unknown(s.to_owned())),
        }
    }
}

impl fmt::Display for Relaxation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Relaxation::MemoryUnsafe => f.write_str("memory-unsafe"),
            Relaxation::Threads => f.write_str("threads"),
            Relaxation::AllowRead(p) => write!(f, "allow-read:{p}"),
            Relaxation::AllowWrite(p) => write!(f, "allow-write:{p}"),
            Relaxation::AllowEnv(n) => write!(f, "allow-env:{n}"),
            Relaxation::AllowNetwork(h) => write!(f, "allow-network:{h}"),
            Relaxation::Raise(l, v) => write!(f, "raise:{l}={}", l.format_value(*v)),
            Relaxation::RaiseBudget(b, v) => write!(f, "raise:{b}={}", b.format_value(*v)),
        }
    }
}

impl TryFrom<String> for Relaxation {
    type Error = RelaxationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Relaxation> for String {
    fn from(r: Relaxation) -> String {
        r.to_string()
    }
}

impl FromStr for Scope {
    type Err = RelaxationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "project" => Ok(Scope::Project),
            "module" => Ok(Scope::Module),
            _ => match s.strip_prefix("function:") {
                Some(name)
                    if !name.is_empty()
                        && !name.starts_with(|c: char| c.is_ascii_digit())
                        && name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') =>
                {
                    Ok(Scope::Function(name.to_owned()))
                }
                _ => Err(RelaxationError::Scope(s.to_owned())),
            },
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Project => f.write_str("project"),
            Scope::Module => f.write_str("module"),
            Scope::Function(name) => write!(f, "function:{name}"),
        }
    }
}

impl TryFrom<String> for Scope {
    type Error = RelaxationError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Scope> for String {
    fn from(s: Scope) -> String {
        s.to_string()
    }
}

macro_rules! pattern_schema {
    ($ty:ident, $name:literal, $description:literal, $pattern:literal) => {
        impl JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                $name.into()
            }
            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "description": $description,
                    "pattern": $pattern,
                })
            }
        }
    };
}

pattern_schema!(
    Scope,
    "Scope",
    "`project`, `module` or `function:NAME`",
    r"^(project|module|function:[A-Za-z_][A-Za-z0-9_:]*)$"
);
pattern_schema!(
    Relaxation,
    "Relaxation",
    "memory-unsafe | threads | allow-read:PATH | allow-write:PATH | allow-env:NAME | allow-network:HOST | raise:LIMIT=VALUE | raise:BUDGET=VALUE",
    r"^(memory-unsafe|threads|allow-read:.+|allow-write:.+|allow-env:.+|allow-network:.+|raise:(memory|fuel|timeout|stack|stdout|stderr|module-bytes|code-bytes|functions|function-bytes|function-locals|locals|types|imports|exports|globals|tables|element-segments|elements|data-segments|data-bytes)=.+)$"
);

fn date_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "description": "a date, YYYY-MM-DD",
        "pattern": r"^\d{4}-\d{2}-\d{2}$",
    })
}

/// `YYYY-MM-DD` dates, read from a TOML string or a TOML local date.
mod date_format {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::macros::format_description;

    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] =
        format_description!("[year]-[month]-[day]");

    #[expect(
        clippy::trivially_copy_pass_by_ref,
        reason = "serde's `with` signature takes a reference"
    )]
    pub(super) fn serialize<S: Serializer>(date: &time::Date, s: S) -> Result<S::Ok, S::Error> {
        let text = date.format(FORMAT).map_err(serde::ser::Error::custom)?;
        s.serialize_str(&text)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<time::Date, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Toml(toml::value::Datetime),
        }
        let text = match Raw::deserialize(d)? {
            Raw::Text(t) => t,
            Raw::Toml(dt) => dt.to_string(),
        };
        time::Date::parse(text.trim(), FORMAT).map_err(|_| {
            serde::de::Error::custom(format!(
                "expiry `{text}` is not a date of the form YYYY-MM-DD, e.g. `2027-03-31`"
            ))
        })
    }
}

/// Parses `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<time::Date, String> {
    time::Date::parse(
        text.trim(),
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| format!("`{text}` is not a date of the form YYYY-MM-DD, e.g. `2027-03-31`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relaxations_round_trip() {
        for text in [
            "memory-unsafe",
            "threads",
            "allow-read:data",
            "allow-write:out/tmp",
            "allow-env:HOME",
            "allow-network:example.org",
            "raise:memory=256MiB",
            "raise:timeout=30s",
            "raise:fuel=5000000000",
            "raise:functions=50000",
            "raise:code-bytes=32MiB",
            "raise:data-segments=20000",
        ] {
            let parsed: Relaxation = text.parse().unwrap();
            assert_eq!(parsed.to_string(), text);
        }
    }

    #[test]
    fn bad_relaxations_say_what_is_allowed() {
        assert!(matches!(
            "sudo".parse::<Relaxation>(),
            Err(RelaxationError::Unknown(_))
        ));
        assert!(matches!(
            "allow-read:../x".parse::<Relaxation>(),
            Err(RelaxationError::Value { .. })
        ));
        assert!(matches!(
            "raise:cpu=2".parse::<Relaxation>(),
            Err(RelaxationError::Limit(_))
        ));
        assert!(matches!(
            "raise:fuel=0".parse::<Relaxation>(),
            Err(RelaxationError::Value { .. })
        ));
        assert!(matches!(
            "raise:functions=0".parse::<Relaxation>(),
            Err(RelaxationError::Value { .. })
        ));
        assert!(matches!(
            "raise:functions=1MiB".parse::<Relaxation>(),
            Err(RelaxationError::Value { .. })
        ));
    }

    #[test]
    fn budgets_are_raises_with_their_own_units() {
        assert_eq!(
            "raise:code-bytes=32MiB".parse::<Relaxation>().unwrap(),
            Relaxation::RaiseBudget(BudgetName::CodeBytes, 32 << 20)
        );
        assert_eq!(
            "raise:functions=50_000".parse::<Relaxation>().unwrap(),
            Relaxation::RaiseBudget(BudgetName::Functions, 50_000)
        );
        assert_eq!(
            Relaxation::RaiseBudget(BudgetName::Tables, 2).kind(),
            "raise"
        );
        for budget in BudgetName::ALL {
            assert_eq!(budget.as_str().parse::<BudgetName>().unwrap(), budget);
            assert!(budget.as_str().parse::<LimitName>().is_err(), "{budget}");
        }
    }

    #[test]
    fn scopes_parse() {
        assert_eq!(
            "function:parse_row".parse::<Scope>().unwrap(),
            Scope::Function("parse_row".into())
        );
        assert!("function:".parse::<Scope>().is_err());
        assert!("crate".parse::<Scope>().is_err());
    }
}
