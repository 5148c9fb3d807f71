//! `anrf verify` and `anrf explain` through the real binary: exit codes,
//! formats, profiles, the cache, the audit event, and the bundled examples.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn anrf(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_anrf"));
    cmd.env("ANRF_HOME", home)
        .env("USER", "tester")
        .env_remove("RUSTC");
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap()
}

/// Prints `2\n` whatever its input.
const PRINT_TWO: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "2\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 2))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))"#;

const FOREIGN_IMPORT: &str = r#"(module
  (import "env" "system" (func $system))
  (memory (export "memory") 1)
  (func (export "_start") (call $system)))"#;

fn manifest(name: &str, expected: &str) -> String {
    format!(
        r#"anrf = 1

[module]
name = "{name}"
version = "0.1.0"

[intent]
summary = "Print the number of words on stdin"

[[intent.examples]]
name = "two words"
stdin = "hello world\n"
stdout = "{expected}"

[logic]
interface = "command"
effects = ["stdin", "stdout"]

[implementation]
language = "wat"
sources = ["guest.wat"]

[security]
memory_safety = "enforced"
isolation = "wasm"
overrides = []

[security.limits]
memory = "16MiB"
fuel = 100000000
timeout = "2s"
stack = "256KiB"
stdout = "64KiB"
stderr = "64KiB"

[security.capabilities]
dirs = []
env = []
clock = false
random = false
network = []
"#
    )
}

struct Workspace {
    tmp: tempfile::TempDir,
}

impl Workspace {
    fn new() -> Self {
        Workspace {
            tmp: tempfile::tempdir().unwrap(),
        }
    }

    fn home(&self) -> PathBuf {
        self.tmp.path().join("home")
    }

    /// `anrf` run from the workspace directory, so module paths are relative.
    fn anrf(&self) -> Command {
        let mut cmd = anrf(&self.home());
        cmd.current_dir(self.tmp.path());
        cmd
    }

    /// Writes and builds a WAT module at `name`.
    fn wat_module(&self, name: &str, wat: &str, expected: &str) -> String {
        let dir = self.tmp.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("anrf.toml"), manifest(name, expected)).unwrap();
        std::fs::write(dir.join("guest.wat"), wat).unwrap();
        let out = self.anrf().args(["build", name]).output().unwrap();
        assert!(out.status.success(), "build: {}", text(&out.stderr));
        name.to_owned()
    }
}

fn settings(ws: &Workspace) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"sha256:[0-9a-f]{64}", "sha256:[digest]");
    settings.add_filter(r"[0-9a-f]{64}", "[hash]");
    settings.add_filter(&regex_escape(&ws.tmp.path().display().to_string()), "[tmp]");
    settings
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' || c == '_' || c == '-' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

#[test]
fn exit_codes_follow_the_contract() {
    let ws = Workspace::new();
    let clean = ws.wat_module("clean", PRINT_TWO, "2\\n");
    let unsafe_import = ws.wat_module("foreign", FOREIGN_IMPORT, "2\\n");

    let out = ws.anrf().args(["verify", &clean]).output().unwrap();
    assert_eq!(code(&out), 0, "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("result: passed"));

    let out = ws.anrf().args(["verify", &unsafe_import]).output().unwrap();
    assert_eq!(code(&out), 1, "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("error[ANRF-W002]"));

    let out = ws.anrf().args(["verify", "nowhere"]).output().unwrap();
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("no module at `nowhere`"),
        "{}",
        text(&out.stderr)
    );

    let out = ws
        .anrf()
        .args(["verify", &clean, "--format", "xml"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2);

    std::fs::write(ws.tmp.path().join("tool.wat"), PRINT_TWO).unwrap();
    let out = ws.anrf().args(["verify", "tool.wat"]).output().unwrap();
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("bare wasm module"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn human_report_of_a_blocked_module() {
    let ws = Workspace::new();
    let module = ws.wat_module("foreign", FOREIGN_IMPORT, "2\\n");
    let out = ws
        .anrf()
        .args(["verify", &module, "--profile", "test"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    settings(&ws).bind(|| insta::assert_snapshot!(text(&out.stdout)));
}

#[test]
fn profiles_decide_what_blocks() {
    let ws = Workspace::new();
    // The example expects `3\n`; the guest prints `2\n`: a correctness error.
    let module = ws.wat_module("wrong", PRINT_TWO, "3\\n");
    let dev = ws
        .anrf()
        .args(["verify", &module, "--profile", "dev"])
        .output()
        .unwrap();
    assert_eq!(code(&dev), 0, "{}", text(&dev.stdout));
    assert!(text(&dev.stdout).contains("error[ANRF-T001]"));
    for profile in ["test", "prod"] {
        let out = ws
            .anrf()
            .args(["verify", &module, "--profile", profile])
            .output()
            .unwrap();
        assert_eq!(code(&out), 1, "{profile}: {}", text(&out.stdout));
    }
}

#[test]
fn json_and_sarif_formats() {
    let ws = Workspace::new();
    let module = ws.wat_module("foreign", FOREIGN_IMPORT, "2\\n");
    let out = ws
        .anrf()
        .args(["verify", &module, "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["exit_code"], 1);
    assert_eq!(json["passed"], false);
    assert_eq!(json["findings"][0]["id"], "ANRF-W002");
    assert_eq!(json["profile"], "dev");

    let out = ws
        .anrf()
        .args(["verify", &module, "--format", "sarif", "-o", "out.sarif"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1);
    assert!(
        text(&out.stderr).contains("report written to `out.sarif`"),
        "{}",
        text(&out.stderr)
    );
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ws.tmp.path().join("out.sarif")).unwrap())
            .unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "ANRF-W002");
    assert_eq!(
        result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "foreign/target/anrf/foreign.wasm"
    );
}

#[test]
fn the_cache_returns_the_same_report_and_no_cache_bypasses_it() {
    let ws = Workspace::new();
    let module = ws.wat_module("clean", PRINT_TWO, "2\\n");
    let first = ws
        .anrf()
        .args(["verify", &module, "--format", "json"])
        .output()
        .unwrap();
    let second = ws
        .anrf()
        .args(["verify", &module, "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(code(&first), 0);
    assert_eq!(first.stdout, second.stdout, "a hit returns the same report");
    let entries = std::fs::read_dir(ws.home().join("cache/verify"))
        .unwrap()
        .count();
    assert_eq!(entries, 1);

    let human = ws.anrf().args(["verify", &module]).output().unwrap();
    assert!(
        text(&human.stderr).contains("verification cache"),
        "{}",
        text(&human.stderr)
    );
    let fresh = ws
        .anrf()
        .args(["verify", &module, "--no-cache"])
        .output()
        .unwrap();
    assert!(!text(&fresh.stderr).contains("verification cache"));

    // Editing the source and rebuilding changes the key.
    std::fs::write(ws.tmp.path().join("clean/guest.wat"), FOREIGN_IMPORT).unwrap();
    assert!(
        ws.anrf()
            .args(["build", &module])
            .output()
            .unwrap()
            .status
            .success()
    );
    let after = ws.anrf().args(["verify", &module]).output().unwrap();
    assert_eq!(code(&after), 1);
}

#[test]
fn every_verification_is_audited() {
    let ws = Workspace::new();
    let module = ws.wat_module("clean", PRINT_TWO, "2\\n");
    assert_eq!(
        code(
            &ws.anrf()
                .args(["verify", &module, "--profile", "test"])
                .output()
                .unwrap()
        ),
        0
    );
    let out = ws
        .anrf()
        .args(["audit", "log", "--kind", "verify", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let events: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let events = events.as_array().unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    let event = serde_json::to_string(&events[0]).unwrap();
    assert!(event.contains("\"allow\""), "{event}");
    assert!(event.contains("\"profile\":\"test\""), "{event}");
}

#[test]
fn explain_states_facts_with_evidence() {
    let ws = Workspace::new();
    let module = ws.wat_module("clean", PRINT_TWO, "2\\n");
    let out = ws.anrf().args(["explain", &module]).output().unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    settings(&ws).bind(|| insta::assert_snapshot!(text(&out.stdout)));

    let out = ws
        .anrf()
        .args(["explain", &module, "--json"])
        .output()
        .unwrap();
    settings(&ws).bind(|| insta::assert_snapshot!("explain_json", text(&out.stdout)));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["may_run"], true);
    for section in json["sections"].as_array().unwrap() {
        for statement in section["statements"].as_array().unwrap() {
            assert!(
                !statement["evidence"].as_array().unwrap().is_empty(),
                "{statement}"
            );
        }
    }
}

#[test]
fn explain_of_a_blocked_module_claims_nothing_unestablished() {
    let ws = Workspace::new();
    let module = ws.wat_module("foreign", FOREIGN_IMPORT, "2\\n");
    let out = ws.anrf().args(["explain", &module]).output().unwrap();
    assert_eq!(code(&out), 0);
    let out = text(&out.stdout);
    assert!(out.contains("may NOT run"), "{out}");
    assert!(!out.contains("intent examples ran"), "{out}");
    assert!(out.contains("not established"), "{out}");
}

#[test]
fn help_carries_examples() {
    for cmd in ["verify", "explain"] {
        let out = anrf(Path::new("/nonexistent"))
            .args([cmd, "--help"])
            .output()
            .unwrap();
        assert!(out.status.success());
        let help = text(&out.stdout);
        assert!(help.contains(&format!("anrf {cmd} examples/")), "{help}");
        insta::assert_snapshot!(format!("{cmd}_help"), help);
    }
}

/// Copies an example without its build output.
fn copy_module(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if name == "target" {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_module(&path, &to.join(&name));
        } else {
            std::fs::copy(&path, to.join(&name)).unwrap();
        }
    }
}

#[test]
fn bundled_examples_verify_clean() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples");
    let ws = Workspace::new();
    let mut names: Vec<String> = std::fs::read_dir(&examples)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().join("anrf.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(!names.is_empty());
    for name in &names {
        copy_module(&examples.join(name), &ws.tmp.path().join(name));
        let built = ws.anrf().args(["build", name]).output().unwrap();
        assert!(
            built.status.success(),
            "build {name}: {}",
            text(&built.stderr)
        );
        let out = ws
            .anrf()
            .args(["verify", name, "--profile", "dev", "--no-cache"])
            .output()
            .unwrap();
        assert_eq!(
            code(&out),
            0,
            "{name}:\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        let json = ws
            .anrf()
            .args(["verify", name, "--format", "json"])
            .output()
            .unwrap();
        let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
        let unsuppressed_errors: Vec<_> = report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == "error" && f.get("suppression").is_none())
            .collect();
        assert!(
            unsuppressed_errors.is_empty(),
            "{name}: {unsuppressed_errors:?}"
        );
        assert!(
            report["facts"]["examples"]
                .as_array()
                .is_some_and(|e| !e.is_empty()),
            "{name}: its intent examples ran"
        );
    }

    // The memory-unsafe example passes only with its override approved: in `dev`
    // it is self-approved; under `test` nobody has signed it.
    if names.iter().any(|n| n == "checksum-unsafe") {
        let dev = ws
            .anrf()
            .args(["verify", "checksum-unsafe", "--format", "sarif"])
            .output()
            .unwrap();
        let sarif: serde_json::Value = serde_json::from_slice(&dev.stdout).unwrap();
        let results = sarif["runs"][0]["results"].as_array().unwrap();
        assert!(
            results
                .iter()
                .any(|r| r["suppressions"][0]["status"] == "accepted"),
            "{results:?}"
        );
        let upload = ws
            .anrf()
            .args([
                "verify",
                "checksum-unsafe",
                "--format",
                "sarif",
                "--exclude-suppressed",
            ])
            .output()
            .unwrap();
        let sarif: serde_json::Value = serde_json::from_slice(&upload.stdout).unwrap();
        assert!(
            sarif["runs"][0]["results"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r.get("suppressions").is_none())
        );
        let test = ws
            .anrf()
            .args(["verify", "checksum-unsafe", "--profile", "test"])
            .output()
            .unwrap();
        assert_eq!(code(&test), 1, "{}", text(&test.stdout));
        assert!(
            text(&test.stdout).contains("ANRF-O003"),
            "{}",
            text(&test.stdout)
        );

        // A trusted approver (a key generated here, named by the project
        // policy) signs it for `test`: now it passes, and the SARIF
        // suppression names the approver.
        let key = ws
            .anrf()
            .args(["key", "gen", "bob", "--out", "keys", "--role", "security"])
            .output()
            .unwrap();
        assert!(key.status.success(), "{}", text(&key.stderr));
        let public = std::fs::read_to_string(ws.tmp.path().join("keys/bob.pub")).unwrap();
        std::fs::write(
            ws.tmp.path().join("anrf-policy.toml"),
            format!(
                "version = 1\ncedar = \"\"\"\n@id(\"security-approves\")\npermit(principal in Role::\"security\", action == Action::\"approve\", resource);\n\"\"\"\n\n[maxima]\nread = [\"data\"]\n\n[[approvers]]\nname = \"bob\"\npublic_key = \"{}\"\nroles = [\"security\"]\n",
                public.trim()
            ),
        )
        .unwrap();
        let approve = ws
            .anrf()
            .args([
                "override",
                "approve",
                "ovr-5ad1e32c",
                "--key",
                "keys/bob.key",
                "--profile",
                "test",
                "--module",
                "checksum-unsafe",
            ])
            .output()
            .unwrap();
        assert!(approve.status.success(), "{}", text(&approve.stderr));
        let test = ws
            .anrf()
            .args([
                "verify",
                "checksum-unsafe",
                "--profile",
                "test",
                "--format",
                "sarif",
            ])
            .output()
            .unwrap();
        assert_eq!(
            code(&test),
            0,
            "{}{}",
            text(&test.stdout),
            text(&test.stderr)
        );
        let sarif: serde_json::Value = serde_json::from_slice(&test.stdout).unwrap();
        let suppressions: Vec<&serde_json::Value> = sarif["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r.get("suppressions"))
            .collect();
        assert!(!suppressions.is_empty());
        for s in suppressions {
            assert_eq!(
                s[0]["properties"]["approvers"],
                serde_json::json!(["bob"]),
                "{s}"
            );
        }
    }
}

#[test]
fn an_unlisted_mod_file_blocks_and_explain_claims_no_safe_rust() {
    let ws = Workspace::new();
    let dir = ws.tmp.path().join("sneaky");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("anrf.toml"),
        manifest("sneaky", "2\\n")
            .replace("language = \"wat\"", "language = \"rust\"")
            .replace("sources = [\"guest.wat\"]", "sources = [\"src/main.rs\"]"),
    )
    .unwrap();
    std::fs::write(
        dir.join("src/main.rs"),
        "mod evil;\nfn main() { evil::run(); }\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("src/evil.rs"),
        "pub fn run() { unsafe { abs(1); } let _ = std::fs::read(\"/etc/passwd\"); }\nextern \"C\" { fn abs(x: i32) -> i32; }\n",
    )
    .unwrap();
    let out = ws
        .anrf()
        .args(["verify", "sneaky", "--no-tests"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}{}", text(&out.stdout), text(&out.stderr));
    let stdout = text(&out.stdout);
    for id in ["ANRF-M013", "ANRF-S001", "ANRF-S005", "ANRF-S010"] {
        assert!(stdout.contains(id), "{id}: {stdout}");
    }
    let explain = ws.anrf().args(["explain", "sneaky"]).output().unwrap();
    let explain = text(&explain.stdout);
    assert!(!explain.contains("safe Rust"), "{explain}");
    assert!(explain.contains("may NOT run"), "{explain}");
}

#[test]
fn deeply_nested_source_is_a_finding_not_a_crash() {
    let ws = Workspace::new();
    let dir = ws.tmp.path().join("deep");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("anrf.toml"),
        manifest("deep", "2\\n")
            .replace("language = \"wat\"", "language = \"rust\"")
            .replace("sources = [\"guest.wat\"]", "sources = [\"src/main.rs\"]"),
    )
    .unwrap();
    std::fs::write(
        dir.join("src/main.rs"),
        format!(
            "fn main() {{ let _x = {}1{}; }}\n",
            "(".repeat(1000),
            ")".repeat(1000)
        ),
    )
    .unwrap();
    let out = ws
        .anrf()
        .args(["verify", "deep", "--no-tests"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(
        text(&out.stdout).contains("error[ANRF-S011]"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_manifest_that_is_not_utf8_is_a_finding_with_the_cause() {
    let ws = Workspace::new();
    let module = ws.wat_module("latin", PRINT_TWO, "2\\n");
    let path = ws.tmp.path().join("latin/anrf.toml");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.extend_from_slice(b"# caf\xe9\n");
    std::fs::write(&path, bytes).unwrap();
    let out = ws.anrf().args(["verify", &module]).output().unwrap();
    assert_eq!(code(&out), 1, "{}{}", text(&out.stdout), text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("error[ANRF-M001]"), "{stdout}");
    assert!(stdout.contains("not UTF-8"), "{stdout}");
    assert!(stdout.contains("save `anrf.toml` as UTF-8"), "{stdout}");
    assert!(!text(&out.stderr).contains("pass a module directory"));
}

#[test]
fn the_nearest_project_policy_is_used_and_a_bad_one_is_an_input_error() {
    let ws = Workspace::new();
    let module = ws.wat_module("clean", PRINT_TWO, "2\\n");
    std::fs::write(ws.tmp.path().join("anrf-policy.toml"), "version = 1\n").unwrap();
    let out = ws
        .anrf()
        .args(["verify", &module, "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        json["policy"]
            .as_str()
            .unwrap()
            .ends_with("anrf-policy.toml"),
        "{}",
        json["policy"]
    );

    let out = ws
        .anrf()
        .args(["verify", &module, "--policy", "missing.toml"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("missing.toml"),
        "{}",
        text(&out.stderr)
    );

    std::fs::write(
        ws.tmp.path().join("anrf-policy.toml"),
        "version = 1\nunknown = true\n",
    )
    .unwrap();
    let out = ws.anrf().args(["verify", &module]).output().unwrap();
    assert_eq!(code(&out), 2, "{}", text(&out.stdout));
}

#[test]
fn verify_and_explain_never_pass_what_run_refuses() {
    // `isolation = "process"`: `anrf run` refuses it; `verify` reports the
    // same words as a blocking finding in every profile, `explain` does not
    // say it may run.
    let ws = Workspace::new();
    let name = ws.wat_module("proc", PRINT_TWO, "2\\n");
    let manifest = ws.tmp.path().join(&name).join("anrf.toml");
    let text_before = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text_before.replace("isolation = \"wasm\"", "isolation = \"process\""),
    )
    .unwrap();
    let run = ws.anrf().args(["run", &name]).output().unwrap();
    assert_ne!(code(&run), 0, "{}", text(&run.stderr));
    let words = "`isolation = \"process\"` is not supported by this runtime yet, and running with less isolation than declared is refused";
    assert!(
        text(&run.stderr).contains(words),
        "run: {}",
        text(&run.stderr)
    );
    for profile in ["dev", "test", "prod"] {
        let out = ws
            .anrf()
            .args(["verify", &name, "--profile", profile, "--no-cache"])
            .output()
            .unwrap();
        let stdout = text(&out.stdout);
        assert_eq!(code(&out), 1, "{profile}: {stdout}{}", text(&out.stderr));
        assert!(stdout.contains("error[ANRF-M014]"), "{profile}: {stdout}");
        assert!(stdout.contains(words), "{profile}: {stdout}");
        let out = ws
            .anrf()
            .args(["explain", &name, "--profile", profile, "--json"])
            .output()
            .unwrap();
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["may_run"], false, "{profile}: {json}");
    }
}

#[test]
fn a_fifo_or_a_link_to_dev_zero_in_the_module_is_a_finding_not_a_hang() {
    let ws = Workspace::new();
    let name = ws.wat_module("pipes", PRINT_TWO, "2\\n");
    let dir = ws.tmp.path().join(&name);
    // An unlisted FIFO and a link to a device (both hashed by the cache key,
    // neither read), and the listed source replaced by a FIFO.
    mkfifo(&dir.join("pipe"));
    std::os::unix::fs::symlink("/dev/zero", dir.join("zero")).unwrap();
    let out = ws.anrf().args(["verify", &name]).output().unwrap();
    assert_eq!(code(&out), 0, "{}{}", text(&out.stdout), text(&out.stderr));
    std::fs::remove_file(dir.join("guest.wat")).unwrap();
    mkfifo(&dir.join("guest.wat"));
    let out = ws.anrf().args(["verify", &name]).output().unwrap();
    let stdout = text(&out.stdout);
    assert_eq!(code(&out), 1, "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("error[ANRF-M004]"), "{stdout}");
    assert!(stdout.contains("not a regular file"), "{stdout}");
}

fn mkfifo(path: &Path) {
    let out = Command::new("mkfifo").arg(path).output().unwrap();
    assert!(out.status.success(), "mkfifo: {}", text(&out.stderr));
}
