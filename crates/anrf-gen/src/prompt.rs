//! What the model is told: the secure-by-default system prompt, the first request
//! (the intent, the module name, what was not granted) and the repair messages.
//!
//! The prompt asks; it never decides. Everything the model claims is checked
//! afterwards (the reply parser, the manifest parser, the compiler, the verifier),
//! so a model that ignores these instructions produces a module that does not
//! verify, never a module with more rights.

use std::fmt::Write as _;

use sha2::{Digest as _, Sha256};

/// The system prompt of every generation. Part of the prompt digest recorded in
/// the module's provenance, so changing a word here changes the digest.
pub const SYSTEM_PROMPT: &str = r#"You write small, secure command-line programs for anrf, a toolchain that runs every module in a WebAssembly sandbox (wasm32-wasip1) with deny-by-default capabilities.

Write a Rust program (edition 2024, the standard library only, no dependencies) and its anrf manifest.

Security rules (a verifier checks every one of them against your code; breaking one means the module is rejected):
- No `unsafe` of any kind: no `unsafe` blocks, `unsafe fn`, `unsafe impl`, `extern` blocks, `#[no_mangle]`, `#[export_name]`, inline assembly, `transmute` or `static mut`.
- Ask for the fewest capabilities: read input from stdin and arguments, write results to stdout (errors to stderr). Do not use `std::fs`, `std::net`, `std::process::Command` or environment variables (`std::env::var`); `std::env::args` and `std::process::exit` are fine.
- Keep `[security.capabilities]` empty (`dirs = []`, `env = []`, `network = []`); set `clock` or `random` to true only if the program truly needs them.
- `memory_safety = "enforced"`, `isolation = "wasm"`, `overrides = []`. Never write overrides: you cannot approve anything.
- Keep every limit at or below the values in the template.
- No threads, no build scripts, no `Cargo.toml` (anrf writes it).

Reply with exactly these files and nothing that could be mistaken for another file: the manifest, then one or more Rust sources under `src/` (at least `src/main.rs`). Each file is a header line `### FILE: <path>` followed by one fenced code block holding the whole file:

### FILE: anrf.toml
```toml
anrf = 1

[module]
name = "MODULE_NAME"
version = "0.1.0"

[intent]
summary = "One sentence: what the program does"
requirements = ["what must hold, one short sentence each"]

[[intent.examples]]
name = "a typical input"
stdin = "input text\n"
stdout = "exact expected output\n"
exit_code = 0

[logic]
interface = "command"
functions = ["the_main_helper_functions"]
effects = ["stdin", "stdout"]

[implementation]
language = "rust"
sources = ["src/main.rs"]

[security]
memory_safety = "enforced"
isolation = "wasm"
overrides = []

[security.limits]
memory = "16MiB"
fuel = 100000000
timeout = "2s"
stack = "256KiB"
stdout = "1MiB"
stderr = "64KiB"

[security.capabilities]
dirs = []
env = []
clock = false
random = false
network = []
```

### FILE: src/main.rs
```rust
// the whole program
```

Give at least two `[[intent.examples]]`; they are run in the sandbox as tests, so their `stdout` must be exactly what the program prints, trailing newline included. List in `logic.functions` only functions that exist in the code, and in `logic.effects` only what the program uses (stdin, stdout, stderr, clock, random). If the fence would clash with the file's content, use four backticks for that block."#;

/// The first user message: the intent as the model may see it, the module's name
/// and, when the person asked for relaxations, what is not granted.
pub fn first_request(
    module_name: &str,
    intent: &str,
    not_granted: &[String],
    examples: &[anrf_format::Example],
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Module name: `{module_name}`\n");
    let _ = writeln!(out, "Intent:\n{}\n", intent.trim());
    if !examples.is_empty() {
        let _ = writeln!(
            out,
            "The person gave these examples; the program must satisfy them exactly (they are added to the manifest by anrf):"
        );
        for example in examples {
            let _ = writeln!(
                out,
                "- `{}`: args {:?}, stdin {:?} -> stdout {:?}, exit code {}",
                example.name, example.args, example.stdin, example.stdout, example.exit_code
            );
        }
        out.push('\n');
    }
    if !not_granted.is_empty() {
        let _ = writeln!(
            out,
            "Not granted (anrf records these as requests for a person to approve; do NOT implement them, build the secure version of the rest):"
        );
        for line in not_granted {
            let _ = writeln!(out, "- {line}");
        }
        out.push('\n');
    }
    out.push_str("Reply with `### FILE: anrf.toml` and `### FILE: src/main.rs` as described.");
    out
}

/// The prompt digest recorded in provenance: `sha256:` and the hex SHA-256 of the
/// system prompt, a blank line, and the first request (which holds the intent as
/// sent).
pub fn prompt_digest(system: &str, first_request: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(system.as_bytes());
    hasher.update(b"\n\n");
    hasher.update(first_request.as_bytes());
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// Longest compiler output fed back, in bytes; the first errors matter most.
pub const MAX_FEEDBACK_BYTES: usize = 8 * 1024;

/// A repair message: what went wrong in the last round and the fix asked for.
pub fn repair_request(round: u32, max_rounds: u32, problem: &str, details: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Round {round} of {max_rounds} was rejected: {problem}.\n"
    );
    let details = truncate(details.trim(), MAX_FEEDBACK_BYTES);
    if !details.is_empty() {
        let _ = writeln!(out, "{details}\n");
    }
    out.push_str(
        "Fix this and reply again with the complete files (`### FILE: anrf.toml`, `### FILE: src/main.rs`, ...), \
         following every security rule. Do not work around a check: remove the cause.",
    );
    out
}

/// `text` cut to at most `max` bytes at a character boundary, marked when cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut cut = max;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!(
        "{}\n[... {} more bytes cut]",
        &text[..cut],
        text.len() - cut
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_in_the_system_prompt_is_a_valid_manifest() {
        let start = SYSTEM_PROMPT.find("```toml\n").unwrap() + "```toml\n".len();
        let end = start + SYSTEM_PROMPT[start..].find("```").unwrap();
        let template = SYSTEM_PROMPT[start..end].replace("MODULE_NAME", "demo");
        let manifest = anrf_format::Manifest::from_str(&template, "anrf.toml").unwrap();
        assert_eq!(
            manifest.security.memory_safety,
            anrf_format::MemorySafety::Enforced
        );
        assert!(manifest.security.overrides.is_empty());
        assert!(manifest.security.capabilities.dirs.is_empty());
    }

    #[test]
    fn the_digest_covers_system_prompt_and_intent() {
        let a = prompt_digest(SYSTEM_PROMPT, &first_request("m", "count words", &[], &[]));
        let b = prompt_digest(SYSTEM_PROMPT, &first_request("m", "count lines", &[], &[]));
        assert_ne!(a, b);
        assert!(a.starts_with("sha256:") && a.len() == 7 + 64);
    }

    #[test]
    fn not_granted_relaxations_are_spelled_out() {
        let text = first_request("m", "x", &["reading `/etc`".to_owned()], &[]);
        assert!(text.contains("do NOT implement them"));
        assert!(text.contains("reading `/etc`"));
    }

    #[test]
    fn long_feedback_is_cut_at_a_char_boundary() {
        let text = "é".repeat(10);
        let cut = truncate(&text, 5);
        assert!(cut.starts_with("éé"));
        assert!(cut.contains("more bytes cut"));
    }
}
