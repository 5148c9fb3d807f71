//! What the verifier reads, and what it lets pass: only regular files inside
//! the module, each read bounded; nothing `anrf run` refuses; examples on a
//! scratch copy of their writable directories.

use std::path::Path;

use anrf_format::Profile;
use anrf_policy::ProjectPolicy;
use anrf_verify::explain::explain;
use anrf_verify::unsupported::{PROCESS_ISOLATION, network_message};
use anrf_verify::{CheckId, Report, Status};

use crate::support::{Fixture, ids, override_toml};

/// The written module's manifest with `from` replaced by `to`.
fn edit_manifest(root: &Path, from: &str, to: &str) {
    let path = root.join("anrf.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "manifest lacks {from:?}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

fn finding(report: &Report, id: CheckId) -> &anrf_verify::Finding {
    report
        .findings
        .iter()
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("no {id} in {:?}", report.findings))
}

#[test]
fn m014_process_isolation_blocks_in_every_profile_and_is_not_explained_away() {
    let module = Fixture::rust().write();
    edit_manifest(
        &module.root,
        "isolation = \"wasm\"",
        "isolation = \"process\"",
    );
    for profile in [Profile::Dev, Profile::Test, Profile::Prod] {
        let report = module.verify(profile);
        let m014 = finding(&report, CheckId::M014);
        // The words `anrf run` refuses it with.
        assert_eq!(m014.message, PROCESS_ISOLATION);
        let text = std::fs::read_to_string(module.root.join("anrf.toml")).unwrap();
        let line = text
            .lines()
            .position(|l| l.starts_with("isolation"))
            .unwrap()
            + 1;
        assert_eq!(
            m014.location.as_ref().unwrap().line,
            Some(u32::try_from(line).unwrap()),
            "{m014:?}"
        );
        assert!(anrf_verify::blocks(m014, profile));
        assert!(!report.passed(), "{profile}");
        assert_eq!(report.exit_code(), 1);
        assert_eq!(
            report.outcome(CheckId::M014).unwrap().status,
            Status::Failed
        );
        // Nothing ran: it is a safety finding.
        assert!(report.facts.examples.is_empty());

        let explanation = explain(&report);
        assert!(!explanation.may_run);
        let text = anrf_verify::explain::human(&explanation);
        assert!(text.contains("may NOT run"), "{text}");
        assert!(!text.contains("wasm sandbox on every engine"), "{text}");
        assert!(text.contains("ANRF-M014"), "{text}");
    }
}

#[test]
fn m014_a_granted_network_host_blocks_and_is_not_claimed() {
    let policy = ProjectPolicy::parse(
        "version = 1\n\n[maxima]\nnetwork = [\"example.com\"]\n",
        "anrf-policy.toml",
    )
    .unwrap();
    let report = Fixture::rust()
        .capabilities(
            "dirs = []\nenv = []\nclock = false\nrandom = false\nnetwork = [\"example.com\"]\n",
        )
        .effects("[\"stdin\", \"stdout\", \"network\"]")
        .overrides(&override_toml(
            "ovr-0000000e",
            "module",
            "allow-network:example.com",
            "2027-01-31",
        ))
        .write()
        .verify_with(&policy, Profile::Dev);
    // The policy grants it (M008 passes), the runtime does not provide it.
    assert_eq!(
        report.outcome(CheckId::M008).unwrap().status,
        Status::Passed,
        "{:?}",
        report.findings
    );
    let m014 = finding(&report, CheckId::M014);
    assert_eq!(m014.message, network_message("example.com"));
    assert!(!report.passed());
    let text = anrf_verify::explain::human(&explain(&report));
    assert!(!text.contains("It may use `network"), "{text}");
}

/// A guest that creates `new.txt` in its first granted directory, deletes
/// `old.txt` there, and prints `ok` only when both succeeded.
const WRITER: &str = r#"(module
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_unlink_file" (func $unlink (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 100) "new.txt")
  (data (i32.const 120) "old.txt")
  (data (i32.const 140) "ok\n")
  (data (i32.const 150) "fail\n")
  (func (export "_start")
    (local $errors i32)
    ;; path_open(3, follow, "new.txt", O_CREAT|O_TRUNC, FD_WRITE, 0, 0, &fd@200)
    (local.set $errors (call $path_open (i32.const 3) (i32.const 0) (i32.const 100) (i32.const 7)
      (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 200)))
    ;; write "ok\n" into the new file
    (i32.store (i32.const 0) (i32.const 140))
    (i32.store (i32.const 4) (i32.const 3))
    (local.set $errors (i32.or (local.get $errors)
      (call $fd_write (i32.load (i32.const 200)) (i32.const 0) (i32.const 1) (i32.const 8))))
    (local.set $errors (i32.or (local.get $errors)
      (call $unlink (i32.const 3) (i32.const 120) (i32.const 7))))
    (if (local.get $errors)
      (then
        (i32.store (i32.const 0) (i32.const 150))
        (i32.store (i32.const 4) (i32.const 5))))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;

fn writer() -> Fixture {
    Fixture::rust()
        .wat(WRITER)
        .capabilities("dirs = [{ guest = \"/out\", host = \"out\", access = \"read-write\" }]\nenv = []\nclock = false\nrandom = false\nnetwork = []\n")
        .effects("[\"stdin\", \"stdout\", \"fs-write\"]")
        .examples("[[intent.examples]]\nname = \"writes\"\nstdin = \"\"\nstdout = \"ok\\n\"\n")
        .overrides(&override_toml("ovr-0000000f", "module", "allow-write:out", "2027-01-31"))
        .file("out/old.txt", "keep me\n")
}

#[test]
fn examples_write_and_delete_in_a_scratch_copy_never_the_real_directory() {
    let module = writer().write();
    let report = module.verify(Profile::Dev);
    // The example passed: the guest did create and delete, in the copy.
    assert_eq!(
        report.outcome(CheckId::T001).unwrap().status,
        Status::Passed,
        "{:?}",
        report.findings
    );
    assert!(report.facts.examples[0].passed, "{:?}", report.findings);
    let out = module.root.join("out");
    assert_eq!(
        std::fs::read_to_string(out.join("old.txt")).unwrap(),
        "keep me\n"
    );
    assert!(!out.join("new.txt").exists());
    // A second example run sees the original again.
    let again = module.verify(Profile::Dev);
    assert!(again.facts.examples[0].passed, "{:?}", again.findings);
}

#[test]
fn a_symlink_in_a_writable_directory_is_not_followed_into_the_copy() {
    let module = writer().write();
    std::os::unix::fs::symlink("/etc", module.root.join("out/etc")).unwrap();
    let report = module.verify(Profile::Dev);
    assert_eq!(ids(&report), vec![CheckId::T004], "{:?}", report.findings);
    let t004 = &report.findings[0];
    assert!(
        t004.message
            .contains("`out/etc` is a symbolic link; the scratch copy follows no links"),
        "{}",
        t004.message
    );
    assert!(t004.help.contains("no symbolic links"), "{}", t004.help);

    // The granted directory itself a link to elsewhere.
    let module = writer().write();
    std::fs::remove_dir_all(module.root.join("out")).unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(elsewhere.path(), module.root.join("out")).unwrap();
    let report = module.verify(Profile::Dev);
    assert!(
        report.findings.iter().any(|f| f.id == CheckId::T004
            && f.message
                .contains("`out` is a symbolic link or not a directory")),
        "{:?}",
        report.findings
    );
}

/// Makes `path` a FIFO (replacing what is there). Until dropped, a reader left
/// blocked on it is released every few seconds (a writer opens and closes it),
/// so a regression fails the test with a wrong report instead of hanging it.
struct Fifo {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Fifo {
    fn at(path: &Path) -> Fifo {
        use std::sync::atomic::Ordering;
        let _ = std::fs::remove_file(path);
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            path,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let path = path.to_path_buf();
        std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_secs(5));
                // Succeeds only while a reader has it open.
                let _ = std::fs::OpenOptions::new()
                    .write(true)
                    .custom_flags(rustix::fs::OFlags::NONBLOCK.bits().cast_signed())
                    .open(&path);
            }
        });
        Fifo { stop }
    }
}

use std::os::unix::fs::OpenOptionsExt as _;

impl Drop for Fifo {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

fn link_to_dev_zero(path: &Path) {
    let _ = std::fs::remove_file(path);
    std::os::unix::fs::symlink("/dev/zero", path).unwrap();
}

/// A 16 GiB file that takes no space.
fn sparse(path: &Path) {
    let file = std::fs::File::create(path).unwrap();
    file.set_len(16 * 1024 * 1024 * 1024).unwrap();
}

fn has(report: &Report, id: CheckId, words: &str) -> bool {
    report
        .findings
        .iter()
        .any(|f| f.id == id && f.message.contains(words))
}

#[test]
fn a_fifo_as_source_artifact_or_cargo_toml_is_a_finding_not_a_hang() {
    let module = Fixture::rust().write();
    let _fifo = Fifo::at(&module.root.join("src/main.rs"));
    let report = module.verify(Profile::Dev);
    assert!(
        has(&report, CheckId::M004, "`src/main.rs`"),
        "{:?}",
        report.findings
    );
    assert!(!report.passed());

    let module = Fixture::rust().write();
    let _fifo = Fifo::at(&module.root.join("target/guest.wasm"));
    let report = module.verify(Profile::Dev);
    assert!(has(&report, CheckId::M002, "FIFO"), "{:?}", report.findings);

    let module = Fixture::rust().write();
    let _fifo = Fifo::at(&module.root.join("Cargo.toml"));
    let report = module.verify(Profile::Dev);
    assert!(
        has(&report, CheckId::S103, "`Cargo.toml`"),
        "{:?}",
        report.findings
    );
}

#[test]
fn a_link_to_dev_zero_as_source_artifact_or_cargo_toml_is_never_read() {
    let module = Fixture::rust().write();
    link_to_dev_zero(&module.root.join("src/main.rs"));
    let report = module.verify(Profile::Dev);
    assert!(
        has(&report, CheckId::M004, "symbolic link"),
        "{:?}",
        report.findings
    );

    let module = Fixture::rust().write();
    link_to_dev_zero(&module.root.join("target/guest.wasm"));
    let report = module.verify(Profile::Dev);
    assert!(
        has(&report, CheckId::M002, "guest.wasm"),
        "{:?}",
        report.findings
    );

    let module = Fixture::rust().write();
    link_to_dev_zero(&module.root.join("Cargo.toml"));
    let report = module.verify(Profile::Dev);
    assert!(
        has(&report, CheckId::S103, "Cargo.toml"),
        "{:?}",
        report.findings
    );
}

#[test]
fn a_16_gib_sparse_file_is_a_finding_not_an_out_of_memory_kill() {
    let module = Fixture::rust().write();
    sparse(&module.root.join("src/main.rs"));
    let report = module.verify(Profile::Dev);
    assert!(!report.passed());
    assert!(
        report
            .findings
            .iter()
            .any(|f| matches!(f.id, CheckId::M004 | CheckId::S011)
                && f.location
                    .as_ref()
                    .is_some_and(|l| l.file.contains("main.rs"))),
        "{:?}",
        report.findings
    );

    let module = Fixture::rust().write();
    sparse(&module.root.join("target/guest.wasm"));
    let report = module.verify(Profile::Dev);
    assert!(
        has(&report, CheckId::M002, "guest.wasm"),
        "{:?}",
        report.findings
    );

    let module = Fixture::rust().write();
    sparse(&module.root.join("Cargo.toml"));
    let report = module.verify(Profile::Dev);
    assert!(
        has(&report, CheckId::S103, "Cargo.toml"),
        "{:?}",
        report.findings
    );
}

#[test]
fn the_cache_key_reads_no_special_file_and_nothing_over_its_budget() {
    // Files the key hashes that are not sources: a link to a device, a FIFO,
    // a link out of the module are hashed without being read.
    let module = Fixture::rust().write();
    link_to_dev_zero(&module.root.join("zero"));
    std::os::unix::fs::symlink("/etc/passwd", module.root.join("passwd")).unwrap();
    let _fifo = Fifo::at(&module.root.join("pipe"));
    let policy = ProjectPolicy::builtin();
    let options = anrf_verify::VerifyOptions::new(&policy, Profile::Dev);
    let key = anrf_verify::Cache::key(&module.module(), &options);
    assert!(key.is_some());
    // A link's key is its target's text, not the content behind it.
    std::fs::remove_file(module.root.join("passwd")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", module.root.join("passwd")).unwrap();
    assert_ne!(anrf_verify::Cache::key(&module.module(), &options), key);

    // A data file over the hashing budget: not cached, and not read.
    let module = Fixture::rust().write();
    sparse(&module.root.join("huge.bin"));
    assert_eq!(anrf_verify::Cache::key(&module.module(), &options), None);
}

#[test]
fn twenty_thousand_sources_are_verified_and_located() {
    // 19 999 listed sources that do not exist besides `src/main.rs`: every
    // one is a finding located at its own line. Each lookup used to parse the
    // whole manifest again (20 000 entries took 93 s).
    let module = Fixture::rust().write();
    let n = 20_000;
    let missing: Vec<String> = (1..n).map(|i| format!("  \"src/m{i:05}.rs\",\n")).collect();
    edit_manifest(
        &module.root,
        "sources = [\"src/main.rs\"]",
        &format!("sources = [\n  \"src/main.rs\",\n{}]", missing.concat()),
    );
    let text = std::fs::read_to_string(module.root.join("anrf.toml")).unwrap();
    let first = text
        .lines()
        .position(|l| l == "  \"src/main.rs\",")
        .unwrap()
        + 1;
    let report = module.verify_static(Profile::Dev);
    let m004: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.id == CheckId::M004)
        .collect();
    assert_eq!(m004.len(), n - 1);
    for (i, finding) in m004.iter().enumerate() {
        assert_eq!(
            finding.location.as_ref().unwrap().line,
            Some(u32::try_from(first + 1 + i).unwrap()),
            "{finding:?}"
        );
    }
}

#[test]
fn a_directory_link_leading_out_of_the_module_is_not_read() {
    // `target` (holding the artifact) and `src` moved out, linked back in.
    let module = Fixture::rust().write();
    let outside = tempfile::tempdir().unwrap();
    for dir in ["target", "src"] {
        let to = outside.path().join(dir);
        std::fs::rename(module.root.join(dir), &to).unwrap();
        std::os::unix::fs::symlink(&to, module.root.join(dir)).unwrap();
    }
    let report = module.verify(Profile::Dev);
    assert!(
        has(&report, CheckId::M002, "leads outside the module directory"),
        "{:?}",
        report.findings
    );
    assert!(
        has(&report, CheckId::M004, "leads outside the module directory"),
        "{:?}",
        report.findings
    );
    // Nothing outside is hashed either.
    assert_eq!(report.digest, None);
}
