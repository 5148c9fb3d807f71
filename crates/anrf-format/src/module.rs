//! A module on disk: its directory and manifest, and the digests over its content.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest as _, Sha256};

use crate::error::FormatError;
use crate::fsread::{self, ReadError};
use crate::manifest::Manifest;
use crate::names::{ContentDigest, Sha256Hex};

/// The manifest's file name inside a module directory.
pub const MANIFEST_FILE: &str = "anrf.toml";

/// The most bytes of `anrf.toml` that are read.
pub const MAX_MANIFEST_BYTES: u64 = 1 << 20;
/// The most `[[intent.examples]]` a manifest may carry: every one runs in the
/// sandbox on each `verify` and `explain`, so a manifest with tens of thousands
/// of them would keep a command busy for minutes.
pub const MAX_EXAMPLES: usize = 1000;
/// The most bytes of one source file that are read.
pub const MAX_SOURCE_BYTES: u64 = 4 << 20;
/// The most bytes of all source files of a module together.
pub const MAX_SOURCES_TOTAL_BYTES: u64 = 64 << 20;
/// The most bytes of a built artifact that are read.
pub const MAX_ARTIFACT_BYTES: u64 = 64 << 20;

/// A module directory with its parsed, checked manifest.
///
/// The directory is opened once, at [`Module::load`]; the manifest and, through
/// [`Module::snapshot`], every source and the artifact are read beneath that
/// open directory (no symbolic link in any component, nothing outside it), so
/// renaming or replacing the directory afterwards changes nothing that is read.
#[derive(Debug, Clone)]
pub struct Module {
    dir: PathBuf,
    handle: Arc<File>,
    manifest_path: PathBuf,
    manifest: Manifest,
}

impl Module {
    /// Loads the module at `path`: a module directory, or its `anrf.toml`.
    pub fn load(path: &Path) -> Result<Self, FormatError> {
        Self::load_edited(path, &|_| None)
    }

    /// [`Module::load`], with the manifest's text first passed through `edit`
    /// (`None` keeps it): how `anrf override request` checks the manifest as it
    /// will be once what it asks for is declared, so an example that already
    /// sets the variable it requests is no chicken-and-egg. Nothing is written.
    pub fn load_edited(
        path: &Path,
        edit: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, FormatError> {
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
                .filter(|p| !p.as_os_str().is_empty())
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
            (dir, path.to_path_buf())
        };
        let manifest_name = manifest_path
            .file_name()
            .map_or_else(|| PathBuf::from(MANIFEST_FILE), PathBuf::from);
        // The directory as the caller named it (links in it followed once, here);
        // from now on everything is read beneath this descriptor.
        let handle = fsread::open_dir_following(&dir).map_err(FormatError::Unreadable)?;
        let bytes = match fsread::read_beneath(&handle, &dir, &manifest_name, MAX_MANIFEST_BYTES) {
            Ok(bytes) => bytes,
            Err(ReadError::NotFound { .. }) => return Err(FormatError::NoManifest { dir }),
            Err(e) => return Err(FormatError::Unreadable(e)),
        };
        let text = String::from_utf8(bytes).map_err(|_| {
            FormatError::Unreadable(ReadError::NotUtf8 {
                path: manifest_path.clone(),
            })
        })?;
        let text = edit(&text).unwrap_or(text);
        let manifest = Manifest::from_str(&text, &manifest_path.display().to_string())?;
        Ok(Self {
            dir,
            handle: Arc::new(handle),
            manifest_path,
            manifest,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The module directory as opened at [`Module::load`]: open files beneath it
    /// (not by [`Module::dir`]'s name) so that every read is of this directory.
    pub fn dir_handle(&self) -> &File {
        &self.handle
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

    /// Reads every source and the artifact once, beneath the module directory
    /// and within the size limits above: the bytes a decision hashes and the bytes
    /// it is then about are the same bytes, taken from one snapshot.
    pub fn snapshot(&self) -> Result<ModuleSnapshot, FormatError> {
        let sources = self.read_sources()?;
        let artifact = match &self.manifest.implementation.artifact {
            None => None,
            Some(artifact) => {
                let rel = artifact.path.as_str();
                let bytes = fsread::read_beneath(
                    &self.handle,
                    &self.dir,
                    Path::new(rel),
                    MAX_ARTIFACT_BYTES,
                )
                .map_err(|source| FormatError::MissingArtifact {
                    path: self.resolve(rel),
                    module: self.dir.display().to_string(),
                    source,
                })?;
                Some(bytes)
            }
        };
        Ok(ModuleSnapshot {
            manifest: self.manifest.clone(),
            sources,
            artifact,
        })
    }

    /// [`ModuleSnapshot::sources_digest`] of the sources as they are now (the
    /// artifact is not read): what `anrf build` records before it compiles.
    pub fn sources_digest(&self) -> Result<Sha256Hex, FormatError> {
        Ok(sources_digest(&self.read_sources()?))
    }

    /// Every listed source, sorted, each once, within the size limits.
    fn read_sources(&self) -> Result<Vec<(String, Vec<u8>)>, FormatError> {
        let mut names: Vec<&str> = self
            .manifest
            .implementation
            .sources
            .iter()
            .map(crate::names::RelPath::as_str)
            .collect();
        names.sort_unstable();
        names.dedup();
        let mut sources = Vec::with_capacity(names.len());
        let mut total: u64 = 0;
        for name in names {
            let path = self.resolve(name);
            let bytes =
                fsread::read_beneath(&self.handle, &self.dir, Path::new(name), MAX_SOURCE_BYTES)
                    .map_err(|e| FormatError::MissingSource {
                        path: path.clone(),
                        source: e,
                    })?;
            total = total.saturating_add(bytes.len() as u64);
            if total > MAX_SOURCES_TOTAL_BYTES {
                return Err(FormatError::MissingSource {
                    path: path.clone(),
                    source: ReadError::TooLarge {
                        path,
                        size: total,
                        limit: MAX_SOURCES_TOTAL_BYTES,
                    },
                });
            }
            sources.push((name.to_owned(), bytes));
        }
        Ok(sources)
    }

    /// [`ModuleSnapshot::content_digest`] of a fresh snapshot.
    pub fn content_digest(&self) -> Result<ContentDigest, FormatError> {
        Ok(self.snapshot()?.content_digest())
    }

    /// [`ModuleSnapshot::code_digest`] of a fresh snapshot.
    pub fn code_digest(&self) -> Result<ContentDigest, FormatError> {
        Ok(self.snapshot()?.code_digest())
    }
}

/// The content of a module as read once by [`Module::snapshot`]: its manifest,
/// every listed source (sorted, each once) and its artifact.
#[derive(Debug, Clone)]
pub struct ModuleSnapshot {
    manifest: Manifest,
    sources: Vec<(String, Vec<u8>)>,
    artifact: Option<Vec<u8>>,
}

impl ModuleSnapshot {
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The artifact's bytes, if the manifest records one.
    pub fn artifact(&self) -> Option<&[u8]> {
        self.artifact.as_deref()
    }

    /// Takes the artifact's bytes out of the snapshot (after its digests were taken).
    pub fn into_artifact(self) -> Option<Vec<u8>> {
        self.artifact
    }

    /// The bytes of the listed source `rel`, as read.
    pub fn source(&self, rel: &str) -> Option<&[u8]> {
        self.sources
            .binary_search_by(|(name, _)| name.as_str().cmp(rel))
            .ok()
            .map(|i| self.sources[i].1.as_slice())
    }

    /// Every listed source with its bytes, sorted by path.
    pub fn sources(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.sources.iter().map(|(n, b)| (n.as_str(), b.as_slice()))
    }

    /// The SHA-256 of the listed sources (each path and its bytes, sorted,
    /// length-prefixed), as `anrf build` records it in
    /// `provenance.sources_sha256`.
    pub fn sources_digest(&self) -> Sha256Hex {
        sources_digest(&self.sources)
    }

    /// Whether the sources are the ones the artifact was built from: `None`
    /// when the build recorded no digest (a hand-recorded artifact).
    pub fn built_from_these_sources(&self) -> Option<bool> {
        let recorded = self
            .manifest
            .implementation
            .provenance
            .as_ref()?
            .sources_sha256
            .as_ref()?;
        Some(recorded == &self.sources_digest())
    }

    /// Whether the artifact's SHA-256 is the one the manifest records (`None`
    /// when there is no artifact).
    pub fn artifact_matches(&self) -> Option<bool> {
        let (recorded, bytes) = (
            self.manifest.implementation.artifact.as_ref()?,
            self.artifact.as_ref()?,
        );
        Some(crate::Sha256Hex::of(bytes).as_str() == recorded.sha256.as_str())
    }

    /// The canonical content digest: the manifest in normal form, every source file
    /// and the artifact. Formatting, comments and key order in `anrf.toml` do not
    /// change it; any semantic edit, source edit or rebuild does.
    pub fn content_digest(&self) -> ContentDigest {
        let normal = canonical_json(&serde_json::to_value(&self.manifest).unwrap_or_default());
        self.digest("anrf-content-v1", &normal)
    }

    /// What every approval of one of the module's overrides binds to: the
    /// module's name, language and isolation, every source and the artifact. The
    /// rest of the security section is bound per override, by
    /// [`approval_binding`]: the fields the override relaxes, not the others.
    /// Formatting, intent, other overrides and unrelated security fields do not
    /// change it; editing the code or rebuilding does.
    pub fn code_digest(&self) -> ContentDigest {
        let subject = serde_json::json!({
            "name": self.manifest.module.name,
            "language": self.manifest.implementation.language,
            "isolation": self.manifest.security.isolation,
        });
        self.digest("anrf-code-v1", &canonical_json(&subject))
    }

    fn digest(&self, domain: &str, manifest_part: &str) -> ContentDigest {
        let mut hasher = Sha256::new();
        frame(&mut hasher, domain.as_bytes());
        frame(&mut hasher, manifest_part.as_bytes());
        for (name, bytes) in &self.sources {
            frame(&mut hasher, name.as_bytes());
            frame(&mut hasher, bytes);
        }
        match &self.artifact {
            Some(bytes) => {
                frame(&mut hasher, b"artifact");
                frame(&mut hasher, bytes);
            }
            None => frame(&mut hasher, b"no-artifact"),
        }
        ContentDigest::from_sha256(hasher.finalize().into())
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

/// The digest an approval of an override that relaxes `relaxes` binds to: the
/// module's [`ModuleSnapshot::code_digest`] and the security fields that
/// override relaxes (for `allow-read:data`, the `dirs` entries of `data`; for
/// `raise:memory=...`, `limits.memory`; for `memory-unsafe`, `memory_safety`).
/// Adding another override, or editing a field it does not relax, leaves it as
/// it was; so approvals stay valid while the module grows new requests.
pub fn approval_binding(
    code: &ContentDigest,
    security: &crate::Security,
    relaxes: &crate::Relaxation,
) -> ContentDigest {
    use crate::Relaxation as R;
    let caps = &security.capabilities;
    let fields = match relaxes {
        R::AllowRead(path) | R::AllowWrite(path) => serde_json::json!(
            caps.dirs
                .iter()
                .filter(|d| path_within(d.host.as_str(), path.as_str()))
                .collect::<Vec<_>>()
        ),
        R::AllowEnv(name) => serde_json::json!(caps.env.contains(name)),
        R::AllowNetwork(host) => serde_json::json!(caps.network.contains(host)),
        R::MemoryUnsafe => serde_json::json!(security.memory_safety),
        R::Raise(limit, _) => serde_json::json!(security.limits.get(*limit)),
        R::Threads | R::RaiseBudget(..) => serde_json::Value::Null,
    };
    let subject = serde_json::json!({
        "code": code.as_str(),
        "relaxes": relaxes.to_string(),
        "relaxed": fields,
    });
    let mut hasher = Sha256::new();
    frame(&mut hasher, b"anrf-approval-binding-v1");
    frame(&mut hasher, canonical_json(&subject).as_bytes());
    ContentDigest::from_sha256(hasher.finalize().into())
}

/// Whether the relative path `path` is `dir` or beneath it (`dir` of `*` holds
/// everything); trailing slashes do not count. How a directory override covers
/// the directories a manifest declares.
pub fn path_within(path: &str, dir: &str) -> bool {
    let (path, dir) = (path.trim_end_matches('/'), dir.trim_end_matches('/'));
    dir == "*"
        || dir == path
        || path
            .strip_prefix(dir)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn sources_digest(sources: &[(String, Vec<u8>)]) -> Sha256Hex {
    let mut hasher = Sha256::new();
    frame(&mut hasher, b"anrf-sources-v1");
    for (name, bytes) in sources {
        frame(&mut hasher, name.as_bytes());
        frame(&mut hasher, bytes);
    }
    Sha256Hex::from_digest(hasher.finalize().into())
}
