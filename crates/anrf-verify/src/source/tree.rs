//! Which Rust files the compiler would compile: the crate roots listed in
//! `implementation.sources`, then every file a `mod name;` or `include!`
//! reaches, by the rules of the Rust reference ("Modules", "The `path`
//! attribute"), plus every `.rs` file in the module directory (what
//! `ANRF-M013` compares with the manifest's list).
//!
//! Paths here are module-relative with `/` separators. A reference that leaves
//! the module directory (an absolute `#[path]`, or `..` above the module) is
//! never followed: the pipeline reports it.

use std::path::Path;

use super::ModRef;

/// One file to scan, and the directories its references resolve against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unit {
    /// The file.
    pub file: String,
    /// Where `mod name;` looks for `name.rs` / `name/mod.rs` (before inline
    /// module components). A listed file that might be a crate root or a
    /// module has both candidates.
    pub mod_dirs: Vec<String>,
    /// Where a `#[path]` outside inline modules resolves: the file's directory.
    pub attr_dir: String,
}

impl Unit {
    /// A file listed in `implementation.sources`. `main.rs`, `lib.rs` and
    /// `mod.rs` own their directory; any other file may be a crate root
    /// (`src/bin/x.rs`) or a module (`src/x.rs`, owning `src/x/`), so both
    /// are followed.
    pub(crate) fn listed(file: &str) -> Unit {
        let dir = parent(file);
        let mod_dirs = if matches!(file_name(file), "main.rs" | "lib.rs" | "mod.rs") {
            vec![dir.clone()]
        } else {
            vec![join(&dir, stem(file)), dir.clone()]
        };
        Unit {
            file: file.to_owned(),
            mod_dirs,
            attr_dir: dir,
        }
    }
}

/// Where one reference leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Resolved {
    /// The files that exist among the candidates (at least one).
    Units(Vec<Unit>),
    /// No candidate exists.
    Missing {
        /// The candidates tried.
        tried: Vec<String>,
    },
    /// A candidate lies outside the module directory.
    Outside {
        /// The path as written.
        path: String,
    },
    /// `include!` with a path that is not a string literal.
    Computed,
}

/// Resolves `reference`, made in `unit`; `exists` says whether a
/// module-relative file exists.
pub(crate) fn resolve(unit: &Unit, reference: &ModRef, exists: impl Fn(&str) -> bool) -> Resolved {
    let mut candidates: Vec<Unit> = Vec::new();
    match reference {
        ModRef::Include { path: None, .. } => return Resolved::Computed,
        ModRef::Include {
            path: Some(path), ..
        } => {
            let Some(file) = normalize(&join(&parent(&unit.file), path)).filter(|_| relative(path))
            else {
                return Resolved::Outside { path: path.clone() };
            };
            // Included text belongs to the including module.
            candidates.push(Unit {
                file,
                mod_dirs: unit.mod_dirs.clone(),
                attr_dir: unit.attr_dir.clone(),
            });
        }
        ModRef::File {
            name,
            inline,
            paths,
            ..
        } => {
            for mod_dir in &unit.mod_dirs {
                let base = inline.iter().fold(mod_dir.clone(), |dir, m| join(&dir, m));
                let own = join(&base, name);
                let Some(own) = normalize(&own) else {
                    return Resolved::Outside { path: own };
                };
                if let Some(file) = normalize(&join(&base, &format!("{name}.rs"))) {
                    let attr_dir = parent(&file);
                    candidates.push(Unit {
                        file,
                        mod_dirs: vec![own.clone()],
                        attr_dir,
                    });
                }
                candidates.push(Unit {
                    file: join(&own, "mod.rs"),
                    mod_dirs: vec![own.clone()],
                    attr_dir: own.clone(),
                });
                for path in paths {
                    let dir = if inline.is_empty() {
                        unit.attr_dir.clone()
                    } else {
                        base.clone()
                    };
                    let Some(file) = normalize(&join(&dir, path)).filter(|_| relative(path)) else {
                        return Resolved::Outside { path: path.clone() };
                    };
                    // A file loaded through `#[path]` owns its directory.
                    let owner = parent(&file);
                    candidates.push(Unit {
                        file,
                        mod_dirs: vec![owner.clone()],
                        attr_dir: owner,
                    });
                }
            }
        }
    }
    let mut found: Vec<Unit> = Vec::new();
    for candidate in &candidates {
        if exists(&candidate.file) && !found.iter().any(|u| u.file == candidate.file) {
            found.push(candidate.clone());
        }
    }
    if found.is_empty() {
        let mut tried: Vec<String> = candidates.into_iter().map(|u| u.file).collect();
        tried.dedup();
        Resolved::Missing { tried }
    } else {
        Resolved::Units(found)
    }
}

/// The most entries [`rust_files`] visits.
const MAX_ENTRIES: usize = 100_000;

/// Every `.rs` file under `dir`, module-relative and sorted, except in the
/// build output (`target/`) and `.git/` at the top. Symbolic links to
/// directories are not followed; a linked `.rs` file is listed.
pub(crate) fn rust_files(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack: Vec<(std::path::PathBuf, String)> = vec![(dir.to_path_buf(), String::new())];
    let mut seen = 0usize;
    while let Some((path, rel)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&path) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            seen += 1;
            if seen > MAX_ENTRIES {
                return out;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let child = join(&rel, &name);
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if rel.is_empty() && (name == "target" || name == ".git") {
                    continue;
                }
                stack.push((entry.path(), child));
            } else if Path::new(&name).extension().is_some_and(|e| e == "rs") {
                out.push(child);
            }
        }
    }
    out.sort();
    out
}

/// A path as written is relative (not `/x`, `\x` or `C:x`).
fn relative(path: &str) -> bool {
    !(path.starts_with('/') || path.starts_with('\\') || path.contains(':'))
}

/// `a/./b/../c` -> `a/c`; `None` when `..` climbs above the module.
fn normalize(path: &str) -> Option<String> {
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

fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

fn parent(file: &str) -> String {
    file.rsplit_once('/')
        .map_or_else(String::new, |(dir, _)| dir.to_owned())
}

fn file_name(file: &str) -> &str {
    file.rsplit_once('/').map_or(file, |(_, name)| name)
}

fn stem(file: &str) -> &str {
    let name = file_name(file);
    name.strip_suffix(".rs").unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Location;

    fn file_ref(name: &str, inline: &[&str], paths: &[&str]) -> ModRef {
        ModRef::File {
            name: name.into(),
            inline: inline.iter().map(|s| (*s).to_owned()).collect(),
            paths: paths.iter().map(|s| (*s).to_owned()).collect(),
            location: Location::file("x"),
            scope: 0,
        }
    }

    fn files(resolved: &Resolved) -> Vec<&str> {
        match resolved {
            Resolved::Units(units) => units.iter().map(|u| u.file.as_str()).collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn mod_files_follow_the_reference_rules() {
        let root = Unit::listed("src/main.rs");
        let all = |_: &str| true;
        // `mod a;` in main.rs: src/a.rs or src/a/mod.rs.
        let a = resolve(&root, &file_ref("a", &[], &[]), all);
        assert_eq!(files(&a), vec!["src/a.rs", "src/a/mod.rs"]);
        // `mod b;` in src/a.rs: src/a/b.rs.
        let Resolved::Units(units) = a else {
            unreachable!()
        };
        let b = resolve(&units[0], &file_ref("b", &[], &[]), |f| f == "src/a/b.rs");
        assert_eq!(files(&b), vec!["src/a/b.rs"]);
        // `mod inner { mod c; }` in main.rs: src/inner/c.rs.
        let c = resolve(&root, &file_ref("c", &["inner"], &[]), |f| {
            f == "src/inner/c.rs"
        });
        assert_eq!(files(&c), vec!["src/inner/c.rs"]);
        // `#[path = "x/y.rs"] mod d;` in main.rs: relative to src/.
        let d = resolve(&root, &file_ref("d", &[], &["x/y.rs"]), |f| {
            f == "src/x/y.rs"
        });
        assert_eq!(files(&d), vec!["src/x/y.rs"]);
    }

    #[test]
    fn references_outside_the_module_or_missing_are_reported() {
        let root = Unit::listed("src/main.rs");
        assert_eq!(
            resolve(&root, &file_ref("e", &[], &["/etc/passwd"]), |_| true),
            Resolved::Outside {
                path: "/etc/passwd".into()
            }
        );
        assert!(matches!(
            resolve(&root, &file_ref("e", &[], &["../../../x.rs"]), |_| true),
            Resolved::Outside { .. }
        ));
        assert!(matches!(
            resolve(&root, &file_ref("gone", &[], &[]), |_| false),
            Resolved::Missing { tried } if tried == vec!["src/gone.rs", "src/gone/mod.rs"]
        ));
        let include = ModRef::Include {
            path: Some("gen/code.rs".into()),
            location: Location::file("x"),
            scope: 0,
        };
        assert_eq!(
            files(&resolve(&root, &include, |_| true)),
            vec!["src/gen/code.rs"]
        );
        let computed = ModRef::Include {
            path: None,
            location: Location::file("x"),
            scope: 0,
        };
        assert_eq!(resolve(&root, &computed, |_| true), Resolved::Computed);
    }

    #[test]
    fn rust_files_lists_the_tree_but_not_the_build_output() {
        let dir = tempfile::tempdir().unwrap();
        for rel in [
            "src/main.rs",
            "src/a/b.rs",
            "src/target/t.rs",
            "target/x.rs",
            "build.rs",
            "README.md",
        ] {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        assert_eq!(
            rust_files(dir.path()),
            vec!["build.rs", "src/a/b.rs", "src/main.rs", "src/target/t.rs"]
        );
    }
}
