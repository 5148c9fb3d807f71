//! The README tour runs as written: its commands are extracted from README.md
//! (not copied here) and run top to bottom in a fresh directory with a fresh
//! `$ANRF_HOME` and the built `anrf` first on `PATH`. A line whose comment says
//! `exit N` must exit `N`; every other line must exit 0.

use std::fmt::Write as _;
use std::process::Command;

/// The tour's lines: the first `sh` block after "## A short tour", each with
/// the exit code its comment announces (0 when it announces none).
fn tour() -> Vec<(String, i32)> {
    let readme = include_str!("../../../../README.md");
    let start = readme.find("## A short tour").expect("README has a tour");
    let block = &readme[start..];
    let open = block.find("```sh\n").expect("the tour is an sh block") + "```sh\n".len();
    let close = block[open..].find("```").expect("the block ends") + open;
    let mut lines = Vec::new();
    for line in block[open..close].lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let comment = line.split_once("  #").map_or("", |(_, c)| c);
        let expected = comment
            .split("exit ")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        lines.push((line.to_owned(), expected));
    }
    lines
}

#[test]
fn the_readme_tour_runs_as_written() {
    let lines = tour();
    assert!(lines.len() >= 15, "the tour is there: {lines:?}");
    assert!(
        lines.iter().any(|(_, e)| *e != 0),
        "the tour shows refusals with their exit codes"
    );
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let mut script = String::from("set -u\n");
    for (n, (line, expected)) in lines.iter().enumerate() {
        let shown = line.replace('\'', "'\\''");
        write!(
            script,
            "echo '+ {shown}' >&2\n{line}\nrc=$?\nif [ \"$rc\" != {expected} ]; then echo 'tour line {}: exited '\"$rc\"', expected {expected}: {shown}' >&2; exit 1; fi\n",
            n + 1
        )
        .unwrap();
    }
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_anrf"))
        .parent()
        .unwrap();
    let path = std::env::join_paths(
        std::iter::once(bin.to_path_buf())
            .chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(&work)
        .env("PATH", path)
        .env("ANRF_HOME", tmp.path().join("anrf-home"))
        .env_remove("ANRF_CACHE_DIR")
        .env_remove("ANRF_LLM_ENDPOINT")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stderr}\n--- stdout:\n{stdout}");
    // What the comments promise shows up.
    assert_eq!(stdout.matches("HELLO").count(), 2, "{stdout}");
    assert!(work.join("anrf-policy.toml").is_file());
    assert!(work.join("shout.sarif").is_file());
}
