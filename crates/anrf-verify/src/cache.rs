//! The content-addressed result cache. A report is stored under a key made of
//! everything it depends on: the verifier's version, the module's content
//! digest, the project policy's digest, the profile, the day (override expiry is
//! by date), known revocations, the guest's `Cargo.toml`/`Cargo.lock`, whether
//! examples ran and with which environment values. A hit returns the stored
//! report unchanged; a module whose digest cannot be computed (missing files)
//! is never cached.

use std::path::{Path, PathBuf};

use anrf_format::Module;
use sha2::{Digest as _, Sha256};

use crate::error::VerifyError;
use crate::report::Report;
use crate::verify::{Examples, VERIFIER, VerifyOptions};

/// A cache directory, e.g. `$ANRF_HOME/cache/verify`.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
}

/// A cache key: a SHA-256 over everything a report depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKey(String);

impl CacheKey {
    /// The key as hex.
    pub fn as_str(&self) -> &str {
        &self.0
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
    /// content digest cannot be computed (such a module is never cached).
    pub fn key(module: &Module, options: &VerifyOptions<'_>) -> Option<CacheKey> {
        let digest = module.content_digest().ok()?;
        let mut h = Sha256::new();
        let mut part = |bytes: &[u8]| {
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(bytes);
        };
        part(b"anrf-verify-cache-v1");
        part(VERIFIER.as_bytes());
        part(digest.as_str().as_bytes());
        part(options.policy.digest().as_str().as_bytes());
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
        for file in ["Cargo.toml", "Cargo.lock"] {
            part(&std::fs::read(module.dir().join(file)).unwrap_or_default());
        }
        Some(CacheKey(hex::encode(h.finalize())))
    }

    fn path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(format!("{}.json", key.0))
    }

    /// The stored report, if any. An unreadable or stale-format entry is a miss.
    pub fn get(&self, key: &CacheKey) -> Option<Report> {
        let text = std::fs::read_to_string(self.path(key)).ok()?;
        let report: Report = serde_json::from_str(&text).ok()?;
        (report.verifier == VERIFIER && report.format == crate::report::REPORT_FORMAT)
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
            .join(format!("{}.{}.tmp", key.0, std::process::id()));
        let text = serde_json::to_string(report).unwrap_or_default();
        std::fs::write(&tmp, text).map_err(err(&tmp))?;
        std::fs::rename(&tmp, &path).map_err(err(&path))
    }
}
