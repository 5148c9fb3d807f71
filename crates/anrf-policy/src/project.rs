//! The project policy `anrf-policy.toml`: the most any module may ask for
//! (maxima), the trusted approvers, the Cedar rules for who may approve what, and
//! the per-profile rules. Without a file, [`ProjectPolicy::builtin`] applies.
//!
//! Parsing is two steps because the Cedar rules may live in their own file and this
//! crate reads no files: [`PolicyFile::parse`] reads the TOML text and names the
//! `.cedar` file it refers to, if any; [`PolicyFile::compile`] takes that file's
//! text and yields the [`ProjectPolicy`].

use std::collections::BTreeMap;

use anrf_format::{
    BudgetName, ByteSize, ContentDigest, Fuel, Limits, Millis, Override, Profile, Scope,
};
use serde::Deserialize;

use crate::authz::CedarRules;
use crate::error::PolicyError;
use crate::keys::PublicKey;

/// The conventional file name at a project root.
pub const POLICY_FILE: &str = "anrf-policy.toml";

/// Version of the policy file format this crate reads.
pub const POLICY_VERSION: u32 = 1;

/// A parsed and checked project policy.
#[derive(Debug)]
pub struct ProjectPolicy {
    origin: String,
    digest: ContentDigest,
    maxima: Maxima,
    approvers: Vec<Approver>,
    cedar: CedarRules,
    profiles: BTreeMap<Profile, ProfileRules>,
    overrides: Vec<Override>,
    builtin: bool,
    anchor: Option<HostAnchor>,
    audit_public_key: Option<String>,
}

/// Where host paths given on the command line are resolved, so that they can be
/// compared with the maxima: absolute directories, as the caller found them (the
/// CLI canonicalizes them; this crate only joins and normalizes, lexically).
///
/// Without an anchor, command-line paths are compared with the maxima as written
/// (relative to the module), an absolute path is covered only by `*`, and the
/// filesystem root is never granted.
#[derive(Debug, Clone)]
pub struct HostAnchor {
    /// The directory command-line paths are relative to (the working directory).
    pub working_dir: std::path::PathBuf,
    /// The module directory, which the maxima's relative paths are relative to
    /// (the working directory for a bare `.wasm`/`.wat`).
    pub module_dir: std::path::PathBuf,
    /// The project root: the directory of `anrf-policy.toml`, or, under the
    /// built-in policy, the module directory. `*` in `maxima.read`/`write` covers
    /// directories inside it and nothing outside it.
    pub project_root: std::path::PathBuf,
    /// How the caller resolves symbolic links in a host path (the CLI passes
    /// `std::fs::canonicalize`), so that a link inside an allowed directory
    /// pointing outside it is judged by its target. `None`: lexical only. This
    /// crate never calls the file system itself; the caller's function does.
    pub resolve_links: Option<fn(&std::path::Path) -> Option<std::path::PathBuf>>,
}

/// The most any module of the project may ask for, with or without overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "each bool is one independent capability switch of the policy file"
)]
pub struct Maxima {
    /// The highest value of each limit.
    pub limits: Limits,
    /// The highest value a `raise:BUDGET=VALUE` override may raise each compile
    /// budget to (`[maxima.compile]`; every budget has one).
    pub budgets: BTreeMap<BudgetName, u64>,
    /// Whether a `memory-unsafe` override may be granted at all.
    pub memory_unsafe: bool,
    /// Whether a `threads` override may be granted at all.
    pub threads: bool,
    /// Host directories (relative to a module) that may be granted for reading;
    /// `*` allows any inside the project (never the filesystem root, never a
    /// command-line path outside the project root).
    pub read: Vec<String>,
    /// Host directories that may be granted for writing; `*` allows any.
    pub write: Vec<String>,
    /// Environment variable names that may be granted; `PREFIX_*` and `*` match many.
    pub env: Vec<String>,
    /// Network hosts that may be granted; `*` allows any.
    pub network: Vec<String>,
    /// Whether a module may declare the clock.
    pub clock: bool,
    /// Whether a module may declare random numbers.
    pub random: bool,
}

/// A trusted approver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approver {
    pub name: String,
    pub public_key: PublicKey,
    pub roles: Vec<String>,
}

/// How strictly overrides are governed in one profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileRules {
    /// Distinct approvers needed per relaxation kind (`memory-unsafe`,
    /// `allow-read`, ..., `raise`); kinds not listed need `default`.
    pub min_approvers: BTreeMap<String, u32>,
    /// Distinct approvers needed for a kind not listed in `min_approvers`.
    pub default_min: u32,
    /// Whether the requester may approve their own override (only ever in `dev`).
    pub self_approval: bool,
}

impl ProfileRules {
    /// Distinct approvers needed for a relaxation of `kind`.
    pub fn required(&self, kind: &str) -> u32 {
        self.min_approvers
            .get(kind)
            .copied()
            .unwrap_or(self.default_min)
    }
}

/// The relaxation kinds `min_approvers` may name, besides `default`.
pub const RELAXATION_KINDS: [&str; 7] = [
    "memory-unsafe",
    "allow-read",
    "allow-write",
    "allow-env",
    "allow-network",
    "threads",
    "raise",
];

/// The built-in maxima of the compile budgets are this many times their
/// defaults, so even the widest approved raise stays bounded (docs/runtime.md,
/// "Compile budgets", has what compiling that much costs).
pub const BUILTIN_BUDGET_FACTOR: u64 = 4;

/// The built-in maximum of one compile budget: [`BUILTIN_BUDGET_FACTOR`]
/// times its default, except where nothing larger could run anyway: a module
/// file is read up to `anrf_format::MAX_ARTIFACT_BYTES`, and the sandbox
/// instantiates at most 16 tables.
fn builtin_budget_maximum(b: BudgetName) -> u64 {
    match b {
        BudgetName::ModuleBytes => anrf_format::MAX_ARTIFACT_BYTES,
        BudgetName::Tables => 16,
        _ => b.default_value().saturating_mul(BUILTIN_BUDGET_FACTOR),
    }
}

impl Maxima {
    /// The built-in maxima: generous enough for `dev` self-approvals, bounded
    /// everywhere (see `docs/policy.md`). Without trusted approvers nothing past the
    /// secure defaults can be granted in `test` or `prod` anyway.
    pub fn builtin() -> Self {
        Self {
            limits: Limits {
                memory: size(1 << 30),
                fuel: Fuel::new(100_000_000_000).unwrap_or(Limits::DEFAULT.fuel),
                timeout: Millis::new(60_000).unwrap_or(Limits::DEFAULT.timeout),
                stack: size(8 << 20),
                stdout: size(64 << 20),
                stderr: size(64 << 20),
            },
            budgets: BudgetName::ALL
                .into_iter()
                .map(|b| (b, builtin_budget_maximum(b)))
                .collect(),
            memory_unsafe: true,
            threads: false,
            read: vec!["*".into()],
            write: vec!["*".into()],
            env: vec!["*".into()],
            network: Vec::new(),
            clock: true,
            random: true,
        }
    }

    /// Whether `path` (relative to a module) is within `patterns`.
    pub(crate) fn path_allowed(patterns: &[String], path: &str) -> bool {
        patterns.iter().any(|p| anrf_format::path_within(path, p))
    }

    /// Whether `name` matches one of `patterns` (`*` suffix matches a prefix).
    pub(crate) fn name_allowed(patterns: &[String], name: &str) -> bool {
        patterns.iter().any(|p| match p.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => p == name,
        })
    }
}

fn size(bytes: u64) -> ByteSize {
    ByteSize::new(bytes).unwrap_or(Limits::DEFAULT.memory)
}

impl ProfileRules {
    /// The built-in rules of `profile`: `dev` takes a justification and allows
    /// self-approval; `test` one trusted approver; `prod` one, and two distinct
    /// ones for `memory-unsafe` and `allow-network`.
    pub fn builtin(profile: Profile) -> Self {
        match profile {
            Profile::Dev => Self {
                min_approvers: BTreeMap::new(),
                default_min: 0,
                self_approval: true,
            },
            Profile::Test => Self {
                min_approvers: BTreeMap::new(),
                default_min: 1,
                self_approval: false,
            },
            Profile::Prod => Self {
                min_approvers: BTreeMap::from([
                    ("memory-unsafe".to_owned(), 2),
                    ("allow-network".to_owned(), 2),
                ]),
                default_min: 1,
                self_approval: false,
            },
        }
    }
}

const PROFILES: [Profile; 3] = [Profile::Dev, Profile::Test, Profile::Prod];

impl ProjectPolicy {
    /// The strict built-in policy used when a project has no `anrf-policy.toml`:
    /// built-in maxima, no trusted approvers (so nothing can be approved for `test`
    /// or `prod`), the built-in Cedar rules and profile rules.
    pub fn builtin() -> Self {
        Self {
            origin: "<built-in policy>".into(),
            digest: ContentDigest::of(b"anrf-policy builtin v1"),
            maxima: Maxima::builtin(),
            approvers: Vec::new(),
            cedar: CedarRules::builtin(),
            profiles: PROFILES
                .into_iter()
                .map(|p| (p, ProfileRules::builtin(p)))
                .collect(),
            overrides: Vec::new(),
            builtin: true,
            anchor: None,
            audit_public_key: None,
        }
    }

    /// This policy, with command-line host paths resolved against `anchor` (see
    /// [`HostAnchor`]). The CLI anchors every policy it loads for a run.
    #[must_use]
    pub fn anchored(mut self, anchor: HostAnchor) -> Self {
        self.anchor = Some(anchor);
        self
    }

    /// Where command-line host paths are resolved, if anchored.
    pub fn anchor(&self) -> Option<&HostAnchor> {
        self.anchor.as_ref()
    }

    /// Parses a policy file whose Cedar rules, if any, are inline.
    pub fn parse(text: &str, origin: &str) -> Result<Self, PolicyError> {
        let file = PolicyFile::parse(text, origin)?;
        if let Some(path) = file.cedar_file() {
            return Err(PolicyError::PolicyValue {
                origin: origin.into(),
                field: "cedar_file".into(),
                message: format!("`{path}` must be read by the caller: use `PolicyFile`"),
            });
        }
        file.compile(None)
    }

    /// Where the policy came from (a path, or `<built-in policy>`).
    pub fn origin(&self) -> &str {
        &self.origin
    }
    /// Digest of the policy's meaning (TOML normal form without `[[overrides]]`,
    /// plus the Cedar rules): approvals record it.
    pub fn digest(&self) -> &ContentDigest {
        &self.digest
    }
    pub fn is_builtin(&self) -> bool {
        self.builtin
    }
    pub fn maxima(&self) -> &Maxima {
        &self.maxima
    }
    pub fn approvers(&self) -> &[Approver] {
        &self.approvers
    }
    pub fn cedar(&self) -> &CedarRules {
        &self.cedar
    }
    /// Project-scoped overrides, stated in the policy file's `[[overrides]]`.
    pub fn overrides(&self) -> &[Override] {
        &self.overrides
    }
    /// The rules of `profile`.
    pub fn profile(&self, profile: Profile) -> ProfileRules {
        self.profiles
            .get(&profile)
            .cloned()
            .unwrap_or_else(|| ProfileRules::builtin(profile))
    }
    /// The trusted approver holding `key`, if any.
    pub fn approver_by_key(&self, key: &PublicKey) -> Option<&Approver> {
        self.approvers.iter().find(|a| &a.public_key == key)
    }
    /// The audit log's public key pinned by `[audit] public_key` (64 lowercase
    /// hex digits, as `anrf audit verify --json` prints it), if any.
    pub fn audit_public_key(&self) -> Option<&str> {
        self.audit_public_key.as_deref()
    }
    /// The trusted approver called `name`, if any.
    pub fn approver_by_name(&self, name: &str) -> Option<&Approver> {
        self.approvers.iter().find(|a| a.name == name)
    }
}

/// A policy file read but not yet compiled (its Cedar file not yet supplied).
#[derive(Debug)]
pub struct PolicyFile {
    origin: String,
    raw: RawPolicy,
    normal_form: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    version: u32,
    #[serde(default)]
    maxima: RawMaxima,
    #[serde(default)]
    approvers: Vec<RawApprover>,
    cedar: Option<String>,
    cedar_file: Option<String>,
    #[serde(default)]
    profiles: BTreeMap<String, RawProfile>,
    #[serde(default)]
    overrides: Vec<Override>,
    audit: Option<RawAudit>,
}

/// `[audit]`: the audit log this project trusts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    public_key: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawMaxima {
    memory: Option<ByteSize>,
    fuel: Option<Fuel>,
    timeout: Option<Millis>,
    stack: Option<ByteSize>,
    stdout: Option<ByteSize>,
    stderr: Option<ByteSize>,
    #[serde(alias = "memory_unsafe")]
    memory_unsafe: Option<bool>,
    threads: Option<bool>,
    read: Option<Vec<String>>,
    write: Option<Vec<String>>,
    env: Option<Vec<String>>,
    network: Option<Vec<String>>,
    clock: Option<bool>,
    random: Option<bool>,
    /// `[maxima.compile]`: budget name -> the most it may be raised to.
    compile: Option<BTreeMap<String, RawBudgetValue>>,
}

/// A compile budget's maximum: a count, or for a `-bytes` budget a size
/// (`"64MiB"`) or a plain number of bytes.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawBudgetValue {
    Number(u64),
    Text(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawApprover {
    name: String,
    public_key: String,
    roles: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProfile {
    #[serde(default)]
    min_approvers: BTreeMap<String, u32>,
    self_approval: Option<bool>,
}

impl PolicyFile {
    /// Reads the TOML text of `anrf-policy.toml`; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, PolicyError> {
        let raw: RawPolicy = toml::from_str(text).map_err(|e| PolicyError::PolicyFile {
            origin: origin.into(),
            message: e.to_string().trim_end().replace('\n', "\n  "),
        })?;
        if raw.version != POLICY_VERSION {
            return Err(PolicyError::PolicyValue {
                origin: origin.into(),
                field: "version".into(),
                message: format!(
                    "version `{}` is not supported (write `version = 1`)",
                    raw.version
                ),
            });
        }
        if raw.cedar.is_some() && raw.cedar_file.is_some() {
            return Err(PolicyError::PolicyValue {
                origin: origin.into(),
                field: "cedar_file".into(),
                message: "give the Cedar rules either inline (`cedar`) or as a file (`cedar_file`), not both".into(),
            });
        }
        let normal_form = normal_form(text, origin)?;
        Ok(Self {
            origin: origin.into(),
            raw,
            normal_form,
        })
    }

    /// The `.cedar` file this policy names (relative to the policy file), if any.
    pub fn cedar_file(&self) -> Option<&str> {
        self.raw.cedar_file.as_deref()
    }

    /// Checks everything and yields the policy. `cedar_file_text` is the content of
    /// [`PolicyFile::cedar_file`] when it names one.
    pub fn compile(self, cedar_file_text: Option<&str>) -> Result<ProjectPolicy, PolicyError> {
        let origin = self.origin;
        let value_err = |field: &str, message: String| PolicyError::PolicyValue {
            origin: origin.clone(),
            field: field.into(),
            message,
        };
        let raw = self.raw;
        let maxima =
            compile_maxima(raw.maxima).map_err(|(field, message)| value_err(&field, message))?;
        for (field, list) in [
            ("maxima.read", &maxima.read),
            ("maxima.write", &maxima.write),
        ] {
            for p in list {
                if p != "*" && anrf_format::RelPath::new(p.as_str()).is_err() {
                    return Err(value_err(
                        field,
                        format!(
                            "`{p}` must be `*` or a path relative to the module directory, without `..`"
                        ),
                    ));
                }
            }
        }

        let mut approvers: Vec<Approver> = Vec::new();
        for (i, a) in raw.approvers.into_iter().enumerate() {
            let field = format!("approvers[{i}]");
            if !valid_name(&a.name) {
                return Err(value_err(
                    &field,
                    format!(
                        "name `{}` must be 1-64 characters of `a-z`, `A-Z`, `0-9`, `.`, `_`, `-`, `@`",
                        a.name
                    ),
                ));
            }
            let public_key: PublicKey = a
                .public_key
                .parse()
                .map_err(|e: PolicyError| value_err(&field, e.to_string()))?;
            if a.roles.is_empty() {
                return Err(value_err(
                    &field,
                    format!(
                        "approver `{}` has no roles: give at least one, e.g. `roles = [\"security\"]`",
                        a.name
                    ),
                ));
            }
            if let Some(bad) = a.roles.iter().find(|r| !valid_name(r)) {
                return Err(value_err(
                    &field,
                    format!(
                        "role `{bad}` must be 1-64 characters of `a-z`, `A-Z`, `0-9`, `.`, `_`, `-`, `@`"
                    ),
                ));
            }
            if approvers.iter().any(|b| b.name == a.name) {
                return Err(value_err(
                    &field,
                    format!("approver `{}` is listed twice", a.name),
                ));
            }
            if approvers.iter().any(|b| b.public_key == public_key) {
                return Err(value_err(
                    &field,
                    format!(
                        "approver `{}` shares its public key with another approver; distinct approvers need distinct keys",
                        a.name
                    ),
                ));
            }
            approvers.push(Approver {
                name: a.name,
                public_key,
                roles: a.roles,
            });
        }

        let (cedar_text, cedar_origin) = match (&raw.cedar, &raw.cedar_file, cedar_file_text) {
            (Some(text), _, _) => (Some(text.as_str()), format!("{origin} (`cedar`)")),
            (None, Some(file), Some(text)) => (Some(text), file.clone()),
            (None, Some(file), None) => {
                return Err(value_err(
                    "cedar_file",
                    format!("the content of `{file}` was not supplied"),
                ));
            }
            (None, None, _) => (None, String::new()),
        };
        let cedar = match cedar_text {
            Some(text) => CedarRules::parse(text, &cedar_origin)?,
            None => CedarRules::builtin(),
        };

        let mut profiles: BTreeMap<Profile, ProfileRules> = PROFILES
            .into_iter()
            .map(|p| (p, ProfileRules::builtin(p)))
            .collect();
        for (name, rp) in raw.profiles {
            let profile = PROFILES
                .into_iter()
                .find(|p| p.as_str() == name)
                .ok_or_else(|| {
                    value_err(
                        &format!("profiles.{name}"),
                        "unknown profile (use `dev`, `test` or `prod`)".into(),
                    )
                })?;
            let field = format!("profiles.{name}");
            let floor = u32::from(profile != Profile::Dev);
            let mut rules = ProfileRules {
                min_approvers: BTreeMap::new(),
                default_min: ProfileRules::builtin(profile).default_min,
                self_approval: profile == Profile::Dev,
            };
            for (kind, n) in rp.min_approvers {
                if kind != "default" && !RELAXATION_KINDS.contains(&kind.as_str()) {
                    return Err(value_err(
                        &format!("{field}.min_approvers.{kind}"),
                        format!(
                            "unknown relaxation kind (use `default` or one of {})",
                            RELAXATION_KINDS.join(", ")
                        ),
                    ));
                }
                if n < floor {
                    return Err(value_err(
                        &format!("{field}.min_approvers.{kind}"),
                        format!(
                            "`{n}` is below the floor of `{name}`: at least one trusted approver's signature is needed outside `dev`"
                        ),
                    ));
                }
                if kind == "default" {
                    rules.default_min = n;
                } else {
                    rules.min_approvers.insert(kind, n);
                }
            }
            if let Some(allowed) = rp.self_approval {
                if allowed && profile != Profile::Dev {
                    return Err(value_err(
                        &format!("{field}.self_approval"),
                        format!("self-approval is never allowed in `{name}`, only in `dev`"),
                    ));
                }
                rules.self_approval = allowed;
            }
            profiles.insert(profile, rules);
        }

        for (i, o) in raw.overrides.iter().enumerate() {
            if o.scope != Scope::Project {
                return Err(value_err(
                    &format!("overrides[{i}]"),
                    format!(
                        "override `{}` has scope `{}`: the policy file holds only `project`-scoped overrides; put module and function overrides in the module's anrf.toml",
                        o.id, o.scope
                    ),
                ));
            }
        }

        let audit_public_key =
            compile_audit_key(raw.audit).map_err(|m| value_err("audit.public_key", m))?;
        let mut digest_input = self.normal_form.into_bytes();
        digest_input.extend_from_slice(b"\n--cedar--\n");
        digest_input.extend_from_slice(cedar_text.unwrap_or("").as_bytes());
        Ok(ProjectPolicy {
            origin,
            digest: ContentDigest::of(&digest_input),
            maxima,
            approvers,
            cedar,
            profiles,
            overrides: raw.overrides,
            builtin: false,
            anchor: None,
            audit_public_key,
        })
    }
}

/// The policy's TOML as canonical JSON (sorted keys), without `overrides`, so that
/// comments, layout and added approvals of project overrides do not change it.
fn normal_form(text: &str, origin: &str) -> Result<String, PolicyError> {
    let mut table: toml::Table = toml::from_str(text).map_err(|e| PolicyError::PolicyFile {
        origin: origin.into(),
        message: e.to_string(),
    })?;
    table.remove("overrides");
    // The audit log's pinned key says which log to trust, nothing about what a
    // module may do: pinning it does not invalidate approvals.
    table.remove("audit");
    let value = serde_json::to_value(&table).map_err(|e| PolicyError::PolicyFile {
        origin: origin.into(),
        message: e.to_string(),
    })?;
    Ok(value.to_string())
}

fn compile_maxima(raw: RawMaxima) -> Result<Maxima, (String, String)> {
    let b = Maxima::builtin();
    let mut budgets = b.budgets;
    for (key, value) in raw.compile.unwrap_or_default() {
        let field = format!("maxima.compile.{key}");
        let name: BudgetName = key.parse().map_err(|_| {
            (
                field.clone(),
                format!(
                    "`{key}` is not a compile budget; use one of {}",
                    BudgetName::ALL.map(BudgetName::as_str).join(", ")
                ),
            )
        })?;
        let text = match value {
            RawBudgetValue::Number(n) => n.to_string(),
            RawBudgetValue::Text(t) => t,
        };
        let max = name
            .parse_value(&text)
            .map_err(|e| (field.clone(), e.to_string()))?;
        budgets.insert(name, max);
    }
    Ok(Maxima {
        budgets,
        limits: Limits {
            memory: raw.memory.unwrap_or(b.limits.memory),
            fuel: raw.fuel.unwrap_or(b.limits.fuel),
            timeout: raw.timeout.unwrap_or(b.limits.timeout),
            stack: raw.stack.unwrap_or(b.limits.stack),
            stdout: raw.stdout.unwrap_or(b.limits.stdout),
            stderr: raw.stderr.unwrap_or(b.limits.stderr),
        },
        memory_unsafe: raw.memory_unsafe.unwrap_or(b.memory_unsafe),
        threads: raw.threads.unwrap_or(b.threads),
        read: raw.read.unwrap_or(b.read),
        write: raw.write.unwrap_or(b.write),
        env: raw.env.unwrap_or(b.env),
        network: raw.network.unwrap_or(b.network),
        clock: raw.clock.unwrap_or(b.clock),
        random: raw.random.unwrap_or(b.random),
    })
}

/// `[audit] public_key`: 64 hex digits of an ed25519 public key, lowercased.
fn compile_audit_key(raw: Option<RawAudit>) -> Result<Option<String>, String> {
    let Some(text) = raw.and_then(|a| a.public_key) else {
        return Ok(None);
    };
    let key = text.to_ascii_lowercase();
    let bytes: Option<[u8; 32]> = hex::decode(&key).ok().and_then(|b| b.try_into().ok());
    match bytes.map(|b| ed25519_dalek::VerifyingKey::from_bytes(&b)) {
        Some(Ok(_)) => Ok(Some(key)),
        _ => Err(format!(
            "`{}` is not the audit log's public key: write the 64 hex digits `anrf audit verify --json` prints as `public_key`",
            text.escape_debug()
        )),
    }
}

/// Approver and role names: what Cedar entity ids and reports can carry plainly.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::SecretKey;

    pub(crate) fn key(seed: u8) -> String {
        SecretKey::from_seed([seed; 32]).public_key().to_string()
    }

    fn policy(extra: &str) -> Result<ProjectPolicy, PolicyError> {
        let text = format!(
            "version = 1\n{extra}\n[[approvers]]\nname = \"alice\"\npublic_key = \"{}\"\nroles = [\"security\"]\n",
            key(1)
        );
        ProjectPolicy::parse(&text, "anrf-policy.toml")
    }

    #[test]
    fn minimal_file_takes_builtin_maxima_and_rules() {
        let p = policy("").unwrap();
        assert_eq!(p.maxima(), &Maxima::builtin());
        assert_eq!(p.profile(Profile::Prod).required("memory-unsafe"), 2);
        assert_eq!(p.profile(Profile::Test).required("allow-read"), 1);
        assert_eq!(p.profile(Profile::Dev).required("allow-read"), 0);
        assert_eq!(p.approvers()[0].roles, ["security"]);
        assert!(!p.is_builtin());
    }

    #[test]
    fn maxima_and_profiles_are_read() {
        let p = policy(
            "[maxima]\nmemory = \"256MiB\"\nread = [\"data\"]\nenv = [\"APP_*\"]\nmemory-unsafe = false\n[profiles.prod]\nmin_approvers = { default = 2, allow-env = 1 }\n",
        )
        .unwrap();
        assert_eq!(p.maxima().limits.memory.bytes(), 256 << 20);
        assert!(!p.maxima().memory_unsafe);
        assert_eq!(p.profile(Profile::Prod).required("allow-env"), 1);
        assert_eq!(p.profile(Profile::Prod).required("memory-unsafe"), 2);
        assert!(Maxima::path_allowed(&p.maxima().read, "data/in"));
        assert!(!Maxima::path_allowed(&p.maxima().read, "database"));
        assert!(Maxima::name_allowed(&p.maxima().env, "APP_MODE"));
        assert!(!Maxima::name_allowed(&p.maxima().env, "HOME"));
    }

    #[test]
    fn unknown_fields_are_errors() {
        let err = policy("[maxima]\nmemroy = \"1GiB\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("memroy"), "{err}");
        let err = ProjectPolicy::parse("version = 1\nsandbox = false\n", "p.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("sandbox"), "{err}");
    }

    #[test]
    fn audit_public_key_is_pinned_checked_and_outside_the_digest() {
        let pinned = hex::encode(
            ed25519_dalek::SigningKey::from_bytes(&[7; 32])
                .verifying_key()
                .as_bytes(),
        );
        let p = policy(&format!(
            "[audit]\npublic_key = \"{}\"\n",
            pinned.to_uppercase()
        ))
        .unwrap();
        assert_eq!(p.audit_public_key(), Some(pinned.as_str()));
        assert_eq!(policy("").unwrap().audit_public_key(), None);
        assert_eq!(policy("[audit]\n").unwrap().audit_public_key(), None);
        assert_eq!(p.digest(), policy("").unwrap().digest());
        for bad in ["abc", &"g".repeat(64), &"ab".repeat(33), "\\u001b[2J"] {
            let err = policy(&format!("[audit]\npublic_key = \"{bad}\"\n"))
                .unwrap_err()
                .to_string();
            assert!(err.contains("audit.public_key"), "{bad}: {err}");
            assert!(!err.contains('\u{1b}'), "{err}");
        }
        let err = policy("[audit]\nkey = \"x\"\n").unwrap_err().to_string();
        assert!(err.contains("key"), "{err}");
    }

    #[test]
    fn missing_version_and_wrong_version_are_errors() {
        assert!(
            ProjectPolicy::parse("", "p.toml")
                .unwrap_err()
                .to_string()
                .contains("version")
        );
        let err = ProjectPolicy::parse("version = 2\n", "p.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("`2` is not supported"), "{err}");
    }

    #[test]
    fn self_approval_outside_dev_cannot_be_configured() {
        let err = policy("[profiles.prod]\nself_approval = true\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("never allowed in `prod`"), "{err}");
    }

    #[test]
    fn zero_approvers_outside_dev_cannot_be_configured() {
        let err = policy("[profiles.test]\nmin_approvers = { default = 0 }\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("below the floor"), "{err}");
    }

    #[test]
    fn unknown_relaxation_kind_in_rules_is_an_error() {
        let err = policy("[profiles.prod]\nmin_approvers = { netwrk = 2 }\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown relaxation kind"), "{err}");
    }

    #[test]
    fn bad_keys_and_duplicate_approvers_are_errors() {
        let text = "version = 1\n[[approvers]]\nname = \"a\"\npublic_key = \"ed25519:AAAA\"\nroles = [\"x\"]\n";
        let err = ProjectPolicy::parse(text, "p.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("32 bytes"), "{err}");
        let k = key(4);
        let text = format!(
            "version = 1\n[[approvers]]\nname = \"a\"\npublic_key = \"{k}\"\nroles = [\"x\"]\n[[approvers]]\nname = \"b\"\npublic_key = \"{k}\"\nroles = [\"x\"]\n"
        );
        let err = ProjectPolicy::parse(&text, "p.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("distinct keys"), "{err}");
    }

    #[test]
    fn digest_ignores_comments_and_layout_but_not_meaning() {
        let a = policy("").unwrap();
        let text = format!(
            "# our policy\nversion = 1\n\n[[approvers]]\nroles = [\"security\"]\nname = \"alice\"\npublic_key = \"{}\"\n",
            key(1)
        );
        let b = ProjectPolicy::parse(&text, "x.toml").unwrap();
        assert_eq!(a.digest(), b.digest());
        let c = policy("[maxima]\nclock = false\n").unwrap();
        assert_ne!(a.digest(), c.digest());
    }

    #[test]
    fn builtin_has_no_approvers() {
        let p = ProjectPolicy::builtin();
        assert!(p.approvers().is_empty());
        assert!(p.is_builtin());
        assert!(p.profile(Profile::Dev).self_approval);
        assert!(!p.profile(Profile::Test).self_approval);
    }

    #[test]
    fn cedar_file_needs_its_text() {
        let file =
            PolicyFile::parse("version = 1\ncedar_file = \"approve.cedar\"\n", "p.toml").unwrap();
        assert_eq!(file.cedar_file(), Some("approve.cedar"));
        assert!(
            file.compile(None)
                .unwrap_err()
                .to_string()
                .contains("not supplied")
        );
        let file =
            PolicyFile::parse("version = 1\ncedar_file = \"approve.cedar\"\n", "p.toml").unwrap();
        let p = file
            .compile(Some(
                "permit(principal, action == Action::\"approve\", resource);",
            ))
            .unwrap();
        assert_eq!(p.cedar().policy_ids().len(), 1);
    }
}
