//! `anrf run` end to end, through the real binary, on `.wat` fixtures.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/run")
        .join(name)
}

struct Env {
    home: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            home: tempfile::tempdir().unwrap(),
        }
    }

    fn anrf(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_anrf"));
        cmd.env("ANRF_HOME", self.home.path())
            .env_remove("ANRF_CACHE_DIR")
            .arg("run");
        cmd
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, b"")
    }

    fn run_with_stdin(&self, args: &[&str], stdin: &[u8]) -> Output {
        let mut child = self
            .anrf()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(stdin).unwrap();
        child.wait_with_output().unwrap()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exited with a code, not a signal")
}

fn path(name: &str) -> String {
    fixture(name).display().to_string()
}

fn json_filters() -> Vec<(&'static str, &'static str)> {
    vec![
        (r#""duration_ms":\d+"#, r#""duration_ms":"[ms]""#),
        (r#""fuel_used":\d+"#, r#""fuel_used":"[fuel]""#),
    ]
}

#[test]
fn exit_code_and_stdout_pass_through() {
    let env = Env::new();
    let out = env.run(&[&path("hello_exit_42.wat")]);
    assert_eq!(code(&out), 42);
    assert_eq!(text(&out.stdout), "hi\n");
    assert_eq!(text(&out.stderr), "");
}

#[test]
fn json_output_has_the_contract_shape() {
    let env = Env::new();
    let out = env.run(&[&path("hello_exit_42.wat"), "--json"]);
    assert_eq!(code(&out), 42);
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "one JSON object");
    insta::with_settings!({ filters => json_filters() }, {
        insta::assert_snapshot!(stdout.trim_end(), @r#"{"status":"ok","exit_code":42,"stdout":"hi\n","stderr":"","violations":[],"fuel_used":"[fuel]","peak_memory_bytes":65536,"duration_ms":"[ms]","engine":"jit","profile":"dev"}"#);
    });
}

#[test]
fn violation_exits_125_with_a_message() {
    let env = Env::new();
    let out = env.run(&[&path("loop_forever.wat"), "--fuel", "100000"]);
    assert_eq!(code(&out), 125);
    insta::assert_snapshot!(text(&out.stderr), @r"
    anrf: fuel_exhausted violation: the guest used its whole instruction budget of 100000 fuel; lower its work, or raise `fuel` in `[security.limits]` (above the default it needs a `raise:fuel=...` override)
    anrf: the guest was stopped (exit code 125) by the sandbox
    ");
    let out = env.run(&[&path("loop_forever.wat"), "--fuel", "100000", "--json"]);
    assert_eq!(code(&out), 125);
    insta::with_settings!({ filters => json_filters() }, {
        insta::assert_snapshot!(text(&out.stdout).trim_end(), @r#"{"status":"violation","exit_code":125,"stdout":"","stderr":"","violations":[{"kind":"fuel_exhausted","message":"the guest used its whole instruction budget of 100000 fuel; lower its work, or raise `fuel` in `[security.limits]` (above the default it needs a `raise:fuel=...` override)"}],"fuel_used":"[fuel]","peak_memory_bytes":65536,"duration_ms":"[ms]","engine":"jit","profile":"dev"}"#);
    });
}

#[test]
fn timeout_stops_a_loop_on_every_engine() {
    let env = Env::new();
    for engine in ["interp", "jit", "aot"] {
        let out = env.run(&[
            &path("loop_forever.wat"),
            "--engine",
            engine,
            "--profile",
            "prod",
            "--timeout",
            "200ms",
            "--json",
        ]);
        assert_eq!(code(&out), 125, "{engine}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["violations"][0]["kind"], "timeout", "{engine}");
        assert_eq!(json["engine"], engine);
        assert_eq!(json["profile"], "prod");
    }
}

#[test]
fn capability_denied_is_reported_and_the_guest_gets_the_error() {
    let env = Env::new();
    let out = env.run(&[&path("open_passwd.wat"), "--json"]);
    // The guest exits with the errno it got: 76, `NOTCAPABLE`.
    assert_eq!(code(&out), 76);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["status"], "violation");
    assert_eq!(json["violations"][0]["kind"], "capability_denied");
    let message = json["violations"][0]["message"].as_str().unwrap();
    assert!(message.contains("`/etc/passwd`"), "{message}");
    assert!(
        message.contains("--allow-read"),
        "says what would allow it: {message}"
    );
}

#[test]
fn malformed_wasm_exits_2() {
    let env = Env::new();
    let out = env.run(&[&path("malformed.wasm")]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("invalid WebAssembly module"),
        "{}",
        text(&out.stderr)
    );
    assert!(!text(&out.stderr).contains("panicked"));
    let out = env.run(&[&path("malformed.wasm"), "--json"]);
    assert_eq!(code(&out), 2);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["status"], "error");
    assert_eq!(json["exit_code"], 2);
    // Each attempt: the policy allowed it, and it could not start.
    let events = audit_events(env.home.path());
    let kinds: Vec<_> = events
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["decision"].as_str().unwrap()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("policy_decision", "allow"),
            ("run", "error"),
            ("policy_decision", "allow"),
            ("run", "error")
        ]
    );
    assert!(
        events[1]["details"]["error"]
            .as_str()
            .unwrap()
            .contains("invalid WebAssembly module"),
        "{:#}",
        events[1]
    );
}

#[test]
fn stdin_from_the_null_device_is_empty_input() {
    let env = Env::new();
    let out = env
        .anrf()
        .args([&path("cat_stdin.wat")])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(out.stdout, b"");
}

#[test]
fn missing_input_exits_2() {
    let env = Env::new();
    let out = env.run(&["no-such-file.wasm"]);
    assert_eq!(code(&out), 2);
    assert!(text(&out.stderr).contains("no-such-file.wasm"));
}

#[test]
fn stdin_and_guest_args_pass_through() {
    let env = Env::new();
    let out = env.run_with_stdin(
        &[&path("cat_stdin.wat"), "--", "one", "two", "--three"],
        b"piped text\n",
    );
    assert_eq!(code(&out), 3);
    assert_eq!(text(&out.stdout), "piped text\n");
}

#[test]
fn host_environment_does_not_leak() {
    let env = Env::new();
    let out = env
        .anrf()
        .arg(path("environ_count.wat"))
        .env("ANRF_CANARY", "secret-canary-value")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "the guest sees no environment variable");
    let out = env
        .anrf()
        .args([
            &path("environ_count.wat"),
            "--allow-env",
            "ANRF_CANARY",
            "--justification",
            "the tool prints a greeting configured by this variable",
        ])
        .env("ANRF_CANARY", "secret-canary-value")
        .output()
        .unwrap();
    assert_eq!(code(&out), 1, "exactly the granted variable");
}

#[test]
fn dev_grants_need_a_justification() {
    let env = Env::new();
    let data = path("data");
    let out = env.run(&[&path("cat_granted_file.wat"), "--allow-read", &data]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("--justification"),
        "{}",
        text(&out.stderr)
    );

    let out = env.run(&[
        &path("cat_granted_file.wat"),
        "--allow-read",
        &data,
        "--justification",
        "prints the greeting kept in the fixture directory",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hello from data\n");
}

#[test]
fn dev_grants_are_refused_in_test_and_prod() {
    let env = Env::new();
    let data = path("data");
    for profile in ["test", "prod"] {
        let out = env.run(&[
            &path("cat_granted_file.wat"),
            "--profile",
            profile,
            "--allow-read",
            &data,
            "--justification",
            "prints the greeting kept in the fixture directory",
        ]);
        assert_eq!(code(&out), 2, "{profile}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("only honoured in `dev`"), "{stderr}");
        assert!(stderr.contains("anrf override request"), "{stderr}");
        assert!(out.stdout.is_empty());
    }
}

/// The events of the audit log under `home`, as `anrf audit log --json` prints them.
fn audit_events(home: &Path) -> Vec<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_anrf"))
        .env("ANRF_HOME", home)
        .args(["audit", "log", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    match serde_json::from_slice(&out.stdout).unwrap() {
        serde_json::Value::Array(events) => events,
        other => panic!("not an array of events: {other}"),
    }
}

#[test]
fn a_refused_run_is_recorded_as_a_denied_decision() {
    let env = Env::new();
    let out = env.run(&[
        &path("cat_granted_file.wat"),
        "--profile",
        "test",
        "--allow-read",
        &path("data"),
        "--justification",
        "prints the greeting kept in the fixture directory",
    ]);
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    let events = audit_events(env.home.path());
    let denied: Vec<_> = events
        .iter()
        .filter(|e| e["kind"] == "policy_decision" && e["decision"] == "deny")
        .collect();
    assert_eq!(denied.len(), 1, "{events:#?}");
    let event = denied[0];
    assert_eq!(event["details"]["profile"], "test");
    assert!(
        event["details"]["refused_cli_grants"][0]["reasons"]
            .to_string()
            .contains("dev"),
        "{event:#}"
    );
    assert!(
        event["subject"].as_str().unwrap().ends_with(&format!(
            "cat_granted_file.wat@sha256:{}",
            sha256_hex(&std::fs::read(fixture("cat_granted_file.wat")).unwrap())
        )),
        "{event:#}"
    );
    // Nothing ran, so there is no run event.
    assert!(events.iter().all(|e| e["kind"] != "run"), "{events:#?}");
}

#[test]
fn a_run_records_its_decision_and_outcome_against_the_module_digest() {
    let env = Env::new();
    let modules = built_modules(&env);
    let echo = modules.path().join("echo").display().to_string();
    let out = env.run_with_stdin(&[&echo, "--profile", "test", "--", "a", "b", "c"], b"x\n");
    assert_eq!(code(&out), 3, "{}", text(&out.stderr));
    let events = audit_events(env.home.path());
    let kinds: Vec<_> = events
        .iter()
        .map(|e| (e["kind"].as_str().unwrap(), e["decision"].as_str().unwrap()))
        .collect();
    assert_eq!(kinds, [("policy_decision", "allow"), ("run", "allow")]);
    for event in &events {
        let subject = event["subject"].as_str().unwrap();
        assert!(subject.starts_with("echo@sha256:"), "{subject}");
        assert_eq!(subject.len(), "echo@sha256:".len() + 64, "{subject}");
    }
    assert_eq!(events[1]["details"]["exit_code"], 3);
}

#[test]
fn an_unwritable_audit_log_refuses_test_runs_and_warns_in_dev() {
    let env = Env::new();
    // A file where the audit directory should be: the log cannot be opened.
    std::fs::write(env.home.path().join("audit"), "not a directory").unwrap();
    let out = env.run(&[&path("hello_exit_42.wat"), "--profile", "test"]);
    assert_eq!(code(&out), 2);
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("refusing to run without recording it in the audit log"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "the guest must not have run");

    let out = env.run(&[&path("hello_exit_42.wat")]);
    assert_eq!(code(&out), 42, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("warning: the run was not recorded"),
        "{}",
        text(&out.stderr)
    );
}

fn sha256_hex(bytes: &[u8]) -> String {
    anrf_format::Sha256Hex::of(bytes).as_str().to_owned()
}

#[test]
fn stdin_that_never_ends_is_an_input_error_within_the_timeout() {
    let env = Env::new();
    let mut child = env
        .anrf()
        .args([&path("cat_stdin.wat"), "--timeout", "1s"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Keep the write end open and silent: stdin never reaches end of file.
    let _stdin = child.stdin.take().unwrap();
    let start = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(30),
            "anrf run kept waiting for stdin past its timeout"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let out = child.wait_with_output().unwrap();
    assert_eq!(status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("stdin did not end within"), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn stdin_larger_than_the_cap_is_refused_whole() {
    let env = Env::new();
    let mut child = env
        .anrf()
        .arg(path("cat_stdin.wat"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = vec![b'x'; 1 << 20];
        // 64 MiB and one more chunk; anrf stops reading past the cap, so a
        // closed pipe here is expected.
        for _ in 0..65 {
            if stdin.write_all(&chunk).is_err() {
                break;
            }
        }
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("stdin is larger than 64MiB"), "{stderr}");
    assert!(
        out.stdout.is_empty(),
        "no part of the input reached the guest"
    );
}

#[test]
fn limit_flags_can_only_lower() {
    let env = Env::new();
    for (flag, value) in [
        ("--max-memory", "1GiB"),
        ("--timeout", "10m"),
        ("--max-output", "2MiB"),
        ("--fuel", "2000000000"),
    ] {
        let out = env.run(&[&path("hello_exit_42.wat"), flag, value]);
        assert_eq!(code(&out), 2, "{flag}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains("would raise"), "{stderr}");
        assert!(stderr.contains("can only lower"), "{stderr}");
    }
    let out = env.run(&[
        &path("hello_exit_42.wat"),
        "--max-memory",
        "1MiB",
        "--timeout",
        "1s",
    ]);
    assert_eq!(code(&out), 42);
}

#[test]
fn aot_engine_uses_the_configured_cache() {
    let env = Env::new();
    let cache = env.home.path().join("my-cache");
    for _ in 0..2 {
        let out = env
            .anrf()
            .args([&path("hello_exit_42.wat"), "--engine", "aot"])
            .env("ANRF_CACHE_DIR", &cache)
            .output()
            .unwrap();
        assert_eq!(code(&out), 42);
        assert_eq!(text(&out.stderr), "");
    }
    let entries = std::fs::read_dir(&cache)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "cwasm")
        })
        .count();
    assert_eq!(entries, 1);
}

/// Copies the fixture modules into a temporary directory and builds them.
fn built_modules(env: &Env) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in ["echo", "spinner"] {
        let from = fixture("modules").join(name);
        let to = dir.path().join(name);
        std::fs::create_dir_all(&to).unwrap();
        for file in ["anrf.toml", "main.wat"] {
            std::fs::copy(from.join(file), to.join(file)).unwrap();
        }
        let out = Command::new(env!("CARGO_BIN_EXE_anrf"))
            .env("ANRF_HOME", env.home.path())
            .arg("build")
            .arg(&to)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    dir
}

#[test]
fn module_dir_runs_under_its_manifest_policy() {
    let env = Env::new();
    let modules = built_modules(&env);
    let echo = modules.path().join("echo").display().to_string();
    let out = env.run_with_stdin(&[&echo, "--", "a", "b", "c"], b"some input\n");
    assert_eq!(code(&out), 3, "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "some input\n");

    // The manifest's fuel (100000) is the budget, and its 4 KiB output cap
    // cannot be raised from the command line.
    let spinner = modules.path().join("spinner").display().to_string();
    let out = env.run(&[&spinner, "--json"]);
    assert_eq!(code(&out), 125);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["violations"][0]["kind"], "fuel_exhausted");
    assert_eq!(json["fuel_used"], 100_000);
    let out = env.run(&[&echo, "--max-output", "8KiB"]);
    assert_eq!(code(&out), 2);
    assert!(text(&out.stderr).contains("above 4096 bytes"));
}

#[test]
fn module_with_a_changed_artifact_is_refused() {
    let env = Env::new();
    let modules = built_modules(&env);
    let echo = modules.path().join("echo");
    let artifact = std::fs::read_dir(echo.join("target/anrf"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "wasm"))
        .unwrap();
    let mut bytes = std::fs::read(&artifact).unwrap();
    bytes.push(0);
    std::fs::write(&artifact, bytes).unwrap();
    let out = env.run(&[&echo.display().to_string()]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("does not match the sha256"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn run_help() {
    let out = Command::new(env!("CARGO_BIN_EXE_anrf"))
        .args(["run", "--help"])
        .env("COLUMNS", "100")
        .env_remove("ANRF_CACHE_DIR")
        .output()
        .unwrap();
    assert_eq!(code(&out), 0);
    insta::assert_snapshot!(text(&out.stdout));
}

#[test]
fn a_granted_dir_replaced_by_a_link_after_approval_is_refused() {
    use crate::policy::{Project, code as exit_code, request_read, text as lossy};
    let p = Project::new();
    p.policy(&[("bob", "security")]);
    p.ok(&["build", "hello"]);
    let id = request_read(&p);
    p.ok(&[
        "override",
        "approve",
        &id,
        "--key",
        "keys/bob.key",
        "--profile",
        "test",
    ]);
    assert_eq!(p.ok(&["run", "hello", "--profile", "test"]), "hello\n");

    // After approval, `data` becomes a link to `/etc`: the run is refused,
    // naming the directory and why, and never reaches `/etc`.
    let data = p.module().join("data");
    std::fs::rename(&data, p.module().join("data.approved")).unwrap();
    std::os::unix::fs::symlink("/etc", &data).unwrap();
    let out = p.anrf(&["run", "hello", "--profile", "test"]);
    let stderr = lossy(&out.stderr);
    assert_eq!(exit_code(&out), 2, "{stderr}");
    assert!(out.stdout.is_empty(), "{}", lossy(&out.stdout));
    assert!(stderr.contains("refusing to grant `data`"), "{stderr}");
    assert!(stderr.contains("is a symbolic link"), "{stderr}");
}

/// Counts to two billion: over the default fuel, within a raised one.
const LONG_LOOP: &str = r#"(module
  (memory (export "memory") 1)
  (func (export "_start") (local i32)
    (loop $l
      (local.set 0 (i32.add (local.get 0) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get 0) (i32.const 2000000000))))))
"#;

#[test]
fn a_bare_module_gets_raised_limits_in_dev_through_justified_audited_flags() {
    let env = Env::new();
    let dir = tempfile::tempdir().unwrap();
    let wat = dir.path().join("long.wat");
    std::fs::write(&wat, LONG_LOOP).unwrap();
    let wat = wat.to_str().unwrap();
    let out = env.run(&[wat]);
    assert_eq!(
        code(&out),
        125,
        "the default fuel stops it: {}",
        text(&out.stderr)
    );
    let why = "a numeric kernel benchmark that needs more fuel than the default";
    // Without a justification: refused, and the fix says what to add.
    let out = env.run(&[wat, "--raise", "fuel=100000000000"]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("add --justification"),
        "{}",
        text(&out.stderr)
    );
    let out = env.run(&[
        wat,
        "--raise",
        "fuel=100000000000",
        "--raise",
        "timeout=60s",
        "--justification",
        why,
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    // Outside dev, refused with the way to get it there.
    let out = env.run(&[
        wat,
        "--profile",
        "test",
        "--raise",
        "fuel=100000000000",
        "--justification",
        why,
    ]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("only honoured in `dev`"),
        "{}",
        text(&out.stderr)
    );
    // Past the maxima: refused.
    let out = env.run(&[wat, "--raise", "timeout=3000s", "--justification", why]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("wider than the project maxima"),
        "{}",
        text(&out.stderr)
    );
    // The grant is in the audit log with its justification.
    let log = Command::new(env!("CARGO_BIN_EXE_anrf"))
        .env("ANRF_HOME", env.home.path())
        .args(["audit", "log", "--json"])
        .output()
        .unwrap();
    let log = text(&log.stdout);
    assert!(log.contains(why) && log.contains("raise:fuel="), "{log}");
}
