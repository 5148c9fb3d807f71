//! The log's own ed25519 signing key, `audit.key` (PKCS#8 PEM, mode 0600).
//!
//! Created once, with the log; two processes creating it at the same time
//! agree on one key because the file appears atomically (hard link of a
//! fully written temporary file, which fails if the name already exists).

use std::fs;
use std::io::Write;
use std::path::Path;

use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::error::AuditError;

/// File name of the signing key inside the audit directory.
pub const KEY_FILE: &str = "audit.key";

/// Reads `audit.key` if it exists.
pub(crate) fn load(dir: &Path) -> Result<Option<SigningKey>, AuditError> {
    let path = dir.join(KEY_FILE);
    let pem = match fs::read_to_string(&path) {
        Ok(pem) => pem,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(AuditError::Key {
                path,
                reason: e.to_string(),
            });
        }
    };
    SigningKey::from_pkcs8_pem(&pem)
        .map(Some)
        .map_err(|e| AuditError::Key {
            path,
            reason: format!("not an ed25519 PKCS#8 PEM key ({e})"),
        })
}

/// Reads `audit.key`, creating it first if it does not exist.
pub(crate) fn load_or_create(dir: &Path) -> Result<SigningKey, AuditError> {
    if let Some(key) = load(dir)? {
        return Ok(key);
    }
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
    let linked = fs::hard_link(&tmp, dir.join(KEY_FILE));
    let _ = fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            sync_dir(dir)?;
            Ok(key)
        }
        // Another process won the race: use its key.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            load(dir)?.ok_or_else(|| AuditError::Key {
                path: dir.join(KEY_FILE),
                reason: "the key file vanished while it was being created".to_owned(),
            })
        }
        Err(e) => Err(AuditError::io(&dir.join(KEY_FILE), e)),
    }
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
    fn creates_once_then_loads_the_same_key() {
        let dir = tempfile::tempdir().unwrap();
        let a = load_or_create(dir.path()).unwrap();
        let b = load_or_create(dir.path()).unwrap();
        assert_eq!(a.to_bytes(), b.to_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
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
