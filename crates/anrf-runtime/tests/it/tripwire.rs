//! The tripwire preopen at `/` is backed by a private directory of each
//! runtime's, not by a fixed name in the shared temporary directory that any
//! local user could plant first.
//!
//! The planted path depends on `TMPDIR`, which a test cannot change in its own
//! process without `unsafe`; so each test re-runs this binary's ignored
//! `runs_in_a_planted_tmpdir` with `TMPDIR` set to a directory of its own.

use std::path::Path;
use std::process::Command;

use anrf_runtime::{
    Capabilities, EngineKind, Invocation, Limits, Metering, ModuleInput, RunPolicy, Runtime,
    RuntimeConfig, Status, ViolationKind,
};

use crate::support::hostile_dir;

/// Where the old code put the tripwire directory: `$TMPDIR/anrf-tripwire-root`.
const OLD_PATH: &str = "anrf-tripwire-root";

fn run_inner(tmp: &Path) {
    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "tripwire::runs_in_a_planted_tmpdir",
            "--exact",
            "--ignored",
            "--test-threads=1",
        ])
        .env("TMPDIR", tmp)
        .output()
        .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{report}");
    assert!(report.contains("1 passed"), "{report}");
}

#[test]
fn a_file_planted_at_the_old_path_does_not_matter() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join(OLD_PATH), "planted").unwrap();
    run_inner(tmp.path());
}

#[test]
fn a_directory_with_content_planted_at_the_old_path_does_not_matter() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join(OLD_PATH)).unwrap();
    std::fs::write(tmp.path().join(OLD_PATH).join("secret.txt"), "planted").unwrap();
    run_inner(tmp.path());
}

#[cfg(unix)]
#[test]
fn a_symlink_planted_at_the_old_path_does_not_matter() {
    let tmp = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/nonexistent/anrf", tmp.path().join(OLD_PATH)).unwrap();
    run_inner(tmp.path());
}

/// Run by the tests above in a process whose `TMPDIR` holds something at the
/// old path. Every engine runs a guest that reaches for the tripwire; the
/// runtime's tripwire directory is a fresh private, empty one.
#[test]
#[ignore = "run by the tripwire tests in a process with its own TMPDIR"]
fn runs_in_a_planted_tmpdir() {
    let tmp = std::env::temp_dir();
    assert!(
        std::fs::symlink_metadata(tmp.join(OLD_PATH)).is_ok(),
        "nothing planted"
    );
    let wat = std::fs::read_to_string(hostile_dir().join("wat/open_passwd_absolute.wat")).unwrap();
    for kind in [EngineKind::Interp, EngineKind::Jit, EngineKind::Aot] {
        let runtime = Runtime::new(
            kind,
            RuntimeConfig {
                cache_dir: None,
                metering: None,
                ..RuntimeConfig::default()
            },
        )
        .unwrap();
        let ours: Vec<_> = std::fs::read_dir(&tmp)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap() != OLD_PATH)
            .collect();
        assert_eq!(ours.len(), 1, "{ours:?}");
        let dir = &ours[0];
        assert!(
            dir.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("anrf-tripwire-")
        );
        assert_eq!(std::fs::read_dir(dir).unwrap().count(), 0, "not empty");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::symlink_metadata(dir).unwrap().permissions().mode();
            assert_eq!(mode & 0o7777, 0o700);
        }

        let metering = match kind {
            EngineKind::Aot => Metering::Epoch,
            _ => Metering::Fuel,
        };
        let policy =
            RunPolicy::new(Limits::default(), metering).with_capabilities(Capabilities::none());
        let module = runtime.load(ModuleInput::Wat(wat.clone())).unwrap();
        let outcome = runtime
            .run(&module, &policy, Invocation::default())
            .unwrap();
        assert_eq!(
            (outcome.status, outcome.exit_code),
            (Status::Violation, 76),
            "{outcome:#?}"
        );
        assert_eq!(outcome.violations[0].kind, ViolationKind::CapabilityDenied);
        drop(runtime);
        assert!(!dir.exists(), "the tripwire directory outlived its runtime");
    }
}
