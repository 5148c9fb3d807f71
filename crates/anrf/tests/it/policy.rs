//! `anrf key` and `anrf override` end to end, through the real binary: request ->
//! approve with a second key -> run succeeds -> source edited -> run refused ->
//! re-approve -> run succeeds, with the audit log verifying at the end; and the
//! refusals the CLI must give on its own (self-approval, unknown key, a key file
//! others can read, tampered approvals).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const HELLO_WAT: &str = r#"(module
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "MESSAGE\n")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const LEN))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
"#;

const MANIFEST: &str = r#"# a tiny guest for the policy flow
anrf = 1

[module]
name = "hello"
version = "0.1.0"

[intent]
summary = "Print a greeting"

[logic]
interface = "command"
effects = ["stdout"]

[implementation]
language = "wat"
sources = ["hello.wat"]

[security]
memory_safety = "enforced"
isolation = "wasm"
overrides = []

[security.limits]
memory = "16MiB"
fuel = 10000000
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
"#;

pub(crate) const WHY: &str = "reads the greeting templates shipped in data to localise the output";

pub(crate) struct Project {
    _tmp: tempfile::TempDir,
    pub(crate) root: PathBuf,
    pub(crate) home: PathBuf,
}

impl Project {
    pub(crate) fn new() -> Project {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("project");
        let home = tmp.path().join("home");
        let module = root.join("hello");
        std::fs::create_dir_all(module.join("data")).unwrap();
        std::fs::write(module.join("data/greeting.txt"), "hello\n").unwrap();
        std::fs::write(module.join("anrf.toml"), MANIFEST).unwrap();
        let p = Project {
            _tmp: tmp,
            root,
            home,
        };
        p.set_message("hello");
        p
    }

    pub(crate) fn module(&self) -> PathBuf {
        self.root.join("hello")
    }

    pub(crate) fn set_message(&self, message: &str) {
        let wat = HELLO_WAT
            .replace("MESSAGE", message)
            .replace("LEN", &(message.len() + 1).to_string());
        std::fs::write(self.module().join("hello.wat"), wat).unwrap();
    }

    pub(crate) fn anrf(&self, args: &[&str]) -> Output {
        self.anrf_with(&[], args)
    }

    /// Like [`Project::anrf`], with extra environment variables (e.g. `HOME`).
    pub(crate) fn anrf_with(&self, env: &[(&str, &std::path::Path)], args: &[&str]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_anrf"));
        cmd.env("ANRF_HOME", &self.home)
            .env("USER", "alice")
            .env_remove("ANRF_CACHE_DIR")
            .current_dir(&self.root)
            .args(args)
            .stdin(Stdio::null());
        for (name, value) in env {
            cmd.env(name, value);
        }
        cmd.output().unwrap()
    }

    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let out = self.anrf(args);
        assert_eq!(
            code(&out),
            0,
            "anrf {args:?}\nstdout: {}\nstderr: {}",
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }

    /// Generates keys for `names` and writes an anrf-policy.toml trusting them.
    pub(crate) fn policy(&self, names: &[(&str, &str)]) {
        self.policy_with(
            names,
            "@id(\"security-approves\")\npermit(principal in Role::\"security\", action == Action::\"approve\", resource);",
            "",
        );
    }

    /// Like [`Project::policy`], with these Cedar rules and extra TOML (e.g.
    /// `[profiles.test]`) after `[maxima]`; keys already generated are reused.
    pub(crate) fn policy_with(&self, names: &[(&str, &str)], cedar: &str, extra: &str) {
        let mut approvers = String::new();
        for (name, role) in names {
            if !self.root.join(format!("keys/{name}.key")).exists() {
                self.ok(&["key", "gen", name, "--out", "keys", "--role", role]);
            }
            let public =
                std::fs::read_to_string(self.root.join(format!("keys/{name}.pub"))).unwrap();
            write!(
                approvers,
                "\n[[approvers]]\nname = \"{name}\"\npublic_key = \"{}\"\nroles = [\"{role}\"]\n",
                public.trim()
            )
            .unwrap();
        }
        let text = format!(
            "version = 1\ncedar = \"\"\"\n{cedar}\n\"\"\"\n\n[maxima]\nread = [\"data\"]\nwrite = []\n{extra}\n{approvers}"
        );
        std::fs::write(self.root.join("anrf-policy.toml"), text).unwrap();
    }
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub(crate) fn code(out: &Output) -> i32 {
    out.status.code().expect("exited with a code")
}

pub(crate) fn request_read(p: &Project) -> String {
    let out = p.ok(&[
        "override",
        "request",
        "hello",
        "--allow-read",
        "data",
        "--justification",
        WHY,
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    json[0]["id"].as_str().unwrap().to_owned()
}

#[test]
fn request_approve_run_edit_refuse_reapprove_run_and_audit_verifies() {
    let p = Project::new();
    p.policy(&[("bob", "security"), ("carol", "security")]);
    p.ok(&["build", "hello"]);
    assert_eq!(p.ok(&["run", "hello", "--profile", "test"]), "hello\n");

    // request: declared in the manifest, unapproved, so the test profile refuses the run
    let id = request_read(&p);
    let manifest = std::fs::read_to_string(p.module().join("anrf.toml")).unwrap();
    assert!(manifest.contains(&format!("id = \"{id}\"")), "{manifest}");
    assert!(manifest.contains("host = \"data\""), "{manifest}");
    assert!(manifest.starts_with("# a tiny guest"), "comments kept");
    let refused = p.anrf(&["run", "hello", "--profile", "test"]);
    assert_eq!(code(&refused), 2, "{}", text(&refused.stderr));
    let stderr = text(&refused.stderr);
    assert!(
        stderr.contains("unsigned") && stderr.contains(&format!("anrf override approve {id}")),
        "{stderr}"
    );

    // approve with a second key (not the requester's): the run succeeds
    let approved = p.ok(&[
        "override",
        "approve",
        &id,
        "--key",
        "keys/bob.key",
        "--profile",
        "test",
    ]);
    assert!(
        approved.contains("permitted by Cedar rule(s) security-approves"),
        "{approved}"
    );
    assert!(approved.contains("it now holds in `test`"), "{approved}");
    assert_eq!(p.ok(&["run", "hello", "--profile", "test"]), "hello\n");

    // the source changes: the approval no longer binds, the run is refused
    p.set_message("HELLO, WORLD");
    p.ok(&["build", "hello"]);
    let refused = p.anrf(&["run", "hello", "--profile", "test"]);
    assert_eq!(code(&refused), 2);
    let stderr = text(&refused.stderr);
    assert!(stderr.contains("changed since approval"), "{stderr}");
    let shown = p.ok(&["override", "show", &id, "--profile", "test", "--json"]);
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["decision"]["refusal"], "digest_mismatch");

    // re-approve: the run succeeds again
    p.ok(&[
        "override",
        "approve",
        &id,
        "--key",
        "keys/carol.key",
        "--profile",
        "test",
    ]);
    assert_eq!(
        p.ok(&["run", "hello", "--profile", "test"]),
        "HELLO, WORLD\n"
    );

    let listed = p.ok(&["override", "list", "hello", "--profile", "test", "--json"]);
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed[0]["override"]["verdict"], "granted");
    assert_eq!(
        listed[0]["override"]["approvers"],
        serde_json::json!(["carol"])
    );

    // revoke: the run is refused from now on
    let manifest_path = p.root.join("hello/anrf.toml");
    let before_revocation = std::fs::read_to_string(&manifest_path).unwrap();
    p.ok(&[
        "override",
        "revoke",
        &id,
        "--reason",
        "the templates now ship inside the module",
    ]);
    let refused = p.anrf(&["run", "hello", "--profile", "test"]);
    assert_eq!(code(&refused), 2);
    assert!(
        text(&refused.stderr).contains("revoked"),
        "{}",
        text(&refused.stderr)
    );
    // putting the manifest back as it was before the revocation does not undo it:
    // the revocation recorded under ANRF_HOME still holds for run and verify
    std::fs::write(&manifest_path, &before_revocation).unwrap();
    let refused = p.anrf(&["run", "hello", "--profile", "test"]);
    assert_eq!(code(&refused), 2);
    assert!(
        text(&refused.stderr).contains("revoked"),
        "{}",
        text(&refused.stderr)
    );
    let verified = p.anrf(&["verify", "hello", "--profile", "test", "--no-cache"]);
    assert_eq!(code(&verified), 1, "{}", text(&verified.stdout));

    // every step is in the audit log, and the log verifies
    p.ok(&["audit", "verify"]);
    let log = p.ok(&["audit", "log", "--json"]);
    let events: Vec<serde_json::Value> = serde_json::from_str(&log).unwrap();
    for kind in [
        "key_gen",
        "override_request",
        "override_approve",
        "override_revoke",
        "run",
        "policy_decision",
    ] {
        assert!(
            events.iter().any(|e| e["kind"] == kind),
            "no `{kind}` event in the audit log:\n{log}"
        );
    }
    // the runs that went ahead are recorded as allowed, with the profile
    assert!(
        events.iter().any(|e| e["kind"] == "run"
            && e["decision"] == "allow"
            && e["details"]["profile"] == "test"),
        "{log}"
    );
    // `override show` and `list` decided validity: recorded as policy decisions
    for (command, decision) in [("override show", "deny"), ("override list", "allow")] {
        assert!(
            events.iter().any(|e| e["kind"] == "policy_decision"
                && e["subject"] == id.as_str()
                && e["details"]["command"] == command
                && e["decision"] == decision),
            "no `{command}` decision ({decision}) for {id}:\n{log}"
        );
    }
}

#[test]
fn self_approval_outside_dev_and_an_unknown_key_are_refused() {
    let p = Project::new();
    p.policy(&[("alice", "security"), ("bob", "security")]);
    p.ok(&["build", "hello"]);
    let id = request_read(&p);
    // alice requested it ($USER=alice): she may not approve it for test or prod
    let out = p.anrf(&[
        "override",
        "approve",
        &id,
        "--key",
        "keys/alice.key",
        "--profile",
        "test",
    ]);
    assert_eq!(code(&out), 1);
    assert!(
        text(&out.stderr).contains("refused (self_approval)"),
        "{}",
        text(&out.stderr)
    );
    // but she may in dev
    p.ok(&[
        "override",
        "approve",
        &id,
        "--key",
        "keys/alice.key",
        "--profile",
        "dev",
    ]);
    // a key that is not in the policy cannot sign at all
    p.ok(&["key", "gen", "mallory", "--out", "keys"]);
    let out = p.anrf(&[
        "override",
        "approve",
        &id,
        "--key",
        "keys/mallory.key",
        "--profile",
        "test",
    ]);
    assert_eq!(code(&out), 1);
    assert!(
        text(&out.stderr).contains("refused (unknown_key)"),
        "{}",
        text(&out.stderr)
    );
    // the dev approval does not make the run pass in test
    let out = p.anrf(&["run", "hello", "--profile", "test"]);
    assert_eq!(code(&out), 2, "{}", text(&out.stderr));
    // and the refusals are in the audit log as denials
    let log = p.ok(&["audit", "log", "--json"]);
    assert!(log.contains("\"deny\""), "{log}");
}

#[test]
fn key_gen_writes_a_private_key_only_its_owner_can_read() {
    let p = Project::new();
    let out = p.ok(&["key", "gen", "bob", "--out", "keys"]);
    assert!(
        out.contains("[[approvers]]")
            && out.contains("name = \"bob\"")
            && out.contains("public_key = \"ed25519:"),
        "{out}"
    );
    let key = p.root.join("keys/bob.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(
            std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
            0o600
        );
        let public = p.ok(&["key", "public", "keys/bob.key"]);
        assert_eq!(
            public.trim(),
            std::fs::read_to_string(p.root.join("keys/bob.pub"))
                .unwrap()
                .trim()
        );
        // a key others can read is refused
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let out = p.anrf(&["key", "public", "keys/bob.key"]);
        assert_eq!(code(&out), 2);
        assert!(
            text(&out.stderr).contains("readable by others"),
            "{}",
            text(&out.stderr)
        );
    }
    // an existing key is never overwritten
    let out = p.anrf(&["key", "gen", "bob", "--out", "keys"]);
    assert_eq!(code(&out), 2);
    assert!(text(&out.stderr).contains("already exists"));
}

#[test]
fn a_placeholder_justification_and_an_override_past_the_maxima_are_refused() {
    let p = Project::new();
    p.policy(&[("bob", "security")]);
    let out = p.anrf(&[
        "override",
        "request",
        "hello",
        "--allow-read",
        "data",
        "--justification",
        "n/a",
    ]);
    assert_eq!(code(&out), 1);
    assert!(
        text(&out.stderr).contains("refused (justification)"),
        "{}",
        text(&out.stderr)
    );
    let out = p.anrf(&[
        "override",
        "request",
        "hello",
        "--allow-read",
        "secrets",
        "--justification",
        WHY,
    ]);
    assert_eq!(code(&out), 1);
    assert!(
        text(&out.stderr).contains("wider than the project maxima"),
        "{}",
        text(&out.stderr)
    );
    let manifest = std::fs::read_to_string(p.module().join("anrf.toml")).unwrap();
    assert_eq!(manifest, MANIFEST, "a refused request writes nothing");
}

#[test]
fn a_tampered_approval_in_the_manifest_stops_the_run() {
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
    // widen the approved profile by hand: the signature no longer verifies
    let path = p.module().join("anrf.toml");
    let manifest = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        manifest.replace("profile = \"test\"", "profile = \"prod\""),
    )
    .unwrap();
    let out = p.anrf(&["run", "hello", "--profile", "prod"]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("forged"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_project_scoped_override_lives_in_the_policy_file_and_grants_to_the_module() {
    let p = Project::new();
    p.policy(&[("bob", "security")]);
    p.ok(&["build", "hello"]);
    let out = p.ok(&[
        "override",
        "request",
        "hello",
        "--allow-env",
        "GREETING",
        "--scope",
        "project",
        "--justification",
        "every module greets in the language the deployment sets",
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let id = json[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(json[0]["module"], "*");
    let policy = std::fs::read_to_string(p.root.join("anrf-policy.toml")).unwrap();
    assert!(
        policy.contains("[[overrides]]") && policy.contains(&id),
        "{policy}"
    );
    let manifest = std::fs::read_to_string(p.module().join("anrf.toml")).unwrap();
    assert!(
        manifest.contains("env = [\"GREETING\"]"),
        "declared in the module: {manifest}"
    );
    assert!(!manifest.contains(&id), "not in the module manifest");

    let out = p.anrf(&["run", "hello", "--profile", "test"]);
    assert_eq!(code(&out), 2, "unsigned: {}", text(&out.stderr));
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
    // it does not bind to one module's code: editing the module keeps it valid
    p.set_message("bonjour");
    p.ok(&["build", "hello"]);
    assert_eq!(p.ok(&["run", "hello", "--profile", "test"]), "bonjour\n");
    let listed = p.ok(&["override", "list", "hello", "--profile", "test", "--json"]);
    let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(listed[0]["module"], "*");
    assert_eq!(listed[0]["override"]["verdict"], "granted");
    p.ok(&[
        "override",
        "revoke",
        &id,
        "--reason",
        "greetings are now per module",
    ]);
    assert_eq!(code(&p.anrf(&["run", "hello", "--profile", "test"])), 2);
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if "\\.+*?()|[]{}^$".contains(c) {
                format!("\\{c}")
            } else {
                c.to_string()
            }
        })
        .collect()
}

#[test]
fn human_output_of_request_approve_show_list_and_refusals() {
    let p = Project::new();
    p.policy(&[("bob", "security"), ("carol", "security")]);
    p.ok(&["build", "hello"]);
    let requested = p.ok(&[
        "override",
        "request",
        "hello",
        "--allow-read",
        "data",
        "--justification",
        WHY,
    ]);
    let id = requested.split_whitespace().nth(1).unwrap().to_owned();
    let approved = p.ok(&[
        "override",
        "approve",
        &id,
        "--key",
        "keys/bob.key",
        "--profile",
        "test",
    ]);
    let shown = p.ok(&["override", "show", &id, "--profile", "prod"]);
    let listed = p.ok(&["override", "list", "hello", "--profile", "test"]);
    let refused_run = text(&p.anrf(&["run", "hello", "--profile", "prod"]).stderr);
    let placeholder = text(
        &p.anrf(&[
            "override",
            "request",
            "hello",
            "--allow-read",
            "data",
            "--justification",
            "todo",
        ])
        .stderr,
    );
    let transcript = format!(
        "$ anrf override request\n{requested}\n$ anrf override approve\n{approved}\n$ anrf override show --profile prod\n{shown}\n$ anrf override list --profile test\n{listed}\n$ anrf run --profile prod (stderr)\n{refused_run}\n$ anrf override request --justification todo (stderr)\n{placeholder}"
    );
    let root = regex_escape(
        &std::fs::canonicalize(&p.root)
            .unwrap()
            .display()
            .to_string(),
    );
    let root_plain = regex_escape(&p.root.display().to_string());
    insta::with_settings!({filters => vec![
        (root.as_str(), "[project]"),
        (root_plain.as_str(), "[project]"),
        (r"ovr-[0-9a-f]{16}", "ovr-[id]"),
        (r"sha256:[0-9a-f]{64}", "sha256:[digest]"),
        (r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z", "[time]"),
        (r"\d{4}-\d{2}-\d{2}", "[date]"),
        (r"ed25519:[A-Za-z0-9+/=]+", "ed25519:[key]"),
    ]}, {
        insta::assert_snapshot!(transcript);
    });
}

#[test]
fn override_help_carries_examples() {
    let p = Project::new();
    for args in [
        &["key", "gen", "--help"][..],
        &["override", "request", "--help"],
        &["override", "approve", "--help"],
        &["override", "revoke", "--help"],
        &["override", "list", "--help"],
        &["override", "show", "--help"],
    ] {
        let out = p.ok(args);
        assert!(out.contains("Example"), "{args:?}: {out}");
    }
}

/// A module one data segment over the default `data-segments` compile budget
/// (cheap to compile, unlike 20 001 functions, so the run stays within its
/// timeout under load; `compile_bomb.rs` has the functions): `run`
/// and `verify` refuse it before compiling and name the command that asks for
/// the budget; that command, approved, lets it run; a raise past the project
/// maxima is refused at request.
#[test]
fn a_compile_budget_is_raised_only_by_an_approved_override_within_the_maxima() {
    let p = Project::new();
    p.policy(&[("alice", "security")]);
    let extra = "(data (i32.const 64) \"\")\n".repeat(10_001);
    let wat = std::fs::read_to_string(p.module().join("hello.wat")).unwrap();
    let wat = format!("{}\n{extra})\n", wat.trim_end().strip_suffix(')').unwrap());
    std::fs::write(p.module().join("hello.wat"), wat).unwrap();
    p.ok(&["build", "hello"]);

    let fix = "anrf override request hello --raise data-segments=10002";
    let refused = p.anrf(&["run", "hello"]);
    assert_eq!(code(&refused), 2, "{}", text(&refused.stderr));
    let stderr = text(&refused.stderr);
    assert!(stderr.contains("refused before compiling"), "{stderr}");
    assert!(
        stderr.contains("it has 10002 data segments, above the budget of 10000 (`data-segments`)"),
        "{stderr}"
    );
    assert!(stderr.contains(fix), "{stderr}");
    let verified = p.anrf(&["verify", "hello", "--no-tests"]);
    assert_ne!(code(&verified), 0);
    let report = text(&verified.stdout) + &text(&verified.stderr);
    assert!(report.contains("ANRF-W009"), "{report}");
    assert!(report.contains(fix), "{report}");

    // Past the built-in maxima (4x the default): refused at request.
    let wide = p.anrf(&[
        "override",
        "request",
        "hello",
        "--raise",
        "data-segments=40001",
        "--justification",
        WHY,
    ]);
    assert_ne!(code(&wide), 0);
    assert!(
        text(&wide.stderr).contains("`maxima.compile.data-segments`"),
        "{}",
        text(&wide.stderr)
    );

    // The fix, applied and approved, runs the module.
    let out = p.ok(&[
        "override",
        "request",
        "hello",
        "--raise",
        "data-segments=10002",
        "--justification",
        WHY,
        "--json",
    ]);
    let json: serde_json::Value = serde_json::from_str(&out).unwrap();
    let id = json[0]["id"].as_str().unwrap().to_owned();
    p.ok(&[
        "override",
        "approve",
        &id,
        "--key",
        "keys/alice.key",
        "--profile",
        "dev",
    ]);
    assert_eq!(p.ok(&["run", "hello"]), "hello\n");
    let verified = p.anrf(&["verify", "hello", "--no-tests", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&verified.stdout).unwrap();
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert!(!ids.contains(&"ANRF-W009"), "{report}");
    let explained = p.ok(&["explain", "hello", "--json"]);
    assert!(
        explained.contains("compile budget data-segments = 10002`, and the artifact fits it"),
        "{explained}"
    );
}
