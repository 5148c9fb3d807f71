//! What is granted works, and nothing more.

use anrf_runtime::{Access, Capabilities, DirGrant, EngineKind, Status};

use crate::support::{data_dir, load_wat, policy, run, rust_guest, stdout};

#[test]
fn granted_env_is_the_only_env() {
    let mut caps = Capabilities::none();
    caps.grant_env("GREETING", "hello").unwrap();
    let kind = EngineKind::Jit;
    let outcome = run(
        kind,
        &rust_guest(kind, "env_canary"),
        &policy(kind, caps.clone()),
    );
    assert_eq!((outcome.status, outcome.exit_code), (Status::Ok, 0));
    assert_eq!(stdout(&outcome), "GREETING=hello\ncount=1\n");
    let outcome = run(kind, &load_wat(kind, "environ_count"), &policy(kind, caps));
    assert_eq!(outcome.exit_code, 1);
}

#[test]
fn granted_clock_and_random_work() {
    let mut caps = Capabilities::none();
    caps.grant_clock().grant_random();
    for kind in [EngineKind::Interp, EngineKind::Jit, EngineKind::Aot] {
        let outcome = run(
            kind,
            &load_wat(kind, "clock_and_random"),
            &policy(kind, caps.clone()),
        );
        assert_eq!(
            (outcome.status, outcome.exit_code),
            (Status::Ok, 0),
            "{kind}"
        );
        let outcome = run(
            kind,
            &rust_guest(kind, "hashmap_without_random"),
            &policy(kind, caps.clone()),
        );
        assert_eq!(
            (outcome.status, outcome.exit_code),
            (Status::Ok, 0),
            "{kind}"
        );
        assert_eq!(stdout(&outcome), "1\n");
    }
}

#[test]
fn granted_read_write_dir_can_be_written_inside() {
    let dir = data_dir();
    let mut caps = Capabilities::none();
    caps.grant_dir(DirGrant::new("/out", dir.path(), Access::ReadWrite).unwrap())
        .unwrap();
    let kind = EngineKind::Jit;
    let outcome = run(
        kind,
        &rust_guest(kind, "write_outside"),
        &policy(kind, caps),
    );
    assert_eq!(outcome.exit_code, 0, "{outcome:#?}");
    assert_eq!(std::fs::read(dir.path().join("inside.txt")).unwrap(), b"ok");
}

#[test]
fn bare_module_runs_with_no_capabilities() {
    let kind = EngineKind::Jit;
    let outcome = run(
        kind,
        &load_wat(kind, "exit_code"),
        &policy(kind, Capabilities::none()),
    );
    assert_eq!((outcome.status, outcome.exit_code), (Status::Ok, 42));
    assert!(outcome.fuel_used > 0);
    assert!(outcome.peak_memory_bytes >= 65536);
    let text = serde_json::to_string(&outcome).unwrap();
    let keys = [
        "\"status\"",
        "\"exit_code\"",
        "\"stdout\"",
        "\"stderr\"",
        "\"violations\"",
        "\"fuel_used\"",
        "\"peak_memory_bytes\"",
        "\"duration_ms\"",
        "\"engine\"",
    ];
    let positions: Vec<usize> = keys.iter().map(|k| text.find(k).unwrap()).collect();
    assert!(positions.is_sorted(), "{text}");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json.as_object().unwrap().len(), keys.len());
    assert_eq!(json["status"], "ok");
    assert_eq!(json["engine"], "jit");
}
