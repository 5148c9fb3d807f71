//! What is granted works, and nothing more.

use anrf_runtime::{Access, Capabilities, DirGrant, EngineKind, HostDir, Status};

use crate::support::{data_dir, host_dir, load_wat, policy, run, rust_guest, stdout};

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
    caps.grant_dir(DirGrant::new("/out", host_dir(dir.path()), Access::ReadWrite).unwrap())
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

/// A project with `data/hello.txt` and, beside it, `other/hello.txt`.
fn swap_fixture() -> (tempfile::TempDir, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let base = std::fs::canonicalize(tmp.path()).unwrap();
    std::fs::create_dir(base.join("data")).unwrap();
    std::fs::write(base.join("data/hello.txt"), "approved\n").unwrap();
    std::fs::create_dir(base.join("other")).unwrap();
    std::fs::write(base.join("other/hello.txt"), "swapped in\n").unwrap();
    (tmp, base)
}

/// `data` is moved away and a link to `other` put in its place.
fn swap_in_a_link(base: &std::path::Path) {
    std::fs::rename(base.join("data"), base.join("data.moved")).unwrap();
    std::os::unix::fs::symlink(base.join("other"), base.join("data")).unwrap();
}

#[test]
fn the_guest_gets_the_directory_that_was_opened_even_after_a_swap() {
    for kind in [EngineKind::Interp, EngineKind::Jit, EngineKind::Aot] {
        let (_tmp, base) = swap_fixture();
        let mut caps = Capabilities::none();
        let opened = HostDir::open(base.join("data")).unwrap();
        caps.grant_dir(DirGrant::new("/data", opened, Access::ReadOnly).unwrap())
            .unwrap();
        // Swapped while the module compiles, after the grant was opened.
        swap_in_a_link(&base);
        let outcome = run(kind, &load_wat(kind, "cat_hello"), &policy(kind, caps));
        assert_eq!(
            (outcome.status, outcome.exit_code),
            (Status::Ok, 0),
            "{kind}: {outcome:#?}"
        );
        assert_eq!(stdout(&outcome), "approved\n", "{kind}");
    }
}

#[test]
fn a_link_swapped_in_before_the_open_is_refused_not_followed() {
    let (_tmp, base) = swap_fixture();
    // The path was approved (and canonicalized) as a directory ...
    let approved = std::fs::canonicalize(base.join("data")).unwrap();
    let module = HostDir::open(&base).unwrap();
    // ... then replaced by a link before it is opened.
    swap_in_a_link(&base);
    for refused in [HostDir::open(&approved), module.open_beneath("data")] {
        let err = refused.unwrap_err().to_string();
        assert!(err.contains(&approved.display().to_string()), "{err}");
        assert!(err.contains("is a symbolic link"), "{err}");
    }
    // A link to `/etc` in a middle component is refused the same way.
    std::fs::remove_file(base.join("data")).unwrap();
    std::os::unix::fs::symlink("/etc", base.join("data")).unwrap();
    let err = module.open_beneath("data/ssl").unwrap_err().to_string();
    assert!(err.contains("is a symbolic link"), "{err}");
}

#[test]
fn nested_grants_are_refused() {
    let dir = data_dir();
    std::fs::create_dir(dir.path().join("cfg")).unwrap();
    let mut caps = Capabilities::none();
    caps.grant_dir(DirGrant::new("/out", host_dir(dir.path()), Access::ReadWrite).unwrap())
        .unwrap();
    let inner = DirGrant::new(
        "/out/cfg",
        host_dir(&dir.path().join("cfg")),
        Access::ReadOnly,
    );
    let err = caps.grant_dir(inner.unwrap()).unwrap_err().to_string();
    assert!(err.contains("grants may not nest"), "{err}");
}
