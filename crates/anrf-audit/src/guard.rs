//! The check before an append in the `test` and `prod` profiles
//! ([`LogOptions::check_before_append`](crate::LogOptions::check_before_append)):
//! cheap enough for every append (a few indexed lookups, one small file, three
//! signature checks; it never walks the chain), and sound for what it covers:
//!
//! - the log's key is the pinned one, when a key is pinned;
//! - the last event is intact: its hash recomputes from its fields, its
//!   signature is the log key's, and it links to the event before it (or to
//!   the genesis hash);
//! - `checkpoint.sig` exists, is signed by the log's key, names the log's
//!   key, covers an event the log still has, and that event's hash is the one
//!   it signed;
//! - the newest row of the `checkpoints` table is signed by the log's key and
//!   agrees with the chain the same way.
//!
//! What only `anrf audit verify` finds: an event changed, removed or inserted
//! before the last one and not at a checkpointed position, an older checkpoint
//! row forged, and anything a witness shows (a rollback of the whole
//! directory to an older copy).

use std::path::Path;

use ed25519_dalek::{Verifier, VerifyingKey};
use rusqlite::{Connection, OptionalExtension};

use crate::checkpoint::{self, Checkpoint, FileState};
use crate::error::AuditError;
use crate::event::{self, HashedFields};
use crate::key;
use crate::store::{RawRow, parse_hash, raw_row, text};

/// `Err(AuditError::Unsound)` naming the first thing found wrong.
pub(crate) fn check_head(
    conn: &Connection,
    dir: &Path,
    db_path: &Path,
    public: &VerifyingKey,
    pinned: Option<&str>,
    busy_ms: u64,
) -> Result<(), AuditError> {
    let sql = |e| AuditError::sqlite(db_path, e, busy_ms);
    let unsound = |reason: String| {
        Err(AuditError::Unsound {
            path: db_path.to_path_buf(),
            reason,
        })
    };
    let own = key::public_hex(public);
    if let Some(pinned) = pinned
        && pinned.trim().to_ascii_lowercase() != own
    {
        return unsound(format!(
            "the log's key `{}` is not the pinned key `{}`: the log was replaced or re-keyed",
            short(&own),
            short(pinned.trim())
        ));
    }
    let genesis = hex::encode(event::genesis_hash(public.as_bytes()));
    let last: Option<RawRow> = conn
        .query_row(
            "SELECT seq, time, actor, kind, subject, decision, details, prev_hash, hash, signature
             FROM events ORDER BY seq DESC LIMIT 1",
            [],
            raw_row,
        )
        .optional()
        .map_err(sql)?;
    let last_seq = match &last {
        None => 0,
        Some(row) => {
            if let Err(reason) = last_row_intact(conn, row, public, &genesis).map_err(sql)? {
                return unsound(reason);
            }
            u64::try_from(row.seq).unwrap_or(0)
        }
    };
    let hash_at = |seq: u64| -> Result<Option<String>, AuditError> {
        if seq == 0 {
            return Ok(Some(genesis.clone()));
        }
        let Ok(seq) = i64::try_from(seq) else {
            return Ok(None);
        };
        conn.query_row("SELECT hash FROM events WHERE seq = ?1", [seq], |r| {
            text(r, 0)
        })
        .optional()
        .map_err(sql)
    };
    let agrees = |cp: &Checkpoint, name: &str| -> Result<Result<(), String>, AuditError> {
        if !cp.signature_valid(public) {
            return Ok(Err(format!(
                "checkpoint {} ({name}) is not signed by the log's key",
                cp.seq
            )));
        }
        if cp.seq > last_seq {
            return Ok(Err(format!(
                "checkpoint {} ({name}) covers event {}, but the log ends at event {last_seq}: the tail was deleted",
                cp.seq, cp.seq
            )));
        }
        if hash_at(cp.seq)?.as_deref() != Some(cp.head_hash.as_str()) {
            return Ok(Err(format!(
                "event {} differs from the one checkpoint {} ({name}) signed: the chain was rewritten",
                cp.seq, cp.seq
            )));
        }
        Ok(Ok(()))
    };
    match checkpoint::read_file(dir)? {
        FileState::Absent => {
            return unsound(format!(
                "`{}` is missing: the external checkpoint was deleted",
                checkpoint::CHECKPOINT_FILE
            ));
        }
        FileState::Unreadable(detail) => {
            return unsound(format!(
                "`{}` is not a checkpoint file ({detail})",
                checkpoint::CHECKPOINT_FILE
            ));
        }
        FileState::Present(file) => {
            if file.public_key != own {
                return unsound(format!(
                    "`{}` names key `{}`, not the log's key `{}`",
                    checkpoint::CHECKPOINT_FILE,
                    short(&file.public_key),
                    short(&own)
                ));
            }
            if let Err(reason) = agrees(&file.checkpoint, checkpoint::CHECKPOINT_FILE)? {
                return unsound(reason);
            }
        }
    }
    let newest_row: Option<Checkpoint> = conn
        .query_row(
            "SELECT seq, head_hash, time, signature FROM checkpoints ORDER BY seq DESC LIMIT 1",
            [],
            |r| {
                let seq: i64 = r.get(0)?;
                Ok(Checkpoint {
                    seq: u64::try_from(seq).unwrap_or(u64::MAX),
                    head_hash: text(r, 1)?,
                    time: text(r, 2)?,
                    signature: text(r, 3)?,
                })
            },
        )
        .optional()
        .map_err(sql)?;
    if let Some(cp) = newest_row
        && let Err(reason) = agrees(&cp, "table")?
    {
        return unsound(reason);
    }
    Ok(())
}

/// Whether the last event is intact: `Ok(Err(why))` when it is not.
fn last_row_intact(
    conn: &Connection,
    row: &RawRow,
    public: &VerifyingKey,
    genesis: &str,
) -> rusqlite::Result<Result<(), String>> {
    let Ok(seq) = u64::try_from(row.seq) else {
        return Ok(Err(format!(
            "the last event has sequence number {}",
            row.seq
        )));
    };
    if seq == 0 {
        return Ok(Err("the last event has sequence number 0".to_owned()));
    }
    let expected_prev = if seq == 1 {
        Some(genesis.to_owned())
    } else {
        conn.query_row(
            "SELECT hash FROM events WHERE seq = ?1",
            [row.seq - 1],
            |r| text(r, 0),
        )
        .optional()?
    };
    if expected_prev.as_deref() != Some(row.prev_hash.as_str()) {
        return Ok(Err(format!(
            "event {seq}, the last one, does not link to event {}",
            seq - 1
        )));
    }
    let fields = HashedFields {
        seq,
        time: &row.time,
        actor: &row.actor,
        kind: &row.kind,
        subject: &row.subject,
        decision: &row.decision,
        details: &row.details,
    };
    let prev = parse_hash(&row.prev_hash).unwrap_or([0; 32]);
    let computed = event::event_hash(&prev, &fields);
    if hex::encode(computed) != row.hash {
        return Ok(Err(format!(
            "event {seq}, the last one, does not match its hash"
        )));
    }
    let signed = checkpoint::parse_signature(&row.signature).is_some_and(|sig| {
        public
            .verify(&event::event_signing_message(&computed), &sig)
            .is_ok()
    });
    if !signed {
        return Ok(Err(format!(
            "event {seq}, the last one, is not signed by the log's key"
        )));
    }
    Ok(Ok(()))
}

fn short(hex: &str) -> &str {
    hex.get(..16).unwrap_or(hex)
}
