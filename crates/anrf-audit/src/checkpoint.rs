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
use crate::fsread::{self, ReadError};
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
    /// A witness kept outside the audit directory (`anrf audit verify --witness`).
    Witness,
}

/// The most bytes `checkpoint.sig` or a witness file may have (a real one is
/// about 400).
pub const MAX_CHECKPOINT_FILE_BYTES: u64 = 4096;

/// The format of `checkpoint.sig` and of a witness file, as written: one flat
/// JSON object, every field required, nothing else allowed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileFormat {
    format: u32,
    public_key: String,
    seq: u64,
    head_hash: String,
    time: String,
    signature: String,
}

/// `checkpoint.sig` on disk: the checkpoint plus the signer's public key, so
/// a copy kept elsewhere says which log it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CheckpointFile {
    pub public_key: String,
    pub checkpoint: Checkpoint,
}

impl CheckpointFile {
    fn to_json(&self) -> String {
        let file = FileFormat {
            format: 1,
            public_key: self.public_key.clone(),
            seq: self.checkpoint.seq,
            head_hash: self.checkpoint.head_hash.clone(),
            time: self.checkpoint.time.clone(),
            signature: self.checkpoint.signature.clone(),
        };
        let mut text = serde_json::to_string_pretty(&file).unwrap_or_default();
        text.push('\n');
        text
    }

    fn from_json(bytes: &[u8]) -> Result<Self, String> {
        let file: FileFormat = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if file.format != 1 {
            return Err(format!(
                "format `{}` is not supported (this build reads format 1)",
                file.format
            ));
        }
        Ok(CheckpointFile {
            public_key: file.public_key,
            checkpoint: Checkpoint {
                seq: file.seq,
                head_hash: file.head_hash,
                time: file.time,
                signature: file.signature,
            },
        })
    }
}

/// A witness: a signed head of the log (`seq`, `head_hash`, `time`, the
/// signature) with the log's public key, kept outside the audit directory
/// (committed to the project, or in an external store) so that `anrf audit
/// verify --witness FILE` detects a wiped, re-keyed or rolled-back log. Its
/// format is that of `checkpoint.sig`; [`Witness::parse`] checks it strictly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    public_key: String,
    checkpoint: Checkpoint,
}

impl Witness {
    /// Parses a witness strictly: the JSON object `anrf audit witness` writes,
    /// at most [`MAX_CHECKPOINT_FILE_BYTES`], every field present and well
    /// formed, no other field, and the signature valid under its own key.
    /// `origin` names the file in errors.
    pub fn parse(bytes: &[u8], origin: &Path) -> Result<Witness, AuditError> {
        let bad = |reason: String| AuditError::Witness {
            path: origin.to_path_buf(),
            reason,
        };
        if bytes.len() as u64 > MAX_CHECKPOINT_FILE_BYTES {
            return Err(bad(format!(
                "it is {} bytes, more than the {MAX_CHECKPOINT_FILE_BYTES} bytes a witness may have",
                bytes.len()
            )));
        }
        let file = CheckpointFile::from_json(bytes).map_err(bad)?;
        let hex_field = |name: &str, value: &str, digits: usize| {
            let ok = value.len() == digits
                && value
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if ok {
                Ok(())
            } else {
                Err(bad(format!(
                    "`{name}` must be {digits} lowercase hex digits"
                )))
            }
        };
        hex_field("public_key", &file.public_key, 64)?;
        hex_field("head_hash", &file.checkpoint.head_hash, 64)?;
        hex_field("signature", &file.checkpoint.signature, 128)?;
        if i64::try_from(file.checkpoint.seq).is_err() {
            return Err(bad(format!(
                "`seq` {} is larger than any sequence number",
                file.checkpoint.seq
            )));
        }
        let time = &file.checkpoint.time;
        if time.len() > 64
            || time::OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339)
                .is_err()
        {
            return Err(bad("`time` must be an RFC 3339 time".to_owned()));
        }
        let Some(public) = key::parse_public_hex(&file.public_key) else {
            return Err(bad("`public_key` is not an ed25519 public key".to_owned()));
        };
        if !file.checkpoint.signature_valid(&public) {
            return Err(bad(
                "its signature is not valid under its own `public_key`: it was altered".to_owned(),
            ));
        }
        Ok(Witness {
            public_key: file.public_key,
            checkpoint: file.checkpoint,
        })
    }

    /// Reads and parses the witness file at `path` (a regular file, a final
    /// symlink not followed, at most [`MAX_CHECKPOINT_FILE_BYTES`]).
    pub fn read(path: &Path) -> Result<Witness, AuditError> {
        let bytes = fsread::read_bounded(path, MAX_CHECKPOINT_FILE_BYTES).map_err(|e| {
            AuditError::Witness {
                path: path.to_path_buf(),
                reason: e.to_string(),
            }
        })?;
        Witness::parse(&bytes, path)
    }

    pub(crate) fn new(public_key: String, checkpoint: Checkpoint) -> Witness {
        Witness {
            public_key,
            checkpoint,
        }
    }

    /// The log's public key, lowercase hex.
    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// The signed head.
    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    /// The witness as the file `anrf audit witness` writes (pretty JSON and a
    /// final newline), which [`Witness::parse`] reads back.
    pub fn to_json(&self) -> String {
        CheckpointFile {
            public_key: self.public_key.clone(),
            checkpoint: self.checkpoint.clone(),
        }
        .to_json()
    }
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

/// Reads `checkpoint.sig` (bounded, a regular file, a symlink not followed).
pub(crate) fn read_file(dir: &Path) -> Result<FileState, AuditError> {
    let path = dir.join(CHECKPOINT_FILE);
    let bytes = match fsread::read_bounded(&path, MAX_CHECKPOINT_FILE_BYTES) {
        Ok(bytes) => bytes,
        Err(ReadError::NotFound) => return Ok(FileState::Absent),
        Err(ReadError::Io(e)) => return Err(AuditError::io(&path, e)),
        Err(other) => return Ok(FileState::Unreadable(other.to_string())),
    };
    Ok(match CheckpointFile::from_json(&bytes) {
        Ok(file) => FileState::Present(file),
        Err(reason) => FileState::Unreadable(reason),
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
    let text = CheckpointFile {
        public_key: key::public_hex(public_key),
        checkpoint: checkpoint.clone(),
    }
    .to_json();
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

    const TIME: &str = "2026-11-23T12:00:00Z";

    fn signing_key() -> SigningKey {
        SigningKey::from_bytes(&[1u8; 32])
    }

    /// The witness file of a checkpoint at `seq`, signed by [`signing_key`].
    fn witness_json(seq: u64, time: &str) -> String {
        let key = signing_key();
        let cp = Checkpoint::sign(&key, seq, &"ab".repeat(32), time.to_owned());
        Witness::new(key::public_hex(&key.verifying_key()), cp).to_json()
    }

    fn parse(text: &str) -> Result<Witness, String> {
        Witness::parse(text.as_bytes(), Path::new("head.json")).map_err(|e| e.to_string())
    }

    /// `text` with its fields' values replaced: `(field, new JSON value)`.
    fn with_field(text: &str, field: &str, value: &str) -> String {
        let mut v: serde_json::Value = serde_json::from_str(text).unwrap();
        v[field] = serde_json::from_str(value).unwrap();
        v.to_string()
    }

    #[test]
    fn witness_round_trips_and_names_its_key() {
        let text = witness_json(7, TIME);
        let w = parse(&text).unwrap();
        assert_eq!(w.checkpoint().seq, 7);
        assert_eq!(
            w.public_key(),
            key::public_hex(&signing_key().verifying_key())
        );
        assert_eq!(w.to_json(), text);
        assert!(
            w.checkpoint()
                .signature_valid(&signing_key().verifying_key())
        );
    }

    #[test]
    fn witness_of_exactly_the_size_bound_is_read_and_one_byte_more_is_refused() {
        let text = witness_json(7, TIME);
        let max = usize::try_from(MAX_CHECKPOINT_FILE_BYTES).unwrap();
        let at_bound = format!("{text}{}", " ".repeat(max - text.len()));
        assert_eq!(at_bound.len(), max);
        assert!(parse(&at_bound).is_ok());
        let err = parse(&format!("{at_bound} ")).unwrap_err();
        assert!(err.contains("more than the 4096 bytes"), "{err}");
    }

    #[test]
    fn witness_with_a_time_of_exactly_64_characters_is_read_and_65_is_refused() {
        let prefix = "2026-11-23T12:00:00.";
        let time64 = format!("{prefix}{}Z", "1".repeat(64 - prefix.len() - 1));
        assert_eq!(time64.len(), 64);
        assert!(parse(&witness_json(7, &time64)).is_ok());
        let time65 = format!("{prefix}{}Z", "1".repeat(65 - prefix.len() - 1));
        let err = parse(&witness_json(7, &time65)).unwrap_err();
        assert!(err.contains("RFC 3339"), "{err}");
        let err = parse(&witness_json(7, "yesterday")).unwrap_err();
        assert!(err.contains("RFC 3339"), "{err}");
    }

    #[test]
    fn witness_fields_must_be_lowercase_hex_of_their_length() {
        let text = witness_json(7, TIME);
        for (field, value) in [
            ("public_key", format!("\"{}\"", "AB".repeat(32))),
            ("public_key", format!("\"{}\"", "ab".repeat(31))),
            ("head_hash", format!("\"{}\"", "ab".repeat(33))),
            ("head_hash", format!("\"{}\"", "xy".repeat(32))),
            ("signature", format!("\"{}\"", "ab".repeat(63))),
        ] {
            let err = parse(&with_field(&text, field, &value)).unwrap_err();
            assert!(
                err.contains(&format!("`{field}` must be")),
                "{field}: {err}"
            );
        }
    }

    #[test]
    fn witness_with_another_format_an_unknown_field_or_a_huge_seq_is_refused() {
        let text = witness_json(7, TIME);
        let err = parse(&with_field(&text, "format", "2")).unwrap_err();
        assert!(err.contains("format `2` is not supported"), "{err}");
        assert!(parse(&with_field(&text, "extra", "1")).is_err());
        let huge = witness_json(u64::MAX, TIME);
        let err = parse(&huge).unwrap_err();
        assert!(err.contains("larger than any sequence number"), "{err}");
        // The largest sequence number a log can have is accepted.
        assert!(parse(&witness_json(i64::MAX as u64, TIME)).is_ok());
    }

    #[test]
    fn witness_altered_after_signing_is_refused() {
        let text = witness_json(7, TIME);
        let err = parse(&with_field(&text, "seq", "8")).unwrap_err();
        assert!(err.contains("signature is not valid"), "{err}");
        // A key that is not a curve point: the first y that does not decompress.
        let not_a_point = (2u8..=u8::MAX)
            .map(|y| {
                let mut bytes = [0u8; 32];
                bytes[0] = y;
                bytes
            })
            .find(|b| VerifyingKey::from_bytes(b).is_err())
            .unwrap();
        let bad_key = with_field(
            &text,
            "public_key",
            &format!("\"{}\"", hex::encode(not_a_point)),
        );
        let err = parse(&bad_key).unwrap_err();
        assert!(err.contains("not an ed25519 public key"), "{err}");
    }

    #[test]
    fn checkpoint_file_absent_garbage_oversized_or_not_a_file_is_told_apart() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(read_file(dir.path()).unwrap(), FileState::Absent));
        let path = dir.path().join(CHECKPOINT_FILE);
        fs::write(&path, "not json").unwrap();
        assert!(matches!(
            read_file(dir.path()).unwrap(),
            FileState::Unreadable(_)
        ));
        let max = usize::try_from(MAX_CHECKPOINT_FILE_BYTES).unwrap();
        let text = witness_json(3, TIME);
        fs::write(&path, format!("{text}{}", " ".repeat(max - text.len()))).unwrap();
        assert!(
            matches!(read_file(dir.path()).unwrap(), FileState::Present(f) if f.checkpoint.seq == 3)
        );
        fs::write(&path, " ".repeat(max + 1)).unwrap();
        let FileState::Unreadable(why) = read_file(dir.path()).unwrap() else {
            panic!("an oversized checkpoint file must be unreadable");
        };
        assert!(why.contains("4097 bytes"), "{why}");
        fs::remove_file(&path).unwrap();
        fs::create_dir(&path).unwrap();
        assert!(matches!(
            read_file(dir.path()).unwrap(),
            FileState::Unreadable(_)
        ));
    }

    #[test]
    fn file_moves_forward_to_a_newer_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let key = signing_key();
        let vk = key.verifying_key();
        let older = Checkpoint::sign(&key, 3, "bb", "t".to_owned());
        let newer = Checkpoint::sign(&key, 9, "aa", "t".to_owned());
        write_file(dir.path(), &vk, &older).unwrap();
        write_file(dir.path(), &vk, &newer).unwrap();
        let FileState::Present(file) = read_file(dir.path()).unwrap() else {
            panic!("checkpoint file missing");
        };
        assert_eq!(file.checkpoint, newer);
        assert_eq!(file.public_key, key::public_hex(&vk));
    }

    #[test]
    fn file_at_the_same_seq_is_replaced() {
        // Only a newer checkpoint is kept over the one being written: one for the
        // same event (re-signed later, or a stale file left at that seq) is
        // replaced by the writer's.
        let dir = tempfile::tempdir().unwrap();
        let key = signing_key();
        let vk = key.verifying_key();
        let stale = Checkpoint::sign(&key, 3, "bb", "2026-11-23T12:00:00Z".to_owned());
        let fresh = Checkpoint::sign(&key, 3, "cc", "2026-11-23T12:00:01Z".to_owned());
        write_file(dir.path(), &vk, &stale).unwrap();
        write_file(dir.path(), &vk, &fresh).unwrap();
        let FileState::Present(file) = read_file(dir.path()).unwrap() else {
            panic!("checkpoint file missing");
        };
        assert_eq!(file.checkpoint, fresh);
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
