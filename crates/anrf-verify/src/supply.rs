//! Supply-chain checks (`ANRF-S101`..`ANRF-S105`) for Rust guests, offline.
//!
//! Method: the guest's `Cargo.lock` lists every package the build uses (direct
//! and transitive). For each registry package the verifier reads its manifest
//! from the local cargo registry source directory,
//! `$CARGO_HOME/registry/src/*/<name>-<version>/Cargo.toml`, and for each path
//! dependency from its directory. A package has a build script when its
//! `[package] build` names one, or when it has a `build.rs` at its root and does
//! not set `build = false`; it is a procedural macro when `[lib] proc-macro =
//! true`. Nothing is fetched: a package whose source is not on disk is reported
//! as not inspected (`ANRF-S103`), with `cargo fetch` as the fix. The guest's
//! own package is held to a stricter rule: a build script of its own is an
//! error (`ANRF-S105`), since it would run arbitrary code on the host that
//! builds the guest.
//!
//! Every input read is recorded ([`SupplyScan::inputs`]) so the result cache
//! can key on it: fetching a missing dependency changes the key.
//!
//! Path dependencies are part of the guest ([`path_dependencies`]): every
//! `path = ...` in `[dependencies]`, `[build-dependencies]`, their
//! `[target.*]` forms, `[patch.*]` and `[replace]`, followed transitively
//! through each dependency's own `Cargo.toml`, must lie inside the module
//! directory (lexically and after resolving symbolic links); its library root
//! is then scanned with the module's sources, with the same checks, and its
//! crate names resolve to it. One outside the module, one that inherits from a
//! workspace, or one whose manifest cannot be read is `ANRF-S106`, as is a
//! `.cargo/config.toml` in the module that redirects dependencies (`paths`,
//! `[patch]`, `[source]`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::budget::CARGO_FILE_BYTES;
use crate::finding::{CheckId, Finding, Location};
use crate::fsread::{ReadError, read_regular, read_regular_text};
use crate::report::DependencyFact;

/// What the supply-chain pass found.
#[derive(Debug, Default)]
pub(crate) struct SupplyScan {
    pub findings: Vec<Finding>,
    pub dependencies: Vec<DependencyFact>,
    /// Why the pass did not apply, when it did not.
    pub skipped: Option<String>,
    /// What was read, one line per input (file and digest, or its absence).
    pub inputs: Vec<String>,
}

/// The most path dependencies followed.
const MAX_PATH_DEPS: usize = 64;
/// The largest `Cargo.toml` read.
const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;

/// What following the path dependencies found.
#[derive(Debug, Default)]
pub(crate) struct PathDeps {
    /// `ANRF-S106` findings.
    pub findings: Vec<Finding>,
    /// Module-relative library roots of the dependencies inside the module.
    pub roots: Vec<String>,
    /// Crate names code may use for them (dependency key, package and
    /// library names, `-` as `_`), with their root files; also the guest's
    /// own library by its package name.
    pub crates: Vec<(String, String)>,
    /// Module-relative directories of the dependencies inside the module.
    pub dirs: BTreeMap<String, PathBuf>,
}

/// A `Cargo.toml` read boundedly: a regular file (not a symbolic link) of
/// at most [`MAX_MANIFEST_BYTES`]. `Err` says why not.
fn read_manifest(path: &Path) -> Result<String, String> {
    read_regular_text(path, MAX_MANIFEST_BYTES).map_err(|e| e.to_string())
}

/// `a/./b/../c` -> `a/c`; `None` when it is absolute or climbs above the module.
fn normalize(path: &str) -> Option<String> {
    if path.starts_with('/') || path.starts_with('\\') || path.contains(':') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            other => parts.push(other),
        }
    }
    Some(parts.join("/"))
}

fn rel_join(dir: &str, path: &str) -> String {
    if dir.is_empty() {
        path.to_owned()
    } else {
        format!("{dir}/{path}")
    }
}

/// Every `(key, spec)` that names a `path`, or inherits from a workspace.
fn path_specs(manifest: &toml::Table) -> Vec<(String, toml::Table)> {
    let mut tables: Vec<&toml::Table> = Vec::new();
    for key in ["dependencies", "build-dependencies", "replace"] {
        if let Some(t) = manifest.get(key).and_then(toml::Value::as_table) {
            tables.push(t);
        }
    }
    for key in ["target", "patch"] {
        if let Some(outer) = manifest.get(key).and_then(toml::Value::as_table) {
            for inner in outer.values().filter_map(toml::Value::as_table) {
                if key == "patch" {
                    tables.push(inner);
                    continue;
                }
                for k in ["dependencies", "build-dependencies"] {
                    if let Some(t) = inner.get(k).and_then(toml::Value::as_table) {
                        tables.push(t);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    for table in tables {
        for (key, spec) in table {
            if let Some(spec) = spec.as_table()
                && (spec.contains_key("path")
                    || spec.get("workspace").and_then(toml::Value::as_bool) == Some(true))
            {
                out.push((key.clone(), spec.clone()));
            }
        }
    }
    out
}

/// The line declaring `key` in `text` (`key = ...` or `[...key]`), 1-based.
fn line_of(text: &str, key: &str) -> Option<u32> {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix(key)
                .or_else(|| l.strip_prefix(&format!("\"{key}\"")))
                .is_some_and(|rest| rest.trim_start().starts_with('='))
                || (l.starts_with('[') && l.contains(key))
        })
        .map(|i| u32::try_from(i + 1).unwrap_or(u32::MAX))
}

/// Cargo configuration in the module that redirects where dependencies come
/// from (`paths` overrides, `[patch]`, `[source]` replacement): not followed,
/// so refused.
fn cargo_config_redirects(module_dir: &Path) -> Vec<Finding> {
    let mut findings = Vec::new();
    for rel in [".cargo/config.toml", ".cargo/config"] {
        let path = module_dir.join(rel);
        if std::fs::symlink_metadata(&path).is_err() {
            continue;
        }
        let keys: Vec<&str> = match read_manifest(&path).map(|t| t.parse::<toml::Table>()) {
            Ok(Ok(table)) => ["paths", "patch", "source"]
                .into_iter()
                .filter(|k| table.contains_key(*k))
                .collect(),
            _ => vec!["(unreadable)"],
        };
        if keys.is_empty() {
            continue;
        }
        findings.push(
            Finding::new(
                CheckId::S106,
                format!(
                    "`{rel}` redirects where dependencies come from ({}); the verifier does not follow it, so the code compiled into the guest could not be checked",
                    keys.join(", ")
                ),
            )
            .at(Location::file(rel))
            .help("remove `paths`, `[patch]` and `[source]` from the cargo configuration; declare path dependencies inside the module in `Cargo.toml`"),
        );
    }
    findings
}

/// The library root of the package at module-relative `dir` with manifest
/// `manifest`, and the crate names code may use for it.
fn library(dir: &str, manifest: &toml::Table) -> Option<(String, Vec<String>)> {
    let lib = manifest.get("lib").and_then(toml::Value::as_table);
    let lib_path = lib
        .and_then(|l| l.get("path"))
        .and_then(toml::Value::as_str)
        .unwrap_or("src/lib.rs");
    let root = normalize(&rel_join(dir, lib_path))?;
    let names = [
        manifest
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(toml::Value::as_str),
        lib.and_then(|l| l.get("name"))
            .and_then(toml::Value::as_str),
    ]
    .into_iter()
    .flatten()
    .map(|n| n.replace('-', "_"))
    .collect();
    Some((root, names))
}

/// Follows the guest's path dependencies (see the module docs).
pub(crate) fn path_dependencies(module_dir: &Path) -> PathDeps {
    let mut deps = PathDeps {
        findings: cargo_config_redirects(module_dir),
        ..PathDeps::default()
    };
    let Ok(root_real) = std::fs::canonicalize(module_dir) else {
        return deps;
    };
    let Ok(text) = read_manifest(&module_dir.join("Cargo.toml")) else {
        return deps;
    };
    let Ok(manifest) = text.parse::<toml::Table>() else {
        // ANRF-S103 reports it.
        return deps;
    };
    // The guest's own library, for its binary's `use guest::...`.
    if let Some((root, names)) = library("", &manifest) {
        for name in names {
            deps.crates.push((name, root.clone()));
        }
    }
    // (module-relative package directory, its manifest text, its manifest)
    let mut queue: Vec<(String, String, toml::Table)> = vec![(String::new(), text, manifest)];
    let mut seen: BTreeSet<String> = BTreeSet::new();
    seen.insert(String::new());
    while let Some((dir, text, manifest)) = queue.pop() {
        let manifest_rel = rel_join(&dir, "Cargo.toml");
        for (key, spec) in path_specs(&manifest) {
            let at = line_of(&text, &key).map_or_else(
                || Location::file(manifest_rel.clone()),
                |line| Location::at(manifest_rel.clone(), line, 1),
            );
            let Some(path) = spec.get("path").and_then(toml::Value::as_str) else {
                deps.findings.push(
                    Finding::new(
                        CheckId::S106,
                        format!("dependency `{key}` in `{manifest_rel}` is inherited from a workspace (`workspace = true`) whose manifest lies outside the module, so where it comes from could not be verified"),
                    )
                    .at(at)
                    .help("declare the dependency in the guest's own `Cargo.toml` (a version, or a `path` inside the module)"),
                );
                continue;
            };
            let inside = normalize(&rel_join(&dir, path)).filter(|rel| {
                std::fs::canonicalize(module_dir.join(rel))
                    .is_ok_and(|real| real.starts_with(&root_real))
            });
            let Some(rel) = inside else {
                deps.findings.push(
                    Finding::new(
                        CheckId::S106,
                        format!("path dependency `{key}` (`path = \"{path}\"` in `{manifest_rel}`) lies outside the module directory or does not exist; the verifier does not read it, so its code (`unsafe`, `std::fs`, `std::net`, ...) could not be checked, yet it is compiled into the guest"),
                    )
                    .at(at)
                    .help(format!("move it into the module directory (e.g. `vendor/{key}`), set `path = \"vendor/{key}\"` and list its sources in `implementation.sources`, or depend on a published version")),
                );
                continue;
            };
            if seen.len() > MAX_PATH_DEPS {
                deps.findings.push(
                    Finding::new(
                        CheckId::S106,
                        format!("the guest has more than {MAX_PATH_DEPS} path dependencies; `{key}` and the rest were not verified"),
                    )
                    .at(at),
                );
                return deps;
            }
            let dep_text = match read_manifest(&module_dir.join(&rel).join("Cargo.toml")) {
                Ok(t) => t,
                Err(why) => {
                    deps.findings.push(
                        Finding::new(
                            CheckId::S106,
                            format!("path dependency `{key}` (`{rel}`) has no readable `Cargo.toml` ({why}), so its sources could not be found and verified"),
                        )
                        .at(at)
                        .help(format!("give `{rel}` a `Cargo.toml` (a regular file), or remove the dependency")),
                    );
                    continue;
                }
            };
            let Ok(dep_manifest) = dep_text.parse::<toml::Table>() else {
                deps.findings.push(
                    Finding::new(
                        CheckId::S106,
                        format!("path dependency `{key}` (`{rel}`) has a `Cargo.toml` that is not valid TOML, so its sources could not be found and verified"),
                    )
                    .at(at),
                );
                continue;
            };
            deps.dirs.insert(key.clone(), module_dir.join(&rel));
            let Some((root, mut names)) = library(&rel, &dep_manifest) else {
                deps.findings.push(
                    Finding::new(
                        CheckId::S106,
                        format!("path dependency `{key}` (`{rel}`) names a library path outside the module, so its sources could not be verified"),
                    )
                    .at(at),
                );
                continue;
            };
            names.push(key.replace('-', "_"));
            if let Some(package) = spec.get("package").and_then(toml::Value::as_str) {
                deps.dirs.insert(package.to_owned(), module_dir.join(&rel));
            }
            for name in names {
                deps.crates.push((name, root.clone()));
            }
            if !deps.roots.contains(&root) {
                deps.roots.push(root);
            }
            if seen.insert(rel.clone()) {
                queue.push((rel, dep_text, dep_manifest));
            }
        }
    }
    deps
}

/// Checks the Rust guest in `module_dir`.
pub(crate) fn check_dependencies(module_dir: &Path, cargo_home: Option<&Path>) -> SupplyScan {
    let mut scan = SupplyScan::default();
    scan.inputs
        .push(input_line("Cargo.toml", &module_dir.join("Cargo.toml")));
    scan.inputs
        .push(input_line("Cargo.lock", &module_dir.join("Cargo.lock")));
    scan.inputs
        .push(input_line("build.rs", &module_dir.join("build.rs")));
    if let Some(home) = cargo_home {
        scan.inputs.push(format!(
            "registry {}",
            home.join("registry").join("src").display()
        ));
    }
    let manifest_text = match read_regular_text(&module_dir.join("Cargo.toml"), CARGO_FILE_BYTES) {
        Ok(text) => text,
        Err(ReadError::NotFound { .. }) => {
            scan.skipped = Some("the guest has no `Cargo.toml`, so it has no dependencies".into());
            return scan;
        }
        Err(e) => {
            scan.findings.push(unreadable("Cargo.toml", &e));
            return scan;
        }
    };
    let Ok(manifest) = manifest_text.parse::<toml::Table>() else {
        scan.findings.push(
            Finding::new(
                CheckId::S103,
                "the guest's `Cargo.toml` is not valid TOML, so its dependencies could not be read",
            )
            .at(Location::file("Cargo.toml"))
            .help("fix `Cargo.toml`; `cargo metadata` shows the error"),
        );
        return scan;
    };
    let root_name = manifest
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(toml::Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if inspect(module_dir).is_some_and(|k| k.build_script) {
        let script = manifest
            .get("package")
            .and_then(|p| p.get("build"))
            .and_then(toml::Value::as_str)
            .unwrap_or("build.rs")
            .to_owned();
        let location = if module_dir.join(&script).is_file() {
            Location::file(script.clone())
        } else {
            Location::file("Cargo.toml")
        };
        scan.findings.push(
            Finding::new(
                CheckId::S105,
                format!("the guest's own package has a build script (`{script}`), which cargo runs on the building host, outside any sandbox, before the guest is compiled"),
            )
            .at(location),
        );
    }
    let direct = declared_dependencies(&manifest);
    if direct.is_empty() {
        return scan;
    }
    // Direct and transitive path dependencies, inside the module only.
    let path_deps: BTreeMap<String, PathBuf> = path_dependencies(module_dir).dirs;
    let lock_text = match read_regular_text(&module_dir.join("Cargo.lock"), CARGO_FILE_BYTES) {
        Ok(text) => Some(text),
        Err(ReadError::NotFound { .. }) => None,
        Err(e) => {
            scan.findings.push(unreadable("Cargo.lock", &e));
            return scan;
        }
    };
    let Some(lock_text) = lock_text else {
        for (name, dep) in &direct {
            scan.dependencies.push(DependencyFact {
                name: name.clone(),
                version: dep.requirement.clone(),
                build_script: None,
                proc_macro: None,
            });
        }
        scan.findings.push(
            Finding::new(
                CheckId::S104,
                format!(
                    "the guest declares {} dependencies but has no `Cargo.lock`, so what gets built is not pinned",
                    direct.len()
                ),
            )
            .at(Location::file("Cargo.toml")),
        );
        return scan;
    };
    let Ok(lock) = lock_text.parse::<toml::Table>() else {
        scan.findings.push(
            Finding::new(
                CheckId::S103,
                "`Cargo.lock` is not valid TOML, so the dependencies could not be read",
            )
            .at(Location::file("Cargo.lock")),
        );
        return scan;
    };
    let packages = lock
        .get("package")
        .and_then(toml::Value::as_array)
        .cloned()
        .unwrap_or_default();
    let registry_dirs = registry_dirs(cargo_home);
    let lock_lines = lock_lines(&lock_text);
    for package in &packages {
        let name = package
            .get("name")
            .and_then(toml::Value::as_str)
            .unwrap_or_default();
        let version = package
            .get("version")
            .and_then(toml::Value::as_str)
            .unwrap_or_default();
        let source = package.get("source").and_then(toml::Value::as_str);
        if name.is_empty() || (source.is_none() && name == root_name) {
            continue;
        }
        let dir = match source {
            Some(s) if s.starts_with("registry+") || s.starts_with("sparse+") => registry_dirs
                .iter()
                .map(|d| d.join(format!("{name}-{version}")))
                .find(|d| d.join("Cargo.toml").is_file()),
            Some(_) => None,
            None => path_deps.get(name).cloned(),
        };
        let location = lock_location(&lock_lines, name, version);
        scan.inputs.push(match &dir {
            Some(dir) => format!(
                "{name} {version}: {} {}",
                input_line("Cargo.toml", &dir.join("Cargo.toml")),
                input_line("build.rs", &dir.join("build.rs"))
            ),
            None => format!("{name} {version}: not found"),
        });
        let inspected = dir.as_deref().and_then(inspect);
        let (build_script, proc_macro) = match inspected {
            Some(kind) => (Some(kind.build_script), Some(kind.proc_macro)),
            None => (None, None),
        };
        scan.dependencies.push(DependencyFact {
            name: name.to_owned(),
            version: version.to_owned(),
            build_script,
            proc_macro,
        });
        if build_script == Some(true) {
            scan.findings.push(
                Finding::new(
                    CheckId::S101,
                    format!("dependency `{name} {version}` has a build script, which runs arbitrary code when the guest is built"),
                )
                .at(location.clone()),
            );
        }
        if proc_macro == Some(true) {
            scan.findings.push(
                Finding::new(
                    CheckId::S102,
                    format!("dependency `{name} {version}` is a procedural macro, which runs arbitrary code inside the compiler"),
                )
                .at(location.clone()),
            );
        }
        if inspected.is_none() {
            let why = match source {
                Some(s) if s.starts_with("git+") => "it comes from git".to_owned(),
                Some(_) => "its source is not in the local cargo registry".to_owned(),
                None => "its path could not be read".to_owned(),
            };
            scan.findings.push(
                Finding::new(
                    CheckId::S103,
                    format!("dependency `{name} {version}` could not be inspected: {why}"),
                )
                .at(location),
            );
        }
    }
    scan
}

/// `ANRF-S103` for a guest cargo file that exists but is not read.
fn unreadable(file: &str, err: &ReadError) -> Finding {
    Finding::new(
        CheckId::S103,
        format!("the guest's `{file}` could not be read ({err}), so its dependencies could not be checked"),
    )
    .at(Location::file(file))
    .help(format!(
        "make `{file}` a regular file inside the module (not a link, FIFO or device) of at most {} MiB",
        CARGO_FILE_BYTES / (1024 * 1024)
    ))
}

struct DeclaredDep {
    requirement: String,
}

/// `[dependencies]`, `[build-dependencies]` and their `[target.*]` forms
/// (dev-dependencies are not part of the guest).
fn declared_dependencies(manifest: &toml::Table) -> BTreeMap<String, DeclaredDep> {
    let mut out = BTreeMap::new();
    let mut tables: Vec<&toml::Table> = Vec::new();
    for key in ["dependencies", "build-dependencies"] {
        if let Some(t) = manifest.get(key).and_then(toml::Value::as_table) {
            tables.push(t);
        }
    }
    if let Some(targets) = manifest.get("target").and_then(toml::Value::as_table) {
        for target in targets.values() {
            for key in ["dependencies", "build-dependencies"] {
                if let Some(t) = target.get(key).and_then(toml::Value::as_table) {
                    tables.push(t);
                }
            }
        }
    }
    for table in tables {
        for (name, spec) in table {
            let requirement = match spec {
                toml::Value::String(v) => v.clone(),
                toml::Value::Table(t) => t
                    .get("version")
                    .and_then(toml::Value::as_str)
                    .unwrap_or("*")
                    .to_owned(),
                _ => "*".to_owned(),
            };
            let name = spec
                .get("package")
                .and_then(toml::Value::as_str)
                .map_or_else(|| name.clone(), str::to_owned);
            out.insert(name, DeclaredDep { requirement });
        }
    }
    out
}

fn registry_dirs(cargo_home: Option<&Path>) -> Vec<PathBuf> {
    let Some(home) = cargo_home else {
        return Vec::new();
    };
    let Ok(entries) = std::fs::read_dir(home.join("registry").join("src")) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    dirs.sort();
    dirs
}

#[derive(Debug, Clone, Copy)]
struct Kind {
    build_script: bool,
    proc_macro: bool,
}

fn inspect(dir: &Path) -> Option<Kind> {
    let text = read_regular_text(&dir.join("Cargo.toml"), CARGO_FILE_BYTES).ok()?;
    let manifest: toml::Table = text.parse().ok()?;
    let build = manifest.get("package").and_then(|p| p.get("build"));
    let build_script = match build {
        Some(toml::Value::Boolean(b)) => *b,
        Some(toml::Value::String(_)) => true,
        _ => dir.join("build.rs").is_file(),
    };
    let lib = manifest.get("lib");
    let proc_macro = ["proc-macro", "proc_macro"]
        .iter()
        .any(|k| lib.and_then(|l| l.get(*k)).and_then(toml::Value::as_bool) == Some(true));
    Some(Kind {
        build_script,
        proc_macro,
    })
}

/// `label path sha256:...`, or `label path absent`.
fn input_line(label: &str, path: &Path) -> String {
    use sha2::{Digest as _, Sha256};
    match read_regular(path, CARGO_FILE_BYTES) {
        Ok(bytes) => format!(
            "{label} {} sha256:{}",
            path.display(),
            hex::encode(Sha256::digest(&bytes))
        ),
        Err(ReadError::NotFound { .. }) => format!("{label} {} absent", path.display()),
        // Not read (a link, FIFO, device or a file over the budget): the
        // report says so whatever it holds.
        Err(e) => format!("{label} {} unread: {e}", path.display()),
    }
}

/// The line of every `name = "..."` followed by `version = "..."` in
/// `Cargo.lock`, found in one pass (a lookup per package stays constant time).
fn lock_lines(lock: &str) -> HashMap<(String, String), u32> {
    let quoted = |line: &str, key: &str| {
        line.trim()
            .strip_prefix(key)
            .and_then(|rest| rest.strip_prefix(" = \""))
            .and_then(|rest| rest.strip_suffix('"'))
            .map(str::to_owned)
    };
    let mut out = HashMap::new();
    let mut lines = lock.lines().enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        if let Some(name) = quoted(line, "name")
            && let Some(version) = lines.peek().and_then(|(_, next)| quoted(next, "version"))
        {
            out.entry((name, version))
                .or_insert_with(|| u32::try_from(i + 1).unwrap_or(u32::MAX));
        }
    }
    out
}

fn lock_location(lines: &HashMap<(String, String), u32>, name: &str, version: &str) -> Location {
    match lines.get(&(name.to_owned(), version.to_owned())) {
        Some(line) => Location::at("Cargo.lock", *line, 1),
        None => Location::file("Cargo.lock"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let path = dir.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    const GUEST: &str = "[package]\nname = \"guest\"\nversion = \"0.1.0\"\n[dependencies]\nplain = \"1\"\nbuilder = \"1\"\nmacros = \"1\"\n";
    const LOCK: &str = "version = 4\n\n[[package]]\nname = \"guest\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"plain\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"builder\"\nversion = \"1.2.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"macros\"\nversion = \"1.0.1\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[[package]]\nname = \"absent\"\nversion = \"0.3.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n";

    fn fixture() -> (tempfile::TempDir, tempfile::TempDir) {
        let module = tempfile::tempdir().unwrap();
        let home = tempfile::tempdir().unwrap();
        write(module.path(), "Cargo.toml", GUEST);
        let reg = "registry/src/index.example-0000";
        write(
            home.path(),
            &format!("{reg}/plain-1.0.0/Cargo.toml"),
            "[package]\nname = \"plain\"\n",
        );
        write(
            home.path(),
            &format!("{reg}/builder-1.2.0/Cargo.toml"),
            "[package]\nname = \"builder\"\n",
        );
        write(
            home.path(),
            &format!("{reg}/builder-1.2.0/build.rs"),
            "fn main() {}\n",
        );
        write(
            home.path(),
            &format!("{reg}/macros-1.0.1/Cargo.toml"),
            "[package]\nname = \"macros\"\n[lib]\nproc-macro = true\n",
        );
        (module, home)
    }

    #[test]
    fn flags_build_scripts_proc_macros_and_uninspected() {
        let (module, home) = fixture();
        write(module.path(), "Cargo.lock", LOCK);
        let scan = check_dependencies(module.path(), Some(home.path()));
        let ids: Vec<(CheckId, String)> = scan
            .findings
            .iter()
            .map(|f| (f.id, f.location.clone().unwrap().to_string()))
            .collect();
        assert_eq!(
            ids,
            vec![
                (CheckId::S101, "Cargo.lock:13:1".to_owned()),
                (CheckId::S102, "Cargo.lock:18:1".to_owned()),
                (CheckId::S103, "Cargo.lock:23:1".to_owned()),
            ]
        );
        assert_eq!(scan.dependencies.len(), 4);
        assert_eq!(scan.dependencies[0].build_script, Some(false));
    }

    #[test]
    fn build_false_is_no_build_script() {
        let (module, home) = fixture();
        write(module.path(), "Cargo.lock", LOCK);
        write(
            home.path(),
            "registry/src/index.example-0000/builder-1.2.0/Cargo.toml",
            "[package]\nname = \"builder\"\nbuild = false\n",
        );
        let scan = check_dependencies(module.path(), Some(home.path()));
        assert!(scan.findings.iter().all(|f| f.id != CheckId::S101));
    }

    #[test]
    fn s104_no_lock_file() {
        let (module, home) = fixture();
        let scan = check_dependencies(module.path(), Some(home.path()));
        assert_eq!(scan.findings.len(), 1);
        assert_eq!(scan.findings[0].id, CheckId::S104);
    }

    #[test]
    fn s105_the_guests_own_build_script() {
        let module = tempfile::tempdir().unwrap();
        write(
            module.path(),
            "Cargo.toml",
            "[package]\nname = \"g\"\nversion = \"0.1.0\"\n",
        );
        assert!(check_dependencies(module.path(), None).findings.is_empty());
        write(
            module.path(),
            "build.rs",
            "fn main() { std::process::Command::new(\"sh\"); }\n",
        );
        let scan = check_dependencies(module.path(), None);
        assert_eq!(scan.findings.len(), 1);
        assert_eq!(scan.findings[0].id, CheckId::S105);
        assert_eq!(scan.findings[0].location, Some(Location::file("build.rs")));
        // `build = false` turns it off; `build = "gen.rs"` names another script.
        write(
            module.path(),
            "Cargo.toml",
            "[package]\nname = \"g\"\nversion = \"0.1.0\"\nbuild = false\n",
        );
        assert!(check_dependencies(module.path(), None).findings.is_empty());
        std::fs::remove_file(module.path().join("build.rs")).unwrap();
        write(
            module.path(),
            "Cargo.toml",
            "[package]\nname = \"g\"\nversion = \"0.1.0\"\nbuild = \"gen.rs\"\n",
        );
        write(module.path(), "gen.rs", "fn main() {}\n");
        let scan = check_dependencies(module.path(), None);
        assert_eq!(scan.findings[0].id, CheckId::S105);
        assert_eq!(scan.findings[0].location, Some(Location::file("gen.rs")));
    }

    #[test]
    fn inputs_change_when_a_dependency_is_fetched() {
        let (module, home) = fixture();
        write(module.path(), "Cargo.lock", LOCK);
        let before = check_dependencies(module.path(), Some(home.path()));
        assert!(before.findings.iter().any(|f| f.id == CheckId::S103));
        write(
            home.path(),
            "registry/src/index.example-0000/absent-0.3.0/Cargo.toml",
            "[package]\nname = \"absent\"\n",
        );
        let after = check_dependencies(module.path(), Some(home.path()));
        assert!(after.findings.iter().all(|f| f.id != CheckId::S103));
        assert_ne!(before.inputs, after.inputs);
    }

    #[test]
    fn no_dependencies_no_findings() {
        let module = tempfile::tempdir().unwrap();
        write(
            module.path(),
            "Cargo.toml",
            "[package]\nname = \"g\"\nversion = \"0.1.0\"\n",
        );
        let scan = check_dependencies(module.path(), None);
        assert!(scan.findings.is_empty() && scan.dependencies.is_empty() && scan.skipped.is_none());
        let empty = tempfile::tempdir().unwrap();
        assert!(check_dependencies(empty.path(), None).skipped.is_some());
    }
}
