//! The log's own ed25519 signing key, `audit.key` (PKCS#8 PEM, mode 0600).
//!
//! Created once, with the log, and put in place only after the database has
//! recorded its public key: the new key is written to a temporary file first
//! ([`PendingKey`]), the database commits its public key, and then the file is
//! hard-linked to `audit.key` (which fails if the name exists). So `audit.key`
//! never exists without a log that records it, and a key without a log means
//! the log was deleted. A process that finds the key recorded but not yet in
//! place (another process is between its commit and its link, or crashed
//! there) adopts the temporary file whose key the database records.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::error::AuditError;
use crate::fsread::{self, ReadError};

/// File name of the signing key inside the audit directory.
pub const KEY_FILE: &str = "audit.key";

/// A PEM key is about 120 bytes.
const MAX_KEY_BYTES: u64 = 4096;

/// Reads `audit.key` if it exists (bounded, a regular file, not a symlink).
pub(crate) fn load(dir: &Path) -> Result<Option<SigningKey>, AuditError> {
    load_file(&dir.join(KEY_FILE))
}

fn load_file(path: &Path) -> Result<Option<SigningKey>, AuditError> {
    let bytes = match fsread::read_bounded(path, MAX_KEY_BYTES) {
        Ok(bytes) => bytes,
        Err(ReadError::NotFound) => return Ok(None),
        Err(e) => {
            return Err(AuditError::Key {
                path: path.to_path_buf(),
                reason: e.to_string(),
            });
        }
    };
    let pem = String::from_utf8(bytes).map_err(|_| AuditError::Key {
        path: path.to_path_buf(),
        reason: "not UTF-8".to_owned(),
    })?;
    SigningKey::from_pkcs8_pem(&pem)
        .map(Some)
        .map_err(|e| AuditError::Key {
            path: path.to_path_buf(),
            reason: format!("not an ed25519 PKCS#8 PEM key ({e})"),
        })
}

/// Whether something is at `audit.key` (a file, a link, anything).
pub(crate) fn exists(dir: &Path) -> bool {
    fs::symlink_metadata(dir.join(KEY_FILE)).is_ok()
}

/// A new key written to a temporary file, not yet `audit.key`.
#[derive(Debug)]
pub(crate) struct PendingKey {
    pub key: SigningKey,
    tmp: PathBuf,
}

impl PendingKey {
    /// Generates a key and writes it (mode 0600, synced) to a temporary file
    /// in `dir`.
    pub(crate) fn create(dir: &Path) -> Result<PendingKey, AuditError> {
        let key = SigningKey::generate(&mut rand::rngs::OsRng);
        let pem = key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| AuditError::Key {
                path: dir.join(KEY_FILE),
                reason: format!("cannot encode the new key ({e})"),
            })?;
        let tmp = dir.join(format!(
            ".{KEY_FILE}.{}.{}.tmp",
            std::process::id(),
            unique_suffix()
        ));
        write_private(&tmp, pem.as_bytes())?;
        Ok(PendingKey { key, tmp })
    }

    /// Puts the key in place as `audit.key` (the database has recorded it).
    pub(crate) fn install(self, dir: &Path) -> Result<(), AuditError> {
        let linked = fs::hard_link(&self.tmp, dir.join(KEY_FILE));
        let _ = fs::remove_file(&self.tmp);
        match linked {
            // Another process adopted this very file first: same key.
            Ok(()) => sync_dir(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(e) => Err(AuditError::io(&dir.join(KEY_FILE), e)),
        }
    }

    /// Removes the temporary file (another process created the log).
    pub(crate) fn discard(self) {
        let _ = fs::remove_file(&self.tmp);
    }
}

/// The key the database records as `public`: `audit.key`, or, when it is not
/// in place yet, a temporary key file holding that key, which is then linked
/// to `audit.key`. `None` when neither exists.
pub(crate) fn load_or_adopt(
    dir: &Path,
    public: &VerifyingKey,
) -> Result<Option<SigningKey>, AuditError> {
    // Twice: the creating process may link its file and remove the temporary
    // one between our two looks.
    for _ in 0..2 {
        if let Some(key) = load(dir)? {
            return Ok(Some(key));
        }
        let Some(tmp) = pending_with(dir, public) else {
            continue;
        };
        match fs::hard_link(&tmp, dir.join(KEY_FILE)) {
            Ok(()) => sync_dir(dir)?,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::AlreadyExists | std::io::ErrorKind::NotFound
                ) => {}
            Err(e) => return Err(AuditError::io(&dir.join(KEY_FILE), e)),
        }
    }
    load(dir)
}

/// A temporary key file in `dir` holding the key `public`.
fn pending_with(dir: &Path, public: &VerifyingKey) -> Option<PathBuf> {
    let prefix = format!(".{KEY_FILE}.");
    fs::read_dir(dir).ok()?.flatten().find_map(|entry| {
        let name = entry.file_name();
        let name = name.to_str()?;
        // Our own temporary names: exactly `.tmp`, as written above.
        if !(name.starts_with(&prefix) && name.rsplit('.').next() == Some("tmp")) {
            return None;
        }
        let path = entry.path();
        let key = load_file(&path).ok()??;
        (key.verifying_key() == *public).then_some(path)
    })
}

/// Lowercase hex of the public key.
pub(crate) fn public_hex(key: &VerifyingKey) -> String {
    hex::encode(key.as_bytes())
}

/// Parses a hex public key.
pub(crate) fn parse_public_hex(text: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = hex::decode(text.trim()).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

/// Writes `bytes` to a new file readable only by its owner, and syncs it.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), AuditError> {
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut file = opts.open(path).map_err(|e| AuditError::io(path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| AuditError::io(path, e))
}

/// Makes a rename or link inside `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), AuditError> {
    #[cfg(unix)]
    {
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| AuditError::io(dir, e))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// A suffix that keeps temporary names of one process apart.
pub(crate) fn unique_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_key_is_private_and_installed_once() {
        let dir = tempfile::tempdir().unwrap();
        let a = PendingKey::create(dir.path()).unwrap();
        let public = a.key.verifying_key();
        assert!(!exists(dir.path()));
        // Adopted by another process before the creator links it.
        assert_eq!(
            load_or_adopt(dir.path(), &public)
                .unwrap()
                .map(|k| k.verifying_key()),
            Some(public)
        );
        a.install(dir.path()).unwrap();
        assert_eq!(load(dir.path()).unwrap().unwrap().verifying_key(), public);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A pending key of another log is never adopted.
        let other = PendingKey::create(dir.path()).unwrap();
        let stranger = SigningKey::from_bytes(&[9u8; 32]).verifying_key();
        fs::remove_file(dir.path().join(KEY_FILE)).unwrap();
        assert!(load_or_adopt(dir.path(), &stranger).unwrap().is_none());
        other.discard();
    }

    #[test]
    fn garbage_key_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(KEY_FILE), "not a key").unwrap();
        let err = load(dir.path()).unwrap_err().to_string();
        assert!(err.contains("audit.key"), "{err}");
    }

    #[test]
    fn public_hex_round_trips() {
        let key = SigningKey::from_bytes(&[3u8; 32]).verifying_key();
        assert_eq!(parse_public_hex(&public_hex(&key)), Some(key));
        assert_eq!(parse_public_hex("zz"), None);
    }
}
