//! Every command that reads a file meets hostile input calmly: a FIFO, a
//! device, a directory, a truncated or garbage file, invalid UTF-8, deep
//! nesting or a huge file in place of the manifest, a source, the artifact,
//! the project policy, a key, the audit database or a file named on the command
//! line gets exit 1 or 2 within seconds, an error that names the problem,
//! never a panic, a signal or a hang, and leaves the workspace as it was.

use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one command may take before it counts as hung.
const DEADLINE: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bad {
    Fifo,
    DevZero,
    DevUrandom,
    Directory,
    Truncated,
    Garbage,
    NotUtf8,
    Nested,
    Huge,
}

const ALL: [Bad; 9] = [
    Bad::Fifo,
    Bad::DevZero,
    Bad::DevUrandom,
    Bad::Directory,
    Bad::Truncated,
    Bad::Garbage,
    Bad::NotUtf8,
    Bad::Nested,
    Bad::Huge,
];

impl Bad {
    /// The kinds that are not a regular file of sane size: the error must name
    /// the file.
    fn is_not_a_file(self) -> bool {
        matches!(
            self,
            Bad::Fifo | Bad::DevZero | Bad::DevUrandom | Bad::Directory | Bad::Huge
        )
    }
}

/// Replaces whatever is at `path` by `bad`; `good` is what a truncated copy
/// is cut from.
fn plant(path: &Path, bad: Bad, good: &[u8]) {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.is_dir() {
            std::fs::remove_dir_all(path).unwrap();
        } else {
            std::fs::remove_file(path).unwrap();
        }
    }
    match bad {
        Bad::Fifo => {
            let status = Command::new("mkfifo").arg(path).status().unwrap();
            assert!(status.success(), "mkfifo {}", path.display());
        }
        Bad::DevZero | Bad::DevUrandom => {
            let (minor, target) = if bad == Bad::DevZero {
                ("5", "/dev/zero")
            } else {
                ("9", "/dev/urandom")
            };
            // A device node in the file's place where we may make one (root),
            // else a link to the device.
            let made = Command::new("mknod")
                .arg(path)
                .args(["c", "1", minor])
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if !made {
                std::os::unix::fs::symlink(target, path).unwrap();
            }
        }
        Bad::Directory => std::fs::create_dir(path).unwrap(),
        Bad::Truncated => std::fs::write(path, &good[..good.len() / 2]).unwrap(),
        Bad::Garbage => {
            let mut state = 0x9e37_79b9_7f4a_7c15_u64;
            let bytes: Vec<u8> = (0..4096)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state.to_le_bytes()[0]
                })
                .collect();
            std::fs::write(path, bytes).unwrap();
        }
        Bad::NotUtf8 => {
            let mut bytes = good.to_vec();
            bytes.splice(bytes.len() / 3..bytes.len() / 3, [0xff, 0xfe, 0xc3, 0x28]);
            std::fs::write(path, bytes).unwrap();
        }
        Bad::Nested => {
            let depth = 100_000;
            let mut text = String::from("a = ");
            text.push_str(&"[".repeat(depth));
            text.push_str(&"]".repeat(depth));
            text.push_str("\n{\"b\": ");
            text.push_str(&"{\"c\": ".repeat(depth));
            std::fs::write(path, text).unwrap();
        }
        Bad::Huge => {
            // Sparse: no disk, but far past every bound anrf reads.
            let file = std::fs::File::create(path).unwrap();
            file.set_len(8 << 30).unwrap();
        }
    }
}

/// What is in the workspace (outside `home`): kind, size and, for regular
/// files up to 1 MiB, the bytes. Equal before and after a refused command
/// means it wrote nothing.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (String, u64, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, (String, u64, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            if rel.starts_with("home") || rel.components().any(|c| c.as_os_str() == "target") {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let t = meta.file_type();
            let kind = if t.is_symlink() {
                format!("link:{}", std::fs::read_link(&path).unwrap().display())
            } else if t.is_dir() {
                walk(root, &path, out);
                "dir".to_owned()
            } else if t.is_fifo() {
                "fifo".to_owned()
            } else if t.is_char_device() {
                format!("chr:{}", meta.rdev())
            } else {
                "file".to_owned()
            };
            let bytes = if t.is_file() && meta.len() <= 1 << 20 {
                std::fs::read(&path).unwrap()
            } else {
                Vec::new()
            };
            out.insert(rel, (kind, meta.len(), bytes));
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

struct Workspace {
    tmp: tempfile::TempDir,
}

struct Ran {
    code: Option<i32>,
    stderr: String,
    /// Stdout and stderr: `verify` reports a refused input as a finding.
    output: String,
    elapsed: Duration,
}

impl Workspace {
    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_anrf"));
        cmd.args(args)
            .env("ANRF_HOME", self.path("home"))
            .env("USER", "tester")
            .env("NO_COLOR", "1")
            .env("ANRF_LLM_BASE_URL", "http://127.0.0.1:9")
            .env_remove("ANRF_CACHE_DIR")
            .env_remove("RUSTC")
            .current_dir(self.tmp.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd
    }

    /// `anrf ARGS` with `stdin` (a file, or empty), killed after [`DEADLINE`].
    fn run(&self, args: &[&str], stdin: Option<&Path>) -> Ran {
        let mut cmd = self.command(args);
        match stdin {
            Some(path) => cmd.stdin(std::fs::File::open(path).unwrap()),
            None => cmd.stdin(Stdio::null()),
        };
        let mut child = cmd.spawn().unwrap();
        let mut stderr = child.stderr.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut text = Vec::new();
            std::io::Read::read_to_end(&mut stderr, &mut text).ok();
            text
        });
        let mut stdout = child.stdout.take().unwrap();
        let out_reader = std::thread::spawn(move || {
            let mut text = Vec::new();
            std::io::Read::read_to_end(&mut stdout, &mut text).ok();
            text
        });
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if start.elapsed() > DEADLINE {
                child.kill().ok();
                child.wait().ok();
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let elapsed = start.elapsed();
        let stderr = String::from_utf8_lossy(&reader.join().unwrap()).into_owned();
        let stdout = String::from_utf8_lossy(&out_reader.join().unwrap()).into_owned();
        Ran {
            code: status.and_then(|s| s.code()),
            output: format!("{stdout}{stderr}"),
            stderr,
            elapsed,
        }
    }

    fn ok(&self, args: &[&str]) -> String {
        let out = self
            .command(args)
            .stdout(Stdio::piped())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "`anrf {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

const GUEST: &str = r#"(module
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start") (call $exit (i32.const 0))))
"#;

fn manifest(name: &str) -> String {
    format!(
        r#"anrf = 1

[module]
name = "{name}"
version = "0.1.0"

[intent]
summary = "Exit at once"

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

/// One file a command reads and the commands that read it.
struct Target {
    /// Workspace-relative path of the file replaced.
    file: String,
    /// The commands take the file's bytes as they are (a WAT source after the
    /// build, an artifact's digest mismatch is a finding): garbage content may
    /// pass with exit 0, a FIFO or a device may not.
    content_may_pass: bool,
    commands: Vec<Vec<String>>,
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn every_command_that_reads_a_file_refuses_hostile_files_calmly() {
    let ws = Workspace {
        tmp: tempfile::tempdir().unwrap(),
    };
    std::fs::create_dir(ws.path(".git")).unwrap();
    let module = ws.path("m");
    std::fs::create_dir_all(module.join("data")).unwrap();
    std::fs::write(module.join("anrf.toml"), manifest("m")).unwrap();
    std::fs::write(module.join("guest.wat"), GUEST).unwrap();
    ws.ok(&["build", "m"]);
    let check: serde_json::Value = serde_json::from_str(&ws.ok(&["check", "m", "--json"])).unwrap();
    let artifact = format!("m/{}", check["artifact"].as_str().unwrap());
    ws.ok(&["key", "gen", "alice", "--out", "keys"]);
    ws.ok(&["run", "m"]);
    std::fs::write(
        ws.path("bare.wasm"),
        std::fs::read(ws.path(&artifact)).unwrap(),
    )
    .unwrap();
    std::fs::write(ws.path("bare.wat"), GUEST).unwrap();
    std::fs::write(
        ws.path("examples.toml"),
        "[[examples]]\nname = \"a\"\nstdin = \"\"\nstdout = \"\"\n",
    )
    .unwrap();
    ws.ok(&["policy", "init", "--approver", "alice", "--keys", "keys"]);
    std::fs::create_dir(ws.path("fresh")).unwrap();
    let module_commands = || {
        vec![
            args(&["check", "m"]),
            args(&["explain", "m"]),
            args(&["verify", "m"]),
            args(&["verify", "m", "--format", "sarif"]),
            args(&["run", "m"]),
            args(&["build", "m"]),
            args(&[
                "override",
                "request",
                "m",
                "--allow-read",
                "data",
                "--justification",
                "reads its shipped data files",
            ]),
            args(&["override", "status", "m"]),
        ]
    };
    let targets = vec![
        Target {
            file: "m/anrf.toml".into(),
            content_may_pass: false,
            commands: module_commands(),
        },
        Target {
            file: "m/guest.wat".into(),
            content_may_pass: true,
            commands: vec![
                args(&["verify", "m"]),
                args(&["explain", "m"]),
                args(&["build", "m"]),
                args(&["run", "m"]),
            ],
        },
        Target {
            file: artifact.clone(),
            content_may_pass: false,
            commands: vec![
                args(&["verify", "m"]),
                args(&["explain", "m"]),
                args(&["run", "m"]),
                args(&["run", "m", "--engine", "aot"]),
            ],
        },
        Target {
            file: "anrf-policy.toml".into(),
            content_may_pass: false,
            // `check` and `build` do not read the project policy.
            commands: module_commands()
                .into_iter()
                .filter(|c| c[0] != "check" && c[0] != "build")
                .collect(),
        },
        Target {
            file: "bare.wasm".into(),
            content_may_pass: false,
            commands: vec![
                args(&["run", "bare.wasm"]),
                args(&["run", "bare.wasm", "--engine", "jit"]),
            ],
        },
        Target {
            file: "bare.wat".into(),
            content_may_pass: false,
            commands: vec![args(&["run", "bare.wat"])],
        },
        Target {
            file: "keys/alice.key".into(),
            content_may_pass: false,
            commands: vec![args(&["key", "public", "keys/alice.key"])],
        },
        Target {
            file: "keys/alice.pub".into(),
            content_may_pass: false,
            commands: vec![args(&[
                "policy",
                "init",
                "--approver",
                "alice",
                "--keys",
                "keys",
                "--dir",
                "fresh",
            ])],
        },
        Target {
            file: "examples.toml".into(),
            content_may_pass: false,
            commands: vec![args(&[
                "gen",
                "count the words on stdin",
                "-o",
                "generated",
                "--examples",
                "examples.toml",
            ])],
        },
        Target {
            file: "home/audit/audit.db".into(),
            content_may_pass: false,
            commands: vec![args(&["audit", "verify"]), args(&["audit", "log"])],
        },
    ];
    let mut failures = Vec::new();
    let mut runs = 0;
    for target in &targets {
        let path = ws.path(&target.file);
        let good = std::fs::read(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().mode();
        for bad in ALL {
            plant(&path, bad, &good);
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            for command in &target.commands {
                let argv: Vec<&str> = command.iter().map(String::as_str).collect();
                let before = snapshot(ws.tmp.path());
                let ran = ws.run(&argv, None);
                runs += 1;
                let after = snapshot(ws.tmp.path());
                let what = format!(
                    "`anrf {}` with {bad:?} as `{}`",
                    argv.join(" "),
                    target.file
                );
                // `explain` explains a module that may not run: exit 0, with
                // the refusal in its explanation.
                let explained = argv[0] == "explain"
                    && ran.code == Some(0)
                    && ran.output.contains("may NOT run");
                // Half a file may still be a valid one.
                let still_valid = ran.code == Some(0)
                    && (bad == Bad::Truncated || (target.content_may_pass && !bad.is_not_a_file()));
                match ran.code {
                    None if ran.elapsed > DEADLINE => {
                        failures.push(format!("{what}: still running after {DEADLINE:?}"));
                    }
                    None => failures.push(format!("{what}: killed by a signal: {}", ran.stderr)),
                    Some(1 | 2) => {}
                    Some(_) if explained || still_valid => {}
                    Some(code) => failures.push(format!("{what}: exit {code}: {}", ran.output)),
                }
                if ran.stderr.contains("panicked") {
                    failures.push(format!("{what}: panicked: {}", ran.stderr));
                }
                if !still_valid && ran.output.trim().is_empty() {
                    failures.push(format!("{what}: no error at all"));
                }
                // `explain` says the module may not run and `audit verify`
                // that the log is not intact, without naming the file.
                let names_it = !explained && argv[..2] != ["audit", "verify"];
                if bad.is_not_a_file()
                    && names_it
                    && ran.code.is_some()
                    && !ran.output.contains(&name)
                {
                    failures.push(format!(
                        "{what}: the error does not name `{name}`: {}",
                        ran.output
                    ));
                }
                if ran.code != Some(0) && before != after {
                    let changed: Vec<_> = before
                        .keys()
                        .chain(after.keys())
                        .filter(|k| before.get(*k) != after.get(*k))
                        .collect();
                    failures.push(format!("{what}: changed the workspace: {changed:?}"));
                }
            }
        }
        // Back to the good file for the next target.
        let meta = std::fs::symlink_metadata(&path).unwrap();
        if meta.is_dir() {
            std::fs::remove_dir_all(&path).unwrap();
        } else {
            std::fs::remove_file(&path).unwrap();
        }
        std::fs::write(&path, &good).unwrap();
        std::fs::set_permissions(
            &path,
            std::os::unix::fs::PermissionsExt::from_mode(mode & 0o7777),
        )
        .unwrap();
    }
    assert!(
        failures.is_empty(),
        "{} of {runs} runs were not met calmly:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// Endless or huge stdin where a command reads text from stdin.
#[test]
fn endless_stdin_is_refused_within_seconds() {
    let ws = Workspace {
        tmp: tempfile::tempdir().unwrap(),
    };
    let mut failures = Vec::new();
    for device in ["/dev/zero", "/dev/urandom"] {
        for argv in [
            vec!["intent", "check", "-"],
            vec!["gen", "-", "-o", "generated"],
        ] {
            let ran = ws.run(&argv, Some(Path::new(device)));
            let what = format!("`anrf {}` < {device}", argv.join(" "));
            if !matches!(ran.code, Some(1 | 2)) || ran.stderr.contains("panicked") {
                failures.push(format!(
                    "{what}: exit {:?} after {:?}: {}",
                    ran.code, ran.elapsed, ran.stderr
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_thousand_and_one_examples_are_refused_and_a_thousand_are_not() {
    let ws = Workspace {
        tmp: tempfile::tempdir().unwrap(),
    };
    let module = ws.path("m");
    std::fs::create_dir_all(&module).unwrap();
    std::fs::write(module.join("guest.wat"), GUEST).unwrap();
    // Inline tables: 20,000 examples in less than the manifest's 1 MiB.
    let with = |n: usize| {
        let list: Vec<String> = (0..n)
            .map(|i| format!("{{name=\"e{i}\",stdin=\"\",stdout=\"\"}}"))
            .collect();
        let text = manifest("m").replacen(
            "[[intent.examples]]\nname = \"runs\"\nstdin = \"\"\nstdout = \"\"\nexit_code = 0\n",
            "",
            1,
        );
        let text = text.replacen(
            "summary = \"Exit at once\"\n",
            &format!(
                "summary = \"Exit at once\"\nexamples = [{}]\n",
                list.join(",")
            ),
            1,
        );
        assert!(text.len() < 1 << 20, "{} bytes", text.len());
        std::fs::write(module.join("anrf.toml"), text).unwrap();
    };
    with(20_000);
    let ran = ws.run(&["check", "m"], None);
    assert_eq!(ran.code, Some(2), "{}", ran.stderr);
    assert!(ran.stderr.contains("more than the 1000"), "{}", ran.stderr);
    // `explain` explains a module that may not run (exit 0), and is quick.
    let ran = ws.run(&["explain", "m"], None);
    assert!(
        matches!(ran.code, Some(0..=2)),
        "{:?}: {}",
        ran.code,
        ran.stderr
    );
    assert!(ran.elapsed < Duration::from_secs(10), "{:?}", ran.elapsed);
    with(1000);
    let ran = ws.run(&["check", "m"], None);
    assert!(!ran.stderr.contains("more than the 1000"), "{}", ran.stderr);
}
