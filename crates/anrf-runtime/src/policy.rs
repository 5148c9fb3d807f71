//! The effective policy of one run: limits, capabilities and metering.
//!
//! A [`RunPolicy`] starts from nothing: [`Capabilities::none`] grants no
//! directory, no environment variable, no clock and no randomness. Every grant
//! is an explicit call whose name says what it opens. The runtime never looks
//! at the host's environment, arguments or files on its own; the caller resolves
//! host paths and chooses environment values.

use std::path::Path;
use std::time::Duration;

use crate::budget::CompileBudget;
use crate::error::RuntimeError;
use crate::hostdir::{FileId, HostDir};

/// The built-in limits. Each can be lowered by a manifest or a command-line flag;
/// raising one needs an approved override (resolved before the runtime is called).
///
/// | limit | default | what happens when it is hit |
/// |---|---|---|
/// | `memory_bytes` | 64 MiB | `memory_limit`: the growth traps, the guest stops |
/// | `table_elements` | 10 000 | `memory_limit`: the growth traps, the guest stops |
/// | `fuel` | 1 000 000 000 | `fuel_exhausted` (fuel metering only) |
/// | `timeout` | 5 s | `timeout`, also while blocked in a host call |
/// | `stack_bytes` | 512 KiB | `stack_overflow` |
/// | `stdout_bytes` | 1 MiB | `output_limit`: output is cut at the cap, the guest stops |
/// | `stderr_bytes` | 1 MiB | `output_limit`: output is cut at the cap, the guest stops |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Total linear memory of the guest, in bytes.
    pub memory_bytes: u64,
    /// Total elements of the guest's tables.
    pub table_elements: u64,
    /// Instruction budget, in wasmtime fuel units (about one per wasm operator).
    pub fuel: u64,
    /// Wall-clock budget of one run, including instantiation.
    pub timeout: Duration,
    /// Maximum wasm stack, in bytes.
    pub stack_bytes: u64,
    /// Bytes of stdout kept; more is cut and reported.
    pub stdout_bytes: u64,
    /// Bytes of stderr kept; more is cut and reported.
    pub stderr_bytes: u64,
}

impl Limits {
    /// The built-in defaults (the same numbers as the manifest's defaults).
    pub const DEFAULT: Limits = Limits {
        memory_bytes: 64 * 1024 * 1024,
        table_elements: 10_000,
        fuel: 1_000_000_000,
        timeout: Duration::from_secs(5),
        stack_bytes: 512 * 1024,
        stdout_bytes: 1024 * 1024,
        stderr_bytes: 1024 * 1024,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// How a run's instruction budget is enforced.
///
/// The wall-clock timeout is enforced in both modes (by epoch interruption and a
/// guard thread); `Fuel` additionally counts instructions, deterministically.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Metering {
    /// Deterministic instruction counting; `Limits::fuel` applies and `fuel_used` is reported.
    Fuel,
    /// Epoch deadline only (cheaper); `Limits::fuel` is not used and `fuel_used` is `0`.
    Epoch,
}

/// Access granted to a directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    /// Files and directories may be read, listed and opened for reading.
    ReadOnly,
    /// Files may also be created, written, renamed and removed.
    ReadWrite,
}

/// One directory made visible to the guest: an opened [`HostDir`] (never
/// looked up by name again), where the guest sees it, and what it may do there.
#[derive(Debug, Clone)]
pub struct DirGrant {
    guest_path: String,
    dir: HostDir,
    /// The directories above `dir`, to refuse nested grants.
    ancestors: Vec<FileId>,
    access: Access,
}

impl PartialEq for DirGrant {
    /// Same guest path, same access, same directory (device and inode).
    fn eq(&self, other: &DirGrant) -> bool {
        self.guest_path == other.guest_path
            && self.access == other.access
            && self.dir.id() == other.dir.id()
    }
}

impl Eq for DirGrant {}

impl DirGrant {
    /// A grant of the opened directory `dir` at `guest_path` (absolute,
    /// normalized, e.g. `/data`). Refused when `dir` is the root of the host's
    /// filesystem: a grant names the one directory a module needs.
    pub fn new(
        guest_path: impl Into<String>,
        dir: HostDir,
        access: Access,
    ) -> Result<DirGrant, RuntimeError> {
        let guest_path = guest_path.into();
        if !is_normal_guest_path(&guest_path) {
            return Err(RuntimeError::InvalidGrant {
                what: guest_path,
                reason: "a guest path must be absolute and normalized, like `/data`".into(),
            });
        }
        let ancestors = dir.ancestors()?;
        if ancestors.is_empty() {
            return Err(RuntimeError::InvalidGrant {
                what: dir.path().display().to_string(),
                reason: "this is the root of the host's filesystem, which is never granted; grant the one directory the module needs".into(),
            });
        }
        Ok(DirGrant {
            guest_path,
            dir,
            ancestors,
            access,
        })
    }

    /// Where the guest sees the directory.
    pub fn guest_path(&self) -> &str {
        &self.guest_path
    }

    /// The path the host directory was opened at (for messages: the guest is
    /// given the opened descriptor, not this name).
    pub fn host_path(&self) -> &Path {
        self.dir.path()
    }

    /// The opened host directory.
    pub fn dir(&self) -> &HostDir {
        &self.dir
    }

    /// What the guest may do in it.
    pub fn access(&self) -> Access {
        self.access
    }

    /// Whether `self` lies inside `other` (or is the same directory).
    fn within(&self, other: &DirGrant) -> bool {
        self.dir.id() == other.dir.id() || self.ancestors.contains(&other.dir.id())
    }
}

/// What the guest may reach besides stdin, stdout, stderr and its arguments.
/// Starts empty ([`Capabilities::none`]); each `grant_*` call opens one thing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    dirs: Vec<DirGrant>,
    env: Vec<(String, String)>,
    clock: bool,
    random: bool,
}

impl Capabilities {
    /// Nothing granted: no directory, no environment variable, no clock, no randomness.
    pub fn none() -> Capabilities {
        Capabilities::default()
    }

    /// Makes a directory visible to the guest. Refused when its guest path is
    /// already granted, or when it lies inside another granted directory or
    /// contains one (compared by device and inode on the opened descriptors, so
    /// links, bind mounts and spellings of a path do not hide it): nested
    /// grants would hand the guest one directory twice, with two accesses, and
    /// let it replace the inner one through the outer one.
    pub fn grant_dir(&mut self, grant: DirGrant) -> Result<&mut Self, RuntimeError> {
        if self.dirs.iter().any(|d| d.guest_path == grant.guest_path) {
            return Err(RuntimeError::InvalidGrant {
                what: grant.guest_path,
                reason: "this guest path is granted twice".into(),
            });
        }
        let nested = |inner: &DirGrant, outer: &DirGrant| RuntimeError::InvalidGrant {
            what: grant.host_path().display().to_string(),
            reason: format!(
                "grants may not nest: `{}` (at `{}` in the guest) {} `{}` (at `{}`); grant only one of them (the outer one, with the access the module needs), or directories side by side",
                inner.host_path().display(),
                inner.guest_path,
                if inner.dir.id() == outer.dir.id() {
                    "is the same directory as"
                } else {
                    "lies inside"
                },
                outer.host_path().display(),
                outer.guest_path,
            ),
        };
        for existing in &self.dirs {
            if grant.within(existing) {
                return Err(nested(&grant, existing));
            }
            if existing.within(&grant) {
                return Err(nested(existing, &grant));
            }
        }
        self.dirs.push(grant);
        Ok(self)
    }

    /// Passes one environment variable, with the value the caller chose.
    pub fn grant_env(
        &mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<&mut Self, RuntimeError> {
        let name = name.into();
        let valid = !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !name.as_bytes()[0].is_ascii_digit();
        if !valid {
            return Err(RuntimeError::InvalidGrant {
                what: name,
                reason: "an environment variable name is letters, digits and `_`, not starting with a digit".into(),
            });
        }
        self.env.retain(|(n, _)| *n != name);
        self.env.push((name, value.into()));
        Ok(self)
    }

    /// Lets the guest read the wall and monotonic clocks and sleep.
    pub fn grant_clock(&mut self) -> &mut Self {
        self.clock = true;
        self
    }

    /// Lets the guest draw random bytes from the host.
    pub fn grant_random(&mut self) -> &mut Self {
        self.random = true;
        self
    }

    /// Granted directories.
    pub fn dirs(&self) -> &[DirGrant] {
        &self.dirs
    }

    /// Granted environment variables, name and value.
    pub fn env(&self) -> &[(String, String)] {
        &self.env
    }

    /// Whether the clocks are granted.
    pub fn clock(&self) -> bool {
        self.clock
    }

    /// Whether randomness is granted.
    pub fn random(&self) -> bool {
        self.random
    }
}

/// The effective policy of one run. [`crate::Runtime::run`] takes one, so no
/// sandbox exists without a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPolicy {
    limits: Limits,
    capabilities: Capabilities,
    metering: Metering,
    profile: String,
    compile_budget: CompileBudget,
}

impl RunPolicy {
    /// A policy with the given limits and metering, and no capabilities.
    pub fn new(limits: Limits, metering: Metering) -> RunPolicy {
        RunPolicy {
            limits,
            capabilities: Capabilities::none(),
            metering,
            profile: "dev".into(),
            compile_budget: CompileBudget::DEFAULT,
        }
    }

    /// Replaces the compile budget (starts as [`CompileBudget::DEFAULT`]).
    #[must_use]
    pub fn with_compile_budget(mut self, budget: CompileBudget) -> RunPolicy {
        self.compile_budget = budget;
        self
    }

    /// The compile budget the module must fit before it is compiled.
    pub fn compile_budget(&self) -> &CompileBudget {
        &self.compile_budget
    }

    /// Replaces the capabilities.
    #[must_use]
    pub fn with_capabilities(mut self, capabilities: Capabilities) -> RunPolicy {
        self.capabilities = capabilities;
        self
    }

    /// Records the profile name the policy was resolved for (reported in outcomes).
    #[must_use]
    pub fn with_profile(mut self, profile: impl Into<String>) -> RunPolicy {
        self.profile = profile.into();
        self
    }

    /// The limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The capabilities.
    pub fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    /// The metering mode.
    pub fn metering(&self) -> Metering {
        self.metering
    }

    /// The profile name.
    pub fn profile(&self) -> &str {
        &self.profile
    }
}

fn is_normal_guest_path(path: &str) -> bool {
    path.starts_with('/')
        && (path == "/"
            || (!path.ends_with('/')
                && path[1..]
                    .split('/')
                    .all(|part| !part.is_empty() && part != "." && part != "..")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_manifest_defaults() {
        let limits = Limits::default();
        assert_eq!(limits.memory_bytes, 67_108_864);
        assert_eq!(limits.fuel, 1_000_000_000);
        assert_eq!(limits.timeout, Duration::from_secs(5));
        assert_eq!(limits.stack_bytes, 524_288);
        assert_eq!(limits.stdout_bytes, 1_048_576);
        assert_eq!(limits.stderr_bytes, 1_048_576);
    }

    fn temp() -> (tempfile::TempDir, HostDir) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = HostDir::open(std::fs::canonicalize(tmp.path()).unwrap()).unwrap();
        (tmp, dir)
    }

    #[test]
    fn guest_paths_must_be_absolute_and_normal() {
        let (_tmp, dir) = temp();
        for bad in ["data", "/data/", "/a/../b", "/a//b", "/./a", ""] {
            assert!(
                DirGrant::new(bad, dir.clone(), Access::ReadOnly).is_err(),
                "{bad}"
            );
        }
        for good in ["/", "/data", "/a/b"] {
            assert!(
                DirGrant::new(good, dir.clone(), Access::ReadOnly).is_ok(),
                "{good}"
            );
        }
    }

    #[test]
    fn the_host_root_is_never_granted() {
        let err = DirGrant::new("/data", HostDir::open("/").unwrap(), Access::ReadOnly)
            .unwrap_err()
            .to_string();
        assert!(err.contains("root of the host's filesystem"), "{err}");
    }

    #[test]
    fn nested_grants_are_refused_in_either_order() {
        let (_tmp, out) = temp();
        std::fs::create_dir(out.path().join("cfg")).unwrap();
        let cfg = out.open_beneath("cfg").unwrap();
        for (first, second) in [(&out, &cfg), (&cfg, &out)] {
            let mut caps = Capabilities::none();
            caps.grant_dir(DirGrant::new("/first", first.clone(), Access::ReadWrite).unwrap())
                .unwrap();
            let err = caps
                .grant_dir(DirGrant::new("/second", second.clone(), Access::ReadOnly).unwrap())
                .unwrap_err()
                .to_string();
            assert!(err.contains("grants may not nest"), "{err}");
            assert!(err.contains("lies inside"), "{err}");
            assert_eq!(caps.dirs().len(), 1);
        }
        // The same directory under two guest paths (here with two accesses).
        let mut caps = Capabilities::none();
        caps.grant_dir(DirGrant::new("/a", out.clone(), Access::ReadOnly).unwrap())
            .unwrap();
        let err = caps
            .grant_dir(
                DirGrant::new("/b", out.open_beneath(".").unwrap(), Access::ReadWrite).unwrap(),
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("is the same directory as"), "{err}");
        // Side by side is fine.
        std::fs::create_dir(out.path().join("logs")).unwrap();
        let mut caps = Capabilities::none();
        caps.grant_dir(DirGrant::new("/cfg", cfg.clone(), Access::ReadOnly).unwrap())
            .unwrap();
        caps.grant_dir(
            DirGrant::new(
                "/logs",
                out.open_beneath("logs").unwrap(),
                Access::ReadWrite,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(caps.dirs().len(), 2);
    }

    #[test]
    fn env_names_are_checked_and_deduplicated() {
        let mut caps = Capabilities::none();
        assert!(caps.grant_env("1X", "v").is_err());
        assert!(caps.grant_env("A=B", "v").is_err());
        caps.grant_env("GREETING", "a").unwrap();
        caps.grant_env("GREETING", "b").unwrap();
        assert_eq!(caps.env(), &[("GREETING".to_string(), "b".to_string())]);
    }

    #[test]
    fn nothing_is_granted_by_default() {
        let policy = RunPolicy::new(Limits::default(), Metering::Fuel);
        let caps = policy.capabilities();
        assert!(caps.dirs().is_empty() && caps.env().is_empty());
        assert!(!caps.clock() && !caps.random());
    }
}
