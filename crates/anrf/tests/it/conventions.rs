//! The conventions a command-line tool follows: shell completions and man pages
//! generated from the real command line, `--color` beside `NO_COLOR`, `--json`
//! errors and refusals as one JSON object on stdout, and a terminal's input
//! streamed to the guest.

use std::process::{Command, Stdio};

use crate::policy::{Project, code, request_read, text};

fn anrf() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_anrf"));
    cmd.env_remove("NO_COLOR").stdin(Stdio::null());
    cmd
}

#[test]
fn completions_for_each_shell_name_the_commands() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef anrf"),
        ("fish", "complete -c anrf"),
    ] {
        let out = anrf().args(["completions", shell]).output().unwrap();
        assert_eq!(code(&out), 0, "{shell}: {}", text(&out.stderr));
        let script = text(&out.stdout);
        assert!(script.contains(marker), "{shell}: {script}");
        for command in ["override", "verify", "approve"] {
            assert!(script.contains(command), "{shell} lacks `{command}`");
        }
    }
    let out = anrf().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(code(&out), 2, "an unknown shell is a usage error");
}

#[test]
fn man_pages_are_written_for_every_command() {
    let out = anrf().arg("man").output().unwrap();
    assert_eq!(code(&out), 0);
    assert!(
        text(&out.stdout).starts_with(".ie"),
        "roff: {}",
        text(&out.stdout)
    );
    let dir = tempfile::tempdir().unwrap();
    let out = anrf()
        .args(["man", "--out"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    for page in [
        "anrf.1",
        "anrf-run.1",
        "anrf-override-approve.1",
        "anrf-completions.1",
    ] {
        let roff = std::fs::read_to_string(dir.path().join(page)).unwrap();
        assert!(roff.contains(".TH"), "{page}");
    }
    let approve = std::fs::read_to_string(dir.path().join("anrf-override-approve.1")).unwrap();
    assert!(approve.contains("anrf override approve"), "{approve}");
}

#[test]
fn color_follows_the_flag_and_no_color() {
    let escape = |out: &std::process::Output| text(&out.stderr).contains('\u{1b}');
    let always = anrf()
        .args(["--color", "always", "check", "no-such-module"])
        .output()
        .unwrap();
    assert_eq!(code(&always), 2);
    assert!(escape(&always), "{}", text(&always.stderr));
    let never = anrf()
        .args(["check", "no-such-module", "--color=never"])
        .output()
        .unwrap();
    assert!(!escape(&never), "{}", text(&never.stderr));
    assert!(
        text(&never.stderr).starts_with("error: no manifest"),
        "{}",
        text(&never.stderr)
    );
    // Piped and `auto`: plain, whatever NO_COLOR says.
    for no_color in ["", "1"] {
        let auto = anrf()
            .env("NO_COLOR", no_color)
            .args(["check", "no-such-module"])
            .output()
            .unwrap();
        assert!(!escape(&auto), "{}", text(&auto.stderr));
    }
    let out = anrf()
        .args(["--color", "sometimes", "check", "x"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("sometimes"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn json_errors_and_refusals_are_one_object_on_stdout() {
    let out = anrf()
        .args(["check", "no-such-module", "--json"])
        .output()
        .unwrap();
    assert_eq!(code(&out), 2);
    let json: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
    assert_eq!(json["status"], "error");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("no manifest")
    );
    assert!(
        json["error"]["help"]
            .as_str()
            .unwrap()
            .contains("anrf init")
    );
    assert!(
        text(&out.stderr).contains("no manifest"),
        "and on stderr for a person"
    );

    let p = Project::new();
    p.policy(&[("alice", "security")]);
    p.ok(&["build", "hello"]);
    let id = request_read(&p);
    let out = p.anrf(&[
        "override",
        "approve",
        &id,
        "--key",
        "keys/alice.key",
        "--profile",
        "test",
        "--json",
    ]);
    assert_eq!(code(&out), 1, "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_str(&text(&out.stdout))
        .unwrap_or_else(|e| panic!("{e}: {:?}", text(&out.stdout)));
    assert_eq!(json["status"], "refused");
    assert_eq!(json["error"]["code"], "self_approval");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("may not approve")
    );
    // A success prints its own object, and no error object after it.
    let out = p.anrf(&[
        "override",
        "approve",
        &id,
        "--key",
        "keys/alice.key",
        "--profile",
        "dev",
        "--json",
    ]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let _: serde_json::Value = serde_json::from_str(&text(&out.stdout)).unwrap();
}

#[test]
fn a_terminal_s_input_is_streamed_to_the_guest() {
    // `script` gives the command a terminal and types what it reads from its
    // own stdin; the terminal echoes the line once, the guest copies it back.
    let guest = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/run/cat_stdin.wat"
    );
    let home = tempfile::tempdir().unwrap();
    let command = format!("{} run {guest}", env!("CARGO_BIN_EXE_anrf"));
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("ANRF_HOME", home.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("`script` (util-linux) gives the run a terminal");
    {
        use std::io::Write as _;
        let mut stdin = child.stdin.take().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(500));
        stdin.write_all(b"typed at a terminal\n").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        stdin.write_all(b"\x04").unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let shown = text(&out.stdout);
    assert_eq!(
        shown.matches("typed at a terminal").count(),
        2,
        "{shown:?} {}",
        text(&out.stderr)
    );
}

#[test]
fn retraining_writes_into_the_working_directory_not_the_source_tree() {
    let work = tempfile::tempdir().unwrap();
    let source_model = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../anrf-gen/data/intent-model.json"
    );
    let before = std::fs::read(source_model).ok();
    let out = anrf()
        .args(["eval", "intent", "--train", "--json"])
        .env("ANRF_HOME", work.path().join("home"))
        .current_dir(work.path())
        .output()
        .unwrap();
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    assert!(work.path().join("intent-model.json").is_file());
    assert_eq!(
        std::fs::read(source_model).ok(),
        before,
        "the source tree is untouched"
    );
}
