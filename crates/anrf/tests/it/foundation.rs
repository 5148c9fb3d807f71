//! `anrf init`, `check`, `build`, `schema` and `--help`, through the real binary.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn anrf(home: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_anrf"));
    cmd.env("ANRF_HOME", home).env_remove("RUSTC");
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

#[test]
fn init_then_build_then_check_end_to_end() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let module = tmp.path().join("shout");
    run_ok(anrf(&home).args(["init", "shout", "--path"]).arg(&module));
    assert!(module.join("anrf.toml").exists());
    assert!(module.join("src/main.rs").exists());
    // As it is, the new module checks.
    run_ok(anrf(&home).arg("check").arg(&module));
    let built = run_ok(anrf(&home).arg("build").arg(&module).arg("--json"));
    let json: serde_json::Value = serde_json::from_slice(&built.stdout).unwrap();
    let artifact = module.join(json["artifact"].as_str().unwrap());
    let bytes = std::fs::read(&artifact).unwrap();
    assert_eq!(&bytes[..4], b"\0asm", "the artifact is a wasm module");
    let manifest = std::fs::read_to_string(module.join("anrf.toml")).unwrap();
    assert!(
        manifest.contains(json["sha256"].as_str().unwrap()),
        "hash recorded"
    );
    assert!(manifest.contains("# Layer 1"), "comments survive the build");
    let checked = run_ok(anrf(&home).arg("check").arg(&module).arg("--json"));
    let json: serde_json::Value = serde_json::from_slice(&checked.stdout).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["built"], true);
    assert_eq!(
        json["artifact"].as_str(),
        Some(artifact.strip_prefix(&module).unwrap().to_str().unwrap())
    );
    // And the guest it built runs in the sandbox and does what the template says.
    let ran = run_with_stdin(anrf(&home).arg("run").arg(&module), b"hello, sandbox\n");
    assert!(
        ran.status.success(),
        "anrf run failed: {}",
        text(&ran.stderr)
    );
    assert_eq!(text(&ran.stdout), "HELLO, SANDBOX\n");
}

fn run_with_stdin(cmd: &mut Command, input: &[u8]) -> Output {
    use std::io::Write as _;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn check_says_when_the_artifact_is_not_built_yet() {
    let tmp = tempfile::tempdir().unwrap();
    let module = tmp.path().join("m");
    run_ok(anrf(tmp.path()).args(["init", "m", "--path"]).arg(&module));
    let out = run_ok(anrf(tmp.path()).arg("check").arg(&module));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("not built yet"), "{stdout}");
    assert!(
        stdout.contains(&format!("anrf build {}", module.display())),
        "{stdout}"
    );
    // An artifact recorded in the manifest but absent on disk is not built either.
    let manifest = module.join("anrf.toml");
    let text_before = std::fs::read_to_string(&manifest).unwrap();
    let recorded = text_before.replacen(
        "sources = [\"src/main.rs\"]",
        &format!(
            "sources = [\"src/main.rs\"]\nartifact = {{ path = \"target/m.wasm\", sha256 = \"{}\" }}",
            "0".repeat(64)
        ),
        1,
    );
    assert_ne!(recorded, text_before, "the template lists its sources");
    std::fs::write(&manifest, recorded).unwrap();
    let out = run_ok(anrf(tmp.path()).arg("check").arg(&module));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("artifact target/m.wasm recorded but not built yet"),
        "{stdout}"
    );
    let out = run_ok(anrf(tmp.path()).arg("check").arg(&module).arg("--json"));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["built"], false);
}

/// Runs `args` with stdout a pipe whose reader is already closed (`anrf ... | true`).
#[cfg(unix)]
fn into_closed_pipe(home: &Path, dir: &Path, args: &[&std::ffi::OsStr]) -> Output {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    anrf(home)
        .current_dir(dir)
        .args(args)
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .unwrap()
}

#[cfg(unix)]
#[test]
fn a_closed_stdout_is_not_a_panic() {
    let tmp = tempfile::tempdir().unwrap();
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/wordcount");
    let module = tmp.path().join("piped");
    let cases: Vec<Vec<&std::ffi::OsStr>> = vec![
        vec!["schema".as_ref()],
        vec!["check".as_ref(), examples.as_os_str()],
        vec!["check".as_ref(), examples.as_os_str(), "--json".as_ref()],
        vec![
            "init".as_ref(),
            "piped".as_ref(),
            "--path".as_ref(),
            module.as_os_str(),
        ],
        vec!["--help".as_ref()],
        vec![
            "key".as_ref(),
            "gen".as_ref(),
            "piper".as_ref(),
            "--out".as_ref(),
            tmp.path().as_os_str(),
        ],
        vec!["override".as_ref(), "list".as_ref(), examples.as_os_str()],
    ];
    for args in cases {
        let out = into_closed_pipe(tmp.path(), tmp.path(), &args);
        let stderr = text(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
    assert!(module.join("anrf.toml").exists(), "init did its job");
}

#[test]
fn init_refuses_bad_names_and_existing_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let out = anrf(tmp.path())
        .current_dir(tmp.path())
        .args(["init", "Bad Name"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("module name `Bad Name`"),
        "{}",
        text(&out.stderr)
    );
    std::fs::create_dir(tmp.path().join("taken")).unwrap();
    let out = anrf(tmp.path())
        .current_dir(tmp.path())
        .args(["init", "taken"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("never overwrites"));
}

#[test]
fn check_reports_file_line_column_and_fix_as_plain_text_when_piped() {
    let tmp = tempfile::tempdir().unwrap();
    let module = tmp.path().join("m");
    run_ok(anrf(tmp.path()).args(["init", "m", "--path"]).arg(&module));
    let manifest = module.join("anrf.toml");
    let original = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(&manifest, original.replace("isolation = \"wasm\"\n", "")).unwrap();
    let out = anrf(tmp.path()).arg("check").arg(&module).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    let expected_path = format!("{}:", manifest.display());
    assert!(
        stderr.starts_with(&format!("error: {expected_path}")),
        "{stderr}"
    );
    assert!(
        stderr.contains("missing field `isolation` in `[security]`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("help: add it under `[security]`"),
        "{stderr}"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "no terminal escapes in piped output"
    );
}

#[test]
fn check_of_a_missing_module_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let out = anrf(tmp.path())
        .arg("check")
        .arg(tmp.path().join("nope"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no manifest `anrf.toml`"));
}

#[test]
fn build_without_the_wasm_target_names_it_and_the_install_command() {
    let tmp = tempfile::tempdir().unwrap();
    let module = tmp.path().join("m");
    run_ok(anrf(tmp.path()).args(["init", "m", "--path"]).arg(&module));
    // A rustc whose sysroot has no wasm32-wasip1 standard library.
    let sysroot = tmp.path().join("sysroot");
    std::fs::create_dir_all(sysroot.join("lib/rustlib/x86_64-unknown-linux-gnu")).unwrap();
    let fake_rustc = tmp.path().join("rustc");
    std::fs::write(
        &fake_rustc,
        format!("#!/bin/sh\necho '{}'\n", sysroot.display()),
    )
    .unwrap();
    make_executable(&fake_rustc);
    let out = anrf(tmp.path())
        .env("RUSTC", &fake_rustc)
        .arg("build")
        .arg(&module)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("the Rust target `wasm32-wasip1` is not installed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("rustup target add wasm32-wasip1"),
        "{stderr}"
    );
}

#[test]
fn build_reports_compile_errors_clearly() {
    let tmp = tempfile::tempdir().unwrap();
    let module = tmp.path().join("m");
    run_ok(anrf(tmp.path()).args(["init", "m", "--path"]).arg(&module));
    std::fs::write(
        module.join("src/main.rs"),
        "fn main() { let x: u8 = \"no\"; }\n",
    )
    .unwrap();
    let out = anrf(tmp.path()).arg("build").arg(&module).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("mismatched types"),
        "compiler output passes through: {stderr}"
    );
    assert!(stderr.contains("`cargo build` of the guest"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn build_installs_a_missing_wasm_target_with_rustup_and_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let module = tmp.path().join("m");
    run_ok(anrf(tmp.path()).args(["init", "m", "--path"]).arg(&module));
    // A toolchain whose sysroot lacks the target until `rustup target add`
    // puts it there: `rustc --print sysroot` answers with the fake sysroot,
    // everything else goes to the real compiler.
    let real = |tool: &str| {
        let out = Command::new("rustup")
            .args(["which", tool])
            .current_dir(&module)
            .output()
            .unwrap();
        text(&out.stdout).trim().to_owned()
    };
    let (rustc, cargo) = (real("rustc"), real("cargo"));
    // The build compiles with the real compiler, whose own sysroot must hold
    // the target (on a machine that never had it, this installs it for real).
    anrf_build::ensure_wasm_target(&module).expect("the real wasm32-wasip1 target");
    let sysroot = tmp.path().join("sysroot");
    std::fs::create_dir_all(sysroot.join("lib/rustlib")).unwrap();
    let bin = tmp.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let log = tmp.path().join("rustup.log");
    let scripts = [
        (
            "rustc",
            format!(
                "#!/bin/sh
if [ \"$1 $2\" = \"--print sysroot\" ]; then echo '{}'; exit 0; fi
exec '{rustc}' \"$@\"
",
                sysroot.display()
            ),
        ),
        (
            "cargo",
            format!(
                "#!/bin/sh
exec '{cargo}' \"$@\"
"
            ),
        ),
        (
            "rustup",
            format!(
                "#!/bin/sh
echo \"$@\" >> '{}'
mkdir -p '{}/lib/rustlib/'\"$3\"
",
                log.display(),
                sysroot.display()
            ),
        ),
    ];
    for (name, body) in scripts {
        std::fs::write(bin.join(name), body).unwrap();
        make_executable(&bin.join(name));
    }
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let out = anrf(tmp.path())
        .env("PATH", &path)
        .arg("build")
        .arg(&module)
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr
            .contains("installing the Rust target wasm32-wasip1 (rustup target add wasm32-wasip1)"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        "target add wasm32-wasip1\n"
    );
    // Installed: the next build does not ask again.
    let out = anrf(tmp.path())
        .env("PATH", &path)
        .arg("build")
        .arg(&module)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        !text(&out.stderr).contains("installing"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 1);
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn schema_is_json_schema_for_the_manifest() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run_ok(anrf(tmp.path()).arg("schema"));
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(schema["title"], "ANRF manifest v1");
    assert!(
        schema["$schema"]
            .as_str()
            .unwrap()
            .contains("json-schema.org")
    );
    assert_eq!(schema["additionalProperties"], false);
    // Exactly the schema the library's validation tests check against the examples.
    assert_eq!(schema, anrf_format::Manifest::json_schema());
}

/// The subcommands a `--help` listing names (without `help`).
fn subcommands(listing: &str) -> Vec<String> {
    listing
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // A wrapped description continues on a line indented further.
        .filter(|l| !l[2..].starts_with(' '))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .filter(|c| c != "help")
        .collect()
}

#[test]
fn every_command_has_help_with_an_example() {
    let tmp = tempfile::tempdir().unwrap();
    let top = run_ok(anrf(tmp.path()).arg("--help"));
    let listing = text(&top.stdout);
    assert!(listing.contains("Example"), "`anrf --help` has no example");
    let top_level = subcommands(&listing);
    assert!(top_level.len() >= 13, "{listing}");
    // Walk the tree: every command, and every command under it, has an example.
    let mut pending: Vec<Vec<String>> = top_level.into_iter().map(|c| vec![c]).collect();
    let mut seen = 0;
    while let Some(path) = pending.pop() {
        let out = run_ok(anrf(tmp.path()).args(&path).arg("--help"));
        let help = text(&out.stdout);
        assert!(
            help.contains("Example"),
            "`anrf {} --help` has no example",
            path.join(" ")
        );
        seen += 1;
        for sub in subcommands(&help) {
            let mut deeper = path.clone();
            deeper.push(sub);
            pending.push(deeper);
        }
    }
    assert!(seen > 13, "nested commands were walked: {seen}");
}

#[test]
fn foundation_help_snapshots() {
    let tmp = tempfile::tempdir().unwrap();
    for command in ["init", "check", "build", "schema"] {
        let out = run_ok(anrf(tmp.path()).arg(command).arg("--help"));
        insta::assert_snapshot!(format!("{command}_help"), text(&out.stdout));
    }
    let out = run_ok(anrf(tmp.path()).arg("--help"));
    insta::assert_snapshot!("anrf_help", text(&out.stdout));
}
