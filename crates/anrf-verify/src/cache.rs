//! The content-addressed result cache. A report is stored under a key made of
//! everything it depends on: the verifier's version, the module's content
//! digest (normalized manifest, listed sources, artifact), every other file in
//! the module directory (unlisted Rust files, data the examples read) except
//! the build output in `target/`, the project policy's digest and its
//! project-scoped overrides (which the digest leaves out), the profile, the
//! day (override expiry is by date), known revocations, whether examples run,
//! and every input the supply-chain check read (the guest's `Cargo.toml`,
//! `Cargo.lock` and `build.rs`, the cargo home, and each dependency's manifest
//! and build script as found, or their absence). Examples are hermetic (they
//! see only the environment values the example itself gives, which are in the
//! manifest), so no value from the verifier's environment is part of a report.
//!
//! A hit returns the stored report unchanged, and only when the stored report
//! is for the same verifier, module digest, policy digest and profile as the
//! key. A module whose digest cannot be computed (missing files), or whose
//! directory is too large to hash, is never cached.

use std::path::{Path, PathBuf};

use anrf_format::{Module, Profile};
use sha2::{Digest as _, Sha256};

use crate::error::VerifyError;
use crate::report::Report;
use crate::supply;
use crate::verify::{Examples, VERIFIER, VerifyOptions};

/// The most bytes of module files the key hashes; a larger module is not cached.
const MAX_HASHED_BYTES: u64 = 256 * 1024 * 1024;
/// The most entries (files, links, directories) the key hashes; a module with
/// more is not cached.
const MAX_HASHED_FILES: usize = 10_000;

/// The largest cached report read back; a larger entry is a miss.
const MAX_REPORT_BYTES: u64 = 64 * 1024 * 1024;

/// A cache directory, e.g. `$ANRF_HOME/cache/verify`.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

/// A cache key: a SHA-256 over everything a report depends on, and what the
/// stored report must say about itself to be returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKey {
    hex: String,
    digest: String,
    policy_digest: String,
    profile: Profile,
}

impl CacheKey {
    /// The key as hex.
    pub fn as_str(&self) -> &str {
        &self.hex
    }
}

impl Cache {
    /// A cache rooted at `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Cache { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The key for verifying `module` with `options`; `None` when the module's
    /// content digest cannot be computed or its directory is too large to hash
    /// (such a module is never cached).
    pub fn key(module: &Module, options: &VerifyOptions<'_>) -> Option<CacheKey> {
        if !crate::budget::digestible(module) {
            return None;
        }
        let digest = module.content_digest().ok()?;
        let files = module_files(module.dir())?;
        let supply = supply::check_dependencies(module.dir(), options.cargo_home.as_deref());
        let mut h = Sha256::new();
        let mut part = |bytes: &[u8]| {
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        };
        part(b"anrf-verify-cache-v3");
        part(VERIFIER.as_bytes());
        part(digest.as_str().as_bytes());
        part(options.policy.digest().as_str().as_bytes());
        // The policy digest leaves out the project-scoped overrides (approvals
        // sign it), yet they decide the report: any edit to them, down to a
        // signature, is a different key.
        part(
            serde_json::to_string(options.policy.overrides())
                .unwrap_or_default()
                .as_bytes(),
        );
        part(options.profile.as_str().as_bytes());
        part(options.now.date().to_string().as_bytes());
        for r in &options.revocations {
            part(r.override_id.as_bytes());
        }
        part(if options.examples == Examples::Run {
            b"examples"
        } else {
            b"no-examples"
        });
        part(
            options
                .cargo_home
                .as_deref()
                .map(Path::to_string_lossy)
                .unwrap_or_default()
                .as_bytes(),
        );
        part(&(files.len() as u64).to_le_bytes());
        for (rel, file_digest) in &files {
            part(rel.as_bytes());
            part(file_digest);
        }
        part(&(supply.inputs.len() as u64).to_le_bytes());
        for input in &supply.inputs {
            part(input.as_bytes());
        }
        Some(CacheKey {
            hex: hex::encode(h.finalize()),
            digest: digest.to_string(),
            policy_digest: options.policy.digest().to_string(),
            profile: options.profile,
        })
    }

    fn path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(format!("{}.json", key.hex))
    }

    /// The stored report, if any. An unreadable or stale-format entry, or one
    /// whose verifier, module digest, policy digest or profile differ from the
    /// key's, is a miss.
    pub fn get(&self, key: &CacheKey) -> Option<Report> {
        let text = crate::fsread::read_regular_text(&self.path(key), MAX_REPORT_BYTES).ok()?;
        let report: Report = serde_json::from_str(&text).ok()?;
        (report.verifier == VERIFIER
            && report.format == crate::report::REPORT_FORMAT
            && report.digest.as_deref() == Some(key.digest.as_str())
            && report.policy_digest == key.policy_digest
            && report.profile == key.profile)
            .then_some(report)
    }

    /// Stores a report (written to a temporary file, then renamed into place).
    pub fn put(&self, key: &CacheKey, report: &Report) -> Result<(), VerifyError> {
        let err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| VerifyError::CacheWrite { path, source }
        };
        std::fs::create_dir_all(&self.dir).map_err(err(&self.dir))?;
        let path = self.path(key);
        let tmp = self
            .dir
            .join(format!("{}.{}.tmp", key.hex, std::process::id()));
        let text = serde_json::to_string(report).map_err(|e| VerifyError::CacheWrite {
            path: path.clone(),
            source: std::io::Error::other(e),
        })?;
        std::fs::write(&tmp, text).map_err(err(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(err(&path))
    }
}

/// Every file under the module directory but `target/` and `.git/` at the top,
/// as (relative path, SHA-256), sorted. Nothing outside the module is read and
/// nothing is followed: a symbolic link is hashed as the text of its target (a
/// target inside the module is hashed as itself, where it lies), a FIFO, socket
/// or device as its kind alone (never opened), and a regular file is read only
/// when its size fits what is left of the budget. `None` when the directory is
/// too large to hash ([`MAX_HASHED_FILES`], [`MAX_HASHED_BYTES`]) or a file
/// changes kind or size while it is read.
fn module_files(dir: &Path) -> Option<Vec<(String, Vec<u8>)>> {
    use std::os::unix::fs::FileTypeExt as _;
    let mut out = Vec::new();
    let mut left = MAX_HASHED_BYTES;
    // Every entry counts, directories too.
    let mut seen = 0usize;
    let mut stack: Vec<(PathBuf, String)> = vec![(dir.to_path_buf(), String::new())];
    while let Some((path, rel)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&path) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            let child = if rel.is_empty() {
                name.clone()
            } else {
                format!("{rel}/{name}")
            };
            // The entry's own type: a link is not followed.
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            seen += 1;
            if seen > MAX_HASHED_FILES {
                return None;
            }
            let mut h = Sha256::new();
            if kind.is_dir() {
                if !(rel.is_empty() && (name == "target" || name == ".git")) {
                    stack.push((entry.path(), child));
                }
                continue;
            } else if kind.is_symlink() {
                let target = std::fs::read_link(entry.path()).unwrap_or_default();
                h.update(b"symlink\0");
                h.update(target.as_os_str().as_encoded_bytes());
            } else if kind.is_file() {
                let size = entry.metadata().ok()?.len();
                if size > left {
                    return None;
                }
                let bytes = crate::fsread::read_regular(&entry.path(), left).ok()?;
                left -= bytes.len() as u64;
                h.update(b"file\0");
                h.update(&bytes);
            } else {
                let what: &[u8] = if kind.is_fifo() {
                    b"fifo"
                } else if kind.is_socket() {
                    b"socket"
                } else if kind.is_char_device() {
                    b"char-device"
                } else {
                    b"block-device"
                };
                h.update(what);
            }
            out.push((child, h.finalize().to_vec()));
        }
    }
    out.sort();
    Some(out)
}
