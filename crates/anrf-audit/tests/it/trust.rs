//! Trust roots outside the audit directory: a pinned key and a witness. The
//! three attacks that verified before (a wipe keeping the key, a rewrite
//! under a new key, a rollback to an older copy), what each gives now, the
//! strict witness parser, the check before an append, and verify racing the
//! log's creation.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use anrf_audit::{
    AuditError, AuditLog, CheckpointSource, LogOptions, Problem, ProblemKind, Recorded,
    Requirement, VerifyOptions, VerifyReport, Witness, record, record_with, verify_dir,
};

use crate::support::{Fixture, event, rechain_from};

fn witness_of(dir: &Path) -> Witness {
    let (report, witness) = AuditLog::open_existing(dir)
        .unwrap()
        .witness(&VerifyOptions::default())
        .unwrap();
    assert!(report.is_intact(), "{report:#?}");
    witness.unwrap()
}

fn with_witness(dir: &Path, witness: &Witness) -> VerifyReport {
    verify_dir(
        dir,
        &VerifyOptions {
            pinned_key: None,
            witness: Some(witness.clone()),
        },
    )
    .unwrap()
}

fn with_pin(dir: &Path, pinned: &str) -> VerifyReport {
    verify_dir(
        dir,
        &VerifyOptions {
            pinned_key: Some(pinned.to_owned()),
            witness: None,
        },
    )
    .unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn witness_is_the_verified_head_and_round_trips() {
    let fx = Fixture::new(10);
    let witness = witness_of(&fx.dir);
    assert_eq!(witness.checkpoint().seq, 10);
    assert_eq!(witness.public_key(), fx.verify().public_key);
    let path = fx.dir.parent().unwrap().join("witness.json");
    std::fs::write(&path, witness.to_json()).unwrap();
    assert_eq!(Witness::read(&path).unwrap(), witness);
    // A copy of `checkpoint.sig` is a witness too.
    assert_eq!(Witness::read(&fx.file("checkpoint.sig")).unwrap(), witness);
    let report = with_witness(&fx.dir, &witness);
    assert!(report.is_intact(), "{report:#?}");
    assert_eq!(report.witnessed.map(|h| h.seq), Some(10));
    // The log grows past its witness: still intact.
    let mut log = AuditLog::open(&fx.dir).unwrap();
    log.append(&event(11)).unwrap();
    drop(log);
    assert!(with_witness(&fx.dir, &witness).is_intact());
}

#[test]
fn no_witness_of_a_tampered_log() {
    let fx = Fixture::new(10);
    fx.db()
        .execute("UPDATE events SET actor = 'mallory' WHERE seq = 3", [])
        .unwrap();
    let (report, witness) = AuditLog::open_existing(&fx.dir)
        .unwrap()
        .witness(&VerifyOptions::default())
        .unwrap();
    assert!(!report.is_intact());
    assert!(witness.is_none());
}

#[test]
fn wipe_of_the_whole_directory_is_caught_by_the_witness_and_the_pin() {
    // Everything deleted, key included: the next command starts a new log
    // with a new key, which verifies on its own.
    let fx = Fixture::new(10);
    let witness = witness_of(&fx.dir);
    let pinned = witness.public_key().to_owned();
    std::fs::remove_dir_all(&fx.dir).unwrap();
    // With no log at all, the witness says one was there.
    let report = with_witness(&fx.dir, &witness);
    assert!(
        matches!(
            report.problem.as_ref().map(|p| &p.kind),
            Some(ProblemKind::LogDeleted { found }) if found.contains("witness of event 10")
        ),
        "{report:#?}"
    );
    let mut log = AuditLog::open(&fx.dir).unwrap();
    log.append(&event(1)).unwrap();
    drop(log);
    assert!(
        verify_dir(&fx.dir, &VerifyOptions::default())
            .unwrap()
            .is_intact()
    );
    assert!(matches!(
        with_witness(&fx.dir, &witness).problem,
        Some(Problem {
            seq: None,
            kind: ProblemKind::WitnessKeyMismatch { .. }
        })
    ));
    assert!(matches!(
        with_pin(&fx.dir, &pinned).problem,
        Some(Problem {
            seq: None,
            kind: ProblemKind::UnexpectedKey { .. }
        })
    ));
}

#[test]
fn history_rewritten_under_a_new_key_is_caught_by_the_witness_and_the_pin() {
    // The attacker rebuilds the whole history under a key of their own and
    // deletes `audit.key`: every link, signature and checkpoint is valid, so
    // the log verifies by itself (the documented limit). The pinned key and
    // the witness both name the old key.
    let fx = Fixture::new(10);
    let witness = witness_of(&fx.dir);
    let pinned = witness.public_key().to_owned();
    let rewritten = fx.dir.parent().unwrap().join("rewritten");
    let mut log = LogOptions::new()
        .checkpoint_every(4)
        .open(&rewritten)
        .unwrap();
    for i in 1..=10 {
        log.append(&event(i)).unwrap();
    }
    drop(log);
    std::fs::remove_dir_all(&fx.dir).unwrap();
    copy_dir(&rewritten, &fx.dir);
    std::fs::remove_file(fx.file("audit.key")).unwrap();
    assert!(fx.verify().is_intact());
    assert_eq!(
        with_witness(&fx.dir, &witness).problem,
        Some(Problem {
            seq: None,
            kind: ProblemKind::WitnessKeyMismatch {
                witness_public_key: pinned.clone()
            },
        })
    );
    assert_eq!(
        with_pin(&fx.dir, &pinned).problem,
        Some(Problem {
            seq: None,
            kind: ProblemKind::UnexpectedKey {
                expected: pinned.clone()
            },
        })
    );
    // And with the attacker's key put back as `audit.key`, a command in
    // `test`/`prod` that pins the key refuses to extend the log.
    std::fs::copy(rewritten.join("audit.key"), fx.file("audit.key")).unwrap();
    let err = record_with(
        LogOptions::new().pinned_key(Some(&pinned)),
        &fx.dir,
        &event(11),
        Requirement::Required,
    )
    .unwrap_err();
    assert!(matches!(err, AuditError::Unsound { .. }), "{err:?}");
    assert!(err.to_string().contains("pinned key"), "{err}");
}

#[test]
fn rollback_to_an_older_copy_is_caught_by_the_witness() {
    // A genuine older copy of the whole directory (database, key, head file)
    // verifies by itself; the witness of a later head does not let it pass.
    let fx = Fixture::new(5);
    let backup = fx.dir.parent().unwrap().join("backup");
    copy_dir(&fx.dir, &backup);
    let mut log = AuditLog::open(&fx.dir).unwrap();
    for i in 6..=10 {
        log.append(&event(i)).unwrap();
    }
    drop(log);
    let witness = witness_of(&fx.dir);
    std::fs::remove_dir_all(&fx.dir).unwrap();
    copy_dir(&backup, &fx.dir);
    assert!(fx.verify().is_intact());
    assert_eq!(
        with_witness(&fx.dir, &witness).problem,
        Some(Problem {
            seq: Some(6),
            kind: ProblemKind::Truncated {
                checkpoint: 10,
                last_event: 5,
                source: CheckpointSource::Witness,
            },
        })
    );
    // Extended past the witnessed head after the rollback: event 10 is not
    // the witnessed one.
    let mut log = AuditLog::open(&fx.dir).unwrap();
    for i in 6..=12 {
        log.append(&event(i)).unwrap();
    }
    drop(log);
    assert!(fx.verify().is_intact());
    assert_eq!(
        with_witness(&fx.dir, &witness).problem,
        Some(Problem {
            seq: Some(10),
            kind: ProblemKind::CheckpointMismatch {
                checkpoint: 10,
                source: CheckpointSource::Witness,
            },
        })
    );
}

#[test]
fn rollback_to_the_empty_log_is_caught_by_the_witness() {
    // A fresh chain under the same key (what a wipe keeping `audit.key`
    // gave before, and what someone holding the key can still build by hand)
    // is a rollback to seq 0.
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("audit");
    drop(AuditLog::open(&dir).unwrap());
    let empty = home.path().join("empty");
    copy_dir(&dir, &empty);
    let mut log = AuditLog::open(&dir).unwrap();
    for i in 1..=3 {
        log.append(&event(i)).unwrap();
    }
    drop(log);
    let witness = witness_of(&dir);
    std::fs::remove_dir_all(&dir).unwrap();
    copy_dir(&empty, &dir);
    let report = with_witness(&dir, &witness);
    assert_eq!(
        report.problem,
        Some(Problem {
            seq: Some(1),
            kind: ProblemKind::Truncated {
                checkpoint: 3,
                last_event: 0,
                source: CheckpointSource::Witness,
            },
        }),
        "{report:#?}"
    );
}

#[test]
fn hostile_witness_files_are_refused_with_a_reason() {
    let fx = Fixture::new(3);
    let good = witness_of(&fx.dir).to_json();
    let value: serde_json::Value = serde_json::from_str(&good).unwrap();
    let dir = fx.dir.parent().unwrap().to_path_buf();
    let edited = |f: &dyn Fn(&mut serde_json::Map<String, serde_json::Value>)| {
        let mut v = value.clone();
        f(v.as_object_mut().unwrap());
        serde_json::to_string(&v).unwrap()
    };
    let cases: Vec<(&str, String)> = vec![
        ("not JSON", "garbage".to_owned()),
        ("empty", String::new()),
        ("an array", "[1,2]".to_owned()),
        (
            "an unknown field",
            edited(&|o| {
                o.insert("extra".into(), 1.into());
            }),
        ),
        (
            "a missing field",
            edited(&|o| {
                o.remove("signature");
            }),
        ),
        (
            "another format",
            edited(&|o| {
                o.insert("format".into(), 2.into());
            }),
        ),
        (
            "an uppercase key",
            edited(&|o| {
                let k = o["public_key"].as_str().unwrap().to_uppercase();
                o.insert("public_key".into(), k.into());
            }),
        ),
        (
            "a short hash",
            edited(&|o| {
                o.insert("head_hash".into(), "abcd".into());
            }),
        ),
        (
            "a negative seq",
            edited(&|o| {
                o.insert("seq".into(), (-1).into());
            }),
        ),
        (
            "a huge seq",
            edited(&|o| {
                o.insert("seq".into(), u64::MAX.into());
            }),
        ),
        (
            "a changed seq (bad signature)",
            edited(&|o| {
                o.insert("seq".into(), 2.into());
            }),
        ),
        (
            "a bad time",
            edited(&|o| {
                o.insert("time".into(), "yesterday".into());
            }),
        ),
        (
            "escape codes in a field",
            edited(&|o| {
                o.insert("time".into(), "\u{1b}[2J".into());
            }),
        ),
        (
            "a duplicate field",
            good.replacen("\"seq\"", "\"seq\": 1, \"seq\"", 1),
        ),
        (
            "deep nesting",
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        ),
        ("too large", format!("{good}{}", " ".repeat(5000))),
    ];
    for (what, text) in cases {
        let path = dir.join("w.json");
        std::fs::write(&path, &text).unwrap();
        let err = Witness::read(&path).unwrap_err();
        assert!(matches!(err, AuditError::Witness { .. }), "{what}: {err:?}");
        assert!(err.to_string().contains("w.json"), "{what}: {err}");
    }
    #[cfg(unix)]
    {
        let link = dir.join("zero.json");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let err = Witness::read(&link).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        let err = Witness::read(Path::new("/dev/zero"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("device"), "{err}");
        let fifo = dir.join("fifo.json");
        assert!(
            std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap()
                .success()
        );
        // Returns at once instead of waiting for a writer.
        let err = Witness::read(&fifo).unwrap_err().to_string();
        assert!(err.contains("FIFO"), "{err}");
    }
}

/// Each tampering the check before an append covers: `Required` refuses to
/// extend the log, `BestEffort` (dev) still appends.
#[test]
fn required_appends_refuse_a_log_that_fails_the_head_check() {
    type Tamper = fn(&Fixture);
    let cases: [(&str, Tamper); 6] = [
        ("checkpoint.sig deleted", |fx| {
            std::fs::remove_file(fx.file("checkpoint.sig")).unwrap();
        }),
        ("checkpoint.sig garbled", |fx| {
            std::fs::write(fx.file("checkpoint.sig"), "{").unwrap();
        }),
        ("last event edited", |fx| {
            fx.db()
                .execute("UPDATE events SET actor = 'mallory' WHERE seq = 10", [])
                .unwrap();
        }),
        ("tail deleted", |fx| {
            fx.db()
                .execute("DELETE FROM events WHERE seq > 8", [])
                .unwrap();
        }),
        ("last event re-chained without the key", |fx| {
            let conn = fx.db();
            conn.execute("UPDATE events SET actor = 'mallory' WHERE seq = 10", [])
                .unwrap();
            rechain_from(&conn, 10, None);
        }),
        ("head rewritten", |fx| {
            let conn = fx.db();
            conn.execute("DELETE FROM events WHERE seq > 9", [])
                .unwrap();
            drop(conn);
            std::fs::remove_file(fx.file("checkpoint.sig")).unwrap();
        }),
    ];
    for (what, tamper) in cases {
        let fx = Fixture::new(10);
        tamper(&fx);
        let err = record(&fx.dir, &event(11), Requirement::Required).unwrap_err();
        assert!(matches!(err, AuditError::Unsound { .. }), "{what}: {err:?}");
        assert!(
            err.to_string().contains("anrf audit verify"),
            "{what}: {err}"
        );
        assert!(
            matches!(
                record(&fx.dir, &event(11), Requirement::BestEffort),
                Ok(Recorded::Appended(_))
            ),
            "{what}"
        );
    }
    // An intact log takes the append, and so does the empty one.
    let fx = Fixture::new(10);
    assert!(matches!(
        record(&fx.dir, &event(11), Requirement::Required),
        Ok(Recorded::Appended(_))
    ));
    let home = tempfile::tempdir().unwrap();
    assert!(matches!(
        record(&home.path().join("audit"), &event(1), Requirement::Required),
        Ok(Recorded::Appended(_))
    ));
}

#[test]
fn head_check_does_not_walk_the_chain() {
    // The documented boundary: an edit in the middle, away from the newest
    // checkpoints, is found by `anrf audit verify`, not before an append.
    let fx = Fixture::new(10);
    fx.db()
        .execute("UPDATE events SET actor = 'mallory' WHERE seq = 6", [])
        .unwrap();
    assert!(!fx.verify().is_intact());
    assert!(matches!(
        record(&fx.dir, &event(11), Requirement::Required),
        Ok(Recorded::Appended(_))
    ));
    assert!(!fx.verify().is_intact(), "the evidence stays");
}

/// What verify said at each step of a log's creation, for the hook below.
static DURING_CREATION: Mutex<Vec<(String, String)>> = Mutex::new(Vec::new());
static CREATING_DIR: Mutex<Option<PathBuf>> = Mutex::new(None);

fn verify_during_creation(step: &str) {
    let dir = CREATING_DIR.lock().unwrap().clone().unwrap();
    let outcome = match verify_dir(&dir, &VerifyOptions::default()) {
        Ok(report) if report.is_intact() => "intact".to_owned(),
        Ok(report) => format!("tampered: {}", report.problem.unwrap()),
        Err(AuditError::NotFound { .. }) => "no log".to_owned(),
        Err(e) => format!("error: {e}"),
    };
    DURING_CREATION
        .lock()
        .unwrap()
        .push((step.to_owned(), outcome));
}

#[test]
fn verify_racing_the_creation_never_reports_tampering() {
    // The creator stops at every step of creating the log (the hook runs
    // inside its write transaction and after it) and a verify runs there, on
    // its own connection, exactly as a concurrent `anrf audit verify` would.
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("audit");
    *CREATING_DIR.lock().unwrap() = Some(dir.clone());
    let log = LogOptions::new()
        .test_hook_creating(verify_during_creation)
        .open(&dir)
        .unwrap();
    let seen = DURING_CREATION.lock().unwrap().clone();
    let steps: Vec<&str> = seen.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(
        steps,
        ["locked", "schema-written", "head-written", "committed"]
    );
    for (step, outcome) in &seen {
        let expected = if step == "committed" {
            "intact"
        } else {
            "no log"
        };
        assert_eq!(outcome, expected, "at `{step}`");
    }
    assert!(log.verify().unwrap().is_intact());
    drop(log);
    assert!(dir.join("audit.key").is_file());
}
