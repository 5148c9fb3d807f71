//! Finding and reading the project policy, for every command that needs it.
//!
//! The project policy decides who may approve what, so it is read only when it
//! is trusted for a reason:
//!
//! - **Where:** [`find_policy_file`] looks for `anrf-policy.toml` in the module
//!   directory (its real path, links resolved) and then in each parent, and
//!   stops after the first directory that is a version-control root (it holds
//!   `.git`, `.hg`, `.jj` or `.svn`, as a directory or a file) or is `$HOME`:
//!   that directory is still searched, its parents are not. Without either, the
//!   search goes on to `/`. The first entry of that name is the policy, whatever
//!   it is, so a FIFO or a link there is refused rather than skipped.
//! - **What:** the file (and a `cedar_file` it names) must be a regular file,
//!   not a symbolic link, at most [`MAX_POLICY_BYTES`] long, owned by the user
//!   or root and not writable by group or others. An explicit `--policy FILE`
//!   is read the same way.
//! - **`cedar_file`:** a relative path inside the policy file's directory: no
//!   absolute path, no `..`, no symbolic link on the way, checked on the opened
//!   file's real location as well as on the name.
//!
//! Every refusal names the file, says why and gives the fix.

use std::path::{Component, Path, PathBuf};

use anrf_format::fsread::{self, ReadError};
use anrf_policy::{POLICY_FILE, PolicyFile, ProjectPolicy};
use miette::IntoDiagnostic as _;

/// The most bytes read from a policy file or its Cedar file (1 MiB): a policy
/// is a page of TOML; a larger one is refused, never read into memory.
pub(crate) const MAX_POLICY_BYTES: u64 = 1 << 20;

/// Entries that make a directory a version-control root, where the upward
/// search for the policy stops.
pub(crate) const VCS_MARKERS: [&str; 4] = [".git", ".hg", ".jj", ".svn"];

/// The `anrf-policy.toml` that governs `dir`: the first one found in `dir` or
/// above it, within the project (see the module docs for where the search stops).
pub(crate) fn find_policy_file(dir: &Path) -> Option<PathBuf> {
    let start = real_path(dir);
    let home = directories::BaseDirs::new().map(|d| real_path(d.home_dir()));
    for d in start.ancestors() {
        let candidate = d.join(POLICY_FILE);
        // `symlink_metadata`: any entry counts, so that a FIFO, a device or a
        // link named like the policy is refused when read, not passed over.
        if std::fs::symlink_metadata(&candidate).is_ok() {
            return Some(candidate);
        }
        if is_project_boundary(d, home.as_deref()) {
            break;
        }
    }
    None
}

/// The project policy for a module: the [`find_policy_file`] one, read as
/// trusted, else the strict built-in policy. It is anchored
/// ([`anrf_policy::HostAnchor`]): command-line directories are resolved against
/// the working directory and compared with the maxima as absolute, canonical host
/// paths (the maxima relative to `module_dir`; `*` only inside the project root,
/// the policy file's directory, or `module_dir` under the built-in policy).
pub(crate) fn load_project_policy(module_dir: &Path) -> miette::Result<ProjectPolicy> {
    let file = find_policy_file(module_dir);
    let policy = match &file {
        Some(path) => load_policy_file(path)?,
        None => ProjectPolicy::builtin(),
    };
    let canonical = |p: &Path| {
        std::fs::canonicalize(p)
            .or_else(|_| std::path::absolute(p))
            .unwrap_or_else(|_| p.to_path_buf())
    };
    let working_dir = canonical(&std::env::current_dir().into_diagnostic()?);
    let module_dir = canonical(module_dir);
    let project_root = file
        .as_deref()
        .and_then(Path::parent)
        .map_or_else(|| module_dir.clone(), canonical);
    Ok(policy.anchored(anrf_policy::HostAnchor {
        working_dir,
        module_dir,
        project_root,
        resolve_links: Some(|p| std::fs::canonicalize(p).ok()),
    }))
}

/// The project policy in the file at `path` (found, or `--policy FILE`), read
/// as trusted, with its `cedar_file` if it names one.
pub(crate) fn load_policy_file(path: &Path) -> miette::Result<ProjectPolicy> {
    let opened = PolicyDir::open(path)?;
    let text = opened.read(Path::new(&opened.name), path)?;
    opened.compile(path, &text)
}

/// The text of the policy file at `path`, read as trusted (for editing it).
pub(crate) fn read_policy_text(path: &Path) -> miette::Result<String> {
    let opened = PolicyDir::open(path)?;
    opened.read(Path::new(&opened.name), path)
}

/// Compiles `text`, the new content of the policy file at `path` (reading the
/// `.cedar` file it names, as trusted and inside its directory).
pub(crate) fn compile_policy(path: &Path, text: &str) -> miette::Result<ProjectPolicy> {
    PolicyDir::open(path)?.compile(path, text)
}

/// The directory of a policy file, opened once: the policy and its
/// `cedar_file` are both read beneath this descriptor, so neither a link in
/// any component nor a rename of a directory on the way can lead elsewhere.
struct PolicyDir {
    dir: std::fs::File,
    dir_path: PathBuf,
    /// The policy file's name in `dir`.
    name: std::ffi::OsString,
}

impl PolicyDir {
    fn open(path: &Path) -> miette::Result<PolicyDir> {
        let Some(name) = path.file_name() else {
            miette::bail!("`{}` names no policy file", path.display());
        };
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        // The directory as named (an explicit `--policy` may reach it through
        // links in its own path); what is read is then beneath it.
        let dir_path = real_path(parent);
        let dir = fsread::open_dir(&dir_path).map_err(|e| refused(&e, path))?;
        Ok(PolicyDir {
            dir,
            dir_path,
            name: name.to_owned(),
        })
    }

    /// Reads `rel` beneath the directory as a trusted input; `shown` names it.
    fn read(&self, rel: &Path, shown: &Path) -> miette::Result<String> {
        let (file, meta) = fsread::open_beneath(&self.dir, &self.dir_path, rel, MAX_POLICY_BYTES)
            .map_err(|e| refused(&e, shown))?;
        fsread::check_private(shown, &meta).map_err(|e| refused(&e, shown))?;
        let bytes = fsread::read_opened(shown, file, &meta, MAX_POLICY_BYTES)
            .map_err(|e| refused(&e, shown))?;
        String::from_utf8(bytes).map_err(|_| {
            refused(
                &ReadError::NotUtf8 {
                    path: shown.to_path_buf(),
                },
                shown,
            )
        })
    }

    fn compile(&self, path: &Path, text: &str) -> miette::Result<ProjectPolicy> {
        let origin = path.display().to_string();
        let file = PolicyFile::parse(text, &origin).map_err(|e| miette::miette!("{e}"))?;
        let cedar = match file.cedar_file() {
            Some(rel) => Some(self.read_cedar(path, rel)?),
            None => None,
        };
        file.compile(cedar.as_deref())
            .map_err(|e| miette::miette!("{e}"))
    }

    /// The text of the `cedar_file` `rel` named by the policy at `policy`: a
    /// relative path without `..`, read beneath the policy's directory.
    fn read_cedar(&self, policy: &Path, rel: &str) -> miette::Result<String> {
        let outside = |why: &str| {
            miette::miette!(
                help = format!(
                    "put the rules in a file inside `{}` and name it relatively, e.g. `cedar_file = \"approve.cedar\"`; or write them inline as `cedar = \'\'\'...\'\'\'`",
                    self.dir_path.display()
                ),
                "`cedar_file = \"{rel}\"` in `{}` is not read: {why}",
                policy.display()
            )
        };
        let rel_path = Path::new(rel);
        let mut normal = PathBuf::new();
        for c in rel_path.components() {
            match c {
                Component::Normal(part) => normal.push(part),
                Component::CurDir => {}
                Component::ParentDir => {
                    return Err(outside("it climbs out of the policy's directory with `..`"));
                }
                Component::RootDir | Component::Prefix(_) => {
                    return Err(outside(
                        "it is an absolute path; the rules must lie inside the policy's directory",
                    ));
                }
            }
        }
        if normal.as_os_str().is_empty() {
            return Err(outside("it names no file"));
        }
        let shown = self.dir_path.join(&normal);
        self.read(&normal, &shown).map_err(|e| {
            let why = if e.to_string().contains("symbolic link") {
                " (a symbolic link anywhere on the way is refused: it may lead out of the policy's directory)"
            } else {
                ""
            };
            e.wrap_err(format!(
                "`cedar_file = \"{rel}\"` named by `{}`{why}",
                policy.display()
            ))
        })
    }
}

/// Whether the search stops after `dir`: a version-control root, or `$HOME`.
fn is_project_boundary(dir: &Path, home: Option<&Path>) -> bool {
    home == Some(dir)
        || VCS_MARKERS
            .iter()
            .any(|m| std::fs::symlink_metadata(dir.join(m)).is_ok())
}

/// The real path of `dir` when it exists, else its absolute form.
fn real_path(dir: &Path) -> PathBuf {
    std::fs::canonicalize(dir)
        .or_else(|_| std::path::absolute(dir))
        .unwrap_or_else(|_| dir.to_path_buf())
}

/// A refused read of a policy input, with its fix.
fn refused(e: &ReadError, path: &Path) -> miette::Report {
    miette::miette!(
        help = help_for(e, path),
        "the project policy input `{}` is not read: {e}",
        path.display()
    )
}

/// The fix for a refused read, where the error's own words may not say it.
fn help_for(e: &ReadError, path: &Path) -> String {
    let p = path.display();
    match e {
        ReadError::NotPrivate { .. } => format!(
            "only its owner may change the policy: `chmod go-w {p}`, and own it yourself (`chown $USER {p}`) or have root own it"
        ),
        ReadError::Symlink { .. } => format!(
            "the policy is not read through a symbolic link: replace `{p}` by the file itself"
        ),
        ReadError::NotRegular { .. } => {
            format!("`{p}` must be a regular file; remove it or replace it by one")
        }
        ReadError::TooLarge { .. } => {
            format!("a policy file is at most {MAX_POLICY_BYTES} bytes: shorten `{p}`")
        }
        _ => "see docs/policy.md for where the policy is looked for and how it is read".to_owned(),
    }
}
