//! The containment suite: every guest in `tests/hostile/` on every engine.
//! Each test is named after the outcome the guest must produce, asserts the
//! exact status, exit code and violation kind, that the host did not fail
//! (no panic, no `error` status), that memory and output stayed within their
//! limits, and that the same runtime still runs a healthy guest afterwards.

use anrf_runtime::{
    Access, Capabilities, DirGrant, EngineKind, Invocation, Limits, Metering, ModuleInput,
    RunPolicy, RuntimeError, Status, ViolationKind,
};

use crate::support::{
    assert_denied_and_survived, assert_no_symlink_made, assert_stopped, assert_stopped_after,
    data_dir, host_dir, load_wat, policy, run, run_with, runtime, rust_guest, stdout, test_limits,
    wat,
};

/// Generates one test per engine; after the check, the same runtime must still
/// run a well-behaved guest.
macro_rules! on_all_engines {
    ($name:ident, |$kind:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn check($kind: EngineKind) $body

            fn check_then_healthy(kind: EngineKind) {
                check(kind);
                assert_healthy(kind);
            }

            #[test]
            fn interp() {
                check_then_healthy(EngineKind::Interp);
            }

            #[test]
            fn jit() {
                check_then_healthy(EngineKind::Jit);
            }

            #[test]
            fn aot() {
                check_then_healthy(EngineKind::Aot);
            }
        }
    };
}

fn assert_healthy(kind: EngineKind) {
    let module = load_wat(kind, "exit_code");
    let outcome = run(kind, &module, &policy(kind, Capabilities::none()));
    assert_eq!((outcome.status, outcome.exit_code), (Status::Ok, 42));
    assert_eq!(stdout(&outcome), "hi\n");
}

fn budget_kind(kind: EngineKind) -> ViolationKind {
    match crate::support::metering(kind) {
        Metering::Fuel => ViolationKind::FuelExhausted,
        Metering::Epoch => ViolationKind::Timeout,
    }
}

fn grant_data(access: Access) -> (tempfile::TempDir, Capabilities) {
    let dir = data_dir();
    let mut caps = Capabilities::none();
    caps.grant_dir(DirGrant::new("/data", host_dir(dir.path()), access).unwrap())
        .unwrap();
    (dir, caps)
}

fn no_caps(kind: EngineKind) -> RunPolicy {
    policy(kind, Capabilities::none())
}

// ---- runaway computation ------------------------------------------------

on_all_engines!(loop_forever_is_stopped_by_its_budget, |kind| {
    let outcome = run(kind, &load_wat(kind, "loop_forever"), &no_caps(kind));
    assert_stopped(&outcome, budget_kind(kind));
    assert_eq!(outcome.violations.len(), 1);
});

on_all_engines!(loop_in_start_function_is_stopped_by_its_budget, |kind| {
    let outcome = run(
        kind,
        &load_wat(kind, "loop_in_start_function"),
        &no_caps(kind),
    );
    assert_stopped(&outcome, budget_kind(kind));
});

on_all_engines!(rust_spin_is_stopped_by_its_budget, |kind| {
    let outcome = run(kind, &rust_guest(kind, "spin"), &no_caps(kind));
    assert_stopped(&outcome, budget_kind(kind));
});

on_all_engines!(loop_forever_under_epoch_metering_times_out, |kind| {
    let policy = RunPolicy::new(test_limits(), Metering::Epoch);
    let outcome = run(kind, &load_wat(kind, "loop_forever"), &policy);
    assert_stopped(&outcome, ViolationKind::Timeout);
    assert_eq!(outcome.fuel_used, 0);
});

// ---- memory and tables --------------------------------------------------

on_all_engines!(memory_grow_bomb_hits_memory_limit, |kind| {
    let outcome = run(kind, &load_wat(kind, "memory_grow_bomb"), &no_caps(kind));
    assert_stopped(&outcome, ViolationKind::MemoryLimit);
    assert!(
        outcome.peak_memory_bytes > 60 << 20,
        "{}",
        outcome.peak_memory_bytes
    );
});

on_all_engines!(rust_memory_bomb_hits_memory_limit, |kind| {
    let outcome = run(kind, &rust_guest(kind, "memory_bomb"), &no_caps(kind));
    assert_stopped(&outcome, ViolationKind::MemoryLimit);
});

on_all_engines!(huge_initial_memory_hits_memory_limit, |kind| {
    let outcome = run(kind, &load_wat(kind, "huge_initial_memory"), &no_caps(kind));
    assert_stopped(&outcome, ViolationKind::MemoryLimit);
    assert_eq!(outcome.peak_memory_bytes, 0);
});

on_all_engines!(huge_table_hits_memory_limit, |kind| {
    let outcome = run(kind, &load_wat(kind, "huge_table"), &no_caps(kind));
    assert_stopped(&outcome, ViolationKind::MemoryLimit);
});

on_all_engines!(table_grow_bomb_hits_memory_limit, |kind| {
    let outcome = run(kind, &load_wat(kind, "table_grow_bomb"), &no_caps(kind));
    assert_stopped(&outcome, ViolationKind::MemoryLimit);
});

on_all_engines!(deep_recursion_overflows_the_stack, |kind| {
    let outcome = run(kind, &load_wat(kind, "deep_recursion"), &no_caps(kind));
    assert_stopped(&outcome, ViolationKind::StackOverflow);
});

on_all_engines!(rust_deep_recursion_overflows_the_stack, |kind| {
    let outcome = run(kind, &rust_guest(kind, "deep_recursion"), &no_caps(kind));
    assert_stopped(&outcome, ViolationKind::StackOverflow);
});

on_all_engines!(oob_load_is_out_of_bounds, |kind| {
    let outcome = run(kind, &load_wat(kind, "oob_load"), &no_caps(kind));
    assert_stopped(&outcome, ViolationKind::OutOfBounds);
});

on_all_engines!(oob_store_is_out_of_bounds, |kind| {
    let outcome = run(kind, &load_wat(kind, "oob_store"), &no_caps(kind));
    assert_stopped(&outcome, ViolationKind::OutOfBounds);
});

// ---- output floods ------------------------------------------------------

on_all_engines!(stdout_flood_hits_output_limit, |kind| {
    let outcome = run(kind, &load_wat(kind, "stdout_flood"), &no_caps(kind));
    assert_stopped(&outcome, ViolationKind::OutputLimit);
    assert_eq!(outcome.stdout.len() as u64, Limits::DEFAULT.stdout_bytes);
    assert!(outcome.stdout.iter().all(|&b| b == b'A'));
});

on_all_engines!(stderr_flood_hits_output_limit, |kind| {
    let outcome = run(kind, &load_wat(kind, "stderr_flood"), &no_caps(kind));
    assert_stopped(&outcome, ViolationKind::OutputLimit);
    assert_eq!(outcome.stderr.len() as u64, Limits::DEFAULT.stderr_bytes);
    assert!(outcome.stdout.is_empty());
});

on_all_engines!(rust_stdout_flood_hits_output_limit, |kind| {
    let outcome = run(kind, &rust_guest(kind, "stdout_flood"), &no_caps(kind));
    assert_stopped(&outcome, ViolationKind::OutputLimit);
    assert_eq!(outcome.stdout.len() as u64, Limits::DEFAULT.stdout_bytes);
});

on_all_engines!(rust_stderr_flood_hits_output_limit, |kind| {
    let outcome = run(kind, &rust_guest(kind, "stderr_flood"), &no_caps(kind));
    assert_stopped(&outcome, ViolationKind::OutputLimit);
    assert_eq!(outcome.stderr.len() as u64, Limits::DEFAULT.stderr_bytes);
});

// ---- the filesystem -----------------------------------------------------

const NOTCAPABLE: i32 = 76;
const PERM: i32 = 63;

on_all_engines!(open_passwd_absolute_without_grants_is_denied, |kind| {
    let outcome = run(
        kind,
        &load_wat(kind, "open_passwd_absolute"),
        &no_caps(kind),
    );
    assert_denied_and_survived(&outcome, NOTCAPABLE);
    assert!(outcome.violations[0].message.contains("`/etc/passwd`"));
});

on_all_engines!(open_passwd_absolute_in_granted_dir_is_denied, |kind| {
    let (_dir, caps) = grant_data(Access::ReadOnly);
    let outcome = run(
        kind,
        &load_wat(kind, "open_passwd_absolute"),
        &policy(kind, caps),
    );
    assert_ne!(outcome.exit_code, 0, "opened /etc/passwd");
    assert_denied_and_survived(&outcome, PERM);
});

on_all_engines!(open_passwd_dotdot_is_denied, |kind| {
    let (_dir, caps) = grant_data(Access::ReadOnly);
    let outcome = run(
        kind,
        &load_wat(kind, "open_passwd_dotdot"),
        &policy(kind, caps),
    );
    assert_ne!(outcome.exit_code, 0, "opened /etc/passwd");
    assert_denied_and_survived(&outcome, PERM);
    assert!(
        outcome.violations[0]
            .message
            .contains("outside the granted directory")
    );
});

on_all_engines!(open_symlink_out_is_denied, |kind| {
    let (_dir, caps) = grant_data(Access::ReadOnly);
    let outcome = run(
        kind,
        &load_wat(kind, "open_symlink_out"),
        &policy(kind, caps),
    );
    assert_ne!(outcome.exit_code, 0, "opened /etc/passwd");
    assert_denied_and_survived(&outcome, PERM);
});

on_all_engines!(hardlink_out_is_denied, |kind| {
    let (dir, caps) = grant_data(Access::ReadWrite);
    let outcome = run(kind, &load_wat(kind, "hardlink_out"), &policy(kind, caps));
    assert_ne!(outcome.exit_code, 0, "linked /etc/passwd");
    assert_denied_and_survived(&outcome, PERM);
    assert!(!dir.path().join("pw").exists());
});

on_all_engines!(symlink_out_of_the_granted_dir_is_denied, |kind| {
    let (dir, caps) = grant_data(Access::ReadWrite);
    let outcome = run(kind, &load_wat(kind, "symlink_out"), &policy(kind, caps));
    assert_denied_and_survived(&outcome, NOTCAPABLE);
    assert_eq!(outcome.violations.len(), 3, "{outcome:#?}");
    for (v, target) in
        outcome
            .violations
            .iter()
            .zip(["../outside/secret.txt", "/etc/passwd", "hello.txt"])
    {
        assert!(v.message.contains(target), "{v:?}");
        assert!(v.message.contains("may not create symbolic links"), "{v:?}");
    }
    assert_no_symlink_made(dir.path(), &["link", "up"]);
});

/// Each route a lexical check of a link's text can be walked around: the
/// guest gets `NOTCAPABLE` and no link is left in the granted directory.
fn symlink_route_is_denied(kind: EngineKind, guest: &str, refusals: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut caps = Capabilities::none();
    caps.grant_dir(DirGrant::new("/out", host_dir(dir.path()), Access::ReadWrite).unwrap())
        .unwrap();
    let outcome = run(kind, &load_wat(kind, guest), &policy(kind, caps));
    assert_denied_and_survived(&outcome, NOTCAPABLE);
    assert_eq!(outcome.violations.len(), refusals, "{outcome:#?}");
    for v in &outcome.violations {
        assert!(v.message.contains("`path_symlink`"), "{v:?}");
    }
    assert_no_symlink_made(dir.path(), &[]);
}

on_all_engines!(symlink_made_deep_and_renamed_up_is_denied, |kind| {
    symlink_route_is_denied(kind, "symlink_rename_up", 1);
});

on_all_engines!(symlink_made_through_a_link_to_dot_is_denied, |kind| {
    symlink_route_is_denied(kind, "symlink_through_link", 2);
});

on_all_engines!(symlink_with_a_target_past_any_buffer_is_denied, |kind| {
    symlink_route_is_denied(kind, "symlink_long_target", 1);
});

on_all_engines!(file_timestamps_tell_no_time_without_the_clock, |kind| {
    let dir = tempfile::tempdir().unwrap();
    let mut caps = Capabilities::none();
    caps.grant_dir(DirGrant::new("/out", host_dir(dir.path()), Access::ReadWrite).unwrap())
        .unwrap();
    let outcome = run(
        kind,
        &load_wat(kind, "file_times"),
        &policy(kind, caps.clone()),
    );
    // Both filestats masked (no +1, +2), setting "now" refused (no +4).
    assert_denied_and_survived(&outcome, 0);
    assert_eq!(outcome.violations.len(), 1, "{outcome:#?}");
    assert!(
        outcome.violations[0]
            .message
            .contains("`fd_filestat_set_times`")
            && outcome.violations[0].message.contains("clock"),
        "{outcome:#?}"
    );
    // The file exists, with its real times, on the host.
    let modified = std::fs::metadata(dir.path().join("new.txt"))
        .unwrap()
        .modified()
        .unwrap();
    assert!(modified > std::time::UNIX_EPOCH);

    // With the clock granted, the same guest sees times and may set them.
    caps.grant_clock();
    std::fs::remove_file(dir.path().join("new.txt")).unwrap();
    let outcome = run(kind, &load_wat(kind, "file_times"), &policy(kind, caps));
    assert_eq!(
        (outcome.status, outcome.exit_code),
        (Status::Ok, 7),
        "{outcome:#?}"
    );
});

on_all_engines!(write_in_read_only_dir_is_denied, |kind| {
    let (dir, caps) = grant_data(Access::ReadOnly);
    let outcome = run(
        kind,
        &load_wat(kind, "write_read_only"),
        &policy(kind, caps),
    );
    assert_ne!(outcome.exit_code, 0, "created a file");
    assert_denied_and_survived(&outcome, PERM);
    assert!(outcome.violations[0].message.contains("read-only"));
    assert!(!dir.path().join("new.txt").exists());
});

on_all_engines!(rust_read_passwd_absolute_is_denied, |kind| {
    let outcome = run(
        kind,
        &rust_guest(kind, "read_passwd_absolute"),
        &no_caps(kind),
    );
    assert_denied_and_survived(&outcome, 0);
    assert_eq!(stdout(&outcome), "denied\n");
    assert!(outcome.violations[0].message.contains("`/etc/passwd`"));
});

on_all_engines!(rust_read_passwd_dotdot_is_denied, |kind| {
    let (_dir, caps) = grant_data(Access::ReadOnly);
    let outcome = run(
        kind,
        &rust_guest(kind, "read_passwd_dotdot"),
        &policy(kind, caps),
    );
    assert_denied_and_survived(&outcome, 0);
    assert_eq!(stdout(&outcome), "denied\n");
});

on_all_engines!(rust_read_through_symlink_is_denied, |kind| {
    let (_dir, caps) = grant_data(Access::ReadOnly);
    let outcome = run(
        kind,
        &rust_guest(kind, "read_through_symlink"),
        &policy(kind, caps),
    );
    assert_denied_and_survived(&outcome, 0);
    assert_eq!(stdout(&outcome), "denied\n");
});

on_all_engines!(rust_hard_link_out_is_denied, |kind| {
    let (dir, caps) = grant_data(Access::ReadWrite);
    let outcome = run(
        kind,
        &rust_guest(kind, "hard_link_out"),
        &policy(kind, caps),
    );
    assert_denied_and_survived(&outcome, 0);
    assert_eq!(stdout(&outcome), "denied\n");
    assert!(!dir.path().join("pw").exists() && !dir.path().join("pw2").exists());
});

on_all_engines!(rust_write_outside_is_denied, |kind| {
    let out = tempfile::tempdir().unwrap();
    let mut caps = Capabilities::none();
    caps.grant_dir(DirGrant::new("/out", host_dir(out.path()), Access::ReadWrite).unwrap())
        .unwrap();
    let outcome = run(
        kind,
        &rust_guest(kind, "write_outside"),
        &policy(kind, caps),
    );
    assert_denied_and_survived(&outcome, 0);
    assert_eq!(stdout(&outcome), "wrote_outside=0\n");
    assert_eq!(std::fs::read(out.path().join("inside.txt")).unwrap(), b"ok");
    assert!(!out.path().parent().unwrap().join("escape").exists());
});

// ---- descriptors, environment, processes, network ------------------------

on_all_engines!(scan_descriptors_is_denied, |kind| {
    let outcome = run(kind, &load_wat(kind, "scan_descriptors"), &no_caps(kind));
    // The only "preopen" found is the tripwire root, on which everything is refused.
    assert_denied_and_survived(&outcome, 1);
    assert!(outcome.violations[0].message.contains("never given it"));
});

on_all_engines!(rust_scan_fds_is_denied, |kind| {
    let outcome = run(kind, &rust_guest(kind, "scan_fds"), &no_caps(kind));
    assert_denied_and_survived(&outcome, 0);
    assert_eq!(stdout(&outcome), "readable=0\n");
});

on_all_engines!(rust_env_canary_does_not_leak, |kind| {
    assert!(
        std::env::var_os("PATH").is_some(),
        "the host has a PATH canary"
    );
    let outcome = run(kind, &rust_guest(kind, "env_canary"), &no_caps(kind));
    assert_eq!((outcome.status, outcome.exit_code), (Status::Ok, 0));
    assert_eq!(stdout(&outcome), "count=0\n");
});

on_all_engines!(environ_is_empty_without_grants, |kind| {
    let outcome = run(kind, &load_wat(kind, "environ_count"), &no_caps(kind));
    assert_eq!((outcome.status, outcome.exit_code), (Status::Ok, 0));
});

on_all_engines!(rust_args_and_stdin_are_only_what_the_host_passes, |kind| {
    let invocation = Invocation {
        stdin: b"piped\n".to_vec(),
        args: vec!["a".into(), "b c".into()],
        program: "guest".into(),
        stream_stdin: false,
    };
    let outcome = run_with(
        kind,
        &rust_guest(kind, "args_echo"),
        &no_caps(kind),
        invocation,
    );
    assert_eq!((outcome.status, outcome.exit_code), (Status::Ok, 2));
    assert_eq!(stdout(&outcome), "args=[\"a\", \"b c\"]\nstdin=piped\n");
});

on_all_engines!(proc_raise_is_denied, |kind| {
    let outcome = run(kind, &load_wat(kind, "proc_raise"), &no_caps(kind));
    assert_denied_and_survived(&outcome, NOTCAPABLE);
    assert!(outcome.violations[0].message.contains("proc_raise(9)"));
});

on_all_engines!(socket_calls_are_denied, |kind| {
    let outcome = run(kind, &load_wat(kind, "socket_calls"), &no_caps(kind));
    assert_denied_and_survived(&outcome, 2);
    assert_eq!(outcome.violations.len(), 2);
});

on_all_engines!(clock_and_random_are_denied_without_grants, |kind| {
    let outcome = run(kind, &load_wat(kind, "clock_and_random"), &no_caps(kind));
    assert_denied_and_survived(&outcome, 2);
    assert!(outcome.violations[0].message.contains("clock = true"));
    assert!(outcome.violations[1].message.contains("random = true"));
});

on_all_engines!(rust_hashmap_without_random_is_denied_then_traps, |kind| {
    let outcome = run(
        kind,
        &rust_guest(kind, "hashmap_without_random"),
        &no_caps(kind),
    );
    assert_stopped_after(
        &outcome,
        &[ViolationKind::CapabilityDenied],
        ViolationKind::Trap,
    );
    assert_eq!(outcome.violations[0].kind, ViolationKind::CapabilityDenied);
});

on_all_engines!(sleep_forever_without_clock_is_denied, |kind| {
    let outcome = run(kind, &load_wat(kind, "sleep_forever"), &no_caps(kind));
    assert_denied_and_survived(&outcome, NOTCAPABLE);
});

on_all_engines!(sleep_forever_with_clock_times_out, |kind| {
    let mut caps = Capabilities::none();
    caps.grant_clock();
    let mut limits = test_limits();
    limits.timeout = std::time::Duration::from_millis(300);
    let policy = RunPolicy::new(limits, crate::support::metering(kind)).with_capabilities(caps);
    let outcome = run(kind, &load_wat(kind, "sleep_forever"), &policy);
    assert_stopped(&outcome, ViolationKind::Timeout);
});

fn clock_policy(kind: EngineKind, timeout_ms: u64) -> RunPolicy {
    let mut caps = Capabilities::none();
    caps.grant_clock();
    let mut limits = test_limits();
    limits.timeout = std::time::Duration::from_millis(timeout_ms);
    RunPolicy::new(limits, crate::support::metering(kind)).with_capabilities(caps)
}

on_all_engines!(poll_with_too_many_subscriptions_is_refused, |kind| {
    const INVAL: i32 = 28;
    let outcome = run(kind, &load_wat(kind, "poll_too_many"), &no_caps(kind));
    assert_denied_and_survived(&outcome, INVAL);
    assert_eq!(outcome.violations.len(), 1, "{outcome:#?}");
    assert!(outcome.violations[0].message.contains("4097 subscriptions"));
});

on_all_engines!(poll_on_a_descriptor_never_given_is_reported, |kind| {
    const BADF: i32 = 8;
    let outcome = run(kind, &load_wat(kind, "poll_never_given_fd"), &no_caps(kind));
    // The call itself fails with `BADF`: the guest exits with 100 + errno.
    assert_denied_and_survived(&outcome, 100 + BADF);
    assert_eq!(outcome.violations.len(), 1, "{outcome:#?}");
    let message = &outcome.violations[0].message;
    assert!(
        message.contains("`poll_oneoff` on descriptor 9") && message.contains("never given it"),
        "{message}"
    );
});

on_all_engines!(poll_on_ready_stdin_and_a_day_returns_at_once, |kind| {
    let outcome = run(
        kind,
        &load_wat(kind, "poll_stdin_or_a_day"),
        &clock_policy(kind, 3000),
    );
    assert_eq!(
        (outcome.status, outcome.exit_code),
        (Status::Ok, 7),
        "{outcome:#?}"
    );
    assert!(
        outcome.duration < std::time::Duration::from_secs(1),
        "{:?}",
        outcome.duration
    );
});

on_all_engines!(poll_until_an_absolute_time_ends_at_the_deadline, |kind| {
    let outcome = run(
        kind,
        &load_wat(kind, "poll_absolute_forever"),
        &clock_policy(kind, 300),
    );
    assert_stopped(&outcome, ViolationKind::Timeout);
    // The worker's wait ended at the deadline: the run did not need the
    // waiting thread's grace period (500 ms) to give up on it.
    assert!(
        outcome.duration < std::time::Duration::from_millis(300 + 300),
        "{:?}",
        outcome.duration
    );
});

// ---- imports and malformed modules ----------------------------------------

on_all_engines!(unknown_import_is_undeclared, |kind| {
    let outcome = run(kind, &load_wat(kind, "unknown_import"), &no_caps(kind));
    assert_stopped(&outcome, ViolationKind::UndeclaredImport);
    assert!(outcome.violations[0].message.contains("`env::system`"));
    assert_eq!(outcome.fuel_used, 0);
});

on_all_engines!(import_host_memory_is_undeclared, |kind| {
    let outcome = run(kind, &load_wat(kind, "import_host_memory"), &no_caps(kind));
    assert_stopped(&outcome, ViolationKind::UndeclaredImport);
});

on_all_engines!(thread_spawn_is_undeclared, |kind| {
    let outcome = run(kind, &load_wat(kind, "thread_spawn"), &no_caps(kind));
    assert_stopped(&outcome, ViolationKind::UndeclaredImport);
});

on_all_engines!(shared_memory_is_refused_at_load, |kind| {
    let err = runtime(kind).load(wat("shared_memory")).unwrap_err();
    assert!(matches!(err, RuntimeError::Unsupported { .. }), "{err:?}");
});

on_all_engines!(malformed_wat_is_an_input_error, |kind| {
    let err = runtime(kind).load(wat("malformed")).unwrap_err();
    assert!(matches!(err, RuntimeError::InvalidWat { .. }), "{err:?}");
});

on_all_engines!(malformed_and_truncated_wasm_are_input_errors, |kind| {
    let garbage = b"\0asm\x01\0\0\0\x01\xff\xff\xff\xff\x0f garbage".to_vec();
    let err = runtime(kind).load(ModuleInput::Wasm(garbage)).unwrap_err();
    assert!(matches!(err, RuntimeError::InvalidModule { .. }), "{err:?}");
    let valid = rust_guest(kind, "panics").bytes().to_vec();
    for cut in [4, 9, valid.len() / 2, valid.len() - 1] {
        let err = runtime(kind)
            .load(ModuleInput::Wasm(valid[..cut].to_vec()))
            .unwrap_err();
        assert!(matches!(err, RuntimeError::InvalidModule { .. }), "{err:?}");
    }
});

// ---- traps ---------------------------------------------------------------

on_all_engines!(unreachable_is_a_trap, |kind| {
    let outcome = run(kind, &load_wat(kind, "unreachable"), &no_caps(kind));
    assert_stopped(&outcome, ViolationKind::Trap);
});

on_all_engines!(rust_panic_is_a_trap, |kind| {
    let outcome = run(kind, &rust_guest(kind, "panics"), &no_caps(kind));
    assert_stopped(&outcome, ViolationKind::Trap);
    assert!(String::from_utf8_lossy(&outcome.stderr).contains("index out of bounds"));
});

on_all_engines!(exit_code_passes_through, |kind| {
    let outcome = run(kind, &load_wat(kind, "exit_code"), &no_caps(kind));
    assert_eq!((outcome.status, outcome.exit_code), (Status::Ok, 42));
    assert!(outcome.violations.is_empty());
});

// ---- the host ------------------------------------------------------------

// Runs the memory and output bombs repeatedly, on every engine, and checks that
// this process's resident memory does not grow with them. The bound is generous
// (other tests run in parallel in the same process): 512 MiB of growth over ten
// rounds of guests that each try to take far more. Each bomb stops at its limit
// within milliseconds, even on the interpreter.
on_all_engines!(host_memory_stays_bounded, |kind| {
    let bombs = [
        load_wat(kind, "memory_grow_bomb"),
        load_wat(kind, "stdout_flood"),
        rust_guest(kind, "memory_bomb"),
    ];
    let policy = no_caps(kind);
    for bomb in &bombs {
        run(kind, bomb, &policy);
    }
    let before = crate::support::rss_bytes().expect("VmRSS");
    for _ in 0..10 {
        for bomb in &bombs {
            let outcome = run(kind, bomb, &policy);
            assert_eq!(outcome.status, Status::Violation);
        }
    }
    let after = crate::support::rss_bytes().expect("VmRSS");
    assert!(
        after < before + (512 << 20),
        "resident memory grew from {before} to {after} bytes"
    );
});
