//! Signed checkpoints: "the log had event `seq` with hash `head_hash`", signed
//! by the log's key. They make truncating the tail detectable.
//!
//! Checkpoints live in the database's `checkpoints` table (every
//! [`DEFAULT_CHECKPOINT_EVERY`](crate::DEFAULT_CHECKPOINT_EVERY) events and on
//! request) and the newest signed head is also kept outside the database in
//! `checkpoint.sig`, rewritten atomically after every append, so an attacker
//! who deletes the tail must forge or roll back both.

use std::fs;
use std::io::Write;
use std::path::Path;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::error::AuditError;
use crate::key;

/// File name of the external checkpoint inside the audit directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.sig";

const CHECKPOINT_DOMAIN: &[u8] = b"anrf-audit-checkpoint-v1\0";

/// A signed statement about the head of the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Sequence number of the event the checkpoint covers.
    pub seq: u64,
    /// Hex hash of that event.
    pub head_hash: String,
    /// When the checkpoint was signed, RFC 3339 UTC.
    pub time: String,
    /// Hex ed25519 signature over the domain tag, `seq`, `head_hash` and `time`.
    pub signature: String,
}

/// Where a checkpoint was read from, for reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckpointSource {
    /// A row of the `checkpoints` table.
    Table,
    /// The external `checkpoint.sig` file.
    File,
}

/// `checkpoint.sig` on disk: the checkpoint plus the signer's public key, so
/// a copy kept elsewhere says which log it belongs to.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckpointFile {
    pub format: u32,
    pub public_key: String,
    #[serde(flatten)]
    pub checkpoint: Checkpoint,
}

impl Checkpoint {
    /// Signs a checkpoint for `seq` / `head_hash` at `time`.
    pub(crate) fn sign(key: &SigningKey, seq: u64, head_hash: &str, time: String) -> Self {
        let msg = signing_message(seq, head_hash, &time);
        Checkpoint {
            seq,
            head_hash: head_hash.to_owned(),
            time,
            signature: hex::encode(key.sign(&msg).to_bytes()),
        }
    }

    /// True when the signature is the log key's over these fields.
    pub fn signature_valid(&self, key: &VerifyingKey) -> bool {
        let Some(sig) = parse_signature(&self.signature) else {
            return false;
        };
        key.verify(
            &signing_message(self.seq, &self.head_hash, &self.time),
            &sig,
        )
        .is_ok()
    }
}

fn signing_message(seq: u64, head_hash: &str, time: &str) -> Vec<u8> {
    let mut msg =
        Vec::with_capacity(CHECKPOINT_DOMAIN.len() + 8 + 16 + head_hash.len() + time.len());
    msg.extend_from_slice(CHECKPOINT_DOMAIN);
    msg.extend_from_slice(&seq.to_be_bytes());
    for part in [head_hash, time] {
        msg.extend_from_slice(&(part.len() as u64).to_be_bytes());
        msg.extend_from_slice(part.as_bytes());
    }
    msg
}

/// Parses a hex ed25519 signature.
pub(crate) fn parse_signature(text: &str) -> Option<Signature> {
    let bytes: [u8; 64] = hex::decode(text).ok()?.try_into().ok()?;
    Some(Signature::from_bytes(&bytes))
}

/// What reading `checkpoint.sig` found.
#[derive(Debug)]
pub(crate) enum FileState {
    Absent,
    /// Present but not a checkpoint file; the reason says why.
    Unreadable(String),
    Present(CheckpointFile),
}

/// Reads `checkpoint.sig`.
pub(crate) fn read_file(dir: &Path) -> Result<FileState, AuditError> {
    let path = dir.join(CHECKPOINT_FILE);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileState::Absent),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            return Ok(FileState::Unreadable("not UTF-8".to_owned()));
        }
        Err(e) => return Err(AuditError::io(&path, e)),
    };
    Ok(match serde_json::from_str::<CheckpointFile>(&text) {
        Ok(file) => FileState::Present(file),
        Err(e) => FileState::Unreadable(e.to_string()),
    })
}

/// Replaces `checkpoint.sig` atomically with `checkpoint`, unless the file
/// already holds a newer one (another process appended meanwhile).
pub(crate) fn write_file(
    dir: &Path,
    public_key: &VerifyingKey,
    checkpoint: &Checkpoint,
) -> Result<(), AuditError> {
    if let Ok(FileState::Present(existing)) = read_file(dir)
        && existing.checkpoint.seq > checkpoint.seq
    {
        return Ok(());
    }
    let file = CheckpointFile {
        format: 1,
        public_key: key::public_hex(public_key),
        checkpoint: checkpoint.clone(),
    };
    let mut text = serde_json::to_string_pretty(&file).map_err(|e| AuditError::Io {
        path: dir.join(CHECKPOINT_FILE),
        source: std::io::Error::other(e),
    })?;
    text.push('\n');
    let tmp = dir.join(format!(
        ".{CHECKPOINT_FILE}.{}.{}.tmp",
        std::process::id(),
        key::unique_suffix()
    ));
    let written = fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(text.as_bytes())?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(AuditError::io(&tmp, e));
    }
    if let Err(e) = fs::rename(&tmp, dir.join(CHECKPOINT_FILE)) {
        let _ = fs::remove_file(&tmp);
        return Err(AuditError::io(&dir.join(CHECKPOINT_FILE), e));
    }
    // No fsync of the directory: if the rename is lost in a crash, the
    // previous head stays, which is stale but valid.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_covers_every_field() {
        let key = SigningKey::from_bytes(&[1u8; 32]);
        let vk = key.verifying_key();
        let cp = Checkpoint::sign(&key, 5, "ab", "2026-01-01T00:00:00Z".to_owned());
        assert!(cp.signature_valid(&vk));
        let mut other = cp.clone();
        other.seq = 6;
        assert!(!other.signature_valid(&vk));
        let mut other = cp.clone();
        other.head_hash = "ac".to_owned();
        assert!(!other.signature_valid(&vk));
        let mut other = cp.clone();
        other.time = "2026-01-01T00:00:01Z".to_owned();
        assert!(!other.signature_valid(&vk));
        let stranger = SigningKey::from_bytes(&[2u8; 32]).verifying_key();
        assert!(!cp.signature_valid(&stranger));
    }

    #[test]
    fn file_never_goes_backwards() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::from_bytes(&[1u8; 32]);
        let vk = key.verifying_key();
        let newer = Checkpoint::sign(&key, 9, "aa", "t".to_owned());
        let older = Checkpoint::sign(&key, 3, "bb", "t".to_owned());
        write_file(dir.path(), &vk, &newer).unwrap();
        write_file(dir.path(), &vk, &older).unwrap();
        let FileState::Present(file) = read_file(dir.path()).unwrap() else {
            panic!("checkpoint file missing");
        };
        assert_eq!(file.checkpoint, newer);
    }
}
