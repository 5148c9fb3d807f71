//! The AOT cache: precompiled native artifacts, integrity-checked before use.
//!
//! Layout of a cache directory (mode `0700`, owned by the user; on unix any
//! other directory, or a key that is not a `0600` file of the user's, is refused):
//!
//! - `hmac.key`: 32 random bytes (mode `0600`), created on first use;
//! - `<module sha256>-<settings fingerprint>.cwasm`: `ANRFAOT1`, then the
//!   HMAC-SHA256 of the entry name and the artifact, then the artifact.
//!
//! An entry whose HMAC does not match (corrupted, truncated, edited, or swapped
//! for another entry's file) is deleted and recompiled, never loaded.
//!
//! The entries together take at most the cache's bound (`max_bytes`): after
//! each store the least recently used entries (oldest modification time; a
//! hit sets it to now) are deleted until the rest fit. An artifact larger
//! than the whole bound is not stored. A run whose entry was deleted under it
//! compiles again; nothing is ever read from a deleted entry but what was
//! already read in full and checked.

mod artifact;

use std::fs;
use std::hash::Hasher;
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use wasmtime::{Engine, Module};

use crate::error::RuntimeError;
use crate::outcome::CacheEvent;

pub(crate) use artifact::CheckedArtifact;

const MAGIC: &[u8; 8] = b"ANRFAOT1";
const KEY_FILE: &str = "hmac.key";
const ENTRY_SUFFIX: &str = ".cwasm";
/// A temporary file older than this was left by a process that died while
/// storing an entry: it is deleted when the cache is next trimmed.
const STALE_TMP: Duration = Duration::from_hours(1);

/// A cache directory, its key and its bound.
#[derive(Debug)]
pub(crate) struct AotCache {
    dir: PathBuf,
    key: [u8; 32],
    max_bytes: u64,
}

impl AotCache {
    /// Opens (creating if needed) a cache directory.
    ///
    /// On unix the directory must be a real directory (not a symlink) owned by
    /// the effective user and writable by nobody else, and `hmac.key` a regular
    /// file owned by the user with mode `0600`: whoever can write either could
    /// forge entries, and wasmtime runs an entry's native code. Anything else is
    /// refused, never repaired.
    pub(crate) fn open(dir: &Path, max_bytes: u64) -> Result<AotCache, RuntimeError> {
        let err = |path: &Path, e: std::io::Error| RuntimeError::Cache {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        create_private_dir(dir).map_err(|e| err(dir, e))?;
        check_private_dir(dir)?;
        let key_path = dir.join(KEY_FILE);
        let key = match read_key(&key_path) {
            Ok(bytes) => bytes.try_into().map_err(|_| RuntimeError::Cache {
                path: key_path.clone(),
                message: "the key file is not 32 bytes; delete it to start a new cache".into(),
            })?,
            Err(KeyError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut key);
                write_private_file(&key_path, &key).map_err(|e| err(&key_path, e))?;
                // Another process may have won the race: use what is on disk.
                read_key(&key_path)
                    .map_err(|e| e.into_error(&key_path))?
                    .try_into()
                    .map_err(|_| RuntimeError::Cache {
                        path: key_path.clone(),
                        message: "the key file is not 32 bytes".into(),
                    })?
            }
            Err(e) => return Err(e.into_error(&key_path)),
        };
        Ok(AotCache {
            dir: dir.to_path_buf(),
            key,
            max_bytes,
        })
    }

    /// The path of the entry for `name`.
    pub(crate) fn entry_path(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}{ENTRY_SUFFIX}"))
    }

    /// The module for `name` if the cache holds an entry whose integrity
    /// holds and that wasmtime accepts; `None` otherwise (nothing is changed:
    /// [`AotCache::load_or_compile`] reports and replaces a bad entry).
    pub(crate) fn load_intact(&self, engine: &Engine, name: &str) -> Option<Module> {
        let (file, bytes) = self.read_entry(name).ok()?;
        let checked = self.check(name, &bytes).ok()?;
        let module = artifact::load(engine, &checked).ok()?;
        touch(&file);
        Some(module)
    }

    /// Loads the module for `name` from the cache if its integrity holds;
    /// otherwise compiles it, stores it and loads the fresh artifact.
    pub(crate) fn load_or_compile(
        &self,
        engine: &Engine,
        name: &str,
        wasm: &[u8],
    ) -> Result<(Module, CacheEvent), RuntimeError> {
        let path = self.entry_path(name);
        let mut event = CacheEvent::Miss;
        match self.read_entry(name) {
            Ok((file, bytes)) => match self.check(name, &bytes) {
                Ok(checked) => match artifact::load(engine, &checked) {
                    Ok(module) => {
                        touch(&file);
                        return Ok((module, CacheEvent::Hit));
                    }
                    Err(e) => {
                        event = CacheEvent::Rejected {
                            reason: format!("wasmtime refused the artifact: {e}"),
                        };
                    }
                },
                Err(reason) => event = CacheEvent::Rejected { reason },
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                event = CacheEvent::Rejected {
                    reason: format!("cannot read the entry: {e}"),
                };
            }
        }
        if matches!(event, CacheEvent::Rejected { .. }) {
            let _ = fs::remove_file(&path);
        }
        let compiled = compile(engine, wasm)?;
        self.store(name, &compiled)?;
        let module = artifact::load(engine, &CheckedArtifact::freshly_compiled(compiled))
            .map_err(RuntimeError::internal)?;
        Ok((module, event))
    }

    /// The open entry and its bytes. An entry larger than the whole cache's
    /// bound was never written by [`AotCache::store`]: it is an error (and
    /// so a rejected entry), and no more than the bound is read.
    fn read_entry(&self, name: &str) -> std::io::Result<(fs::File, Vec<u8>)> {
        let file = open_regular(&self.entry_path(name))?;
        let mut bytes = Vec::new();
        (&file)
            .take(self.max_bytes.saturating_add(1))
            .read_to_end(&mut bytes)?;
        if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > self.max_bytes {
            return Err(std::io::Error::other(format!(
                "the entry is larger than the cache's bound of {} bytes",
                self.max_bytes
            )));
        }
        Ok((file, bytes))
    }

    fn check(&self, name: &str, file: &[u8]) -> Result<CheckedArtifact, String> {
        if file.len() < MAGIC.len() + 32 || &file[..MAGIC.len()] != MAGIC {
            return Err("the entry has no valid header".into());
        }
        let (mac, body) = file[MAGIC.len()..].split_at(32);
        let expected = hmac_sha256(&self.key, &[name.as_bytes(), &[0], body]);
        if !constant_time_eq(mac, &expected) {
            return Err("the entry's HMAC does not match: it was modified or swapped".into());
        }
        Ok(CheckedArtifact::verified(body.to_vec()))
    }

    /// Stores an entry, then trims the cache to its bound. An artifact that
    /// alone exceeds the bound is not stored.
    fn store(&self, name: &str, artifact: &[u8]) -> Result<(), RuntimeError> {
        let path = self.entry_path(name);
        let size = u64::try_from(MAGIC.len() + 32 + artifact.len()).unwrap_or(u64::MAX);
        if size > self.max_bytes {
            return Ok(());
        }
        let mac = hmac_sha256(&self.key, &[name.as_bytes(), &[0], artifact]);
        let tmp = self
            .dir
            .join(format!(".{name}.{:016x}.tmp", rand::rngs::OsRng.next_u64()));
        let write = || -> std::io::Result<()> {
            let mut file = fs::File::create(&tmp)?;
            file.write_all(MAGIC)?;
            file.write_all(&mac)?;
            file.write_all(artifact)?;
            file.sync_all()?;
            fs::rename(&tmp, &path)
        };
        write().map_err(|e| {
            let _ = fs::remove_file(&tmp);
            RuntimeError::Cache {
                path: path.clone(),
                message: e.to_string(),
            }
        })?;
        self.trim(&path);
        Ok(())
    }

    /// Deletes the least recently used entries (never `keep`, the one just
    /// stored) until the rest take at most the bound, and temporary files
    /// left by processes that died while storing. Best effort: an entry
    /// another process deleted first is simply gone.
    fn trim(&self, keep: &Path) {
        let Ok(dir) = fs::read_dir(&self.dir) else {
            return;
        };
        let now = SystemTime::now();
        let mut entries = Vec::new();
        let mut total = 0u64;
        for entry in dir.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            // Never followed: a symlink's own metadata.
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            let modified = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            if name.starts_with('.') && name.ends_with(".tmp") {
                if now.duration_since(modified).unwrap_or_default() > STALE_TMP {
                    let _ = fs::remove_file(entry.path());
                }
                continue;
            }
            if name.ends_with(ENTRY_SUFFIX) {
                total = total.saturating_add(meta.len());
                entries.push((modified, entry.path(), meta.len()));
            }
        }
        if total <= self.max_bytes {
            return;
        }
        entries.sort();
        for (_, path, size) in entries {
            if total <= self.max_bytes {
                break;
            }
            if path == keep {
                continue;
            }
            match fs::remove_file(&path) {
                Ok(()) => total = total.saturating_sub(size),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    total = total.saturating_sub(size);
                }
                Err(_) => {}
            }
        }
    }
}

/// Marks an entry as just used (its modification time is what the cache's
/// trimming orders by). Best effort: a failure only makes it look older.
fn touch(file: &fs::File) {
    let _ = file.set_modified(SystemTime::now());
}

/// Compiles `wasm` to a native artifact, without a cache.
pub(crate) fn compile(engine: &Engine, wasm: &[u8]) -> Result<Vec<u8>, RuntimeError> {
    engine
        .precompile_module(wasm)
        .map_err(|e| crate::engine::validation_error(wasm, &e))
}

/// Loads a module compiled in memory a moment ago (AOT without a cache directory).
pub(crate) fn load_fresh(engine: &Engine, wasm: &[u8]) -> Result<Module, RuntimeError> {
    let compiled = compile(engine, wasm)?;
    artifact::load(engine, &CheckedArtifact::freshly_compiled(compiled))
        .map_err(RuntimeError::internal)
}

/// A short hex digest of everything that makes an artifact usable by an engine:
/// its settings and wasmtime's own compatibility hash (version, target, flags).
pub(crate) fn fingerprint(engine: &Engine, settings: &str) -> String {
    struct Sha(Sha256);
    impl Hasher for Sha {
        fn finish(&self) -> u64 {
            0
        }
        fn write(&mut self, bytes: &[u8]) {
            self.0.update(bytes);
        }
    }
    let mut hasher = Sha(Sha256::new());
    hasher.write(settings.as_bytes());
    hasher.write(env!("CARGO_PKG_VERSION").as_bytes());
    std::hash::Hash::hash(&engine.precompile_compatibility_hash(), &mut hasher);
    hex::encode(&hasher.0.finalize()[..12])
}

/// HMAC-SHA256 (RFC 2104) of the concatenation of `parts`.
fn hmac_sha256(key: &[u8; 32], parts: &[&[u8]]) -> [u8; 32] {
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    let mut inner = Sha256::new();
    inner.update(block.map(|b| b ^ 0x36));
    for part in parts {
        inner.update(part);
    }
    let mut outer = Sha256::new();
    outer.update(block.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Creates `dir` (and its missing parents) with mode `0700` whatever the umask.
/// A directory that already exists is left exactly as it is: [`check_private_dir`]
/// refuses it if its mode is wrong, so a permission is never changed silently.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    if fs::symlink_metadata(dir).is_ok() {
        return Ok(());
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt as _, PermissionsExt as _};
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)?;
        }
        match fs::DirBuilder::new().mode(0o700).create(dir) {
            // Ours: the umask may have taken bits away, never added any.
            Ok(()) => fs::set_permissions(dir, fs::Permissions::from_mode(0o700)),
            // Another process won the race: checked like any existing directory.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(e),
        }
    }
    #[cfg(not(unix))]
    {
        if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent)?;
        }
        match fs::create_dir(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => Err(e),
            _ => Ok(()),
        }
    }
}

/// Why a cache directory or key may be refused, said once for every refusal.
#[cfg(unix)]
const WHY_PRIVATE: &str = "anyone who can write it could plant native code that anrf would run";

/// Refuses a cache directory that is a symlink, not a directory, owned by
/// another user, or writable by group or others.
fn check_private_dir(dir: &Path) -> Result<(), RuntimeError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt as _;
        let meta = fs::symlink_metadata(dir).map_err(|e| RuntimeError::Cache {
            path: dir.to_path_buf(),
            message: e.to_string(),
        })?;
        let shown = dir.display();
        let refuse = |found: String| RuntimeError::Cache {
            path: dir.to_path_buf(),
            message: format!(
                "refusing the cache directory: {found}; {WHY_PRIVATE}; make it a directory of your own with `chmod 700 {shown}`, or pass another `--cache-dir`"
            ),
        };
        let mode = meta.mode() & 0o7777;
        let euid = rustix::process::geteuid().as_raw();
        if meta.file_type().is_symlink() {
            return Err(refuse(
                "it is a symbolic link, and the cache must be a real directory".into(),
            ));
        }
        if !meta.is_dir() {
            return Err(refuse("it is not a directory".into()));
        }
        if meta.uid() != euid {
            return Err(refuse(format!(
                "it is owned by uid {}, not by the current user (uid {euid})",
                meta.uid()
            )));
        }
        if mode & 0o022 != 0 {
            return Err(refuse(format!(
                "it has mode {mode:04o}, writable by {}",
                if mode & 0o002 != 0 {
                    "others"
                } else {
                    "its group"
                }
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Why the key could not be read.
enum KeyError {
    Io(std::io::Error),
    #[cfg(unix)]
    Unsafe(String),
}

impl KeyError {
    fn into_error(self, path: &Path) -> RuntimeError {
        let message = match self {
            KeyError::Io(e) => e.to_string(),
            #[cfg(unix)]
            KeyError::Unsafe(found) => format!(
                "refusing the cache key: {found}; {WHY_PRIVATE} (a forged key forges entries); if you did not put it there, the cache directory may have been tampered with: delete the directory, or pass another `--cache-dir`; otherwise `chmod 600 {}`",
                path.display()
            ),
        };
        RuntimeError::Cache {
            path: path.to_path_buf(),
            message,
        }
    }
}

/// The most bytes read from the cache's key file (a key is 32 bytes).
const MAX_KEY_FILE_BYTES: u64 = 4096;

/// Opens `path` once for reading without following a final symbolic link and
/// without blocking on a FIFO, and checks on the opened handle that it is a
/// regular file (`InvalidData` when it is not): a device, a FIFO, a socket or a
/// directory in a cache entry's or the key's place is never read.
fn open_regular(path: &Path) -> std::io::Result<fs::File> {
    #[cfg(unix)]
    let file = {
        use rustix::fs::OFlags;
        use std::os::unix::fs::OpenOptionsExt as _;
        let flags = OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
        fs::OpenOptions::new()
            .read(true)
            .custom_flags(i32::try_from(flags.bits()).unwrap_or(i32::MAX))
            .open(path)
            .map_err(|e| {
                if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, "a symbolic link")
                } else {
                    e
                }
            })?
    };
    #[cfg(not(unix))]
    let file = fs::File::open(path)?;
    if !file.metadata()?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "not a regular file",
        ));
    }
    Ok(file)
}

/// Reads the key, refusing (on unix) anything but a regular file of the
/// effective user's with no group or other permission bits.
fn read_key(path: &Path) -> Result<Vec<u8>, KeyError> {
    #[cfg(unix)]
    {
        use std::io::Read as _;
        use std::os::unix::fs::MetadataExt as _;
        let file = open_regular(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::InvalidData {
                KeyError::Unsafe(
                    "it is not a regular file (a symbolic link, a directory or a device)".into(),
                )
            } else {
                KeyError::Io(e)
            }
        })?;
        // Checked on the opened file: it is what is read.
        let meta = file.metadata().map_err(KeyError::Io)?;
        let mode = meta.mode() & 0o7777;
        let euid = rustix::process::geteuid().as_raw();
        if !meta.is_file() || meta.uid() != euid {
            return Err(KeyError::Unsafe(format!(
                "it is owned by uid {}, not by the current user (uid {euid})",
                meta.uid()
            )));
        }
        if mode & 0o077 != 0 {
            return Err(KeyError::Unsafe(format!(
                "it has mode {mode:04o}; it must be 0600, with no permission for group or others"
            )));
        }
        let mut bytes = Vec::new();
        file.take(MAX_KEY_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(KeyError::Io)?;
        if bytes.len() as u64 > MAX_KEY_FILE_BYTES {
            return Err(KeyError::Unsafe(format!(
                "it is larger than the {MAX_KEY_FILE_BYTES} bytes a key file holds"
            )));
        }
        Ok(bytes)
    }
    #[cfg(not(unix))]
    {
        fs::read(path).map_err(KeyError::Io)
    }
}

fn write_private_file(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(mut file) => file.write_all(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231_test_case_1() {
        // Key 0x0b x 20; zero padding to 32 bytes is the same key once HMAC
        // pads it to the 64-byte block.
        let mut key = [0u8; 32];
        key[..20].copy_from_slice(&[0x0b; 20]);
        let mac = hmac_sha256(&key, &[b"Hi ", b"There"]);
        assert_eq!(
            hex::encode(mac),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
    }

    #[test]
    fn constant_time_eq_compares_content_and_length() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
