//! Help that is true: for the findings whose generic fix used to point the
//! wrong way, the help names what is really missing, and applying it clears
//! the finding. These texts also feed `anrf gen`'s repair loop.

use anrf_format::Profile;
use anrf_verify::CheckId;

use crate::support::*;

/// The help of the first open finding `id`.
fn help_of(report: &anrf_verify::Report, id: CheckId) -> String {
    report
        .findings
        .iter()
        .find(|f| f.id == id && !f.is_suppressed())
        .unwrap_or_else(|| panic!("no open {id:?}: {:?}", ids(report)))
        .help
        .clone()
}

const READS_DATA: &str = r#"fn count_words(text: &str) -> usize {
    text.split_whitespace().count()
}

fn main() {
    let text = std::fs::read_to_string("/data/words.txt").unwrap_or_default();
    println!("{}", count_words(&text));
}
"#;

#[test]
fn s010_when_the_directory_is_declared_names_the_approval_that_is_missing() {
    let fixture = Fixture::rust()
        .source(READS_DATA)
        .file("data/words.txt", "two words\n")
        .effects("[\"stdin\", \"stdout\", \"fs-read\"]")
        .capabilities("dirs = [{ guest = \"/data\", host = \"data\", access = \"read-only\" }]\nenv = []\nclock = false\nrandom = false\nnetwork = []\n")
        .overrides(&override_toml("ovr-0da7a001", "module", "allow-read:data", "2027-06-30"));
    let written = fixture.write();
    let policy = policy();
    let report = written.verify_with(&policy, Profile::Test);
    let help = help_of(&report, CheckId::S010);
    assert!(
        help.contains("the manifest declares `dir /data -> data (read-only)`")
            && help.contains("anrf override approve ovr-0da7a001"),
        "{help}"
    );
    assert!(!help.contains("grant a directory in"), "{help}");
    // Applied: the approval the help names.
    written.approve(&policy, "ovr-0da7a001", "bob", Profile::Test);
    let report = written.verify_with(&policy, Profile::Test);
    assert!(
        !open_ids(&report).contains(&CheckId::S010),
        "{:?}",
        ids(&report)
    );
}

const UNSAFE_RS: &str = r#"fn count_words(text: &str) -> usize {
    let bytes = text.as_bytes();
    let first = unsafe { *bytes.as_ptr() };
    text.split_whitespace().count() + usize::from(first == 0)
}

fn main() {
    println!("{}", count_words("a b"));
}
"#;

#[test]
fn s001_when_the_override_exists_names_its_approval_not_a_new_request() {
    let fixture = Fixture::rust()
        .source(UNSAFE_RS)
        .memory_safety("sandbox-only")
        .overrides(&override_toml(
            "ovr-0c0ffee1",
            "function:count_words",
            "memory-unsafe",
            "2027-06-30",
        ));
    let written = fixture.write();
    let policy = policy();
    let report = written.verify_with(&policy, Profile::Test);
    let help = help_of(&report, CheckId::S001);
    assert!(
        help.contains("override `ovr-0c0ffee1`")
            && help.contains("anrf override approve ovr-0c0ffee1"),
        "{help}"
    );
    assert!(!help.contains("anrf override request"), "{help}");
    written.approve(&policy, "ovr-0c0ffee1", "bob", Profile::Test);
    let report = written.verify_with(&policy, Profile::Test);
    assert!(
        !open_ids(&report).contains(&CheckId::S001),
        "{:?}",
        ids(&report)
    );
}

/// Reads 8 random bytes, then prints `2\n`.
const RANDOM_WAT: &str = r#"(module
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "2\n")
  (func (export "_start")
    (drop (call $random (i32.const 64) (i32.const 8)))
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 2))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;

#[test]
fn t003_for_randomness_names_the_capability_and_the_effect_and_both_clear_it() {
    let report = Fixture::rust()
        .wat(RANDOM_WAT)
        .write()
        .verify(Profile::Test);
    let help = help_of(&report, CheckId::T003);
    assert!(
        help.contains("`random = true` under `[security.capabilities]`")
            && help.contains("`\"random\"` to `logic.effects`"),
        "{help}"
    );
    let fixed = Fixture::rust()
        .wat(RANDOM_WAT)
        .capabilities(&NO_CAPS.replace("random = false", "random = true"))
        .effects("[\"stdin\", \"stdout\", \"random\"]")
        .write()
        .verify(Profile::Test);
    let open = open_ids(&fixed);
    assert!(!open.contains(&CheckId::T003), "{open:?}");
    assert!(
        !open.contains(&CheckId::M009),
        "the effect matches the capability: {open:?}"
    );
}

/// Loops long enough to exhaust a small fuel budget, then prints `2\n`.
const BUSY_WAT: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "2\n")
  (func (export "_start") (local i32)
    (loop $l
      (local.set 0 (i32.add (local.get 0) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get 0) (i32.const 20000000))))
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 2))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;

#[test]
fn t003_for_a_limit_names_the_limit_and_raising_it_within_the_default_clears_it() {
    let mut fixture = Fixture::rust().wat(BUSY_WAT);
    fixture.limits = fixture.limits.replace("fuel = 100000000", "fuel = 1000000");
    let report = fixture.write().verify(Profile::Test);
    let help = help_of(&report, CheckId::T003);
    assert!(
        help.contains("raise `fuel` under `[security.limits]`"),
        "{help}"
    );
    fixture.limits = fixture
        .limits
        .replace("fuel = 1000000", "fuel = 1000000000");
    let report = fixture.write().verify(Profile::Test);
    assert!(
        !open_ids(&report).contains(&CheckId::T003),
        "{:?}",
        ids(&report)
    );
}

/// Prints `2\n` and touches nothing.
const PRINTS_TWO_WAT: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "2\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 2))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;

#[test]
fn t004_for_a_missing_read_only_directory_names_it_and_creating_it_clears_it() {
    let fixture = Fixture::rust()
        .wat(PRINTS_TWO_WAT)
        .effects("[\"stdin\", \"stdout\", \"fs-read\"]")
        .capabilities(&NO_CAPS.replace(
            "dirs = []",
            "dirs = [{ guest = \"/data\", host = \"data\", access = \"read-only\" }]",
        ))
        .overrides(&override_toml(
            "ovr-0da7a004",
            "module",
            "allow-read:data",
            "2027-06-30",
        ));
    let written = fixture.write();
    let policy = policy();
    written.approve(&policy, "ovr-0da7a004", "bob", Profile::Test);
    let report = written.verify_with(&policy, Profile::Test);
    let finding = report
        .findings
        .iter()
        .find(|f| f.id == CheckId::T004)
        .unwrap_or_else(|| panic!("no T004: {:?}", ids(&report)));
    assert!(
        finding.message.contains("read-only directory `data`"),
        "{}",
        finding.message
    );
    assert!(
        finding.help.contains("mkdir -p ") && finding.help.contains("/data`"),
        "{}",
        finding.help
    );
    // Applied: the directory the help names.
    std::fs::create_dir(written.root.join("data")).unwrap();
    let report = written.verify_with(&policy, Profile::Test);
    assert!(
        !open_ids(&report).contains(&CheckId::T004),
        "{:?}",
        ids(&report)
    );
}
