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
            cache_max_bytes: None,
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
        cache_max_bytes: None,
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

// ---- the cache's bound ---------------------------------------------------

fn bounded(dir: &Path, max_bytes: u64) -> Runtime {
    Runtime::new(
        EngineKind::Aot,
        RuntimeConfig {
            cache_dir: Some(dir.to_path_buf()),
            metering: None,
            cache_max_bytes: Some(max_bytes),
        },
    )
    .unwrap()
}

/// The cache entry of the module `exit_with(code)`, by the digest its name starts with.
fn entry_of(dir: &Path, code: i32) -> Option<std::path::PathBuf> {
    let digest = WasmBinary::new(exit_with(code)).unwrap().digest();
    let hex = digest.trim_start_matches("sha256:").to_owned();
    entries(dir).into_iter().find(|p| {
        p.file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(&hex))
    })
}

fn total_bytes(dir: &Path) -> u64 {
    entries(dir)
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .sum()
}

/// Sets an entry's modification time (what the cache orders use by) to
/// `hours` ago, so that the order does not depend on how fast the test runs.
fn age(path: &Path, hours: u64) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    let then = std::time::SystemTime::now() - std::time::Duration::from_secs(hours * 3600);
    file.set_modified(then).unwrap();
}

fn prepare(rt: &Runtime, code: i32) {
    let module = rt.load(exit_with(code)).unwrap();
    rt.prepare(&module, &policy()).unwrap();
}

#[test]
fn storing_past_the_bound_evicts_the_least_recently_used_and_stays_within_it() {
    let dir = tempfile::tempdir().unwrap();
    prepare(&runtime(dir.path()), 1);
    let size = total_bytes(dir.path());
    // Room for three entries of this size (they differ by a few bytes at most).
    let bound = size * 3 + size / 2;
    let rt = bounded(dir.path(), bound);
    prepare(&rt, 2);
    prepare(&rt, 3);
    assert_eq!(entries(dir.path()).len(), 3);
    age(&entry_of(dir.path(), 1).unwrap(), 3);
    age(&entry_of(dir.path(), 2).unwrap(), 2);
    age(&entry_of(dir.path(), 3).unwrap(), 1);

    // A hit makes 1 the most recently used: 2 is now the oldest.
    let fresh = bounded(dir.path(), bound);
    let module = fresh.load(exit_with(1)).unwrap();
    let outcome = fresh
        .run(&module, &policy(), Invocation::default())
        .unwrap();
    assert_eq!(
        (outcome.exit_code, outcome.cache),
        (1, Some(CacheEvent::Hit))
    );

    prepare(&fresh, 4);
    assert!(total_bytes(dir.path()) <= bound);
    assert!(
        entry_of(dir.path(), 2).is_none(),
        "the least recently used stayed"
    );
    for kept in [1, 3, 4] {
        assert!(entry_of(dir.path(), kept).is_some(), "{kept} was evicted");
    }
    for code in 5..9 {
        prepare(&fresh, code);
        assert!(
            total_bytes(dir.path()) <= bound,
            "over the bound after {code}"
        );
        assert!(entry_of(dir.path(), code).is_some(), "{code} was not kept");
    }
}

#[test]
fn an_artifact_larger_than_the_bound_runs_and_is_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let rt = bounded(dir.path(), 64);
    let module = rt.load(exit_with(6)).unwrap();
    let outcome = rt.run(&module, &policy(), Invocation::default()).unwrap();
    assert_eq!((outcome.status, outcome.exit_code), (Status::Ok, 6));
    assert!(entries(dir.path()).is_empty());
}

#[test]
fn a_run_whose_entry_was_evicted_recompiles() {
    let dir = tempfile::tempdir().unwrap();
    prepare(&runtime(dir.path()), 11);
    let entry = entry_of(dir.path(), 11).unwrap();
    // Taken from the cache at load, then the entry is evicted: the run uses
    // what was loaded.
    let rt = runtime(dir.path());
    let module = rt.load(exit_with(11)).unwrap();
    std::fs::remove_file(&entry).unwrap();
    let outcome = rt.run(&module, &policy(), Invocation::default()).unwrap();
    assert_eq!(
        (outcome.exit_code, outcome.cache),
        (11, Some(CacheEvent::Hit))
    );
    // Evicted before the load: compiled again and stored again.
    let rt = runtime(dir.path());
    let module = rt.load(exit_with(11)).unwrap();
    let outcome = rt.run(&module, &policy(), Invocation::default()).unwrap();
    assert_eq!(
        (outcome.exit_code, outcome.cache),
        (11, Some(CacheEvent::Miss))
    );
    assert!(entry_of(dir.path(), 11).is_some());
}

/// One thread keeps running module 20 from fresh runtimes while another keeps
/// storing other modules into a cache with room for about one entry, so
/// module 20's entry is evicted under the first thread again and again. Every
/// run succeeds: a hit or a recompile, never an error or a rejected entry.
#[test]
fn a_concurrent_reader_of_an_evicted_entry_gets_a_recompile_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    prepare(&runtime(dir.path()), 20);
    let bound = total_bytes(dir.path()) + total_bytes(dir.path()) / 2;
    let dir_path = dir.path().to_path_buf();
    let reader = std::thread::spawn({
        let dir = dir_path.clone();
        move || {
            let mut events = Vec::new();
            for _ in 0..12 {
                let rt = bounded(&dir, bound);
                let module = rt.load(exit_with(20)).unwrap();
                let outcome = rt.run(&module, &policy(), Invocation::default()).unwrap();
                assert_eq!((outcome.status, outcome.exit_code), (Status::Ok, 20));
                events.push(outcome.cache);
            }
            events
        }
    });
    for code in 21..33 {
        prepare(&bounded(&dir_path, bound), code);
    }
    let events = reader.join().unwrap();
    for event in &events {
        assert!(
            matches!(event, Some(CacheEvent::Hit | CacheEvent::Miss)),
            "{events:?}"
        );
    }
    assert!(total_bytes(dir.path()) <= bound);
}
