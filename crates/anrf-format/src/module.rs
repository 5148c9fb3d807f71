//! A module on disk: its directory and manifest, and the digests over its content.

use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::error::FormatError;
use crate::manifest::Manifest;
use crate::names::ContentDigest;

/// The manifest's file name inside a module directory.
pub const MANIFEST_FILE: &str = "anrf.toml";

/// A module directory with its parsed, checked manifest.
#[derive(Debug, Clone)]
pub struct Module {
    dir: PathBuf,
    manifest_path: PathBuf,
    manifest: Manifest,
}

impl Module {
    /// Loads the module at `path`: a module directory, or its `anrf.toml`.
    pub fn load(path: &Path) -> Result<Self, FormatError> {
        if !path.exists() {
            return Err(FormatError::NoManifest {
                dir: path.to_path_buf(),
            });
        }
        let (dir, manifest_path) = if path.is_dir() {
            (path.to_path_buf(), path.join(MANIFEST_FILE))
        } else {
            let dir = path
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            (dir, path.to_path_buf())
        };
        if !manifest_path.exists() {
            return Err(FormatError::NoManifest { dir });
        }
        let manifest = Manifest::from_path(&manifest_path)?;
        Ok(Self {
            dir,
            manifest_path,
            manifest,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn manifest_path(&self) -> &Path {
        &self.manifest_path
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The module's name as its manifest gives it.
    pub fn name(&self) -> &str {
        self.manifest.module.name.as_str()
    }

    /// Absolute-or-relative path of a manifest-relative path.
    pub fn resolve(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    /// The artifact's bytes, if the manifest records one.
    pub fn artifact_bytes(&self) -> Result<Option<Vec<u8>>, FormatError> {
        let Some(artifact) = &self.manifest.implementation.artifact else {
            return Ok(None);
        };
        let path = self.resolve(artifact.path.as_str());
        std::fs::read(&path)
            .map(Some)
            .map_err(|source| FormatError::MissingArtifact {
                path,
                module: self.dir.display().to_string(),
                source,
            })
    }

    /// The canonical content digest: the manifest in normal form, every source file
    /// and the artifact. Formatting, comments and key order in `anrf.toml` do not
    /// change it; any semantic edit, source edit or rebuild does.
    pub fn content_digest(&self) -> Result<ContentDigest, FormatError> {
        let normal = canonical_json(&serde_json::to_value(&self.manifest).unwrap_or_default());
        self.digest("anrf-content-v1", &normal)
    }

    /// The digest that override approvals bind to: the module's name and language,
    /// the security section without its overrides, every source and the artifact.
    /// Approving (which edits `security.overrides`) does not change it; editing the
    /// code, the artifact or any other security field does.
    pub fn security_digest(&self) -> Result<ContentDigest, FormatError> {
        let mut security = serde_json::to_value(&self.manifest.security).unwrap_or_default();
        if let Some(map) = security.as_object_mut() {
            map.remove("overrides");
        }
        let subject = serde_json::json!({
            "name": self.manifest.module.name,
            "language": self.manifest.implementation.language,
            "security": security,
        });
        self.digest("anrf-security-v1", &canonical_json(&subject))
    }

    fn digest(&self, domain: &str, manifest_part: &str) -> Result<ContentDigest, FormatError> {
        let mut hasher = Sha256::new();
        frame(&mut hasher, domain.as_bytes());
        frame(&mut hasher, manifest_part.as_bytes());
        let mut sources: Vec<&str> = self
            .manifest
            .implementation
            .sources
            .iter()
            .map(crate::names::RelPath::as_str)
            .collect();
        sources.sort_unstable();
        sources.dedup();
        for source in sources {
            let path = self.resolve(source);
            let bytes =
                std::fs::read(&path).map_err(|e| FormatError::MissingSource { path, source: e })?;
            frame(&mut hasher, source.as_bytes());
            frame(&mut hasher, &bytes);
        }
        match self.artifact_bytes()? {
            Some(bytes) => {
                frame(&mut hasher, b"artifact");
                frame(&mut hasher, &bytes);
            }
            None => frame(&mut hasher, b"no-artifact"),
        }
        Ok(ContentDigest::from_sha256(hasher.finalize().into()))
    }
}

/// Length-prefixed, so no two different sequences of parts hash alike.
fn frame(hasher: &mut Sha256, bytes: &[u8]) {
    hasher.update((bytes.len() as u64).to_le_bytes());
    hasher.update(bytes);
}

/// JSON with object keys sorted and no insignificant whitespace.
pub(crate) fn canonical_json(value: &serde_json::Value) -> String {
    fn write(value: &serde_json::Value, out: &mut String) {
        match value {
            serde_json::Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                out.push('{');
                for (i, key) in keys.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&serde_json::Value::String(key.clone()).to_string());
                    out.push(':');
                    write(&map[key], out);
                }
                out.push('}');
            }
            serde_json::Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write(item, out);
                }
                out.push(']');
            }
            other => out.push_str(&other.to_string()),
        }
    }
    let mut out = String::new();
    write(value, &mut out);
    out
}
