//! Shared fixtures: a populated log, raw database access for tampering, and
//! the documented hash and signature encodings re-implemented independently.

use std::path::{Path, PathBuf};

use anrf_audit::{AuditLog, Decision, EventKind, LogOptions, NewEvent, VerifyReport};
use ed25519_dalek::{Signer, SigningKey};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

/// A temporary `$ANRF_HOME` with a log of `n` events in `audit/`, a
/// checkpoint row every 4 events.
pub struct Fixture {
    _home: TempDir,
    pub dir: PathBuf,
}

impl Fixture {
    pub fn new(n: u64) -> Fixture {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("audit");
        let mut log = LogOptions::new().checkpoint_every(4).open(&dir).unwrap();
        for i in 1..=n {
            log.append(&event(i)).unwrap();
        }
        Fixture { _home: home, dir }
    }

    pub fn verify(&self) -> VerifyReport {
        AuditLog::open_existing(&self.dir)
            .unwrap()
            .verify()
            .unwrap()
    }

    /// A raw connection with the append-only triggers dropped, as an
    /// attacker with write access to the file would do first.
    pub fn db(&self) -> rusqlite::Connection {
        raw_db(&self.dir)
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

pub fn raw_db(dir: &Path) -> rusqlite::Connection {
    let conn = rusqlite::Connection::open(dir.join("audit.db")).unwrap();
    conn.busy_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS events_append_only_update;
         DROP TRIGGER IF EXISTS events_append_only_delete;
         DROP TRIGGER IF EXISTS checkpoints_append_only_update;
         DROP TRIGGER IF EXISTS checkpoints_append_only_delete;",
    )
    .unwrap();
    conn
}

/// The `i`-th fixture event: kinds and decisions vary.
pub fn event(i: u64) -> NewEvent {
    let kinds = [
        EventKind::Run,
        EventKind::Verify,
        EventKind::OverrideRequest,
        EventKind::OverrideApprove,
        EventKind::PolicyDecision,
    ];
    let decisions = [Decision::Allow, Decision::Deny, Decision::Info];
    let idx = usize::try_from(i).unwrap();
    NewEvent::new(
        kinds[idx % kinds.len()],
        "alice",
        format!("sha256:{i:064x}"),
        decisions[idx % decisions.len()],
    )
    .with_details(serde_json::json!({ "i": i, "profile": "test" }))
}

/// One stored row, as text.
#[derive(Debug, Clone)]
pub struct Row {
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

pub fn rows(conn: &rusqlite::Connection) -> Vec<Row> {
    let mut stmt = conn
        .prepare(
            "SELECT seq, time, actor, kind, subject, decision, details, prev_hash, hash, signature
             FROM events ORDER BY seq",
        )
        .unwrap();
    stmt.query_map([], |r| {
        Ok(Row {
            seq: r.get(0)?,
            time: r.get(1)?,
            actor: r.get(2)?,
            kind: r.get(3)?,
            subject: r.get(4)?,
            decision: r.get(5)?,
            details: r.get(6)?,
            prev_hash: r.get(7)?,
            hash: r.get(8)?,
            signature: r.get(9)?,
        })
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

/// The event hash as docs/audit.md specifies it.
pub fn event_hash(prev_hash_hex: &str, row: &Row) -> String {
    let mut h = Sha256::new();
    h.update(b"anrf-audit-event-v1\0");
    h.update(hex::decode(prev_hash_hex).unwrap());
    h.update(u64::try_from(row.seq).unwrap().to_be_bytes());
    for part in [
        &row.time,
        &row.actor,
        &row.kind,
        &row.subject,
        &row.decision,
        &row.details,
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// An event signature as docs/audit.md specifies it.
pub fn event_signature(key: &SigningKey, hash_hex: &str) -> String {
    let mut msg = b"anrf-audit-event-v1\0".to_vec();
    msg.extend_from_slice(&hex::decode(hash_hex).unwrap());
    hex::encode(key.sign(&msg).to_bytes())
}

/// A checkpoint signature as docs/audit.md specifies it.
pub fn checkpoint_signature(key: &SigningKey, seq: u64, head_hash: &str, time: &str) -> String {
    let mut msg = b"anrf-audit-checkpoint-v1\0".to_vec();
    msg.extend_from_slice(&seq.to_be_bytes());
    for part in [head_hash, time] {
        msg.extend_from_slice(&(part.len() as u64).to_be_bytes());
        msg.extend_from_slice(part.as_bytes());
    }
    hex::encode(key.sign(&msg).to_bytes())
}

/// A key that is not the log's.
pub fn stranger_key() -> SigningKey {
    SigningKey::from_bytes(&[42u8; 32])
}

/// Rewrites rows from `from_seq` on so every link and hash is consistent
/// again (what an attacker without the key can do), keeping old signatures
/// or signing with `key` when given.
pub fn rechain_from(conn: &rusqlite::Connection, from_seq: i64, key: Option<&SigningKey>) {
    let all = rows(conn);
    let mut prev = all
        .iter()
        .find(|r| r.seq == from_seq - 1)
        .map_or_else(|| all[0].prev_hash.clone(), |r| r.hash.clone());
    for mut row in all.into_iter().filter(|r| r.seq >= from_seq) {
        row.prev_hash = prev;
        row.hash = event_hash(&row.prev_hash, &row);
        if let Some(key) = key {
            row.signature = event_signature(key, &row.hash);
        }
        conn.execute(
            "UPDATE events SET prev_hash = ?1, hash = ?2, signature = ?3 WHERE seq = ?4",
            rusqlite::params![row.prev_hash, row.hash, row.signature, row.seq],
        )
        .unwrap();
        prev = row.hash;
    }
}
