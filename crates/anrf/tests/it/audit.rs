//! `anrf audit log`, `verify`, `export` and `checkpoint` through the real
//! binary, on a log in a temporary `ANRF_HOME`. The log is filled with the
//! library, and tampered with by editing the database file's bytes.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anrf_audit::{AuditLog, Decision, EventKind, NewEvent};

fn anrf(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_anrf"));
    cmd.env("ANRF_HOME", home).env("USER", "tester");
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

/// A home whose log holds six events with fixed actors and subjects.
fn home_with_log() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let mut log = AuditLog::open(&home.join("audit")).unwrap();
    let events = [
        (EventKind::Verify, "alice", "module-one", Decision::Allow),
        (EventKind::Run, "alice", "module-one", Decision::Allow),
        (
            EventKind::OverrideRequest,
            "bob",
            "module-three",
            Decision::Info,
        ),
        (
            EventKind::OverrideApprove,
            "carol",
            "ovr-0001",
            Decision::Allow,
        ),
        (EventKind::Run, "bob", "module-three", Decision::Violation),
        (
            EventKind::PolicyDecision,
            "ci",
            "module-two",
            Decision::Deny,
        ),
    ];
    for (kind, actor, subject, decision) in events {
        log.append(
            &NewEvent::new(kind, actor, subject, decision)
                .with_details(serde_json::json!({"profile": "test"})),
        )
        .unwrap();
    }
    drop(log);
    (tmp, home)
}

/// Snapshot settings: times, hashes, keys and temp paths vary per run.
fn settings(home: &Path) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(&regex_escape(&home.display().to_string()), "[HOME]");
    // The table's times keep their width, so the snapshot stays aligned.
    s.add_filter(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ", "YYYY-MM-DD HH:MM:SSZ");
    s.add_filter(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", "[TIME]");
    s.add_filter(r"\b[0-9a-f]{64}\b", "[HASH]");
    s.add_filter(r"\b[0-9a-f]{16}\b", "[HEX16]");
    s
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

/// Rewrites `from` to `to` (same length) in the database file, as someone
/// with a hex editor would. The log is closed, so its WAL is merged.
fn edit_db_bytes(home: &Path, from: &str, to: &str) {
    assert_eq!(from.len(), to.len());
    let db = home.join("audit").join("audit.db");
    let wal = home.join("audit").join("audit.db-wal");
    assert!(
        std::fs::metadata(&wal).map_or(true, |m| m.len() == 0),
        "the WAL was not merged"
    );
    let mut bytes = std::fs::read(&db).unwrap();
    let at = bytes
        .windows(from.len())
        .position(|w| w == from.as_bytes())
        .unwrap();
    bytes[at..at + to.len()].copy_from_slice(to.as_bytes());
    std::fs::write(&db, bytes).unwrap();
}

#[test]
fn log_prints_a_table_of_events() {
    let (_tmp, home) = home_with_log();
    let out = anrf(&home).args(["audit", "log"]).output().unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    settings(&home).bind(|| insta::assert_snapshot!("audit_log_table", text(&out.stdout)));
    let out = anrf(&home)
        .args(["audit", "log", "--limit", "2"])
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout).lines().count(), 3, "header + 2 rows");
}

#[test]
fn log_json_is_the_event_records() {
    let (_tmp, home) = home_with_log();
    let out = anrf(&home)
        .args(["audit", "log", "--json", "--kind", "run"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let events: Vec<anrf_audit::EventRecord> = serde_json::from_slice(&out.stdout).unwrap();
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, [2, 5]);
    assert_eq!(events[1].decision, "violation");
    assert_eq!(events[1].details, serde_json::json!({"profile": "test"}));
}

#[test]
fn verify_intact_log_exits_0_with_a_summary() {
    let (_tmp, home) = home_with_log();
    let out = anrf(&home).args(["audit", "verify"]).output().unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    settings(&home).bind(|| insta::assert_snapshot!("audit_verify_intact", text(&out.stdout)));
}

#[test]
fn verify_edited_event_exits_1_naming_it() {
    let (_tmp, home) = home_with_log();
    edit_db_bytes(&home, "ovr-0001", "ovr-0002");
    let out = anrf(&home).args(["audit", "verify"]).output().unwrap();
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    settings(&home).bind(|| insta::assert_snapshot!("audit_verify_edited", text(&out.stdout)));
    let out = anrf(&home)
        .args(["audit", "verify", "--json"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    settings(&home).bind(|| insta::assert_snapshot!("audit_verify_edited_json", text(&out.stdout)));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["status"], "tampered");
    assert_eq!(json["problem"]["seq"], 4);
    assert_eq!(json["problem"]["reason"], "hash_mismatch");
}

#[test]
fn verify_missing_checkpoint_file_exits_1() {
    let (_tmp, home) = home_with_log();
    std::fs::remove_file(home.join("audit").join("checkpoint.sig")).unwrap();
    let out = anrf(&home).args(["audit", "verify"]).output().unwrap();
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    settings(&home).bind(|| {
        insta::assert_snapshot!("audit_verify_checkpoint_file_missing", text(&out.stdout));
    });
}

#[test]
fn verify_forged_checkpoint_file_exits_1() {
    let (_tmp, home) = home_with_log();
    let path = home.join("audit").join("checkpoint.sig");
    let forged = std::fs::read_to_string(&path)
        .unwrap()
        .replace("\"seq\": 6", "\"seq\": 9");
    std::fs::write(&path, forged).unwrap();
    let out = anrf(&home).args(["audit", "verify"]).output().unwrap();
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    settings(&home).bind(|| {
        insta::assert_snapshot!("audit_verify_checkpoint_file_forged", text(&out.stdout));
    });
}

#[test]
fn commands_without_a_log_exit_2_and_say_where_they_looked() {
    let tmp = tempfile::tempdir().unwrap();
    for args in [
        &["audit", "verify"][..],
        &["audit", "log"],
        &["audit", "export", "--format", "jsonl"],
        &["audit", "checkpoint"],
    ] {
        let out = anrf(tmp.path()).args(args).output().unwrap();
        assert_eq!(code(&out), 2, "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains("no audit log at") && err.contains("audit.db"),
            "{err}"
        );
    }
    assert!(
        !tmp.path().join("audit").exists(),
        "reading must not create the log"
    );
}

#[test]
fn export_jsonl_matches_log_json() {
    let (tmp, home) = home_with_log();
    let out = anrf(&home)
        .args(["audit", "export", "--format", "jsonl"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let exported: Vec<serde_json::Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let listed = anrf(&home)
        .args(["audit", "log", "--json"])
        .output()
        .unwrap();
    let listed: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(exported, listed);
    assert_eq!(exported.len(), 6);

    let file = tmp.path().join("out.jsonl");
    let out = anrf(&home)
        .args(["audit", "export", "--format", "jsonl", "-o"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(std::fs::read(&file).unwrap(), {
        let again = anrf(&home)
            .args(["audit", "export", "--format", "jsonl"])
            .output()
            .unwrap();
        again.stdout
    });
    let bad = anrf(&home)
        .args(["audit", "export", "--format", "csv"])
        .output()
        .unwrap();
    assert_eq!(code(&bad), 2);
}

#[test]
fn checkpoint_records_itself_and_signs_the_head() {
    let (_tmp, home) = home_with_log();
    let out = anrf(&home).args(["audit", "checkpoint"]).output().unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    settings(&home).bind(|| insta::assert_snapshot!("audit_checkpoint", text(&out.stdout)));
    let log = AuditLog::open_existing(&home.join("audit")).unwrap();
    let events = log.events(&anrf_audit::EventFilter::default()).unwrap();
    let last = events.last().unwrap();
    assert_eq!(
        (last.seq, last.kind.as_str(), last.actor.as_str()),
        (7, "checkpoint", "tester")
    );
    let report = log.verify().unwrap();
    assert!(report.is_intact(), "{report:#?}");
    assert_eq!((report.checkpoints, report.latest_checkpoint), (1, Some(7)));
}

#[test]
fn two_anrf_processes_checkpointing_at_once_keep_the_chain() {
    let (_tmp, home) = home_with_log();
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let home = home.clone();
            std::thread::spawn(move || {
                for _ in 0..5 {
                    let out = anrf(&home).args(["audit", "checkpoint"]).output().unwrap();
                    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
    let out = anrf(&home)
        .args(["audit", "verify", "--json"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out.stdout));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["events"], 16);
    // Two requests may land on the same head, which is then signed once.
    let checkpoints = json["checkpoints"].as_u64().unwrap();
    assert!((1..=10).contains(&checkpoints), "{json}");
}

#[test]
fn every_audit_help_carries_an_example() {
    let tmp = tempfile::tempdir().unwrap();
    for sub in [
        None,
        Some("log"),
        Some("verify"),
        Some("export"),
        Some("checkpoint"),
    ] {
        let mut cmd = anrf(tmp.path());
        cmd.arg("audit");
        cmd.args(sub);
        let out = cmd.arg("--help").output().unwrap();
        assert_eq!(code(&out), 0);
        assert!(
            text(&out.stdout).contains("Example:\n  anrf audit"),
            "{sub:?}"
        );
    }
}

#[test]
fn verify_with_a_pinned_key() {
    let (_tmp, home) = home_with_log();
    let out = anrf(&home)
        .args(["audit", "verify", "--json"])
        .output()
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let key = json["public_key"].as_str().unwrap().to_owned();
    let ok = anrf(&home)
        .args(["audit", "verify", "--public-key", &key])
        .output()
        .unwrap();
    assert_eq!(code(&ok), 0, "{}", text(&ok.stdout));
    let other = "ab".repeat(32);
    let bad = anrf(&home)
        .args(["audit", "verify", "--public-key", &other])
        .output()
        .unwrap();
    assert_eq!(code(&bad), 1);
    assert!(
        text(&bad.stdout).contains("is not the pinned key `abababababababab`"),
        "{}",
        text(&bad.stdout)
    );
    let usage = anrf(&home)
        .args(["audit", "verify", "--public-key", "xyz"])
        .output()
        .unwrap();
    assert_eq!(code(&usage), 2);
}

/// A guest that prints `ran`: if it appears, the action happened.
const PRINTS_RAN: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "ran\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 4))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
"#;

#[test]
fn run_is_recorded_and_the_log_verifies() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let guest = tmp.path().join("ran.wat");
    std::fs::write(&guest, PRINTS_RAN).unwrap();
    let out = anrf(&home)
        .args(["run", "--profile", "test"])
        .arg(&guest)
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), "ran\n", "{}", text(&out.stderr));
    let log = AuditLog::open_existing(&home.join("audit")).unwrap();
    let events = log.events(&anrf_audit::EventFilter::default()).unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.kind == "run" && e.decision == "allow"),
        "{events:#?}"
    );
    let out = anrf(&home).args(["audit", "verify"]).output().unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out.stdout));
}

#[test]
fn run_under_test_profile_refuses_when_the_log_cannot_be_written() {
    // A regular file where `ANRF_HOME` should be a directory: the audit
    // directory cannot be created, even by root.
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home-is-a-file");
    std::fs::write(&home, "not a directory").unwrap();
    let guest = tmp.path().join("ran.wat");
    std::fs::write(&guest, PRINTS_RAN).unwrap();
    // `--engine jit`: the AOT cache lives under `ANRF_HOME` too and would
    // fail first under `prod`.
    for profile in ["test", "prod"] {
        let out = anrf(&home)
            .args(["run", "--engine", "jit", "--profile", profile])
            .arg(&guest)
            .output()
            .unwrap();
        assert_eq!(code(&out), 2, "{profile}: {}", text(&out.stderr));
        assert_eq!(text(&out.stdout), "", "{profile}: the guest must not run");
        let err = text(&out.stderr);
        assert!(
            err.contains("audit") && err.contains("home-is-a-file"),
            "{profile}: {err}"
        );
    }
    // `dev` runs and warns.
    let out = anrf(&home)
        .args(["run", "--profile", "dev"])
        .arg(&guest)
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), "ran\n");
    assert!(
        text(&out.stderr).contains("not recorded"),
        "{}",
        text(&out.stderr)
    );
}

#[cfg(target_os = "linux")]
#[test]
fn run_under_prod_refuses_on_a_read_only_file_system() {
    // sysfs refuses new directories to every user, root included.
    let tmp = tempfile::tempdir().unwrap();
    let guest = tmp.path().join("ran.wat");
    std::fs::write(&guest, PRINTS_RAN).unwrap();
    let out = anrf(Path::new("/sys/anrf-audit-e2e"))
        .args(["run", "--engine", "jit", "--profile", "prod"])
        .arg(&guest)
        .output()
        .unwrap();
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "");
    let err = text(&out.stderr);
    assert!(
        err.contains("read-only") && err.contains("/sys/anrf-audit-e2e"),
        "{err}"
    );
}

#[test]
fn audit_help_snapshots() {
    let tmp = tempfile::tempdir().unwrap();
    for sub in ["log", "verify", "witness", "export", "checkpoint"] {
        let out = anrf(tmp.path())
            .env("COLUMNS", "100")
            .args(["audit", sub, "--help"])
            .output()
            .unwrap();
        assert_eq!(code(&out), 0);
        insta::assert_snapshot!(format!("audit_{sub}_help"), text(&out.stdout));
    }
}

/// `anrf audit` run in `cwd` (whose nearest `anrf-policy.toml` applies).
fn anrf_in(home: &Path, cwd: &Path) -> Command {
    let mut cmd = anrf(home);
    cmd.current_dir(cwd);
    cmd
}

#[test]
fn witness_then_verify_catches_a_wipe_and_a_new_key() {
    let (tmp, home) = home_with_log();
    let witness = tmp.path().join("audit-witness.json");
    let out = anrf(&home)
        .args(["audit", "witness", "-o"])
        .arg(&witness)
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("witnessed event 6"),
        "{}",
        text(&out.stdout)
    );
    let verify = |home: &Path| {
        anrf(home)
            .args(["audit", "verify", "--json", "--witness"])
            .arg(&witness)
            .output()
            .unwrap()
    };
    let out = verify(&home);
    assert_eq!(code(&out), 0, "{}", text(&out.stdout));
    // Printed without `-o`: the same witness, for an external store.
    let out = anrf(&home).args(["audit", "witness"]).output().unwrap();
    assert_eq!(code(&out), 0);
    assert_eq!(
        text(&out.stdout),
        std::fs::read_to_string(&witness).unwrap()
    );

    // Wiped: no log at all.
    std::fs::remove_dir_all(home.join("audit")).unwrap();
    let out = verify(&home);
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["problem"]["reason"], "log_deleted");
    // A new log (new key) in its place.
    let mut log = AuditLog::open(&home.join("audit")).unwrap();
    log.append(&NewEvent::new(EventKind::Run, "x", "y", Decision::Allow))
        .unwrap();
    drop(log);
    assert_eq!(
        code(&anrf(&home).args(["audit", "verify"]).output().unwrap()),
        0
    );
    let out = verify(&home);
    assert_eq!(code(&out), 1);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["problem"]["reason"], "witness_key_mismatch");
    // Refreshing the witness checks the log against the old one first.
    let out = anrf(&home)
        .args(["audit", "witness", "-o"])
        .arg(&witness)
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no witness was written"));
}

#[test]
fn wiped_log_with_the_key_kept_is_reported_and_not_restarted() {
    let (_tmp, home) = home_with_log();
    let dir = home.join("audit");
    for name in ["audit.db", "audit.db-wal", "audit.db-shm", "checkpoint.sig"] {
        let _ = std::fs::remove_file(dir.join(name));
    }
    let out = anrf(&home).args(["audit", "verify"]).output().unwrap();
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("the log was deleted"),
        "{}",
        text(&out.stdout)
    );
    assert!(!dir.join("audit.db").exists());
}

#[test]
fn hostile_witness_file_is_a_usage_error() {
    let (tmp, home) = home_with_log();
    let bad = tmp.path().join("w.json");
    for content in ["garbage", "{\"format\":1}", &"[".repeat(50_000)] {
        std::fs::write(&bad, content).unwrap();
        let out = anrf(&home)
            .args(["audit", "verify", "--witness"])
            .arg(&bad)
            .output()
            .unwrap();
        assert_eq!(code(&out), 2, "{content:.20}");
        assert!(
            text(&out.stderr).contains("is not an audit witness"),
            "{}",
            text(&out.stderr)
        );
    }
    let out = anrf(&home)
        .args(["audit", "verify", "--witness", "/dev/zero"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("not a regular file"),
        "{}",
        text(&out.stderr)
    );
}

/// Writes the project policy of `project`, pinning the audit log's `key`.
fn pin_in_policy(project: &std::path::Path, key: &str) {
    std::fs::write(
        project.join("anrf-policy.toml"),
        format!("version = 1\n[audit]\npublic_key = \"{key}\"\n"),
    )
    .unwrap();
}

#[test]
fn verify_requires_the_key_pinned_in_the_project_policy() {
    let (tmp, home) = home_with_log();
    let project = tmp.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    let own = AuditLog::open_existing(&home.join("audit"))
        .unwrap()
        .public_key_hex();
    // Another log's key.
    let other = AuditLog::open(&tmp.path().join("other"))
        .unwrap()
        .public_key_hex();
    let policy = |key: &str| pin_in_policy(&project, key);
    policy(&other);
    let out = anrf_in(&home, &project)
        .args(["audit", "verify", "--json"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["problem"]["reason"], "unexpected_key");
    assert_eq!(json["pinned_key"], other.as_str());
    // The flag and the policy must agree.
    let out = anrf_in(&home, &project)
        .args(["audit", "verify", "--public-key", &own])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("differs from the key pinned"),
        "{}",
        text(&out.stderr)
    );
    policy(&own);
    let out = anrf_in(&home, &project)
        .args(["audit", "verify"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("pinned by `[audit] public_key`"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn log_escapes_control_characters_in_every_field() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let mut log = AuditLog::open(&home.join("audit")).unwrap();
    let actor = "\u{1b}[2J\u{1b}[31mroot\r\nfake row";
    let subject = "ok\u{202e}gpj.exe\u{7}\u{9b}";
    log.append(&NewEvent::new(
        EventKind::Run,
        actor,
        subject,
        Decision::Allow,
    ))
    .unwrap();
    drop(log);
    let out = anrf(&home).args(["audit", "log"]).output().unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let table = text(&out.stdout);
    for c in ['\u{1b}', '\r', '\u{202e}', '\u{7}', '\u{9b}'] {
        assert!(!table.contains(c), "{c:?} in {table:?}");
    }
    assert_eq!(table.lines().count(), 2, "{table}");
    assert!(
        table.contains("\\u{1b}[2J\\u{1b}[31mroot\\r\\nfake row"),
        "{table}"
    );
    assert!(table.contains("ok\\u{202e}gpj.exe\\u{7}\\u{9b}"), "{table}");
    let out = anrf(&home)
        .args(["audit", "log", "--json"])
        .output()
        .unwrap();
    let events: Vec<anrf_audit::EventRecord> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(events[0].actor, actor);
    assert_eq!(events[0].subject, subject);
}

/// A run in `test` appends to the log only if the log is under the key the
/// project pins: a re-keyed or replaced log is not extended.
#[test]
fn a_checked_run_refuses_to_append_to_a_log_under_another_key_than_the_pinned_one() {
    let (tmp, home) = home_with_log();
    let project = tmp.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    std::fs::write(
        project.join("guest.wat"),
        "(module (func (export \"_start\")))",
    )
    .unwrap();
    let own = AuditLog::open_existing(&home.join("audit"))
        .unwrap()
        .public_key_hex();
    let other = AuditLog::open(&tmp.path().join("other"))
        .unwrap()
        .public_key_hex();
    let policy = |key: &str| pin_in_policy(&project, key);
    let events = || {
        AuditLog::open_existing(&home.join("audit"))
            .unwrap()
            .events(&anrf_audit::EventFilter::default())
            .unwrap()
            .len()
    };
    policy(&other);
    let before = events();
    let out = anrf_in(&home, &project)
        .args(["run", "guest.wat", "--profile", "test"])
        .output()
        .unwrap();
    assert_ne!(code(&out), 0);
    assert!(
        text(&out.stderr).contains("is not the pinned key"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(events(), before, "appended to a log under another key");
    policy(&own);
    let out = anrf_in(&home, &project)
        .args(["run", "guest.wat", "--profile", "test"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(events() > before);
}
