//! The database underneath the log: schema, creation, raw rows, and the
//! small helpers around them (retries on "busy", leftover temporary files).

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::checkpoint::{self, Checkpoint};
use crate::error::AuditError;
use crate::event::{self, EventRecord};
use crate::key;

/// On-disk format written by this build (`meta.format`).
const FORMAT: &str = "1";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq       INTEGER PRIMARY KEY,
    time      TEXT NOT NULL,
    actor     TEXT NOT NULL,
    kind      TEXT NOT NULL,
    subject   TEXT NOT NULL,
    decision  TEXT NOT NULL,
    details   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL,
    signature TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS checkpoints (
    seq       INTEGER PRIMARY KEY,
    head_hash TEXT NOT NULL,
    time      TEXT NOT NULL,
    signature TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS events_append_only_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_append_only_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_append_only_update BEFORE UPDATE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_append_only_delete BEFORE DELETE ON checkpoints
    BEGIN SELECT RAISE(ABORT, 'audit checkpoints are append-only'); END;
";

/// One `events` row exactly as stored (text columns read leniently, so a
/// tampered column type is reported by verify rather than failing the read).
#[derive(Debug, Clone)]
pub(crate) struct RawRow {
    pub seq: i64,
    pub time: String,
    pub actor: String,
    pub kind: String,
    pub subject: String,
    pub decision: String,
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
    pub signature: String,
}

impl RawRow {
    pub(crate) fn into_record(self) -> EventRecord {
        let details =
            serde_json::from_str(&self.details).unwrap_or(serde_json::Value::String(self.details));
        EventRecord {
            seq: u64::try_from(self.seq).unwrap_or(0),
            time: self.time,
            actor: self.actor,
            kind: self.kind,
            subject: self.subject,
            decision: self.decision,
            details,
            prev_hash: self.prev_hash,
            hash: self.hash,
            signature: self.signature,
        }
    }
}

pub(crate) fn raw_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawRow> {
    Ok(RawRow {
        seq: r.get(0)?,
        time: text(r, 1)?,
        actor: text(r, 2)?,
        kind: text(r, 3)?,
        subject: text(r, 4)?,
        decision: text(r, 5)?,
        details: text(r, 6)?,
        prev_hash: text(r, 7)?,
        hash: text(r, 8)?,
        signature: text(r, 9)?,
    })
}

/// A column as text whatever its stored type.
pub(crate) fn text(r: &rusqlite::Row<'_>, idx: usize) -> rusqlite::Result<String> {
    use rusqlite::types::ValueRef;
    Ok(match r.get_ref(idx)? {
        ValueRef::Null => String::new(),
        ValueRef::Integer(i) => i.to_string(),
        ValueRef::Real(f) => f.to_string(),
        ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
    })
}

pub(crate) fn insert_checkpoint(
    tx: &rusqlite::Transaction<'_>,
    cp: &Checkpoint,
    seq_sql: i64,
) -> rusqlite::Result<usize> {
    tx.execute(
        "INSERT OR IGNORE INTO checkpoints (seq, head_hash, time, signature) VALUES (?1, ?2, ?3, ?4)",
        params![seq_sql, cp.head_hash, cp.time, cp.signature],
    )
}

/// Creates the schema and records the public key, once. Returns the
/// recorded public key (hex).
///
/// Everything happens inside one `IMMEDIATE` transaction, in an order that
/// leaves nothing a reader could take for tampering: a new key is written to a
/// temporary file, the schema and the public key are inserted, the empty log's
/// signed head (`checkpoint.sig` at seq 0) is written, the transaction
/// commits, and only then does the key become `audit.key`. A reader sees
/// either no log (nothing committed) or a log with its head file.
///
/// Refuses ([`AuditError::LogDeleted`]) to start a log in a directory that
/// still holds `audit.key`, or a `checkpoint.sig` past seq 0, without a
/// database that records them: the log was deleted, and a new one would hide
/// it.
pub(crate) fn init_schema(
    conn: &Connection,
    dir: &Path,
    db_path: &Path,
    busy_ms: u64,
    hook: Option<fn(&str)>,
) -> Result<String, AuditError> {
    let sql = |e| AuditError::sqlite(db_path, e, busy_ms);
    if let Some(public) = read_meta(conn, db_path, busy_ms)? {
        return Ok(public);
    }
    let step = |name: &str| {
        if let Some(hook) = hook {
            hook(name);
        }
    };
    conn.execute_batch("BEGIN IMMEDIATE").map_err(sql)?;
    step("locked");
    let created = (|| {
        // Another process may have created the log since the look above.
        if let Some(public) = read_meta(conn, db_path, busy_ms)? {
            return Ok((public, None));
        }
        refuse_leftovers(dir, db_path)?;
        let pending = key::PendingKey::create(dir)?;
        let public = key::public_hex(&pending.key.verifying_key());
        let insert = || -> rusqlite::Result<()> {
            conn.execute_batch(SCHEMA)?;
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('format', ?1)",
                [FORMAT],
            )?;
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('public_key', ?1)",
                [&public],
            )?;
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('created', ?1)",
                [now_rfc3339()],
            )?;
            Ok(())
        };
        if let Err(e) = insert() {
            pending.discard();
            return Err(sql(e));
        }
        step("schema-written");
        // The empty log's head: a checkpoint at seq 0 over the genesis hash,
        // so deleting every event is detected like any other truncation.
        let genesis = hex::encode(event::genesis_hash(pending.key.verifying_key().as_bytes()));
        let cp = Checkpoint::sign(&pending.key, 0, &genesis, now_rfc3339());
        if let Err(e) = checkpoint::write_file(dir, &pending.key.verifying_key(), &cp) {
            pending.discard();
            return Err(e);
        }
        step("head-written");
        if let Err(e) = conn.execute_batch("COMMIT") {
            pending.discard();
            return Err(sql(e));
        }
        Ok((public, Some(pending)))
    })();
    let (public, pending) = match created {
        Ok(done) => done,
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
    };
    if let Some(pending) = pending {
        step("committed");
        pending.install(dir)?;
    } else {
        let _ = conn.execute_batch("COMMIT");
    }
    Ok(public)
}

/// [`AuditError::LogDeleted`] when `dir` holds what only a log leaves behind:
/// `audit.key`, or a `checkpoint.sig` that is unreadable or past seq 0.
pub(crate) fn refuse_leftovers(dir: &Path, db_path: &Path) -> Result<(), AuditError> {
    if let Some(found) = leftover(dir)? {
        return Err(AuditError::LogDeleted {
            path: db_path.to_path_buf(),
            dir: dir.to_path_buf(),
            found,
        });
    }
    Ok(())
}

/// What a deleted log left behind in `dir`, described, if anything.
pub(crate) fn leftover(dir: &Path) -> Result<Option<String>, AuditError> {
    if key::exists(dir) {
        return Ok(Some(format!("`{}`", key::KEY_FILE)));
    }
    Ok(match checkpoint::read_file(dir)? {
        checkpoint::FileState::Present(file) if file.checkpoint.seq > 0 => Some(format!(
            "`{}` covering event {}",
            checkpoint::CHECKPOINT_FILE,
            file.checkpoint.seq
        )),
        checkpoint::FileState::Unreadable(_) => {
            Some(format!("an unreadable `{}`", checkpoint::CHECKPOINT_FILE))
        }
        _ => None,
    })
}

/// The recorded public key, after checking the format; `None` for a
/// database without the `meta` table or key.
pub(crate) fn read_meta(
    conn: &Connection,
    db_path: &Path,
    busy_ms: u64,
) -> Result<Option<String>, AuditError> {
    let sql = |e| AuditError::sqlite(db_path, e, busy_ms);
    let has_meta: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta')",
            [],
            |r| r.get(0),
        )
        .map_err(sql)?;
    if !has_meta {
        return Ok(None);
    }
    let get = |k: &str| -> Result<Option<String>, AuditError> {
        conn.query_row("SELECT value FROM meta WHERE key = ?1", [k], |r| r.get(0))
            .optional()
            .map_err(sql)
    };
    if let Some(found) = get("format")?
        && found != FORMAT
    {
        return Err(AuditError::UnsupportedFormat {
            path: db_path.to_path_buf(),
            found,
            expected: FORMAT.to_owned(),
        });
    }
    get("public_key")
}

/// Temporary files older than this were abandoned by a process that died
/// mid-write (writing one takes milliseconds).
const ABANDONED_AFTER: Duration = Duration::from_mins(10);

/// Removes `.checkpoint.sig.*.tmp` and `.audit.key.*.tmp` files left by
/// processes killed mid-write. Best effort: a file that cannot be removed
/// stays, and verification never reads these files anyway.
pub(crate) fn remove_abandoned_temp_files(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefixes = [
        format!(".{}.", checkpoint::CHECKPOINT_FILE),
        format!(".{}.", key::KEY_FILE),
    ];
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.ends_with(".tmp") && prefixes.iter().any(|p| name.starts_with(p.as_str()))) {
            continue;
        }
        let abandoned = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > ABANDONED_AFTER);
        if abandoned {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Runs `attempt` again while it fails with [`AuditError::Locked`], for up to
/// `timeout`. the `SQLite` busy handler covers most waits, but not all: while
/// another process creates the database or recovers its WAL index, some
/// steps (switching to WAL, reading the schema) report "busy" at once. A
/// failed attempt has rolled back, so trying again is safe.
pub(crate) fn retry_while_locked<T>(
    timeout: Duration,
    mut attempt: impl FnMut() -> Result<T, AuditError>,
) -> Result<T, AuditError> {
    let start = std::time::Instant::now();
    loop {
        match attempt() {
            Err(AuditError::Locked { .. }) if start.elapsed() < timeout => {
                // A little jitter so two waiting processes do not collide again.
                let pause = 5 + rand::random::<u64>() % 20;
                std::thread::sleep(Duration::from_millis(pause));
            }
            other => return other,
        }
    }
}

/// Parses a stored hex hash.
pub(crate) fn parse_hash(text: &str) -> Option<[u8; 32]> {
    hex::decode(text).ok()?.try_into().ok()
}

/// Now, RFC 3339 UTC.
pub(crate) fn now_rfc3339() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}
