//! Tampering with the database (and the files beside it) the way an attacker
//! with write access would, then checking that verify names the exact first
//! bad event and the reason.
//!
//! Every fixture holds 10 events, checkpoint rows at 4 and 8 and
//! `checkpoint.sig` at 10.

use anrf_audit::{CheckpointSource, Problem, ProblemKind};
use rusqlite::params;

use crate::support::{
    Fixture, checkpoint_signature, event_hash, event_signature, rechain_from, rows, stranger_key,
};

fn expect(fx: &Fixture, seq: Option<u64>, kind: ProblemKind) {
    let report = fx.verify();
    assert_eq!(report.problem, Some(Problem { seq, kind }), "{report:#?}");
}

#[test]
fn untouched_log_is_intact() {
    let fx = Fixture::new(10);
    let report = fx.verify();
    assert!(report.is_intact(), "{report:#?}");
    assert_eq!(report.events, 10);
    assert_eq!(report.checkpoints, 2);
    assert_eq!(report.latest_checkpoint, Some(10));
}

#[test]
fn triggers_refuse_update_and_delete_without_dropping_them() {
    let fx = Fixture::new(3);
    let conn = rusqlite::Connection::open(fx.file("audit.db")).unwrap();
    let err = conn
        .execute("UPDATE events SET actor = 'mallory' WHERE seq = 2", [])
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    let err = conn
        .execute("DELETE FROM events WHERE seq = 3", [])
        .unwrap_err();
    assert!(err.to_string().contains("append-only"), "{err}");
    assert!(fx.verify().is_intact());
}

#[test]
fn modified_details_are_a_hash_mismatch_at_that_event() {
    let fx = Fixture::new(10);
    fx.db()
        .execute(
            r#"UPDATE events SET details = '{"i":5,"profile":"dev"}' WHERE seq = 5"#,
            [],
        )
        .unwrap();
    expect(&fx, Some(5), ProblemKind::HashMismatch);
}

#[test]
fn modified_decision_is_a_hash_mismatch_at_that_event() {
    let fx = Fixture::new(10);
    fx.db()
        .execute("UPDATE events SET decision = 'allow' WHERE seq = 4", [])
        .unwrap();
    // Event 4's fixture decision is `deny`, so this is a real change.
    expect(&fx, Some(4), ProblemKind::HashMismatch);
}

#[test]
fn modified_time_is_a_hash_mismatch_at_that_event() {
    let fx = Fixture::new(10);
    fx.db()
        .execute(
            "UPDATE events SET time = '2020-01-01T00:00:00Z' WHERE seq = 7",
            [],
        )
        .unwrap();
    expect(&fx, Some(7), ProblemKind::HashMismatch);
}

#[test]
fn modified_actor_is_a_hash_mismatch_at_that_event() {
    let fx = Fixture::new(10);
    fx.db()
        .execute("UPDATE events SET actor = 'mallory' WHERE seq = 2", [])
        .unwrap();
    expect(&fx, Some(2), ProblemKind::HashMismatch);
}

#[test]
fn deleted_middle_event_is_reported_missing() {
    let fx = Fixture::new(10);
    fx.db()
        .execute("DELETE FROM events WHERE seq = 5", [])
        .unwrap();
    expect(&fx, Some(5), ProblemKind::Missing { next_present: 6 });
}

#[test]
fn deleted_first_event_is_reported_missing() {
    let fx = Fixture::new(10);
    fx.db()
        .execute("DELETE FROM events WHERE seq = 1", [])
        .unwrap();
    expect(&fx, Some(1), ProblemKind::Missing { next_present: 2 });
}

#[test]
fn deleted_and_renumbered_event_breaks_the_link() {
    // Delete 5 and shift 6..10 down so the sequence has no gap.
    let fx = Fixture::new(10);
    let conn = fx.db();
    conn.execute("DELETE FROM events WHERE seq = 5", [])
        .unwrap();
    for seq in 6..=10 {
        conn.execute(
            "UPDATE events SET seq = ?1 WHERE seq = ?2",
            params![seq - 1, seq],
        )
        .unwrap();
    }
    expect(&fx, Some(5), ProblemKind::BrokenLink);
}

#[test]
fn forged_event_inserted_in_the_middle_is_not_signed() {
    // Shift 6..10 up and insert a forged event 6 that links correctly and
    // hashes correctly: only the log's key could sign it.
    let fx = Fixture::new(10);
    let conn = fx.db();
    for seq in (6..=10).rev() {
        conn.execute(
            "UPDATE events SET seq = ?1 WHERE seq = ?2",
            params![seq + 1, seq],
        )
        .unwrap();
    }
    let mut forged = rows(&conn)[4].clone();
    forged.seq = 6;
    forged.actor = "mallory".to_owned();
    forged.decision = "allow".to_owned();
    forged.prev_hash = forged.hash.clone();
    forged.hash = event_hash(&forged.prev_hash, &forged);
    forged.signature = event_signature(&stranger_key(), &forged.hash);
    conn.execute(
        "INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            forged.seq,
            forged.time,
            forged.actor,
            forged.kind,
            forged.subject,
            forged.decision,
            forged.details,
            forged.prev_hash,
            forged.hash,
            forged.signature
        ],
    )
    .unwrap();
    expect(&fx, Some(6), ProblemKind::SignatureInvalid);
}

#[test]
fn forged_event_appended_at_the_end_is_not_signed() {
    let fx = Fixture::new(10);
    let conn = fx.db();
    let mut forged = rows(&conn)[9].clone();
    forged.seq = 11;
    forged.prev_hash = forged.hash.clone();
    forged.hash = event_hash(&forged.prev_hash, &forged);
    forged.signature = "00".repeat(64);
    conn.execute(
        "INSERT INTO events VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            forged.seq,
            forged.time,
            forged.actor,
            forged.kind,
            forged.subject,
            forged.decision,
            forged.details,
            forged.prev_hash,
            forged.hash,
            forged.signature
        ],
    )
    .unwrap();
    expect(&fx, Some(11), ProblemKind::SignatureInvalid);
}

#[test]
fn swapped_events_are_reported_reordered() {
    let fx = Fixture::new(10);
    let conn = fx.db();
    conn.execute_batch(
        "UPDATE events SET seq = -3 WHERE seq = 3;
         UPDATE events SET seq = 3 WHERE seq = 4;
         UPDATE events SET seq = 4 WHERE seq = -3;",
    )
    .unwrap();
    // The row now at 3 is the old event 4, whose prev_hash is the hash of the
    // row now at 4.
    expect(&fx, Some(3), ProblemKind::Reordered { links_to: 4 });
}

#[test]
fn changed_link_is_a_broken_link() {
    let fx = Fixture::new(10);
    fx.db()
        .execute(
            "UPDATE events SET prev_hash = ?1 WHERE seq = 6",
            [&"ab".repeat(32)],
        )
        .unwrap();
    expect(&fx, Some(6), ProblemKind::BrokenLink);
}

#[test]
fn tail_truncated_behind_the_table_checkpoint() {
    let fx = Fixture::new(10);
    fx.db()
        .execute("DELETE FROM events WHERE seq >= 7", [])
        .unwrap();
    expect(
        &fx,
        Some(7),
        ProblemKind::Truncated {
            checkpoint: 8,
            last_event: 6,
            source: CheckpointSource::Table,
        },
    );
}

#[test]
fn tail_truncated_after_the_last_checkpoint_row_is_caught_by_the_file() {
    let fx = Fixture::new(10);
    fx.db()
        .execute("DELETE FROM events WHERE seq >= 9", [])
        .unwrap();
    expect(
        &fx,
        Some(9),
        ProblemKind::Truncated {
            checkpoint: 10,
            last_event: 8,
            source: CheckpointSource::File,
        },
    );
}

#[test]
fn tail_and_checkpoint_rows_deleted_are_caught_by_the_file() {
    let fx = Fixture::new(10);
    fx.db()
        .execute_batch(
            "DELETE FROM events WHERE seq >= 3;
             DELETE FROM checkpoints;",
        )
        .unwrap();
    expect(
        &fx,
        Some(3),
        ProblemKind::Truncated {
            checkpoint: 10,
            last_event: 2,
            source: CheckpointSource::File,
        },
    );
}

#[test]
fn every_event_deleted_is_a_truncation_at_event_1() {
    let fx = Fixture::new(10);
    fx.db()
        .execute_batch("DELETE FROM events; DELETE FROM checkpoints;")
        .unwrap();
    expect(
        &fx,
        Some(1),
        ProblemKind::Truncated {
            checkpoint: 10,
            last_event: 0,
            source: CheckpointSource::File,
        },
    );
}

#[test]
fn forged_checkpoint_signature_is_detected() {
    let fx = Fixture::new(10);
    let conn = fx.db();
    let sig: String = conn
        .query_row("SELECT signature FROM checkpoints WHERE seq = 8", [], |r| {
            r.get(0)
        })
        .unwrap();
    let flipped = format!(
        "{}{}",
        if sig.starts_with('0') { "1" } else { "0" },
        &sig[1..]
    );
    conn.execute(
        "UPDATE checkpoints SET signature = ?1 WHERE seq = 8",
        [flipped],
    )
    .unwrap();
    expect(
        &fx,
        Some(8),
        ProblemKind::CheckpointSignatureInvalid {
            checkpoint: 8,
            source: CheckpointSource::Table,
        },
    );
}

#[test]
fn checkpoint_signed_by_another_key_is_detected() {
    let fx = Fixture::new(10);
    let conn = fx.db();
    let (hash, time): (String, String) = conn
        .query_row(
            "SELECT head_hash, time FROM checkpoints WHERE seq = 4",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let sig = checkpoint_signature(&stranger_key(), 4, &hash, &time);
    conn.execute("UPDATE checkpoints SET signature = ?1 WHERE seq = 4", [sig])
        .unwrap();
    expect(
        &fx,
        Some(4),
        ProblemKind::CheckpointSignatureInvalid {
            checkpoint: 4,
            source: CheckpointSource::Table,
        },
    );
}

#[test]
fn chain_recomputed_after_an_edit_without_the_key_is_detected_at_the_edit() {
    // The attacker edits event 5 and recomputes every later link and hash
    // (plain SHA-256, no secret needed), re-signing with their own key.
    let fx = Fixture::new(10);
    let conn = fx.db();
    conn.execute("UPDATE events SET decision = 'allow' WHERE seq = 5", [])
        .unwrap();
    rechain_from(&conn, 5, Some(&stranger_key()));
    expect(&fx, Some(5), ProblemKind::SignatureInvalid);
}

#[test]
fn chain_recomputed_keeping_old_signatures_is_detected_at_the_edit() {
    let fx = Fixture::new(10);
    let conn = fx.db();
    conn.execute("UPDATE events SET subject = 'sha256:00' WHERE seq = 9", [])
        .unwrap();
    rechain_from(&conn, 9, None);
    expect(&fx, Some(9), ProblemKind::SignatureInvalid);
}

#[test]
fn checkpoint_moved_to_another_event_does_not_match() {
    // A genuine checkpoint row re-labelled to cover another event is caught
    // by its signature, which covers the sequence number.
    let fx = Fixture::new(10);
    let conn = fx.db();
    conn.execute(
        "UPDATE checkpoints SET head_hash = (SELECT hash FROM events WHERE seq = 3) WHERE seq = 4",
        [],
    )
    .unwrap();
    expect(
        &fx,
        Some(4),
        ProblemKind::CheckpointSignatureInvalid {
            checkpoint: 4,
            source: CheckpointSource::Table,
        },
    );
}

#[test]
fn tampered_checkpoint_file_is_detected() {
    let fx = Fixture::new(10);
    let path = fx.file("checkpoint.sig");
    let mut file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    file["seq"] = serde_json::json!(12);
    std::fs::write(&path, serde_json::to_string_pretty(&file).unwrap()).unwrap();
    expect(
        &fx,
        Some(12),
        ProblemKind::CheckpointSignatureInvalid {
            checkpoint: 12,
            source: CheckpointSource::File,
        },
    );
}

#[test]
fn deleted_checkpoint_file_is_detected() {
    let fx = Fixture::new(10);
    std::fs::remove_file(fx.file("checkpoint.sig")).unwrap();
    expect(&fx, None, ProblemKind::CheckpointFileMissing);
}

#[test]
fn garbage_checkpoint_file_is_detected() {
    let fx = Fixture::new(10);
    std::fs::write(fx.file("checkpoint.sig"), "{}").unwrap();
    let report = fx.verify();
    let problem = report.problem.unwrap();
    assert_eq!(problem.seq, None);
    assert!(
        matches!(problem.kind, ProblemKind::CheckpointFileUnreadable { .. }),
        "{problem:?}"
    );
}

#[test]
fn log_rekeyed_by_the_attacker_is_caught_by_the_key_file() {
    // Full rewrite with the attacker's key: meta key, every signature, every
    // checkpoint and the file. The key file beside the log still differs.
    let fx = Fixture::new(10);
    let conn = fx.db();
    let mallory = stranger_key();
    let public = hex::encode(mallory.verifying_key().as_bytes());
    conn.execute(
        "UPDATE meta SET value = ?1 WHERE key = 'public_key'",
        [&public],
    )
    .unwrap();
    // Genesis is bound to the public key, so the whole chain is recomputed.
    let mut genesis = <sha2::Sha256 as sha2::Digest>::new();
    sha2::Digest::update(&mut genesis, b"anrf-audit-genesis-v1\0");
    sha2::Digest::update(&mut genesis, mallory.verifying_key().as_bytes());
    let genesis = hex::encode(sha2::Digest::finalize(genesis));
    conn.execute("UPDATE events SET prev_hash = ?1 WHERE seq = 1", [&genesis])
        .unwrap();
    rechain_from(&conn, 1, Some(&mallory));
    let cps: Vec<(i64, String)> = {
        let mut stmt = conn.prepare("SELECT seq, time FROM checkpoints").unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    for (seq, time) in cps {
        let hash: String = conn
            .query_row("SELECT hash FROM events WHERE seq = ?1", [seq], |r| {
                r.get(0)
            })
            .unwrap();
        let sig = checkpoint_signature(&mallory, u64::try_from(seq).unwrap(), &hash, &time);
        conn.execute(
            "UPDATE checkpoints SET head_hash = ?1, signature = ?2 WHERE seq = ?3",
            params![hash, sig, seq],
        )
        .unwrap();
    }
    std::fs::remove_file(fx.file("checkpoint.sig")).unwrap();
    let report = fx.verify();
    assert_eq!(
        report
            .problem
            .map(|p| (p.seq, matches!(p.kind, ProblemKind::KeyMismatch { .. }))),
        Some((None, true))
    );
    assert_eq!(report.public_key, public);
}

#[test]
fn problems_read_as_sentences() {
    let fx = Fixture::new(10);
    fx.db()
        .execute("DELETE FROM events WHERE seq = 5", [])
        .unwrap();
    let problem = fx.verify().problem.unwrap();
    assert_eq!(
        problem.to_string(),
        "event 5 is missing (the next stored event is 6): events were deleted"
    );
}

#[test]
fn chain_rewritten_with_the_log_key_still_disagrees_with_its_checkpoints() {
    // Even someone holding `audit.key` who rewrites events and re-signs them
    // is caught by the checkpoints they did not also re-sign.
    use ed25519_dalek::pkcs8::DecodePrivateKey;
    let fx = Fixture::new(10);
    let pem = std::fs::read_to_string(fx.file("audit.key")).unwrap();
    let key = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem).unwrap();
    let conn = fx.db();
    conn.execute("UPDATE events SET actor = 'mallory' WHERE seq = 6", [])
        .unwrap();
    rechain_from(&conn, 6, Some(&key));
    expect(
        &fx,
        Some(8),
        ProblemKind::CheckpointMismatch {
            checkpoint: 8,
            source: CheckpointSource::Table,
        },
    );
}

#[test]
fn dropped_events_table_is_a_truncation_at_event_1() {
    let fx = Fixture::new(10);
    fx.db().execute_batch("DROP TABLE events;").unwrap();
    expect(
        &fx,
        Some(1),
        ProblemKind::Truncated {
            checkpoint: 4,
            last_event: 0,
            source: CheckpointSource::Table,
        },
    );
}

#[test]
fn deleted_database_is_not_recreated_under_the_old_key() {
    // The attacker deletes `audit.db` and `checkpoint.sig` and keeps
    // `audit.key`. Before, the next command started a fresh chain under the
    // same key, which verified (even against the pinned key). Now the next
    // command refuses to start a log there, and verify says what happened.
    let fx = Fixture::new(10);
    let pinned = fx.verify().public_key;
    for name in ["audit.db", "audit.db-wal", "audit.db-shm", "checkpoint.sig"] {
        let _ = std::fs::remove_file(fx.file(name));
    }
    let err = anrf_audit::AuditLog::open(&fx.dir).unwrap_err();
    assert!(
        matches!(err, anrf_audit::AuditError::LogDeleted { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("mv "), "{err}");
    let ev = crate::support::event(1);
    for requirement in [
        anrf_audit::Requirement::Required,
        anrf_audit::Requirement::BestEffort,
    ] {
        assert!(!matches!(
            anrf_audit::record(&fx.dir, &ev, requirement),
            Ok(anrf_audit::Recorded::Appended(_))
        ));
    }
    assert!(!fx.file("audit.db").exists() || fx.file("audit.key").exists());
    let report = anrf_audit::verify_dir(
        &fx.dir,
        &anrf_audit::VerifyOptions {
            pinned_key: Some(pinned),
            witness: None,
        },
    )
    .unwrap();
    assert_eq!(
        report.problem,
        Some(Problem {
            seq: None,
            kind: ProblemKind::LogDeleted {
                found: "`audit.key`".to_owned()
            },
        })
    );
    // Keeping `checkpoint.sig` instead of the key is the same refusal.
    let fx = Fixture::new(10);
    for name in ["audit.db", "audit.db-wal", "audit.db-shm", "audit.key"] {
        let _ = std::fs::remove_file(fx.file(name));
    }
    let err = anrf_audit::AuditLog::open(&fx.dir).unwrap_err();
    assert!(err.to_string().contains("covering event 10"), "{err}");
    // And an empty database put in its place, too.
    let fx = Fixture::new(3);
    std::fs::write(fx.file("audit.db"), b"").unwrap();
    for name in ["audit.db-wal", "audit.db-shm", "checkpoint.sig"] {
        let _ = std::fs::remove_file(fx.file(name));
    }
    assert!(matches!(
        anrf_audit::AuditLog::open(&fx.dir),
        Err(anrf_audit::AuditError::LogDeleted { .. })
    ));
    assert!(matches!(
        fx.verify().problem.map(|p| p.kind),
        Some(ProblemKind::LogDeleted { .. })
    ));
}

#[test]
fn evidence_survives_later_appends() {
    // Appending after tampering does not overwrite the external head that
    // shows it: verify keeps failing until someone looks.
    let fx = Fixture::new(10);
    std::fs::remove_file(fx.file("checkpoint.sig")).unwrap();
    let mut log = anrf_audit::AuditLog::open(&fx.dir).unwrap();
    log.append(&crate::support::event(11)).unwrap();
    expect(&fx, None, ProblemKind::CheckpointFileMissing);

    let fx = Fixture::new(10);
    fx.db()
        .execute("DELETE FROM events WHERE seq >= 9", [])
        .unwrap();
    let mut log = anrf_audit::AuditLog::open(&fx.dir).unwrap();
    for i in 9..=12 {
        log.append(&crate::support::event(i)).unwrap();
    }
    // The new event 10 is not the one the external head signed.
    expect(
        &fx,
        Some(10),
        ProblemKind::CheckpointMismatch {
            checkpoint: 10,
            source: CheckpointSource::File,
        },
    );
}

#[test]
fn whole_log_replaced_is_caught_by_a_pinned_key() {
    // Database, key and checkpoint file all replaced by a fresh log: only a
    // key pinned elsewhere tells.
    let fx = Fixture::new(3);
    let pinned = fx.verify().public_key;
    std::fs::remove_dir_all(&fx.dir).unwrap();
    let mut log = anrf_audit::AuditLog::open(&fx.dir).unwrap();
    log.append(&crate::support::event(1)).unwrap();
    assert!(log.verify().unwrap().is_intact());
    let report = log.verify_pinned(&pinned).unwrap();
    assert_eq!(
        report.problem,
        Some(Problem {
            seq: None,
            kind: ProblemKind::UnexpectedKey { expected: pinned },
        })
    );
    let own = log.public_key_hex().to_uppercase();
    assert!(log.verify_pinned(&own).unwrap().is_intact());
}

#[test]
fn garbled_recorded_key_is_a_key_mismatch() {
    let fx = Fixture::new(3);
    fx.db()
        .execute("UPDATE meta SET value = 'zz' WHERE key = 'public_key'", [])
        .unwrap();
    let report = fx.verify();
    let problem = report.problem.unwrap();
    assert_eq!(problem.seq, None);
    assert!(
        matches!(problem.kind, ProblemKind::KeyMismatch { .. }),
        "{problem:?}"
    );
    let err = anrf_audit::AuditLog::open(&fx.dir)
        .unwrap()
        .append(&crate::support::event(4))
        .unwrap_err();
    assert!(
        matches!(err, anrf_audit::AuditError::KeyMismatch { .. }),
        "{err:?}"
    );
}
