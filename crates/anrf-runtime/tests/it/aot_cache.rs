//! The AOT cache: hits, integrity failures, swapped entries.

use std::path::Path;

use anrf_runtime::{
    CacheEvent, Capabilities, EngineKind, Invocation, Limits, Metering, ModuleInput, RunPolicy,
    Runtime, RuntimeConfig, RuntimeError, Status, WasmBinary,
};

fn runtime(dir: &Path) -> Runtime {
    Runtime::new(
        EngineKind::Aot,
        RuntimeConfig {
            cache_dir: Some(dir.to_path_buf()),
            metering: None,
        },
    )
    .unwrap()
}

fn policy() -> RunPolicy {
    RunPolicy::new(Limits::default(), Metering::Epoch).with_capabilities(Capabilities::none())
}

fn exit_with(code: i32) -> ModuleInput {
    ModuleInput::Wat(format!(
        r#"(module
          (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
          (memory (export "memory") 1)
          (func (export "_start") (call $exit (i32.const {code}))))"#
    ))
}

fn entries(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "cwasm"))
        .collect();
    found.sort();
    found
}

#[test]
fn a_binary_has_its_digest_before_any_engine_and_loads_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let binary = WasmBinary::new(exit_with(3)).unwrap();
    let digest = binary.digest();
    // The same digest as the module loaded from the text, or from the binary.
    let first = runtime(dir.path());
    let module = first.load(exit_with(3)).unwrap();
    assert_eq!(module.digest(), digest);
    let outcome = first
        .run(&module, &policy(), Invocation::default())
        .unwrap();
    assert_eq!(
        (outcome.exit_code, outcome.cache),
        (3, Some(CacheEvent::Miss))
    );
    let second = runtime(dir.path());
    let module = second.load_binary(binary).unwrap();
    assert_eq!(module.digest(), digest);
    let outcome = second
        .run(&module, &policy(), Invocation::default())
        .unwrap();
    assert_eq!(
        (outcome.exit_code, outcome.cache),
        (3, Some(CacheEvent::Hit))
    );
}

#[test]
fn a_malformed_binary_is_refused_when_loaded_not_when_hashed() {
    let dir = tempfile::tempdir().unwrap();
    let binary = WasmBinary::new(ModuleInput::Wasm(b"\0asm\x01\0\0\0\xff".to_vec())).unwrap();
    assert!(binary.digest().starts_with("sha256:"));
    assert!(runtime(dir.path()).load_binary(binary).is_err());
    assert!(matches!(
        WasmBinary::new(ModuleInput::Wat("(module".into())),
        Err(RuntimeError::InvalidWat { .. })
    ));
}

#[test]
fn second_runtime_loads_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let first = runtime(dir.path());
    let module = first.load(exit_with(7)).unwrap();
    let outcome = first
        .run(&module, &policy(), Invocation::default())
        .unwrap();
    assert_eq!(
        (outcome.exit_code, outcome.cache),
        (7, Some(CacheEvent::Miss))
    );
    assert_eq!(entries(dir.path()).len(), 1);

    let second = runtime(dir.path());
    let module = second.load(exit_with(7)).unwrap();
    let outcome = second
        .run(&module, &policy(), Invocation::default())
        .unwrap();
    assert_eq!(
        (outcome.exit_code, outcome.cache),
        (7, Some(CacheEvent::Hit))
    );
}

#[test]
fn tampered_entry_is_rejected_and_recompiled() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let module = rt.load(exit_with(3)).unwrap();
    rt.prepare(&module, &policy()).unwrap();
    let entry = entries(dir.path()).pop().unwrap();
    let mut bytes = std::fs::read(&entry).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    bytes[100] ^= 0x01;
    std::fs::write(&entry, &bytes).unwrap();

    let fresh = runtime(dir.path());
    let module = fresh.load(exit_with(3)).unwrap();
    let outcome = fresh
        .run(&module, &policy(), Invocation::default())
        .unwrap();
    assert_eq!((outcome.status, outcome.exit_code), (Status::Ok, 3));
    assert!(
        matches!(&outcome.cache, Some(CacheEvent::Rejected { reason }) if reason.contains("HMAC")),
        "{:?}",
        outcome.cache
    );
    // The entry was rewritten and is good again.
    let again = runtime(dir.path());
    let module = again.load(exit_with(3)).unwrap();
    let outcome = again
        .run(&module, &policy(), Invocation::default())
        .unwrap();
    assert_eq!(outcome.cache, Some(CacheEvent::Hit));
}

#[test]
fn entry_swapped_for_another_valid_entry_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let a = rt.load(exit_with(1)).unwrap();
    let b = rt.load(exit_with(2)).unwrap();
    rt.prepare(&a, &policy()).unwrap();
    let entry_a = entries(dir.path()).pop().unwrap();
    rt.prepare(&b, &policy()).unwrap();
    let entry_b = entries(dir.path())
        .into_iter()
        .find(|p| *p != entry_a)
        .unwrap();
    // Put b's (validly authenticated) artifact under a's name.
    std::fs::copy(&entry_b, &entry_a).unwrap();

    let fresh = runtime(dir.path());
    let a = fresh.load(exit_with(1)).unwrap();
    let outcome = fresh.run(&a, &policy(), Invocation::default()).unwrap();
    assert_eq!(outcome.exit_code, 1, "ran the swapped artifact");
    assert!(matches!(outcome.cache, Some(CacheEvent::Rejected { .. })));
}

#[test]
fn truncated_entry_and_garbage_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let rt = runtime(dir.path());
    let module = rt.load(exit_with(5)).unwrap();
    rt.prepare(&module, &policy()).unwrap();
    let entry = entries(dir.path()).pop().unwrap();
    for content in [b"ANRFAOT1".to_vec(), b"not an artifact at all".to_vec()] {
        std::fs::write(&entry, &content).unwrap();
        let fresh = runtime(dir.path());
        let module = fresh.load(exit_with(5)).unwrap();
        let outcome = fresh
            .run(&module, &policy(), Invocation::default())
            .unwrap();
        assert_eq!(outcome.exit_code, 5);
        assert!(matches!(outcome.cache, Some(CacheEvent::Rejected { .. })));
    }
}

#[test]
fn aot_without_cache_dir_compiles_in_memory() {
    let rt = Runtime::new(EngineKind::Aot, RuntimeConfig::default()).unwrap();
    let module = rt.load(exit_with(9)).unwrap();
    let outcome = rt.run(&module, &policy(), Invocation::default()).unwrap();
    assert_eq!(
        (outcome.exit_code, outcome.cache),
        (9, Some(CacheEvent::Uncached))
    );
}

#[cfg(unix)]
fn open_error(dir: &Path) -> String {
    let config = RuntimeConfig {
        cache_dir: Some(dir.to_path_buf()),
        metering: None,
    };
    let e = Runtime::new(EngineKind::Aot, config).expect_err("the cache directory was accepted");
    assert!(
        matches!(e, anrf_runtime::RuntimeError::Cache { .. }),
        "{e:?}"
    );
    e.to_string()
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}

#[cfg(unix)]
#[test]
fn world_writable_cache_dir_is_refused_and_left_as_it_is() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("cache");
    std::fs::create_dir(&dir).unwrap();
    chmod(&dir, 0o777);
    let message = open_error(&dir);
    for part in [
        dir.display().to_string(),
        "mode 0777".into(),
        "anyone who can write it could plant native code that anrf would run".into(),
        format!("chmod 700 {}", dir.display()),
        "--cache-dir".into(),
    ] {
        assert!(message.contains(&part), "`{part}` not in: {message}");
    }
    assert_eq!(mode(&dir), 0o777, "an existing directory is never chmod-ed");
    assert!(
        !dir.join("hmac.key").exists(),
        "no key written in a refused dir"
    );

    chmod(&dir, 0o770);
    assert!(open_error(&dir).contains("writable by its group"));
}

#[cfg(unix)]
#[test]
fn planted_key_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("hmac.key");
    std::fs::write(&key, [7u8; 32]).unwrap();
    chmod(&key, 0o644);
    let message = open_error(dir.path());
    assert!(message.contains(&key.display().to_string()), "{message}");
    assert!(message.contains("mode 0644"), "{message}");
    assert!(message.contains("plant native code"), "{message}");
}

#[cfg(unix)]
#[test]
fn symlinked_cache_dir_and_key_are_refused() {
    let parent = tempfile::tempdir().unwrap();
    let real = parent.path().join("real");
    std::fs::create_dir(&real).unwrap();
    chmod(&real, 0o700);
    let link = parent.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    assert!(open_error(&link).contains("symbolic link"));

    let elsewhere = parent.path().join("key-elsewhere");
    std::fs::write(&elsewhere, [7u8; 32]).unwrap();
    chmod(&elsewhere, 0o600);
    std::os::unix::fs::symlink(&elsewhere, real.join("hmac.key")).unwrap();
    assert!(open_error(&real).contains("not a regular file"));
}

#[cfg(unix)]
#[test]
fn new_cache_dir_and_key_are_private_and_reopen() {
    // The parent is left open (0755): the cache dir and key `open` creates are
    // private whatever surrounds them.
    let parent = tempfile::tempdir().unwrap();
    chmod(parent.path(), 0o755);
    let dir = parent.path().join("a").join("cache");
    let rt = runtime(&dir);
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join("hmac.key")), 0o600);
    let module = rt.load(exit_with(5)).unwrap();
    let outcome = rt.run(&module, &policy(), Invocation::default()).unwrap();
    assert_eq!(outcome.exit_code, 5);
    // Reopening the same (now existing) private dir works and hits.
    let again = runtime(&dir);
    let module = again.load(exit_with(5)).unwrap();
    let outcome = again
        .run(&module, &policy(), Invocation::default())
        .unwrap();
    assert_eq!(outcome.cache, Some(CacheEvent::Hit));
}
