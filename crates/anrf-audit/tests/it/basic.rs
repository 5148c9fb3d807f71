//! The API on an untampered log.

use anrf_audit::{
    AuditError, AuditLog, Decision, EventFilter, EventKind, LogOptions, NewEvent, ProblemKind,
};
use serde_json::json;

use crate::support::{Fixture, event, event_hash, event_signature, raw_db, rows};

#[test]
fn append_assigns_sequence_numbers_and_chains_hashes() {
    let home = tempfile::tempdir().unwrap();
    let mut log = AuditLog::open(&home.path().join("audit")).unwrap();
    let a = log.append(&event(1)).unwrap();
    let b = log.append(&event(2)).unwrap();
    assert_eq!((a.seq, b.seq), (1, 2));
    assert_eq!(b.prev_hash, a.hash);
    assert_eq!(a.hash.len(), 64);
    assert_eq!(a.signature.len(), 128);
    assert!(
        time::OffsetDateTime::parse(&a.time, &time::format_description::well_known::Rfc3339)
            .is_ok()
    );
    assert!(a.time.ends_with('Z'), "{}", a.time);
    let report = log.verify().unwrap();
    assert!(report.is_intact(), "{report:#?}");
    assert_eq!(report.events, 2);
    assert_eq!(report.head.unwrap().hash, b.hash);
    assert_eq!(report.public_key, log.public_key_hex());
}

#[test]
fn open_creates_db_key_and_signed_empty_head() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("a").join("audit");
    let log = AuditLog::open(&dir).unwrap();
    for name in ["audit.db", "audit.key", "checkpoint.sig"] {
        assert!(dir.join(name).is_file(), "{name} missing");
    }
    let report = log.verify().unwrap();
    assert!(report.is_intact(), "{report:#?}");
    assert_eq!((report.events, report.latest_checkpoint), (0, Some(0)));
    let mode: String = raw_db(&dir)
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

/// The sequence number `checkpoint.sig` covers.
fn head_file_seq(dir: &std::path::Path) -> u64 {
    let file: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("checkpoint.sig")).unwrap()).unwrap();
    file["seq"].as_u64().unwrap()
}

#[test]
fn a_deferred_head_file_is_written_on_flush_and_on_drop() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("audit");
    let mut log = LogOptions::new().defer_head_file(true).open(&dir).unwrap();
    log.append(&event(1)).unwrap();
    log.append(&event(2)).unwrap();
    // Both events are committed; only the external head waits.
    assert_eq!(head_file_seq(&dir), 0);
    let report = AuditLog::open_existing(&dir).unwrap().verify().unwrap();
    assert!(report.is_intact(), "{report:#?}");
    assert_eq!(report.events, 2);
    log.flush_head().unwrap();
    assert_eq!(head_file_seq(&dir), 2);

    log.append(&event(3)).unwrap();
    assert_eq!(head_file_seq(&dir), 2);
    drop(log);
    assert_eq!(head_file_seq(&dir), 3);
    let report = AuditLog::open_existing(&dir).unwrap().verify().unwrap();
    assert!(report.is_intact(), "{report:#?}");
}

#[test]
fn empty_log_with_its_head_file_deleted_is_not_intact() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("audit");
    AuditLog::open(&dir).unwrap();
    std::fs::remove_file(dir.join("checkpoint.sig")).unwrap();
    let report = AuditLog::open_existing(&dir).unwrap().verify().unwrap();
    assert_eq!(
        report.problem.map(|p| p.kind),
        Some(ProblemKind::CheckpointFileMissing)
    );
}

#[test]
fn open_existing_on_a_missing_log_is_not_found_and_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("audit");
    let err = AuditLog::open_existing(&dir).unwrap_err();
    assert!(matches!(err, AuditError::NotFound { .. }), "{err:?}");
    assert!(err.to_string().contains("audit.db"), "{err}");
    assert!(!dir.exists());
}

#[test]
fn details_are_stored_canonically_and_read_back_equal() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("audit");
    let mut log = AuditLog::open(&dir).unwrap();
    let details = json!({"z": 1, "a": {"y": [1, 2], "b": "ü"}});
    let rec = log
        .append(
            &NewEvent::new(EventKind::Gen, "bob", "orders", Decision::Info)
                .with_details(details.clone()),
        )
        .unwrap();
    assert_eq!(rec.details, details);
    let stored = &rows(&raw_db(&dir))[0];
    assert_eq!(stored.details, r#"{"a":{"b":"ü","y":[1,2]},"z":1}"#);
    let listed = log.events(&EventFilter::default()).unwrap();
    assert_eq!(listed, vec![rec]);
}

#[test]
fn events_filter_by_kind_and_limit_keep_ascending_order() {
    let fx = Fixture::new(12);
    let log = AuditLog::open_existing(&fx.dir).unwrap();
    let last3: Vec<u64> = log
        .events(&EventFilter {
            kind: None,
            limit: Some(3),
        })
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(last3, [10, 11, 12]);
    let runs: Vec<u64> = log
        .events(&EventFilter {
            kind: Some(EventKind::Run),
            limit: None,
        })
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(runs, [5, 10]);
}

#[test]
fn export_writes_one_json_object_per_event() {
    let fx = Fixture::new(5);
    let log = AuditLog::open_existing(&fx.dir).unwrap();
    let mut out = Vec::new();
    assert_eq!(log.export_jsonl(&mut out).unwrap(), 5);
    let text = String::from_utf8(out).unwrap();
    let parsed: Vec<anrf_audit::EventRecord> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(parsed, log.events(&EventFilter::default()).unwrap());
    assert_eq!(parsed[0].event_kind(), Some(EventKind::Verify));
}

#[test]
fn checkpoint_on_request_covers_the_head_and_is_idempotent() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("audit");
    let mut log = LogOptions::new().checkpoint_every(0).open(&dir).unwrap();
    assert_eq!(log.checkpoint().unwrap(), None);
    let head = log.append(&event(1)).unwrap();
    let cp = log.checkpoint().unwrap().unwrap();
    assert_eq!((cp.seq, cp.head_hash.as_str()), (1, head.hash.as_str()));
    assert_eq!(log.checkpoint().unwrap(), Some(cp));
    let report = log.verify().unwrap();
    assert!(report.is_intact(), "{report:#?}");
    assert_eq!(report.checkpoints, 1);
}

#[test]
fn missing_key_refuses_to_append_but_still_verifies() {
    let fx = Fixture::new(3);
    std::fs::remove_file(fx.file("audit.key")).unwrap();
    let mut log = AuditLog::open(&fx.dir).unwrap();
    let err = log.append(&event(4)).unwrap_err();
    assert!(matches!(err, AuditError::MissingKey { .. }), "{err:?}");
    assert!(!fx.file("audit.key").exists(), "a new key must not be made");
    assert!(log.verify().unwrap().is_intact());
}

#[test]
fn replaced_key_refuses_to_append_and_fails_verify() {
    let fx = Fixture::new(3);
    let other = tempfile::tempdir().unwrap();
    AuditLog::open(other.path()).unwrap();
    std::fs::copy(other.path().join("audit.key"), fx.file("audit.key")).unwrap();
    let mut log = AuditLog::open(&fx.dir).unwrap();
    let err = log.append(&event(4)).unwrap_err();
    assert!(matches!(err, AuditError::KeyMismatch { .. }), "{err:?}");
    let problem = log.verify().unwrap().problem.unwrap();
    assert!(
        matches!(problem.kind, ProblemKind::KeyMismatch { .. }),
        "{problem:?}"
    );
}

#[test]
fn kind_unknown_to_this_build_still_verifies_and_lists() {
    // An event written by a newer build, signed with the log's own key.
    use ed25519_dalek::pkcs8::DecodePrivateKey;
    let fx = Fixture::new(2);
    let pem = std::fs::read_to_string(fx.file("audit.key")).unwrap();
    let key = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem).unwrap();
    let conn = fx.db();
    let mut row = rows(&conn)[1].clone();
    row.seq = 3;
    row.kind = "future_kind".to_owned();
    row.prev_hash = row.hash.clone();
    row.hash = event_hash(&row.prev_hash, &row);
    row.signature = event_signature(&key, &row.hash);
    conn.execute(
        "INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        rusqlite::params![
            row.seq,
            row.time,
            row.actor,
            row.kind,
            row.subject,
            row.decision,
            row.details,
            row.prev_hash,
            row.hash,
            row.signature
        ],
    )
    .unwrap();
    let log = AuditLog::open_existing(&fx.dir).unwrap();
    let report = log.verify().unwrap();
    // Intact up to the external head, which a newer build would have moved.
    assert!(report.is_intact(), "{report:#?}");
    let listed = log.events(&EventFilter::default()).unwrap();
    assert_eq!(listed[2].kind, "future_kind");
    assert_eq!(listed[2].event_kind(), None);
}

#[test]
fn threads_with_their_own_connections_append_without_gaps() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("audit");
    AuditLog::open(&dir).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                let mut log = AuditLog::open(&dir).unwrap();
                for i in 0..25 {
                    log.append(&event(t * 100 + i)).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let log = AuditLog::open_existing(&dir).unwrap();
    let report = log.verify().unwrap();
    assert!(report.is_intact(), "{report:#?}");
    assert_eq!(report.events, 100);
    assert_eq!(
        report.checkpoints,
        100 / anrf_audit::DEFAULT_CHECKPOINT_EVERY
    );
}
