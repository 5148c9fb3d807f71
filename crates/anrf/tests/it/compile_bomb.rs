//! `anrf run` on a compile bomb: a module far over its compile budget is
//! refused before anything compiles it, whatever the run's limits, on every
//! engine. (Before compile budgets, 500 000 empty functions run with
//! `--timeout 1s --max-memory 1MiB` compiled for about a minute, with
//! gigabytes of host memory, and then reported `status: ok`.)

use std::process::{Command, Stdio};

/// A module of `n` empty functions, the first exported as `_start`,
/// encoded by hand (about 4 bytes a function).
fn bomb(n: u32) -> Vec<u8> {
    fn leb(mut v: usize, out: &mut Vec<u8>) {
        loop {
            let byte = u8::try_from(v & 0x7f).unwrap();
            v >>= 7;
            if v == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }
    fn section(id: u8, contents: &[u8], out: &mut Vec<u8>) {
        out.push(id);
        leb(contents.len(), out);
        out.extend_from_slice(contents);
    }
    let n = usize::try_from(n).unwrap();
    let mut module = b"\0asm\x01\0\0\0".to_vec();
    section(1, &[1, 0x60, 0, 0], &mut module);
    let mut functions = Vec::new();
    leb(n, &mut functions);
    functions.resize(functions.len() + n, 0);
    section(3, &functions, &mut module);
    section(7, b"\x01\x06_start\x00\x00", &mut module);
    let mut code = Vec::new();
    leb(n, &mut code);
    for _ in 0..n {
        code.extend_from_slice(&[2, 0, 0x0b]);
    }
    section(10, &code, &mut module);
    module
}

#[test]
fn a_compile_bomb_is_refused_before_compiling_whatever_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bomb.wasm");
    std::fs::write(&file, bomb(500_000)).unwrap();
    for engine in ["interp", "jit", "aot"] {
        let out = Command::new(env!("CARGO_BIN_EXE_anrf"))
            .env("ANRF_HOME", dir.path().join("home"))
            .env_remove("ANRF_CACHE_DIR")
            .args([
                "run",
                "--engine",
                engine,
                "--timeout",
                "1s",
                "--max-memory",
                "1MiB",
                "--json",
            ])
            .arg(&file)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{engine}");
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["status"], "error", "{engine}: {json}");
        let message = json["stderr"].as_str().unwrap();
        assert!(
            message.contains(
                "it has 500000 defined functions, above the budget of 20000 (`functions`)"
            ),
            "{engine}: {message}"
        );
        assert!(message.contains("refused before compiling"), "{message}");
        let cache = dir.path().join("home/cache/aot");
        let entries = std::fs::read_dir(&cache).map_or(0, |d| {
            d.flatten()
                .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
                .count()
        });
        assert_eq!(entries, 0, "{engine}: an artifact was compiled");
    }
}
