//! The trust boundaries of `anrf run`: one read of what runs, `prod` runs only
//! what verifies, and the exit code says who spoke.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited with a code, not a signal")
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

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    fn anrf(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_anrf"));
        cmd.env("ANRF_HOME", self.path("home"))
            .env("USER", "tester")
            .env_remove("ANRF_CACHE_DIR")
            .env_remove("RUSTC")
            .current_dir(self.tmp.path());
        cmd
    }

    /// `anrf ARGS` with `stdin`, killed (and the test failed) if it has not
    /// ended after a minute: a hang is the failure these tests look for.
    fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = self
            .anrf()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        let start = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if start.elapsed() > Duration::from_mins(1) {
                child.kill().unwrap();
                panic!("`anrf {}` hung", args.join(" "));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.wait_with_output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args, b"");
        assert!(
            out.status.success(),
            "`anrf {}` failed: {}",
            args.join(" "),
            text(&out.stderr)
        );
        out
    }

    /// The Rust module of `anrf init NAME`, with `main.rs` replaced by `main`.
    fn rust_module(&self, name: &str, main: &str) {
        self.ok(&["init", name]);
        std::fs::write(self.path(name).join("src/main.rs"), main).unwrap();
        self.ok(&["build", name]);
    }

    /// A WAT module whose guest is `wat`.
    fn wat_module(&self, name: &str, wat: &str) {
        let dir = self.path(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("anrf.toml"), wat_manifest(name)).unwrap();
        std::fs::write(dir.join("guest.wat"), wat).unwrap();
        self.ok(&["build", name]);
    }

    fn events(&self) -> Vec<serde_json::Value> {
        let out = self.ok(&["audit", "log", "--json"]);
        let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        match value {
            serde_json::Value::Array(items) => items,
            other => other["events"].as_array().cloned().unwrap_or_default(),
        }
    }

    fn artifact(&self, name: &str) -> PathBuf {
        let out = self.ok(&["check", name, "--json"]);
        let value: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        self.path(name).join(value["artifact"].as_str().unwrap())
    }
}

fn wat_manifest(name: &str) -> String {
    format!(
        r#"anrf = 1

[module]
name = "{name}"
version = "0.1.0"

[intent]
summary = "Exit with a code of its own"

[[intent.examples]]
name = "runs"
stdin = ""
stdout = ""
exit_code = 0

[logic]
interface = "command"
effects = ["stdout"]

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

/// Exits with `code` by its own `proc_exit`.
fn exiting_with(code: u32) -> String {
    format!(
        r#"(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $exit (i32.const {code}))))"#
    )
}

const SHOUT_UNSAFE: &str = r#"use std::io::{self, Read};

fn shout(text: &str) -> String {
    let upper = text.to_uppercase();
    unsafe { std::ptr::read_volatile(&upper) }
}

fn main() -> io::Result<()> {
    let mut input = String::new();
    io::stdin().read_to_string(&mut input)?;
    print!("{}", shout(&input));
    Ok(())
}
"#;

const SHOUT_SAFE: &str = r#"use std::io::{self, Read};

fn shout(text: &str) -> String {
    text.to_uppercase()
}

fn main() -> io::Result<()> {
    let mut input = String::new();
    io::stdin().read_to_string(&mut input)?;
    print!("{}", shout(&input));
    Ok(())
}
"#;

#[test]
fn prod_refuses_what_does_not_verify_test_warns_and_the_fix_runs() {
    let ws = Workspace::new();
    ws.rust_module("shout", SHOUT_UNSAFE);

    // `unsafe` under `memory_safety = "enforced"`: refused in prod, before it runs.
    let out = ws.run(&["run", "--profile", "prod", "shout"], b"hi\n");
    let err = text(&out.stderr);
    assert_eq!(code(&out), 2, "{err}");
    assert_eq!(text(&out.stdout), "", "the guest never ran");
    assert!(err.contains("does not verify"), "{err}");
    assert!(err.contains("ANRF-S001"), "{err}");
    assert!(err.contains("anrf verify --profile prod shout"), "{err}");
    let events = ws.events();
    let last = events.last().unwrap();
    assert_eq!(last["decision"], "deny", "{last}");
    assert_eq!(last["details"]["verification"]["passed"], false, "{last}");

    // `test` runs it and says what `prod` would refuse.
    let out = ws.run(&["run", "--profile", "test", "shout"], b"hi\n");
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "HI\n");
    assert!(
        text(&out.stderr).contains("does not verify"),
        "{}",
        text(&out.stderr)
    );

    // The fix the refusal names, applied: the module runs in prod.
    std::fs::write(ws.path("shout/src/main.rs"), SHOUT_SAFE).unwrap();
    ws.ok(&["build", "shout"]);
    let out = ws.run(&["run", "--profile", "prod", "shout"], b"hi\n");
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "HI\n");
    let events = ws.events();
    let decision = events
        .iter()
        .rev()
        .find(|e| e["kind"] == "policy_decision")
        .unwrap();
    assert_eq!(decision["decision"], "allow");
    assert_eq!(
        decision["details"]["verification"]["passed"], true,
        "{decision}"
    );
}

#[test]
fn prod_takes_a_passing_verification_from_the_cache() {
    let ws = Workspace::new();
    ws.wat_module("quiet", &exiting_with(0));
    ws.ok(&["verify", "--profile", "prod", "quiet"]);
    let out = ws.run(&["run", "--profile", "prod", "quiet"], b"");
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let events = ws.events();
    let decision = events
        .iter()
        .rev()
        .find(|e| e["kind"] == "policy_decision")
        .unwrap();
    assert_eq!(
        decision["details"]["verification"]["cached"], true,
        "{decision}"
    );

    // A verification of other bytes is not this module's: after a rebuild of a
    // changed guest the gate checks again.
    std::fs::write(ws.path("quiet/guest.wat"), exiting_with(3)).unwrap();
    ws.ok(&["build", "quiet"]);
    let out = ws.run(&["run", "--profile", "prod", "quiet"], b"");
    assert_eq!(code(&out), 3, "{}", text(&out.stderr));
    let events = ws.events();
    let decision = events
        .iter()
        .rev()
        .find(|e| e["kind"] == "policy_decision")
        .unwrap();
    assert_eq!(
        decision["details"]["verification"]["cached"], false,
        "{decision}"
    );
}

#[test]
fn an_artifact_that_is_a_fifo_is_refused_without_waiting() {
    let ws = Workspace::new();
    ws.wat_module("piped", &exiting_with(0));
    let artifact = ws.artifact("piped");
    std::fs::remove_file(&artifact).unwrap();
    let made = Command::new("mkfifo").arg(&artifact).status().unwrap();
    assert!(made.success());
    for profile in ["dev", "prod"] {
        let out = ws.run(&["run", "--profile", profile, "piped"], b"");
        let err = text(&out.stderr);
        assert_eq!(code(&out), 2, "{err}");
        assert!(err.contains("FIFO"), "{err}");
    }
}

#[test]
fn an_artifact_reached_through_a_symlinked_directory_is_refused() {
    let ws = Workspace::new();
    ws.wat_module("linked", &exiting_with(0));
    // The build output moved elsewhere and linked back: the artifact would be
    // read from outside the module directory.
    let target = ws.path("linked/target");
    let elsewhere = ws.path("elsewhere");
    std::fs::rename(&target, &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &target).unwrap();
    let out = ws.run(&["run", "linked"], b"");
    let err = text(&out.stderr);
    assert_eq!(code(&out), 2, "{err}");
    assert!(err.contains("symbolic link"), "{err}");
}

#[test]
fn the_guest_s_own_125_and_2_are_named_as_its_own() {
    let ws = Workspace::new();
    for (exit, words) in [
        (125, "not a sandbox violation"),
        (2, "not a usage or input error"),
    ] {
        let name = format!("exit{exit}");
        ws.wat_module(&name, &exiting_with(exit));
        let out = ws.run(&["run", &name], b"");
        let err = text(&out.stderr);
        assert_eq!(code(&out), i32::try_from(exit).unwrap(), "{err}");
        assert!(
            err.contains(&format!("anrf: the guest exited with {exit} by itself")),
            "{err}"
        );
        assert!(err.contains(words), "{err}");
        let out = ws.run(&["run", "--json", &name], b"");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["status"], "ok", "{json}");
        assert_eq!(json["violations"], serde_json::json!([]), "{json}");
    }
    // An ordinary exit code needs no note.
    ws.wat_module("exit42", &exiting_with(42));
    let out = ws.run(&["run", "exit42"], b"");
    assert_eq!(code(&out), 42);
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn a_violation_still_says_the_sandbox_stopped_it() {
    let ws = Workspace::new();
    ws.wat_module(
        "spin",
        r#"(module (memory (export "memory") 1) (func (export "_start") (loop (br 0))))"#,
    );
    let out = ws.run(&["run", "--timeout", "200ms", "spin"], b"");
    let err = text(&out.stderr);
    assert_eq!(code(&out), 125, "{err}");
    assert!(
        err.contains("stopped (exit code 125) by the sandbox"),
        "{err}"
    );
    assert!(!err.contains("by itself"), "{err}");
}
