//! Concurrency and failure: real processes appending at once, a process
//! killed mid-append, full and read-only storage.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use anrf_audit::{
    AuditError, AuditLog, EventFilter, LogOptions, Recorded, Requirement, record, record_with,
};

use crate::support::event;

const APPEND: &str = env!("CARGO_BIN_EXE_anrf-audit-append");

fn verify_intact(dir: &Path) -> anrf_audit::VerifyReport {
    let report = AuditLog::open_existing(dir).unwrap().verify().unwrap();
    assert!(report.is_intact(), "{report:#?}");
    report
}

#[test]
fn two_processes_appending_at_once_leave_one_valid_chain() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("audit");
    // Both start on a directory that does not exist yet: they also race to
    // create the database and the key.
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(APPEND)
                .arg(&dir)
                .arg("60")
                .arg("5")
                .stdout(Stdio::null())
                .spawn()
                .unwrap()
        })
        .collect();
    let pids: Vec<u32> = children.iter().map(std::process::Child::id).collect();
    for mut child in children {
        assert!(child.wait().unwrap().success());
    }
    let report = verify_intact(&dir);
    assert_eq!(report.events, 120);
    let events = AuditLog::open_existing(&dir)
        .unwrap()
        .events(&EventFilter::default())
        .unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=120).collect::<Vec<_>>());
    for pid in pids {
        let mine = events
            .iter()
            .filter(|e| e.actor == format!("pid:{pid}"))
            .count();
        assert_eq!(mine, 60, "events of process {pid}");
    }
}

#[test]
fn process_killed_mid_append_leaves_a_log_that_verifies() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("audit");
    // Kill at several points; checkpoint rows every 3 events so kills also
    // land around checkpoint writes and `checkpoint.sig` replacement.
    let mut total = 0;
    for kill_after in [7u64, 23, 40] {
        let mut child = Command::new(APPEND)
            .arg(&dir)
            .arg("0")
            .arg("3")
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut seen = 0;
        for line in BufReader::new(stdout).lines() {
            let _ = line.unwrap();
            seen += 1;
            if seen == kill_after {
                break;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let report = verify_intact(&dir);
        assert!(report.events >= total + kill_after, "{report:#?}");
        total = report.events;
    }
    // The log goes on after the crashes.
    let mut log = AuditLog::open(&dir).unwrap();
    let rec = log.append(&event(1)).unwrap();
    assert_eq!(rec.seq, total + 1);
    verify_intact(&dir);
    // No stale temporary file is mistaken for the checkpoint.
    assert!(dir.join("checkpoint.sig").is_file());
}

#[test]
fn process_killed_inside_the_append_transaction_loses_only_that_event() {
    // The helper's test hook prints `inside N` from inside the transaction of
    // event N (row written, not committed) and sleeps there: the kill lands
    // inside the transaction every time, not by luck of timing.
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("audit");
    let mut committed = 0;
    for (round, pause_at) in [(1u64, 5u64), (2, 3), (3, 4)] {
        // checkpoint rows every 2 events: some kills land after a checkpoint
        // row was written in the same transaction
        let mut child = Command::new(APPEND)
            .arg(&dir)
            .arg("0")
            .arg("2")
            .env(
                "ANRF_AUDIT_TEST_HOOK_INSIDE_APPEND",
                (committed + pause_at).to_string(),
            )
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let mut appended = Vec::new();
        let inside = loop {
            let line = lines.next().expect("the helper stopped early").unwrap();
            if let Some(seq) = line.strip_prefix("inside ") {
                break seq.parse::<u64>().unwrap();
            }
            appended.push(line);
        };
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(inside, committed + pause_at, "round {round}");
        assert_eq!(appended.len() as u64, pause_at - 1, "round {round}");
        // the event whose transaction was cut is absent, every earlier one intact
        let report = verify_intact(&dir);
        assert_eq!(report.events, inside - 1, "round {round}: {report:#?}");
        committed = report.events;
    }
    // the next append takes the sequence number the killed one did not get
    let mut log = AuditLog::open(&dir).unwrap();
    assert_eq!(log.append(&event(1)).unwrap().seq, committed + 1);
    verify_intact(&dir);
}

/// Makes the existing log in `dir` unwritable. Returns how, and a guard that
/// undoes it. Permission bits stop everyone but root; as root (where `chmod`
/// stops nothing) a directory is put where `SQLite`'s write-ahead log file
/// (`audit.db-wal`) must be created, which stops root too.
fn make_unwritable(dir: &Path) -> (&'static str, Box<dyn FnOnce()>) {
    use std::os::unix::fs::PermissionsExt as _;
    let db = dir.join("audit.db");
    // a closed log leaves no -wal/-shm behind (SQLite removes them on close)
    for extra in ["audit.db-wal", "audit.db-shm"] {
        let _ = std::fs::remove_file(dir.join(extra));
    }
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o400)).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o500)).unwrap();
    let probe = dir.join("probe");
    if std::fs::write(&probe, b"x").is_err() {
        let (dir, db) = (dir.to_path_buf(), db.clone());
        return (
            "permissions",
            Box::new(move || {
                std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
                std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).unwrap();
            }),
        );
    }
    // running as root: permissions do not apply
    std::fs::remove_file(&probe).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o600)).unwrap();
    let wal = dir.join("audit.db-wal");
    std::fs::create_dir(&wal).unwrap();
    (
        "a directory in place of audit.db-wal",
        Box::new(move || std::fs::remove_dir(&wal).unwrap()),
    )
}

#[cfg(unix)]
#[test]
fn existing_log_that_became_unwritable_is_a_clear_error_and_keeps_its_events() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("audit");
    {
        let mut log = AuditLog::open(&dir).unwrap();
        for i in 1..=3 {
            log.append(&event(i)).unwrap();
        }
    }
    let (how, undo) = make_unwritable(&dir);
    let err = record(&dir, &event(4), Requirement::Required).unwrap_err();
    assert!(err.is_write_failure(), "{how}: {err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("audit.db") && msg.contains("nothing was recorded"),
        "{how}: {msg}"
    );
    match how {
        "permissions" => assert!(matches!(err, AuditError::ReadOnly { .. }), "{err:?}"),
        _ => assert!(matches!(err, AuditError::CannotOpen { .. }), "{err:?}"),
    }
    let skipped = record(&dir, &event(4), Requirement::BestEffort).unwrap();
    assert!(matches!(skipped, Recorded::Skipped(_)), "{how}");
    undo();
    assert_eq!(verify_intact(&dir).events, 3, "{how}");
    assert!(matches!(
        record(&dir, &event(4), Requirement::Required).unwrap(),
        Recorded::Appended(_)
    ));
}

#[test]
fn full_disk_is_a_clear_error_and_nothing_half_written() {
    // A full disk is simulated with the log's size cap (SQLite
    // `max_page_count`), which fails the write with SQLITE_FULL exactly as
    // ENOSPC does.
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("audit");
    let mut opts = LogOptions::new();
    opts.max_size_bytes(64 * 1024);
    let mut log = opts.open(&dir).unwrap();
    let big =
        |i: u64| event(i).with_details(serde_json::json!({ "pad": "x".repeat(4000), "i": i }));
    let mut appended = 0;
    let err = loop {
        match log.append(&big(appended + 1)) {
            Ok(_) => appended += 1,
            Err(e) => break e,
        }
        assert!(appended < 1000, "the size cap never hit");
    };
    assert!(matches!(err, AuditError::DiskFull { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("audit.db") && msg.contains("disk is full"),
        "{msg}"
    );
    assert!(msg.contains("nothing was recorded"), "{msg}");
    drop(log);
    let report = verify_intact(&dir);
    assert_eq!(report.events, appended);

    // A caller that must record stops; one that may go on gets the error back.
    let err = record_with(&opts, &dir, &big(0), Requirement::Required).unwrap_err();
    assert!(err.is_write_failure(), "{err:?}");
    let skipped = record_with(&opts, &dir, &big(0), Requirement::BestEffort).unwrap();
    assert!(matches!(
        skipped,
        Recorded::Skipped(AuditError::DiskFull { .. })
    ));
    assert_eq!(verify_intact(&dir).events, appended);
}

#[test]
fn directory_that_cannot_be_created_is_a_clear_error() {
    // Tests may run as root, where permission bits do not stop writes: a
    // regular file where the directory should be stops everyone.
    let home = tempfile::tempdir().unwrap();
    std::fs::write(home.path().join("blocker"), "a file").unwrap();
    let dir = home.path().join("blocker").join("audit");
    let err = record(&dir, &event(1), Requirement::Required).unwrap_err();
    assert!(matches!(err, AuditError::CreateDir { .. }), "{err:?}");
    assert!(err.is_write_failure());
    let msg = err.to_string();
    assert!(
        msg.contains("blocker/audit") && msg.contains("ANRF_HOME"),
        "{msg}"
    );
}

#[cfg(target_os = "linux")]
#[test]
fn read_only_file_system_is_a_clear_error() {
    // sysfs refuses new directories to every user, root included.
    let err = record(
        Path::new("/sys/anrf-audit-test/audit"),
        &event(1),
        Requirement::Required,
    )
    .unwrap_err();
    assert!(matches!(err, AuditError::ReadOnly { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("/sys/anrf-audit-test") && msg.contains("read-only"),
        "{msg}"
    );
}

#[test]
fn database_that_is_not_a_database_is_an_error_not_a_panic() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("audit");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("audit.db"), vec![0x55u8; 8192]).unwrap();
    let err = AuditLog::open(&dir).unwrap_err();
    assert!(err.to_string().contains("audit.db"), "{err}");
}

#[test]
fn lock_held_past_the_busy_timeout_is_a_clear_error() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("audit");
    AuditLog::open(&dir).unwrap();
    // Another writer holds the lock and does not let go.
    let holder = rusqlite::Connection::open(dir.join("audit.db")).unwrap();
    holder.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut opts = LogOptions::new();
    opts.busy_timeout(std::time::Duration::from_millis(50));
    let mut log = opts.open(&dir).unwrap();
    let err = log.append(&event(1)).unwrap_err();
    assert!(matches!(err, AuditError::Locked { .. }), "{err:?}");
    assert!(err.is_write_failure());
    assert!(err.to_string().contains("locked"), "{err}");
    holder.execute_batch("ROLLBACK").unwrap();
    assert_eq!(log.append(&event(1)).unwrap().seq, 1);
}

#[test]
fn processes_racing_to_create_the_log_all_record() {
    // Creating the database and switching it to WAL is where SQLite answers
    // "busy" without waiting; race it a few times.
    for round in 0..8 {
        let home = tempfile::tempdir().unwrap();
        let dir = home.path().join("audit");
        let children: Vec<_> = (0..3)
            .map(|_| {
                Command::new(APPEND)
                    .arg(&dir)
                    .arg("2")
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert_eq!(verify_intact(&dir).events, 6, "round {round}");
    }
}

#[test]
fn temporary_files_abandoned_by_a_killed_process_are_cleaned_up() {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("audit");
    AuditLog::open(&dir).unwrap();
    let old = dir.join(".checkpoint.sig.4242.1.tmp");
    let fresh = dir.join(".checkpoint.sig.4243.2.tmp");
    let unrelated = dir.join("notes.tmp");
    for path in [&old, &fresh, &unrelated] {
        std::fs::write(path, "{").unwrap();
    }
    let an_hour_ago = std::time::SystemTime::now() - std::time::Duration::from_hours(1);
    for path in [&old, &unrelated] {
        std::fs::File::options()
            .write(true)
            .open(path)
            .unwrap()
            .set_modified(an_hour_ago)
            .unwrap();
    }
    AuditLog::open(&dir).unwrap();
    assert!(!old.exists(), "an abandoned temporary file stays");
    assert!(
        fresh.exists(),
        "a file another process may be writing was removed"
    );
    assert!(unrelated.exists(), "a file that is not ours was removed");
    verify_intact(&dir);
}
